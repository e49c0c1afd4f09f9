// SPDX-License-Identifier: MIT
#include "router_p.h"
#include "handlers_p.h"
#include "link_p.h"
#include "logging_p.h"
#include "node_p.h"
#include "opcoderegistry_p.h"
#include "reply_p.h"

#include <QtCore/qcoreapplication.h>
#include <QtCore/qdatetime.h>
#include <QtCore/qthread.h>
#include <QtCore/qtimer.h>

#include <atomic>
#include <exception>

#include <unistd.h>

namespace Plexus {

namespace {
std::atomic<Router *> g_router{nullptr};
std::atomic<qint64> g_selfPid{0};
std::atomic<int> g_selfSlot{-1};

constexpr int RejectionsBeforeClose = 8;
constexpr qint64 SecurityLogIntervalMs = 5000;

qint64 nowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}

template <typename Fn>
void runUserCode(const char *what, Fn &&fn)
{
    try {
        fn();
    } catch (const std::exception &e) {
        qCWarning(lcIpc, "%s threw an exception: %s", what, e.what());
    } catch (...) {
        qCWarning(lcIpc, "%s threw an exception", what);
    }
}
// Header fields every message this process authors starts from.
Wire::Header newHeader(quint16 privateFlags, quint64 timestamp = 0, quint64 id = 0)
{
    Wire::Header h;
    h.privateFlags = privateFlags;
    h.timestamp = timestamp ? timestamp : quint64(nowMs());
    h.id = id ? id : Crypto::nextId();
    return h;
}

// Body fields naming this process as the origin.
Wire::Body newBody(quint64 target, quint64 token = 0)
{
    Wire::Body b;
    b.target = target;
    b.token = token;
    b.originPid = quint32(g_selfPid.load(std::memory_order_relaxed));
    b.originSlot = g_selfSlot.load(std::memory_order_relaxed);
    return b;
}

// One allocation for header, body prefix and payload; nullptr if the payload is too long.
MessagePrivate *makeMessage(const Wire::Header &header, const Wire::Body &body,
                            const Payload &data)
{
    auto *m = new MessagePrivate;
    m->frame = Frame::create(header, body, data);
    if (m->frame.isNull()) {
        delete m;
        return nullptr;
    }
    m->header = header;
    m->header.length = quint32(data.size());
    m->body = body;
    return m;
}

// A plain copy of a request for this process's own dispatch, sharing the buffer.
MessagePrivate *loopbackCopy(const MessagePrivate &m)
{
    auto *local = new MessagePrivate;
    local->frame = m.frame;
    local->header = m.header;
    local->body = m.body;
    local->linkId = Router::LoopbackLinkId;
    return local;
}
} // namespace

Router::Router(Node *node, NodePrivate *nodePrivate)
    : QObject(node), m_node(node), m_nodePrivate(nodePrivate), m_highWater(DefaultHighWater)
{
    m_timer = new QTimer(this);
    m_timer->setSingleShot(true);
    m_timer->setTimerType(Qt::PreciseTimer);
    connect(m_timer, &QTimer::timeout, this, &Router::onTimer);
    g_selfPid.store(nodePrivate->pid);
    g_selfSlot.store(nodePrivate->slot);
    g_router.store(this);
}

Router::~Router()
{
    Router *self = this;
    g_router.compare_exchange_strong(self, nullptr);
    // Calls still waiting end now: their targets are unreachable without a router.
    deleteFinishedReplies();
    auto pending = std::move(m_pending);
    for (auto &[token, call] : pending) {
        if (call.reply) {
            auto *rd = ReplyPrivate::get(call.reply);
            rd->token = 0;
            rd->router = nullptr;   // finish() falls back to QObject::deleteLater()
            rd->setError(Reply::NotRunningError);
            rd->finish();
        }
    }
}

Router *Router::current() noexcept
{
    return g_router.load(std::memory_order_acquire);
}

// ---------------------------------------------------------------------------------------
// Authoring (any thread)

MessagePrivate *Router::author(const CallArgs &args, quint16 routingFlags, Reply::Error *error)
{
    *error = Reply::NoError;
    const quint32 opcode = args.opcode;
    if (opcode && !OpcodeRegistry::isUserOpcode(opcode)) {
        *error = Reply::InvalidArgumentsError;
        return nullptr;
    }
    if (!opcode && (!args.call || (routingFlags & Wire::Cluster))) {
        *error = Reply::InvalidArgumentsError;
        return nullptr;
    }
    if (args.data.hasOverflowed() || args.data.size() > maxMessageLength()) {
        *error = Reply::MessageTooLongError;
        return nullptr;
    }

    Handler onReply = args.onReply;
    Handler onDone = args.onDone;
    if (opcode && !onReply && !onDone) {
        if (auto spec = OpcodeRegistry::instance().find(opcode)) {
            onReply = spec->onReply;
            onDone = spec->onDone;
        }
    }
    const bool wantReply = args.reply || onReply || onDone;

    Wire::Header header = newHeader(
            quint16((routingFlags & (Wire::Workers | Wire::Cluster | Wire::Others))
                    | (opcode ? Wire::Opcode : 0) | (wantReply ? Wire::WantReply : 0)),
            args.timestamp, args.id);
    header.flags = args.flags;
    const Wire::Body body = newBody(opcode ? quint64(opcode) : quint64(quintptr(args.call)));
    MessagePrivate *m = makeMessage(header, body, args.data);
    if (!m) {
        *error = Reply::MessageTooLongError;
        return nullptr;
    }
    m->onReply = onReply;
    m->onDone = onDone;
    m->udata = args.udata;
    m->timeout = args.timeout;
    m->wantReplyObject = args.reply;
    return m;
}

