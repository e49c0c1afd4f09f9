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

qsizetype NatsTransport::maxPayloadLength() const
{
    // Until a server said its limit, its default (1 MB) is assumed. The envelope of an
    // All message also names its machines (≤ 8 bytes each, a few hundred at most).
    const qint64 server = m_maxPayload > 0 ? m_maxPayload : 1024 * 1024;
    const qint64 envelopeBytes = Overhead + Wire::HeaderSize + 4 + 8 * qint64(m_peers.size());
    return qsizetype(qBound<qint64>(0, server - envelopeBytes, maxMessageLength()));
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
    char header[Wire::HeaderSize];
    Wire::encodeHeader(m->header, header);
    Peer &p = *it;
    const QByteArray sealed = seal(m_context.brokerKey, envelope(Channel::Direct, ++p.sequenceOut),
                                   p.inbox, {QByteArrayView(header, Wire::HeaderSize), m->data()});
    // The reply subject names the machine: if its inbox has no subscriber, the server's
    // "no responders" notice says so at once.
    const NatsClient::Result r = m_client->publish(p.inbox.constData(), p.noResponders.constData(),
                                                   sealed.constData(), int(sealed.size()));
    switch (r) {
    case NatsClient::Result::Ok:
        ++p.messagesOut;
        p.bytesOut += quint64(Wire::HeaderSize + m->header.length);
        return Sent::Ok;
    case NatsClient::Result::Full:
        return Sent::Backpressure;
    default:
        return Sent::Lost;
    }
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
        for (quint64 machine : std::as_const(targets)) {
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
        return;
    }
    // Every master subscribes to the "all" subject: one publication, whatever their number,
    // naming the machines it is for (a master that joined since drops it).
    char header[Wire::HeaderSize];
    Wire::encodeHeader(m->header, header);
    const QByteArray list = targetList(targets);
    const QByteArray sealed = seal(m_context.brokerKey, envelope(Channel::All, ++m_sequenceAll), m_all,
                                   {QByteArrayView(header, Wire::HeaderSize), m->data(), list});
    const NatsClient::Result r = m_client->publish(m_all.constData(), nullptr, sealed.constData(),
                                                   int(sealed.size()));
    if (r == NatsClient::Result::Ok) {
        for (quint64 machine : std::as_const(targets)) {
            Peer &p = m_peers[machine];
            ++p.messagesOut;
            p.bytesOut += quint64(Wire::HeaderSize + m->header.length);
        }
        return;
    }
    (r == NatsClient::Result::Full ? full : lost)->append(targets);
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
