// SPDX-License-Identifier: MIT
//
// PendingCalls without a Node: calls are opened by hand, replies are built by hand
// (Wire::Header + MessagePrivate::create) and fed to handleReply(); a fake CallRelay
// records what a relaying master would send back. Streaming, several targets, Reply
// counters and signals, late replies and generations, fan-out counts, relay entries,
// failures, timeouts, Reply lifetime and Replies living in other threads.

#include "authoring_p.h"
#include "message_p.h"
#include "pendingcalls_p.h"
#include "router_p.h"
#include "reply_p.h"
#include "stats_p.h"
#include "threadhandoff.h"

#include <QtCore/qdeadlinetimer.h>
#include <QtCore/qelapsedtimer.h>
#include <QtCore/qpointer.h>
#include <QtCore/qregularexpression.h>
#include <QtCore/qsemaphore.h>
#include <QtCore/qeventloop.h>
#include <QtCore/qscopeguard.h>
#include <QtCore/qthread.h>
#include <QtCore/qthreadpool.h>
#include <QtCore/qtimer.h>
#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <stdexcept>
#include <thread>

using namespace Plexus;
using namespace Qt::StringLiterals;

namespace {

using MessageRef = QExplicitlySharedDataPointer<MessagePrivate>;
using Endpoints = QVarLengthArray<quint32, 4>;

constexpr quint32 EpA = 11, EpB = 12, EpC = 13, EpOther = 99;

// A reply to \a token as a target sends it: Reply plus \a flags (Done, Error, Fanout...).
MessageRef replyFor(quint64 token, const QByteArray &data, quint16 flags = Wire::Done,
                    quint32 status = 0, quint32 targets = 0)
{
    Wire::Header h = Authoring::header(quint16(Wire::Reply | flags), 0x1234);
    h.token = token;
    h.status = status;
    h.targets = targets;
    return MessageRef(MessagePrivate::create(h, Payload(data)));
}

// What a callback saw of one message.
struct Seen
{
    QByteArray data;
    void *udata = nullptr;
    bool isReply = false;
    bool isDone = false;
    bool isError = false;
    Reply::Error error = Reply::NoError;
    quint16 flags = 0;
};

Seen seen(const Message &m)
{
    return {m.data().toByteArray(), m.udata(), m.isReply(), m.isDone(), m.isError(), m.error(),
            m.flags()};
}

// Callbacks are plain function pointers: they write to file-scope state.
QList<Seen> g_replies;
QList<Seen> g_dones;
QElapsedTimer g_clock;
qint64 g_doneAt = -1;

void onReplyCb(const Message &m)
{
    g_replies.append(seen(m));
}

void onDoneCb(const Message &m)
{
    g_doneAt = g_clock.isValid() ? g_clock.elapsed() : -1;
    g_dones.append(seen(m));
}

void throwingOnReply(const Message &m)
{
    g_replies.append(seen(m));
    throw std::runtime_error("reply boom");
}

void throwingOnDone(const Message &m)
{
    g_dones.append(seen(m));
    throw 42;
}

class FakeRelay : public CallRelay
{
public:
    struct Relayed {
        quint32 endpoint;
        quint64 token;
        int total;
        MessageRef reply;
    };
    struct Failed {
        quint32 endpoint;
        quint64 token;
        int total;
        quint16 userFlags;
        Reply::Error error;
        int count;
    };
    QList<Relayed> replies;
    QList<Failed> errors;

    void relayReply(quint32 endpoint, quint64 token, int total, bool final,
                    MessagePrivate *reply) override
    {
        replies.append({endpoint, token, total, MessageRef(reply)});
        finals.append(final);
    }
    void relayError(quint32 endpoint, quint64 token, int total, bool final, quint16 userFlags,
                    Reply::Error error, int count) override
    {
        errors.append({endpoint, token, total, userFlags, error, count});
        finals.append(final);
    }
    void cancelTarget(quint32 endpoint, quint64 token) override
    {
        cancels.append({endpoint, token});
    }
    QList<bool> finals;   // per relayed reply or error, in order
    QList<std::pair<quint32, quint64>> cancels;
};

// A started QThread that is stopped when the test function returns, even on failure.
struct RunningThread
{
    QThread thread;
    RunningThread() { thread.start(); }
    ~RunningThread() { stop(); }
    void stop()
    {
        thread.quit();
        thread.wait();
    }
};

// Runs what the event loop would run next: queued calls, posted events, deferred deletes.
void flushEvents()
{
    for (int i = 0; i < 3; ++i) {
        QCoreApplication::sendPostedEvents();
        QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
        QCoreApplication::processEvents();
    }
}

} // namespace

class tst_PendingCalls : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void tokens();
    void streamingOneTarget();
    void streamingReplyObject();
    void severalTargets();
    void severalTargetsReplyObject();
    void errorReplies_data();
    void errorReplies();
    void finishedOnceNeverFromOpen();
    void lateAfterFinish();
    void lateFromNonTarget();
    void reusedSlotRefusesOldToken();
    void fanoutCounts();
    void fanoutZeroTargets();
    void fanoutPendingWaitsForFinalCount();
    void relayFinalOnlyWhenEveryTargetKnown();
    void relayForwardsReplies();
    void relayFailures();
    void failEndpoint();
    void failAndFailLater_data();
    void failAndFailLater();
    void finishLater_data();
    void finishLater();
    void abortDropsCallbacks();
    void replyAbort();
    void replyAbortedFromSlot();
    void throwingCallbacks();
    void timeout_data();
    void timeout();
    void timeoutZeroRemovesDeadline();
    void sameDeadlineInstant();
    void deletingReplyAborts();
    void autoDelete_data();
    void autoDelete();
    void reuseDeletesOnlyDueReplies();
    void ownersDeletingFinishedReplies();
    void replyDeletedByOnDone();
    void replyInThreadWithEventLoop();
    void replyInThreadDeletedEarly();
    void replyInThreadWithoutEventLoop();
    void replyInPoolThreadWarnsOncePerThread();
    void waitForFinishedTimesOut();
    void abortCancelsUnfinishedTargets();
    void timeoutCancelsTargets();
    void relayCanceledByItsCaller();
    void relayWhoseCallerIsGoneCancels();
    void refusedCallNamesTheRule_data();
    void refusedCallNamesTheRule();
    void destroyedWithOpenCalls_data();
    void destroyedWithOpenCalls();
    void failOfFinishedTargetIsNoop();
    void finishedTargetsCountFailures();
    void duplicateFinalIsLate();
    void destroyedRunsOnDone();

private:
    // A Reply in this (the "Node's") thread and the Spec that makes a call for it.
    // \a sameThread: as the Router makes a Reply in the Node's thread (updated directly,
    // deleted with its pass) or in another one (updated by events, deleteLater()).
    Reply *newReply(void *udata = nullptr, bool sameThread = true)
    {
        return ReplyPrivate::create(udata, 0, sameThread);
    }
    // \a n Replies of the Node's thread, each with a call open on EpA.
    QList<QPointer<Reply>> openRepliesOnA(int n)
    {
        QList<QPointer<Reply>> replies;
        for (int i = 0; i < n; ++i) {
            Reply *r = newReply();
            replies.append(r);
            m_calls->addTarget(m_calls->open(specFor(r)), EpA);
        }
        return replies;
    }
    static PendingCalls::Spec specFor(Reply *r)
    {
        PendingCalls::Spec s;
        s.reply = ReplyPrivate::link(r);
        return s;
    }
    static PendingCalls::Spec callbacks(void *udata = nullptr)
    {
        PendingCalls::Spec s;
        s.onReply = onReplyCb;
        s.onDone = onDoneCb;
        s.udata = udata;
        return s;
    }
    int late() const { return int(m_stats->process.lateReplies.load()); }
    void feed(quint64 token, quint32 endpoint, const QByteArray &data, quint16 flags = Wire::Done,
              quint32 status = 0, quint32 targets = 0)
    {
        const MessageRef m = replyFor(token, data, flags, status, targets);
        m_calls->handleReply(m.data(), endpoint);
    }

    std::unique_ptr<Stats> m_stats;
    std::unique_ptr<FakeRelay> m_relay;
    std::unique_ptr<PendingCalls> m_calls;
};

void tst_PendingCalls::init()
{
    g_replies.clear();
    g_dones.clear();
    g_clock.invalidate();
    g_doneAt = -1;
    m_stats = std::make_unique<Stats>();
    m_relay = std::make_unique<FakeRelay>();
    m_calls = std::make_unique<PendingCalls>(m_stats.get(), m_relay.get());
}

void tst_PendingCalls::cleanup()
{
    m_calls.reset();
    m_relay.reset();
    m_stats.reset();
    flushEvents();
}

void tst_PendingCalls::tokens()
{
    // Low 32 bits: slot index + 1 (never 0); every open call has its own token.
    const quint64 a = m_calls->open(callbacks());
    const quint64 b = m_calls->open(callbacks());
    const quint64 r = m_calls->openRelay(EpA, 77, 0);
    QVERIFY(a != 0 && b != 0 && r != 0);
    QVERIFY(quint32(a) != 0 && quint32(b) != 0 && quint32(r) != 0);
    QVERIFY(a != b && b != r && a != r);
    QCOMPARE(m_calls->count(), 3);
    QVERIFY(m_calls->contains(a) && m_calls->contains(b) && m_calls->contains(r));
    QVERIFY(!m_calls->contains(0));
    QVERIFY(!m_calls->contains(a + (quint64(1) << 32)));   // same slot, other generation
    QVERIFY(!m_calls->contains(quint64(0xffffffffu)));      // slot far beyond the table

    m_calls->abort(b);
    QCOMPARE(m_calls->count(), 2);
    QVERIFY(!m_calls->contains(b));
    QVERIFY(m_calls->contains(a));
}

