// SPDX-License-Identifier: MIT
//
// The cluster's full mesh: TCP links between masters, found by UDP discovery
// (docs/CLUSTER.md, docs/PROTOCOL.md section 9).
#include "cluster_p.h"
#include "discovery_p.h"
#include "link_tcp_p.h"
#include "logging_p.h"
#include "router_p.h"

#include <QtCore/qdeadlinetimer.h>
#include <QtCore/qendian.h>
#include <QtCore/qrandom.h>
#include <QtCore/qtimer.h>
#include <QtNetwork/qhostinfo.h>
#include <QtNetwork/qtcpserver.h>

#include <algorithm>
#include <cmath>

namespace Plexus {

namespace {
qint64 monotonicMs()
{
    return QDeadlineTimer::current().deadline();
}
} // namespace

// QTcpServer does the listening, the accept loop and its back-off; each accepted
// descriptor becomes a TcpLink at once, with no QTcpSocket in between.
class TcpCluster::Server : public QTcpServer
{
public:
    explicit Server(TcpCluster *cluster) : QTcpServer(cluster), m_cluster(cluster) { }

protected:
    void incomingConnection(qintptr fd) override { m_cluster->onNewConnection(int(fd)); }

private:
    TcpCluster *m_cluster;
};

ClusterTransport::~ClusterTransport() = default;

TcpCluster::TcpCluster(Router *router, const LinkSetup &base, const CryptoKey &discoveryKey,
                       QObject *parent)
    : ClusterTransport(parent), m_router(router), m_base(base), m_discoveryKey(discoveryKey)
{
    m_base.scope = Handshake::Scope::Cluster;
}

TcpCluster::~TcpCluster()
{
    stop();
}

int TcpCluster::backoffMs(int attempts, int minMs, int maxMs)
{
    const double base = std::min(double(maxMs), double(minMs) * std::pow(2.0, qMin(attempts, 20)));
    return int(base * (0.5 + QRandomGenerator::global()->generateDouble()));
}

LinkSetup TcpCluster::linkSetup(Handshake::Side side) const
{
    LinkSetup s = m_base;
    s.side = side;
    s.handshakeTimeoutMs = m_options.handshakeTimeoutMs;
    return s;
}

bool TcpCluster::listen(const ClusterOptions &options, QString *error)
{
    m_options = options;
    if (m_base.localRole == PeerRole::Peer)
        return listenAsPeer(options, error);
    m_server = new Server(this);
    // Qt's default backlog (50) overflows under a connection flood, and the kernel then
    // drops a legitimate peer's SYN silently; unfinished links are bounded separately.
    m_server->setListenBacklogSize(1024);
    if (!m_server->listen(options.bindAddress, options.port)) {
        *error = QStringLiteral("cannot listen on TCP port %1 for the cluster: %2")
                         .arg(options.port).arg(m_server->errorString());
        delete m_server;
        m_server = nullptr;
        return false;
    }
    m_port = m_server->serverPort();
    // Accepting stops when the process runs out of descriptors; try again shortly.
    connect(m_server, &QTcpServer::acceptError, this, [this](QAbstractSocket::SocketError e) {
        qCWarning(lcCluster) << "cannot accept a cluster connection:" << e;
        m_server->pauseAccepting();
        QTimer::singleShot(100, m_server, [s = m_server] { s->resumeAccepting(); });
    });

    m_discovery = new Discovery(m_discoveryKey, m_base.localMachine, quint8(m_base.localRole), this);
    if (!m_discovery->bind(m_port, error)) {
        delete m_discovery;
        m_discovery = nullptr;
        delete m_server;
        m_server = nullptr;
        m_port = 0;
        return false;
    }
    m_discovery->setTcpPort(m_port);
    m_discovery->setBroadcast(options.broadcast);
    m_discovery->setExtraTargets(options.announceTo);
    m_discovery->setInterval(options.announceIntervalMs);
    watchDiscovery();
    startTimers();
    m_discovery->start();
    qCInfo(lcCluster) << "machine" << Qt::hex << m_base.localMachine << Qt::dec
                      << "joined the cluster on port" << m_port;
    return true;
}

bool TcpCluster::listenAsPeer(const ClusterOptions &options, QString *error)
{
    // A peer (a monitor) only listens to discovery, if at all, and dials; nobody dials it,
    // so it has no TCP server and never announces itself.
    if (options.port) {
        m_discovery = new Discovery(m_discoveryKey, m_base.localMachine, quint8(m_base.localRole), this);
        if (!m_discovery->bind(options.port, error)) {
            delete m_discovery;
            m_discovery = nullptr;
            return false;
        }
        watchDiscovery();
    }
    startTimers();
    qCInfo(lcCluster) << "peer" << Qt::hex << m_base.localMachine << Qt::dec << "watching the cluster"
                      << (options.port ? "on discovery port" : "without discovery") << options.port;
    return true;
}

void TcpCluster::watchDiscovery()
{
    connect(m_discovery, &Discovery::announced, this, [this](const Discovery::Announcement &a) {
        if (a.role == quint8(PeerRole::Master))   // peers never announce; nobody dials one
            onAnnounced(a.machine, a.address.toString(), a.port);
    });
    connect(m_discovery, &Discovery::rejected, this, &ClusterTransport::rejected);
}

void TcpCluster::startTimers()
{
    m_tickTimer = new QTimer(this);
    m_tickTimer->setInterval(100);
    connect(m_tickTimer, &QTimer::timeout, this, &TcpCluster::tick);
    m_tickTimer->start();
    m_heartbeatTimer = new QTimer(this);
    m_heartbeatTimer->setInterval(qMax(10, m_options.heartbeatIntervalMs));
    connect(m_heartbeatTimer, &QTimer::timeout, this, &TcpCluster::heartbeat);
    m_heartbeatTimer->start();
}

void TcpCluster::stop()
{
    delete m_tickTimer;
    m_tickTimer = nullptr;
    delete m_heartbeatTimer;
    m_heartbeatTimer = nullptr;
    delete m_discovery;
    m_discovery = nullptr;
    delete m_server;
    m_server = nullptr;
    m_dials.clear();
}

void TcpCluster::connectToPeer(const QString &host, quint16 port)
{
    for (const Dial &d : std::as_const(m_dials)) {
        if (d.host == host && d.port == port)
            return;
    }
    Dial d;
    d.host = host;
    d.port = port;
    m_dials.append(d);
    startDial(m_dials.last());
}

// ---------------------------------------------------------------------------------------
// Making links

void TcpCluster::onNewConnection(int fd)
{
    // Connections that never finish the handshake cost bounded memory and descriptors:
    // past the cap the oldest unfinished one goes.
    m_handshaking.removeIf([](const QPointer<Link> &l) { return !l || !l->isOpen(); });
    while (m_handshaking.size() >= qMax(1, m_options.maxPendingConnections)) {
        QPointer<Link> oldest = m_handshaking.takeFirst();
        if (oldest)
            oldest->shed();
    }
    auto *link = new TcpLink(m_router, linkSetup(Handshake::Side::Acceptor), fd);
    m_handshaking.append(link);
    m_router->addLink(link);
    link->start();
}

void TcpCluster::onAnnounced(quint64 machine, const QString &host, quint16 port)
{
    m_announcedPorts.insert(machine, port);
    // Only the smaller id dials, so that both sides agree on one link per pair; a peer
    // (monitor) dials every master, since no master dials a peer.
    if (machine < m_base.localMachine && m_base.localRole != PeerRole::Peer)
        return;
    for (Dial &d : m_dials) {
        if (d.machine != machine)
            continue;
        if (!d.link && !isConnected(machine)) {
            d.host = host;   // it may have moved
            d.port = port;
            // Fresh evidence that it is up: do not sit out a long backoff.
            d.nextAt = qMin(d.nextAt, monotonicMs() + backoffMs(0, 50, 50));
        }
        return;
    }
    if (isConnected(machine))
        return;   // it dialed us (connectToPeer on its side)
    Dial d;
    d.host = host;
    d.port = port;
    d.machine = machine;
    m_dials.append(d);
    startDial(m_dials.last());
}

void TcpCluster::startDial(Dial &d)
{
    if (d.link || d.resolving || (d.machine && isConnected(d.machine)))
        return;
    d.startedAt = monotonicMs();
    const QHostAddress address(d.host);
    if (address.isNull()) {
        // A host name (connectToPeer): resolve it first, without blocking.
        d.resolving = true;
        QHostInfo::lookupHost(d.host, this, [this, host = d.host, port = d.port](const QHostInfo &info) {
            for (Dial &dial : m_dials) {
                if (dial.host != host || dial.port != port || !dial.resolving)
                    continue;
                dial.resolving = false;
                const QList<QHostAddress> addresses = info.addresses();
                if (addresses.isEmpty()) {
                    qCWarning(lcCluster) << "cannot resolve peer" << host << info.errorString();
                    dialFailed(dial);
                } else {
                    connectDial(dial, addresses.first());
                }
                return;
            }
        });
        return;
    }
    connectDial(d, address);
}

void TcpCluster::connectDial(Dial &d, const QHostAddress &address)
{
    QString why;
    TcpLink *link = TcpLink::connectTo(m_router, linkSetup(Handshake::Side::Connector), address,
                                       d.port, &why);
    qCDebug(lcCluster) << "dialing" << address.toString() << d.port << "attempt" << d.attempts + 1;
    if (!link) {
        qCDebug(lcCluster) << "cannot connect to" << address.toString() << d.port << why;
        dialFailed(d);
        return;
    }
    m_router->addLink(link);
    d.link = link;
    d.startedAt = monotonicMs();
}

void TcpCluster::dialFailed(Dial &d)
{
    d.link.clear();
    const int delay = backoffMs(d.attempts, m_options.reconnectMinMs, m_options.reconnectMaxMs);
    ++d.attempts;
    d.nextAt = monotonicMs() + delay;
    qCDebug(lcCluster) << "dial" << d.host << d.port << "failed; next attempt in" << delay << "ms";
}

void TcpCluster::tick()
{
    const qint64 now = monotonicMs();
    for (Dial &d : m_dials) {
        if (d.link) {
            // A connect that hangs (an unreachable host) is given up like a slow handshake.
            if (!d.link->isEstablished() && now - d.startedAt > m_options.handshakeTimeoutMs)
                d.link->close();
            continue;
        }
        if ((d.machine && isConnected(d.machine)) || now < d.nextAt)
            continue;
        startDial(d);
    }
}

TcpCluster::Dial *TcpCluster::dialFor(const Link *link)
{
    for (Dial &d : m_dials) {
        if (d.link == link)
            return &d;
    }
    return nullptr;
}

bool TcpCluster::isConnected(quint64 machine) const
{
    const auto it = m_peers.constFind(machine);
    return it != m_peers.cend() && it->link && it->link->isOpen();
}

// ---------------------------------------------------------------------------------------
// Admission: one link per machine pair

quint32 TcpCluster::admit(Link *link, const PeerIdentity &peer, FrameError *error)
{
    m_handshaking.removeOne(link);
    const quint64 self = m_base.localMachine;
    const quint64 other = peer.machine;
    const auto connectorOf = [&](const Link *l) {
        return l->setup().side == Handshake::Side::Connector ? self : other;
    };
    const bool canonical = connectorOf(link) == qMin(self, other);
    if (Dial *d = dialFor(link))
        d->machine = other;   // a manual peer: now we know who it is

    auto it = m_peers.find(other);
    if (it != m_peers.end() && it->link && it->link != link && it->link->isOpen()) {
        const bool oldCanonical = connectorOf(it->link) == qMin(self, other);
        if (oldCanonical && !canonical) {
            qCDebug(lcCluster) << "machine" << Qt::hex << other << Qt::dec
                               << "already has a link: the second one is closed";
            *error = FrameError::NoError;   // not an attack: a quiet refusal
            return 0;
        }
        // The newer link wins (the canonical one, or a reconnect while the old link has
        // not yet been found dead here). The old endpoint takes no new traffic.
        qCInfo(lcCluster) << "machine" << Qt::hex << other << Qt::dec
                          << "reconnected: the older link is closed";
        if (Endpoint *old = m_router->endpoint(it->endpoint))
            m_router->retireEndpoint(old);
        // For the application this is a loss and a new connection, in that order.
        const PeerInfo gone = infoOf(*it);
        const bool wasUp = it->since.isValid();
        Link *oldLink = it->link.data();
        m_peers.erase(it);
        oldLink->close();
        if (wasUp)
            Q_EMIT peerDisconnected(gone);
    } else if (!canonical) {
        // Not canonical: wait for ours if we are dialing that machine right now.
        for (const Dial &d : std::as_const(m_dials)) {
            if (d.machine == other && d.link && d.link != link && d.link->isOpen()
                && d.link->setup().side == Handshake::Side::Connector && self < other) {
                *error = FrameError::NoError;
                return 0;
            }
        }
    }
    Endpoint *e = m_router->createEndpoint(Endpoint::Kind::Machine, -1, true);
    e->machine = other;
    e->isMonitor = peer.role == PeerRole::Peer;
    Peer p;
    p.machine = other;
    p.endpoint = e->id;
    p.link = link;
    m_peers.insert(other, p);
    return e->id;
}

void TcpCluster::endpointConnected(Endpoint *e)
{
    auto it = m_peers.find(e->machine);
    if (it == m_peers.end() || it->endpoint != e->id)
        return;
    it->since = QDateTime::currentDateTimeUtc();
    for (Dial &d : m_dials) {
        if (d.machine == e->machine) {
            d.attempts = 0;
            if (d.link && d.link != e->link)
                d.link->close();   // another attempt to the same machine: not needed now
            d.link = e->link;
        }
    }
    const PeerInfo info = infoOf(*it);
    qCInfo(lcCluster) << "link up:" << info;
    Q_EMIT peerConnected(info);
}

void TcpCluster::endpointLost(Endpoint *e)
{
    auto it = m_peers.find(e->machine);
    if (it == m_peers.end() || it->endpoint != e->id)
        return;   // a link that was replaced by a newer one
    const PeerInfo info = infoOf(*it);
    const bool wasUp = it->since.isValid();
    const Link *lost = it->link.data();
    m_peers.erase(it);
    for (Dial &d : m_dials) {
        if (d.machine == e->machine && (d.link == lost || !d.link))
            dialFailed(d);   // reconnect after a backoff
    }
    if (wasUp) {
        qCInfo(lcCluster) << "link down:" << info;
        Q_EMIT peerDisconnected(info);
    }
}

void TcpCluster::unadmittedLinkClosed(Link *link)
{
    m_handshaking.removeOne(link);
    if (Dial *d = dialFor(link)) {
        // The other side closed our dial inside the key exchange, which is what a master
        // does to a key message it cannot authenticate: most likely a wrong secret. Only
        // the other side can tell for sure; say what we saw, once per failed dial.
        const auto *tcp = qobject_cast<const TcpLink *>(link);
        if (tcp && tcp->wasConnected() && link->lostByTransport()
            && link->closedIn() == Link::State::Handshaking
            && link->rejectedFor() == FrameError::NoError)
            Q_EMIT handshakeRefused(link->description());
        dialFailed(*d);
    }
    for (auto it = m_peers.begin(); it != m_peers.end(); ++it) {
        if (it->link == link && !it->since.isValid()) {
            m_peers.erase(it);   // admitted, then closed before it was established
            break;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Heartbeats

void TcpCluster::heartbeat()
{
    const qint64 now = monotonicMs();
    const qint64 nowNs = QDeadlineTimer::current().deadlineNSecs();
    char stamp[8];
    qToLittleEndian<qint64>(nowNs, stamp);
    for (Peer &p : m_peers) {
        Link *link = p.link.data();
        if (!link || !link->isEstablished())
            continue;
        if (now - link->lastInputAt() > m_options.deadAfterMs) {
            qCWarning(lcCluster) << "machine" << Qt::hex << p.machine << Qt::dec << "was silent for"
                                 << now - link->lastInputAt() << "ms: link closed";
            link->close();
            continue;
        }
        link->writeControl(Wire::ControlPing, QByteArrayView(stamp, sizeof stamp));
    }
}

void TcpCluster::controlReceived(Endpoint *e, MessagePrivate *m)
{
    if (!e->link)
        return;
    const bool stamp = m->header.length == 8;
    if (m->header.target == Wire::ControlPing && stamp) {
        e->link->writeControl(Wire::ControlPong, m->data());
        return;
    }
    if (m->header.target == Wire::ControlPong && stamp) {
        auto it = m_peers.find(e->machine);
        if (it != m_peers.end() && it->endpoint == e->id) {
            const qint64 sent = qFromLittleEndian<qint64>(m->payload());
            const qint64 rtt = QDeadlineTimer::current().deadlineNSecs() - sent;
            if (rtt >= 0)
                it->roundTripMs = double(rtt) / 1e6;
        }
        return;
    }
    e->link->reject(FrameError::UnexpectedFrame);
}

// ---------------------------------------------------------------------------------------
// Peers

PeerInfo TcpCluster::infoOf(const Peer &p) const
{
    PeerInfo info;
    info.machineId = p.machine;
    info.connectedSince = p.since;
    info.roundTripMs = p.roundTripMs;
    info.port = m_announcedPorts.value(p.machine);
    if (const auto *tcp = qobject_cast<const TcpLink *>(p.link.data())) {
        info.address = tcp->peerAddress();
        if (!info.port && tcp->setup().side == Handshake::Side::Connector)
            info.port = tcp->peerPort();
        info.version = tcp->peer().version;
        info.isMonitor = tcp->peer().role == PeerRole::Peer;
        const LinkCounters &c = tcp->counters();
        info.messagesIn = c.framesIn;
        info.messagesOut = c.framesOut;
        info.bytesIn = c.bytesIn;
        info.bytesOut = c.bytesOut;
    }
    return info;
}

QList<PeerInfo> TcpCluster::peers() const
{
    QList<PeerInfo> out;
    for (const Peer &p : m_peers) {
        if (p.since.isValid() && p.link && p.link->isOpen())
            out.append(infoOf(p));
    }
    std::sort(out.begin(), out.end(), [](const PeerInfo &a, const PeerInfo &b) {
        return a.machineId < b.machineId;
    });
    return out;
}

} // namespace Plexus
