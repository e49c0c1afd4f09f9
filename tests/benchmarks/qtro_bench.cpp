// SPDX-License-Identifier: MIT
// Qt Remote Objects baseline: what a Qt developer would use instead of Plexus for calls
// between two processes. A source object with a slot returning QByteArray is remoted by a
// QRemoteObjectHost on a local: URL in this process; a client forked before Qt starts
// acquires a dynamic replica and calls the slot through QRemoteObjectPendingCallWatcher,
// sequentially (one call in flight) or pipelined (--window N in flight). Unencrypted.
#include "bench.h"

#include <QtCore/qcoreapplication.h>
#include <QtCore/qmetaobject.h>
#include <QtCore/qtimer.h>
#include <QtCore/qurl.h>
#include <QtRemoteObjects/qremoteobjectdynamicreplica.h>
#include <QtRemoteObjects/qremoteobjectnode.h>
#include <QtRemoteObjects/qremoteobjectpendingcall.h>

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace Bench {

class QtroEcho : public QObject
{
    Q_OBJECT
public Q_SLOTS:
    QByteArray echo(const QByteArray &data) { return data; }
};

namespace {

double cpuSeconds()
{
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec)
            + double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct Client
{
    ScenarioArgs args;
    QRemoteObjectDynamicReplica *replica = nullptr;
    QByteArray payload;
    long long issued = 0, completed = 0, bad = 0;
    Clock::time_point t0;
    double cpu0 = 0;

    void issue()
    {
        if (issued >= args.warmup + args.count)
            return;
        ++issued;
        QRemoteObjectPendingCall call;
        QMetaObject::invokeMethod(replica, "echo", Qt::DirectConnection,
                                  Q_RETURN_ARG(QRemoteObjectPendingCall, call),
                                  Q_ARG(QByteArray, payload));
        auto *watcher = new QRemoteObjectPendingCallWatcher(call);
        QObject::connect(watcher, &QRemoteObjectPendingCallWatcher::finished, watcher,
                         [this](QRemoteObjectPendingCallWatcher *w) {
            if (w->error() != QRemoteObjectPendingCall::NoError
                || w->returnValue().toByteArray().size() != args.size)
                ++bad;
            w->deleteLater();
            if (++completed == args.warmup) {
                t0 = Clock::now();
                cpu0 = cpuSeconds();
            }
            if (completed == args.warmup + args.count) {
                finish();
                return;
            }
            issue();
        });
    }

    void finish()
    {
        const double dt = secondsSince(t0);
        if (bad) {
            emitResult({{"error", "qtro-bad-replies"}, {"bad", std::to_string(bad)}});
            QCoreApplication::exit(1);
            return;
        }
        emitResult({{"rate", std::to_string(double(args.count) / dt)},
                    {"seconds", std::to_string(dt)},
                    {"count", std::to_string(args.count)},
                    {"caller_cpu_us_per_call", std::to_string((cpuSeconds() - cpu0) * 1e6 / double(args.count))}});
        QCoreApplication::exit(0);
    }
};

int runClient(int &argc, char **argv, const QUrl &url, const ScenarioArgs &args)
{
    QCoreApplication app(argc, argv);
    QRemoteObjectNode node;
    if (!node.connectToNode(url)) {
        emitResult({{"error", "qtro-connect-failed"}});
        return 1;
    }
    Client client;
    client.args = args;
    client.payload = QByteArray(int(args.size), 'q');
    std::unique_ptr<QRemoteObjectDynamicReplica> replica(node.acquireDynamic(QStringLiteral("Echo")));
    client.replica = replica.get();
    if (!replica->waitForSource(10000)) {
        emitResult({{"error", "qtro-no-source"}});
        return 1;
    }
    if (args.warmup == 0) {
        client.t0 = Clock::now();
        client.cpu0 = cpuSeconds();
    }
    const long long window = args.window > 0 ? args.window : 1;
    for (long long i = 0; i < window; ++i)
        client.issue();
    return app.exec();
}

} // namespace

int runQtroScenario(int &argc, char **argv, const ScenarioArgs &args);

} // namespace Bench

// plexus-bench-qtro --size N --count M --warmup W [--window K]: prints one RESULT line.
int main(int argc, char **argv)
{
    const Bench::ScenarioArgs a = Bench::parseScenarioArgs(argc, argv, "qtro");
    int qargc = 1;
    return Bench::runQtroScenario(qargc, argv, a);
}

namespace Bench {

int runQtroScenario(int &argc, char **argv, const ScenarioArgs &args)
{
    const QUrl url(QStringLiteral("local:plexus-bench-qtro-%1").arg(::getpid()));
    int ready[2];   // source -> client: "remoting"
    if (::pipe(ready) != 0) {
        std::perror("pipe");
        return 2;
    }
    const pid_t pid = forkClientWhenReady(ready, [&] { return runClient(argc, argv, url, args); });
    if (pid < 0)
        return 2;

    int rc = 0;
    {
        QCoreApplication app(argc, argv);
        QRemoteObjectHost host(url);
        QtroEcho echo;
        if (!host.enableRemoting(&echo, QStringLiteral("Echo"))) {
            emitResult({{"error", "qtro-host-failed"}});
            ::kill(pid, SIGKILL);
            rc = 1;
        } else {
            const char go = 'g';
            [[maybe_unused]] const ssize_t n = ::write(ready[1], &go, 1);
            ::close(ready[1]);
            ready[1] = -1;
            // The client's exit ends this process too: a SIGCHLD-free poll of waitpid.
            auto *timer = new QTimer(&app);
            QObject::connect(timer, &QTimer::timeout, &app, [pid, &rc] {
                int status = 0;
                if (::waitpid(pid, &status, WNOHANG) == pid) {
                    rc = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
                    QCoreApplication::exit(rc);
                }
            });
            timer->start(20);
            app.exec();
        }
    }
    if (ready[1] >= 0)
        ::close(ready[1]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return rc;
}

} // namespace Bench

#include "qtro_bench.moc"
