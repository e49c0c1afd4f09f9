// SPDX-License-Identifier: MIT
#pragma once

#include "message_p.h"
#include "reply_p.h"

#include <QtCore/qobject.h>
#include <QtCore/qvarlengtharray.h>

#include <map>
#include <memory>
#include <deque>
#include <vector>

QT_BEGIN_NAMESPACE
class QTimer;
QT_END_NAMESPACE

namespace Plexus {

class Stats;

// What a master relaying a worker's fan-out sends back to that worker.
class CallRelay
{
public:
    virtual ~CallRelay() = default;
    // Forwards \a reply from a target to the caller at \a endpoint, under the caller's
    // \a token, with \a total the number of final replies it must expect; \a final is
    // false while that total may still grow (machines that have not said their fan-out).
    virtual void relayReply(quint32 endpoint, quint64 token, int total, bool final,
                            MessagePrivate *reply) = 0;
    // Tells that caller that \a count targets failed with \a error.
    virtual void relayError(quint32 endpoint, quint64 token, int total, bool final,
                            quint16 userFlags, Reply::Error error, int count) = 0;
    // Tells the target at \a endpoint that call \a token was given up (a Cancel frame).
    virtual void cancelTarget(quint32 endpoint, quint64 token) = 0;
};

/*
    The calls of this process that wait for replies (the call/target table). A call is
    opened with its callbacks or its Reply, gets one Target per endpoint it was sent to,
    and ends when every target has sent its final reply or failed (endpoint lost, timeout,
    backpressure, abort). The only code that changes a Reply's state lives here
    (ReplyPrivate::apply); a Reply in another thread gets its updates as events.

    Tokens name calls on the wire: the low 32 bits are a slot index + 1, the high 32 bits
    a generation, so a reply for a call that ended (late) never matches a newer one.
    Node thread only; a Reply in another thread talks to it through a ReplyChannel.
*/
class PendingCalls : public QObject
{
    Q_OBJECT
public:
    // A call to open: the caller's context (from its request) and what routing decided.
    struct Spec : CallerContext {
        quint64 target = 0;           // for synthetic final messages
        quint16 userFlags = 0;
        ReplyLink reply;   // optional
    };

    PendingCalls(Stats *stats, CallRelay *relay, QObject *parent = nullptr);
    ~PendingCalls() override;

    // A call made by this process; returns its token (never 0).
    quint64 open(const Spec &spec);
    // A master relaying a worker's fan-out: replies go back to \a originEndpoint.
    quint64 openRelay(quint32 originEndpoint, quint64 originToken, quint16 userFlags);
    // \a expected final replies will come from \a endpoint; \a known = false while a
    // master has not yet said how many targets its fan-out has.
    void addTarget(quint64 token, quint32 endpoint, int expected = 1, bool known = true);
    // The total of final replies expected, as known so far.
    int expectedTotal(quint64 token) const;

    // A reply arrived from \a endpoint. Runs onReply/onDone or updates the Reply; counts
    // a reply that matches no call (or no target of it) as late.
    void handleReply(MessagePrivate *reply, quint32 endpoint);
    // The caller at \a originEndpoint cancelled its call \a originToken, which this master
    // relays: its targets are told, and the relay ends. False if no such relay runs.
    bool cancelRelay(quint32 originEndpoint, quint64 originToken);
    // The targets at \a endpoints of call \a token failed; finishes the call if it was the
    // last. Never call it from inside the call that opened \a token: use failLater().
    void fail(quint64 token, const QVarLengthArray<quint32, 4> &endpoints, Reply::Error error);
    void failLater(quint64 token, const QVarLengthArray<quint32, 4> &endpoints, Reply::Error error);
    // Every call waiting on \a endpoint loses that target; relay entries for a caller at
    // \a endpoint are dropped.
    void failEndpoint(quint32 endpoint, Reply::Error error);
    // Finishes \a token from the event loop (no targets, or a routing error).
    void finishLater(quint64 token, Reply::Error error);
    void abort(quint64 token);
    void setTimeout(quint64 token, int msec);

    // Deletes \a reply once control has returned to the event loop, like
    // QObject::deleteLater(), but with one posted event for every Reply that finished in
    // the same pass instead of one each; see sweepFinished().
    void deleteReplyLater(Reply *reply);
    // Before a Reply is made in this thread: deletes one whose deletion is due.
    void reuseFinished();
    // \a reply, at \a index of the batch, is deleted before the batch runs.
    void forgetReply(Reply *reply, qsizetype index);

    bool contains(quint64 token) const { return find(token) != nullptr; }
    int count() const noexcept { return m_live; }

private:
    struct Target {
        quint32 endpoint;
        qint32 expected;
        qint32 done;
        bool known;
    };
    // The one record of a call while it runs. A Reply in another thread keeps its own
    // view (ReplyPrivate's counts), changed only by the updates sent from here, so that
    // what it reads matches the signals it has delivered.
    struct Call : CallerContext {
        quint64 target = 0;
        ReplyLink reply;
        QVarLengthArray<Target, 1> targets;
        int received = 0;
        Reply::Error error = Reply::NoError;
        quint16 userFlags = 0;
        quint32 originEndpoint = 0;   // relay entries only
        quint64 originToken = 0;
        qint64 deadline = 0;          // monotonic ms, 0 = none
    };
    struct Slot {
        Call call;
        quint32 generation = 1;
        bool used = false;
    };

    Call *find(quint64 token);
    const Call *find(quint64 token) const;
    quint64 allocate(Call **call);
    void release(quint64 token);
    static int total(const Call &c);
    static bool complete(const Call &c);
    static bool allKnown(const Call &c);
    static int finishedCount(const Call &c);
    // \a received: the Reply's update for \a finalReply, still to be sent (with the
    // finished count, and merged with the end of the call if this was the last reply).
    void targetDone(quint64 token, quint32 endpoint, MessagePrivate *finalReply,
                    ReplyUpdate *received = nullptr);
    // Tells every target of \a c that has not finished that call \a token was given up.
    void cancelTargets(const Call &c, quint64 token);
    void finish(quint64 token, MessagePrivate *last, ReplyUpdate *received = nullptr);
    void update(Call &c, ReplyUpdate &&u);
    // The Reply of \a c no longer reaches this call (it ended, or this object goes away).
    static void detachReply(Call &c);
    void deleteReplies(std::vector<Reply *> &list);
    void sweepFinished();
    void dropDeadline(quint64 token, qint64 deadline);
    void armTimer();
    void onTimer();

    Stats *m_stats;
    CallRelay *m_relay;
    std::deque<Slot> m_slots;   // chunked: grows without copying or doubling
    std::vector<quint32> m_free;
    int m_live = 0;
    std::multimap<qint64, quint64> m_deadlines;
    QTimer *m_timer = nullptr;
    // Auto-deleting Replies that finished in this pass, those whose deletion is due, and
    // those being deleted. They keep their capacity: growing a list from empty in every
    // pass made glibc consolidate its free lists each time.
    std::vector<Reply *> m_finishedReplies;
    std::vector<Reply *> m_expired;
    std::vector<Reply *> m_deleting;
    bool m_sweepPosted = false;
};

} // namespace Plexus
