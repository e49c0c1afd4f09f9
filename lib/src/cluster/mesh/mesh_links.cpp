// SPDX-License-Identifier: MIT
//
// The mesh's links to other machines: which link a machine keeps (MeshRule), what the
// links deliver to the router, sending through them, and the peers they make. Listening,
// discovery, dialing and heartbeats: mesh.cpp.
#include "mesh_p.h"
#include "link_tcp_p.h"
#include "logging_p.h"

#include <QtCore/qurl.h>
#include <QtNetwork/qhostaddress.h>


namespace Plexus {

// ---------------------------------------------------------------------------------------
// Admission: one link per machine pair

FrameError MeshTransport::linkHello(Link *link, const PeerIdentity &peer)
{
    m_handshaking.removeOne(link);
    const quint64 self = m_context.local.localMachine;
    const quint64 other = peer.machine;
    const auto weDialed = [](const Link *l) { return l->setup().side == Handshake::Side::Connector; };
    const bool canonical = MeshRule::isCanonical(self, other, weDialed(link));
    if (Dial *d = dialFor(link))
        d->machine = other;   // a manual peer: now we know who it is

    auto it = m_peers.find(other);
    if (it != m_peers.end() && it->link && it->link != link && it->link->isOpen()) {
        const bool oldCanonical = MeshRule::isCanonical(self, other, weDialed(it->link));
        if (!MeshRule::replaces(oldCanonical, canonical)) {
            qCDebug(lcCluster) << "machine" << Qt::hex << other << Qt::dec
                               << "already has a link: the second one is closed";
            link->close();   // not an attack: a quiet refusal
            return FrameError::NoError;
        }
        // The newer link wins (the canonical one, or a reconnect while the old link has
        // not yet been found dead here); the old one is closed once this one is up.
        qCInfo(lcCluster) << "machine" << Qt::hex << other << Qt::dec
                          << "has a new link: the older one is closed";
        if (it->replaced && it->replaced != it->link)
            it->replaced->close();
        it->replaced = it->link;
        it->link = link;
        return FrameError::NoError;
    }
    if (it == m_peers.end() && !canonical) {
        // Not canonical: wait for ours if we are dialing that machine right now.
        for (const Dial &d : std::as_const(m_dials)) {
            if (d.machine == other && d.link && d.link != link && d.link->isOpen() && weDialed(d.link)
                && self < other) {
                link->close();
                return FrameError::NoError;
            }
        }
    }
    Peer &p = m_peers[other];
    p.machine = other;
    p.link = link;
    p.isMonitor = peer.role == PeerRole::Peer;
    return FrameError::NoError;
}

void MeshTransport::linkEstablished(Link *link)
{
    Peer *p = peerOf(link);
    if (!p) {
        link->close();
        return;
    }
    // The router's endpoint for the machine follows its link: what was sent on the old
    // link may be lost with it, and fails (TargetLostError) instead of waiting forever.
    const quint32 old = p->endpoint;
    p->endpoint = m_router->machineConnected(p->machine, p->isMonitor);
    link->endpoint = p->endpoint;
    if (old)
        m_router->machineLost(old);
    if (Link *replaced = p->replaced.data()) {
        p->replaced.clear();
        replaced->endpoint = 0;
        replaced->close();
    }
    for (Dial &d : m_dials) {
        if (d.machine == p->machine) {
            d.attempts = 0;
            if (d.link && d.link != link)
                d.link->close();   // another attempt to the same machine: not needed now
            d.link = link;
        }
    }
    if (p->up)
        return;   // a new link to a machine that stayed reachable: nothing to tell
    p->up = true;
    p->since = QDateTime::currentDateTimeUtc();
    const PeerInfo info = infoOf(*p);
    qCInfo(lcCluster) << "link up:" << info;
    Q_EMIT peerConnected(info);
}

void MeshTransport::linkClosed(Link *link)
{
    m_links.removeAll(link);
    m_handshaking.removeOne(link);
    link->deleteLater();
    if (Peer *p = peerOf(link)) {
        const PeerInfo info = infoOf(*p);
        const quint64 machine = p->machine;
        if (p->endpoint)
            m_router->machineLost(p->endpoint);
        link->endpoint = 0;
        if (Link *previous = p->replaced.data(); previous && previous->isEstablished()) {
            // The new link failed before it was up: the old one still serves.
            p->link = previous;
            p->replaced.clear();
            p->endpoint = m_router->machineConnected(machine, p->isMonitor);
            previous->endpoint = p->endpoint;
            return;
        }
        const bool wasUp = p->up;
        m_peers.remove(machine);
        for (Dial &d : m_dials) {
            if (d.machine == machine && (d.link == link || !d.link))
                dialFailed(d);   // reconnect after a backoff
        }
        if (wasUp) {
            qCInfo(lcCluster) << "link down:" << info;
            Q_EMIT peerDisconnected(info);
        }
        return;
    }
    if (link->establishedAt() != 0)
        return;   // a link replaced by a newer one: its machine is still reachable
    if (link->setup().side == Handshake::Side::Acceptor && link->lostByTransport()
        && link->counters().bytesIn == 0 && link->rejectedFor() == FrameError::NoError)
        Q_EMIT connectionAbandoned();
    if (Dial *d = dialFor(link)) {
        // The other side closed our dial inside the key exchange, which is what a master
        // does to a key message it cannot authenticate: most likely a wrong secret. Only
        // the other side can tell for sure; say what we saw, once per failed dial.
        if (link->wasConnected() && link->lostByTransport()
            && link->closedIn() == Link::State::Handshaking
            && link->rejectedFor() == FrameError::NoError)
            Q_EMIT rejected(link->description(), FrameError::BadHandshake,
                            QStringLiteral("the peer closed the cluster handshake (wrong SECRET?)"));
        dialFailed(*d);
    }
}

void MeshTransport::linkRejected(Link *link, FrameError reason)
{
    Q_EMIT rejected(link->description(), reason, QStringLiteral("link closed"));
}

void MeshTransport::linkFrame(Link *link, MessagePrivate *frame)
{
    QExplicitlySharedDataPointer<MessagePrivate> m(frame, QAdoptSharedDataTag{});
    if (m->header.privateFlags & Wire::Control) {
        control(link, *m);
        return;
    }
    if (link->endpoint)
        m_router->machineMessage(link->endpoint, m.take());
}

// The router schedules the writes of every link (one record per link per batch) and owns
// the backpressure policy: the mesh's links take part like any other.
void MeshTransport::linkWritten(Link *link)
{
    m_router->linkWritten(link);
}

void MeshTransport::linkReading(Link *link, bool begin)
{
    m_router->linkReading(link, begin);
}

bool MeshTransport::linkMayReadWhileWaiting(Link *link)
{
    return m_router->linkMayReadWhileWaiting(link);
}

// ---------------------------------------------------------------------------------------
// Sending (RemoteMachines)

RemoteMachines::Sent MeshTransport::sendToMachine(quint64 machine, MessagePrivate *m)
{
    const auto it = m_peers.constFind(machine);
    if (it == m_peers.cend() || !it->endpoint || !it->link || !it->link->isEstablished())
        return Sent::Lost;
    return m_router->writeToLink(it->link.data(), m) ? Sent::Ok : Sent::Backpressure;
}

void MeshTransport::sendToMachines(MessagePrivate *m, const QList<quint64> &machines,
                                   QList<quint64> *full, QList<quint64> *lost)
{
    // A mesh has no fan-out of its own: one copy on each link.
    sendToEach(m, machines, full, lost);
}

qsizetype MeshTransport::queuedBytes(quint64 machine) const
{
    const auto it = m_peers.constFind(machine);
    return it != m_peers.cend() && it->link ? it->link->queuedBytes() : 0;
}

void MeshTransport::refuse(quint64 machine, FrameError reason)
{
    const auto it = m_peers.constFind(machine);
    const QString peer = it != m_peers.cend() && it->link ? it->link->description()
                                                          : QStringLiteral("machine %1").arg(machine, 0, 16);
    Q_EMIT rejected(peer, reason, QStringLiteral("message refused"));
}

// ---------------------------------------------------------------------------------------
// Peers

PeerInfo MeshTransport::infoOf(const Peer &p) const
{
    PeerInfo info;
    info.setMachineId(p.machine);
    info.setConnectedSince(p.since);
    info.setRoundTripMs(p.roundTripMs);
    info.setMonitor(p.isMonitor);
    quint16 port = m_announcedPorts.value(p.machine);
    QHostAddress address;
    quint16 linkPort = 0;
    if (const Link *link = p.link.data(); link && tcpPeerOf(link, &address, &linkPort)) {
        if (!port && link->setup().side == Handshake::Side::Connector)
            port = linkPort;
        QUrl url;
        url.setScheme(QStringLiteral("tcp"));
        url.setHost(address.toString());
        if (port)
            url.setPort(port);
        info.setAddress(url.toString());
        info.setVersion(link->peer().version);
        const LinkCounters &c = link->counters();
        info.setMessagesIn(c.framesIn);
        info.setMessagesOut(c.framesOut);
        info.setBytesIn(c.bytesIn);
        info.setBytesOut(c.bytesOut);
    }
    return info;
}

QList<PeerInfo> MeshTransport::peers() const
{
    QList<PeerInfo> out;
    for (const Peer &p : m_peers) {
        if (p.up && p.link && p.link->isOpen())
            out.append(infoOf(p));
    }
    return sortedByMachine(std::move(out));
}

QList<const Link *> MeshTransport::links() const
{
    QList<const Link *> out;
    for (const Peer &p : m_peers) {
        if (p.endpoint && p.link && p.link->isEstablished())
            out.append(p.link.data());
    }
    return out;
}

} // namespace Plexus