void tst_PendingCalls::streamingOneTarget()
{
    int udata = 0;
    PendingCalls::Spec spec = callbacks(&udata);
    const quint64 token = m_calls->open(spec);
    m_calls->addTarget(token, EpA);
    QCOMPARE(m_calls->expectedTotal(token), 1);

    feed(token, EpA, "one", 0);
    feed(token, EpA, "two", 0);
    QCOMPARE(g_replies.size(), 2);
    QCOMPARE(g_dones.size(), 0);
    QCOMPARE(g_replies[0].data, QByteArray("one"));
    QCOMPARE(g_replies[1].data, QByteArray("two"));
    QCOMPARE(g_replies[0].udata, static_cast<void *>(&udata));   // the caller's udata is handed back
    QVERIFY(!g_replies[1].isDone);
    QVERIFY(m_calls->contains(token));

    feed(token, EpA, "last");
    QCOMPARE(g_replies.size(), 2);   // the final reply goes to onDone only
    QCOMPARE(g_dones.size(), 1);
    QCOMPARE(g_dones[0].data, QByteArray("last"));
    QVERIFY(g_dones[0].isDone);
    QVERIFY(!g_dones[0].isError);
    QCOMPARE(g_dones[0].udata, static_cast<void *>(&udata));
    QVERIFY(!m_calls->contains(token));
    QCOMPARE(m_calls->count(), 0);
    QCOMPARE(late(), 0);
}

void tst_PendingCalls::streamingReplyObject()
{
    int udata = 0;
    Reply *reply = newReply(&udata);
    QPointer<Reply> guard = reply;
    QSignalSpy received(reply, &Reply::replyReceived);
    QSignalSpy finished(reply, &Reply::finished);
    QSignalSpy errors(reply, &Reply::errorOccurred);
    QVERIFY(received.isValid() && finished.isValid() && errors.isValid());

    PendingCalls::Spec spec = specFor(reply);
    spec.udata = &udata;   // the Router gives the call the same udata as its Reply
    const quint64 token = m_calls->open(spec);
    m_calls->addTarget(token, EpA);
    QCOMPARE(reply->expectedReplies(), 1);
    QCOMPARE(reply->receivedReplies(), 0);
    QCOMPARE(reply->finishedTargets(), 0);
    QCOMPARE(reply->udata(), static_cast<void *>(&udata));

    feed(token, EpA, "a", 0);
    feed(token, EpA, "b", 0);
    QCOMPARE(received.size(), 2);
    QCOMPARE(reply->receivedReplies(), 2);
    QCOMPARE(reply->finishedTargets(), 0);
    QCOMPARE(finished.size(), 0);
    QVERIFY(!reply->isFinished());
    QCOMPARE(received.at(1).at(0).value<Message>().data(), QByteArrayView("b"));
    QCOMPARE(received.at(1).at(0).value<Message>().udata(), static_cast<void *>(&udata));

    feed(token, EpA, "c");
    // replyReceived is emitted for the final reply too.
    QCOMPARE(received.size(), 3);
    const Message last = received.at(2).at(0).value<Message>();
    QVERIFY(last.isDone());
    QCOMPARE(last.data(), QByteArrayView("c"));
    QCOMPARE(reply->receivedReplies(), 3);
    QCOMPARE(reply->finishedTargets(), 1);
    QCOMPARE(reply->expectedReplies(), 1);
    QCOMPARE(finished.size(), 1);
    QVERIFY(reply->isFinished());
    QCOMPARE(reply->error(), Reply::NoError);
    QCOMPARE(errors.size(), 0);
    QVERIFY(!m_calls->contains(token));
    QVERIFY(guard);   // valid until the event loop runs again
    flushEvents();
    QVERIFY(!guard);
}

void tst_PendingCalls::severalTargets()
{
    const quint64 token = m_calls->open(callbacks());
    m_calls->addTarget(token, EpA);
    m_calls->addTarget(token, EpB);
    m_calls->addTarget(token, EpC);
    QCOMPARE(m_calls->expectedTotal(token), 3);

    feed(token, EpB, "b-stream", 0);
    feed(token, EpB, "b-final");
    QCOMPARE(g_replies.size(), 2);
    QCOMPARE(g_replies[1].data, QByteArray("b-final"));
    QVERIFY(g_replies[1].isDone);   // an earlier target's final reply goes to onReply
    QCOMPARE(g_dones.size(), 0);

    feed(token, EpA, "a-final");
    QCOMPARE(g_replies.size(), 3);
    QCOMPARE(g_replies[2].data, QByteArray("a-final"));
    QCOMPARE(g_dones.size(), 0);
    QVERIFY(m_calls->contains(token));

    feed(token, EpC, "c-final");
    QCOMPARE(g_replies.size(), 3);
    QCOMPARE(g_dones.size(), 1);
    QCOMPARE(g_dones[0].data, QByteArray("c-final"));
    QVERIFY(!m_calls->contains(token));
}

void tst_PendingCalls::severalTargetsReplyObject()
{
    Reply *reply = newReply();
    QSignalSpy received(reply, &Reply::replyReceived);
    QSignalSpy finished(reply, &Reply::finished);

    const quint64 token = m_calls->open(specFor(reply));
    m_calls->addTarget(token, EpA);
    QCOMPARE(reply->expectedReplies(), 1);
    m_calls->addTarget(token, EpB);
    QCOMPARE(reply->expectedReplies(), 2);

    feed(token, EpB, "b", 0);
    feed(token, EpB, "b-final");
    QCOMPARE(reply->receivedReplies(), 2);
    QCOMPARE(reply->finishedTargets(), 1);
    QCOMPARE(finished.size(), 0);

    feed(token, EpA, "a-final");
    QCOMPARE(reply->receivedReplies(), 3);
    QCOMPARE(reply->finishedTargets(), 2);
    QCOMPARE(reply->expectedReplies(), 2);
    QCOMPARE(received.size(), 3);
    QCOMPARE(finished.size(), 1);
    QCOMPARE(reply->error(), Reply::NoError);
}

void tst_PendingCalls::errorReplies_data()
{
    QTest::addColumn<quint32>("status");
    QTest::addColumn<Reply::Error>("expected");
    QTest::newRow("unknown op-code") << quint32(Reply::UnknownOpcodeError) << Reply::UnknownOpcodeError;
    QTest::newRow("target lost") << quint32(Reply::TargetLostError) << Reply::TargetLostError;
    QTest::newRow("no status: remote") << quint32(0) << Reply::RemoteError;
}

void tst_PendingCalls::errorReplies()
{
    QFETCH(quint32, status);
    QFETCH(Reply::Error, expected);

    const quint64 cb = m_calls->open(callbacks());
    m_calls->addTarget(cb, EpA);
    feed(cb, EpA, QByteArray(), Wire::Done | Wire::Error, status);
    QCOMPARE(g_dones.size(), 1);
    QVERIFY(g_dones[0].isError);
    QCOMPARE(g_dones[0].error, expected);

    Reply *reply = newReply();
    QSignalSpy errors(reply, &Reply::errorOccurred);
    QSignalSpy finished(reply, &Reply::finished);
    const quint64 token = m_calls->open(specFor(reply));
    m_calls->addTarget(token, EpA);
    m_calls->addTarget(token, EpB);
    feed(token, EpA, QByteArray(), Wire::Done | Wire::Error, status);
    QCOMPARE(errors.size(), 1);
    QCOMPARE(errors.at(0).at(0).value<Reply::Error>(), expected);
    QCOMPARE(reply->error(), expected);
    QCOMPARE(finished.size(), 0);   // the other target still counts
    feed(token, EpB, "fine");
    QCOMPARE(finished.size(), 1);
    QCOMPARE(reply->error(), expected);   // the first error stays
    QCOMPARE(errors.size(), 1);
}

void tst_PendingCalls::finishedOnceNeverFromOpen()
{
    // A call that has nothing to wait for is finished from the event loop, not from open().
    Reply *reply = newReply();
    QSignalSpy finished(reply, &Reply::finished);
    PendingCalls::Spec spec = specFor(reply);
    spec.timeout = 10000;
    const quint64 token = m_calls->open(spec);
    QCOMPARE(finished.size(), 0);
    m_calls->finishLater(token, Reply::NoError);
    QCOMPARE(finished.size(), 0);
    QVERIFY(!reply->isFinished());
    QVERIFY(finished.wait(5000));
    QCOMPARE(finished.size(), 1);

    // Nothing afterwards emits it again.
    Reply *other = newReply();
    QSignalSpy otherFinished(other, &Reply::finished);
    const quint64 t2 = m_calls->open(specFor(other));
    m_calls->addTarget(t2, EpA);
    feed(t2, EpA, "x");
    QCOMPARE(otherFinished.size(), 1);
    feed(t2, EpA, "again");
    m_calls->fail(t2, {EpA}, Reply::TargetLostError);
    m_calls->finishLater(t2, Reply::RemoteError);
    m_calls->abort(t2);
    flushEvents();
    QCOMPARE(otherFinished.size(), 1);
    QCOMPARE(finished.size(), 1);
}

