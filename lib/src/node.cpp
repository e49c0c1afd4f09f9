// SPDX-License-Identifier: MIT
#include "node_p.h"
#include "link_p.h"
#include "logging_p.h"
#include "router_p.h"
#include "supervisor_p.h"

#include <QtCore/qcoreapplication.h>
#include <QtCore/qdatetime.h>
#include <QtCore/qdir.h>
#include <QtCore/qendian.h>
#include <QtCore/qfileinfo.h>
#include <QtCore/qprocess.h>
#include <QtCore/qsocketnotifier.h>
#include <QtCore/qtimer.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace Plexus {

ProcessSetup *NodePrivate::pendingSetup = nullptr;

namespace {
Node *g_instance = nullptr;
constexpr char KeyContext[9] = "plexusv1";
constexpr int HelloSize = 16;
// How long a worker whose link closed may take to exit by itself before it is killed.
constexpr int LinkLossGraceMs = 2000;

QString randomSuffix(int length)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const QByteArray random = Crypto::randomBytes(length);
    QString out;
    out.reserve(length);
    for (int i = 0; i < length; ++i)
        out.append(QLatin1Char(alphabet[quint8(random[i]) % (sizeof alphabet - 1)]));
    return out;
}

qint64 nowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}
} // namespace

// ---------------------------------------------------------------------------------------
// IPC URL helpers, usable before Qt starts (Plexus::exec creates the socket pre-fork).

QString NodePrivate::pathFromUrl(const QString &url)
{
    if (url.startsWith(QLatin1String("unix://")))
        return url.mid(7);
    if (url.contains(QLatin1String("://")))
        return QString();
    return url;
}

bool NodePrivate::resolveIpcUrl(ProcessSetup &setup, QString *error)
{
    QString path = pathFromUrl(setup.ipcUrl);
    if (!setup.ipcUrl.isEmpty() && path.isEmpty()) {
        *error = QStringLiteral("unsupported IPC URL scheme: %1 (use unix://path)").arg(setup.ipcUrl);
        return false;
    }
    if (path.isEmpty()) {
        QByteArray base = qgetenv("XDG_RUNTIME_DIR");
        if (base.isEmpty() || ::access(base.constData(), W_OK) != 0)
            base = qgetenv("TMPDIR");
        if (base.isEmpty())
            base = "/tmp";
        QByteArray templ = base + "/plexus-XXXXXX";
        if (!::mkdtemp(templ.data())) {   // mode 0700: only this user can enter
            *error = QStringLiteral("cannot create a private directory in %1: %2")
                             .arg(QString::fromLocal8Bit(base), QString::fromLocal8Bit(std::strerror(errno)));
            return false;
        }
        setup.privateDir = QString::fromLocal8Bit(templ);
        path = setup.privateDir + QLatin1String("/ipc.sock");
    } else if (path.endsWith(QLatin1String("..."))) {
        path.chop(3);
        path += randomSuffix(12);
    } else if (path.endsWith(QLatin1String("XXX"))) {
        int n = 0;
        while (n < path.size() && path.at(path.size() - 1 - n) == QLatin1Char('X'))
            ++n;
        path.chop(n);
        path += randomSuffix(n);
    }
    if (path.toLocal8Bit().size() >= qsizetype(sizeof(sockaddr_un::sun_path))) {
        *error = QStringLiteral("IPC socket path too long (max %1 bytes): %2")
                         .arg(sizeof(sockaddr_un::sun_path) - 1).arg(path);
        return false;
    }
    setup.socketPath = path;
    setup.ipcUrl = QLatin1String("unix://") + path;
    return true;
}

int NodePrivate::listenOn(const QString &path, QString *error)
{
    const QByteArray native = path.toLocal8Bit();
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, native.constData(), size_t(native.size()));
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        *error = QString::fromLocal8Bit(std::strerror(errno));
        return -1;
    }
    const mode_t oldMask = ::umask(0177);   // the socket file is created 0600
    const int rc = ::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr);
    const int bindErrno = errno;
    ::umask(oldMask);
    if (rc != 0 || ::listen(fd, 512) != 0) {
        *error = QStringLiteral("cannot listen on %1: %2")
                         .arg(path, QString::fromLocal8Bit(std::strerror(rc ? bindErrno : errno)));
        ::close(fd);
        return -1;
    }
    ::chmod(native.constData(), 0600);
    struct stat st;
    const QByteArray dir = QFileInfo(path).absolutePath().toLocal8Bit();
    if (::stat(dir.constData(), &st) == 0 && (st.st_mode & (S_IXGRP | S_IXOTH)))
        qCInfo(lcSecurity, "IPC socket directory %s can be entered by other users; the socket "
                           "itself is mode 0600", dir.constData());
    return fd;
}