Reply *Router::failedReply(Reply::Error error, const CallArgs &args)
{
    qCWarning(lcIpc) << "call refused:" << error;
    Router *router = current();
    QObject *context = router ? static_cast<QObject *>(router) : QCoreApplication::instance();
    Reply *reply = nullptr;
    if (args.reply) {
        reply = new Reply;
        auto *rd = ReplyPrivate::get(reply);
        rd->udata = args.udata;
        if (router && reply->thread() != router->thread())
            reply->moveToThread(router->thread());
        QPointer<Reply> r = reply;
        // Never finished from inside the call that made it.
        QMetaObject::invokeMethod(reply, [r, error] {
            if (!r)
                return;
            ReplyPrivate::get(r)->setError(error);
            ReplyPrivate::get(r)->finish();
        }, Qt::QueuedConnection);
    }
    if (args.onDone && context) {
        // The error reaches onDone from the event loop, as replies do.
        PendingCall call;
        call.udata = args.udata;
        call.target = args.opcode ? args.opcode : quint64(quintptr(args.call));
        call.requestFlags = args.flags;
        QExplicitlySharedDataPointer<MessagePrivate> ref(makeErrorMessage(call, error));
        const Handler onDone = args.onDone;
        QMetaObject::invokeMethod(context, [ref, onDone] {
            runUserCode("onDone", [&] { onDone(MessagePrivate::wrap(ref.data())); });
        }, Qt::QueuedConnection);
    }
    return reply;
}

Reply *Router::submit(MessagePrivate *message, const Sender *only)
{
    QExplicitlySharedDataPointer<MessagePrivate> ref(message);
    Reply *reply = nullptr;
    if (message->wantReplyObject) {
        reply = new Reply;
        auto *rd = ReplyPrivate::get(reply);
        rd->udata = message->udata;
        rd->timeout = message->timeout;
        rd->router = this;
        if (reply->thread() != thread())
            reply->moveToThread(thread());
    }
    Job job;
    job.message = ref;
    job.reply = reply;
    if (only) {
        job.hasOnly = true;
        job.pid = only->pid();
    }
    if (QThread::currentThread() == thread())
        runJob(job);
    else
        enqueue(std::move(job));
    return reply;
}

void Router::enqueue(Job &&job)
{
    QMutexLocker locker(&m_jobLock);
    m_jobs.append(std::move(job));
    if (!m_jobsPosted) {
        m_jobsPosted = true;
        QMetaObject::invokeMethod(this, &Router::drainJobs, Qt::QueuedConnection);
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
        routeReply(m, job.linkId);
    } else if (pf & Wire::Typed) {
        Link *link = job.linkId ? linkById(job.linkId) : linkForPid(job.pid);
        if (!link || !link->isOpen()) {
            qCWarning(lcIpc) << "typed message" << m->body.target << "has no route";
            return;
        }
        sendFrameTo(link, m->frame);
    } else {
        Sender only(job.pid, -1);
        route(m, job.reply, job.hasOnly ? &only : nullptr);
    }
}

// ---------------------------------------------------------------------------------------
// Routing (Node thread)

QList<Link *> Router::localTargets(bool functionPointer, quint64 excludeLinkId)
{
    if (!m_targetsValid) {
        m_targetCache[0].clear();
        m_targetCache[1].clear();
        for (Link *link : std::as_const(m_links)) {
            if (!link->isOpen() || !link->isEstablished()
                || link->peer().role != Link::PeerRole::Worker)
                continue;
            m_targetCache[0].append(link);
            if (!link->peer().isExec)   // another image: a function pointer means nothing there
                m_targetCache[1].append(link);
        }
        m_targetsValid = true;
    }
    const QList<Link *> &all = m_targetCache[functionPointer ? 1 : 0];
    if (!excludeLinkId)
        return all;   // shared, no copy
    QList<Link *> out;
    out.reserve(all.size());
    for (Link *link : all) {
        if (link->id() != excludeLinkId)
            out.append(link);
    }
    return out;
}

