// SPDX-License-Identifier: MIT
//
// The Node's cluster API: the cluster keys, listenCluster(), connectToPeer(), peers().
// The transport itself is cluster.cpp; routing to other machines is the router's.
#include "clustertransport_p.h"
#include "logging_p.h"
#include "node_p.h"

#include <QtCore/qurl.h>

#include <cstdlib>
#include <cstring>

namespace Plexus {

void NodePrivate::deriveClusterKeys(QByteArrayView secret, ProcessSetup *setup)
{
    setup->clusterLinkKey = CryptoKey::derive(secret, ClusterKeyContext);
    setup->discoveryKey = CryptoKey::derive(secret, DiscoveryKeyContext);
    setup->brokerKey = CryptoKey::derive(secret, BrokerKeyContext);
    // Subjects name the cluster by 8 bytes of a key of its own: clusters with other
    // secrets never share a subject, and the id tells nothing of the secret or the keys.
    const CryptoKey id = CryptoKey::derive(secret, BrokerKeyContext, 2);
    setup->clusterId = QByteArray(reinterpret_cast<const char *>(id.bytes()), 8).toHex();
}

void NodePrivate::takeEnvironmentSecret(ProcessSetup *setup)
{
    char *value = std::getenv("SECRET");
    if (!value)
        return;
    const size_t length = std::strlen(value);
    if (length > 0)
        deriveClusterKeys(QByteArrayView(value, qsizetype(length)), setup);
    // Neither this process nor any it starts keeps the secret itself.
    Crypto::wipe(value, qsizetype(length));
    ::unsetenv("SECRET");
}

bool Node::listenCluster(quint16 port)
{
    ClusterOptions options;
    options.port = port;
    return listenCluster(options);
}

bool Node::listenCluster(const ClusterOptions &options)
{
    Q_D(Node);
    if (d->role == Worker) {
        d->setError(NotMasterError, tr("Only a master (or a peer) joins a cluster"));
        return false;
    }
    if (!d->running) {
        d->setError(NotStartedError, tr("Start the node before joining a cluster"));
        return false;
    }
    if (d->cluster) {
        d->setError(AlreadyStartedError, tr("This node is already in a cluster (port %1)")
                                                 .arg(d->cluster->port()));
        return false;
    }
    d->error = NoError;   // an earlier refusal no longer applies
    d->errorString.clear();
    if (!options.secret.isEmpty())
        NodePrivate::deriveClusterKeys(options.secret, &d->setup);
    else if (!d->setup.clusterLinkKey.isValid())
        NodePrivate::takeEnvironmentSecret(&d->setup);   // a Node made without exec()
    if (!d->setup.clusterLinkKey.isValid() || !d->setup.discoveryKey.isValid()) {
        d->setError(ClusterSecretError,
                    tr("No cluster secret: set the SECRET environment variable (or "
                       "ClusterOptions::secret); the cluster is not joined"));
        return false;
    }
    ClusterContext context;
    context.router = d->router;
    context.stats = &d->stats;
    context.local = d->linkSetup(Handshake::Side::Connector);
    context.local.scope = Handshake::Scope::Cluster;
    context.local.psk = d->setup.clusterLinkKey;
    context.discoveryKey = d->setup.discoveryKey;
    context.brokerKey = d->setup.brokerKey;
    context.clusterId = d->setup.clusterId;
    ClusterOptions resolved = options;
    QString why;
    ClusterTransport *cluster = ClusterTransport::create(context, &resolved, this, &why);
    if (!cluster) {
        d->setError(ClusterAddressError, why);
        return false;
    }
    if (!cluster->listen(resolved, &why)) {
        delete cluster;
        d->setError(ClusterListenError, why);
        return false;
    }
    // Machines and monitors are told apart here, once: the transport knows only peers.
    connect(cluster, &ClusterTransport::peerConnected, this, [this](const PeerInfo &p) {
        if (p.isMonitor())
            Q_EMIT monitorConnected(p, QPrivateSignal());
        else
            Q_EMIT peerConnected(p, QPrivateSignal());
    });
    connect(cluster, &ClusterTransport::peerDisconnected, this, [this](const PeerInfo &p) {
        if (p.isMonitor())
            Q_EMIT monitorDisconnected(p, QPrivateSignal());
        else
            Q_EMIT peerDisconnected(p, QPrivateSignal());
    });
    connect(cluster, &ClusterTransport::rejected, this,
            [d](const QString &peer, FrameError reason, const QString &what) {
        d->reportRejection(peer, reason, what);
    });
    connect(cluster, &ClusterTransport::connectionAbandoned, this, [d] {
        Stats::bump(d->stats.process.abandonedConnections);
    });
    d->router->setRemoteMachines(cluster);
    d->cluster = cluster;
    return true;
}

bool Node::connectToPeer(const QUrl &url)
{
    Q_D(Node);
    if (!d->cluster) {
        d->setError(NotInClusterError, tr("Join a cluster (listenCluster) before connecting to peers"));
        return false;
    }
    QString why;
    if (!d->cluster->connectToPeer(url, &why)) {
        d->setError(ClusterAddressError, why);
        return false;
    }
    return true;
}

quint16 Node::clusterPort() const
{
    Q_D(const Node);
    return d->cluster ? d->cluster->port() : 0;
}

bool Node::isInCluster() const
{
    return d_func()->cluster != nullptr;
}

static QList<PeerInfo> peersWhere(const ClusterTransport *cluster, bool monitors)
{
    QList<PeerInfo> all = cluster ? cluster->peers() : QList<PeerInfo>();
    all.removeIf([monitors](const PeerInfo &p) { return p.isMonitor() != monitors; });
    return all;
}

QList<PeerInfo> Node::peers() const
{
    Q_D(const Node);
    return peersWhere(d->cluster, false);
}

QList<PeerInfo> Node::monitors() const
{
    Q_D(const Node);
    return peersWhere(d->cluster, true);
}

} // namespace Plexus