// ---------------------------------------------------------------------------------------

NodePrivate::NodePrivate(Node *q) : q_ptr(q) { }

NodePrivate::~NodePrivate()
{
    Crypto::wipe(setup.secret);
}

void NodePrivate::setError(Node::Error e, const QString &text)
{
    error = e;
    errorString = text;
    if (e != Node::NoError)
        qCWarning(lcIpc).noquote() << text;
}

void NodePrivate::countSecurity(FrameError reason)
{
    counters.rejectedFrames.fetch_add(1, std::memory_order_relaxed);
    const auto i = size_t(reason);
    if (i < std::size(counters.rejectedByReason))
        counters.rejectedByReason[i].fetch_add(1, std::memory_order_relaxed);
}

QByteArray NodePrivate::helloPayload() const
{
    QByteArray out(HelloSize, '\0');
    qToLittleEndian<quint32>(quint32(pid), out.data());
    qToLittleEndian<qint32>(slot, out.data() + 4);
    out[8] = char(role == Node::Master ? Link::PeerRole::Master
                                       : role == Node::Worker ? Link::PeerRole::Worker
                                                              : Link::PeerRole::Peer);
    out[9] = char(setup.isExec ? 1 : 0);
    return out;
}

bool NodePrivate::listen()
{
    Q_Q(Node);
    int fd = setup.listenFd;
    setup.listenFd = -1;
    if (fd < 0) {
        QString err;
        if (!resolveIpcUrl(setup, &err)) {
            setError(Node::AddressError, err);
            return false;
        }
        fd = listenOn(setup.socketPath, &err);
        if (fd < 0) {
            setError(Node::AddressError, err);
            cleanupSocket();
            return false;
        }
    }
    acceptNotifier = new QSocketNotifier(qintptr(fd), QSocketNotifier::Read, q);
    QObject::connect(acceptNotifier, &QSocketNotifier::activated, q, [this] { onAccept(); });
    qCDebug(lcIpc) << "master" << pid << "listening on" << setup.ipcUrl;
    return true;
}

void NodePrivate::onAccept()
{
    const int listenFd = int(acceptNotifier->socket());
    for (;;) {
        const int fd = ::accept4(listenFd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            return;   // EAGAIN, or a transient error: the notifier fires again
        auto *link = new UnixLink(router, fd, Wire::preamble(quint8(Link::PeerRole::Master)),
                                  maxMessageLength(), router);
        router->addLink(link);
        router->sendControl(link, Wire::ControlHello, helloPayload());
    }
}

bool NodePrivate::connectToMaster()
{
    const QByteArray native = setup.socketPath.toLocal8Bit();
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (native.isEmpty() || native.size() >= qsizetype(sizeof addr.sun_path)) {
        setError(Node::AddressError, QStringLiteral("invalid IPC socket path"));
        return false;
    }
    std::memcpy(addr.sun_path, native.constData(), size_t(native.size()));
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) {
        setError(Node::ConnectionError, QStringLiteral("cannot connect to master at %1: %2")
                                                .arg(setup.ipcUrl, QString::fromLocal8Bit(std::strerror(errno))));
        if (fd >= 0)
            ::close(fd);
        return false;
    }
    auto *link = new UnixLink(router, fd, Wire::preamble(quint8(Link::PeerRole::Worker)),
                              maxMessageLength(), router);
    router->addLink(link);
    router->sendControl(link, Wire::ControlHello, helloPayload());
    return true;
}

