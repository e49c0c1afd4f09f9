// SPDX-License-Identifier: MIT
#pragma once

#include "dispatcher_p.h"
#include "link_p.h"
#include "message_p.h"
#include "pendingcalls_p.h"
#include "threadsync_p.h"

#include <plexus/callargs.h>
#include <plexus/reply.h>

#include <QtCore/qhash.h>
#include <QtCore/qobject.h>
#include <QtCore/qpointer.h>
#include <QtCore/qvarlengtharray.h>

QT_BEGIN_NAMESPACE
class QTimer;
QT_END_NAMESPACE

namespace Plexus {

class Stats;
struct Endpoint;

// What the router shows every message to while someone traces (introspection's Tracer):
// on the Node's thread, one pointer test per message when nobody does.
class TraceHook
{
public:
    virtual void received(const MessagePrivate &m) = 0;
    virtual void sent(const MessagePrivate &m, const Endpoint *to) = 0;

protected:
    ~TraceHook() = default;
};

/*
    A process this one can send to: itself (loopback), its master (on a worker), one worker
    slot (on a master), both over a Link; or the master of another machine (on a master or
    a monitor in a cluster), reached through the cluster transport (RemoteMachines), which
    the endpoint does not know. An endpoint exists before its process has connected: traffic
    for a worker that is starting is held and written once it connects, so that onStart on
    any process can talk to every process. Its Route tells received messages whether they
    can still be answered.
*/
struct Endpoint
{
    enum class Kind : quint8 { Loopback, Master, Worker, Machine };
    enum class State : quint8 { Starting, Connected };

