// SPDX-License-Identifier: MIT
#include "router_p.h"
#include "authoring_p.h"
#include "logging_p.h"
#include "stats_p.h"

#include <QtCore/qcoreapplication.h>
#include <QtCore/qmetaobject.h>
#include <QtCore/qthread.h>
#include <QtCore/qtimer.h>

namespace Plexus {

namespace {
std::atomic<bool> g_warnedNotRequest{false};
std::atomic<Router *> g_current{nullptr};

void sendAutomaticFinalReply(MessagePrivate &request)
{
    if (Router *router = Router::current())
        router->submitAutomaticReply(request);
}
} // namespace

Router *Router::current() noexcept
{
    return g_current.load(std::memory_order_acquire);
}

void Router::setCurrent(Router *router) noexcept
{
    g_current.store(router, std::memory_order_release);
    setAutomaticReplyHook(router ? &sendAutomaticFinalReply : nullptr);
}

Router::Router(RouterHost *host, Stats *stats, bool isWorker, QObject *parent)
    : QObject(parent),
      m_host(host),
      m_stats(stats),
      m_isWorker(isWorker),
      m_calls(stats, this, this),
      m_dispatcher(this, stats)
{
    m_loopback.id = LoopbackEndpoint;
    m_loopback.kind = Endpoint::Kind::Loopback;
    m_loopback.state = Endpoint::State::Connected;
    m_loopback.route = RouteRef(new Route(LoopbackEndpoint));
    m_startTimer = new QTimer(this);
    m_startTimer->setInterval(250);
    connect(m_startTimer, &QTimer::timeout, this, &Router::checkStartDeadlines);
}

Router::~Router()
{
    for (Endpoint *e : std::as_const(m_endpoints)) {
        e->route->open.store(false, std::memory_order_release);
        delete e;
    }
    m_endpoints.clear();
    m_loopback.route->open.store(false, std::memory_order_release);
}

// ---------------------------------------------------------------------------------------
// Submitting (any thread)

Reply *Router::submit(MessagePrivate *message, const Sender *only)
{
    QExplicitlySharedDataPointer<MessagePrivate> ref(message);
    const bool sameThread = QThread::currentThread() == thread();
    Reply *reply = nullptr;
    Job job;
    job.message = ref;
    if (message->wantReplyObject) {
        if (sameThread)
            m_calls.reuseFinished();   // the memory of a Reply whose deletion is due
        reply = ReplyPrivate::create(message->udata, message->timeout, sameThread);
        job.reply = ReplyPrivate::link(reply);
    }
    if (only) {
        job.hasOnly = true;
        job.pid = only->pid();
        job.machine = only->machineId();
    }
    if (sameThread)
        runJob(job);
    else
        enqueue(std::move(job));
    return reply;
}

Reply *Router::failedReply(Router *router, Reply::Error error, const CallArgs &args,
                           const QString &why)
{
    if (!args.reply && !args.onDone)
        qCWarning(lcIpc).noquote() << "call refused:" << (why.isEmpty() ? QString::fromLatin1(QMetaEnum::fromType<Reply::Error>().valueToKey(error)) : why);
    else
        qCDebug(lcIpc).noquote() << "call refused (reported to the caller):" << why << error;
    Reply *reply = nullptr;
    if (args.reply) {
        const bool sameThread = router && QThread::currentThread() == router->thread();
        reply = ReplyPrivate::create(args.udata, args.timeout, sameThread);
        ReplyPrivate::get(reply)->errorDetail = why;
        QPointer<Reply> r = reply;
        // Never finished from inside the call that made it.
        QMetaObject::invokeMethod(reply, [r, error] {
            if (!r)
                return;
            ReplyUpdate failed;
            failed.kind = ReplyUpdate::Failed;
            failed.error = error;
            ReplyPrivate::get(r)->apply(std::move(failed));
            ReplyUpdate done;
            done.kind = ReplyUpdate::Finished;
            ReplyPrivate::get(r)->apply(std::move(done));
        }, Qt::QueuedConnection);
    }
    QObject *context = router ? static_cast<QObject *>(router) : QCoreApplication::instance();
    if (args.onDone && context) {
        // The error reaches onDone from the event loop, as replies do.
        QExplicitlySharedDataPointer<MessagePrivate> m(Authoring::syntheticFinal(
                args.opcode ? args.opcode : quint64(quintptr(args.call)), args.flags, args.udata,
                error));
        const Handler onDone = args.onDone;
        invokeQueued(context, [m, onDone] {
            runUserCode("onDone", [&] { onDone(MessagePrivate::wrap(m.data())); });
        });
    }
    return reply;
}

bool Router::submitReply(const Message &request, const ReplyArgs &args)
{
    MessagePrivate *req = MessagePrivate::get(request);
    if (!req)
        return false;
    const quint16 pf = req->header.privateFlags;
    if ((pf & (Wire::WantReply | Wire::Reply)) != Wire::WantReply) {
        if (firstTime(g_warnedNotRequest))
            qCWarning(lcIpc) << "reply() to a message that is not a request waiting for replies"
                             << "(fire-and-forget, or a reply itself) is ignored";
        return false;
    }
    if (!req->route)
        return false;   // detached, or authored here and never received
    // Refuse before marking the final reply as sent: a refused final reply still leaves the
    // automatic empty one owed to the caller.
    if (const Reply::Error e = Authoring::checkPayload(args.data); e != Reply::NoError) {
        qCWarning(lcIpc) << "reply refused:" << e;
        return false;
    }
    if (args.done) {
        bool expected = false;
        if (!req->doneSent.compare_exchange_strong(expected, true))
            return false;
    } else if (req->doneSent.load(std::memory_order_acquire)) {
        return false;
    }
    if (!req->route->open.load(std::memory_order_acquire)) {
        Stats::bump(m_stats->process.droppedReplies);   // the caller went away
        return false;
    }
    if (req->route->isCanceled(req->header.token)) {
        req->doneSent.store(false, std::memory_order_release);   // the release counts it
        return false;   // the caller gave up: nothing goes out
    }
    if (args.done)
        req->route->forget(req->header.token);   // a cancel that comes too late finds nothing
    Job job;
    job.message.reset(Authoring::reply(*req, args, 0, 0));
    job.endpoint = req->route->endpoint;
    if (QThread::currentThread() == thread())
        runJob(job);
    else
        enqueue(std::move(job));
    return true;
}

void Router::submitAutomaticReply(MessagePrivate &request)
{
    request.doneSent.store(true, std::memory_order_release);
    if (request.route->isCanceled(request.header.token)) {
        // The handler let go of a request its caller cancelled: nothing is owed any more.
        request.route->forget(request.header.token);
        Stats::bump(m_stats->process.canceledCalls);
        return;
    }
    Job job;
    job.message.reset(Authoring::reply(request, ReplyArgs{.done = true}, 0, 0));
    job.endpoint = request.route->endpoint;
    if (QThread::currentThread() == thread())
        runJob(job);
    else
        enqueue(std::move(job));
}

bool Router::submitTyped(qint64 pid, quint32 type, const Payload &payload)
{
    if (Authoring::checkPayload(payload) != Reply::NoError)
        return false;
    Job job;
    job.message.reset(MessagePrivate::create(Authoring::header(Wire::Typed, type), payload));
    job.pid = pid;
    if (QThread::currentThread() == thread())
        runJob(job);
    else
        enqueue(std::move(job));
    return true;
}

void Router::enqueue(Job &&job)
{
    QMutexLocker locker(&m_jobLock);
    m_jobs.append(std::move(job));
    if (!m_jobsPosted) {
        m_jobsPosted = true;
        // Called from any thread (threadsync_p.h: the hand-off TSan must see).
        invokeQueued(this, [this] { drainJobs(); });
    }
}

void Router::drainJobs()
{
    QList<Job> jobs;
    {
        QMutexLocker locker(&m_jobLock);
        jobs.swap(m_jobs);
        m_jobsPosted = false;
    }
    const Cork cork(this);
    for (Job &job : jobs)
        runJob(job);
}

void Router::runJob(Job &job)
{
    MessagePrivate *m = job.message.data();
    const quint16 pf = m->header.privateFlags;
    if (pf & Wire::Reply) {
        routeReply(m, job.endpoint);
    } else if (pf & Wire::Typed) {
        Endpoint *e = job.pid ? endpointForPid(job.pid) : m_master;
        const Sent sent = e ? sendToEndpoint(e, m) : Sent::Lost;
        if (sent != Sent::Ok && sent != Sent::Held)
            qCWarning(lcIpc) << "typed message" << m->header.target << "was not sent: no route";
    } else {
        const Sender only(job.machine, job.pid, -1);
        route(m, job.reply, job.hasOnly ? &only : nullptr);
    }
}

// ---------------------------------------------------------------------------------------
// Routing (Node thread)

void Router::route(MessagePrivate *m, const ReplyLink &reply,
                   const Sender *only)
{
    const quint16 pf = m->header.privateFlags;
    const bool functionPointer = !(pf & Wire::Opcode);
    const LocalIdentity self = localIdentity();

    bool toSelf = false;
    QVarLengthArray<Endpoint *, 8> remote;
    bool viaMaster = false;
    Reply::Error routeError = Reply::NoError;

    if (only) {
        if (only->machineId() && only->machineId() != self.machine && only->pid() == 0) {
            // "The master of that machine" (pid 0): over the cluster link.
            if (Endpoint *e = machineEndpoint(only->machineId()))
                remote.append(e);
            else
                routeError = m_host->inCluster() ? Reply::TargetLostError : Reply::NotInClusterError;
        } else if (only->machineId() && only->machineId() != self.machine) {
            routeError = Reply::TargetLostError;   // a process of another machine: no route
        } else if (only->pid() == qint64(self.pid))
            toSelf = true;
        else if (Endpoint *e = endpointForPid(only->pid())) {
            // An exec'd worker runs another image: a function pointer means nothing there.
            if (functionPointer && e->isExec)
                routeError = Reply::InvalidArgumentsError;
            else
                remote.append(e);
        } else {
            routeError = Reply::TargetLostError;
        }
    } else if (m_isWorker) {
        if (m_master) {
            remote.append(m_master);
            viaMaster = pf & (Wire::Workers | Wire::Cluster);
        } else {
            routeError = Reply::NotRunningError;
        }
    } else if ((pf & Wire::Cluster) && !m_host->inCluster()) {
        routeError = Reply::NotInClusterError;
    } else {
        const bool others = pf & Wire::Others;
        if (pf & Wire::Workers) {
            toSelf = !others;
            for (Endpoint *e : workerTargets(functionPointer))
                remote.append(e);
        } else if (!(pf & Wire::Cluster)) {
            toSelf = !others;
        }
        if (pf & Wire::Cluster) {
            for (Endpoint *e : machineTargets())
                remote.append(e);
        }
    }

    quint64 token = 0;
    if (pf & Wire::WantReply) {
        PendingCalls::Spec spec;
        static_cast<CallerContext &>(spec) = *m;
        spec.target = m->header.target;
        spec.userFlags = m->header.flags;
        spec.reply = reply;
        token = m_calls.open(spec);
        if (toSelf)
            m_calls.addTarget(token, LoopbackEndpoint);
        // A worker's master, or another machine's master relaying to its workers, says
        // later how many final replies come through it.
        const bool machineRelays = pf & Wire::Workers;
        for (Endpoint *e : std::as_const(remote)) {
            const bool known = e->kind == Endpoint::Kind::Machine ? !machineRelays : !viaMaster;
            m_calls.addTarget(token, e->id, 1, known);
        }
        m->header.token = token;
    }

    if (routeError != Reply::NoError || (!toSelf && remote.isEmpty())) {
        // Nothing to wait for: finish from the event loop, never inside the call.
        if (routeError != Reply::NoError)
            qCWarning(lcIpc) << "message" << Qt::hex << m->header.id << Qt::dec
                             << "has no route:" << routeError;
        if (token)
            m_calls.finishLater(token, routeError);
        return;
    }

    if (toSelf)
        deliverLocally(remote.isEmpty() ? m : MessagePrivate::copy(*m));
    SendFailures failed;
    sendToAll(m, remote, &failed);
    if (token)
        failParts(token, failed, true);
}

void Router::failParts(quint64 token, const SendFailures &failed, bool later)
{
    const auto fail = [&](const QVarLengthArray<quint32, 4> &endpoints, Reply::Error error) {
        if (endpoints.isEmpty())
            return;
        if (later)
            m_calls.failLater(token, endpoints, error);
        else
            m_calls.fail(token, endpoints, error);
    };
    fail(failed.full, Reply::BackpressureError);
    fail(failed.lost, Reply::TargetLostError);
    fail(failed.tooLong, Reply::MessageTooLongError);
}

void Router::sendToAll(MessagePrivate *m, const QVarLengthArray<Endpoint *, 8> &targets,
                       SendFailures *failed)
{
    QVarLengthArray<quint32, 4> *full = &failed->full, *lost = &failed->lost;
    // The masters of other machines get one fan-out from the transport (a broker publishes
    // it once); every other target its own copy on its link.
    QList<quint64> machines;
    QVarLengthArray<Endpoint *, 8> machineEndpoints;
    for (Endpoint *e : targets) {
        if (e->kind == Endpoint::Kind::Machine && m_remote && !e->stalled
            && e->state == Endpoint::State::Connected) {
            machines.append(e->machine);
            machineEndpoints.append(e);
            continue;
        }
        switch (sendToEndpoint(e, m)) {
        case Sent::Ok:
        case Sent::Held:
            break;
        case Sent::Backpressure:
            full->append(e->id);
            break;
        case Sent::Lost:
            lost->append(e->id);
            break;
        }
    }
    if (machines.isEmpty())
        return;
    if (qsizetype(m->header.length) > m_remote->maxPayloadLength()) {
        qCWarning(lcIpc) << "message" << Qt::hex << m->header.id << Qt::dec << "of"
                         << m->header.length << "bytes is longer than the cluster engine carries ("
                         << m_remote->maxPayloadLength() << "bytes): not sent to other machines";
        for (Endpoint *e : std::as_const(machineEndpoints))
            failed->tooLong.append(e->id);
        return;
    }
    QList<quint64> machinesFull, machinesLost;
    m_remote->sendToMachines(m, machines, &machinesFull, &machinesLost);
    for (Endpoint *e : std::as_const(machineEndpoints)) {
        if (machinesFull.contains(e->machine))
            full->append(e->id);
        else if (machinesLost.contains(e->machine))
            lost->append(e->id);
        else
            accountSent(*m, e);
    }
}

void Router::accountSent(const MessagePrivate &m, const Endpoint *to)
{
    m_stats->countOut(m.header.privateFlags, Wire::HeaderSize + m.header.length);
    if (Q_UNLIKELY(m_traceHook))
        m_traceHook->sent(m, to);
    if (m.header.privateFlags & Wire::Opcode)
        m_stats->opcodeOut(quint32(m.header.target), m.header.length);
}

bool Router::writeToLink(Link *link, MessagePrivate *m)
{
    if (link->queuedBytes() > m_highWater) {
        // Backpressure: wait (reading meanwhile) rather than buffer without bound.
        if (m_waitingForDrain == 0 && QThread::currentThread() == thread()) {
            ++m_waitingForDrain;
            const bool drained = link->waitForDrain(m_highWater / 2, BackpressureTimeoutMs, true);
            --m_waitingForDrain;
            if (!m_deferred.isEmpty())
                QMetaObject::invokeMethod(this, &Router::drainDeferred, Qt::QueuedConnection);
            if (!drained && link->isOpen())
                qCWarning(lcIpc) << link->description() << "did not drain in"
                                 << BackpressureTimeoutMs << "ms";
        }
        if (!link->isOpen() || link->queuedBytes() > HardLimitFactor * m_highWater) {
            Stats::bump(m_stats->process.backpressureErrors);
            qCWarning(lcIpc) << link->description() << "send queue above"
                             << HardLimitFactor * m_highWater << "bytes: message not sent";
            return false;
        }
    }
    link->write(*m);
    return true;
}

void Router::routeReply(MessagePrivate *reply, quint32 endpoint)
{
    if (endpoint == LoopbackEndpoint) {
        deliverLocally(reply);
        return;
    }
    Endpoint *e = m_endpoints.value(endpoint);
    if (e && e->kind == Endpoint::Kind::Machine && m_remote) {
        QExplicitlySharedDataPointer<MessagePrivate> tooLong;
        if (Q_UNLIKELY(qsizetype(reply->header.length) > m_remote->maxPayloadLength())) {
            // The engine cannot carry it (a broker's size limit): the caller learns why
            // instead of waiting for a reply that never comes.
            qCWarning(lcIpc) << "reply of" << reply->header.length << "bytes is longer than the"
                             << "cluster engine carries (" << m_remote->maxPayloadLength()
                             << "bytes): the caller gets MessageTooLongError";
            Wire::Header h = reply->header;
            h.privateFlags |= Wire::Error;
            h.status = quint32(Reply::MessageTooLongError);
            tooLong = MessagePrivate::create(h, Payload());
            reply = tooLong.data();
        }
        // Whatever link the request came on, the machine may still be reached another way.
        if (m_remote->sendToMachine(e->machine, reply) == RemoteMachines::Sent::Ok)
            accountSent(*reply, e);
        else
            Stats::bump(m_stats->process.droppedReplies);
        return;
    }
    if (!e || e->state != Endpoint::State::Connected || !e->link || !e->link->isOpen()) {
        Stats::bump(m_stats->process.droppedReplies);
        qCDebug(lcIpc) << "reply dropped: its caller is gone";
        return;
    }
    if (writeToLink(e->link, reply))
        accountSent(*reply, e);
}

void Router::cancelTarget(quint32 endpoint, quint64 token)
{
    if (endpoint == LoopbackEndpoint) {
        m_loopback.route->cancel(token);   // a handler of this process works on it
        return;
    }
    Endpoint *e = m_endpoints.value(endpoint);
    if (!e || e->stalled)
        return;
    QExplicitlySharedDataPointer<MessagePrivate> cancel(
            MessagePrivate::create(Authoring::header(Wire::Cancel, 0), Payload()));
    cancel->header.token = token;
    sendToEndpoint(e, cancel.data());
}

void Router::replyError(MessagePrivate *request, Reply::Error error)
{
    if (!(request->header.privateFlags & Wire::WantReply) || !request->route)
        return;
    request->doneSent.store(true, std::memory_order_release);
    QExplicitlySharedDataPointer<MessagePrivate> reply(Authoring::errorReply(*request, error));
    routeReply(reply.data(), request->route->endpoint);
}

void Router::sendControl(Endpoint *e, quint32 code, QByteArrayView payload)
{
    if (e && e->link && e->link->isOpen())
        e->link->writeControl(code, payload);
}

void Router::deliverLocally(MessagePrivate *m)
{
    m_loopbackQueue.append(QExplicitlySharedDataPointer<MessagePrivate>(m));
    if (!m_loopbackPosted) {
        m_loopbackPosted = true;
        QMetaObject::invokeMethod(this, &Router::drainLoopback, Qt::QueuedConnection);
    }
}

void Router::drainLoopback()
{
    const Cork cork(this);
    m_loopbackPosted = false;
    auto batch = std::move(m_loopbackQueue);
    m_loopbackQueue.clear();
    for (auto &m : batch) {
        if (m->header.privateFlags & Wire::Reply) {
            m_calls.handleReply(m.data(), LoopbackEndpoint);
        } else {
            m->route = m_loopback.route;
            m_dispatcher.dispatch(m.data(), LoopbackEndpoint, false);
        }
        m.reset();   // release before the next one: automatic replies go out in order
    }
}

} // namespace Plexus