void NodePrivate::onHello(Link *link, QByteArrayView data)
{
    Q_Q(Node);
    if (data.size() < HelloSize) {
        router->linkRejected(link, FrameError::BadHandshake);
        link->close();
        return;
    }
    Link::PeerInfo peer;
    peer.pid = qFromLittleEndian<quint32>(data.data());
    peer.slot = qFromLittleEndian<qint32>(data.data() + 4);
    peer.role = Link::PeerRole(quint8(data[8]));
    peer.isExec = data[9] != 0;

    if (role == Node::Worker) {
        if (peer.role != Link::PeerRole::Master) {
            router->linkRejected(link, FrameError::BadHandshake);
            link->close();
            return;
        }
        link->setPeer(peer);
        link->setEstablished();
        return;
    }
    // Master: only our own workers join over the IPC socket.
    if (peer.role != Link::PeerRole::Worker || peer.slot < 0 || peer.slot >= workers.size()
        || workers[peer.slot].state == WorkerInfo::GivenUp) {
        qCWarning(lcSecurity) << "refusing IPC peer pid" << peer.pid << "claiming slot" << peer.slot;
        router->linkRejected(link, FrameError::BadHandshake);
        link->close();
        return;
    }
    WorkerInfo &w = workers[peer.slot];
    if (Link *old = router->linkForPid(w.pid); old && old != link && old->isEstablished()
        && w.state == WorkerInfo::Running && w.pid != peer.pid) {
        qCWarning(lcSecurity) << "slot" << peer.slot << "already has a running worker";
        link->close();
        return;
    }
    peer.isExec = w.isExec;   // the master knows how it started the slot
    link->setPeer(peer);
    link->setEstablished();
    w.pid = peer.pid;
    w.state = WorkerInfo::Running;
    qCDebug(lcWorker) << "worker" << w.slot << "pid" << w.pid << "connected";
    Q_EMIT q->workerStarted(w);
    if (!workersReadyEmitted) {
        bool all = true;
        for (const WorkerInfo &info : std::as_const(workers))
            all = all && (info.state == WorkerInfo::Running || info.state == WorkerInfo::GivenUp);
        if (all) {
            workersReadyEmitted = true;
            Q_EMIT q->workersReady();
        }
    }
}

WorkerInfo NodePrivate::workerForLink(const Link *link) const
{
    const int s = link->peer().slot;
    if (role != Node::Worker && s >= 0 && s < workers.size())
        return workers[s];
    return WorkerInfo();
}

void NodePrivate::onLinkClosed(Link *link)
{
    Q_Q(Node);
    if (role == Node::Worker) {
        if (!router->masterLink() && running && !shuttingDown) {
            qCInfo(lcWorker) << "worker" << slot << "lost its master; exiting";
            Q_EMIT q->masterLost();
            QCoreApplication::exit(0);
        }
        return;
    }
    const Link::PeerInfo &peer = link->peer();
    if (peer.role != Link::PeerRole::Worker || peer.slot < 0 || peer.slot >= workers.size())
        return;
    WorkerInfo &w = workers[peer.slot];
    if (w.pid != peer.pid || w.state != WorkerInfo::Running || shuttingDown)
        return;
    // The process may still run (its link was closed for garbage): make sure it ends, so
    // the slot restarts from a clean image. A worker that closed its own link is on its way
    // out: killing it at once would replace its real exit status with SIGKILL, so it gets a
    // grace period first, and is killed only if it has not been reaped by then.
    const int s = w.slot;
    const qint64 workerPid = w.pid;
    QTimer::singleShot(LinkLossGraceMs, q, [this, s, workerPid] {
        if (s >= workers.size() || shuttingDown)
            return;
        const WorkerInfo &w = workers[s];
        if (w.pid != workerPid || w.state != WorkerInfo::Running)
            return;   // reaped (and maybe restarted) meanwhile
        qCWarning(lcWorker) << "worker" << s << "pid" << workerPid
                            << "still runs after losing its link; killing it";
        if (w.isExec) {
            auto *p = qobject_cast<QProcess *>(spawned.value(s));
            if (p && p->processId() == workerPid)
                p->kill();
        } else if (supervisor) {
            supervisor->signal(workerPid, SIGKILL);
        }
    });
}

void NodePrivate::onWorkerForked(int s, qint64 workerPid)
{
    if (s < 0 || s >= workers.size())
        return;
    WorkerInfo &w = workers[s];
    if (workerPid <= 0) {
        qCCritical(lcWorker) << "fork failed for slot" << s;
        w.state = WorkerInfo::GivenUp;
        return;
    }
    w.startedAt = nowMs();
    // The worker may have connected (hello processed, state Running) before this notice
    // from the fork server arrived: the two come over different sockets.
    if (w.pid == workerPid && w.state == WorkerInfo::Running)
        return;
    w.pid = workerPid;
    w.state = WorkerInfo::Starting;
}