    quint32 id = 0;
    Kind kind = Kind::Worker;
    State state = State::Starting;
    bool isExec = false;      // an exec'd program: op-codes only
    bool isMonitor = false;   // Machine: a monitor (role Peer), never a cluster target
    bool stalled = false;     // did not connect within the start timeout (or a machine
                              // endpoint replaced by a newer link): nothing is held
    int slot = -1;
    qint64 pid = 0;
    quint64 machine = 0;      // Machine: its machine id
    qint64 startedAt = 0;     // monotonic ms
    Link *link = nullptr;     // while Connected (not for Machine: the transport reaches it)
    QPointer<Link> connecting;   // a link of ours that is still in its handshake (worker)
    RouteRef route;
    QList<QExplicitlySharedDataPointer<MessagePrivate>> held;
    qsizetype heldBytes = 0;
};

/*
    How routing reaches other machines. The router addresses the master of another machine
    by its machine id and knows nothing of how a message travels there: one stream per
    machine for the mesh, subjects on a broker. A cluster transport implements it and tells
    the router which machines it can reach (Router::machineConnected() and friends);
    docs/CLUSTER.md, "Writing a transport". On the Node's thread.
*/
class RemoteMachines
{
public:
    enum class Sent { Ok, Backpressure, Lost };
    // One message to the master of \a machine.
    virtual Sent sendToMachine(quint64 machine, MessagePrivate *m) = 0;
    // One message to the masters of all \a machines (cluster() and broadcast()): the mesh
    // writes a copy on each link, a broker publishes it once. The machines it could not go
    // to are appended to *full (backpressure) and *lost.
    virtual void sendToMachines(MessagePrivate *m, const QList<quint64> &machines,
                                QList<quint64> *full, QList<quint64> *lost) = 0;
    // \a machine sent something it must not (a function pointer): report it as a
    // rejection (counted, logged, signalled).
    virtual void refuse(quint64 machine, FrameError reason) = 0;
    // Bytes waiting to go to \a machine (a monitor's trace is dropped past a bound).
    virtual qsizetype queuedBytes(quint64 machine) const = 0;
    // The longest payload the engine carries to another machine (a broker's message size
    // limit, less the envelope); a longer message fails there with MessageTooLongError.
    virtual qsizetype maxPayloadLength() const { return maxMessageLength(); }
    // Sends what the engine holds back (an engine that packs the messages of one batch of
    // work together calls Router::remoteWritten() when it holds some).
    virtual void flush() { }

protected:
    ~RemoteMachines() = default;
    // sendToMachines() as one sendToMachine() per machine, sorted into *full and *lost.
    void sendToEach(MessagePrivate *m, const QList<quint64> &machines, QList<quint64> *full,
                    QList<quint64> *lost)
    {
        for (quint64 machine : machines) {
            switch (sendToMachine(machine, m)) {
            case Sent::Ok:
                break;
            case Sent::Backpressure:
                full->append(machine);
                break;
            case Sent::Lost:
                lost->append(machine);
                break;
            }
        }
    }
};

// What the router needs of the Node it serves.
class RouterHost
{
public:
    virtual ~RouterHost() = default;
    // A Hello arrived on a local \a link: the endpoint it becomes (0 to refuse, with *error).
    virtual quint32 admit(Link *link, const PeerIdentity &peer, FrameError *error) = 0;
    virtual void endpointConnected(Endpoint *endpoint) = 0;
    // The link of \a endpoint closed; the router has failed what waited on it and forgets
    // the endpoint when this returns.
    virtual void endpointLost(Endpoint *endpoint, const PeerIdentity &peer) = 0;
    // A link closed before it was admitted (handshake failed, refused, timed out).
    virtual void unadmittedLinkClosed(Link *link) = 0;
    virtual void controlReceived(Endpoint *endpoint, MessagePrivate *message) = 0;
    virtual void securityEvent(Link *link, FrameError reason) = 0;
    virtual WorkerInfo workerAt(quint32 endpoint) const = 0;
    virtual bool dispatchReserved(const Message &request) = 0;
    virtual bool inCluster() const = 0;
};

/*
    The router of one process: routing only. It moves messages between threads (the verbs
    may run on any thread), chooses targets, relays a worker's fan-out, holds traffic for
    endpoints that are starting, corks writes into one record per link per batch, and
    applies backpressure. Calls waiting for replies are PendingCalls'; running handlers is
    the Dispatcher's. How a call travels is described in docs/ARCHITECTURE.md.
*/
class Router : public QObject, public LinkHandler, public CallRelay, public DispatchContext
{
    Q_OBJECT
public:
    static constexpr quint32 LoopbackEndpoint = 1;
    // Past the high-water mark a send from the Node's thread waits until the queue is down
    // to half of it; past HardLimitFactor times it, or from a nested send, it fails.
    static constexpr qsizetype DefaultHighWater = qsizetype(4) << 20;
    static constexpr int HardLimitFactor = 8;
    static constexpr int BackpressureTimeoutMs = 30000;
    static constexpr int DefaultStartTimeoutMs = 10000;

    Router(RouterHost *host, Stats *stats, bool isWorker, QObject *parent = nullptr);
    ~Router() override;

    // The router of the running Node, which the verbs submit to (any thread), or nullptr.
    // Set by the Node while it runs; it also installs the automatic final reply hook.
    static Router *current() noexcept;
    static void setCurrent(Router *router) noexcept;

    PendingCalls &calls() noexcept { return m_calls; }
    Dispatcher &dispatcher() noexcept { return m_dispatcher; }

    // ---- any thread -------------------------------------------------------------------
    // Routes an authored request; returns its Reply when one was asked for.
    Reply *submit(MessagePrivate *message, const Sender *only = nullptr);
    bool submitReply(const Message &request, const ReplyArgs &args);
    void submitAutomaticReply(MessagePrivate &request);
    // A Melon typed message to the endpoint of worker \a pid, or to the master (pid 0).
    bool submitTyped(qint64 pid, quint32 type, const Payload &payload);
    // A Reply (or onDone message) that failed before routing; never finishes synchronously.
    // \a why names the rule that was broken; it is logged only when nothing else will tell
    // the caller (no Reply, no onDone): one channel per error.
    static Reply *failedReply(Router *router, Reply::Error error, const CallArgs &args,
                              const QString &why = QString());

