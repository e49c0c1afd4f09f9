// SPDX-License-Identifier: MIT
//
// The router's endpoints: who this process can send to, the traffic held for a process that
// is starting, the start deadline, and what happens when an endpoint connects or goes.
// (Router itself: router.cpp.)
#include "router_p.h"
#include "clock_p.h"
#include "logging_p.h"
#include "stats_p.h"

#include <QtCore/qdeadlinetimer.h>
#include <QtCore/qthread.h>
#include <QtCore/qtimer.h>

#include <algorithm>

namespace Plexus {

Endpoint *Router::createEndpoint(Endpoint::Kind kind, int slot, bool isExec)
{
    auto *e = new Endpoint;
    e->id = m_nextEndpoint++;
    e->kind = kind;
    e->slot = slot;
    e->isExec = isExec;
    e->startedAt = monotonicMs();
    e->route = RouteRef(new Route(e->id));
    m_endpoints.insert(e->id, e);
    if (kind == Endpoint::Kind::Master)
        m_master = e;
    endpointsChanged();
    return e;
}

Endpoint *Router::endpointForPid(qint64 pid) const
{
    if (pid <= 0)
        return nullptr;
    for (Endpoint *e : m_endpoints) {
        if (e->pid == pid && e->kind != Endpoint::Kind::Machine)   // pids are per machine
            return e;
    }
    return nullptr;
}

Endpoint *Router::machineEndpoint(quint64 machine) const
{
    for (Endpoint *e : m_endpoints) {
        if (e->kind == Endpoint::Kind::Machine && e->machine == machine && !e->stalled
            && e->state == Endpoint::State::Connected)
            return e;
    }
    return nullptr;
}

void Router::removeEndpoint(quint32 id, Reply::Error error)
{
    Endpoint *e = m_endpoints.take(id);
    if (!e)
        return;
    endpointsChanged();
    e->route->open.store(false, std::memory_order_release);
    if (e == m_master)
        m_master = nullptr;
    if (e->link)
        e->link->endpoint = 0;
    e->held.clear();
    e->heldBytes = 0;
    m_calls.failEndpoint(id, error);
    delete e;
}

void Router::failHeld(Endpoint *e, Reply::Error error)
{
    const auto held = std::move(e->held);
    e->held.clear();
    e->heldBytes = 0;
    const QVarLengthArray<quint32, 4> target{e->id};
    for (const auto &m : held) {
        if (m->header.token && !(m->header.privateFlags & Wire::Reply))
            m_calls.fail(m->header.token, target, error);
    }
}

void Router::checkStartDeadlines()
{
    const qint64 now = monotonicMs();
    bool waiting = false;
    for (Endpoint *e : std::as_const(m_endpoints)) {
        if (e->state != Endpoint::State::Starting || e->stalled)
            continue;
        if (now - e->startedAt < m_startTimeoutMs) {
            waiting = waiting || !e->held.isEmpty();
            continue;
        }
        if (e->held.isEmpty())
            continue;
        qCWarning(lcWorker) << "worker slot" << e->slot << "did not connect within"
                            << m_startTimeoutMs << "ms; the" << e->held.size()
                            << "messages held for it fail";
        e->stalled = true;
        endpointsChanged();
        failHeld(e, Reply::TargetLostError);
    }
    if (!waiting)
        m_startTimer->stop();
}

const QList<Endpoint *> &Router::workerTargets(bool functionPointer)
{
    if (!m_targetsValid) {
        m_targetCache[0].clear();
        m_targetCache[1].clear();
        for (Endpoint *e : std::as_const(m_endpoints)) {
            if (e->kind != Endpoint::Kind::Worker || e->stalled)
                continue;
            m_targetCache[0].append(e);
            if (!e->isExec)   // another image: a function pointer means nothing there
                m_targetCache[1].append(e);
        }
        // Slot order, so that fan-outs go out in a stable order.
        for (auto &list : m_targetCache)
            std::sort(list.begin(), list.end(), [](Endpoint *a, Endpoint *b) { return a->slot < b->slot; });
        m_machineCache.clear();
        for (Endpoint *e : std::as_const(m_endpoints)) {
            if (e->kind == Endpoint::Kind::Machine && !e->stalled && !e->isMonitor)
                m_machineCache.append(e);
        }
        std::sort(m_machineCache.begin(), m_machineCache.end(),
                  [](Endpoint *a, Endpoint *b) { return a->machine < b->machine; });
        m_targetsValid = true;
    }
    return m_targetCache[functionPointer ? 1 : 0];
}

const QList<Endpoint *> &Router::machineTargets()
{
    workerTargets(false);   // brings every cache up to date
    return m_machineCache;
}

void Router::addLink(Link *link)
{
    link->setParent(this);
    m_links.append(link);
}

qsizetype Router::queuedBytes(const Endpoint *e) const
{
    if (e->kind == Endpoint::Kind::Machine)
        return m_remote ? m_remote->queuedBytes(e->machine) : 0;
    return e->link ? e->link->queuedBytes() : e->heldBytes;
}

quint32 Router::machineConnected(quint64 machine, bool isMonitor)
{
    Endpoint *e = createEndpoint(Endpoint::Kind::Machine, -1, true);   // op-codes only
    e->machine = machine;
    e->isMonitor = isMonitor;
    e->state = Endpoint::State::Connected;
    return e->id;
}

void Router::machineLost(quint32 endpoint)
{
    removeEndpoint(endpoint, Reply::TargetLostError);
}

Router::Sent Router::sendToEndpoint(Endpoint *e, MessagePrivate *m)
{
    if (e->kind == Endpoint::Kind::Machine) {
        if (!m_remote || e->stalled || e->state != Endpoint::State::Connected)
            return Sent::Lost;
        switch (m_remote->sendToMachine(e->machine, m)) {
        case RemoteMachines::Sent::Ok:
            accountSent(*m, e);
            return Sent::Ok;
        case RemoteMachines::Sent::Backpressure:
            return Sent::Backpressure;
        case RemoteMachines::Sent::Lost:
            break;
        }
        return Sent::Lost;
    }
    if (e->state == Endpoint::State::Connected) {
        if (!e->link || !e->link->isOpen())
            return Sent::Lost;
        if (!writeToLink(e->link, m))
            return Sent::Backpressure;
        accountSent(*m, e);
        return Sent::Ok;
    }
    if (e->stalled)
        return Sent::Lost;
    const qsizetype size = Wire::HeaderSize + m->header.length;
    // Our own link to it is still in its handshake (a worker that sends from onStart): a
    // send past the high-water mark waits for the handshake, as it would for a drain.
    if (e->connecting && e->heldBytes + size > m_highWater && m_waitingForDrain == 0
        && QThread::currentThread() == thread()) {
        ++m_waitingForDrain;
        e->connecting->waitForEstablished(BackpressureTimeoutMs);
        --m_waitingForDrain;
        if (!m_deferred.isEmpty())
            QMetaObject::invokeMethod(this, &Router::drainDeferred, Qt::QueuedConnection);
        return e->state == Endpoint::State::Connected ? sendToEndpoint(e, m) : Sent::Lost;
    }
    // Starting: hold it until the process connects, within the same bounds as a link.
    if (e->heldBytes + size > HardLimitFactor * m_highWater) {
        Stats::bump(m_stats->process.backpressureErrors);
        qCWarning(lcIpc) << "worker slot" << e->slot << "is starting and already has"
                         << e->heldBytes << "bytes held: message not sent";
        return Sent::Backpressure;
    }
    e->held.append(QExplicitlySharedDataPointer<MessagePrivate>(m));
    e->heldBytes += size;
    Stats::bump(m_stats->process.heldMessages);
    if (!m_startTimer->isActive())
        m_startTimer->start();
    return Sent::Held;
}

void Router::linkEstablished(Link *link)
{
    Endpoint *e = m_endpoints.value(link->endpoint);
    if (!e) {
        link->close();
        return;
    }
    e->link = link;
    e->connecting.clear();
    e->state = Endpoint::State::Connected;
    e->stalled = false;
    e->pid = link->peer().pid;
    e->isExec = e->isExec || link->peer().isExec;
    endpointsChanged();
    // What was held while the process started goes out first, in order.
    const Cork cork(this);
    const auto held = std::move(e->held);
    e->held.clear();
    e->heldBytes = 0;
    QVarLengthArray<quint32, 4> target{e->id};
    for (const auto &m : held) {
        if (writeToLink(link, m.data()))
            accountSent(*m, e);
        else if (m->header.token && !(m->header.privateFlags & Wire::Reply))
            m_calls.fail(m->header.token, target, Reply::BackpressureError);
    }
    m_host->endpointConnected(e);
}

void Router::linkClosed(Link *link)
{
    if (!m_links.removeOne(link))
        return;
    const quint32 id = link->endpoint;
    link->endpoint = 0;
    Endpoint *e = m_endpoints.value(id);
    if (e && e->link == link) {
        e->link = nullptr;
        m_host->endpointLost(e, link->peer());
        removeEndpoint(id, Reply::TargetLostError);
    } else if (link->establishedAt() == 0) {
        m_host->unadmittedLinkClosed(link);
    }
    link->deleteLater();
}

} // namespace Plexus
