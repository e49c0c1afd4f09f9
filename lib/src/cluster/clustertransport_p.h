// SPDX-License-Identifier: MIT
#pragma once

#include "crypto_p.h"
#include "link_p.h"
#include "router_p.h"

#include <plexus/clusteroptions.h>
#include <plexus/peerinfo.h>

#include <QtCore/qobject.h>

QT_BEGIN_NAMESPACE
class QUrl;
QT_END_NAMESPACE

namespace Plexus {

// What every cluster transport is made from: the router it serves, who this process is on
// the cluster (the local side of every connection: role, machine, limits) and the keys.
struct ClusterContext
{
    Router *router = nullptr;
    Stats *stats = nullptr;       // the Node's counters (what the engine drops is counted)
    LinkSetup local;              // scope Cluster; psk = the cluster link key
    CryptoKey discoveryKey;       // the mesh's UDP announcements
    CryptoKey brokerKey;          // the envelopes on a broker (NATS)
    QByteArray clusterId;         // names the cluster's subjects on a broker (16 hex digits)
};

/*
    A cluster engine: how this master (or monitor) reaches the other machines. The Node
    makes one with create() from the scheme of the cluster URL and only talks to it through
    this interface; the router reaches machines through its RemoteMachines side and is told
    by it which machines exist (Router::machineConnected() / machineLost() /
    machineMessage()). Everything else (discovery, dialing, admission, heartbeats, the links
    or subjects that carry the traffic) is the engine's own business. docs/CLUSTER.md,
    "Writing a transport", lists what one implements.
*/
class ClusterTransport : public QObject, public RemoteMachines
{
    Q_OBJECT
public:
    ~ClusterTransport() override;

    // The engine named by the scheme of options->url ("" and "tcp": the mesh), with what
    // the URL says applied to *options; nullptr with *error set if the URL names no engine
    // or does not suit it.
    static ClusterTransport *create(const ClusterContext &context, ClusterOptions *options,
                                    QObject *parent, QString *error);

    // Starts (listens, subscribes, announces). False with *error set if it cannot.
    virtual bool listen(const ClusterOptions &options, QString *error) = 0;
    // The engine's port on this machine (the mesh's TCP and UDP port), 0 if it has none.
    virtual quint16 port() const = 0;
    // Keeps in touch with the machine at \a url (manual peers, other subnets); false with
    // *error set if the URL is not one of this engine's.
    virtual bool connectToPeer(const QUrl &url, QString *error) = 0;
    // The machines that can be reached now, by machine id.
    virtual QList<PeerInfo> peers() const = 0;
    // The links the engine keeps (the snapshot's "links"); none for a broker.
    virtual QList<const Link *> links() const { return {}; }
    // Ends every connection: the machines are lost for the router; nothing is emitted.
    virtual void stop() = 0;

Q_SIGNALS:
    // A machine can be reached / can no longer be reached (once each; docs in node.h).
    void peerConnected(const Plexus::PeerInfo &peer);
    void peerDisconnected(const Plexus::PeerInfo &peer);
    // Input from \a peer was refused (counted, logged and signalled by the Node).
    void rejected(const QString &peer, Plexus::FrameError reason, const QString &what);
    // A connection was closed by its peer before it sent a byte (counted, not a rejection).
    void connectionAbandoned();

protected:
    using QObject::QObject;
    // \a peers in the order peers() promises: by machine id.
    static QList<PeerInfo> sortedByMachine(QList<PeerInfo> peers);
};

} // namespace Plexus