void Router::route(MessagePrivate *m, Reply *reply, const Sender *only)
{
    const quint16 pf = m->header.privateFlags;
    const bool wantReply = pf & Wire::WantReply;
    const bool functionPointer = !(pf & Wire::Opcode);
    const bool isMaster = m_nodePrivate->role != Node::Worker;

    bool self = false;
    QList<Link *> remote;
    bool viaMaster = false;
    Reply::Error routeError = Reply::NoError;

    if (only) {
        if (only->pid() == m_nodePrivate->pid)
            self = true;
        else if (Link *l = linkForPid(only->pid()))
            remote.append(l);
        else
            routeError = Reply::TargetLostError;
    } else if (!isMaster) {
        if (m_masterLink && m_masterLink->isOpen()) {
            remote.append(m_masterLink);
            viaMaster = pf & (Wire::Workers | Wire::Cluster);
        } else {
            routeError = Reply::NotRunningError;
        }
    } else {
        const bool others = pf & Wire::Others;
        if (pf & Wire::Workers) {
            self = !others;
            remote = localTargets(functionPointer, 0);
        } else if (!(pf & Wire::Cluster)) {
            self = !others;
        }
        // Cluster links join here when the cluster exists.
    }

    quint64 token = 0;
    PendingCall *call = nullptr;
    if (wantReply) {
        token = m_nextToken++;
        PendingCall &c = m_pending[token];
        call = &c;
        c.onReply = m->onReply;
        c.onDone = m->onDone;
        c.udata = m->udata;
        c.target = m->body.target;
        c.requestFlags = m->header.flags;
        c.reply = reply;
        if (self)
            c.targets.append({LoopbackLinkId, 1, 0, true});
        for (Link *l : std::as_const(remote))
            c.targets.append({l->id(), 1, 0, !viaMaster});
        if (reply) {
            auto *rd = ReplyPrivate::get(reply);
            rd->token = token;
            rd->expected = int(c.targets.size());
        }
        const int timeout = reply ? ReplyPrivate::get(reply)->timeout : m->timeout;
        if (timeout > 0)
            setCallTimeout(token, timeout);
        m->body.token = token;
        m->frame.setBody(m->body);
    }

    if (routeError != Reply::NoError || (!self && remote.isEmpty())) {
        // Nothing to wait for: finish from the event loop, never inside the call.
        if (routeError != Reply::NoError)
            qCWarning(lcIpc) << "message" << Qt::hex << m->header.id << Qt::dec << "has no route:" << routeError;
        if (call) {
            call->error = routeError;
            for (Target &t : call->targets)
                t.done = t.expected;
            QMetaObject::invokeMethod(this, [this, token] {
                auto it = m_pending.find(token);
                if (it != m_pending.end())
                    finishCall(it, nullptr);
            }, Qt::QueuedConnection);
        } else if (routeError != Reply::NoError && reply) {
            QPointer<Reply> r = reply;
            QMetaObject::invokeMethod(this, [r, routeError] {
                if (!r)
                    return;
                ReplyPrivate::get(r)->setError(routeError);
                ReplyPrivate::get(r)->finish();
            }, Qt::QueuedConnection);
        }
        return;
    }

    if (self)
        deliverLocally(loopbackCopy(*m));
    if (!remote.isEmpty()) {
        Frame wire = std::move(m->frame);
        QVarLengthArray<quint64, 4> refused;
        for (Link *l : std::as_const(remote)) {
            if (!sendFrameTo(l, wire))
                refused.append(l->id());
        }
        if (call && !refused.isEmpty())
            failTargetsLater(token, refused, Reply::BackpressureError);
    }
}

void Router::failTargetsLater(quint64 token, const QVarLengthArray<quint64, 4> &linkIds,
                              Reply::Error error)
{
    QMetaObject::invokeMethod(this, [this, token, linkIds, error] {
        auto it = m_pending.find(token);
        if (it == m_pending.end())
            return;
        PendingCall &c = it->second;
        bool complete = true;
        for (Target &t : c.targets) {
            if (linkIds.contains(t.linkId)) {
                t.expectedKnown = true;
                t.done = t.expected;
            }
            complete = complete && t.expectedKnown && t.done >= t.expected;
        }
        if (c.error == Reply::NoError)
            c.error = error;
        if (c.reply)
            ReplyPrivate::get(c.reply)->setError(error);
        if (complete)
            finishCall(it, nullptr);
    }, Qt::QueuedConnection);
}

