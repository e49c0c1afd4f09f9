// SPDX-License-Identifier: MIT
//
// What the router receives, from its links and from the cluster transport, and how the
// writes of a batch of work leave together (corking). (Router itself: router.cpp.)
#include "router_p.h"
#include "logging_p.h"
#include "stats_p.h"

#include <QtCore/qmetaobject.h>

namespace Plexus {

FrameError Router::linkHello(Link *link, const PeerIdentity &peer)
{
    FrameError error = FrameError::NoError;
    const quint32 id = m_host->admit(link, peer, &error);
    if (!id && error == FrameError::NoError) {
        link->close();   // refused without blame (a second link to one machine)
        return FrameError::NoError;
    }
    if (!id)
        return error;
    link->endpoint = id;
    return FrameError::NoError;
}

void Router::linkFrame(Link *link, MessagePrivate *frame)
{
    Endpoint *e = m_endpoints.value(link->endpoint);
    if (!e) {
        if (!frame->ref.deref())
            delete frame;
        return;
    }
    receive(frame, e);
}

void Router::machineMessage(quint32 endpoint, MessagePrivate *m)
{
    Endpoint *e = m_endpoints.value(endpoint);
    if (!e || e->kind != Endpoint::Kind::Machine) {
        if (!m->ref.deref())
            delete m;
        return;
    }
    receive(m, e);
}

void Router::receive(MessagePrivate *frame, Endpoint *e)
{
    QExplicitlySharedDataPointer<MessagePrivate> m(frame, QAdoptSharedDataTag{});
    m_stats->countIn(m->header.privateFlags, Wire::HeaderSize + m->header.length);
    if (Q_UNLIKELY(m_traceHook))
        m_traceHook->received(*m);
    const quint16 pf = m->header.privateFlags;
    if (Q_UNLIKELY(pf & Wire::Cancel)) {
        if (pf != Wire::Cancel || m->header.length != 0)
            refuse(e, FrameError::UnexpectedFrame);   // a cancel carries nothing else
        else
            receiveCancel(e, m->header.token);
        return;
    }
    if (pf & Wire::Control) {
        m_host->controlReceived(e, m.data());
    } else if (pf & Wire::Reply) {
        m_calls.handleReply(m.data(), e->id);
    } else if (m_waitingForDrain) {
        m_deferredBytes += Wire::HeaderSize + m->header.length;
        m_deferred.append({m, e->id});
    } else {
        // Requests deferred by a wait that has ended go first, in order. (Deferring more
        // until the posted drain ran had no bound: a busy reader deferred a whole burst.)
        if (!m_deferred.isEmpty())
            drainDeferred();
        deliverRequest(m.data(), e);
    }
}

void Router::deliverRequest(MessagePrivate *m, Endpoint *from)
{
    const quint16 pf = m->header.privateFlags;
    // A fan-out from a local worker, or a broadcast from another machine, is relayed; a
    // cluster message from another machine is for this master alone.
    const bool fromMachine = from->kind == Endpoint::Kind::Machine;
    if (!m_isWorker && (pf & (Wire::Workers | Wire::Cluster))
        && (!fromMachine || (pf & Wire::Workers))) {
        relay(m, from);
        return;
    }
    m->route = from->route;
    if (m_dispatcher.dispatch(m, from->id, from->isExec) == Dispatcher::Result::Refused)
        refuse(from, FrameError::UnexpectedFrame);
}

void Router::receiveCancel(Endpoint *from, quint64 token)
{
    // Cancels for calls that ended here, or that no call here matches (foreign, forged),
    // are counted and change nothing: a request that is not marked is answered as usual,
    // and the route forgets its oldest marks past a bound.
    Stats::bump(m_stats->process.cancelsReceived);
    if (!m_isWorker && m_calls.cancelRelay(from->id, token))
        return;   // a fan-out this master relays: its targets were told
    from->route->cancel(token);
}

void Router::refuse(Endpoint *from, FrameError reason)
{
    if (from->link)
        m_host->securityEvent(from->link, reason);
    else if (from->kind == Endpoint::Kind::Machine && m_remote)
        m_remote->refuse(from->machine, reason);
}

void Router::drainDeferred()
{
    if (m_waitingForDrain)
        return;   // the wait that is still running posts another drain when it ends
    const Cork cork(this);
    auto batch = std::move(m_deferred);
    m_deferred.clear();
    m_deferredBytes = 0;
    for (auto &d : batch) {
        if (Endpoint *e = m_endpoints.value(d.endpoint))
            deliverRequest(d.message.data(), e);
        d.message.reset();
    }
}

void Router::linkRejected(Link *link, FrameError reason)
{
    m_host->securityEvent(link, reason);
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
    link->flush();
    ++m_cork;
    QMetaObject::invokeMethod(this, &Router::uncork, Qt::QueuedConnection);
}

void Router::remoteWritten()
{
    if (m_cork > 0) {
        m_remoteDirty = true;
        return;
    }
    // Corked first: what the flush itself makes write (a failure failing calls) waits for
    // the end of this turn instead of flushing inside the flush.
    ++m_cork;
    if (m_remote)
        m_remote->flush();
    QMetaObject::invokeMethod(this, &Router::uncork, Qt::QueuedConnection);
}

bool Router::linkMayReadWhileWaiting(Link *)
{
    // Not while the requests deferred meanwhile already hold a high-water mark's worth.
    return m_deferredBytes < m_highWater;
}

void Router::linkReading(Link *, bool begin)
{
    if (begin)
        ++m_cork;
    else
        uncork();
}

void Router::uncork()
{
    if (--m_cork > 0)
        return;
    while (!m_dirty.isEmpty() || m_remoteDirty) {
        const QList<QPointer<Link>> dirty = std::move(m_dirty);
        m_dirty.clear();
        for (const QPointer<Link> &link : dirty) {
            if (!link)
                continue;
            link->dirty = false;
            if (link->isOpen())
                link->flush();
        }
        if (m_remoteDirty) {
            m_remoteDirty = false;
            if (m_remote)
                m_remote->flush();
        }
    }
}

} // namespace Plexus
