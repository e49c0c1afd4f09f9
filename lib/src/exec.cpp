// SPDX-License-Identifier: MIT
#include "crypto_p.h"
#include "logging_p.h"
#include "node_p.h"
#include "supervisor_p.h"

#include <plexus/exec.h>

#include <QtCore/qcoreapplication.h>
#include <QtCore/qsocketnotifier.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <sys/socket.h>
#include <unistd.h>

namespace Plexus {

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

// Reads --workers N, -w N, --workers=N from argv and removes them.
bool takeWorkersArgument(int &argc, char **argv, int *workers)
{
    bool found = false;
    for (int i = 1; i < argc;) {
        const char *a = argv[i];
        const char *value = nullptr;
        int consumed = 0;
        if ((std::strcmp(a, "--workers") == 0 || std::strcmp(a, "-w") == 0) && i + 1 < argc) {
            value = argv[i + 1];
            consumed = 2;
        } else if (std::strncmp(a, "--workers=", 10) == 0) {
            value = a + 10;
            consumed = 1;
        }
        if (!value) {
            ++i;
            continue;
        }
        char *end = nullptr;
        const long n = std::strtol(value, &end, 10);
        if (end && *end == '\0' && n > -1024 && n < 1024) {
            *workers = int(n);
            found = true;
        } else {
            std::fprintf(stderr, "plexus: ignoring invalid worker count '%s'\n", value);
        }
        for (int j = i; j + consumed <= argc; ++j)
            argv[j] = argv[j + consumed];
        argc -= consumed;
    }
    return found;
}

int resolveWorkerCount(int &argc, char **argv, int fromOptions)
{
    int workers = fromOptions;
    const QByteArray env = qgetenv("PLEXUS_WORKERS");
    if (!env.isEmpty()) {
        bool ok = false;
        const int n = env.toInt(&ok);
        if (ok)
            workers = n;
    }
    takeWorkersArgument(argc, argv, &workers);
    if (workers < 0) {
        const long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
        workers = int(-workers * (cores > 0 ? cores : 1));
    }
    return workers;
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
            if (onStart)
                onStart(node);
            rc = app->exec();
            node.shutdown(options.shutdownTimeoutMs);
        }
    }
    app.reset();
    std::fflush(nullptr);
    return rc;
}

bool readSecretFromFd(int fd, QByteArray *secret)
{
    QByteArray out;
    char buffer[256];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n > 0) {
            out.append(buffer, n);
            if (out.size() > 4096)
                return false;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        break;
    }
    Crypto::wipe(buffer, sizeof buffer);
    ::close(fd);
    *secret = out;
    return !out.isEmpty();
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

    // An exec'd worker started by Node::spawn(): join the master named in the environment.
    const QByteArray secretFd = qgetenv("PLEXUS_SECRET_FD");
    if (!secretFd.isEmpty()) {
        qunsetenv("PLEXUS_SECRET_FD");
        setup.role = Node::Worker;
        setup.isExec = true;
        setup.slot = qEnvironmentVariableIntValue("PLEXUS_SLOT");
        setup.ipcUrl = qEnvironmentVariable("PLEXUS_IPC_URL");
        setup.socketPath = NodePrivate::pathFromUrl(setup.ipcUrl);
        if (!readSecretFromFd(secretFd.toInt(), &setup.secret)) {
            std::fprintf(stderr, "plexus: no secret on fd %s\n", secretFd.constData());
            return 1;
        }
        return runProcess(argc, argv, setup, options, onStart);
    }

    const int workers = resolveWorkerCount(argc, argv, options.workers);
    setup.role = Node::Master;
    setup.initialWorkers = workers;
    setup.secret = Crypto::randomBytes(32);
    setup.ipcUrl = options.ipcUrl;
    QString error;
    if (!NodePrivate::resolveIpcUrl(setup, &error)) {
        std::fprintf(stderr, "plexus: %s\n", qPrintable(error));
        return 1;
    }
    // Listen before forking, so workers can connect the moment they start.
    setup.listenFd = NodePrivate::listenOn(setup.socketPath, &error);
    if (setup.listenFd < 0) {
        std::fprintf(stderr, "plexus: %s\n", qPrintable(error));
        if (!setup.privateDir.isEmpty())
            ::rmdir(setup.privateDir.toLocal8Bit().constData());
        return 1;
    }

    if (workers > 0) {
        std::fflush(nullptr);
        // Runs in a child of the fork server, which already closed the listening socket.
        auto workerMain = [&argc, argv, setup, options, onStart](int slot) mutable {
            ProcessSetup ws = setup;
            ws.role = Node::Worker;
            ws.slot = slot;
            ws.listenFd = -1;
            ws.privateDir.clear();   // the master owns and removes it
            ws.initialWorkers = 0;
            return runProcess(argc, argv, ws, options, onStart);
        };
        setup.supervisorFd = ForkServer::start(workerMain, setup.socketPath.toStdString(),
                                               setup.privateDir.toStdString(), setup.listenFd,
                                               &setup.supervisorPid);
        if (setup.supervisorFd < 0) {
            std::fprintf(stderr, "plexus: cannot start the fork server: %s\n", std::strerror(errno));
            return 1;
        }
    }
    return runProcess(argc, argv, setup, options, onStart);
}

} // namespace Plexus