bool Router::sendFrameTo(Link *link, Frame &frame)
{
    if (link->queuedBytes() > m_highWater) {
        // Backpressure: wait (reading meanwhile) rather than buffer without bound.
        if (m_waitingForDrain == 0 && QThread::currentThread() == thread()) {
            ++m_waitingForDrain;
            const bool drained = link->drainBlocking(m_highWater / 2, BackpressureTimeoutMs);
            --m_waitingForDrain;
            if (!m_deferred.isEmpty())
                QMetaObject::invokeMethod(this, &Router::drainDeferred, Qt::QueuedConnection);
            if (!drained && link->isOpen())
                qCWarning(lcIpc) << link->description() << "did not drain in"
                                 << BackpressureTimeoutMs << "ms";
        }
        if (!link->isOpen() || link->queuedBytes() > HardLimitFactor * m_highWater) {
            m_nodePrivate->counters.backpressureErrors.fetch_add(1, std::memory_order_relaxed);
            qCWarning(lcIpc) << link->description() << "send queue above"
                             << HardLimitFactor * m_highWater << "bytes: message not sent";
            return false;
        }
    }
    if (!frame.isSealed())
        frame.seal(m_key);
    link->write(frame.buffer());
    m_nodePrivate->counters.messagesOut.fetch_add(1, std::memory_order_relaxed);
    m_nodePrivate->counters.bytesOut.fetch_add(quint64(frame.buffer().size()),
                                               std::memory_order_relaxed);
    return true;
}

void Router::drainDeferred()
{
    if (m_waitingForDrain)
        return;   // the wait that is still running posts another drain when it ends
    const Cork cork(this);
    auto batch = std::move(m_deferred);
    m_deferred.clear();
    m_deferredBytes = 0;
    for (auto &m : batch) {
        Link *link = linkById(m->linkId);
        m->linkId = 0;
        if (link && link->isOpen())
            dispatchRequest(m.data(), link);
        m.reset();
    }
}

void Router::deliverLocally(MessagePrivate *m)
{
    m_loopback.append(QExplicitlySharedDataPointer<MessagePrivate>(m));
    if (!m_loopbackPosted) {
        m_loopbackPosted = true;
        QMetaObject::invokeMethod(this, &Router::drainLoopback, Qt::QueuedConnection);
    }
}

void Router::drainLoopback()
{
    const Cork cork(this);
    m_loopbackPosted = false;
    auto batch = std::move(m_loopback);
    m_loopback.clear();
    for (auto &m : batch) {
        if (m->header.privateFlags & Wire::Reply)
            handleReply(m.data(), nullptr);
        else
            dispatchRequest(m.data(), nullptr);
        m.reset();   // release before the next one: auto-replies go out in order
    }
}

// ---------------------------------------------------------------------------------------
// Replies

static MessagePrivate *authorReply(const MessagePrivate &request, const ReplyArgs &args,
                                   quint16 extraFlags, quint32 status)
{
    Wire::Header h = newHeader(quint16(Wire::Reply | (args.done ? Wire::Done : 0) | extraFlags
                                       | (request.header.privateFlags & Wire::Opcode)),
                               args.timestamp, args.id ? args.id : request.header.id);
    h.flags = (args.flagsSet || args.flags) ? args.flags : request.header.flags;
    Wire::Body b = newBody(request.body.target, request.body.token);
    b.status = status;
    return makeMessage(h, b, args.data);
}

bool Router::submitReply(const Message &request, const ReplyArgs &args)
{
    MessagePrivate *req = MessagePrivate::get(request);
    if (!req || !req->linkId || (req->header.privateFlags & Wire::Reply)
        || !(req->header.privateFlags & Wire::WantReply))
        return false;
    // Refuse before marking the final reply as sent: a refused final reply still leaves the
    // automatic empty one owed to the caller.
    if (args.data.hasOverflowed() || args.data.size() > maxMessageLength()) {
        qCWarning(lcIpc) << "reply refused: payload longer than" << maxMessageLength();
        return false;
    }
    if (args.done) {
        bool expected = false;
        if (!req->doneSent.compare_exchange_strong(expected, true))
            return false;
    } else if (req->doneSent.load()) {
        return false;
    }
    MessagePrivate *reply = authorReply(*req, args, 0, 0);
    if (!reply) {
        qCWarning(lcIpc) << "reply refused: payload longer than" << maxMessageLength();
        return false;
    }
    Job job;
    job.message = QExplicitlySharedDataPointer<MessagePrivate>(reply);
    job.linkId = req->linkId;
    if (QThread::currentThread() == thread())
        runJob(job);
    else
        enqueue(std::move(job));
    return true;
}

void Router::sendAutomaticFinalReply(MessagePrivate &request)
{
    Router *router = current();
    if (!router)
        return;
    request.doneSent.store(true);
    MessagePrivate *reply = authorReply(request, ReplyArgs{.done = true}, 0, 0);
    Job job;
    job.message = QExplicitlySharedDataPointer<MessagePrivate>(reply);
    job.linkId = request.linkId;
    if (QThread::currentThread() == router->thread())
        router->runJob(job);
    else
        router->enqueue(std::move(job));
}

void Router::replyError(MessagePrivate *request, Reply::Error error)
{
    if (!(request->header.privateFlags & Wire::WantReply) || !request->linkId)
        return;
    request->doneSent.store(true);
    MessagePrivate *reply = authorReply(*request, ReplyArgs{.done = true}, Wire::Error,
                                        quint32(error));
    QExplicitlySharedDataPointer<MessagePrivate> ref(reply);
    routeReply(reply, request->linkId);
}