void NodePrivate::onWorkerReaped(int s, qint64 workerPid, int status)
{
    Q_Q(Node);
    if (s < 0 || s >= workers.size() || workers[s].pid != workerPid)
        return;
    WorkerInfo &w = workers[s];
    WorkerInfo::ExitReason reason;
    if (WIFSIGNALED(status)) {
        reason = WorkerInfo::Crashed;
        w.exitCode = WTERMSIG(status);
    } else {
        w.exitCode = WEXITSTATUS(status);
        reason = w.exitCode == 0 ? WorkerInfo::NormalExit : WorkerInfo::ErrorExit;
    }
    w.state = WorkerInfo::Exited;
    if (Link *l = router->linkForPid(w.pid))
        l->close();   // calls in flight fail now, not when the kernel gets to the EOF

    bool restart = false;
    if (shuttingDown) {
        reason = WorkerInfo::Stopped;
    } else if (w.restartPolicy == WorkerInfo::Restart) {
        QList<qint64> &times = crashTimes[s];
        const qint64 now = nowMs();
        times.append(now);
        while (!times.isEmpty() && now - times.first() > restartWindowMs)
            times.removeFirst();
        if (times.size() >= maxRestarts) {
            qCCritical(lcWorker).nospace()
                    << "worker slot " << s << " exited " << times.size() << " times within "
                    << restartWindowMs << " ms; giving up on it";
            w.state = WorkerInfo::GivenUp;
            reason = WorkerInfo::CrashLoop;
        } else {
            restart = true;
        }
    } else {
        w.state = WorkerInfo::GivenUp;
    }
    qCInfo(lcWorker) << "worker" << s << "pid" << workerPid << "ended:" << reason
                     << "status" << w.exitCode << (restart ? "- restarting" : "");
    const WorkerInfo snapshot = w;
    Q_EMIT q->workerExited(snapshot, reason);
    if (restart)
        restartSlot(s);
}

void NodePrivate::restartSlot(int s)
{
    WorkerInfo &w = workers[s];
    ++w.restarts;
    counters.restarts.fetch_add(1, std::memory_order_relaxed);
    w.state = WorkerInfo::Starting;
    w.pid = 0;
    if (w.isExec) {
        startExec(s);
    } else if (supervisor) {
        supervisor->spawn(s);
    }
}

bool NodePrivate::startExec(int s)
{
    Q_Q(Node);
    WorkerInfo &w = workers[s];
    auto *process = qobject_cast<QProcess *>(spawned.value(s));
    if (!process) {
        process = new QProcess(q);
        spawned.insert(s, process);
        process->setProcessChannelMode(QProcess::ForwardedChannels);
        QObject::connect(process, &QProcess::finished, q,
                         [this, s](int exitCode, QProcess::ExitStatus st) {
            // QProcess does not document the signal of a crash: report it as SIGKILL.
            const int status = st == QProcess::CrashExit ? SIGKILL : (exitCode & 0xff) << 8;
            onWorkerReaped(s, workers[s].pid, status);
        });
        QObject::connect(process, &QProcess::errorOccurred, q, [this, s](QProcess::ProcessError e) {
            if (e == QProcess::FailedToStart) {
                qCCritical(lcWorker) << "cannot start" << workers[s].arguments.value(0);
                workers[s].state = WorkerInfo::GivenUp;
            }
        });
    }
    int pipeFds[2];
    if (::pipe2(pipeFds, O_CLOEXEC) != 0)
        return false;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("PLEXUS_IPC_URL"), setup.ipcUrl);
    env.insert(QStringLiteral("PLEXUS_SLOT"), QString::number(s));
    env.insert(QStringLiteral("PLEXUS_SECRET_FD"), QStringLiteral("3"));
    process->setProcessEnvironment(env);
    const int readFd = pipeFds[0];
    process->setChildProcessModifier([readFd] {
        // The secret arrives on fd 3, never on the command line or in the environment.
        if (readFd == 3)
            ::fcntl(3, F_SETFD, 0);
        else
            ::dup2(readFd, 3);
    });
    process->start(w.arguments.value(0), w.arguments.mid(1));
    ::close(pipeFds[0]);
    const bool started = process->waitForStarted(5000);
    if (started) {
        const QByteArray secret = setup.secret;
        qsizetype off = 0;
        while (off < secret.size()) {
            const ssize_t n = ::write(pipeFds[1], secret.constData() + off, size_t(secret.size() - off));
            if (n <= 0 && errno != EINTR)
                break;
            if (n > 0)
                off += n;
        }
        w.pid = process->processId();
        w.startedAt = nowMs();
    }
    ::close(pipeFds[1]);
    return started;
}