void tst_PendingCalls::lateAfterFinish()
{
    Reply *reply = newReply();
    QPointer<Reply> guard = reply;
    reply->setAutoDelete(false);
    QSignalSpy received(reply, &Reply::replyReceived);
    QSignalSpy finished(reply, &Reply::finished);
    const quint64 token = m_calls->open(specFor(reply));
    m_calls->addTarget(token, EpA);
    feed(token, EpA, "done");
    QCOMPARE(finished.size(), 1);
    QCOMPARE(late(), 0);

    feed(token, EpA, "late", 0);
    feed(token, EpA, "late final");
    QCOMPARE(late(), 2);
    QCOMPARE(received.size(), 1);
    QCOMPARE(reply->receivedReplies(), 1);
    QCOMPARE(finished.size(), 1);

    const quint64 cb = m_calls->open(callbacks());
    m_calls->addTarget(cb, EpA);
    feed(cb, EpA, "done");
    feed(cb, EpA, "late");
    QCOMPARE(late(), 3);
    QCOMPARE(g_dones.size(), 1);
    QCOMPARE(g_replies.size(), 0);
    delete guard.data();
}

void tst_PendingCalls::lateFromNonTarget()
{
    const quint64 token = m_calls->open(callbacks());
    m_calls->addTarget(token, EpA);
    feed(token, EpOther, "intruder", 0);
    feed(token, EpOther, "intruder final");
    QCOMPARE(late(), 2);
    QCOMPARE(g_replies.size(), 0);
    QCOMPARE(g_dones.size(), 0);
    QVERIFY(m_calls->contains(token));

    feed(token, EpA, "real");
    QCOMPARE(g_dones.size(), 1);
    QCOMPARE(g_dones[0].data, QByteArray("real"));
    QCOMPARE(late(), 2);

    // A token that never existed is late too.
    feed(0, EpA, "zero");
    feed(quint64(1234567) << 32 | 5, EpA, "nonsense");
    QCOMPARE(late(), 4);
}

void tst_PendingCalls::reusedSlotRefusesOldToken()
{
    const quint64 old = m_calls->open(callbacks());
    m_calls->addTarget(old, EpA);
    feed(old, EpA, "first");
    QCOMPARE(g_dones.size(), 1);

    const quint64 token = m_calls->open(callbacks());
    m_calls->addTarget(token, EpA);
    QCOMPARE(quint32(token), quint32(old));   // the slot was reused...
    QVERIFY(token != old);                     // ...under a new generation

    feed(old, EpA, "stale", 0);
    feed(old, EpA, "stale final");
    QCOMPARE(late(), 2);
    QCOMPARE(g_replies.size(), 0);
    QCOMPARE(g_dones.size(), 1);

    // Nothing else done with the old token reaches the new call.
    m_calls->fail(old, {EpA}, Reply::TargetLostError);
    m_calls->abort(old);
    m_calls->setTimeout(old, 1);
    m_calls->addTarget(old, EpB);
    m_calls->finishLater(old, Reply::RemoteError);
    flushEvents();
    QVERIFY(m_calls->contains(token));
    QCOMPARE(m_calls->expectedTotal(token), 1);
    QCOMPARE(g_dones.size(), 1);

    feed(token, EpA, "second");
    QCOMPARE(g_dones.size(), 2);
    QCOMPARE(g_dones[1].data, QByteArray("second"));
    QVERIFY(!g_dones[1].isError);
}

void tst_PendingCalls::fanoutCounts()
{
    // A worker's call through its master: the master says how many final replies come.
    Reply *reply = newReply();
    QSignalSpy finished(reply, &Reply::finished);
    PendingCalls::Spec spec = specFor(reply);
    spec.onReply = onReplyCb;
    spec.onDone = onDoneCb;
    const quint64 token = m_calls->open(spec);
    m_calls->addTarget(token, EpA, 1, /*known=*/false);
    QCOMPARE(reply->expectedReplies(), 1);

    feed(token, EpA, "w1 stream", Wire::Fanout, 0, 3);
    QCOMPARE(reply->expectedReplies(), 3);
    QCOMPARE(m_calls->expectedTotal(token), 3);
    QCOMPARE(g_replies.size(), 1);

    feed(token, EpA, "w1", Wire::Done | Wire::Fanout, 0, 3);
    feed(token, EpA, "w2", Wire::Done | Wire::Fanout, 0, 3);
    QCOMPARE(reply->finishedTargets(), 2);
    QCOMPARE(finished.size(), 0);
    QCOMPARE(g_dones.size(), 0);
    QCOMPARE(g_replies.size(), 3);
    QCOMPARE(g_replies[2].data, QByteArray("w2"));

    feed(token, EpA, "w3", Wire::Done | Wire::Fanout, 0, 3);
    QCOMPARE(reply->finishedTargets(), 3);
    QCOMPARE(reply->receivedReplies(), 4);
    QCOMPARE(finished.size(), 1);
    QCOMPARE(g_dones.size(), 1);
    QCOMPARE(g_dones[0].data, QByteArray("w3"));
    QCOMPARE(late(), 0);
}

void tst_PendingCalls::fanoutPendingWaitsForFinalCount()
{
    // A worker's cluster broadcast through its master: while the master has not heard the
    // fan-out of every machine, the count it relays is marked Pending, and reaching it does
    // not finish the call.
    Reply *reply = newReply();
    QSignalSpy finished(reply, &Reply::finished);
    PendingCalls::Spec spec = specFor(reply);
    spec.onDone = onDoneCb;
    const quint64 token = m_calls->open(spec);
    m_calls->addTarget(token, EpA, 1, /*known=*/false);

    feed(token, EpA, "local 1", Wire::Done | Wire::Fanout | Wire::Pending, 0, 2);
    feed(token, EpA, "local 2", Wire::Done | Wire::Fanout | Wire::Pending, 0, 2);
    QCOMPARE(reply->finishedTargets(), 2);
    QCOMPARE(finished.size(), 0);   // 2 of 2 so far, but more may come
    QCOMPARE(late(), 0);

    feed(token, EpA, "remote 1", Wire::Done | Wire::Fanout, 0, 4);   // the count is final
    QCOMPARE(reply->expectedReplies(), 4);
    QCOMPARE(finished.size(), 0);
    feed(token, EpA, "remote 2", Wire::Done | Wire::Fanout, 0, 4);
    QCOMPARE(finished.size(), 1);
    QCOMPARE(reply->receivedReplies(), 4);
    QCOMPARE(g_dones.size(), 1);
    QCOMPARE(late(), 0);
}

void tst_PendingCalls::relayFinalOnlyWhenEveryTargetKnown()
{
    // The master's relay entry: a machine target's count is unknown until its first
    // reply; every reply relayed before that says the total is not final.
    const quint64 token = m_calls->openRelay(42, 7, 0);
    m_calls->addTarget(token, EpA);                       // the master itself
    m_calls->addTarget(token, EpB, 1, /*known=*/false);   // another machine
    m_calls->addTarget(token, EpC, 1, /*known=*/false);   // and another

    feed(token, EpA, "self");
    feed(token, EpB, "b1", Wire::Done | Wire::Fanout, 0, 3);
    QCOMPARE(m_relay->finals, QList<bool>({false, false}));
    QCOMPARE(m_relay->replies[1].total, 1 + 3 + 1);
    m_calls->fail(token, Endpoints{EpC}, Reply::TargetLostError);   // C went away unheard
    QCOMPARE(m_relay->errors.size(), 1);
    QCOMPARE(m_relay->errors[0].count, 1);
    QCOMPARE(m_relay->finals.last(), true);
    QCOMPARE(m_relay->errors[0].total, 1 + 3 + 1);
    feed(token, EpB, "b2", Wire::Done | Wire::Fanout, 0, 3);
    feed(token, EpB, "b3", Wire::Done | Wire::Fanout, 0, 3);
    QVERIFY(!m_calls->contains(token));
    QCOMPARE(m_relay->finals, QList<bool>({false, false, true, true, true}));
    QCOMPARE(late(), 0);
}

void tst_PendingCalls::fanoutZeroTargets()
{
    // Nobody behind the master: that target is finished, with nothing to hand over.
    Reply *reply = newReply();
    QSignalSpy finished(reply, &Reply::finished);
    PendingCalls::Spec spec = specFor(reply);
    spec.onDone = onDoneCb;
    spec.userFlags = 0x55;
    const quint64 token = m_calls->open(spec);
    m_calls->addTarget(token, EpA, 1, false);
    feed(token, EpA, QByteArray(), Wire::Fanout, 0, 0);
    QCOMPARE(reply->expectedReplies(), 0);
    QCOMPARE(finished.size(), 1);
    QCOMPARE(reply->error(), Reply::NoError);
    QCOMPARE(g_dones.size(), 1);
    QVERIFY(g_dones[0].isDone);
    QVERIFY(!g_dones[0].isError);
    QCOMPARE(g_dones[0].flags, quint16(0x55));
    QVERIFY(!m_calls->contains(token));

    // With another target: only the master's part is settled.
    const quint64 t2 = m_calls->open(callbacks());
    m_calls->addTarget(t2, EpA, 1, false);
    m_calls->addTarget(t2, EpB);
    feed(t2, EpA, QByteArray(), Wire::Fanout, 0, 0);
    QVERIFY(m_calls->contains(t2));
    QCOMPARE(m_calls->expectedTotal(t2), 1);
    feed(t2, EpB, "b");
    QCOMPARE(g_dones.size(), 2);
    QCOMPARE(g_dones[1].data, QByteArray("b"));

    // An unknown target is not complete before the master said how many come.
    const quint64 t3 = m_calls->open(callbacks());
    m_calls->addTarget(t3, EpA, 1, false);
    m_calls->addTarget(t3, EpB);
    feed(t3, EpB, "b");
    QVERIFY(m_calls->contains(t3));
    QCOMPARE(g_dones.size(), 2);
    QCOMPARE(g_replies.size(), 1);   // B's final reply is one more reply
}

