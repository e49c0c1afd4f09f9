// SPDX-License-Identifier: MIT
#pragma once

#include "frame_p.h"
#include "message_p.h"

#include <plexus/callargs.h>
#include <plexus/reply.h>

#include <QtCore/qhash.h>
#include <QtCore/qmutex.h>
#include <QtCore/qobject.h>
#include <QtCore/qpointer.h>
#include <QtCore/qvarlengtharray.h>

#include <map>
#include <unordered_map>

QT_BEGIN_NAMESPACE
class QTimer;
QT_END_NAMESPACE

namespace Plexus {

class Link;
class Node;
class NodePrivate;

/*
    The router of one process: authors and routes outgoing messages, dispatches incoming
    ones, and tracks the calls that wait for replies.

    Every public verb (calls.cpp) may run on any thread: it authors the message there (the
    payload is copied synchronously) and hands it to submit(), which runs route() at once
    on the Node's thread or queues it there. Everything below submit() runs on the Node's
    thread only.

    How a call travels is described in docs/ARCHITECTURE.md.
*/
class Router : public QObject
{
    Q_OBJECT
public:
    static constexpr quint64 LoopbackLinkId = 1;

    Router(Node *node, NodePrivate *nodePrivate);
    ~Router() override;

    // The router of this process, or nullptr (thread-safe).
    static Router *current() noexcept;

    // ---- any thread -------------------------------------------------------------------
    // Authors a request. On failure returns nullptr and sets *error.
    static MessagePrivate *author(const CallArgs &args, quint16 routingFlags, Reply::Error *error);
    Reply *submit(MessagePrivate *message, const Sender *only = nullptr);
    bool submitReply(const Message &request, const ReplyArgs &args);
    bool submitTyped(quint64 linkId, qint64 pid, quint32 type, const Payload &payload);
    static void sendAutomaticFinalReply(MessagePrivate &request);
    // A Reply already failed before routing (never finishes synchronously).
    static Reply *failedReply(Reply::Error error, const CallArgs &args);

    // ---- Node thread ------------------------------------------------------------------
    void addLink(Link *link);
    void frameReceived(Link *link, QByteArray &&sealed);
    void linkRejected(Link *link, FrameError error);
    void linkClosed(Link *link);
    void linkDrained(Link *link);
    // A link was added, established or closed: the cached target lists are stale.
    void linksChanged() noexcept { m_targetsValid = false; }
    // A link queued bytes: flush it now, or when the current batch ends (cork).
    void linkWritten(Link *link);

    // While a Cork lives, writes are only queued; the last one to go flushes every link
    // written meanwhile. A write outside any cork goes out at once and corks the rest of
    // that event-loop pass, so a loop of sends becomes one write per link.
    class Cork
    {
    public:
        explicit Cork(Router *r) : m_router(r) { ++m_router->m_cork; }
        ~Cork() { m_router->uncork(); }
        Cork(const Cork &) = delete;
        Cork &operator=(const Cork &) = delete;
    private:
        Router *m_router;
    };
    Link *masterLink() const noexcept { return m_masterLink; }
    Link *linkForPid(qint64 pid) const;
    QList<Link *> links() const;
    void sendControl(Link *link, quint32 code, const QByteArray &data);

    void abortCall(quint64 token);
    // Deletes \a reply from the event loop, like QObject::deleteLater(), but with one
    // posted event for every Reply that finished in the same pass instead of one each.
    void deleteLater(Reply *reply);
    void setCallTimeout(quint64 token, int msec);

