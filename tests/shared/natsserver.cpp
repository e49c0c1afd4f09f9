// SPDX-License-Identifier: MIT
#include "natsserver.h"

#include <QtCore/qcoreapplication.h>
#include <QtCore/qdeadlinetimer.h>
#include <QtCore/qdir.h>
#include <QtCore/qeventloop.h>
#include <QtCore/qfile.h>
#include <QtCore/qjsonarray.h>
#include <QtCore/qjsondocument.h>
#include <QtCore/qjsonobject.h>
#include <QtCore/qprocess.h>
#include <QtCore/qrandom.h>
#include <QtCore/qstandardpaths.h>
#include <QtCore/qtemporarydir.h>
#include <QtCore/qthread.h>
#include <QtCore/qtimer.h>
#include <QtNetwork/qhostaddress.h>
#include <QtNetwork/qtcpserver.h>
#include <QtNetwork/qtcpsocket.h>

#include <csignal>
#include <functional>
#include <utility>

#include <sys/prctl.h>
#include <sys/types.h>
#include <unistd.h>

namespace TestSupport {

namespace {

constexpr int kReadyTimeoutMs = 10000;
constexpr int kTermGraceMs = 3000;
constexpr qsizetype kOutputKept = 64 * 1024;   // per server
constexpr qsizetype kOutputDumped = 4 * 1024;  // per server, in dump()

// Ports the distribution's own nats-server (client, route, monitoring) may hold.
bool isWellKnown(quint16 port)
{
    return port == 4222 || port == 6222 || port == 8222;
}

void setError(QString *error, const QString &text)
{
    if (error)
        *error = text;
}

// Runs the event loop (if there is one) for \a ms: the servers' output keeps being read.
void pause(int ms)
{
    if (!QCoreApplication::instance()) {
        QThread::msleep(ulong(ms));
        return;
    }
    QEventLoop loop;
    QTimer::singleShot(ms, &loop, &QEventLoop::quit);
    loop.exec();
}

bool waitUntil(const std::function<bool()> &condition, int timeoutMs)
{
    const QDeadlineTimer deadline(timeoutMs);
    while (!condition()) {
        if (deadline.hasExpired())
            return condition();
        pause(5);
    }
    return true;
}

// The state letter of /proc/<pid>/stat ('R', 'S', 'T' for stopped, 'Z', ...), 0 if gone.
char processState(qint64 pid)
{
    QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!stat.open(QIODevice::ReadOnly))
        return 0;
    const QByteArray s = stat.readAll();
    const qsizetype paren = s.lastIndexOf(')');   // the command name may hold anything
    return paren >= 0 && paren + 2 < s.size() ? s.at(paren + 2) : char(0);
}

// The first port of the kernel's ephemeral range (what outgoing connections bind to).
int ephemeralLow()
{
    QFile range(QStringLiteral("/proc/sys/net/ipv4/ip_local_port_range"));
    if (range.open(QIODevice::ReadOnly)) {
        bool ok = false;
        const int low = range.readAll().simplified().split(' ').value(0).toInt(&ok);
        if (ok && low > 0)
            return low;
    }
    return 32768;
}

// \a n distinct ports that nothing holds on 127.0.0.1 now, none of them well known. They are
// taken at random below the ephemeral range: a port from there (what binding to port 0
// gives) can be taken between kill() and restart() by an outgoing connection, such as the
// route another member retries every second towards the killed one, or a client
// reconnecting. If that range starts too low to leave room, port 0 it is.
bool pickPorts(int n, QList<quint16> *ports, QString *error)
{
    const int low = 10000;
    const int high = ephemeralLow() - 1;
    const bool random = high - low >= 1000;
    // Held until all are picked, so that they differ.
    std::vector<std::unique_ptr<QTcpServer>> held;
    for (int tries = 0; ports->size() < n && tries < 2000; ++tries) {
        const quint16 wanted = random ? quint16(QRandomGenerator::global()->bounded(low, high + 1)) : 0;
        if (isWellKnown(wanted))
            continue;
        auto server = std::make_unique<QTcpServer>();
        if (!server->listen(QHostAddress(QHostAddress::LocalHost), wanted))
            continue;
        const quint16 port = server->serverPort();
        if (isWellKnown(port))
            continue;
        ports->append(port);
        held.push_back(std::move(server));
    }
    if (ports->size() == n)
        return true;
    setError(error, QStringLiteral("found no %1 free ports on 127.0.0.1").arg(n));
    return false;
}

// The INFO line a NATS server greets a client with, as JSON; an empty object if nothing
// listens on \a port or no INFO came within \a timeoutMs.
QJsonObject fetchInfo(quint16 port, int timeoutMs)
{
    const QDeadlineTimer deadline(timeoutMs);
    const auto remaining = [&deadline] { return int(qMax<qint64>(1, deadline.remainingTime())); };
    QTcpSocket socket;
    socket.connectToHost(QHostAddress(QHostAddress::LocalHost), port);
    if (!socket.waitForConnected(remaining()))
        return {};
    QByteArray text;
    while (!text.contains("\r\n")) {
        if (deadline.hasExpired() || !socket.waitForReadyRead(remaining()))
            return {};
        text += socket.readAll();
    }
    socket.abort();
    text.truncate(text.indexOf("\r\n"));
    if (!text.startsWith("INFO "))
        return {};
    return QJsonDocument::fromJson(text.mid(5)).object();
}

} // namespace

