// SPDX-License-Identifier: MIT
//
// Calls and dispatch on the real fork path. Each row of scenario() starts calls_helper
// (Plexus::exec with N forked workers) for one scenario and compares every "VALUE key value"
// line it prints with the table below; inProcessNode() runs a Node without workers inside
// this test's own QCoreApplication.

#include "../../shared/liveprocesses.h"

#include <plexus/plexus.h>

#include <QtCore/qdeadlinetimer.h>
#include <QtCore/qdir.h>
#include <QtCore/qfile.h>
#include <QtCore/qfileinfo.h>
#include <QtCore/qpointer.h>
#include <QtCore/qprocess.h>
#include <QtCore/qset.h>
#include <QtCore/quuid.h>
#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>

#include <csignal>

#include <sys/stat.h>
#include <unistd.h>

using namespace Qt::StringLiterals;

namespace {

constexpr int HelperTimeoutMs = 90000;   // the helper's own safety timer is 60 s

using TestSupport::liveProcesses;

QByteArray tail(const QByteArray &text, qsizetype n = 6000)
{
    return text.size() <= n ? text : "..." + text.right(n);
}

// In-process handlers (test 12).
int s_inProcessRuns = 0;
int s_inProcessReplies = 0;
int s_inProcessDones = 0;
QByteArray s_inProcessFinal;

void inProcessHandler(const Plexus::Message &m)
{
    ++s_inProcessRuns;
    Plexus::reply(m, {.data = "pong-1"});
    Plexus::reply(m, {.data = "pong-2", .done = true});
}

void inProcessOnReply(const Plexus::Message &)
{
    ++s_inProcessReplies;
}

void inProcessOnDone(const Plexus::Message &m)
{
    ++s_inProcessDones;
    s_inProcessFinal = m.data().toByteArray();
}

} // namespace

class tst_Calls : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void scenario_data();
    void scenario();
    void inProcessNode();

private:
    QString m_helper;
};

void tst_Calls::initTestCase()
{
    m_helper = QStringLiteral(CALLS_HELPER_PATH);
    QVERIFY2(QFileInfo(m_helper).isExecutable(), qPrintable(m_helper));
}

