// SPDX-License-Identifier: MIT
#include "discovery_wire_p.h"

#include <QtCore/qdatetime.h>
#include <QtCore/qendian.h>

namespace Plexus::DiscoveryWire {

QByteArray announcement(const CryptoKey &key, quint64 machine, quint16 tcpPort, quint8 role)
{
    const Announcement a{.machine = machine, .version = Wire::ProtocolVersion, .port = tcpPort,
                         .role = role};
    return seal(key, a, quint64(QDateTime::currentMSecsSinceEpoch()), Crypto::nextId());
}

QByteArray seal(const CryptoKey &key, const Announcement &a, quint64 timestampMs, quint64 id)
{
    Wire::Header h;
    h.privateFlags = Wire::Control;
    h.target = Wire::ControlAnnounce;
    h.timestamp = timestampMs;
    h.id = id;
    h.originMachine = a.machine;
    h.originSlot = -1;
    char payload[PayloadSize] = {};
    qToLittleEndian<quint16>(a.version, payload);
    qToLittleEndian<quint16>(a.port, payload + 2);
    payload[4] = char(a.role);
    return Wire::sealMessage(h, QByteArrayView(payload, PayloadSize), key);
}

FrameError parse(QByteArrayView datagram, const CryptoKey &key, Announcement *out,
                 Wire::Header *header)
{
    Wire::Header h;
    QByteArray payload;
    const FrameError e = Wire::openMessage(datagram, key, PayloadSize, &h, &payload);
    if (e != FrameError::NoError)
        return e;
    if (h.privateFlags != Wire::Control || h.target != Wire::ControlAnnounce
        || payload.size() != PayloadSize || h.originMachine == 0)
        return FrameError::MalformedHeader;
    for (qsizetype i = 5; i < PayloadSize; ++i) {
        if (payload[i] != 0)
            return FrameError::MalformedHeader;
    }
    out->machine = h.originMachine;
    out->version = qFromLittleEndian<quint16>(payload.constData());
    out->port = qFromLittleEndian<quint16>(payload.constData() + 2);
    out->role = quint8(payload[4]);
    if (header)
        *header = h;
    if (out->version != Wire::ProtocolVersion)
        return FrameError::VersionMismatch;
    if (out->port == 0 || (out->role != 1 && out->role != 3))
        return FrameError::MalformedHeader;
    return FrameError::NoError;
}

FrameError ReplayFilter::check(quint64 machine, quint64 id, quint64 timestampMs, qint64 nowMs,
                               bool *duplicate)
{
    if (duplicate)
        *duplicate = false;
    const qint64 ts = qint64(timestampMs);
    if (ts < nowMs - WindowMs || ts > nowMs + WindowMs)
        return FrameError::ReplayedFrame;
    const auto forgetOldest = [this] {
        m_seen.remove({m_order.front().machine, m_order.front().id});
        m_order.pop_front();
    };
    // An entry goes once its timestamp is older than the window: one exactly WindowMs old
    // still passes the test above, so it must still be remembered here.
    while (!m_order.empty() && m_order.front().expires < nowMs)
        forgetOldest();
    const QPair<quint64, quint64> key{machine, id};
    if (const auto seen = m_seen.constFind(key); seen != m_seen.cend()) {
        if (duplicate)
            *duplicate = nowMs >= *seen && nowMs - *seen <= DuplicateWindowMs;
        return FrameError::ReplayedFrame;
    }
    // Only a new pair makes room, so that a replay of the oldest one is still refused.
    while (qsizetype(m_order.size()) >= m_capacity)
        forgetOldest();
    // Remembered for as long as its timestamp stays inside the window.
    const qint64 expires = ts + WindowMs;
    m_seen.insert(key, nowMs);
    m_order.push_back({machine, id, expires});
    return FrameError::NoError;
}

} // namespace Plexus::DiscoveryWire