struct NatsServers::Server
{
    QProcess process;
    QString configPath;
    quint16 clientPort = 0;
    quint16 clusterPort = 0;
    qint64 pid = 0;
    bool wanted = false;    // started and neither killed nor ended by stopAll()
    bool stopped = false;   // SIGSTOPped
    QByteArray output;      // the last kOutputKept bytes of stdout and stderr

    void keep(const QByteArray &data)
    {
        output += data;
        if (output.size() > kOutputKept)
            output.remove(0, output.size() - kOutputKept);
    }
    bool running() const { return process.state() != QProcess::NotRunning; }
};

NatsServers::NatsServers() = default;

NatsServers::~NatsServers()
{
    stopAll();
}

QString NatsServers::program()
{
    QString found = QStandardPaths::findExecutable(QStringLiteral("nats-server"));
    if (found.isEmpty()) {
        found = QStandardPaths::findExecutable(QStringLiteral("nats-server"),
                                               {QStringLiteral("/usr/sbin"), QStringLiteral("/usr/bin")});
    }
    return found;
}

bool NatsServers::start(int count, QString *error)
{
    stopAll();
    m_servers.clear();
    if (count < 1) {
        setError(error, QStringLiteral("NatsServers::start(%1): no servers").arg(count));
        return false;
    }
    if (!available()) {
        setError(error, QStringLiteral("nats-server is neither on PATH nor in /usr/sbin, /usr/bin"));
        return false;
    }
    m_dir = std::make_unique<QTemporaryDir>(QDir::tempPath() + QStringLiteral("/plexus-nats-XXXXXX"));
    if (!m_dir->isValid()) {
        setError(error, QStringLiteral("no temporary directory: ") + m_dir->errorString());
        return false;
    }

    QString why;
    // A port picked free can be taken before the server binds it (another test picking at
    // the same time): then all of them again, with new ports.
    for (int attempt = 1; attempt <= 3; ++attempt) {
        m_servers.clear();
        QList<quint16> ports;
        if (!pickPorts(count > 1 ? 2 * count : 1, &ports, &why))
            break;
        for (int i = 0; i < count; ++i) {
            auto server = std::make_unique<Server>();
            server->clientPort = ports[i];
            server->clusterPort = count > 1 ? ports[count + i] : 0;
            server->configPath = m_dir->filePath(QStringLiteral("nats-%1.conf").arg(i));
            server->process.setProcessChannelMode(QProcess::MergedChannels);
            server->process.setWorkingDirectory(m_dir->path());
            Server *s = server.get();
            QObject::connect(&s->process, &QProcess::readyReadStandardOutput, &s->process,
                             [s] { s->keep(s->process.readAllStandardOutput()); });
            m_servers.push_back(std::move(server));
        }
        bool launched = true;
        for (int i = 0; i < count && launched; ++i) {
            QFile file(m_servers[size_t(i)]->configPath);
            if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate)
                || file.write(config(i).toUtf8()) < 0 || !file.flush()) {
                setError(error, QStringLiteral("cannot write %1: %2").arg(file.fileName(), file.errorString()));
                stopAll();
                return false;
            }
            file.close();
            launched = launch(i, &why);
            // One after the other, each once the one before listens for routes: servers
            // started together dial each other at the same moment, and nats-server 2.9.10
            // then at times closes both connections of a pair as duplicates and dials
            // again only a second later. A server started later dials the ones before,
            // whose dials towards it failed and are retried after a second (closed as
            // duplicates then, one side only). The log line only saves time: without it,
            // after 2 s, waitReady() still decides.
            if (launched && count > 1) {
                const Server &s = *m_servers[size_t(i)];
                waitUntil([&s] { return s.output.contains("Listening for route connections") || !s.running(); },
                          2000);
            }
        }
        if (launched && waitReady(kReadyTimeoutMs, &why))
            return true;
        stopAll();   // also reads what they wrote last
        bool portTaken = false;
        for (const auto &s : m_servers)
            portTaken = portTaken || s->output.contains("address already in use");
        if (!portTaken)
            break;
        why = QStringLiteral("attempt %1: a port was taken: ").arg(attempt) + why;
    }
    setError(error, why);
    return false;
}