// One row per scenario: the helper's scenario name, its worker count, and every value it
// must print, as "key value" (the value may contain spaces).
void tst_Calls::scenario_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<int>("workers");
    QTest::addColumn<QByteArrayList>("expected");

    const QByteArray reply1 = " expected=1 received=1 targets=1 error=0 errorSignals=0 sync=0";
    const QByteArray refused101 = "messages= expected=0 received=0 targets=0 error=101 errorSignals=1 sync=0";
    const QByteArray refused102 = "messages= expected=0 received=0 targets=0 error=102 errorSignals=1 sync=0";
    const QByteArray refused104 = "messages= expected=0 received=0 targets=0 error=104 errorSignals=1 sync=0";
    const QByteArray unknown202 = "messages=!* expected=1 received=1 targets=1 error=202 errorSignals=1 sync=0";
    const QByteArray emptyFinal = "len=0 reply=1 done=1 error=0";
    const QByteArray errorFinal = "len=0 reply=1 done=1 error=1";

    // 0. Regression (issue 7.2): traffic sent from onStart reaches every process, the
    // workers that are still starting included.
    QTest::newRow("startup") << u"startup"_s << 3 << QByteArrayList{
        "startup.master.expectedOnReturn 4",
        "startup.master slots=-1,0,1,2 error=0",
        "startup.worker0 slots=-1,0,1,2 error=0",
    };
    // Regression (issue 7.3): reply() to a caller that died returns false and is counted.
    QTest::newRow("deadcaller") << u"deadcaller"_s << 1 << QByteArrayList{
        "deadcaller.replyAccepted 0,0",
        "deadcaller.droppedReplies 2",
    };

    // Regression: a burst from onStart, larger than what may be held for a master that is
    // still in its handshake.
    QTest::newRow("startburst") << u"startburst"_s << 1 << QByteArrayList{
        "startburst.done 300000",
        "startburst.errors 0",
    };
    // Regression: memory stays bounded through a 500k-call burst (both peaks under 96 MiB).
    QTest::newRow("burstmemory") << u"burstmemory"_s << 1 << QByteArrayList{
        "burstmemory.master ok",
        "burstmemory.worker ok",
    };
    // Regression (issue 7): cluster()/broadcast() without a cluster are a clear error (105).
    QTest::newRow("nocluster") << u"nocluster"_s << 1 << QByteArrayList{
        "nocluster.master.cluster 105",
        "nocluster.master.broadcast 105",
        "nocluster.worker.cluster 105",
        "nocluster.worker.broadcast 105",
    };

    // 1. worker -> master, streaming replies, fast path and Reply.
    QTest::newRow("stream") << u"stream"_s << 1 << QByteArrayList{
        "stream.fast.chunks chunk_1,chunk_2,chunk_3,chunk_4",
        "stream.fast.final final",
        "stream.fast.finalFlags len=5 reply=1 done=1 error=0",
        "stream.fast.udata 1",
        "stream.fast.doneCount 1",
        "stream.reply messages=chunk_1,chunk_2,chunk_3,chunk_4,final* expected=1 received=5 targets=1 error=0 errorSignals=0 sync=0",
        "stream.reply.udata 1",
        "stream.reply.senderAndUdata 1",
        "stream.reply.autoDeleted 1",
        "stream.finishedNotOnce 0",
    };

    // 2. The master calls itself: deferred, never inside the call.
    QTest::newRow("self") << u"self"_s << 0 << QByteArrayList{
        "self.handler1.insideCall 0",
        "self.handler1.sender 1",
        "self.fast a,b final=c insideCall=0",
        "self.handler2.insideCall 0",
        "self.handler2.sender 1",
        "self.reply messages=a,b,c* expected=1 received=3 targets=1 error=0 errorSignals=0 sync=0",
        "self.reply.finishedInsideCall 0",
        "self.local messages=*" + reply1,
        "self.localOthers messages= expected=0 received=0 targets=0 error=0 errorSignals=0 sync=0",
        "self.localOthers.handlerRuns 0",
        "self.fireAndForget.runsOnReturn 0",
        "self.fireAndForget.runs 1",
        "self.finishedNotOnce 0",
    };

    // 3. local() from the master and from a worker, with and without .others / replies.
    QTest::newRow("local") << u"local"_s << 4 << QByteArrayList{
        "local.workers 4",
        "local.m.hits count=5 distinct=5 master=1 workers=4",
        "local.mo.hits count=4 distinct=4 master=0 workers=4",
        "local.mr.reply messages=*,*,*,*,* expected=5 received=5 targets=5 error=0 errorSignals=0 sync=0",
        "local.mr.expectedOnReturn 5",
        "local.mr.hits count=5 distinct=5 master=1 workers=4",
        "local.mro.reply messages=*,*,*,* expected=4 received=4 targets=4 error=0 errorSignals=0 sync=0",
        "local.mro.expectedOnReturn 4",
        "local.mro.hits count=4 distinct=4 master=0 workers=4",
        "local.w.hits count=5 distinct=5 master=1 workers=4 caller=1",
        "local.wo.hits count=4 distinct=4 master=1 workers=3 caller=0",
        // From a worker the fan-out size is learnt from the master's relayed replies.
        "local.wr.reply messages=*,*,*,*,* expected=5 received=5 targets=5 error=0 errorSignals=0 sync=0",
        "local.wr.expectedOnReturn 1",
        "local.wr.hits count=5 distinct=5 master=1 workers=4 caller=1",
        "local.wro.reply messages=*,*,*,* expected=4 received=4 targets=4 error=0 errorSignals=0 sync=0",
        "local.wro.expectedOnReturn 1",
        "local.wro.hits count=4 distinct=4 master=1 workers=3 caller=0",
        "local.finishedNotOnce 0",
    };

    // 4. Fire-and-forget: no reply wanted, none sent (counted on the receiving side).
    const QByteArray fafState = "seen=10 wantsReply=0 replyAccepted=0";
    QTest::newRow("fireforget") << u"fireforget"_s << 2 << QByteArrayList{
        "faf.w0.seenByMaster 100", "faf.w1.seenByMaster 100",
        "faf.w0.messagesIn 1", "faf.w1.messagesIn 1",
        "faf.w0.lateReplies 0", "faf.w1.lateReplies 0",
        "faf.master.handled 200",
        "faf.master.wantsReply 0",
        "faf.master.replyAccepted 0",
        "faf.local.messagesIn 2",
        "faf.local.replies 3",
        "faf.local.error 0",
        "faf.local.master " + fafState,
        "faf.local.w0 " + fafState,
        "faf.local.w1 " + fafState,
    };

    // 5. Handlers that do not reply at once, or at all.
    QTest::newRow("noreply") << u"noreply"_s << 1 << QByteArrayList{
        "noreply.silent.fast " + emptyFinal,
        "noreply.silent.reply messages=*" + reply1,
        "noreply.later len=5 reply=1 done=1 error=0 data=later",
        "noreply.keep.pendingAtPing 1",
        "noreply.keep.final " + emptyFinal,
        "noreply.keep.afterPing 1",
        "noreply.detach.replyAccepted 0",
        // Regression: a request detach()ed by its handler left the caller waiting forever.
        "noreply.detachKept " + emptyFinal,
        "noreply.detach " + emptyFinal,
        "noreply.finishedNotOnce 0",
    };

    // 6. Payload integrity and limits (maxMessageLength 4 MiB in this run).
    QTest::newRow("payload") << u"payload"_s << 1 << QByteArrayList{
        "payload.fast.0 ok",
        "payload.fast.1 ok",
        "payload.fast.64 ok",
        "payload.fast.4096 ok",
        "payload.fast.65536 ok",
        "payload.fast.1048576 ok",
        "payload.fast.4194288 ok",
        "payload.reply.1048576 ok",
        "payload.multi match len=25",
        // A 9-piece payload has its own error, not "too long".
        "payload.overflow " + refused104,
        "payload.tooLong " + refused102,
        "payload.tooLong.fast " + errorFinal,
        "payload.bigReply.accepted 0",
        "payload.maxLength 4194304",
        // Regression: a refused final reply (too long) also suppressed the automatic one.
        "payload.bigReply.caller " + emptyFinal,
        "payload.finishedNotOnce 0",
    };

    // 7. 2 workers x 10,000 calls in flight at once.
    QByteArrayList flood{"flood.master.handled 20000"};
    for (const QByteArray w : {"w0", "w1"}) {
        flood << "flood." + w + ".replies 10000" << "flood." + w + ".dones 10000"
              << "flood." + w + ".distinctDone 10000" << "flood." + w + ".duplicates 0"
              << "flood." + w + ".mismatches 0" << "flood." + w + ".errors 0";
    }
    QTest::newRow("flood") << u"flood"_s << 2 << flood;

    // 8. Op-codes: registry, Node::handle(), unknown and reserved codes.
    const QByteArray registry = "registry udata=1 opcode=100 call=0";
    QTest::newRow("opcodes") << u"opcodes"_s << 1 << QByteArrayList{
        "op.register.zero 0",
        "op.register.reserved 0",
        "op.register.after 1",
        "op.lookup.before 1",
        "op.lookup.unknown 0",
        "op.handlePrecedence messages=lambda*" + reply1,
        "op.handleOnly messages=handle-only*" + reply1,
        "op.deleteContext messages=*" + reply1,
        "op.registryAfterContextGone messages=" + registry + '*' + reply1,
        "op.handleOnlyAfterContextGone " + unknown202,
        "op.registeredAfterStart messages=after*" + reply1,
        "op.defaultOnDone len=" + QByteArray::number(registry.size()) + " reply=1 done=1 error=0 data=" + registry,
        // The registration's onDone also runs for the two OpBefore calls that asked for a
        // Reply: they give no onReply/onDone of their own.
        "op.defaultOnDone.runs 3",
        "op.unknown " + unknown202,
        "op.unknown.fast " + errorFinal,
        "op.afterUnknown messages=after*" + reply1,
        // handleOnlyAfterContextGone, unknown, unknown.fast and the fire-and-forget one
        "op.master.unknownOpcodes messages=4*" + reply1,
        "op.reserved " + refused101,
        "op.reserved.fast " + errorFinal,
        "op.noTarget " + refused101,
        "op.unregister.after 1",
        "op.lookup.afterUnregistered 0",
        "op.unregister messages=*" + reply1,
        "op.afterUnregistered " + unknown202,
        "op.worker.lookup 1",
        "op.finishedNotOnce 0",
    };

    // 9. flags / id / timestamp of requests and replies.
    const QByteArray r1 = "id=1122334455667788 flags=beef ts=now done=0 data=flags=beef;id=1122334455667788;ts=123456789";
    const QByteArray r2 = "id=99 flags=f0f ts=42 done=0 data=override";
    const QByteArray r3 = "id=1122334455667788 flags=beef ts=now done=0 data=zero-unset";
    const QByteArray r4 = "id=1122334455667788 flags=0 ts=now done=1 data=zero-set";
    QTest::newRow("overrides") << u"overrides"_s << 1 << QByteArrayList{
        "ovr.call.error 0",
        "ovr.call.count 4",
        "ovr.call.r1 " + r1,
        "ovr.call.r2 " + r2,
        "ovr.call.r3 " + r3,
        "ovr.call.r4 " + r4,
        "ovr.call.fromMaster 1",
        "ovr.fast.reply1 " + r1,
        "ovr.fast.reply2 " + r2,
        "ovr.fast.reply3 " + r3,
        "ovr.fast.done " + r4,
        "ovr.defaults 1",
        "ovr.send1 0 id=7 flags=0 ts=now done=1 data=zero-set",
        "ovr.send2 0 id=7 flags=0 ts=now done=1 data=zero-set",
        "ovr.finishedNotOnce 0",
    };

    // 10. Melon typed handlers.
    QByteArrayList typed{
        "typed.sendToMasterOnMaster 0",
        "typed.forEachWorker 2",
        "typed.A.sent 2",
        "typed.A.state 10",
        "typed.A.calls 10",
        "typed.A.perSlot 5,5",
        "typed.B.newId 1",
        "typed.B.unregisterReplaced 0",
        "typed.B.sent 2",
        "typed.B.state 2",
        "typed.B.calls 12",
        "typed.C.unregister 1",
        "typed.C.unregisterAgain 0",
        "typed.C.sent 2",
        "typed.C.calls 12",
        "typed.D.setMaster 1",
        "typed.D.sent 4",
        "typed.D.masterState 4",
    };
    for (const QByteArray w : {"w0", "w1"}) {
        typed << "typed.A." + w + ".goCount 1" << "typed.B." + w + ".goCount 2"
              << "typed.C." + w + ".goCount 3"
              << "typed.D." + w + ".first n=1 data=1 validInfo=0"
              << "typed.D." + w + ".second n=2 data=1 validInfo=0";
    }
    QTest::newRow("typed") << u"typed"_s << 2 << typed;

    // 11. Calls and replies from other threads.
    QTest::newRow("threads") << u"threads"_s << 1 << QByteArrayList{
        "threads.fast.done 8000",
        "threads.fast.bad 0",
        "threads.reply.finished 8000",
        "threads.reply.messages 8000",
        "threads.reply.bad 0",
        "threads.reply.wrongThread 0",
        "threads.pool.waited 200",
        "threads.pool.waitBad 0",
        "threads.pool.replied 100",
        "threads.pool.dropped 100",
        "threads.master.handlerWrongThread 0",
        "threads.master.poolAccepted 100",
        "threads.master.poolOnMainThread 0",
    };

    // 13. Timeouts, abort, late replies.
    QTest::newRow("timeout") << u"timeout"_s << 1 << QByteArrayList{
        "timeout.setTimeout messages= expected=1 received=0 targets=0 error=301 errorSignals=1 sync=0",
        "timeout.setTimeout.elapsedOk 1",
        "timeout.fast " + errorFinal,
        "timeout.fast.elapsedOk 1",
        "timeout.abort messages= expected=1 received=0 targets=0 error=302 errorSignals=1 sync=0",
        "timeout.abort.state before=0 after=1 finishedSignals=1",
        "timeout.abort.again 1",
        "timeout.callArgs 301 elapsedOk=1",
        "timeout.finishedNotTimedOut 0 finished=1",
        "timeout.released 5 canceled=5 refused=5",
        "timeout.master.canceledCalls 5",
        "timeout.lateReplies 0",
        "timeout.finishedNotOnce 0",
    };

    // 14. Cancellation reaches the target (issue 20.3): a streaming handler stops when its
    // caller aborts, times out, or dies; reply() refuses from then on.
    QTest::newRow("cancel") << u"cancel"_s << 2 << QByteArrayList{
        "cancel.abort stoppedBy=isCanceled replyAfter=0 chunksOk=1",
        "cancel.abort.caller 302",
        "cancel.timeout stoppedBy=isCanceled replyAfter=0 chunksOk=1",
        "cancel.timeout.caller 301",
        "cancel.death stoppedBy=isCanceled replyAfter=0 chunksOk=1",
        "cancel.master canceledCalls=2 cancelsReceived=2",
    };
}