void Router::routeReply(MessagePrivate *reply, quint64 linkId)
{
    if (linkId == LoopbackLinkId) {
        deliverLocally(reply);
        return;
    }
    Link *link = linkById(linkId);
    if (!link || !link->isOpen()) {
        qCDebug(lcIpc) << "reply dropped: its link is gone";
        return;
    }
    sendFrameTo(link, reply->frame);
}

bool Router::submitTyped(quint64 linkId, qint64 pid, quint32 type, const Payload &payload)
{
    if (payload.hasOverflowed() || payload.size() > maxMessageLength())
        return false;
    MessagePrivate *m = makeMessage(newHeader(Wire::Typed), newBody(type), payload);
    Job job;
    job.message = QExplicitlySharedDataPointer<MessagePrivate>(m);
    job.linkId = linkId;
    job.pid = pid;
    if (QThread::currentThread() == thread())
        runJob(job);
    else
        enqueue(std::move(job));
    return true;
}

void Router::sendControl(Link *link, quint32 code, const QByteArray &data)
{
    Frame f = Frame::create(newHeader(Wire::Control), newBody(code), Payload(data));
    f.seal(m_key);
    link->write(f.buffer());
}

// ---------------------------------------------------------------------------------------
// Receiving

void Router::addLink(Link *link)
{
    m_links.insert(link->id(), link);
    linksChanged();
    if (m_nodePrivate->role == Node::Worker && !m_masterLink)
        m_masterLink = link;
}

Link *Router::linkById(quint64 id) const
{
    return m_links.value(id);
}

Link *Router::linkForPid(qint64 pid) const
{
    for (Link *l : m_links) {
        if (l->peer().pid == pid && l->isOpen())
            return l;
    }
    return nullptr;
}

QList<Link *> Router::links() const
{
    return m_links.values();
}

void Router::frameReceived(Link *link, QByteArray &&sealed)
{
    Frame frame = Frame::fromSealed(std::move(sealed));
    const FrameError error = frame.open(m_key);
    if (error != FrameError::NoError) {
        linkRejected(link, error);
        if (!link->isEstablished() || ++link->rejected >= RejectionsBeforeClose
            || error != FrameError::AuthenticationFailed) {
            qCWarning(lcSecurity) << link->description() << "closed after invalid frames";
            link->close();
        }
        return;
    }
    m_nodePrivate->counters.messagesIn.fetch_add(1, std::memory_order_relaxed);
    m_nodePrivate->counters.bytesIn.fetch_add(quint64(frame.buffer().size()),
                                              std::memory_order_relaxed);

    auto *m = new MessagePrivate;
    m->header = frame.header();
    m->body = frame.body();
    m->frame = std::move(frame);
    QExplicitlySharedDataPointer<MessagePrivate> ref(m);
    const quint16 pf = m->header.privateFlags;

    if (!link->isEstablished()) {
        if (!(pf & Wire::Control) || m->body.target != Wire::ControlHello) {
            linkRejected(link, FrameError::UnexpectedFrame);
            link->close();
            return;
        }
        handleControl(m, link);
        return;
    }
    if (pf & Wire::Control) {
        handleControl(m, link);
    } else if (pf & Wire::Reply) {
        handleReply(m, link);
    } else if (m_waitingForDrain || !m_deferred.isEmpty()) {
        m->linkId = link->id();   // only a note for drainDeferred(), which clears it
        m_deferredBytes += m->frame.buffer().size();
        m_deferred.append(ref);
    } else {
        dispatchRequest(m, link);
    }
}

void Router::securityEvent(Link *link, FrameError error)
{
    m_nodePrivate->countSecurity(error);
    // Rate-limited per link and for the whole process, so that many bad connections
    // cannot flood the log either.
    static qint64 lastProcessLog = 0;
    const qint64 now = nowMs();
    if (now - link->lastSecurityLog >= SecurityLogIntervalMs && now - lastProcessLog >= 1000) {
        link->lastSecurityLog = now;
        lastProcessLog = now;
        qCWarning(lcSecurity) << "rejected frame from" << link->description() << ':' << error
                              << "(" << link->rejected + 1 << "so far on this link)";
    }
    Q_EMIT m_node->securityEvent(error, link->description());
}

void Router::linkRejected(Link *link, FrameError error)
{
    securityEvent(link, error);
}

void Router::linkClosed(Link *link)
{
    if (!m_links.remove(link->id()))
        return;
    linksChanged();
    if (link == m_masterLink)
        m_masterLink = nullptr;
    failTargets(link->id());
    m_nodePrivate->onLinkClosed(link);
    link->deleteLater();
}

void Router::linkDrained(Link *)
{
}

void Router::linkWritten(Link *link)
{
    if (m_cork > 0) {
        if (!link->dirty) {
            link->dirty = true;
            m_dirty.append(link);
        }
        return;
    }
    link->flushNow();
    ++m_cork;
    QMetaObject::invokeMethod(this, &Router::uncork, Qt::QueuedConnection);
}