void NodePrivate::cleanupSocket()
{
    if (acceptNotifier) {
        ::close(int(acceptNotifier->socket()));
        delete acceptNotifier;
        acceptNotifier = nullptr;
    }
    if (role == Node::Master && !setup.socketPath.isEmpty())
        ::unlink(setup.socketPath.toLocal8Bit().constData());
    if (!setup.privateDir.isEmpty())
        ::rmdir(setup.privateDir.toLocal8Bit().constData());
    setup.privateDir.clear();
}

// ---------------------------------------------------------------------------------------
// Node

Node::Node(QObject *parent) : QObject(parent), d_ptr(new NodePrivate(this))
{
    Q_D(Node);
    if (NodePrivate::pendingSetup) {
        d->setup = *NodePrivate::pendingSetup;
        NodePrivate::pendingSetup = nullptr;
    } else {
        d->setup.secret = Crypto::randomBytes(32);
    }
    d->role = d->setup.role;
    d->slot = d->setup.slot;
    d->pid = qint64(::getpid());
    d->maxRestarts = d->setup.maxRestarts;
    d->restartWindowMs = d->setup.restartWindowMs;
    d->router = new Router(this, d);
    d->router->setKey(CryptoKey::derive(d->setup.secret, KeyContext));
    if (d->role == Worker)
        Crypto::wipe(d->setup.secret);   // workers never need it again
    if (!g_instance)
        g_instance = this;
}

Node::~Node()
{
    Q_D(Node);
    if (d->running)
        shutdown(d->setup.role == Master ? 5000 : 0);
    d->cleanupSocket();
    delete d->router;
    d->router = nullptr;
    if (g_instance == this)
        g_instance = nullptr;
}

Node *Node::instance()
{
    return g_instance;
}

Node::Role Node::role() const
{
    return d_func()->role;
}

qint64 Node::pid() const
{
    return d_func()->pid;
}

int Node::workerSlot() const
{
    return d_func()->slot;
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
    if (!url.isEmpty() && NodePrivate::pathFromUrl(url).isEmpty()) {
        d->setError(AddressError, tr("Unsupported IPC URL %1 (use unix://path)").arg(url));
        return false;
    }
    d->setup.ipcUrl = url;
    d->setup.socketPath.clear();
    return true;
}

