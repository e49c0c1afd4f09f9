// SPDX-License-Identifier: MIT
#include "crypto_p.h"
#include "logging_p.h"
#include "node_p.h"
#include "forkserver_p.h"
#include "link_unix_p.h"
#include "processtitle_p.h"

#include <plexus/exec.h>

#include <QtCore/qcoreapplication.h>
#include <QtCore/qendian.h>
#include <QtCore/qeventloop.h>
#include <QtCore/qsocketnotifier.h>
#include <QtCore/qtimer.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

#include <sys/socket.h>
#include <unistd.h>

namespace Plexus {

void (*Testing::secretDrawn)(const unsigned char *, qsizetype) = nullptr;

namespace {

int g_signalPipe[2] = {-1, -1};

void onTerminationSignal(int)
{
    const int saved = errno;
    const char c = 1;
    [[maybe_unused]] const ssize_t n = ::write(g_signalPipe[1], &c, 1);
    errno = saved;
}

// SIGTERM/SIGINT end the event loop (self-pipe: nothing but write() in the handler).
void installSignalHandlers(QObject *context)
{
    if (g_signalPipe[0] < 0 && ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, g_signalPipe) != 0)
        return;
    auto *notifier = new QSocketNotifier(qintptr(g_signalPipe[0]), QSocketNotifier::Read, context);
    QObject::connect(notifier, &QSocketNotifier::activated, context, [] {
        char buffer[16];
        while (::read(g_signalPipe[0], buffer, sizeof buffer) > 0) { }
        qCDebug(lcWorker) << "termination signal: stopping";
        QCoreApplication::quit();
    });
    struct sigaction sa{};
    sa.sa_handler = &onTerminationSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGINT, &sa, nullptr);
}

// A worker count as given on the command line or in PLEXUS_WORKERS: an integer, negative
// for "per core". False if it is not one.
bool parseCount(const char *text, int *out)
{
    if (!text || !*text)
        return false;
    char *end = nullptr;
    errno = 0;
    const long n = std::strtol(text, &end, 10);
    if (errno != 0 || !end || *end != '\0' || n < -ExecOptions::MaxWorkers || n > ExecOptions::MaxWorkers)
        return false;
    *out = int(n);
    return true;
}

void printCountError(const char *where, const char *value)
{
    std::fprintf(stderr,
                 "plexus: invalid worker count %s'%s': give a number (negative: that many per "
                 "CPU core), at most %d workers\n",
                 where, value ? value : "", ExecOptions::MaxWorkers);
}

// Reads --workers N, --workers=N, -w N and -wN from argv and removes them, up to a "--"
// (QCommandLineParser's rule), which stays for the application. False on a bad value.
bool takeWorkersArgument(int &argc, char **argv, int *workers)
{
    for (int i = 1; i < argc;) {
        const char *a = argv[i];
        if (std::strcmp(a, "--") == 0)
            break;
        const char *value = nullptr;
        int consumed = 0;
        if (std::strcmp(a, "--workers") == 0 || std::strcmp(a, "-w") == 0) {
            value = i + 1 < argc && std::strcmp(argv[i + 1], "--") != 0 ? argv[i + 1] : nullptr;
            consumed = value ? 2 : 1;
            if (!value) {
                std::fprintf(stderr, "plexus: %s needs a worker count\n", a);
                return false;
            }
        } else if (std::strncmp(a, "--workers=", 10) == 0) {
            value = a + 10;
            consumed = 1;
        } else if (std::strncmp(a, "-w", 2) == 0 && a[2] != '\0') {
            value = a + 2;
            consumed = 1;
        } else {
            ++i;
            continue;
        }
        if (!parseCount(value, workers)) {
            printCountError("", value);
            return false;
        }
        for (int j = i; j + consumed <= argc; ++j)
            argv[j] = argv[j + consumed];
        argc -= consumed;
    }
    return true;
}

// The worker count from the options, PLEXUS_WORKERS and the command line (later ones win);
// -1 (after printing why) if one of them is invalid.
int resolveWorkerCount(int &argc, char **argv, int fromOptions)
{
    int workers = fromOptions;
    const QByteArray env = qgetenv("PLEXUS_WORKERS");
    if (!env.isEmpty() && !parseCount(env.constData(), &workers)) {
        printCountError("in PLEXUS_WORKERS ", env.constData());
        return -1;
    }
    if (!takeWorkersArgument(argc, argv, &workers))
        return -1;
    if (workers < 0) {
        const long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
        workers = int(-workers * (cores > 0 ? cores : 1));
    }
    if (workers > ExecOptions::MaxWorkers) {
        std::fprintf(stderr, "plexus: %d workers asked for; at most %d\n", workers,
                     ExecOptions::MaxWorkers);
        return -1;
    }
    return workers;
}