void tst_PendingCalls::relayForwardsReplies()
{
    const quint32 origin = 42;
    const quint64 originToken = 0xabcdef0012ull;
    const quint64 token = m_calls->openRelay(origin, originToken, 0x7);
    m_calls->addTarget(token, EpA);
    m_calls->addTarget(token, EpB);

    feed(token, EpA, "a1", 0);
    feed(token, EpA, "a-final");
    QVERIFY(m_calls->contains(token));
    feed(token, EpOther, "nope");
    QCOMPARE(late(), 1);
    feed(token, EpB, "b-final");
    QVERIFY(!m_calls->contains(token));

    QCOMPARE(m_relay->replies.size(), 3);
    const QByteArray expectedData[] = {"a1", "a-final", "b-final"};
    for (int i = 0; i < 3; ++i) {
        const FakeRelay::Relayed &r = m_relay->replies[i];
        QCOMPARE(r.endpoint, origin);
        QCOMPARE(r.token, originToken);
        QCOMPARE(r.total, 2);
        QCOMPARE(r.reply->data(), QByteArrayView(expectedData[i]));
    }
    QVERIFY(!(m_relay->replies[0].reply->header.privateFlags & Wire::Done));
    QVERIFY(m_relay->replies[2].reply->header.privateFlags & Wire::Done);
    QCOMPARE(m_relay->errors.size(), 0);
    QCOMPARE(g_replies.size() + g_dones.size(), 0);

    feed(token, EpB, "after");
    QCOMPARE(late(), 2);
    QCOMPARE(m_relay->replies.size(), 3);
}

void tst_PendingCalls::relayFailures()
{
    const quint64 token = m_calls->openRelay(42, 9, 0x3);
    m_calls->addTarget(token, EpA);
    m_calls->addTarget(token, EpB);
    m_calls->addTarget(token, EpC);

    m_calls->fail(token, {EpA, EpB}, Reply::BackpressureError);
    QCOMPARE(m_relay->errors.size(), 1);
    const FakeRelay::Failed &f = m_relay->errors[0];
    QCOMPARE(f.endpoint, 42u);
    QCOMPARE(f.token, quint64(9));
    QCOMPARE(f.total, 3);
    QCOMPARE(f.userFlags, quint16(0x3));
    QCOMPARE(f.error, Reply::BackpressureError);
    QCOMPARE(f.count, 2);
    QVERIFY(m_calls->contains(token));

    // A target that already failed is not counted twice.
    m_calls->fail(token, {EpA}, Reply::TargetLostError);
    QCOMPARE(m_relay->errors.size(), 1);

    feed(token, EpC, "c");
    QCOMPARE(m_relay->replies.size(), 1);
    QCOMPARE(m_relay->replies[0].total, 3);
    QVERIFY(!m_calls->contains(token));

    // The last target failing releases the entry.
    const quint64 t2 = m_calls->openRelay(43, 10, 0);
    m_calls->addTarget(t2, EpA);
    m_calls->fail(t2, {EpA}, Reply::TargetLostError);
    QCOMPARE(m_relay->errors.size(), 2);
    QCOMPARE(m_relay->errors[1].count, 1);
    QCOMPARE(m_relay->errors[1].error, Reply::TargetLostError);
    QVERIFY(!m_calls->contains(t2));
    QCOMPARE(m_calls->count(), 0);
}

void tst_PendingCalls::failEndpoint()
{
    // single: only target on the lost endpoint -> finished with the error.
    int udata = 0;
    PendingCalls::Spec spec = callbacks(&udata);
    spec.userFlags = 0x21;
    const quint64 single = m_calls->open(spec);
    m_calls->addTarget(single, EpB);
    // partial: one target lost, the other still answers.
    Reply *partialReply = newReply();
    QSignalSpy partialErrors(partialReply, &Reply::errorOccurred);
    QSignalSpy partialFinished(partialReply, &Reply::finished);
    const quint64 partial = m_calls->open(specFor(partialReply));
    m_calls->addTarget(partial, EpA);
    m_calls->addTarget(partial, EpB);
    // settled: its target on B already finished: not affected.
    Reply *settledReply = newReply();
    QSignalSpy settledErrors(settledReply, &Reply::errorOccurred);
    QSignalSpy settledFinished(settledReply, &Reply::finished);
    const quint64 settled = m_calls->open(specFor(settledReply));
    m_calls->addTarget(settled, EpB);
    m_calls->addTarget(settled, EpC);
    feed(settled, EpB, "b done");
    // elsewhere: nothing on B.
    const quint64 elsewhere = m_calls->open(callbacks());
    m_calls->addTarget(elsewhere, EpC);
    // Relay entries: one for a caller on B (dropped), one waiting on B (fails).
    const quint64 callerGone = m_calls->openRelay(EpB, 500, 0);
    m_calls->addTarget(callerGone, EpC);
    const quint64 relayOnB = m_calls->openRelay(EpC, 600, 0x9);
    m_calls->addTarget(relayOnB, EpB);
    m_calls->addTarget(relayOnB, EpA);

    m_calls->failEndpoint(EpB, Reply::TargetLostError);

    QCOMPARE(g_dones.size(), 1);
    QVERIFY(g_dones[0].isDone);
    QVERIFY(g_dones[0].isError);
    QCOMPARE(g_dones[0].error, Reply::TargetLostError);
    QCOMPARE(g_dones[0].udata, static_cast<void *>(&udata));
    QCOMPARE(g_dones[0].flags, quint16(0x21));
    QVERIFY(!m_calls->contains(single));

    QVERIFY(m_calls->contains(partial));
    QCOMPARE(partialErrors.size(), 1);
    QCOMPARE(partialReply->error(), Reply::TargetLostError);
    QCOMPARE(partialFinished.size(), 0);

    QVERIFY(m_calls->contains(settled));
    QCOMPARE(settledErrors.size(), 0);

    QVERIFY(m_calls->contains(elsewhere));

    QVERIFY(!m_calls->contains(callerGone));
    QVERIFY(m_calls->contains(relayOnB));
    QCOMPARE(m_relay->errors.size(), 1);
    QCOMPARE(m_relay->errors[0].endpoint, EpC);
    QCOMPARE(m_relay->errors[0].token, quint64(600));
    QCOMPARE(m_relay->errors[0].error, Reply::TargetLostError);
    QCOMPARE(m_relay->errors[0].count, 1);
    QCOMPARE(m_relay->errors[0].total, 2);
    QCOMPARE(m_relay->errors[0].userFlags, quint16(0x9));

    // The survivors go on.
    feed(partial, EpA, "a");
    QCOMPARE(partialFinished.size(), 1);
    QCOMPARE(partialReply->error(), Reply::TargetLostError);
    QCOMPARE(partialReply->finishedTargets(), 2);   // the lost target counts as finished
    feed(settled, EpC, "c");
    QCOMPARE(settledFinished.size(), 1);
    QCOMPARE(settledReply->error(), Reply::NoError);
    feed(elsewhere, EpC, "fine");
    QCOMPARE(g_dones.size(), 2);
    QVERIFY(!g_dones[1].isError);
    feed(callerGone, EpC, "to nobody");
    QCOMPARE(late(), 1);
    QCOMPARE(m_relay->replies.size(), 0);
    feed(relayOnB, EpA, "a");
    QCOMPARE(m_relay->replies.size(), 1);
    QVERIFY(!m_calls->contains(relayOnB));
    QCOMPARE(m_calls->count(), 0);
}

void tst_PendingCalls::failAndFailLater_data()
{
    QTest::addColumn<bool>("later");
    QTest::addColumn<Reply::Error>("error");
    QTest::newRow("fail") << false << Reply::BackpressureError;
    QTest::newRow("failLater") << true << Reply::TargetLostError;
}

void tst_PendingCalls::failAndFailLater()
{
    QFETCH(bool, later);
    QFETCH(Reply::Error, error);

    Reply *reply = newReply();
    QSignalSpy finished(reply, &Reply::finished);
    QSignalSpy errors(reply, &Reply::errorOccurred);
    PendingCalls::Spec spec = specFor(reply);
    spec.onReply = onReplyCb;
    spec.onDone = onDoneCb;
    const quint64 token = m_calls->open(spec);
    m_calls->addTarget(token, EpA);
    m_calls->addTarget(token, EpB);
    m_calls->addTarget(token, EpC);

    auto doFail = [&](const Endpoints &eps) {
        if (later)
            m_calls->failLater(token, eps, error);
        else
            m_calls->fail(token, eps, error);
    };

    doFail({EpA});
    if (later) {
        QCOMPARE(errors.size(), 0);   // nothing happens inside the call
        QTRY_COMPARE(errors.size(), 1);
    }
    QCOMPARE(errors.size(), 1);
    QCOMPARE(reply->error(), error);
    QCOMPARE(finished.size(), 0);
    QVERIFY(m_calls->contains(token));

    feed(token, EpB, "b");
    QCOMPARE(g_replies.size(), 1);
    QCOMPARE(finished.size(), 0);

    doFail({EpC, EpOther});
    if (later) {
        QVERIFY(m_calls->contains(token));
        QCOMPARE(finished.size(), 0);
        QVERIFY(finished.wait(5000));
    }
    QCOMPARE(finished.size(), 1);
    QCOMPARE(errors.size(), 1);
    QCOMPARE(reply->error(), error);
    QVERIFY(!m_calls->contains(token));
    QCOMPARE(g_dones.size(), 1);
    QVERIFY(g_dones[0].isError);
    QCOMPARE(g_dones[0].error, error);
    QVERIFY(g_dones[0].data.isEmpty());
}

