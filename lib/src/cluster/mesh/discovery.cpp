// SPDX-License-Identifier: MIT
#include "discovery_p.h"
#include "logging_p.h"

#include <QtCore/qdatetime.h>
#include <QtCore/qtimer.h>
#include <QtNetwork/qnetworkdatagram.h>
#include <QtNetwork/qnetworkinterface.h>
#include <QtNetwork/qudpsocket.h>

namespace Plexus {

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
    const QByteArray datagram = DiscoveryWire::announcement(m_key, m_machine, m_tcpPort, m_role);
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
        FrameError e = DiscoveryWire::parse(d.data(), m_key, &a, &h);
        if (e == FrameError::NoError && a.machine == m_machine)
            continue;   // our own, looped back by the broadcast
        bool duplicate = false;
        if (e == FrameError::NoError)
            e = m_replay.check(a.machine, h.id, h.timestamp, now, &duplicate);
        if (duplicate) {
            ++m_duplicates;   // the same sending by another broadcast address: not an attack
            continue;
        }
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
