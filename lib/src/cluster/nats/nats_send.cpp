// SPDX-License-Identifier: MIT
//
// The NATS engine's sending side (RemoteMachines): one sealed envelope per publication, on
// a machine's inbox or, for every master at once, on the cluster's "all" subject.
#include "nats_p.h"
#include "logging_p.h"

#include <QtCore/qdatetime.h>

namespace Plexus {

using namespace BrokerWire;

Envelope NatsTransport::envelope(Channel channel, quint64 sequence) const
{
    Envelope env;
    env.channel = channel;
    env.role = quint8(m_context.local.localRole);
    env.sender = m_self;
    env.epoch = m_epoch;
    env.sequence = sequence;
    env.timestampMs = quint64(QDateTime::currentMSecsSinceEpoch());
    return env;
}

bool NatsTransport::publish(const QByteArray &subject, const QByteArray &reply, const QByteArray &sealed)
{
    if (!m_client || sealed.isEmpty())
        return false;
    const NatsClient::Result r = m_client->publish(subject.constData(), reply.constData(),
                                                   sealed.constData(), int(sealed.size()));
    if (r != NatsClient::Result::Ok)
        qCDebug(lcCluster) << "NATS publish on" << subject << "failed:" << int(r);
    return r == NatsClient::Result::Ok;
}

void NatsTransport::publishPresence(PresenceKind kind, const QByteArray &subject)
{
    Presence p;
    p.kind = kind;
    const QByteArray body = presenceBody(p);
    publish(subject, {}, seal(m_context.brokerKey, envelope(Channel::Presence, ++m_sequencePresence),
                              subject, {body}));
}

qsizetype NatsTransport::bodyLimit() const
{
    // Until a server said its limit, its default (1 MB) is assumed.
    const qint64 server = m_maxPayload > 0 ? m_maxPayload : 1024 * 1024;
    return qsizetype(qMax<qint64>(0, server - Overhead));
}

qsizetype NatsTransport::maxPayloadLength() const
{
    // One frame alone in a body, with the longest target list it could need (PROTOCOL
    // 10.5): a call's outcome does not depend on how many machines it went to.
    const qint64 envelopeBytes = Wire::HeaderSize + 4 + 8 * qint64(m_peers.size());
    return qsizetype(qBound<qint64>(0, bodyLimit() - envelopeBytes, maxMessageLength()));
}

void NatsTransport::hold(QByteArray *body, qsizetype base, MessagePrivate *m,
                         const std::function<void()> &send)
{
    const qsizetype frame = Wire::HeaderSize + m->header.length;
    if (body->size() > base && body->size() + frame > bodyLimit())
        send();   // full: what is held goes first, in order
    appendFrame(body, m->header, m->data());
    m_router->remoteWritten();   // sent at the end of this batch of work, or now
}

void NatsTransport::flushPeer(Peer &p)
{
    if (p.pending.isEmpty())
        return;
    const QByteArray body = std::move(p.pending);
    const bool asks = p.pendingAsks;
    p.pending.clear();
    p.pendingAsks = false;
    if (!m_client)
        return;
    const QByteArray sealed = seal(m_context.brokerKey, envelope(Channel::Direct, ++m_sequenceDirect[p.machine]),
                                   p.inbox, {body});
    // With a request among them, the reply subject names the machine: if its inbox has no
    // subscriber, the server's "no responders" notice says so at once. Replies alone go
    // without (a caller that is gone waits for nothing; the server has less to do).
    const NatsClient::Result r = m_client->publish(p.inbox.constData(),
                                                   asks ? p.noResponders.constData() : nullptr,
                                                   sealed.constData(), int(sealed.size()));
    if (r != NatsClient::Result::Ok) {
        // Accepted by sendToMachine() already: what waits on the machine fails instead.
        qCWarning(lcCluster) << "NATS: messages to machine" << Qt::hex << p.machine << Qt::dec
                             << "could not be published (" << int(r) << "): its calls fail";
        renewEndpoint(p);
    }
}

void NatsTransport::flushDirect()
{
    const QSet<quint64> machines = std::move(m_pendingPeers);
    m_pendingPeers.clear();
    for (quint64 machine : machines) {
        const auto it = m_peers.find(machine);
        if (it != m_peers.end())
            flushPeer(*it);
    }
}

void NatsTransport::flushAll()
{
    if (m_pendingAll.isEmpty())
        return;
    const QByteArray body = std::move(m_pendingAll);
    const QList<quint64> targets = std::move(m_pendingAllTargets);
    m_pendingAll.clear();
    m_pendingAllTargets.clear();
    if (!m_client)
        return;
    const QByteArray sealed = seal(m_context.brokerKey, envelope(Channel::All, ++m_sequenceAll), m_all, {body});
    const NatsClient::Result r = m_client->publish(m_all.constData(), nullptr, sealed.constData(),
                                                   int(sealed.size()));
    if (r != NatsClient::Result::Ok) {
        qCWarning(lcCluster) << "NATS: a message to every master could not be published (" << int(r)
                             << "): the calls waiting on them fail";
        for (quint64 machine : targets) {
            const auto it = m_peers.find(machine);
            if (it != m_peers.end())
                renewEndpoint(*it);
        }
    }
}

void NatsTransport::flush()
{
    flushAll();
    flushDirect();
}

RemoteMachines::Sent NatsTransport::sendToMachine(quint64 machine, MessagePrivate *m)
{
    const auto it = m_peers.find(machine);
    if (it == m_peers.end() || !it->up || !it->endpoint || !m_client)
        return Sent::Lost;
    if (qsizetype(m->header.length) > maxPayloadLength()) {
        qCWarning(lcCluster) << "message of" << m->header.length << "bytes is longer than NATS carries ("
                             << maxPayloadLength() << "): not sent";
        return Sent::Lost;
    }
    if (m_client->buffered() > m_options.nats.reconnectBufferBytes)
        return Sent::Backpressure;   // away from the server, and its buffer is full
    flushAll();   // what went to every master before this goes first (it may fail calls,
                  // whose handlers may send: the peer is looked up again)
    const auto again = m_peers.find(machine);
    if (again == m_peers.end() || !again->endpoint)
        return Sent::Lost;
    Peer &p = *again;
    m_pendingPeers.insert(machine);
    p.pendingAsks = p.pendingAsks || !(m->header.privateFlags & Wire::Reply);
    hold(&p.pending, 0, m, [this, machine] {
        if (auto peer = m_peers.find(machine); peer != m_peers.end())
            flushPeer(*peer);
    });
    ++p.messagesOut;
    p.bytesOut += quint64(Wire::HeaderSize + m->header.length);
    return Sent::Ok;
}

void NatsTransport::sendToMachines(MessagePrivate *m, const QList<quint64> &machines,
                                   QList<quint64> *full, QList<quint64> *lost)
{
    QList<quint64> targets;
    targets.reserve(machines.size());
    for (quint64 machine : machines) {
        const auto it = m_peers.constFind(machine);
        if (it == m_peers.cend() || !it->up || !it->endpoint || it->isMonitor)
            lost->append(machine);
        else
            targets.append(machine);
    }
    if (targets.isEmpty())
        return;
    if (targets.size() == 1 || !m_client) {
        // One machine: its inbox (and a "no responders" notice if it is gone).
        sendToEach(m, targets, full, lost);
        return;
    }
    if (m_client->buffered() > m_options.nats.reconnectBufferBytes) {
        full->append(targets);
        return;
    }
    // Every master subscribes to the "all" subject: one publication, whatever their number,
    // naming the machines it is for (a master that joined since drops it). Messages of one
    // batch for the same machines share it.
    flushDirect();
    if (!m_pendingAll.isEmpty() && m_pendingAllTargets != targets)
        flushAll();
    if (m_pendingAll.isEmpty()) {
        m_pendingAllTargets = targets;
        m_pendingAll = targetList(targets);
    }
    const qsizetype base = 4 + 8 * targets.size();
    hold(&m_pendingAll, base, m, [this, targets, base] {
        flushAll();
        m_pendingAllTargets = targets;
        m_pendingAll = targetList(targets);
    });
    for (quint64 machine : std::as_const(targets)) {
        Peer &p = m_peers[machine];
        ++p.messagesOut;
        p.bytesOut += quint64(Wire::HeaderSize + m->header.length);
    }
}

void NatsTransport::refuse(quint64 machine, FrameError reason)
{
    Q_EMIT rejected(QStringLiteral("nats:machine %1").arg(machine, 0, 16), reason,
                    QStringLiteral("message refused"));
}

qsizetype NatsTransport::queuedBytes(quint64 machine) const
{
    Q_UNUSED(machine);
    // One connection carries every machine's traffic: what it holds back holds back all.
    return m_client ? m_client->buffered() : 0;
}

} // namespace Plexus
