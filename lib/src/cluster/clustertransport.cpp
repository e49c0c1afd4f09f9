// SPDX-License-Identifier: MIT
//
// Picking the cluster engine from the cluster URL's scheme. A new engine is one more
// branch here and a folder beside mesh/ (docs/CLUSTER.md, "Writing a transport").
#include "clustertransport_p.h"
#include "mesh_p.h"
#include "nats_p.h"

#include <QtCore/qurl.h>

#include <algorithm>

namespace Plexus {

ClusterTransport::~ClusterTransport() = default;

QList<PeerInfo> ClusterTransport::sortedByMachine(QList<PeerInfo> peers)
{
    std::sort(peers.begin(), peers.end(), [](const PeerInfo &a, const PeerInfo &b) {
        return a.machineId() < b.machineId();
    });
    return peers;
}

ClusterTransport *ClusterTransport::create(const ClusterContext &context, ClusterOptions *options,
                                           QObject *parent, QString *error)
{
    const QUrl url(options->url);
    const QString scheme = options->url.isEmpty() ? QStringLiteral("tcp") : url.scheme();
    if (scheme == QLatin1String("tcp")) {
        if (!options->url.isEmpty() && !MeshTransport::applyUrl(url, options, error))
            return nullptr;
        return new MeshTransport(context, parent);
    }
    if (scheme == QLatin1String("nats")) {
        if (!NatsTransport::applyUrl(options->url, options, error))
            return nullptr;
        return new NatsTransport(context, parent);
    }
    *error = QStringLiteral("No cluster engine for \"%1\" (%2); Plexus has tcp:// (the mesh) "
                            "and nats:// (NATS)")
                     .arg(scheme, url.toString(QUrl::RemoveUserInfo));
    return nullptr;
}

} // namespace Plexus
