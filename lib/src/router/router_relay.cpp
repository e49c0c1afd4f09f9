// SPDX-License-Identifier: MIT
//
// The master's relay of a worker's fan-out (local() and broadcast() from a worker): the
// master runs it itself, sends it to the other workers, and relays every reply back to the
// calling worker with the fan-out size. (Router itself: router.cpp.)
#include "router_p.h"
#include "authoring_p.h"
#include "stats_p.h"

namespace Plexus {

void Router::relay(MessagePrivate *m, Endpoint *origin)
{
    const quint16 pf = m->header.privateFlags;
    const bool functionPointer = !(pf & Wire::Opcode);
    if (functionPointer && origin->isExec) {
        if (origin->link)
            origin->link->reject(FrameError::UnexpectedFrame);
        else
            refuse(origin, FrameError::UnexpectedFrame);
        return;
    }
    // A broadcast from another machine reaches this machine's processes and goes no
    // further: each message crosses each link once, and nothing loops.
    const bool fromMachine = origin->kind == Endpoint::Kind::Machine;
    if ((pf & Wire::Cluster) && !fromMachine && !m_host->inCluster()) {
        if (pf & Wire::WantReply) {
            QExplicitlySharedDataPointer<MessagePrivate> r(Authoring::reply(
                    *m, ReplyArgs{.done = true}, Wire::Error | Wire::Fanout,
                    quint32(Reply::NotInClusterError)));
            r->header.targets = 1;
            sendToEndpoint(origin, r.data());
        }
        return;
    }
    const bool toSelf = pf & Wire::Workers;   // a worker's local/broadcast includes the master
    QVarLengthArray<Endpoint *, 8> remote;
    if (pf & Wire::Workers) {
        for (Endpoint *e : workerTargets(functionPointer)) {
            if (!(pf & Wire::Others) || e != origin)
                remote.append(e);
        }
    }
    const qsizetype firstMachine = remote.size();
    if ((pf & Wire::Cluster) && !fromMachine) {
        for (Endpoint *e : machineTargets())
            remote.append(e);
    }

    quint64 token = 0;
    if (pf & Wire::WantReply) {
        if (!toSelf && remote.isEmpty()) {
            // Tell the caller there is nobody to wait for.
            QExplicitlySharedDataPointer<MessagePrivate> r(
                    Authoring::reply(*m, ReplyArgs{}, Wire::Fanout, 0));
            r->header.targets = 0;
            sendToEndpoint(origin, r.data());
            return;
        }
        token = m_calls.openRelay(origin->id, m->header.token, m->header.flags);
        if (toSelf)
            m_calls.addTarget(token, LoopbackEndpoint);
        // A machine that relays to its workers says its count with its first reply.
        for (qsizetype i = 0; i < remote.size(); ++i)
            m_calls.addTarget(token, remote[i]->id, 1, i < firstMachine || !(pf & Wire::Workers));
    }
    m->header.token = token;
    if (toSelf)
        deliverLocally(remote.isEmpty() ? m : MessagePrivate::copy(*m));
    SendFailures failed;
    sendToAll(m, remote, &failed);
    if (token)
        failParts(token, failed, false);
}

void Router::relayReply(quint32 endpoint, quint64 token, int total, bool final,
                        MessagePrivate *reply)
{
    Endpoint *e = m_endpoints.value(endpoint);
    if (!e || e->state != Endpoint::State::Connected) {
        Stats::bump(m_stats->process.droppedReplies);
        return;
    }
    reply->header.token = token;
    reply->header.targets = quint32(total);
    reply->header.privateFlags = (reply->header.privateFlags & ~quint16(Wire::Pending))
            | Wire::Fanout | (final ? 0 : Wire::Pending);
    sendToEndpoint(e, reply);
}

void Router::relayError(quint32 endpoint, quint64 token, int total, bool final,
                        quint16 userFlags, Reply::Error error, int count)
{
    Endpoint *e = m_endpoints.value(endpoint);
    if (!e || e->state != Endpoint::State::Connected)
        return;
    const quint16 pending = final ? 0 : Wire::Pending;
    for (int i = 0; i < count; ++i) {
        Wire::Header h = Authoring::header(Wire::Reply | Wire::Done | Wire::Error | Wire::Fanout
                                           | pending, 0);
        h.flags = userFlags;
        h.token = token;
        h.targets = quint32(total);
        h.status = quint32(error);
        QExplicitlySharedDataPointer<MessagePrivate> m(MessagePrivate::create(h, Payload()));
        sendToEndpoint(e, m.data());
    }
}

} // namespace Plexus