// Runs onStart inside a short event loop that reads no socket, so that the
// QCoreApplication::exit(code) (or quit()) it may call ends the program with that code:
// outside a running loop Qt drops it. onStart is the first thing that loop does (an event
// of the highest priority, ahead of anything the Node has queued), so the signals it
// connects to have not been emitted yet, as before. True with *code set if onStart asked
// to exit.
class OnStartRunner : public QObject
{
public:
    OnStartRunner(Node &node, const std::function<void(Node &)> &onStart, QEventLoop &loop)
        : m_node(node), m_onStart(onStart), m_loop(loop) { }
    static QEvent::Type eventType()
    {
        static const auto type = QEvent::Type(QEvent::registerEventType());
        return type;
    }
    static constexpr int Continue = std::numeric_limits<int>::min();

protected:
    bool event(QEvent *e) override
    {
        if (e->type() != eventType())
            return QObject::event(e);
        m_onStart(m_node);
        if (m_loop.isRunning())
            m_loop.exit(Continue);
        return true;
    }

private:
    Node &m_node;
    const std::function<void(Node &)> &m_onStart;
    QEventLoop &m_loop;
};

bool runOnStart(Node &node, const std::function<void(Node &)> &onStart, int *code)
{
    if (!onStart)
        return false;
    QEventLoop loop;
    OnStartRunner runner(node, onStart, loop);
    QCoreApplication::postEvent(&runner, new QEvent(OnStartRunner::eventType()),
                                Qt::HighEventPriority + 1);
    const int rc = loop.exec(QEventLoop::ExcludeSocketNotifiers | QEventLoop::ExcludeUserInputEvents);
    if (rc == OnStartRunner::Continue)
        return false;
    *code = rc;
    return true;
}

int runProcess(int &argc, char **argv, ProcessSetup &setup, const ExecOptions &options,
               const std::function<void(Node &)> &onStart)
{
    ::signal(SIGPIPE, SIG_IGN);
    std::unique_ptr<QCoreApplication> app = options.createApplication
            ? options.createApplication(argc, argv)
            : std::make_unique<QCoreApplication>(argc, argv);
    installSignalHandlers(app.get());

    int rc = 0;
    {
        NodePrivate::pendingSetup = &setup;
        Node node;
        if (!node.start()) {
            std::fprintf(stderr, "plexus: %s\n", qPrintable(node.errorString()));
            rc = 1;
        } else {
            int startCode = 0;
            if (!runOnStart(node, onStart, &startCode))
                rc = app->exec();
            else
                rc = startCode;   // onStart called QCoreApplication::exit() (or quit())
            node.shutdown(options.shutdownTimeoutMs);
        }
    }
    app.reset();
    std::fflush(nullptr);
    return rc;
}

// An exec'd worker's join packet: the link key (32 bytes) and the machine id (8, LE).
bool readJoinPacket(int fd, ProcessSetup *setup)
{
    unsigned char packet[CryptoKey::KeySize + 8];
    qsizetype have = 0;
    while (have < qsizetype(sizeof packet)) {
        const ssize_t n = ::read(fd, packet + have, sizeof packet - size_t(have));
        if (n > 0)
            have += n;
        else if (n < 0 && errno == EINTR)
            continue;
        else
            break;
    }
    ::close(fd);
    const bool ok = have == qsizetype(sizeof packet);
    if (ok) {
        setup->psk = CryptoKey::fromBytes(packet);
        setup->machineId = qFromLittleEndian<quint64>(packet + CryptoKey::KeySize);
    }
    Crypto::wipe(packet, sizeof packet);
    return ok;
}

} // namespace