void tst_PendingCalls::finishLater_data()
{
    QTest::addColumn<Reply::Error>("error");
    QTest::newRow("no error") << Reply::NoError;
    QTest::newRow("not in cluster") << Reply::NotInClusterError;
    QTest::newRow("remote") << Reply::RemoteError;
}

void tst_PendingCalls::finishLater()
{
    QFETCH(Reply::Error, error);

    Reply *reply = newReply();
    QSignalSpy finished(reply, &Reply::finished);
    QSignalSpy errors(reply, &Reply::errorOccurred);
    PendingCalls::Spec spec = specFor(reply);
    spec.onDone = onDoneCb;
    const quint64 token = m_calls->open(spec);
    m_calls->addTarget(token, EpA);   // still waited for: finishLater ends the call anyway

    m_calls->finishLater(token, error);
    QCOMPARE(finished.size(), 0);
    QCOMPARE(g_dones.size(), 0);
    QVERIFY(m_calls->contains(token));
    QVERIFY(finished.wait(5000));
    QCOMPARE(finished.size(), 1);
    QCOMPARE(reply->error(), error);
    QCOMPARE(errors.size(), error == Reply::NoError ? 0 : 1);
    QCOMPARE(g_dones.size(), 1);
    QVERIFY(g_dones[0].isDone);
    QCOMPARE(g_dones[0].isError, error != Reply::NoError);
    QCOMPARE(g_dones[0].error, error);
    QVERIFY(!m_calls->contains(token));

    feed(token, EpA, "late");
    QCOMPARE(late(), 1);
}

void tst_PendingCalls::abortDropsCallbacks()
{
    const quint64 token = m_calls->open(callbacks());
    m_calls->addTarget(token, EpA);
    m_calls->setTimeout(token, 20);
    feed(token, EpA, "before", 0);
    QCOMPARE(g_replies.size(), 1);

    m_calls->abort(token);
    QVERIFY(!m_calls->contains(token));
    QCOMPARE(m_calls->count(), 0);
    QCOMPARE(g_dones.size(), 0);   // abort runs no callback

    feed(token, EpA, "after", 0);
    feed(token, EpA, "after final");
    m_calls->fail(token, {EpA}, Reply::TargetLostError);
    QCOMPARE(late(), 2);
    QCOMPARE(g_replies.size(), 1);
    QCOMPARE(g_dones.size(), 0);

    // Its deadline went with it: a later call's timeout is the only one that fires.
    const quint64 sentinel = m_calls->open(callbacks());
    m_calls->addTarget(sentinel, EpA);
    m_calls->setTimeout(sentinel, 60);
    QTRY_COMPARE(g_dones.size(), 1);
    QCOMPARE(g_dones[0].error, Reply::TimeoutError);
    QCOMPARE(g_replies.size(), 1);
}

void tst_PendingCalls::replyAbort()
{
    Reply *reply = newReply();
    QSignalSpy finished(reply, &Reply::finished);
    QSignalSpy errors(reply, &Reply::errorOccurred);
    QSignalSpy received(reply, &Reply::replyReceived);
    PendingCalls::Spec spec = specFor(reply);
    spec.onReply = onReplyCb;
    spec.onDone = onDoneCb;
    const quint64 token = m_calls->open(spec);
    m_calls->addTarget(token, EpA);

    reply->abort();
    QVERIFY(!m_calls->contains(token));
    QCOMPARE(finished.size(), 1);
    QCOMPARE(errors.size(), 1);
    QCOMPARE(reply->error(), Reply::OperationCanceledError);
    QVERIFY(reply->isFinished());

    feed(token, EpA, "late");
    QCOMPARE(late(), 1);
    QCOMPARE(received.size(), 0);
    QCOMPARE(g_dones.size(), 0);
    reply->abort();
    QCOMPARE(finished.size(), 1);
}

void tst_PendingCalls::replyAbortedFromSlot()
{
    // A slot that aborts the Reply while a reply is delivered: the call ends there.
    Reply *reply = newReply();
    QSignalSpy finished(reply, &Reply::finished);
    connect(reply, &Reply::replyReceived, reply, [reply] { reply->abort(); });
    PendingCalls::Spec spec = specFor(reply);
    spec.onReply = onReplyCb;
    spec.onDone = onDoneCb;
    const quint64 token = m_calls->open(spec);
    m_calls->addTarget(token, EpA);

    feed(token, EpA, "first", 0);
    QCOMPARE(finished.size(), 1);
    QCOMPARE(reply->error(), Reply::OperationCanceledError);
    QVERIFY(!m_calls->contains(token));
    QCOMPARE(g_replies.size(), 0);   // the call was gone before its callback
    feed(token, EpA, "final");
    QCOMPARE(g_dones.size(), 0);
    QCOMPARE(late(), 1);
    QCOMPARE(finished.size(), 1);
}

void tst_PendingCalls::throwingCallbacks()
{
    PendingCalls::Spec spec;
    spec.onReply = throwingOnReply;
    spec.onDone = throwingOnDone;
    const quint64 token = m_calls->open(spec);
    m_calls->addTarget(token, EpA);
    m_calls->addTarget(token, EpB);

    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("onReply threw an exception: reply boom")));
    feed(token, EpA, "stream", 0);
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("onReply threw an exception")));
    feed(token, EpA, "a final");
    QCOMPARE(g_replies.size(), 2);
    QVERIFY(m_calls->contains(token));
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("onDone threw an exception")));
    feed(token, EpB, "b final");
    QCOMPARE(g_dones.size(), 1);
    QVERIFY(!m_calls->contains(token));
    QCOMPARE(m_calls->count(), 0);

    // The table still works.
    const quint64 next = m_calls->open(callbacks());
    m_calls->addTarget(next, EpA);
    feed(next, EpA, "ok");
    QCOMPARE(g_dones.size(), 2);
}

void tst_PendingCalls::timeout_data()
{
    QTest::addColumn<int>("mode");   // 0 callbacks + Spec.timeout, 1 Reply + Spec.timeout,
                                     // 2 Reply::setTimeout()
    QTest::addColumn<int>("msec");
    QTest::newRow("callbacks 30") << 0 << 30;
    QTest::newRow("callbacks 120") << 0 << 120;
    QTest::newRow("reply 50") << 1 << 50;
    QTest::newRow("Reply::setTimeout 40") << 2 << 40;
}

void tst_PendingCalls::timeout()
{
    QFETCH(int, mode);
    QFETCH(int, msec);

    QPointer<Reply> reply;
    std::unique_ptr<QSignalSpy> errors;
    qint64 finishedAt = -1;
    Reply::Error errorAtFinish = Reply::NoError;
    PendingCalls::Spec spec = callbacks();
    if (mode != 0) {
        reply = newReply();
        errors = std::make_unique<QSignalSpy>(reply.data(), &Reply::errorOccurred);
        connect(reply.data(), &Reply::finished, this, [&] {
            finishedAt = g_clock.elapsed();
            errorAtFinish = reply->error();
        });
        spec.reply = ReplyPrivate::link(reply);
    }
    if (mode != 2)
        spec.timeout = msec;

    g_clock.start();
    const quint64 token = m_calls->open(spec);
    m_calls->addTarget(token, EpA);
    if (mode == 2)
        reply->setTimeout(msec);
    feed(token, EpA, "streamed", 0);   // a streamed reply does not extend the deadline
    QVERIFY(m_calls->contains(token));

    QTRY_COMPARE_WITH_TIMEOUT(g_dones.size(), 1, msec + 5000);
    QVERIFY2(g_doneAt >= msec, qPrintable(QString::number(g_doneAt)));
    QCOMPARE(g_dones[0].error, Reply::TimeoutError);
    QVERIFY(g_dones[0].isError);
    QVERIFY(g_dones[0].isDone);
    QCOMPARE(g_replies.size(), 1);
    QVERIFY(!m_calls->contains(token));
    if (mode != 0) {
        QVERIFY(finishedAt >= msec);
        QCOMPARE(errorAtFinish, Reply::TimeoutError);
        QCOMPARE(errors->size(), 1);
    }

    feed(token, EpA, "too late");
    QCOMPARE(late(), 1);
    QCOMPARE(g_dones.size(), 1);
}

void tst_PendingCalls::timeoutZeroRemovesDeadline()
{
    const quint64 keep = m_calls->open(callbacks(reinterpret_cast<void *>(1)));
    m_calls->addTarget(keep, EpA);
    m_calls->setTimeout(keep, 20);
    m_calls->setTimeout(keep, 0);

    // A Reply's own setTimeout(0) does the same.
    Reply *reply = newReply();
    QSignalSpy finished(reply, &Reply::finished);
    PendingCalls::Spec spec = specFor(reply);
    spec.timeout = 20;
    const quint64 keepReply = m_calls->open(spec);
    m_calls->addTarget(keepReply, EpA);
    reply->setTimeout(0);
    QCOMPARE(reply->timeout(), 0);

    // Later than theirs: by the time it fires, theirs would have.
    const quint64 sentinel = m_calls->open(callbacks(reinterpret_cast<void *>(2)));
    m_calls->addTarget(sentinel, EpA);
    m_calls->setTimeout(sentinel, 80);

    QTRY_COMPARE(g_dones.size(), 1);
    QCOMPARE(g_dones[0].udata, reinterpret_cast<void *>(2));
    QVERIFY(m_calls->contains(keep));
    QVERIFY(m_calls->contains(keepReply));
    QCOMPARE(finished.size(), 0);

    feed(keep, EpA, "eventually");
    QCOMPARE(g_dones.size(), 2);
    QVERIFY(!g_dones[1].isError);
}

