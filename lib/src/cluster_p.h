// SPDX-License-Identifier: MIT
#pragma once

#include "crypto_p.h"
#include "link_p.h"

#include <plexus/clusteroptions.h>
#include <plexus/peerinfo.h>

#include <QtCore/qdatetime.h>
#include <QtCore/qhash.h>
#include <QtCore/qobject.h>
#include <QtCore/qpointer.h>

QT_BEGIN_NAMESPACE
class QHostAddress;
class QTimer;
QT_END_NAMESPACE

namespace Plexus {

class Discovery;
class MessagePrivate;
class Router;
class TcpLink;
struct Endpoint;

/*
    What the Node asks of whatever carries its traffic to other machines. Routing knows
    none of it: the router sends to Endpoint::Kind::Machine endpoints through their Link,
    whatever backs that link, and a transport only makes, admits and loses those endpoints.
    The built-in full mesh (TcpCluster: UDP discovery plus one TCP link per machine pair) is
    the transport today; a broker engine for larger clusters implements the same interface.
*/
class ClusterTransport : public QObject
{
    Q_OBJECT
public:
    using QObject::QObject;
    ~ClusterTransport() override;

    virtual bool listen(const ClusterOptions &options, QString *error) = 0;
    virtual quint16 port() const = 0;
    // Keeps a link to the master at host:port (manual peers, other subnets).
    virtual void connectToPeer(const QString &host, quint16 port) = 0;
    virtual QList<PeerInfo> peers() const = 0;
    virtual void stop() = 0;

    // The RouterHost calls that concern links this transport made.
    virtual quint32 admit(Link *link, const PeerIdentity &peer, FrameError *error) = 0;
    virtual void endpointConnected(Endpoint *endpoint) = 0;
    virtual void endpointLost(Endpoint *endpoint) = 0;
    virtual void unadmittedLinkClosed(Link *link) = 0;
    virtual void controlReceived(Endpoint *endpoint, MessagePrivate *message) = 0;

Q_SIGNALS:
    void peerConnected(const Plexus::PeerInfo &peer);
    void peerDisconnected(const Plexus::PeerInfo &peer);
    // Input that never reached a link (discovery datagrams) was refused.
    void rejected(const QString &peer, Plexus::FrameError reason);
    // The machine at \a peer closed a link we dialed inside the key exchange.
    void handshakeRefused(const QString &peer);
};

/*
    The full mesh (docs/CLUSTER.md): a QTcpServer for the links other masters open, UDP
    discovery, and one admitted link per remote machine. Who keeps which link is decided
    the same way on both sides: the canonical link is the one whose connecting side has the
    smaller machine id, so on discovery only the smaller id dials; a link that is not
    canonical is kept only while no canonical one exists. Heartbeats find silent peers;
    dials that fail or links that are lost are retried with jittered exponential backoff.
*/
class TcpCluster final : public ClusterTransport
{
    Q_OBJECT
public:
    // \a base: the local side of every cluster link (role, identity, limits).
    TcpCluster(Router *router, const LinkSetup &base, const CryptoKey &discoveryKey,
               QObject *parent = nullptr);
    ~TcpCluster() override;

    bool listen(const ClusterOptions &options, QString *error) override;
    quint16 port() const override { return m_port; }
    void connectToPeer(const QString &host, quint16 port) override;
    QList<PeerInfo> peers() const override;
    void stop() override;

    quint32 admit(Link *link, const PeerIdentity &peer, FrameError *error) override;
    void endpointConnected(Endpoint *endpoint) override;
    void endpointLost(Endpoint *endpoint) override;
    void unadmittedLinkClosed(Link *link) override;
    void controlReceived(Endpoint *endpoint, MessagePrivate *message) override;

    // Reconnect delay after \a attempts failures: min × 2^attempts capped at max, times a
    // random factor in [0.5, 1.5].
    static int backoffMs(int attempts, int minMs, int maxMs);

private:
    struct Dial {
        QString host;
        quint16 port = 0;
        quint64 machine = 0;        // expected (discovery) or learned (manual); 0: not yet
        QPointer<Link> link;        // the attempt in progress, or the admitted link
        qint64 startedAt = 0;
        qint64 nextAt = 0;
        int attempts = 0;
        bool resolving = false;     // a host name being looked up
    };
    struct Peer {
        quint64 machine = 0;
        quint32 endpoint = 0;
        QPointer<Link> link;
        QDateTime since;
        double roundTripMs = -1;
    };

    LinkSetup linkSetup(Handshake::Side side) const;
    bool listenAsPeer(const ClusterOptions &options, QString *error);
    void watchDiscovery();
    void startTimers();
    class Server;
    void onNewConnection(int fd);
    void onAnnounced(quint64 machine, const QString &host, quint16 port);
    void tick();
    void startDial(Dial &dial);
    void connectDial(Dial &dial, const QHostAddress &address);
    void dialFailed(Dial &dial);
    void heartbeat();
    bool isConnected(quint64 machine) const;
    Dial *dialFor(const Link *link);
    PeerInfo infoOf(const Peer &peer) const;

    Router *m_router;
    LinkSetup m_base;
    CryptoKey m_discoveryKey;
    ClusterOptions m_options;
    quint16 m_port = 0;
    Server *m_server = nullptr;
    Discovery *m_discovery = nullptr;
    QTimer *m_tickTimer = nullptr;
    QTimer *m_heartbeatTimer = nullptr;
    QList<Dial> m_dials;
    QHash<quint64, Peer> m_peers;            // by machine id: the admitted link
    QHash<quint64, quint16> m_announcedPorts;
    QList<QPointer<Link>> m_handshaking;     // accepted links not yet admitted
};

} // namespace Plexus