int exec(int &argc, char **argv, const ExecOptions &options,
         const std::function<void(Node &)> &onStart)
{
    if (options.maxMessageLength > 0)
        setMaxMessageLength(options.maxMessageLength);
    if (!Crypto::initialize()) {
        std::fprintf(stderr, "plexus: libsodium cannot be initialised\n");
        return 1;
    }

    ProcessSetup setup;
    setup.restartPolicy = options.restartPolicy;
    setup.maxRestarts = options.maxRestarts;
    setup.restartWindowMs = options.restartWindowMs;
    setup.handshakeTimeoutMs = options.handshakeTimeoutMs;
    setup.maxPendingConnections = options.maxPendingConnections;
    setup.workerStartTimeoutMs = options.workerStartTimeoutMs;
    setup.busyPollUs = qBound(0, options.busyPollUs, 1000);
    setup.linkBackend = linkBackendFromEnvironment(options.linkBackend);

    // An exec'd worker started by Node::spawn(): join the master named in the environment.
    const QByteArray keyFd = qgetenv("PLEXUS_KEY_FD");
    if (!keyFd.isEmpty()) {
        qunsetenv("PLEXUS_KEY_FD");
        ProcessSetup ignored;
        NodePrivate::takeEnvironmentSecret(&ignored);   // an exec'd worker keeps none
        setup.role = Node::Worker;
        setup.isExec = true;
        setup.slot = qEnvironmentVariableIntValue("PLEXUS_SLOT");
        setup.ipcUrl = qEnvironmentVariable("PLEXUS_IPC_URL");
        setup.socketPath = IpcSocket::pathFromUrl(setup.ipcUrl);
        if (!readJoinPacket(keyFd.toInt(), &setup)) {
            std::fprintf(stderr, "plexus: no link key on fd %s\n", keyFd.constData());
            return 1;
        }
        const int rc = runProcess(argc, argv, setup, options, onStart);
        setup = ProcessSetup();
        Crypto::wipeAllKeys();
        return rc;
    }

    const int workers = resolveWorkerCount(argc, argv, options.workers);
    if (workers < 0)
        return 2;
    setup.role = Node::Master;
    setup.initialWorkers = workers;
    setup.machineId = Crypto::nextId();
    {
        // The secret of this run exists only long enough to derive the link key.
        unsigned char secret[32];
        Crypto::randomFill(secret, sizeof secret);
        if (Testing::secretDrawn)
            Testing::secretDrawn(secret, sizeof secret);
        setup.psk = CryptoKey::derive(QByteArrayView(reinterpret_cast<char *>(secret), sizeof secret),
                                      NodePrivate::LinkKeyContext);
        Crypto::wipe(secret, sizeof secret);
    }
    // The cluster secret, if any, is turned into keys and scrubbed before anything forks.
    NodePrivate::takeEnvironmentSecret(&setup);
    QString error;
    if (!IpcSocket::resolve(options.ipcUrl, &setup.socketPath, &setup.privateDir, &error)) {
        std::fprintf(stderr, "plexus: %s\n", qPrintable(error));
        return 1;
    }
    setup.ipcUrl = QLatin1String("unix://") + setup.socketPath;
    // Listen before forking, so workers can connect the moment they start.
    setup.listenFd = IpcSocket::listen(setup.socketPath, &error);
    if (setup.listenFd < 0) {
        std::fprintf(stderr, "plexus: %s\n", qPrintable(error));
        if (!setup.privateDir.isEmpty())
            ::rmdir(setup.privateDir.toLocal8Bit().constData());
        return 1;
    }

    if (workers > 0) {
        std::fflush(nullptr);
        ProcessTitle::init(argc, argv);
        // Runs in a child of the fork server, which already closed the listening socket.
        auto workerMain = [&argc, argv, setup, options, onStart](int slot) mutable {
            char what[32], shortWhat[16];
            std::snprintf(what, sizeof what, "worker %d", slot);
            std::snprintf(shortWhat, sizeof shortWhat, "w%d", slot);
            ProcessTitle::set(what, shortWhat);
            ProcessSetup ws = setup;
            setup = ProcessSetup();   // one copy of the key in this process, not two
            ws.role = Node::Worker;
            ws.slot = slot;
            ws.listenFd = -1;
            ws.privateDir.clear();   // the master owns and removes it
            ws.initialWorkers = 0;
            ws.clusterLinkKey = CryptoKey();   // wiped in the fork server already
            ws.discoveryKey = CryptoKey();
            ws.brokerKey = CryptoKey();
            ws.clusterId.clear();
            return runProcess(argc, argv, ws, options, onStart);
        };
        // The fork server and the workers it forks never use the cluster keys.
        const CryptoKey linkKey = setup.clusterLinkKey, discoveryKey = setup.discoveryKey,
                        brokerKey = setup.brokerKey;
        setup.forkServerFd = ForkServer::launch(workerMain, setup.socketPath.toStdString(),
                                                setup.privateDir.toStdString(), setup.listenFd,
                                                &setup.forkServerPid, [&linkKey, &discoveryKey, &brokerKey] {
            linkKey.wipe();
            discoveryKey.wipe();
            brokerKey.wipe();
        });
        if (setup.forkServerFd < 0) {
            std::fprintf(stderr, "plexus: cannot start the fork server: %s\n", std::strerror(errno));
            return 1;
        }
    }
    const int rc = runProcess(argc, argv, setup, options, onStart);
    setup = ProcessSetup();
    Crypto::wipeAllKeys();
    return rc;
}

} // namespace Plexus