void tst_PendingCalls::sameDeadlineInstant()
{
    // Open the calls right after the millisecond clock ticked, so that they share their
    // deadline instant (the deadlines are whole milliseconds).
    const qint64 start = QDeadlineTimer::current().deadline();
    while (QDeadlineTimer::current().deadline() == start) { }

    constexpr int N = 6;
    quint64 tokens[N];
    for (int i = 0; i < N; ++i) {
        PendingCalls::Spec spec = callbacks(reinterpret_cast<void *>(quintptr(i + 1)));
        spec.timeout = 40;
        tokens[i] = m_calls->open(spec);
        m_calls->addTarget(tokens[i], EpA);
    }
    // Dropping one call's deadline must leave the others at the same instant in place.
    m_calls->abort(tokens[1]);
    m_calls->setTimeout(tokens[3], 0);
    feed(tokens[4], EpA, "answered");

    QTRY_COMPARE(g_dones.size(), 4);   // 4's reply, then 0, 2 and 5 time out
    QSet<quintptr> timedOut;
    for (const Seen &s : std::as_const(g_dones)) {
        if (s.isError) {
            QCOMPARE(s.error, Reply::TimeoutError);
            timedOut.insert(quintptr(s.udata));
        }
    }
    QCOMPARE(timedOut, (QSet<quintptr>{1, 3, 6}));
    QVERIFY(!m_calls->contains(tokens[0]));
    QVERIFY(!m_calls->contains(tokens[2]));
    QVERIFY(!m_calls->contains(tokens[5]));
    QVERIFY(m_calls->contains(tokens[3]));
    QCOMPARE(m_calls->count(), 1);
}

void tst_PendingCalls::deletingReplyAborts()
{
    Reply *reply = newReply();
    PendingCalls::Spec spec = specFor(reply);
    spec.onReply = onReplyCb;
    spec.onDone = onDoneCb;
    spec.timeout = 30;
    const quint64 token = m_calls->open(spec);
    m_calls->addTarget(token, EpA);
    feed(token, EpA, "before", 0);
    QCOMPARE(g_replies.size(), 1);

    delete reply;
    QVERIFY(!m_calls->contains(token));
    QCOMPARE(m_calls->count(), 0);
    feed(token, EpA, "after");
    QCOMPARE(late(), 1);
    QCOMPARE(g_replies.size(), 1);

    // No timeout either: a later call's deadline is the only one that fires.
    const quint64 sentinel = m_calls->open(callbacks());
    m_calls->addTarget(sentinel, EpA);
    m_calls->setTimeout(sentinel, 80);
    QTRY_COMPARE(g_dones.size(), 1);
    QCOMPARE(g_dones[0].error, Reply::TimeoutError);
}

void tst_PendingCalls::autoDelete_data()
{
    QTest::addColumn<bool>("autoDelete");
    QTest::addColumn<bool>("batch");   // a Reply in the Node's thread: deleted with its pass
    QTest::newRow("auto, other thread") << true << false;
    QTest::newRow("auto, batched") << true << true;
    QTest::newRow("kept, other thread") << false << false;
    QTest::newRow("kept, batched") << false << true;
}

void tst_PendingCalls::autoDelete()
{
    QFETCH(bool, autoDelete);
    QFETCH(bool, batch);

    QList<QPointer<Reply>> replies;
    QList<quint64> tokens;
    int validWhenFinished = 0;
    for (int i = 0; i < 3; ++i) {
        Reply *r = newReply(nullptr, batch);
        QCOMPARE(r->autoDelete(), true);
        r->setAutoDelete(autoDelete);
        QCOMPARE(r->autoDelete(), autoDelete);
        replies.append(r);
        const QPointer<Reply> guard = r;
        connect(r, &Reply::finished, this, [&validWhenFinished, guard] {
            validWhenFinished += guard && guard->isFinished();
        });
        tokens.append(m_calls->open(specFor(r)));
        m_calls->addTarget(tokens.last(), EpA);
    }
    for (quint64 token : std::as_const(tokens))
        feed(token, EpA, "done");
    if (batch) {
        QCOMPARE(validWhenFinished, 3);
        for (const QPointer<Reply> &r : std::as_const(replies)) {
            QVERIFY(r);   // still valid in the pass that finished it
            QVERIFY(r->isFinished());
        }
    }

    flushEvents();
    QCOMPARE(validWhenFinished, 3);
    for (const QPointer<Reply> &r : std::as_const(replies))
        QCOMPARE(r.isNull(), autoDelete);
    for (const QPointer<Reply> &r : std::as_const(replies))
        delete r.data();
}

void tst_PendingCalls::ownersDeletingFinishedReplies()
{
    // The QNetworkReply habit: deleteLater() (or delete) in the finished slot of a Reply
    // that deletes itself anyway. Whichever comes first, it is deleted once (ASan checks).
    const QList<QPointer<Reply>> replies = openRepliesOnA(4);
    connect(replies[0].data(), &Reply::finished, replies[0].data(), &QObject::deleteLater);
    connect(replies[1].data(), &Reply::finished, replies[1].data(), &QObject::deleteLater);
    connect(replies[2].data(), &Reply::finished, replies[2].data(), &QObject::deleteLater);
    // The last one's slot deletes the first, which finished earlier in the same pass.
    const QPointer<Reply> first = replies[0];
    connect(replies[3].data(), &Reply::finished, this, [first] { delete first.data(); });
    for (int i = 0; i < 4; ++i)
        feed(ReplyPrivate::get(replies[i].data())->token, EpA, "done");
    QVERIFY(replies[0].isNull());
    for (int i = 1; i < 4; ++i)
        QVERIFY(replies[i]);   // valid until control returns to the event loop

    // Back in the event loop, in both orders: Qt deletes replies[2] before the sweep;
    // new Replies take replies[3] and replies[1], whose deleteLater() is still pending.
    QCoreApplication::sendPostedEvents(replies[2].data(), QEvent::DeferredDelete);
    QVERIFY(replies[2].isNull());
    QCoreApplication::sendPostedEvents(m_calls.get());   // the sweep: the rest is due
    QVERIFY(replies[1] && replies[3]);
    m_calls->reuseFinished();
    m_calls->reuseFinished();
    QVERIFY(replies[1].isNull() && replies[3].isNull());
    flushEvents();   // replies[1]'s deferred delete went with it
    for (const QPointer<Reply> &r : std::as_const(replies))
        QVERIFY(r.isNull());
}

void tst_PendingCalls::replyDeletedByOnDone()
{
    // A call with both onDone and a Reply: onDone (user code) runs after the call was
    // released and before the Reply hears of the end. A Reply its owner deletes there is
    // not reached again (ASan checks what QCOMPARE cannot).
    Reply *r = newReply();
    r->setAutoDelete(false);
    static QPointer<Reply> s_reply;
    static int s_dones;
    s_reply = r;
    s_dones = 0;
    int finished = 0;
    int received = 0;
    connect(r, &Reply::finished, this, [&finished] { ++finished; });
    connect(r, &Reply::replyReceived, this, [&received] { ++received; });
    PendingCalls::Spec spec = specFor(r);
    spec.onDone = [](const Message &) {
        ++s_dones;
        delete s_reply.data();
    };
    const quint64 token = m_calls->open(spec);
    m_calls->addTarget(token, EpA);
    feed(token, EpA, "done");
    QCOMPARE(s_dones, 1);
    QCOMPARE(received, 1);   // replies come before onDone
    QVERIFY(s_reply.isNull());
    QCOMPARE(finished, 0);   // gone before the call could finish it
    flushEvents();
    QCOMPARE(late(), 0);
}

void tst_PendingCalls::reuseDeletesOnlyDueReplies()
{
    // A finished Reply of the Node's thread stays valid until control returns to the event
    // loop; after that its memory goes to the next Reply made (reuseFinished()), or it is
    // deleted by the next sweep if no Reply is made.
    auto finishThree = [this] {
        const QList<QPointer<Reply>> replies = openRepliesOnA(3);
        for (const QPointer<Reply> &r : replies)
            feed(ReplyPrivate::get(r.data())->token, EpA, "done");
        return replies;
    };
    auto alive = [](const QList<QPointer<Reply>> &replies) {
        return int(std::count_if(replies.begin(), replies.end(),
                                 [](const QPointer<Reply> &r) { return !r.isNull(); }));
    };

    const QList<QPointer<Reply>> first = finishThree();
    m_calls->reuseFinished();   // same pass: none of them is due yet
    QCOMPARE(alive(first), 3);

    QCoreApplication::sendPostedEvents(m_calls.get());   // back in the event loop: due
    QCOMPARE(alive(first), 3);
    m_calls->reuseFinished();
    QCOMPARE(alive(first), 2);   // one, for the Reply about to be made

    // A Reply deleted by its owner while due is taken off the list, not deleted twice.
    const QList<QPointer<Reply>> left = [&] {
        QList<QPointer<Reply>> l;
        for (const QPointer<Reply> &r : first)
            if (r)
                l.append(r);
        return l;
    }();
    delete left.first().data();
    QCOMPARE(alive(first), 1);

    const QList<QPointer<Reply>> second = finishThree();
    QCOMPARE(alive(second), 3);
    QCoreApplication::sendPostedEvents(m_calls.get());   // the first pass's rest goes
    QCOMPARE(alive(first), 0);
    QCOMPARE(alive(second), 3);
    QCoreApplication::sendPostedEvents(m_calls.get());   // no new Reply took them: swept
    QCOMPARE(alive(second), 0);
}