QString NatsServers::config(int i) const
{
    const Server &s = *m_servers[size_t(i)];
    QString text = QStringLiteral("# nats-server %1 of %2, written by TestSupport::NatsServers\n"
                                  "server_name: \"plexus-test-%1\"\n"
                                  "listen: 127.0.0.1:%3\n"
                                  "max_payload: %4\n")
                       .arg(i).arg(count()).arg(s.clientPort).arg(m_maxPayload);
    if (count() > 1) {
        QStringList routes;
        for (int j = 0; j < count(); ++j) {
            if (j != i)
                routes << QStringLiteral("nats-route://127.0.0.1:%1").arg(m_servers[size_t(j)]->clusterPort);
        }
        // (Array elements need commas: nats-server 2.9 refuses ones only apart by spaces.)
        text += QStringLiteral("cluster {\n"
                               "  name: \"plexus-test\"\n"
                               "  listen: 127.0.0.1:%1\n"
                               "  routes: [%2]\n"
                               "}\n")
                    .arg(s.clusterPort)
                    .arg(routes.join(QStringLiteral(", ")));
    }
    if (!m_extraConfig.isEmpty())
        text += m_extraConfig + u'\n';
    return text;
}

bool NatsServers::launch(int i, QString *error)
{
    Server &s = *m_servers[size_t(i)];
    const pid_t parent = ::getpid();
    s.process.setChildProcessModifier([parent] {
        // In the child, between fork and exec: killed when the test process (the thread
        // that forks, which is the caller's) ends, however it ends; and at once if that
        // happened already.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent)
            ::_exit(127);
    });
    s.process.start(program(), {QStringLiteral("-c"), s.configPath});
    if (!s.process.waitForStarted(5000)) {
        setError(error, QStringLiteral("cannot run %1: %2").arg(program(), s.process.errorString()));
        return false;
    }
    s.pid = s.process.processId();
    s.wanted = true;
    s.stopped = false;
    return true;
}

// A server the others should have a route to: it runs, and answers (not stopped).
bool NatsServers::isMember(int i) const
{
    const Server &s = *m_servers[size_t(i)];
    return s.wanted && !s.stopped && s.running();
}

bool NatsServers::waitReady(int timeoutMs, QString *error)
{
    const QDeadlineTimer deadline(timeoutMs);
    const bool cluster = count() > 1;
    QString why;
    for (;;) {
        QStringList members;
        for (int i = 0; i < count(); ++i) {
            if (isMember(i))
                members << QStringLiteral("127.0.0.1:%1").arg(m_servers[size_t(i)]->clientPort);
        }
        bool ready = true;
        for (int i = 0; i < count() && ready; ++i) {
            const Server &s = *m_servers[size_t(i)];
            if (!s.wanted || s.stopped)
                continue;
            if (!s.running()) {
                setError(error, QStringLiteral("nats-server %1 ended while starting\n").arg(i) + dump());
                return false;
            }
            const int wait = int(qBound(qint64(1), deadline.remainingTime(), qint64(1000)));
            const QJsonObject info = fetchInfo(s.clientPort, wait);
            if (info.isEmpty()) {
                why = QStringLiteral("nats-server %1 does not answer on port %2").arg(i).arg(s.clientPort);
                ready = false;
                continue;
            }
            if (!cluster)
                continue;
            // connect_urls: the client addresses of this server and of every server it has a
            // route to (2.9.10 lists itself too).
            QStringList urls;
            for (const QJsonValue &url : info.value(QLatin1String("connect_urls")).toArray())
                urls << url.toString();
            QStringList missing;
            for (const QString &member : std::as_const(members)) {
                if (!urls.contains(member))
                    missing << member;
            }
            if (!missing.isEmpty()) {
                why = QStringLiteral("nats-server %1 has no route yet to %2 (connect_urls: %3)")
                          .arg(i)
                          .arg(missing.join(QStringLiteral(", ")), urls.join(QStringLiteral(", ")));
                ready = false;
            }
        }
        if (ready)
            return true;
        if (deadline.hasExpired()) {
            setError(error, why + QStringLiteral(" after %1 ms\n").arg(timeoutMs) + dump());
            return false;
        }
        pause(10);
    }
}