    // ---- Node thread ------------------------------------------------------------------
    Endpoint *createEndpoint(Endpoint::Kind kind, int slot, bool isExec);
    Endpoint *endpoint(quint32 id) const { return m_endpoints.value(id); }
    Endpoint *endpointForPid(qint64 pid) const;
    // The live link to the master (or monitor) of machine \a machine, or nullptr.
    Endpoint *machineEndpoint(quint64 machine) const;
    Endpoint *masterEndpoint() const { return m_master; }
    // Forgets \a endpoint: calls waiting on it and its held traffic fail with \a error.
    void removeEndpoint(quint32 id, Reply::Error error);
    // Takes a new local link (its handler is this router); it joins an endpoint when
    // admitted.
    void addLink(Link *link);

    // ---- cluster transports (Node thread) ---------------------------------------------
    void setRemoteMachines(RemoteMachines *transport) { m_remote = transport; }
    // \a machine can be reached from now on: the endpoint that routing uses for it.
    // The cluster engine holds messages back until flush(): they leave with the batch of
    // work that wrote them (as a link's writes do), or at once outside of one.
    void remoteWritten();
    quint32 machineConnected(quint64 machine, bool isMonitor);
    // The endpoint \a endpoint no longer reaches its machine: what waits on it fails with
    // TargetLostError. A machine that is reached another way (a new link replacing an old
    // one) gets a new endpoint first.
    void machineLost(quint32 endpoint);
    // An authenticated message from the machine of \a endpoint. Takes the reference.
    void machineMessage(quint32 endpoint, MessagePrivate *m);
    // Writes \a m on \a link under the router's backpressure policy (the high-water mark:
    // wait, reading meanwhile, or fail); false if it was not written. Every link, the
    // cluster's included, writes through it.
    bool writeToLink(Link *link, MessagePrivate *m);
    QList<Link *> links() const { return m_links; }
    // Bytes waiting to go to \a endpoint, whatever carries them.
    qsizetype queuedBytes(const Endpoint *endpoint) const;
    void sendControl(Endpoint *endpoint, quint32 code, QByteArrayView payload);
    void setStartTimeout(int ms) { m_startTimeoutMs = ms; }
    void setHighWaterMark(qsizetype bytes) { m_highWater = bytes; }
    // While set, every message received from a link or written by this process is shown
    // to \a hook (the monitor's trace); nullptr when nobody subscribes.
    void setTraceHook(TraceHook *hook) noexcept { m_traceHook = hook; }
    qsizetype highWaterMark() const noexcept { return m_highWater; }

    // While a Cork lives, writes are only queued; the last one to go flushes every link
    // written meanwhile. A write outside any cork goes out at once and corks the rest of
    // that event-loop pass, so a loop of sends becomes one record per link.
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

    // LinkHandler
    FrameError linkHello(Link *link, const PeerIdentity &peer) override;
    void linkEstablished(Link *link) override;
    void linkFrame(Link *link, MessagePrivate *frame) override;
    void linkRejected(Link *link, FrameError reason) override;
    void linkClosed(Link *link) override;
    void linkWritten(Link *link) override;
    void linkReading(Link *link, bool begin) override;
    bool linkMayReadWhileWaiting(Link *link) override;

    // CallRelay
    void relayReply(quint32 endpoint, quint64 token, int total, bool final,
                    MessagePrivate *reply) override;
    void relayError(quint32 endpoint, quint64 token, int total, bool final, quint16 userFlags,
                    Reply::Error error, int count) override;
    void cancelTarget(quint32 endpoint, quint64 token) override;

    // DispatchContext
    bool isWorker() const override { return m_isWorker; }
    WorkerInfo workerAt(quint32 endpoint) const override { return m_host->workerAt(endpoint); }
    void replyError(MessagePrivate *request, Reply::Error error) override;
    bool dispatchReserved(const Message &request) override { return m_host->dispatchReserved(request); }

private:
    struct Job {
        QExplicitlySharedDataPointer<MessagePrivate> message;
        ReplyLink reply;
        quint32 endpoint = 0;     // replies and typed messages
        qint64 pid = 0;           // sendTo / typed to a worker
        quint64 machine = 0;      // sendTo another machine's master
        bool hasOnly = false;
    };
    enum class Sent { Ok, Held, Backpressure, Lost };

