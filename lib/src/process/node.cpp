// SPDX-License-Identifier: MIT
#include "node_p.h"
#include "clustertransport_p.h"
#include "forkserver_p.h"
#include "introspection_p.h"
#include "link_unix_p.h"
#include "logging_p.h"
#include "workers_p.h"

#include <QtCore/qcoreapplication.h>

#include <atomic>
#include <utility>

#include <unistd.h>

namespace Plexus {

ProcessSetup *NodePrivate::pendingSetup = nullptr;

namespace {
// The one process-wide piece of runtime state: which Node this process runs.
std::atomic<Node *> g_node{nullptr};
} // namespace

NodePrivate::NodePrivate(Node *q) : q_ptr(q) { }

NodePrivate::~NodePrivate() = default;

void NodePrivate::setError(Node::Error e, const QString &text)
{
    Q_Q(Node);
    error = e;
    errorString = text;
    if (e != Node::NoError) {
        qCDebug(lcIpc).noquote() << text;   // returned (error(), errorOccurred()): logged once, at debug level
        Q_EMIT q->errorOccurred(e, Node::QPrivateSignal());
    }
}

LinkSetup NodePrivate::linkSetup(Handshake::Side side) const
{
    LinkSetup s;
    s.side = side;
    s.scope = Handshake::Scope::Local;
    s.localRole = role == Node::Master ? PeerRole::Master
                                       : role == Node::Worker ? PeerRole::Worker : PeerRole::Peer;
    s.localIsExec = setup.isExec;
    s.localMachine = identity.machine;
    s.localPid = identity.pid;
    s.localSlot = identity.slot;
    s.psk = setup.psk;
    s.maxMessageLength = maxMessageLength();
    s.handshakeTimeoutMs = setup.handshakeTimeoutMs;
    s.busyPollUs = setup.busyPollUs;
    s.backend = setup.linkBackend;
    return s;
}

bool NodePrivate::listen()
{
    Q_Q(Node);
    int fd = setup.listenFd;
    setup.listenFd = -1;
    if (fd < 0) {
        QString err;
        if (!IpcSocket::resolve(setup.ipcUrl, &setup.socketPath, &setup.privateDir, &err)) {
            setError(Node::AddressError, err);
            return false;
        }
        setup.ipcUrl = QLatin1String("unix://") + setup.socketPath;
        bool inUse = false;
        fd = IpcSocket::listen(setup.socketPath, &err, &inUse);
        if (fd < 0) {
            if (!setup.privateDir.isEmpty())
                ::rmdir(setup.privateDir.toLocal8Bit().constData());
            setup.privateDir.clear();
            setup.socketPath.clear();   // not ours: never unlink it
            setError(inUse ? Node::AddressInUseError : Node::AddressError, err);
            return false;
        }
    }
    server = new UnixServer(fd, router, linkSetup(Handshake::Side::Acceptor), q);
    server->setMaxPending(setup.maxPendingConnections);
    QObject::connect(server, &UnixServer::linkAccepted, router,
                     [this](Link *link) { router->addLink(link); });
    qCDebug(lcIpc) << "master" << identity.pid << "listening on" << setup.ipcUrl;
    return true;
}

bool NodePrivate::connectToMaster()
{
    QString err;
    const int fd = IpcSocket::connect(setup.socketPath, &err);
    if (fd < 0) {
        setError(Node::ConnectionError,
                 QStringLiteral("cannot connect to the master at %1: %2").arg(setup.ipcUrl, err));
        return false;
    }
    // In an exec'd worker the master runs another image: its function pointers are refused
    // here too (it never sends any; this holds if it did).
    Endpoint *master = router->createEndpoint(Endpoint::Kind::Master, -1, setup.isExec);
    Link *link = makeLocalLink(router, linkSetup(Handshake::Side::Connector), fd);
    master->connecting = link;
    masterLink = link;
    router->addLink(link);
    link->start();
    return true;
}

void NodePrivate::cleanupSocket()
{
    delete server;
    server = nullptr;
    if (role == Node::Master && !setup.socketPath.isEmpty())
        ::unlink(setup.socketPath.toLocal8Bit().constData());
    if (!setup.privateDir.isEmpty())
        ::rmdir(setup.privateDir.toLocal8Bit().constData());
    setup.privateDir.clear();
}

// ---------------------------------------------------------------------------------------
// Node

Node::Node(QObject *parent) : Node(Master, parent) { }

Node::Node(Role role, QObject *parent) : QObject(parent), d_ptr(new NodePrivate(this))
{
    Q_D(Node);
    if (NodePrivate::pendingSetup) {
        d->setup = std::move(*NodePrivate::pendingSetup);
        NodePrivate::pendingSetup = nullptr;
    } else {
        // A standalone master: a secret of its own, used once for the key, then gone.
        unsigned char secret[32];
        Crypto::initialize();
        Crypto::randomFill(secret, sizeof secret);
        d->setup.psk = CryptoKey::derive(QByteArrayView(reinterpret_cast<char *>(secret), sizeof secret),
                                         NodePrivate::LinkKeyContext);
        Crypto::wipe(secret, sizeof secret);
        d->setup.machineId = Crypto::nextId();
        d->setup.linkBackend = linkBackendFromEnvironment(LinkBackend::Descriptor);
        if (role == Worker)
            qCWarning(lcIpc) << "Node(Worker): workers are made by Plexus::exec(); this is a master";
        d->setup.role = role == Peer ? Peer : Master;
    }
    d->role = d->setup.role;
    d->identity.machine = d->setup.machineId;
    d->identity.pid = quint32(::getpid());
    d->identity.slot = d->setup.slot;
    d->router = new Router(d, &d->stats, d->role == Worker, this);
    d->router->setStartTimeout(d->setup.workerStartTimeoutMs);
    d->introspection = new IntrospectionService(d, this);
    Node *expected = nullptr;
    if (g_node.compare_exchange_strong(expected, this, std::memory_order_acq_rel)) {
        // The process is this Node from now on: what it authors, and where verbs go.
        d->isProcessNode = true;
        setLocalIdentity(&d->identity);
        Router::setCurrent(d->router);
    }
}

Node::~Node()
{
    Q_D(Node);
    if (d->running)
        shutdown(d->role == Master ? 5000 : 0);
    d->cleanupSocket();
    Node *self = this;
    if (g_node.compare_exchange_strong(self, nullptr, std::memory_order_acq_rel)) {
        Router::setCurrent(nullptr);
        setLocalIdentity(nullptr);
    }
    delete d->workers;
    d->workers = nullptr;
    delete d->forkServer;
    d->forkServer = nullptr;
    delete d->introspection;
    d->introspection = nullptr;
    delete d->router;
    d->router = nullptr;
}

Node *Node::instance()
{
    return g_node.load(std::memory_order_acquire);
}

Node::Role Node::role() const
{
    return d_func()->role;
}

qint64 Node::pid() const
{
    return d_func()->identity.pid;
}

quint64 Node::machineId() const
{
    return d_func()->identity.machine;
}

int Node::workerSlot() const
{
    return d_func()->identity.slot;
}

QString Node::ipcUrl() const
{
    return d_func()->setup.ipcUrl;
}

bool Node::setIpcUrl(const QString &url)
{
    Q_D(Node);
    if (d->role != Master) {
        d->setError(NotMasterError, tr("Only the master sets the IPC URL"));
        return false;
    }
    if (d->running || d->setup.listenFd >= 0) {
        d->setError(AlreadyStartedError, tr("The IPC URL cannot change after start"));
        return false;
    }
    if (!url.isEmpty() && IpcSocket::pathFromUrl(url).isEmpty()) {
        d->setError(AddressError, tr("Unsupported IPC URL %1 (use unix://path)").arg(url));
        return false;
    }
    d->setup.ipcUrl = url;
    d->setup.socketPath.clear();
    d->error = NoError;
    d->errorString.clear();
    return true;
}

void Node::setHandshakeTimeout(int msec)
{
    d_func()->setup.handshakeTimeoutMs = qMax(0, msec);
}

void Node::setMaxPendingConnections(int count)
{
    Q_D(Node);
    d->setup.maxPendingConnections = qMax(1, count);
    if (d->server)
        d->server->setMaxPending(count);
}

LinkBackend linkBackendFromEnvironment(LinkBackend fallback)
{
    const QByteArray value = qgetenv("PLEXUS_LINK_BACKEND").trimmed().toLower();
    if (value == "qt")
        return LinkBackend::QtSocket;
    if (value == "descriptor")
        return LinkBackend::Descriptor;
    if (!value.isEmpty())
        qCWarning(lcIpc, "PLEXUS_LINK_BACKEND=%s is neither \"descriptor\" nor \"qt\"; ignored",
                  value.constData());
    return fallback;
}

void Node::setLinkBackend(LinkBackend backend)
{
    d_func()->setup.linkBackend = backend;
}

LinkBackend Node::linkBackend() const
{
    return d_func()->setup.linkBackend;
}

void Node::setBusyPoll(int usec)
{
    d_func()->setup.busyPollUs = qBound(0, usec, 1000);
}

void Node::setWorkerStartTimeout(int msec)
{
    Q_D(Node);
    d->setup.workerStartTimeoutMs = qMax(1, msec);
    d->router->setStartTimeout(d->setup.workerStartTimeoutMs);
}

bool Node::start()
{
    Q_D(Node);
    if (d->running) {
        d->setError(AlreadyStartedError, tr("The node is already running"));
        return false;
    }
    if (!d->isProcessNode) {
        d->setError(AnotherNodeError,
                    tr("Another Plexus::Node already runs in this process (one per process: "
                       "use Node::instance())"));
        return false;
    }
    d->error = NoError;   // an earlier failure (setIpcUrl, start) no longer applies
    d->errorString.clear();
    if (!Crypto::initialize() || !d->setup.psk.isValid()) {
        d->setError(CryptoError, tr("libsodium cannot be initialised"));
        return false;
    }
    if (d->role == Worker) {
        if (!d->connectToMaster())
            return false;
    } else if (d->role == Master) {
        if (!d->listen())
            return false;
        d->workers = new WorkerTable(d->router, &d->stats, this);
        d->workers->setRestartLimit(d->setup.maxRestarts, d->setup.restartWindowMs);
        d->workers->setJoinInfo(d->setup.ipcUrl, d->setup.psk, d->identity.machine);
        connect(d->workers, &WorkerTable::workerStarted, this, [this](const WorkerInfo &w) {
            Q_EMIT workerStarted(w, QPrivateSignal());
        });
        connect(d->workers, &WorkerTable::workerExited, this,
                [this](const WorkerInfo &w, WorkerInfo::ExitReason reason) {
            Q_EMIT workerExited(w, reason, QPrivateSignal());
        });
        connect(d->workers, &WorkerTable::workersReady, this, [this] {
            Q_EMIT workersReady(QPrivateSignal());
        });
        if (d->setup.forkServerFd >= 0) {
            d->forkServer = new ForkServer(d->setup.forkServerFd, d->setup.forkServerPid, this);
            d->setup.forkServerFd = -1;
            d->workers->setForkServer(d->forkServer);
        }
        d->workers->startForked(d->forkServer ? d->setup.initialWorkers : 0,
                                d->setup.restartPolicy, QCoreApplication::arguments());
    }
    d->running = true;
    return true;
}

bool Node::isRunning() const
{
    return d_func()->running;
}

Node::Error Node::error() const
{
    return d_func()->error;
}

QString Node::errorString() const
{
    return d_func()->errorString;
}

QList<WorkerInfo> Node::workers() const
{
    Q_D(const Node);
    return d->workers ? d->workers->workers() : QList<WorkerInfo>();
}

void Node::forEachWorker(const std::function<void(const WorkerInfo &)> &fn) const
{
    const QList<WorkerInfo> snapshot = workers();
    for (const WorkerInfo &w : snapshot) {
        if (w.state() == WorkerInfo::Running)
            fn(w);
    }
}

bool Node::sendToWorker(const WorkerInfo &worker, quint32 type, const Payload &payload)
{
    Q_D(Node);
    if (d->role == Worker) {
        d->setError(NotMasterError, tr("Only the master sends to a worker"));
        return false;
    }
    return worker.pid() > 0 && d->router->submitTyped(worker.pid(), type, payload);
}

bool Node::sendToMaster(quint32 type, const Payload &payload)
{
    Q_D(Node);
    if (d->role != Worker) {
        d->setError(NotMasterError, tr("Only a worker sends to its master"));
        return false;
    }
    return d->router->submitTyped(0, type, payload);
}

int Node::spawn(const QString &program, const QStringList &arguments,
                WorkerInfo::RestartPolicy policy)
{
    Q_D(Node);
    if (d->role != Master) {
        d->setError(NotMasterError, tr("Only the master spawns workers"));
        return -1;
    }
    if (!d->running || !d->workers) {
        d->setError(SpawnError, tr("Start the node before spawning workers"));
        return -1;
    }
    QString why;
    const int slot = d->workers->spawnExec(program, arguments, policy, &why);
    if (slot < 0)
        d->setError(SpawnError, tr("Cannot start %1: %2").arg(program, why));
    return slot;
}

void Node::addOpcodeHandler(quint32 opcode, const QObject *context,
                            std::function<void(const Message &)> functor)
{
    Q_D(Node);
    if (opcode == 0 || opcode >= ReservedOpcodeBase) {
        qCWarning(lcIpc, "handle(): op-code %#x is reserved", opcode);
        return;
    }
    // A null context ties the handler to nothing: it runs until unhandle() (as a connection
    // without a context object does).
    d->router->dispatcher().setHandler(opcode, context, std::move(functor));
    if (context && context != this) {
        connect(context, &QObject::destroyed, this, [d, opcode, context] {
            d->router->dispatcher().removeHandler(opcode, context);
        });
    }
}

void Node::unhandle(quint32 opcode)
{
    d_func()->router->dispatcher().removeHandler(opcode);
}

void Node::setIntrospection(const Introspection::Options &options)
{
    d_func()->introspection->setOptions(options);
}

Introspection::Options Node::introspection() const
{
    return d_func()->introspection->options();
}

Node::Counters Node::counters() const
{
    return d_func()->stats.counters();
}

quint64 Node::rejectedFrames(FrameError reason) const
{
    return d_func()->stats.rejectedFrames(reason);
}

void Node::setRestartLimit(int count, int windowMs)
{
    Q_D(Node);
    d->setup.maxRestarts = qMax(1, count);
    d->setup.restartWindowMs = qMax(1, windowMs);
    if (d->workers)
        d->workers->setRestartLimit(count, windowMs);
}

void Node::shutdown(int timeoutMs)
{
    Q_D(Node);
    if (!d->running)
        return;
    d->shuttingDown = true;
    // Leave the cluster first: no new machines, and those known are forgotten.
    if (d->cluster) {
        d->router->setRemoteMachines(nullptr);
        d->cluster->stop();
        delete d->cluster;
        d->cluster = nullptr;
    }
    const QList<Link *> links = d->router->links();
    if (d->role != Worker) {
        // Ask politely and flush, then let the fork server enforce the deadline.
        for (Link *l : links) {
            if (l->isEstablished() && l->peer().role == PeerRole::Worker)
                l->writeControl(Wire::ControlStop, {});
        }
        for (Link *l : links)
            l->flushBlocking(qMin(timeoutMs, 1000));
        if (d->workers)
            d->workers->shutdown(timeoutMs);
    } else if (d->masterLink) {
        d->masterLink->closeGracefully(qMin(timeoutMs, 1000));
    }
    for (Link *l : d->router->links())
        l->close();
    d->cleanupSocket();
    d->running = false;
}

} // namespace Plexus
