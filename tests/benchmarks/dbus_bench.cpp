// SPDX-License-Identifier: MIT
// QtDBus peer-to-peer baseline: a QDBusServer in this process, a client forked before Qt
// starts that connects with QDBusConnection::connectToPeer() and makes sequential
// blocking calls of a method that echoes 64 bytes.
#include "bench.h"

#include <QtCore/qcoreapplication.h>
#include <QtCore/qsocketnotifier.h>
#include <QtDBus/qdbusconnection.h>
#include <QtDBus/qdbusmessage.h>
#include <QtDBus/qdbusserver.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace Bench {

class DbusEcho : public QObject
{
    Q_OBJECT
    Q_CLASSINFO("D-Bus Interface", "org.plexus.Bench")
public Q_SLOTS:
    QByteArray echo(const QByteArray &data) { return data; }
};

namespace {

int runClient(int &argc, char **argv, const QString &address, const ScenarioArgs &args)
{
    QCoreApplication app(argc, argv);
    QDBusConnection conn = QDBusConnection::connectToPeer(address, QStringLiteral("bench"));
    if (!conn.isConnected()) {
        emitResult({{"error", "dbus-connect-failed"}});
        return 1;
    }
    QDBusMessage call = QDBusMessage::createMethodCall(QString(), QStringLiteral("/bench"),
                                                       QStringLiteral("org.plexus.Bench"),
                                                       QStringLiteral("echo"));
    call << QByteArray(int(args.size), 'd');
    long long bad = 0;
    Clock::time_point t0;
    for (long long i = 0; i < args.warmup + args.count; ++i) {
        if (i == args.warmup)
            t0 = Clock::now();
        const QDBusMessage reply = conn.call(call, QDBus::Block);
        if (reply.type() != QDBusMessage::ReplyMessage || reply.arguments().size() != 1
            || reply.arguments().at(0).toByteArray().size() != args.size)
            ++bad;
    }
    const double dt = secondsSince(t0);
    if (bad) {
        emitResult({{"error", "dbus-bad-replies"}, {"bad", std::to_string(bad)}});
        return 1;
    }
    emitResult({{"rate", std::to_string(double(args.count) / dt)},
                {"seconds", std::to_string(dt)},
                {"count", std::to_string(args.count)}});
    QDBusConnection::disconnectFromPeer(QStringLiteral("bench"));
    return 0;
}

} // namespace

int runDbusScenario(int &argc, char **argv, const ScenarioArgs &args);

} // namespace Bench

// plexus-bench-dbus --size N --count M --warmup W: prints one RESULT line.
int main(int argc, char **argv)
{
    const Bench::ScenarioArgs a = Bench::parseScenarioArgs(argc, argv, "dbus");
    int qargc = 1;
    return Bench::runDbusScenario(qargc, argv, a);
}

namespace Bench {

int runDbusScenario(int &argc, char **argv, const ScenarioArgs &args)
{
    char dirTemplate[] = "/tmp/plexus-bench-dbus-XXXXXX";
    if (!::mkdtemp(dirTemplate)) {
        std::perror("mkdtemp");
        return 2;
    }
    const std::string socketPath = std::string(dirTemplate) + "/bus";
    const QString address = QStringLiteral("unix:path=") + QString::fromStdString(socketPath);

    int ready[2];   // server -> client: "listening"
    int alive[2];   // held by the client: EOF tells the server it is gone
    if (::pipe(ready) != 0 || ::pipe(alive) != 0) {
        std::perror("pipe");
        return 2;
    }
    const pid_t pid = forkClientWhenReady(ready, [&] { return runClient(argc, argv, address, args); },
                                          alive[0]);
    if (pid < 0)
        return 2;
    ::close(alive[1]);

    int rc = 0;
    {
        QCoreApplication app(argc, argv);
        QDBusServer server(address);
        if (!server.isConnected()) {
            std::fprintf(stderr, "plexus-bench: QDBusServer: %s\n",
                         qPrintable(server.lastError().message()));
            emitResult({{"error", "dbus-server-failed"}});
            ::kill(pid, SIGKILL);
            rc = 1;
        } else {
            DbusEcho echo;
            QList<QDBusConnection> connections;
            QObject::connect(&server, &QDBusServer::newConnection,
                             [&](const QDBusConnection &c) {
                QDBusConnection conn(c);
                conn.registerObject(QStringLiteral("/bench"), &echo,
                                    QDBusConnection::ExportAllSlots);
                connections.append(conn);
            });
            QSocketNotifier gone(alive[0], QSocketNotifier::Read);
            QObject::connect(&gone, &QSocketNotifier::activated, &app,
                             &QCoreApplication::quit);
            const char c = 1;
            [[maybe_unused]] const ssize_t n = ::write(ready[1], &c, 1);
            app.exec();
        }
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) { }
    ::unlink(socketPath.c_str());
    ::rmdir(dirTemplate);
    if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        rc = 1;
    return rc;
}

} // namespace Bench

#include "dbus_bench.moc"