    const CryptoKey &key() const noexcept { return m_key; }
    void setKey(const CryptoKey &key) { m_key = key; }
    qsizetype highWaterMark() const noexcept { return m_highWater; }
    // Past the high-water mark a send from the Node's thread waits until the queue is down
    // to half of it; past HardLimitFactor times it, or from a nested send, it fails.
    static constexpr qsizetype DefaultHighWater = qsizetype(4) << 20;
    static constexpr int HardLimitFactor = 8;
    static constexpr int BackpressureTimeoutMs = 30000;

private:
    struct Target {
        quint64 linkId;
        qint32 expected;    // final replies awaited from this link (fan-out via master: N)
        qint32 done : 31;
        bool expectedKnown : 1;
    };
    struct PendingCall {
        Handler onReply = nullptr;
        Handler onDone = nullptr;
        void *udata = nullptr;
        quint64 target = 0;
        quint16 requestFlags = 0;
        QPointer<Reply> reply;
        QVarLengthArray<Target, 1> targets;   // most calls have one target
        int received = 0;
        Reply::Error error = Reply::NoError;
        // Forwarding entry: the master relays replies of a worker's fan-out to it.
        quint64 originLinkId = 0;
        quint64 originToken = 0;
        qint64 deadline = 0;
    };
    struct Job {
        QExplicitlySharedDataPointer<MessagePrivate> message;
        QPointer<Reply> reply;
        quint64 linkId = 0;       // for replies / typed sends
        qint64 pid = 0;           // sendTo
        bool hasOnly = false;
    };

    void enqueue(Job &&job);
    void drainJobs();
    void runJob(Job &job);
    void route(MessagePrivate *m, Reply *reply, const Sender *only);
    void routeReply(MessagePrivate *reply, quint64 linkId);
    bool sendFrameTo(Link *link, Frame &frame);
    void failTargetsLater(quint64 token, const QVarLengthArray<quint64, 4> &linkIds,
                          Reply::Error error);
    void deliverLocally(MessagePrivate *m);
    void drainLoopback();
    void dispatchRequest(MessagePrivate *m, Link *link);
    void handleReply(MessagePrivate *m, Link *link);
    void handleControl(MessagePrivate *m, Link *link);
    void fanOutForWorker(MessagePrivate *m, Link *origin);
    void failTargets(quint64 linkId);
    void targetFinished(std::unordered_map<quint64, PendingCall>::iterator it, quint64 linkId,
                        MessagePrivate *finalReply);
    void finishCall(std::unordered_map<quint64, PendingCall>::iterator it, MessagePrivate *last);
    void replyError(MessagePrivate *request, Reply::Error error);
    void forwardError(const PendingCall &call, Reply::Error error, int count);
    void securityEvent(Link *link, FrameError error);
    void armTimer();
    void onTimer();
    Link *linkById(quint64 id) const;
    QList<Link *> localTargets(bool functionPointer, quint64 excludeLinkId);
    bool m_targetsValid = false;
    QList<Link *> m_targetCache[2];   // established worker links: [0] all, [1] forked only
    static MessagePrivate *makeErrorMessage(const PendingCall &call, Reply::Error error);

    Node *m_node;
    NodePrivate *m_nodePrivate;
    CryptoKey m_key;
    qsizetype m_highWater;
    QHash<quint64, Link *> m_links;
    Link *m_masterLink = nullptr;
    std::unordered_map<quint64, PendingCall> m_pending;
    quint64 m_nextToken = 1;
    std::multimap<qint64, quint64> m_deadlines;
    QTimer *m_timer = nullptr;

    QMutex m_jobLock;
    QList<Job> m_jobs;
    bool m_jobsPosted = false;

    QList<QExplicitlySharedDataPointer<MessagePrivate>> m_loopback;
    bool m_loopbackPosted = false;

    void uncork();
    void deleteFinishedReplies();
    QList<QPointer<Reply>> m_finishedReplies;
    int m_cork = 0;
    QList<QPointer<Link>> m_dirty;

    // While a send waits for a link to drain, replies are handled as they arrive but
    // requests wait here, so no handler runs inside the caller's send.
    int m_waitingForDrain = 0;
    QList<QExplicitlySharedDataPointer<MessagePrivate>> m_deferred;
    qsizetype m_deferredBytes = 0;
    void drainDeferred();

public:
    // Whether a link that waits for its queue to drain may read more: not while the
    // requests deferred meanwhile already hold a high-water mark's worth of bytes.
    bool mayReadWhileWaiting() const noexcept { return m_deferredBytes < m_highWater; }
};

} // namespace Plexus