void Router::uncork()
{
    if (--m_cork > 0)
        return;
    while (!m_dirty.isEmpty()) {
        const QList<QPointer<Link>> dirty = std::move(m_dirty);
        m_dirty.clear();
        for (const QPointer<Link> &link : dirty) {
            if (!link)
                continue;
            link->dirty = false;
            if (link->isOpen())
                link->flushNow();
        }
    }
}

void Router::handleControl(MessagePrivate *m, Link *link)
{
    switch (m->body.target) {
    case Wire::ControlHello:
        if (link && !link->isEstablished())
            m_nodePrivate->onHello(link, m->frame.data());
        else if (link)
            linkRejected(link, FrameError::UnexpectedFrame);
        break;
    case Wire::ControlStop:
        if (m_nodePrivate->role == Node::Worker && link == m_masterLink) {
            qCDebug(lcWorker) << "master asked this worker to stop";
            QCoreApplication::quit();
        }
        break;
    default:
        if (link)
            linkRejected(link, FrameError::UnexpectedFrame);
        break;
    }
}

void Router::dispatchRequest(MessagePrivate *m, Link *link)
{
    const quint16 pf = m->header.privateFlags;
    if (link && m_nodePrivate->role != Node::Worker && (pf & (Wire::Workers | Wire::Cluster))) {
        fanOutForWorker(m, link);
        return;
    }
    if (link)
        m->linkId = link->id();
    else if (!m->linkId)
        m->linkId = LoopbackLinkId;

    // The dispatch copy: when the handler keeps none, its release sends the automatic
    // final reply (MessagePrivate's destructor).
    Message message = MessagePrivate::wrap(m);

    if (pf & Wire::Typed) {
        const WorkerInfo from = link ? m_nodePrivate->workerForLink(link) : WorkerInfo();
        if (!TypedHandlers::dispatch(m_nodePrivate->role == Node::Worker, quint32(m->body.target),
                                     message, from))
            qCDebug(lcIpc) << "no typed handler for type" << m->body.target;
        return;
    }
    if (pf & Wire::Opcode) {
        const auto opcode = quint32(m->body.target);
        const auto it = m_nodePrivate->opcodeHandlers.constFind(opcode);
        if (it != m_nodePrivate->opcodeHandlers.cend() && it->context) {
            const auto functor = it->functor;
            runUserCode("op-code handler", [&] { functor(message); });
            return;
        }
        if (auto spec = OpcodeRegistry::instance().find(opcode)) {
            m->udata = spec->udata;
            runUserCode("op-code handler", [&] { spec->call(message); });
            return;
        }
        m_nodePrivate->counters.unknownOpcodes.fetch_add(1, std::memory_order_relaxed);
        qCWarning(lcIpc) << "no handler for op-code" << opcode << "from pid" << m->body.originPid;
        replyError(m, Reply::UnknownOpcodeError);
        return;
    }
    if (link && link->peer().isExec) {
        // An exec'd program runs another image: it may only use op-codes.
        linkRejected(link, FrameError::UnexpectedFrame);
        replyError(m, Reply::RemoteError);
        return;
    }
    const auto handler = reinterpret_cast<Handler>(quintptr(m->body.target));
    runUserCode("handler", [&] { handler(message); });
}

void Router::fanOutForWorker(MessagePrivate *m, Link *origin)
{
    const quint16 pf = m->header.privateFlags;
    const bool functionPointer = !(pf & Wire::Opcode);
    if (functionPointer && origin->peer().isExec) {
        linkRejected(origin, FrameError::UnexpectedFrame);
        return;
    }
    const bool self = pf & Wire::Workers;   // a worker's local/broadcast includes the master
    QList<Link *> remote;
    if (pf & Wire::Workers)
        remote = localTargets(functionPointer, (pf & Wire::Others) ? origin->id() : 0);

    quint64 token = 0;
    if (pf & Wire::WantReply) {
        const int n = int(remote.size()) + (self ? 1 : 0);
        if (n == 0) {
            // Tell the caller there is nobody to wait for.
            ReplyArgs notice;
            MessagePrivate *r = authorReply(*m, notice, Wire::Fanout, 0);
            QExplicitlySharedDataPointer<MessagePrivate> ref(r);
            sendFrameTo(origin, r->frame);
            return;
        }
        token = m_nextToken++;
        PendingCall &c = m_pending[token];
        c.originLinkId = origin->id();
        c.originToken = m->body.token;
        if (self)
            c.targets.append({LoopbackLinkId, 1, 0, true});
        for (Link *l : std::as_const(remote))
            c.targets.append({l->id(), 1, 0, true});
    }
    m->body.token = token;
    m->frame.setBody(m->body);
    if (self)
        deliverLocally(loopbackCopy(*m));
    if (!remote.isEmpty()) {
        Frame wire = m->frame;
        QVarLengthArray<quint64, 4> refused;
        for (Link *l : std::as_const(remote)) {
            if (!sendFrameTo(l, wire))
                refused.append(l->id());
        }
        if (token && !refused.isEmpty()) {
            auto it = m_pending.find(token);
            forwardError(it->second, Reply::BackpressureError, int(refused.size()));
            for (Target &t : it->second.targets) {
                if (refused.contains(t.linkId))
                    t.done = t.expected;
            }
        }
    }
    // The origin's copy must not trigger an automatic reply: the targets answer.
    m->linkId = 0;
}

