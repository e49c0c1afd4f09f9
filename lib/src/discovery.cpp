// SPDX-License-Identifier: MIT
#include "discovery_p.h"
#include "logging_p.h"

#include <QtCore/qdatetime.h>
#include <QtCore/qendian.h>
#include <QtCore/qtimer.h>
#include <QtNetwork/qnetworkdatagram.h>
#include <QtNetwork/qnetworkinterface.h>
#include <QtNetwork/qudpsocket.h>

namespace Plexus {

// ---------------------------------------------------------------------------------------
// Datagram format

QByteArray Discovery::announcement(const CryptoKey &key, quint64 machine, quint16 tcpPort,
                                   quint8 role)
{
    Wire::Header h;
    h.privateFlags = Wire::Control;
    h.target = Wire::ControlAnnounce;
    h.timestamp = quint64(QDateTime::currentMSecsSinceEpoch());
    h.id = Crypto::nextId();
    h.originMachine = machine;
    h.originSlot = -1;
    char payload[PayloadSize] = {};
    qToLittleEndian<quint16>(Wire::ProtocolVersion, payload);
    qToLittleEndian<quint16>(tcpPort, payload + 2);
    payload[4] = char(role);
    return Wire::sealMessage(h, QByteArrayView(payload, PayloadSize), key);
}

FrameError Discovery::parse(QByteArrayView datagram, const CryptoKey &key, Announcement *out,
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

FrameError Discovery::ReplayFilter::check(quint64 machine, quint64 id, quint64 timestampMs,
                                          qint64 nowMs)
{
    const qint64 ts = qint64(timestampMs);
    if (ts < nowMs - WindowMs || ts > nowMs + WindowMs)
        return FrameError::ReplayedFrame;
    while (!m_order.empty() && (m_order.front().expires <= nowMs
                                || qsizetype(m_order.size()) >= SeenCapacity)) {
        m_seen.remove({m_order.front().machine, m_order.front().id});
        m_order.pop_front();
    }
    const QPair<quint64, quint64> key{machine, id};
    if (m_seen.contains(key))
        return FrameError::ReplayedFrame;
    // Remembered for as long as its timestamp stays inside the window.
    const qint64 expires = ts + WindowMs;
    m_seen.insert(key, expires);
    m_order.push_back({machine, id, expires});
    return FrameError::NoError;
}

// ---------------------------------------------------------------------------------------
// Discovery

Discovery::Discovery(const CryptoKey &key, quint64 machine, quint8 role, QObject *parent)
    : QObject(parent), m_key(key), m_machine(machine), m_role(role)
{
    m_timer = new QTimer(this);
    m_timer->setInterval(2000);
    connect(m_timer, &QTimer::timeout, this, &Discovery::announceNow);
}

Discovery::~Discovery() = default;

bool Discovery::bind(quint16 port, QString *error)
{
    m_socket = new QUdpSocket(this);
    if (!m_socket->bind(QHostAddress::AnyIPv4, port,
                        QUdpSocket::ShareAddress | QUdpSocket::ReuseAddressHint)) {
        *error = QStringLiteral("cannot bind UDP port %1 for discovery: %2")
                         .arg(port).arg(m_socket->errorString());
        delete m_socket;
        m_socket = nullptr;
        return false;
    }
    m_udpPort = m_socket->localPort();
    connect(m_socket, &QUdpSocket::readyRead, this, &Discovery::readPending);
    return true;
}

void Discovery::setExtraTargets(const QList<QPair<QHostAddress, quint16>> &targets)
{
    m_extra = targets;
}

void Discovery::setInterval(int msec)
{
    m_timer->setInterval(qMax(50, msec));
}

void Discovery::start()
{
    m_timer->start();
    announceNow();
}

void Discovery::announceNow()
{
    if (!m_socket)
        return;
    const QByteArray datagram = announcement(m_key, m_machine, m_tcpPort, m_role);
    if (m_broadcast) {
        // The limited broadcast leaves by the default route only (and fails without one),
        // so each interface's own broadcast address gets a copy too.
        m_socket->writeDatagram(datagram, QHostAddress::Broadcast, m_udpPort);
        const auto interfaces = QNetworkInterface::allInterfaces();
        for (const QNetworkInterface &i : interfaces) {
            const auto flags = i.flags();
            if (!(flags & QNetworkInterface::IsUp) || !(flags & QNetworkInterface::CanBroadcast))
                continue;
            for (const QNetworkAddressEntry &entry : i.addressEntries()) {
                if (!entry.broadcast().isNull())
                    m_socket->writeDatagram(datagram, entry.broadcast(), m_udpPort);
            }
        }
    }
    for (const auto &[address, port] : std::as_const(m_extra))
        m_socket->writeDatagram(datagram, address, port ? port : m_udpPort);
}

void Discovery::readPending()
{
    m_readScheduled = false;
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    for (int i = 0; i < ReadSlice && m_socket && m_socket->hasPendingDatagrams(); ++i) {
        const QNetworkDatagram d = m_socket->receiveDatagram(1024);
        const QString peer = QStringLiteral("udp:%1").arg(d.senderAddress().toString());
        Announcement a;
        Wire::Header h;
        FrameError e = parse(d.data(), m_key, &a, &h);
        if (e == FrameError::NoError && a.machine == m_machine)
            continue;   // our own, looped back by the broadcast
        if (e == FrameError::NoError)
            e = m_replay.check(a.machine, h.id, h.timestamp, now);
        if (e != FrameError::NoError) {
            Q_EMIT rejected(peer, e);
            continue;
        }
        ++m_accepted;
        a.address = d.senderAddress();
        Q_EMIT announced(a);
    }
    // More waiting: go on after the rest of the event loop had its turn.
    if (m_socket && m_socket->hasPendingDatagrams() && !m_readScheduled) {
        m_readScheduled = true;
        QTimer::singleShot(0, this, &Discovery::readPending);
    }
}

} // namespace Plexus