void tst_Calls::scenario()
{
    QFETCH(QString, name);
    QFETCH(int, workers);
    QFETCH(QByteArrayList, expected);

    const QByteArray token = QUuid::createUuid().toByteArray(QUuid::WithoutBraces);
    QProcess helper;
    helper.setProgram(m_helper);
    helper.setArguments({name, u"--workers"_s, QString::number(workers), u"--token"_s,
                         QString::fromLatin1(token)});
    helper.start();
    QVERIFY2(helper.waitForStarted(10000), qPrintable(helper.errorString()));
    const bool finished = helper.waitForFinished(HelperTimeoutMs);
    if (!finished) {
        helper.kill();
        helper.waitForFinished(5000);
    }
    const QByteArray out = helper.readAllStandardOutput();
    const QByteArray err = helper.readAllStandardError();
    const QByteArray context = "\n--- stdout ---\n" + tail(out) + "\n--- stderr ---\n" + tail(err);

    // Every process of the run ends with the master (workers and fork server included).
    QList<qint64> left;
    const bool allGone = QTest::qWaitFor([&] {
        left = liveProcesses(token);
        return left.isEmpty();
    }, 10000);
    for (qint64 pid : std::as_const(left))
        ::kill(pid_t(pid), SIGKILL);
    QVERIFY2(finished, QByteArray("the helper did not finish in time" + context).constData());
    QVERIFY2(allGone, QByteArray("processes left behind: " + QByteArray::number(left.size()) + context).constData());

    QMap<QByteArray, QByteArrayList> values;
    QByteArrayList failures;
    QByteArray ipcUrl;
    QByteArray end;
    for (const QByteArray &line : out.split('\n')) {
        if (line.startsWith("VALUE ")) {
            const QByteArray rest = line.mid(6);
            const qsizetype space = rest.indexOf(' ');
            values[rest.left(space)].append(space < 0 ? QByteArray() : rest.mid(space + 1));
        } else if (line.startsWith("FAIL ") || line == "TIMEOUT") {
            failures.append(line);
        } else if (line.startsWith("IPC ")) {
            ipcUrl = line.mid(4);
        } else if (line.startsWith("END ")) {
            end = line.mid(4);
        }
    }
    QVERIFY2(failures.isEmpty(), QByteArray(failures.join('\n') + context).constData());
    QCOMPARE(helper.exitStatus(), QProcess::NormalExit);
    QVERIFY2(helper.exitCode() == 0 && end == "ok",
             QByteArray("exit code " + QByteArray::number(helper.exitCode()) + ", END " + end + context).constData());

    // Every expected value, and nothing unchecked.
    QByteArrayList mismatches;
    QSet<QByteArray> seen;
    for (const QByteArray &e : std::as_const(expected)) {
        const qsizetype space = e.indexOf(' ');
        const QByteArray key = e.left(space);
        const QByteArray want = e.mid(space + 1);
        seen.insert(key);
        const QByteArrayList got = values.value(key);
        if (got.isEmpty())
            mismatches << key + ": missing (expected '" + want + "')";
        else if (got.size() > 1)
            mismatches << key + ": printed " + QByteArray::number(got.size()) + " times";
        else if (got.first() != want)
            mismatches << key + ": got '" + got.first() + "', expected '" + want + "'";
    }
    for (auto it = values.cbegin(); it != values.cend(); ++it) {
        if (!seen.contains(it.key()))
            mismatches << it.key() + ": printed but not checked ('" + it.value().join('|') + "')";
    }
    QVERIFY2(mismatches.isEmpty(), QByteArray(mismatches.join('\n') + context).constData());

    // The socket file and its private directory are gone.
    QVERIFY2(ipcUrl.startsWith("unix://"), QByteArray("no IPC line" + context).constData());
    const QString socketPath = QString::fromLocal8Bit(ipcUrl.mid(7));
    QVERIFY2(!QFileInfo::exists(socketPath), qPrintable(socketPath));
    const QString dir = QFileInfo(socketPath).absolutePath();
    if (QFileInfo(dir).fileName().startsWith(u"plexus-"_s))
        QVERIFY2(!QFileInfo::exists(dir), qPrintable(dir));
}

