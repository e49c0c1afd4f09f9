// SPDX-License-Identifier: MIT
#pragma once

#include "crypto_p.h"
#include "discovery_wire_p.h"

#include <QtCore/qlist.h>
#include <QtCore/qobject.h>
#include <QtNetwork/qhostaddress.h>

QT_BEGIN_NAMESPACE
class QTimer;
class QUdpSocket;
QT_END_NAMESPACE

namespace Plexus {

/*
    UDP discovery of the masters of a cluster (docs/PROTOCOL.md section 9). Each master
    announces itself periodically, by UDP broadcast and to a list of extra addresses, on the
    cluster port number. An announcement is a single message sealed under the discovery key
    (derived from the cluster secret): it carries the protocol version, the machine id, the
    TCP port and the sender's role. A receiver accepts it only if it authenticates, is inside
    the time window and was not seen before (machine id + message id); anything else is
    dropped and counted, except a second copy of one sending (the sender writes to every
    broadcast address it has), which is dropped and counted as a duplicate only. A flood of datagrams is read in slices so that it cannot stall the
    event loop. The datagram format and the replay rules are in discovery_wire_p.h.
*/
class Discovery : public QObject
{
    Q_OBJECT
public:
    static constexpr int ReadSlice = 128;   // datagrams per event-loop pass

    // An accepted announcement: what the datagram says, and who sent it.
    struct Announcement : DiscoveryWire::Announcement
    {
        QHostAddress address;
    };

    Discovery(const CryptoKey &key, quint64 machine, quint8 role, QObject *parent = nullptr);
    ~Discovery() override;

    // Binds the UDP socket on \a port (all IPv4 addresses, shared with other processes).
    bool bind(quint16 port, QString *error);
    void setTcpPort(quint16 port) { m_tcpPort = port; }
    // Besides the limited broadcast, announcements go to these (tests, routed networks).
    void setExtraTargets(const QList<QPair<QHostAddress, quint16>> &targets);
    void setBroadcast(bool on) { m_broadcast = on; }
    void setInterval(int msec);
    void start();
    void announceNow();

    quint64 accepted() const noexcept { return m_accepted; }
    // Second copies of an accepted announcement (DiscoveryWire::DuplicateWindowMs), dropped
    // without a security event.
    quint64 duplicates() const noexcept { return m_duplicates; }

Q_SIGNALS:
    void announced(const Plexus::Discovery::Announcement &announcement);
    // A datagram from \a peer was refused for \a reason.
    void rejected(const QString &peer, Plexus::FrameError reason);

private:
    void readPending();

    CryptoKey m_key;
    quint64 m_machine;
    quint8 m_role;
    quint16 m_udpPort = 0;
    quint16 m_tcpPort = 0;
    bool m_broadcast = true;
    QUdpSocket *m_socket = nullptr;
    QTimer *m_timer = nullptr;
    QList<QPair<QHostAddress, quint16>> m_extra;
    DiscoveryWire::ReplayFilter m_replay;
    quint64 m_accepted = 0;
    quint64 m_duplicates = 0;
    bool m_readScheduled = false;
};

} // namespace Plexus