void tst_PendingCalls::replyInThreadWithEventLoop()
{
    struct Observed {
        std::atomic<QThread *> receivedIn{nullptr};
        std::atomic<QThread *> finishedIn{nullptr};
        std::atomic<int> received{0};
        std::atomic<int> finished{0};
        std::atomic<int> expected{-1}, receivedCount{-1}, finishedTargets{-1};
        std::atomic<int> error{-1};
        std::atomic<bool> destroyed{false};
    } o;

    QObject anchor;   // destroyed after its thread has stopped
    RunningThread running;
    QThread &thread = running.thread;
    anchor.moveToThread(&thread);

    std::shared_ptr<ReplyChannel> channel;
    invokeBlocking(&anchor, [&] {
        Reply *r = ReplyPrivate::create(&o, 0, /*sameThread=*/false);
        channel = ReplyPrivate::get(r)->channel;
        // Direct connections: the slots run in whatever thread emits.
        connect(r, &Reply::replyReceived, r, [&o](const Message &) {
            o.receivedIn = QThread::currentThread();
            ++o.received;
        }, Qt::DirectConnection);
        connect(r, &Reply::finished, r, [&o, r] {
            o.finishedIn = QThread::currentThread();
            o.expected = r->expectedReplies();
            o.receivedCount = r->receivedReplies();
            o.finishedTargets = r->finishedTargets();
            o.error = r->error();
            ++o.finished;
        }, Qt::DirectConnection);
        connect(r, &QObject::destroyed, r, [&o] { o.destroyed = true; }, Qt::DirectConnection);
    });
    QVERIFY(channel);   // only a Reply in another thread than the Node's has one

    PendingCalls::Spec spec;
    spec.reply.channel = channel;
    const quint64 token = m_calls->open(spec);
    m_calls->addTarget(token, EpA);
    m_calls->addTarget(token, EpB);
    feed(token, EpA, "a", 0);
    feed(token, EpA, "a final");
    feed(token, EpB, "b final");
    QVERIFY(!m_calls->contains(token));

    QTRY_COMPARE(o.finished.load(), 1);
    QCOMPARE(o.received.load(), 3);
    QCOMPARE(o.receivedIn.load(), &thread);
    QCOMPARE(o.finishedIn.load(), &thread);
    QCOMPARE(o.expected.load(), 2);
    QCOMPARE(o.receivedCount.load(), 3);
    QCOMPARE(o.finishedTargets.load(), 2);
    QCOMPARE(o.error.load(), int(Reply::NoError));
    QTRY_VERIFY(o.destroyed.load());   // auto-deleted in its own thread

    running.stop();
    QCOMPARE(o.finished.load(), 1);
}

void tst_PendingCalls::replyInThreadDeletedEarly()
{
    // Deleting a Reply in another thread aborts its call on the Node's thread.
    QObject anchor;   // destroyed after its thread has stopped
    RunningThread running;
    QThread &thread = running.thread;
    anchor.moveToThread(&thread);

    Reply *reply = nullptr;
    std::shared_ptr<ReplyChannel> channel;
    invokeBlocking(&anchor, [&] {
        reply = ReplyPrivate::create(nullptr, 0, false);
        channel = ReplyPrivate::get(reply)->channel;
    });

    PendingCalls::Spec spec;
    spec.reply.channel = channel;
    spec.onDone = onDoneCb;
    const quint64 token = m_calls->open(spec);
    m_calls->addTarget(token, EpA);

    invokeBlocking(&anchor, [&] { delete reply; });
    QVERIFY(!channel->reply);
    QTRY_VERIFY(!m_calls->contains(token));   // the abort is queued to this thread
    feed(token, EpA, "late");
    QCOMPARE(late(), 1);
    QCOMPARE(g_dones.size(), 0);

    running.stop();
}

void tst_PendingCalls::replyInThreadWithoutEventLoop()
{
    struct Observed {
        std::atomic<int> finishedBeforeWait{-1};
        std::atomic<int> finished{0};
        std::atomic<bool> inOwnThread{false};
        std::atomic<bool> waitResult{false};
        std::atomic<bool> isFinished{false};
        std::atomic<int> received{0};
        std::atomic<int> error{-1};
    } o;
    std::promise<std::shared_ptr<ReplyChannel>> ready;
    auto channelFuture = ready.get_future();
    QSemaphore posted;

    QTest::ignoreMessage(QtWarningMsg,
                         QRegularExpression(QStringLiteral("Plexus::Reply was made in a thread without an event loop")));
    std::thread worker([&] {
        Reply *r = ReplyPrivate::create(nullptr, 0, /*sameThread=*/false);
        r->setAutoDelete(false);   // no event loop here would ever run its deleteLater()
        const std::thread::id self = std::this_thread::get_id();
        QObject::connect(r, &Reply::replyReceived, [&o] { ++o.received; });
        QObject::connect(r, &Reply::finished, [&o, self] {
            o.inOwnThread = std::this_thread::get_id() == self;
            ++o.finished;
        });
        ready.set_value(ReplyPrivate::get(r)->channel);
        posted.acquire();   // the reply is on its way, but no event loop runs here
        o.finishedBeforeWait = o.finished.load();
        o.waitResult = r->waitForFinished(10000);
        o.isFinished = r->isFinished();
        o.error = r->error();
        delete r;
    });

    const std::shared_ptr<ReplyChannel> channel = channelFuture.get();
    PendingCalls::Spec spec;
    spec.reply.channel = channel;
    const quint64 token = m_calls->open(spec);
    m_calls->addTarget(token, EpA);
    feed(token, EpA, "stream", 0);
    feed(token, EpA, "final");
    posted.release();
    worker.join();
    QVERIFY(!m_calls->contains(token));

    QCOMPARE(o.finishedBeforeWait.load(), 0);
    QVERIFY(o.waitResult.load());
    QVERIFY(o.isFinished.load());
    QCOMPARE(o.finished.load(), 1);
    QCOMPARE(o.received.load(), 2);
    QVERIFY(o.inOwnThread.load());
    QCOMPARE(o.error.load(), int(Reply::NoError));
}

namespace {
std::atomic<int> g_noLoopWarnings{0};
QtMessageHandler g_previousHandler = nullptr;

void countNoLoopWarnings(QtMsgType type, const QMessageLogContext &context, const QString &text)
{
    if (text.contains(u"thread without an event loop"))
        ++g_noLoopWarnings;
    else if (g_previousHandler)
        g_previousHandler(type, context, text);
}
} // namespace

void tst_PendingCalls::replyInPoolThreadWarnsOncePerThread()
{
    // Regression (issue 16.5): a Reply made in a QThreadPool task can never get its signals
    // (pool threads have an event dispatcher, but never run its loop between tasks), and
    // 4,000 of them said nothing. Warned once per such thread; never in a thread that runs
    // an event loop.
    g_noLoopWarnings = 0;
    g_previousHandler = qInstallMessageHandler(countNoLoopWarnings);
    const auto restore = qScopeGuard([] { qInstallMessageHandler(g_previousHandler); });
    auto makeReplies = [](int count) {
        for (int i = 0; i < count; ++i)
            delete ReplyPrivate::create(nullptr, 0, /*sameThread=*/false);
    };
    QThreadPool first, second;
    first.setMaxThreadCount(1);
    second.setMaxThreadCount(1);
    for (int task = 0; task < 4; ++task)
        Plexus::startInPool(&first, [&] { makeReplies(1000); });   // one thread, four tasks: one warning
    QVERIFY(first.waitForDone(10000));
    QCOMPARE(g_noLoopWarnings.load(), 1);
    Plexus::startInPool(&second, [&] { makeReplies(10); });        // another thread: its own warning
    QVERIFY(second.waitForDone(10000));
    QCOMPARE(g_noLoopWarnings.load(), 2);

    // A thread that runs an event loop, and a pool task that runs a local one: no warning.
    QThread withLoop;
    withLoop.start();
    QObject context;
    context.moveToThread(&withLoop);
    invokeBlocking(&context, [&] { makeReplies(10); });
    withLoop.quit();
    QVERIFY(withLoop.wait(10000));
    QThreadPool third;
    Plexus::startInPool(&third, [&] {
        QEventLoop loop;
        QTimer::singleShot(0, &loop, [&] {
            makeReplies(10);
            loop.quit();
        });
        loop.exec();
    });
    QVERIFY(third.waitForDone(10000));
    QCOMPARE(g_noLoopWarnings.load(), 2);
}

void tst_PendingCalls::abortCancelsUnfinishedTargets()
{
    // Issue 20.3: an abort ended the call on the caller's side only. The targets that have
    // not finished are told (a Cancel each); those that have are not.
    PendingCalls::Spec spec;
    const quint64 token = m_calls->open(spec);
    m_calls->addTarget(token, EpA);
    m_calls->addTarget(token, EpB);
    feed(token, EpA, "done");
    QVERIFY(m_calls->contains(token));
    m_calls->abort(token);
    QVERIFY(!m_calls->contains(token));
    QCOMPARE(m_relay->cancels, (QList<std::pair<quint32, quint64>>{{EpB, token}}));
}

void tst_PendingCalls::timeoutCancelsTargets()
{
    PendingCalls::Spec spec;
    spec.timeout = 20;
    const quint64 token = m_calls->open(spec);
    m_calls->addTarget(token, EpA);
    m_calls->addTarget(token, EpB, 3, false);   // a relaying master, its count not known yet
    QTRY_VERIFY(!m_calls->contains(token));
    QCOMPARE(m_relay->cancels, (QList<std::pair<quint32, quint64>>{{EpA, token}, {EpB, token}}));
    // A late reply is dropped and counted, as before.
    feed(token, EpA, "late");
    QCOMPARE(late(), 1);
}