// 12. A Node with zero workers in an ordinary QCoreApplication (this test's), no exec().
void tst_Calls::inProcessNode()
{
    QString socketPath;
    {
        Plexus::Node node;
        QCOMPARE(Plexus::Node::instance(), &node);
        QCOMPARE(node.role(), Plexus::Node::Master);
        QCOMPARE(node.pid(), qint64(::getpid()));
        QCOMPARE(node.workerSlot(), -1);
        QSignalSpy ready(&node, &Plexus::Node::workersReady);
        QVERIFY2(node.start(), qPrintable(node.errorString()));
        QVERIFY(node.isRunning());
        QVERIFY(!node.start());
        QCOMPARE(node.error(), Plexus::Node::AlreadyStartedError);
        QTRY_COMPARE(ready.count(), 1);
        QVERIFY(node.workers().isEmpty());

        QVERIFY(node.ipcUrl().startsWith(u"unix://"_s));
        socketPath = node.ipcUrl().mid(7);
        struct stat st{};
        QCOMPARE(::stat(QFile::encodeName(socketPath).constData(), &st), 0);
        QVERIFY(S_ISSOCK(st.st_mode));
        QCOMPARE(st.st_mode & 0777, mode_t(0600));

        // Reply object: deferred, two replies, finished once.
        s_inProcessRuns = 0;
        Plexus::Reply *reply = Plexus::call({.call = inProcessHandler, .data = "ping", .reply = true});
        QVERIFY(reply);
        reply->setAutoDelete(false);
        QVERIFY(!reply->isFinished());
        QCOMPARE(s_inProcessRuns, 0);
        QCOMPARE(reply->thread(), node.thread());
        QSignalSpy finished(reply, &Plexus::Reply::finished);
        QSignalSpy received(reply, &Plexus::Reply::replyReceived);
        QSignalSpy errors(reply, &Plexus::Reply::errorOccurred);
        QVERIFY(finished.wait(5000));
        QCOMPARE(finished.count(), 1);
        QCOMPARE(s_inProcessRuns, 1);
        QCOMPARE(received.count(), 2);
        const auto first = received.at(0).at(0).value<Plexus::Message>();
        const auto last = received.at(1).at(0).value<Plexus::Message>();
        QCOMPARE(first.data(), "pong-1");
        QVERIFY(first.isReply() && !first.isDone());
        QCOMPARE(last.data(), "pong-2");
        QVERIFY(last.isReply() && last.isDone() && !last.isError());
        QCOMPARE(last.sender().pid(), qint64(::getpid()));
        QCOMPARE(reply->error(), Plexus::Reply::NoError);
        QCOMPARE(reply->expectedReplies(), 1);
        QCOMPARE(reply->receivedReplies(), 2);
        QCOMPARE(reply->finishedTargets(), 1);
        QVERIFY(reply->isFinished());
        QCOMPARE(errors.count(), 0);
        delete reply;

        // An auto-deleting Reply goes away after finished().
        QPointer<Plexus::Reply> autoDeleted = Plexus::call({.call = inProcessHandler, .reply = true});
        QVERIFY(autoDeleted);
        QVERIFY(autoDeleted->autoDelete());
        QTRY_VERIFY(autoDeleted.isNull());
        QCOMPARE(s_inProcessRuns, 2);

        // Fast path.
        Plexus::call({.call = inProcessHandler, .onReply = inProcessOnReply,
                      .onDone = inProcessOnDone, .data = "fast"});
        QCOMPARE(s_inProcessDones, 0);
        QTRY_COMPARE(s_inProcessDones, 1);
        QCOMPARE(s_inProcessReplies, 1);
        QCOMPARE(s_inProcessFinal, "pong-2");

        // local() with no workers: this process only.
        Plexus::Reply *local = Plexus::local({.call = inProcessHandler, .reply = true});
        QSignalSpy localFinished(local, &Plexus::Reply::finished);
        QVERIFY(localFinished.wait(5000));
        QCOMPARE(local->expectedReplies(), 1);
        QCOMPARE(local->receivedReplies(), 2);

        // No target: refused, but still finished from the event loop.
        Plexus::Reply *invalid = Plexus::call({.reply = true});
        QVERIFY(invalid);
        QVERIFY(!invalid->isFinished());
        QSignalSpy invalidFinished(invalid, &Plexus::Reply::finished);
        QVERIFY(invalidFinished.wait(5000));
        QCOMPARE(invalid->error(), Plexus::Reply::InvalidArgumentsError);
    }
    QCOMPARE(Plexus::Node::instance(), nullptr);
    QVERIFY2(!QFileInfo::exists(socketPath), qPrintable(socketPath));
    QVERIFY(!QFileInfo::exists(QFileInfo(socketPath).absolutePath()));

    // Without a Node: NotRunningError, asynchronously.
    Plexus::Reply *orphan = Plexus::call({.call = inProcessHandler, .reply = true});
    QVERIFY(orphan);
    QVERIFY(!orphan->isFinished());
    QSignalSpy orphanFinished(orphan, &Plexus::Reply::finished);
    QVERIFY(orphanFinished.wait(5000));
    QCOMPARE(orphan->error(), Plexus::Reply::NotRunningError);
}

QTEST_GUILESS_MAIN(tst_Calls)
#include "tst_calls.moc"