bool Node::start()
{
    Q_D(Node);
    if (d->running) {
        d->setError(AlreadyStartedError, tr("The node is already running"));
        return false;
    }
    if (!Crypto::initialize()) {
        d->setError(AddressError, tr("libsodium cannot be initialised"));
        return false;
    }
    if (d->role == Worker) {
        if (!d->connectToMaster())
            return false;
    } else {
        if (!d->listen())
            return false;
        if (d->setup.supervisorFd >= 0) {
            d->supervisor = new SupervisorClient(d->setup.supervisorFd, d->setup.supervisorPid, this);
            d->setup.supervisorFd = -1;
            connect(d->supervisor, &SupervisorClient::forked, this,
                    [d](int s, qint64 p) { d->onWorkerForked(s, p); });
            connect(d->supervisor, &SupervisorClient::reaped, this,
                    [d](int s, qint64 p, int status) { d->onWorkerReaped(s, p, status); });
            for (int s = 0; s < d->setup.initialWorkers; ++s) {
                WorkerInfo w;
                w.slot = s;
                w.restartPolicy = d->setup.restartPolicy;
                w.arguments = QCoreApplication::arguments();
                d->workers.append(w);
                d->supervisor->spawn(s);
            }
        }
        if (d->setup.initialWorkers == 0) {
            d->workersReadyEmitted = true;
            QMetaObject::invokeMethod(this, &Node::workersReady, Qt::QueuedConnection);
        }
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
    return d_func()->workers;
}

void Node::forEachWorker(const std::function<void(const WorkerInfo &)> &fn) const
{
    const QList<WorkerInfo> snapshot = d_func()->workers;
    for (const WorkerInfo &w : snapshot) {
        if (w.state == WorkerInfo::Running)
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
    if (worker.pid <= 0)
        return false;
    return d->router->submitTyped(0, worker.pid, type, payload);
}

bool Node::sendToMaster(quint32 type, const Payload &payload)
{
    Q_D(Node);
    if (d->role != Worker) {
        d->setError(NotMasterError, tr("Only a worker sends to its master"));
        return false;
    }
    Link *master = d->router->masterLink();
    return master && d->router->submitTyped(master->id(), 0, type, payload);
}

int Node::spawn(const QString &program, const QStringList &arguments,
                WorkerInfo::RestartPolicy policy)
{
    Q_D(Node);
    if (d->role != Master) {
        d->setError(NotMasterError, tr("Only the master spawns workers"));
        return -1;
    }
    if (!d->running) {
        d->setError(SpawnError, tr("Start the node before spawning workers"));
        return -1;
    }
    WorkerInfo w;
    w.slot = int(d->workers.size());
    w.arguments = QStringList{program} + arguments;
    w.isExec = true;
    w.restartPolicy = policy;
    d->workers.append(w);
    if (!d->startExec(w.slot)) {
        d->workers[w.slot].state = WorkerInfo::GivenUp;
        d->setError(SpawnError, tr("Cannot start %1").arg(program));
        return -1;
    }
    return w.slot;
}

void Node::addOpcodeHandler(quint32 opcode, const QObject *context,
                            std::function<void(const Message &)> functor)
{
    Q_D(Node);
    if (opcode == 0 || opcode >= ReservedOpcodeBase) {
        qCWarning(lcIpc, "handle(): op-code %#x is reserved", opcode);
        return;
    }
    d->opcodeHandlers.insert(opcode, {context, std::move(functor)});
    if (context && context != this) {
        connect(context, &QObject::destroyed, this, [d, opcode, context] {
            const auto it = d->opcodeHandlers.find(opcode);
            if (it != d->opcodeHandlers.end() && (!it->context || it->context == context))
                d->opcodeHandlers.erase(it);
        });
    }
}

void Node::unhandle(quint32 opcode)
{
    d_func()->opcodeHandlers.remove(opcode);
}

Node::Counters Node::counters() const
{
    const auto &c = d_func()->counters;
    Counters out;
    out.messagesIn = c.messagesIn.load();
    out.messagesOut = c.messagesOut.load();
    out.bytesIn = c.bytesIn.load();
    out.bytesOut = c.bytesOut.load();
    out.rejectedFrames = c.rejectedFrames.load();
    out.lateReplies = c.lateReplies.load();
    out.unknownOpcodes = c.unknownOpcodes.load();
    out.backpressureErrors = c.backpressureErrors.load();
    out.restarts = c.restarts.load();
    return out;
}

quint64 Node::rejectedFrames(FrameError reason) const
{
    const auto &c = d_func()->counters;
    if (reason == FrameError::NoError)
        return c.rejectedFrames.load();
    const auto i = size_t(reason);
    return i < std::size(c.rejectedByReason) ? c.rejectedByReason[i].load() : 0;
}

void Node::setRestartLimit(int count, int windowMs)
{
    Q_D(Node);
    d->maxRestarts = qMax(1, count);
    d->restartWindowMs = qMax(1, windowMs);
}

void Node::shutdown(int timeoutMs)
{
    Q_D(Node);
    if (!d->running)
        return;
    d->shuttingDown = true;
    if (d->role != Worker) {
        // Ask politely and flush, then let the fork server enforce the deadline.
        const QList<Link *> links = d->router->links();
        for (Link *l : links) {
            if (l->isOpen() && l->isEstablished() && l->peer().role == Link::PeerRole::Worker)
                d->router->sendControl(l, Wire::ControlStop, QByteArray());
        }
        for (Link *l : links)
            l->flushBlocking(qMin(timeoutMs, 1000));
        for (QObject *o : std::as_const(d->spawned)) {
            auto *p = qobject_cast<QProcess *>(o);
            if (p && p->state() != QProcess::NotRunning) {
                p->terminate();
                if (!p->waitForFinished(timeoutMs))
                    p->kill();
                p->waitForFinished(1000);
            }
        }
        if (d->supervisor)
            d->supervisor->shutdown(timeoutMs);
    } else {
        if (Link *m = d->router->masterLink())
            m->flushBlocking(qMin(timeoutMs, 1000));
    }
    for (Link *l : d->router->links())
        l->close();
    d->cleanupSocket();
    d->running = false;
}

} // namespace Plexus