void tst_PendingCalls::relayCanceledByItsCaller()
{
    // A master relays a worker's fan-out (origin EpOther, the worker's token 77): the
    // worker's cancel reaches the relay's targets, and the relay ends.
    const quint64 relay = m_calls->openRelay(EpOther, 77, 0);
    m_calls->addTarget(relay, EpA);
    m_calls->addTarget(relay, EpB);
    QVERIFY(!m_calls->cancelRelay(EpOther, 78));   // another call of that worker
    QVERIFY(!m_calls->cancelRelay(EpA, 77));       // another worker's call 77
    QVERIFY(m_calls->contains(relay));
    QVERIFY(m_calls->cancelRelay(EpOther, 77));
    QVERIFY(!m_calls->contains(relay));
    QCOMPARE(m_relay->cancels, (QList<std::pair<quint32, quint64>>{{EpA, relay}, {EpB, relay}}));
    QVERIFY(!m_calls->cancelRelay(EpOther, 77));   // a second cancel finds nothing
}

void tst_PendingCalls::relayWhoseCallerIsGoneCancels()
{
    const quint64 relay = m_calls->openRelay(EpOther, 5, 0);
    m_calls->addTarget(relay, EpA);
    m_calls->failEndpoint(EpOther, Reply::TargetLostError);
    QVERIFY(!m_calls->contains(relay));
    QCOMPARE(m_relay->cancels, (QList<std::pair<quint32, quint64>>{{EpA, relay}}));
}

void tst_PendingCalls::waitForFinishedTimesOut()
{
    // Regression (issue 20.5): waitForFinished() waited forever by default. It has a finite
    // default (30 s, as Qt's blocking waits) and says false when the time is up; the call
    // goes on.
    Reply *r = ReplyPrivate::create(nullptr, 0, /*sameThread=*/true);
    r->setAutoDelete(false);
    QElapsedTimer clock;
    clock.start();
    QVERIFY(!r->waitForFinished(std::chrono::milliseconds(50)));
    QVERIFY(clock.elapsed() >= 45);
    QVERIFY(!r->isFinished());
    QCOMPARE(r->error(), Reply::NoError);
    delete r;
}

void tst_PendingCalls::refusedCallNamesTheRule_data()
{
    QTest::addColumn<quint32>("opcode");
    QTest::addColumn<bool>("withCall");
    QTest::addColumn<quint16>("routing");
    QTest::addColumn<qsizetype>("size");
    QTest::addColumn<Reply::Error>("error");
    QTest::addColumn<QString>("rule");
    QTest::newRow("reserved op-code") << quint32(0xFF000009) << false << quint16(0) << qsizetype(0)
                                      << Reply::InvalidArgumentsError << u"CallArgs::opcode 0xff000009 is reserved"_s;
    QTest::newRow("nothing to run") << quint32(0) << false << quint16(0) << qsizetype(0)
                                    << Reply::InvalidArgumentsError << u"neither CallArgs::call nor CallArgs::opcode"_s;
    QTest::newRow("cluster without op-code") << quint32(0) << true << quint16(Wire::Cluster) << qsizetype(0)
                                             << Reply::InvalidArgumentsError << u"need CallArgs::opcode"_s;
    QTest::newRow("too long") << quint32(0x42) << false << quint16(0) << qsizetype(maxMessageLength() + 1)
                              << Reply::MessageTooLongError << u"above maxMessageLength()"_s;
}

void tst_PendingCalls::refusedCallNamesTheRule()
{
    // Regression (issue 20.5): "call refused: InvalidArgumentsError" said nothing of the
    // rule, and a refusal that the Reply reported was logged too. The Reply's errorString()
    // names the rule, and nothing is logged when a Reply or onDone reports it.
    QFETCH(quint32, opcode);
    QFETCH(bool, withCall);
    QFETCH(quint16, routing);
    QFETCH(qsizetype, size);
    QFETCH(Reply::Error, error);
    QFETCH(QString, rule);
    const QByteArray data(size, 'x');
    CallArgs args{.call = withCall ? &onDoneCb : nullptr, .opcode = opcode, .data = {data}, .reply = true};
    Reply::Error refused = Reply::NoError;
    QString why;
    QVERIFY(!Authoring::request(args, routing, &refused, &why));
    QCOMPARE(refused, error);
    QVERIFY2(why.contains(rule), qPrintable(why));
    // Reported to the caller: its Reply says why, and the log stays quiet.
    QTest::failOnWarning(QRegularExpression(u"call refused"_s));
    QPointer<Reply> r = Router::failedReply(nullptr, refused, args, why);
    QVERIFY(r);
    QSignalSpy finished(r.data(), &Reply::finished);
    QVERIFY(finished.wait());
    QCOMPARE(r->error(), error);
    QCOMPARE(r->errorString(), why);
}

void tst_PendingCalls::destroyedWithOpenCalls_data()
{
    QTest::addColumn<bool>("batch");   // a Reply in the Node's thread: deleted with its pass
    QTest::newRow("other thread") << false;
    QTest::newRow("batched") << true;
}

void tst_PendingCalls::destroyedWithOpenCalls()
{
    QFETCH(bool, batch);

    QList<QPointer<Reply>> replies;
    QList<std::shared_ptr<QSignalSpy>> finished, errors;
    for (int i = 0; i < 3; ++i) {
        Reply *r = newReply(nullptr, batch);
        replies.append(r);
        finished.append(std::make_shared<QSignalSpy>(r, &Reply::finished));
        errors.append(std::make_shared<QSignalSpy>(r, &Reply::errorOccurred));
        PendingCalls::Spec spec = specFor(r);
        spec.timeout = 60000;
        const quint64 token = m_calls->open(spec);
        m_calls->addTarget(token, EpA);
        if (i == 1)
            feed(token, EpA, "half", 0);
    }
    Reply *kept = newReply();
    kept->setAutoDelete(false);
    QSignalSpy keptFinished(kept, &Reply::finished);
    m_calls->addTarget(m_calls->open(specFor(kept)), EpB);
    m_calls->addTarget(m_calls->openRelay(EpC, 1, 0), EpA);

    m_calls.reset();
    if (!batch)
        QCoreApplication::sendPostedEvents();   // the updates of Replies in other threads

    for (int i = 0; i < 3; ++i) {
        QCOMPARE(finished[i]->size(), 1);
        QCOMPARE(errors[i]->size(), 1);
        QCOMPARE(errors[i]->at(0).at(0).value<Reply::Error>(), Reply::NotRunningError);
    }
    QCOMPARE(keptFinished.size(), 1);
    QCOMPARE(kept->error(), Reply::NotRunningError);
    QVERIFY(kept->isFinished());
    // Without a PendingCalls, a finished Reply's API is harmless.
    kept->setTimeout(10);
    kept->abort();
    QCOMPARE(keptFinished.size(), 1);
    QCOMPARE(m_relay->errors.size(), 0);

    flushEvents();
    for (const QPointer<Reply> &r : std::as_const(replies))
        QVERIFY(r.isNull());
    delete kept;
}

void tst_PendingCalls::failOfFinishedTargetIsNoop()
{
    // Regression: fail() for a target that had already finished set the call's error.
    Reply *r = newReply();
    QSignalSpy errors(r, &Reply::errorOccurred);
    QSignalSpy finished(r, &Reply::finished);
    const quint64 token = m_calls->open(specFor(r));
    m_calls->addTarget(token, EpA);
    m_calls->addTarget(token, EpB);
    feed(token, EpA, "a");
    m_calls->fail(token, {EpA}, Reply::BackpressureError);
    QCOMPARE(errors.size(), 0);
    feed(token, EpB, "b");
    QCOMPARE(finished.size(), 1);
    QCOMPARE(r->error(), Reply::NoError);
}

void tst_PendingCalls::finishedTargetsCountFailures()
{
    // Regression: a target that failed did not count in finishedTargets().
    Reply *r = newReply();
    r->setAutoDelete(false);
    const quint64 token = m_calls->open(specFor(r));
    m_calls->addTarget(token, EpA);
    m_calls->addTarget(token, EpB);
    feed(token, EpA, "a");
    QCOMPARE(r->finishedTargets(), 1);
    m_calls->fail(token, {EpB}, Reply::TargetLostError);
    QVERIFY(r->isFinished());
    QCOMPARE(r->finishedTargets(), 2);
    QCOMPARE(r->expectedReplies(), 2);
    delete r;
}

void tst_PendingCalls::duplicateFinalIsLate()
{
    // Regression: a target that had sent its final reply could go on sending while other
    // targets were pending; those replies reached the caller instead of being late.
    const quint64 token = m_calls->open(callbacks());
    m_calls->addTarget(token, EpA);
    m_calls->addTarget(token, EpB);
    feed(token, EpA, "final a");
    QCOMPARE(g_replies.size(), 1);   // the first target's final reply goes to onReply
    feed(token, EpA, "again");
    feed(token, EpA, "streamed", 0);
    QCOMPARE(g_replies.size(), 1);
    QCOMPARE(late(), 2);
    feed(token, EpB, "final b");
    QCOMPARE(g_dones.size(), 1);
}

void tst_PendingCalls::destroyedRunsOnDone()
{
    // Calls with callbacks end too when the table goes: onDone runs once with the error.
    const quint64 token = m_calls->open(callbacks(&g_dones));
    m_calls->addTarget(token, EpA);
    m_calls.reset();
    QCOMPARE(g_dones.size(), 1);
    QVERIFY(g_dones.first().isError);
    QCOMPARE(g_dones.first().error, Reply::NotRunningError);
    QCOMPARE(g_dones.first().udata, static_cast<void *>(&g_dones));
}

QTEST_GUILESS_MAIN(tst_PendingCalls)
#include "tst_pendingcalls.moc"