QString NatsServers::url(int i) const
{
    return QStringLiteral("nats://127.0.0.1:%1").arg(port(i));
}

QString NatsServers::urls() const
{
    QStringList all;
    for (int i = 0; i < count(); ++i)
        all << url(i);
    return all.join(u',');
}

quint16 NatsServers::port(int i) const
{
    return i >= 0 && i < count() ? m_servers[size_t(i)]->clientPort : 0;
}

quint16 NatsServers::clusterPort(int i) const
{
    return i >= 0 && i < count() ? m_servers[size_t(i)]->clusterPort : 0;
}

qint64 NatsServers::pid(int i) const
{
    return i >= 0 && i < count() ? m_servers[size_t(i)]->pid : 0;
}

bool NatsServers::isRunning(int i) const
{
    return i >= 0 && i < count() && m_servers[size_t(i)]->running();
}

void NatsServers::kill(int i)
{
    if (i < 0 || i >= count())
        return;
    Server &s = *m_servers[size_t(i)];
    s.wanted = false;
    s.stopped = false;
    if (!s.running())
        return;
    ::kill(pid_t(s.pid), SIGKILL);   // also ends a stopped one
    s.process.waitForFinished(5000);
}

void NatsServers::stop(int i)
{
    if (!isRunning(i))
        return;
    Server &s = *m_servers[size_t(i)];
    ::kill(pid_t(s.pid), SIGSTOP);
    s.stopped = true;
    waitUntil([&s] { return processState(s.pid) == 'T' || !s.running(); }, 5000);
}

void NatsServers::resume(int i)
{
    if (!isRunning(i))
        return;
    Server &s = *m_servers[size_t(i)];
    ::kill(pid_t(s.pid), SIGCONT);
    s.stopped = false;
    waitUntil([&s] { return processState(s.pid) != 'T' || !s.running(); }, 5000);
}

bool NatsServers::restart(int i, QString *error)
{
    if (i < 0 || i >= count()) {
        setError(error, QStringLiteral("NatsServers::restart(%1): there are %2 servers").arg(i).arg(count()));
        return false;
    }
    kill(i);
    m_servers[size_t(i)]->keep("--- restarted by TestSupport::NatsServers ---\n");
    return launch(i, error) && waitReady(kReadyTimeoutMs, error);
}

void NatsServers::stopAll()
{
    for (const auto &s : m_servers) {
        s->wanted = false;
        if (!s->running())
            continue;
        if (s->stopped)
            ::kill(pid_t(s->pid), SIGCONT);   // or SIGTERM waits for it
        s->stopped = false;
        ::kill(pid_t(s->pid), SIGTERM);
    }
    const QDeadlineTimer deadline(kTermGraceMs);
    for (const auto &s : m_servers) {
        if (!s->running())
            continue;
        if (s->process.waitForFinished(int(qMax<qint64>(1, deadline.remainingTime()))))
            continue;
        ::kill(pid_t(s->pid), SIGKILL);
        s->process.waitForFinished(5000);
    }
}

QString NatsServers::dump() const
{
    QString out;
    for (int i = 0; i < count(); ++i) {
        const Server &s = *m_servers[size_t(i)];
        QString state;
        if (s.pid == 0)
            state = QStringLiteral("not started");
        else if (s.running())
            state = s.stopped ? QStringLiteral("stopped (SIGSTOP)") : QStringLiteral("running");
        else if (s.process.exitStatus() == QProcess::CrashExit)
            state = QStringLiteral("ended by a signal");
        else
            state = QStringLiteral("exited with code %1").arg(s.process.exitCode());
        out += QStringLiteral("--- nats-server %1: pid %2, client port %3, cluster port %4, %5 ---\n")
                   .arg(i).arg(s.pid).arg(s.clientPort).arg(s.clusterPort).arg(state);
        if (s.output.size() > kOutputDumped)
            out += QStringLiteral("[...]\n") + QString::fromLocal8Bit(s.output.right(kOutputDumped));
        else
            out += QString::fromLocal8Bit(s.output);
    }
    return out;
}

} // namespace TestSupport