void Router::handleReply(MessagePrivate *m, Link *link)
{
    const quint64 linkId = link ? link->id() : LoopbackLinkId;
    auto it = m_pending.find(m->body.token);
    if (it == m_pending.end()) {
        m_nodePrivate->counters.lateReplies.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    PendingCall &c = it->second;
    Target *target = nullptr;
    for (Target &t : c.targets) {
        if (t.linkId == linkId) {
            target = &t;
            break;
        }
    }
    if (!target) {
        m_nodePrivate->counters.lateReplies.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    const quint16 pf = m->header.privateFlags;
    if (pf & Wire::Fanout) {
        target->expected = int(m->body.targets);
        target->expectedKnown = true;
        if (c.reply) {
            int total = 0;
            for (const Target &t : c.targets)
                total += t.expected;
            ReplyPrivate::get(c.reply)->expected = total;
        }
        if (m->body.targets == 0) {   // nobody to wait for behind that link
            targetFinished(it, linkId, nullptr);
            return;
        }
    }

    if (c.originLinkId) {
        // Relay to the worker that made the call.
        int total = 0;
        for (const Target &t : c.targets)
            total += t.expected;
        Link *origin = linkById(c.originLinkId);
        if (origin && origin->isOpen()) {
            m->body.token = c.originToken;
            m->body.targets = quint32(total);
            m->header.privateFlags = quint16(pf | Wire::Fanout);
            m->frame.setPrivateFlags(m->header.privateFlags);
            m->frame.setBody(m->body);
            sendFrameTo(origin, m->frame);
        }
        if (pf & Wire::Done)
            targetFinished(it, linkId, nullptr);
        return;
    }

    ++c.received;
    m->udata = c.udata;
    if (pf & Wire::Error)
        c.error = c.error == Reply::NoError ? Reply::Error(m->body.status) : c.error;
    if (c.reply) {
        auto *rd = ReplyPrivate::get(c.reply);
        rd->received = c.received;
        if (pf & Wire::Error)
            rd->setError(Reply::Error(m->body.status));
        const Message message = MessagePrivate::wrap(m);
        QPointer<Reply> reply = c.reply;
        Q_EMIT reply->replyReceived(message);
        it = m_pending.find(m->body.token);   // user code may have aborted the call
        if (it == m_pending.end())
            return;
    }
    if (pf & Wire::Done) {
        targetFinished(it, linkId, m);
        return;
    }
    if (Handler onReply = it->second.onReply) {
        const Message message = MessagePrivate::wrap(m);
        runUserCode("onReply", [&] { onReply(message); });
    }
}

void Router::targetFinished(std::unordered_map<quint64, PendingCall>::iterator it,
                            quint64 linkId, MessagePrivate *finalReply)
{
    PendingCall &c = it->second;
    bool complete = true;
    int finished = 0;
    for (Target &t : c.targets) {
        if (t.linkId == linkId && t.done < t.expected)
            ++t.done;
        if (!t.expectedKnown || t.done < t.expected)
            complete = false;
        finished += t.done;
    }
    if (c.reply)
        ReplyPrivate::get(c.reply)->finishedTargets = finished;
    if (complete) {
        finishCall(it, finalReply);
        return;
    }
    // Not the last target: its final reply is one more reply for the caller.
    if (finalReply && c.onReply && !c.originLinkId) {
        const Handler onReply = c.onReply;
        const Message message = MessagePrivate::wrap(finalReply);
        runUserCode("onReply", [&] { onReply(message); });
    }
}

MessagePrivate *Router::makeErrorMessage(const PendingCall &call, Reply::Error error)
{
    Wire::Header h = newHeader(Wire::Reply | Wire::Done | Wire::Error);
    h.flags = call.requestFlags;
    Wire::Body b = newBody(call.target);
    b.status = quint32(error);
    MessagePrivate *m = makeMessage(h, b, Payload());
    m->udata = call.udata;
    return m;
}

void Router::finishCall(std::unordered_map<quint64, PendingCall>::iterator it,
                        MessagePrivate *last)
{
    PendingCall c = std::move(it->second);
    m_pending.erase(it);

    QExplicitlySharedDataPointer<MessagePrivate> synthetic;
    if (!last && c.onDone) {
        // No final reply to hand over (targets lost, timeout, nobody to wait for): onDone
        // still runs once, with an empty final message that carries the error, if any.
        synthetic = QExplicitlySharedDataPointer<MessagePrivate>(makeErrorMessage(c, c.error));
        if (c.error == Reply::NoError) {
            synthetic->header.privateFlags &= quint16(~Wire::Error);
            synthetic->frame.setPrivateFlags(synthetic->header.privateFlags);
        }
        last = synthetic.data();
    }
    if (c.onDone && last) {
        const Handler onDone = c.onDone;
        const Message message = MessagePrivate::wrap(last);
        runUserCode("onDone", [&] { onDone(message); });
    }
    if (c.reply) {
        auto *rd = ReplyPrivate::get(c.reply);
        rd->token = 0;
        rd->setError(c.error);
        rd->finish();
    }
}

void Router::forwardError(const PendingCall &call, Reply::Error error, int count)
{
    Link *origin = linkById(call.originLinkId);
    if (!origin || !origin->isOpen())
        return;
    int total = 0;
    for (const Target &t : call.targets)
        total += t.expected;
    for (int i = 0; i < count; ++i) {
        Wire::Header h = newHeader(Wire::Reply | Wire::Done | Wire::Error | Wire::Fanout);
        h.flags = call.requestFlags;
        Wire::Body b = newBody(0, call.originToken);
        b.targets = quint32(total);
        b.status = quint32(error);
        Frame f = Frame::create(h, b, Payload());
        sendFrameTo(origin, f);
    }
}

void Router::failTargets(quint64 linkId)
{
    QList<quint64> affected;
    for (const auto &[token, call] : m_pending) {
        if (call.originLinkId == linkId) {
            affected.append(token);
            continue;
        }
        for (const Target &t : call.targets) {
            if (t.linkId == linkId && (!t.expectedKnown || t.done < t.expected)) {
                affected.append(token);
                break;
            }
        }
    }
    for (quint64 token : std::as_const(affected)) {
        auto it = m_pending.find(token);
        if (it == m_pending.end())
            continue;
        PendingCall &c = it->second;
        if (c.originLinkId == linkId) {
            m_pending.erase(it);   // the caller itself is gone
            continue;
        }
        int missing = 0;
        for (Target &t : c.targets) {
            if (t.linkId != linkId)
                continue;
            if (!t.expectedKnown)
                t.expected = qMax(t.expected, t.done + 1);
            missing += t.expected - t.done;
            t.expectedKnown = true;
            t.done = t.expected;
        }
        if (c.originLinkId)
            forwardError(c, Reply::TargetLostError, missing);
        if (c.error == Reply::NoError)
            c.error = Reply::TargetLostError;
        if (c.reply)
            ReplyPrivate::get(c.reply)->setError(Reply::TargetLostError);
        bool complete = true;
        for (const Target &t : c.targets)
            complete = complete && t.expectedKnown && t.done >= t.expected;
        if (complete)
            finishCall(it, nullptr);
    }
}

void Router::deleteLater(Reply *reply)
{
    if (m_finishedReplies.isEmpty())
        QMetaObject::invokeMethod(this, &Router::deleteFinishedReplies, Qt::QueuedConnection);
    m_finishedReplies.append(reply);
}

void Router::deleteFinishedReplies()
{
    const QList<QPointer<Reply>> replies = std::move(m_finishedReplies);
    m_finishedReplies.clear();
    for (const QPointer<Reply> &reply : replies)
        delete reply.data();
}

void Router::abortCall(quint64 token)
{
    auto it = m_pending.find(token);
    if (it == m_pending.end())
        return;
    it->second.reply = nullptr;   // the Reply finishes itself
    m_pending.erase(it);
}

void Router::setCallTimeout(quint64 token, int msec)
{
    if (msec <= 0 || !m_pending.count(token))
        return;
    const qint64 deadline = nowMs() + msec;
    m_pending[token].deadline = deadline;
    m_deadlines.emplace(deadline, token);
    armTimer();
}

void Router::armTimer()
{
    if (m_deadlines.empty()) {
        m_timer->stop();
        return;
    }
    const qint64 wait = qMax<qint64>(0, m_deadlines.begin()->first - nowMs());
    m_timer->start(int(qMin<qint64>(wait, 24 * 3600 * 1000)));
}

void Router::onTimer()
{
    const qint64 now = nowMs();
    while (!m_deadlines.empty() && m_deadlines.begin()->first <= now) {
        const auto [deadline, token] = *m_deadlines.begin();
        m_deadlines.erase(m_deadlines.begin());
        auto it = m_pending.find(token);
        if (it == m_pending.end() || it->second.deadline != deadline)
            continue;
        PendingCall &c = it->second;
        c.error = Reply::TimeoutError;
        if (c.originLinkId) {
            m_pending.erase(it);
            continue;
        }
        if (c.reply)
            ReplyPrivate::get(c.reply)->setError(Reply::TimeoutError);
        finishCall(it, nullptr);
    }
    armTimer();
}

} // namespace Plexus