    void enqueue(Job &&job);
    void drainJobs();
    void runJob(Job &job);
    void route(MessagePrivate *m, const ReplyLink &reply, const Sender *only);
    void routeReply(MessagePrivate *reply, quint32 endpoint);
    Sent sendToEndpoint(Endpoint *e, MessagePrivate *m);
    // The targets a message could not reach, by why.
    struct SendFailures
    {
        QVarLengthArray<quint32, 4> full;      // BackpressureError
        QVarLengthArray<quint32, 4> lost;      // TargetLostError
        QVarLengthArray<quint32, 4> tooLong;   // MessageTooLongError (the engine's limit)
    };
    // Sends \a m to every target; those it could not reach go to *failed.
    void sendToAll(MessagePrivate *m, const QVarLengthArray<Endpoint *, 8> &targets,
                   SendFailures *failed);
    // Fails the parts of call \a token that \a failed names (now, or from the event loop).
    void failParts(quint64 token, const SendFailures &failed, bool later);
    // Stats and trace of a message that went to \a to.
    void accountSent(const MessagePrivate &m, const Endpoint *to);
    void receive(MessagePrivate *m, Endpoint *from);
    // \a from sent what it must not: reported (counted, logged, signalled); the link stays.
    void refuse(Endpoint *from, FrameError reason);
    // \a from cancelled its call \a token (a Cancel frame).
    void receiveCancel(Endpoint *from, quint64 token);
    void deliverLocally(MessagePrivate *m);
    void drainLoopback();
    void deliverRequest(MessagePrivate *m, Endpoint *from);
    void relay(MessagePrivate *m, Endpoint *origin);
    void drainDeferred();
    void uncork();
    void endpointsChanged() noexcept { m_targetsValid = false; }
    const QList<Endpoint *> &workerTargets(bool functionPointer);
    const QList<Endpoint *> &machineTargets();
    void checkStartDeadlines();
    void failHeld(Endpoint *e, Reply::Error error);

    RouterHost *m_host;
    RemoteMachines *m_remote = nullptr;
    Stats *m_stats;
    const bool m_isWorker;
    PendingCalls m_calls;
    Dispatcher m_dispatcher;
    qsizetype m_highWater = DefaultHighWater;
    TraceHook *m_traceHook = nullptr;
    int m_startTimeoutMs = DefaultStartTimeoutMs;

    QHash<quint32, Endpoint *> m_endpoints;
    Endpoint m_loopback;
    Endpoint *m_master = nullptr;
    quint32 m_nextEndpoint = 16;
    bool m_targetsValid = false;
    QList<Endpoint *> m_targetCache[2];   // worker endpoints: [0] all, [1] forked only
    QList<Endpoint *> m_machineCache;     // one machine endpoint per remote machine
    QList<Link *> m_links;
    QTimer *m_startTimer = nullptr;

    Mutex m_jobLock;
    QList<Job> m_jobs;
    bool m_jobsPosted = false;

    QList<QExplicitlySharedDataPointer<MessagePrivate>> m_loopbackQueue;
    bool m_loopbackPosted = false;

    int m_cork = 0;
    bool m_remoteDirty = false;   // the cluster engine holds messages (remoteWritten())
    QList<QPointer<Link>> m_dirty;

    // While a send waits for a link to drain, replies are handled as they arrive but
    // requests wait here, so no handler runs inside the caller's send.
    int m_waitingForDrain = 0;
    struct Deferred {
        QExplicitlySharedDataPointer<MessagePrivate> message;
        quint32 endpoint;
    };
    QList<Deferred> m_deferred;
    qsizetype m_deferredBytes = 0;
};

} // namespace Plexus
