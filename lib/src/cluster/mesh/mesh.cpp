// SPDX-License-Identifier: MIT
//
// The cluster's full mesh: TCP links between masters, found by UDP discovery
// (docs/CLUSTER.md, docs/PROTOCOL.md section 9). Here: listening, discovery, dialing,
// heartbeats; the links themselves and the peers: mesh_links.cpp.
#include "mesh_p.h"
#include "clock_p.h"
#include "discovery_p.h"
#include "link_tcp_p.h"
#include "logging_p.h"

#include <QtCore/qdeadlinetimer.h>
#include <QtCore/qendian.h>
#include <QtCore/qrandom.h>
#include <QtCore/qtimer.h>
#include <QtCore/qurl.h>
#include <QtNetwork/qhostinfo.h>
#include <QtNetwork/qtcpserver.h>

#include <algorithm>
#include <cmath>

namespace Plexus {

// QTcpServer does the listening, the accept loop and its back-off; each accepted
// descriptor becomes a TcpLink at once, with no QTcpSocket in between.
class MeshTransport::Server : public QTcpServer
{
public:
    explicit Server(MeshTransport *mesh) : QTcpServer(mesh), m_mesh(mesh) { }

protected:
    void incomingConnection(qintptr fd) override { m_mesh->onNewConnection(int(fd)); }

private:
    MeshTransport *m_mesh;
};

MeshTransport::MeshTransport(const ClusterContext &context, QObject *parent)
    : ClusterTransport(parent), m_context(context), m_router(context.router)
{
    m_context.local.scope = Handshake::Scope::Cluster;
}

MeshTransport::~MeshTransport()
{
    stop();
}

int MeshTransport::backoffMs(int attempts, int minMs, int maxMs)
{
    const double base = std::min(double(maxMs), double(minMs) * std::pow(2.0, qMin(attempts, 20)));
    return int(base * (0.5 + QRandomGenerator::global()->generateDouble()));
}

LinkSetup MeshTransport::linkSetup(Handshake::Side side) const
{
    LinkSetup s = m_context.local;
    s.side = side;
    s.handshakeTimeoutMs = m_options.handshakeTimeoutMs;
    return s;
}

bool MeshTransport::applyUrl(const QUrl &url, ClusterOptions *options, QString *error)
{
    if (!url.isValid() || url.scheme() != QLatin1String("tcp") || !url.path().isEmpty()
        || url.hasQuery() || url.hasFragment() || !url.userInfo().isEmpty()) {
        *error = QStringLiteral("Unsupported cluster URL %1 (the mesh: tcp://[address][:port])")
                         .arg(url.toString());
        return false;
    }
    if (!url.host().isEmpty()) {
        const QHostAddress address(url.host());
        if (address.isNull()) {
            *error = QStringLiteral("The mesh binds to an IP address, not %1").arg(url.host());
            return false;
        }
        options->mesh.bindAddress = address;
    }
    if (url.port() > 0)
        options->port = quint16(url.port());
    return true;
}

bool MeshTransport::listen(const ClusterOptions &given, QString *error)
{
    m_options = given;
    const ClusterOptions &options = m_options;
    if (m_context.local.localRole == PeerRole::Peer)
        return listenAsPeer(error);
    m_server = new Server(this);
    // Qt's default backlog (50) overflows under a connection flood, and the kernel then
    // drops a legitimate peer's SYN silently; unfinished links are bounded separately.
    m_server->setListenBacklogSize(1024);
    if (!m_server->listen(options.mesh.bindAddress, options.port)) {
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

    m_discovery = new Discovery(m_context.discoveryKey, m_context.local.localMachine,
                                quint8(m_context.local.localRole), this);
    if (!m_discovery->bind(m_port, error)) {
        delete m_discovery;
        m_discovery = nullptr;
        delete m_server;
        m_server = nullptr;
        m_port = 0;
        return false;
    }
    m_discovery->setTcpPort(m_port);
    m_discovery->setBroadcast(options.mesh.broadcast);
    m_discovery->setExtraTargets(options.mesh.announceTo);
    m_discovery->setInterval(options.mesh.announceIntervalMs);
    watchDiscovery();
    startTimers();
    m_discovery->start();
    qCInfo(lcCluster) << "machine" << Qt::hex << m_context.local.localMachine << Qt::dec
                      << "joined the cluster on port" << m_port;
    return true;
}

bool MeshTransport::listenAsPeer(QString *error)
{
    // A peer (a monitor) only listens to discovery, if at all, and dials; nobody dials it,
    // so it has no TCP server and never announces itself.
    if (m_options.port) {
        m_discovery = new Discovery(m_context.discoveryKey, m_context.local.localMachine,
                                    quint8(m_context.local.localRole), this);
        if (!m_discovery->bind(m_options.port, error)) {
            delete m_discovery;
            m_discovery = nullptr;
            return false;
        }
        watchDiscovery();
    }
    startTimers();
    qCInfo(lcCluster) << "peer" << Qt::hex << m_context.local.localMachine << Qt::dec
                      << "watching the cluster"
                      << (m_options.port ? "on discovery port" : "without discovery") << m_options.port;
    return true;
}

void MeshTransport::watchDiscovery()
{
    connect(m_discovery, &Discovery::announced, this, [this](const Discovery::Announcement &a) {
        if (a.role == quint8(PeerRole::Master))   // peers never announce; nobody dials one
            onAnnounced(a.machine, a.address.toString(), a.port);
    });
    connect(m_discovery, &Discovery::rejected, this, [this](const QString &peer, FrameError reason) {
        Q_EMIT rejected(peer, reason, QStringLiteral("discovery datagram dropped"));
    });
}

void MeshTransport::startTimers()
{
    m_tickTimer = new QTimer(this);
    m_tickTimer->setInterval(100);
    connect(m_tickTimer, &QTimer::timeout, this, &MeshTransport::tick);
    m_tickTimer->start();
    m_heartbeatTimer = new QTimer(this);
    m_heartbeatTimer->setInterval(qMax(10, m_options.heartbeatIntervalMs));
    connect(m_heartbeatTimer, &QTimer::timeout, this, &MeshTransport::heartbeat);
    m_heartbeatTimer->start();
}

void MeshTransport::stop()
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
    // The router forgets every machine (what waits on them fails); no signals: the Node is
    // leaving the cluster, not losing peers one by one.
    for (Peer &p : m_peers) {
        if (p.endpoint)
            m_router->machineLost(p.endpoint);
    }
    m_peers.clear();
    for (const QPointer<Link> &link : std::as_const(m_links)) {
        if (link) {
            link->endpoint = 0;
            link->close();
        }
    }
}

bool MeshTransport::connectToPeer(const QUrl &url, QString *error)
{
    if (url.scheme() != QLatin1String("tcp") || url.host().isEmpty() || url.port() <= 0
        || !url.path().isEmpty() || url.hasQuery() || url.hasFragment()) {
        const QString shown = url.isEmpty() ? QStringLiteral("(empty)")
                : url.isValid() ? url.toString() : QStringLiteral("(invalid: %1)").arg(url.errorString());
        *error = QStringLiteral("Unsupported peer URL %1 (use tcp://host:port)").arg(shown);
        return false;
    }
    const QString host = url.host();
    const auto port = quint16(url.port());
    for (const Dial &d : std::as_const(m_dials)) {
        if (d.host == host && d.port == port)
            return true;
    }
    Dial d;
    d.host = host;
    d.port = port;
    m_dials.append(d);
    startDial(m_dials.last());
    return true;
}

// ---------------------------------------------------------------------------------------
// Making links

void MeshTransport::adopt(Link *link)
{
    link->setParent(this);
    m_links.append(link);
}

void MeshTransport::onNewConnection(int fd)
{
    // Connections that never finish the handshake cost bounded memory and descriptors:
    // past the cap the oldest unfinished one goes.
    m_handshaking.removeIf([](const QPointer<Link> &l) { return !l || !l->isOpen(); });
    while (m_handshaking.size() >= qMax(1, m_options.mesh.maxPendingConnections)) {
        QPointer<Link> oldest = m_handshaking.takeFirst();
        if (oldest)
            oldest->shed();
    }
    Link *link = makeTcpLink(this, linkSetup(Handshake::Side::Acceptor), fd);
    m_handshaking.append(link);
    adopt(link);
    link->start();
}

void MeshTransport::onAnnounced(quint64 machine, const QString &host, quint16 port)
{
    m_announcedPorts.insert(machine, port);
    // The smaller id dials at once; the larger gives it a grace period first, then dials
    // too (MeshRule::dialDelayMs), so a link comes up whoever hears whom. A peer (monitor)
    // dials every master at once, since no master dials a peer.
    const bool isPeer = m_context.local.localRole == PeerRole::Peer;
    const int delay = isPeer ? 0
            : MeshRule::dialDelayMs(m_context.local.localMachine, machine,
                                    m_options.mesh.announceIntervalMs);
    for (Dial &d : m_dials) {
        if (d.machine != machine)
            continue;
        if (!d.link && !isConnected(machine)) {
            d.host = host;   // it may have moved
            d.port = port;
            // Fresh evidence that it is up: do not sit out a long backoff.
            d.nextAt = qMin(d.nextAt, monotonicMs() + qMax(delay, backoffMs(0, 50, 50)));
        }
        return;
    }
    if (isConnected(machine))
        return;   // it dialed us
    Dial d;
    d.host = host;
    d.port = port;
    d.machine = machine;
    d.nextAt = monotonicMs() + delay;
    m_dials.append(d);
    if (delay == 0)
        startDial(m_dials.last());
}

void MeshTransport::startDial(Dial &d)
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

void MeshTransport::connectDial(Dial &d, const QHostAddress &address)
{
    QString why;
    Link *link = dialTcp(this, linkSetup(Handshake::Side::Connector), address,
                                       d.port, &why);
    qCDebug(lcCluster) << "dialing" << address.toString() << d.port << "attempt" << d.attempts + 1;
    if (!link) {
        qCDebug(lcCluster) << "cannot connect to" << address.toString() << d.port << why;
        dialFailed(d);
        return;
    }
    adopt(link);
    d.link = link;
    d.startedAt = monotonicMs();
}

void MeshTransport::dialFailed(Dial &d)
{
    d.link.clear();
    const int delay = backoffMs(d.attempts, m_options.mesh.reconnectMinMs, m_options.mesh.reconnectMaxMs);
    ++d.attempts;
    d.nextAt = monotonicMs() + delay;
    qCDebug(lcCluster) << "dial" << d.host << d.port << "failed; next attempt in" << delay << "ms";
}

void MeshTransport::tick()
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

MeshTransport::Dial *MeshTransport::dialFor(const Link *link)
{
    for (Dial &d : m_dials) {
        if (d.link == link)
            return &d;
    }
    return nullptr;
}

MeshTransport::Peer *MeshTransport::peerOf(const Link *link)
{
    for (Peer &p : m_peers) {
        if (p.link == link)
            return &p;
    }
    return nullptr;
}

bool MeshTransport::isConnected(quint64 machine) const
{
    const auto it = m_peers.constFind(machine);
    return it != m_peers.cend() && it->link && it->link->isOpen();
}

// ---------------------------------------------------------------------------------------
// Heartbeats

void MeshTransport::heartbeat()
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

void MeshTransport::control(Link *link, const MessagePrivate &m)
{
    const bool stamp = m.header.length == 8;
    if (m.header.target == Wire::ControlPing && stamp) {
        link->writeControl(Wire::ControlPong, m.data());
        return;
    }
    if (m.header.target == Wire::ControlPong && stamp) {
        if (Peer *p = peerOf(link)) {
            const qint64 sent = qFromLittleEndian<qint64>(m.payload());
            const qint64 rtt = QDeadlineTimer::current().deadlineNSecs() - sent;
            if (rtt >= 0)
                p->roundTripMs = double(rtt) / 1e6;
        }
        return;
    }
    link->reject(FrameError::UnexpectedFrame);
}

} // namespace Plexus
