// SPDX-License-Identifier: MIT
#pragma once

#include "crypto_p.h"
#include "introspection_p.h"
#include "link_p.h"
#include "message_p.h"
#include "router_p.h"
#include "stats_p.h"

#include <plexus/node.h>

#include <QtCore/qpointer.h>

namespace Plexus {

class ClusterTransport;
class ForkServer;
class UnixServer;
class WorkerTable;

/*
    What Plexus::exec() hands to the Node of each process before Qt starts: role, slot, the
    link key (derived from the secret, which no process keeps), the machine id, the
    listening socket created before fork(), the fork server channel, and the limits.
*/
struct ProcessSetup
{
    Node::Role role = Node::Master;
    int slot = -1;
    bool isExec = false;
    int initialWorkers = 0;
    CryptoKey psk;
    quint64 machineId = 0;
    QString ipcUrl;
    QString socketPath;
    QString privateDir;        // created by us, removed on exit
    int listenFd = -1;         // master: created before fork()
    int forkServerFd = -1;     // master: channel to the fork server
    qint64 forkServerPid = 0;
    WorkerInfo::RestartPolicy restartPolicy = WorkerInfo::Restart;
    int maxRestarts = 5;
    int restartWindowMs = 10000;
    int handshakeTimeoutMs = 5000;
    int maxPendingConnections = 64;
    int workerStartTimeoutMs = 10000;
    int busyPollUs = 20;
    LinkBackend linkBackend = LinkBackend::Descriptor;
    // Master: the cluster keys derived from SECRET by exec() before it forked (invalid
    // when SECRET was unset). Workers never hold them.
    CryptoKey clusterLinkKey;
    CryptoKey discoveryKey;
    CryptoKey brokerKey;      // the NATS engine's envelopes
    QByteArray clusterId;     // names the cluster's subjects on a broker
};

// PLEXUS_LINK_BACKEND ("descriptor" or "qt"), or \a fallback when it is unset or unknown.
LinkBackend linkBackendFromEnvironment(LinkBackend fallback);

namespace Testing {
// Called once with the per-run secret as exec() draws it, before it is wiped, so that the
// project's tests can check that no process keeps it afterwards. Only the tests, which link
// the library's objects statically, can reach it; it is not exported.
extern void (*secretDrawn)(const unsigned char *secret, qsizetype size);
} // namespace Testing

class NodePrivate : public RouterHost, public IntrospectionHost
{
    Q_DECLARE_PUBLIC(Node)
public:
    // The context of the local link key; the secret is never used for anything else.
    static constexpr char LinkKeyContext[9] = "plexusv2";
    // The contexts of the cluster keys: links between machines, discovery datagrams.
    static constexpr char ClusterKeyContext[9] = "plexclu2";
    static constexpr char DiscoveryKeyContext[9] = "plexdsc2";
    // ...and of the broker engine's: its envelopes (subkey 1) and the cluster id that
    // names its subjects (subkey 2, only a hash of it is ever shown).
    static constexpr char BrokerKeyContext[9] = "plexbrk1";
    // Derives the cluster keys from \a secret into \a setup.
    static void deriveClusterKeys(QByteArrayView secret, ProcessSetup *setup);
    // Reads SECRET from the environment, derives the cluster keys and scrubs the variable.
    static void takeEnvironmentSecret(ProcessSetup *setup);

    explicit NodePrivate(Node *q);
    ~NodePrivate() override;

    static NodePrivate *get(Node *node) { return node->d_func(); }
    // The router of this process's Node, or nullptr (thread-safe).

    // Set by exec() before constructing the Node of this process.
    static ProcessSetup *pendingSetup;

    bool listen();
    bool connectToMaster();
    void cleanupSocket();
    void setError(Node::Error error, const QString &text);
    // Counts, logs (rate-limited) and signals input refused from \a peer.
    void reportRejection(const QString &peer, FrameError reason, const QString &what);
    LinkSetup linkSetup(Handshake::Side side) const;

    // RouterHost
    quint32 admit(Link *link, const PeerIdentity &peer, FrameError *error) override;
    void endpointConnected(Endpoint *endpoint) override;
    void endpointLost(Endpoint *endpoint, const PeerIdentity &peer) override;
    void unadmittedLinkClosed(Link *link) override;
    void controlReceived(Endpoint *endpoint, MessagePrivate *message) override;
    void securityEvent(Link *link, FrameError reason) override;
    WorkerInfo workerAt(quint32 endpoint) const override;
    bool dispatchReserved(const Message &request) override;
    bool inCluster() const override { return cluster != nullptr; }

    // IntrospectionHost
    Node::Role nodeRole() const override { return role; }
    LocalIdentity nodeIdentity() const override { return identity; }
    bool isExecWorker() const override { return setup.isExec; }
    Router *nodeRouter() const override { return router; }
    const Stats &nodeStats() const override { return stats; }
    bool hasWorkerTable() const override { return workers != nullptr; }
    QList<WorkerInfo> workerList() const override;
    QList<WorkerExit> workerExits() const override;
    bool restartWorker(qint64 pid) override;
    const ClusterTransport *clusterTransport() const override { return cluster; }

    Node *q_ptr;
    ProcessSetup setup;
    Node::Role role = Node::Master;
    LocalIdentity identity;
    bool running = false;
    bool isProcessNode = false;   // the first Node of the process; a second one never starts
    bool shuttingDown = false;
    Node::Error error = Node::NoError;
    QString errorString;

    Stats stats;
    Router *router = nullptr;
    WorkerTable *workers = nullptr;      // master
    UnixServer *server = nullptr;        // master
    ForkServer *forkServer = nullptr;    // master with forked workers
    QPointer<Link> masterLink;           // worker
    ClusterTransport *cluster = nullptr; // master or peer, after listenCluster()
    IntrospectionService *introspection = nullptr;
    // Why admit() refused the Hello of link \c link, for the security line that follows at
    // once (securityEvent()).
    struct Refusal {
        quint64 link = 0;
        QString why;
    } refusal;
};

} // namespace Plexus
