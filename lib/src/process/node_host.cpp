// SPDX-License-Identifier: MIT
//
// NodePrivate as the router's host: admission of local links, workers connecting and
// going, control frames, security events. (The Node itself: node.cpp.)
#include "node_p.h"
#include "introspection_p.h"
#include "logging_p.h"
#include "workers_p.h"

#include <QtCore/qcoreapplication.h>

#include <utility>

namespace Plexus {

namespace {
QString reasonText(FrameError reason)
{
    switch (reason) {
    case FrameError::OversizedFrame: return QStringLiteral("record or frame above the limit");
    case FrameError::MalformedHeader: return QStringLiteral("malformed header");
    case FrameError::AuthenticationFailed: return QStringLiteral("authentication failed");
    case FrameError::VersionMismatch: return QStringLiteral("another protocol version");
    case FrameError::BadHandshake: return QStringLiteral("bad handshake or Hello refused");
    case FrameError::ReplayedFrame: return QStringLiteral("replayed message");
    case FrameError::TruncatedFrame: return QStringLiteral("stream cut short");
    case FrameError::UnexpectedFrame: return QStringLiteral("unexpected frame");
    case FrameError::HandshakeTimeout: return QStringLiteral("handshake not finished in time");
    case FrameError::NoError: break;
    }
    return QStringLiteral("rejected");
}
} // namespace

quint32 NodePrivate::admit(Link *link, const PeerIdentity &peer, FrameError *error)
{
    if (role == Node::Worker) {
        Endpoint *master = router->masterEndpoint();
        if (link != masterLink || !master || master->state != Endpoint::State::Starting) {
            *error = FrameError::BadHandshake;
            return 0;
        }
        return master->id;
    }
    if (!workers) {
        *error = FrameError::BadHandshake;
        return 0;
    }
    QString why;
    const quint32 endpoint = workers->admit(peer, link->peerCredentialPid(), error, &why);
    if (!endpoint)
        refusal = {link->id(), why};
    return endpoint;
}

void NodePrivate::endpointConnected(Endpoint *endpoint)
{
    if (role != Node::Worker && workers)
        workers->connected(endpoint);
}

void NodePrivate::endpointLost(Endpoint *endpoint, const PeerIdentity &peer)
{
    Q_Q(Node);
    if (role != Node::Worker) {
        if (workers)
            workers->lost(endpoint, peer);
        return;
    }
    if (endpoint->kind == Endpoint::Kind::Master && running && !shuttingDown) {
        qCInfo(lcWorker) << "worker" << identity.slot << "lost its master; exiting";
        Q_EMIT q->masterLost(Node::QPrivateSignal());
        QCoreApplication::exit(0);
    }
}

void NodePrivate::unadmittedLinkClosed(Link *link)
{
    Q_Q(Node);
    // A peer that connected and left without a byte (a port scan, a health check): counted,
    // and never as an attack.
    if (link->setup().side == Handshake::Side::Acceptor && link->lostByTransport()
        && link->counters().bytesIn == 0 && link->rejectedFor() == FrameError::NoError)
        Stats::bump(stats.process.abandonedConnections);
    if (role != Node::Worker || link != masterLink || shuttingDown)
        return;
    // The handshake with our own master failed: nothing can work.
    setError(Node::HandshakeError,
             QStringLiteral("the handshake with the master at %1 failed").arg(setup.ipcUrl));
    Q_EMIT q->masterLost(Node::QPrivateSignal());
    QCoreApplication::exit(1);
}

void NodePrivate::controlReceived(Endpoint *endpoint, MessagePrivate *m)
{
    if (m->header.target == Wire::ControlStop && role == Node::Worker
        && endpoint->kind == Endpoint::Kind::Master) {
        qCDebug(lcWorker) << "master asked this worker to stop";
        QCoreApplication::quit();
        return;
    }
    if (endpoint->link)
        endpoint->link->reject(FrameError::UnexpectedFrame);
}

void NodePrivate::securityEvent(Link *link, FrameError reason)
{
    QString what = QStringLiteral("link closed");
    if (refusal.link == link->id()) {
        what = QStringLiteral("Hello refused (%1)").arg(std::exchange(refusal, {}).why);
    }
    reportRejection(link->description(), reason, what);
}

void NodePrivate::reportRejection(const QString &peer, FrameError reason, const QString &what)
{
    Q_Q(Node);
    stats.rejected(peer, reason);
    SecurityLog::warn(peer, QStringLiteral("%1: %2").arg(what, reasonText(reason)));
    Q_EMIT q->securityEvent(reason, peer, Node::QPrivateSignal());
}

QList<WorkerInfo> NodePrivate::workerList() const
{
    return workers ? workers->workers() : QList<WorkerInfo>();
}

QList<WorkerExit> NodePrivate::workerExits() const
{
    return workers ? workers->exits() : QList<WorkerExit>();
}

bool NodePrivate::restartWorker(qint64 pid)
{
    return workers && workers->requestRestart(pid);
}

WorkerInfo NodePrivate::workerAt(quint32 endpoint) const
{
    return workers ? workers->workerAt(endpoint) : WorkerInfo();
}

bool NodePrivate::dispatchReserved(const Message &request)
{
    return introspection && introspection->dispatch(request);
}

} // namespace Plexus
