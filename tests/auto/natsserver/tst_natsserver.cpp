// SPDX-License-Identifier: MIT
//
// TestSupport::NatsServers (tests/shared/natsserver.h), the fixture that runs real
// nats-server processes: a single server and a cluster of three carry messages (the NATS
// text protocol spoken by hand over a QTcpSocket, no client library), kill, stop, resume
// and restart do what they say, and no server outlives the fixture or the test process.
// Skipped where nats-server is not installed.

#include "natsserver.h"

#include <QtCore/qcoreapplication.h>
#include <QtCore/qelapsedtimer.h>
#include <QtCore/qfile.h>
#include <QtCore/qjsonarray.h>
#include <QtCore/qjsondocument.h>
#include <QtCore/qjsonobject.h>
#include <QtCore/qprocess.h>
#include <QtCore/qset.h>
#include <QtCore/qtemporarydir.h>
#include <QtNetwork/qhostaddress.h>
#include <QtNetwork/qtcpsocket.h>
#include <QtTest/qtest.h>

#include <cerrno>
#include <csignal>
#include <cstdio>

#include <sys/prctl.h>
#include <unistd.h>

using TestSupport::NatsServers;

namespace {

// Set in the environment of this program run as the child of
// noServerOutlivesTheTestProcess(): it starts a server, prints its pid and waits.
constexpr char kOrphanVariable[] = "PLEXUS_TST_NATSSERVER_ORPHAN";

// The state letter of /proc/<pid>/stat, 0 if there is no such process.
char processState(qint64 pid)
{
    QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!stat.open(QIODevice::ReadOnly))
        return 0;
    const QByteArray s = stat.readAll();
    const qsizetype paren = s.lastIndexOf(')');
    return paren >= 0 && paren + 2 < s.size() ? s.at(paren + 2) : char(0);
}

bool exists(qint64 pid)
{
    return ::kill(pid_t(pid), 0) == 0;
}

// Reaped: no such process at all (what a child of ours is once QProcess has waited for it).
bool reaped(qint64 pid)
{
    return ::kill(pid_t(pid), 0) == -1 && errno == ESRCH;
}

// A NATS client speaking the text protocol by hand: enough to see a server greet, take
// subscriptions and deliver messages.
class RawClient : public QObject
{
public:
    explicit RawClient(quint16 port)
    {
        connect(&m_socket, &QTcpSocket::readyRead, this, [this] { m_in += m_socket.readAll(); });
        m_socket.connectToHost(QHostAddress(QHostAddress::LocalHost), port);
    }

    // Waits for the server's INFO, sends CONNECT and a PING and waits for the PONG (or
    // for an -ERR, then false).
    bool handshake(const QByteArray &options = R"({"verbose":false,"pedantic":false})")
    {
        if (!waitFor("\r\n"))
            return false;
        send("CONNECT " + options + "\r\n");
        return sync() && !m_in.contains("-ERR");
    }
    // PING, and waits for its PONG: the server has handled everything sent before.
    bool sync()
    {
        const qsizetype pongs = m_in.count("PONG\r\n");
        send("PING\r\n");
        return QTest::qWaitFor([&] { return m_in.count("PONG\r\n") > pongs || m_in.contains("-ERR"); }, 5000)
            && m_in.count("PONG\r\n") > pongs;
    }
    void send(const QByteArray &data)
    {
        m_socket.write(data);
        m_socket.flush();
    }
    bool waitFor(const QByteArray &text, int timeoutMs = 5000)
    {
        return QTest::qWaitFor([&] { return m_in.contains(text); }, timeoutMs);
    }
    // The greeting's JSON.
    QJsonObject info() const
    {
        if (!m_in.startsWith("INFO "))
            return {};
        return QJsonDocument::fromJson(m_in.mid(5, m_in.indexOf("\r\n") - 5)).object();
    }
    const QByteArray &received() const { return m_in; }
    QTcpSocket &socket() { return m_socket; }

private:
    QTcpSocket m_socket;
    QByteArray m_in;
};

// Publishes \a payload on \a subject from \a from until \a to has a message of it (with
// subscription id \a sid): a SUB reaches the other servers of a cluster over the routes a
// moment after the server it was sent to has it, and a message published before is lost.
bool publishUntilDelivered(RawClient &from, RawClient &to, const QByteArray &subject, int sid,
                           const QByteArray &payload)
{
    const QByteArray pub = "PUB " + subject + ' ' + QByteArray::number(payload.size()) + "\r\n" + payload + "\r\n";
    const QByteArray msg = "MSG " + subject + ' ' + QByteArray::number(sid) + ' '
        + QByteArray::number(payload.size()) + "\r\n" + payload + "\r\n";
    return QTest::qWaitFor([&] {
        if (to.received().contains(msg))
            return true;
        from.send(pub);
        return false;
    }, 10000);
}

} // namespace

class tst_NatsServer : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void singleServer();
    void configuration();
    void restartSingle();
    void cluster();
    void noServerOutlivesTheFixture();
    void noServerOutlivesTheTestProcess();
};

void tst_NatsServer::initTestCase()
{
    if (!NatsServers::available())
        QSKIP("nats-server is not installed (Debian: apt-get install nats-server)");
    qInfo("using %s", qPrintable(NatsServers::program()));
}

void tst_NatsServer::singleServer()
{
    NatsServers nats;
    QElapsedTimer timer;
    timer.start();
    QString error;
    QVERIFY2(nats.start(1, &error), qPrintable(error));
    qInfo("1 server ready after %lld ms", timer.elapsed());

    QCOMPARE(nats.count(), 1);
    const quint16 port = nats.port(0);
    QVERIFY(port != 0 && port != 4222 && port != 6222 && port != 8222);
    QCOMPARE(nats.url(0), QStringLiteral("nats://127.0.0.1:%1").arg(port));
    QCOMPARE(nats.urls(), nats.url(0));
    QCOMPARE(nats.clusterPort(0), quint16(0));
    QVERIFY(nats.isRunning(0));
    const qint64 pid = nats.pid(0);
    QVERIFY(pid > 0);
    QVERIFY(exists(pid));

    RawClient client(port);
    QVERIFY2(client.handshake(), client.received().constData());
    QCOMPARE(client.info().value(QLatin1String("max_payload")).toInteger(), 1024 * 1024);
    QCOMPARE(client.info().value(QLatin1String("port")).toInt(), int(port));
    client.send("SUB foo 1\r\nPUB foo 5\r\nhello\r\n");
    QVERIFY2(client.waitFor("MSG foo 1 5\r\nhello\r\n"), client.received().constData());

    nats.kill(0);
    QVERIFY(!nats.isRunning(0));
    QCOMPARE(nats.pid(0), pid);   // still known
    QVERIFY(reaped(pid));
    QTRY_COMPARE(client.socket().state(), QAbstractSocket::UnconnectedState);
    QTcpSocket probe;
    probe.connectToHost(QHostAddress(QHostAddress::LocalHost), port);
    QVERIFY(!probe.waitForConnected(5000));
    QCOMPARE(probe.error(), QAbstractSocket::ConnectionRefusedError);
    QVERIFY(nats.dump().contains(QStringLiteral("ended by a signal")));
}

// setMaxPayload() and setExtraConfig() reach the server.
void tst_NatsServer::configuration()
{
    NatsServers nats;
    nats.setMaxPayload(4096);
    nats.setExtraConfig(QStringLiteral("authorization {\n  user: plexus\n  password: secret\n}"));
    QString error;
    QVERIFY2(nats.start(1, &error), qPrintable(error));

    RawClient anonymous(nats.port(0));
    QVERIFY(!anonymous.handshake());
    QCOMPARE(anonymous.info().value(QLatin1String("max_payload")).toInteger(), 4096);
    QVERIFY(anonymous.info().value(QLatin1String("auth_required")).toBool());
    QVERIFY2(anonymous.waitFor("-ERR 'Authorization Violation'"), anonymous.received().constData());

    RawClient user(nats.port(0));
    QVERIFY2(user.handshake(R"({"verbose":false,"pedantic":false,"user":"plexus","pass":"secret"})"),
             user.received().constData());
    user.send("PUB foo 4097\r\n" + QByteArray(4097, 'x') + "\r\n");
    QVERIFY2(user.waitFor("-ERR 'Maximum Payload Violation'"), user.received().constData());
}

void tst_NatsServer::restartSingle()
{
    NatsServers nats;
    QString error;
    QVERIFY2(nats.start(1, &error), qPrintable(error));
    const quint16 port = nats.port(0);
    const qint64 first = nats.pid(0);

    nats.kill(0);
    QVERIFY2(nats.restart(0, &error), qPrintable(error));
    QCOMPARE(nats.port(0), port);
    const qint64 second = nats.pid(0);
    QVERIFY(second != first);
    RawClient client(port);
    QVERIFY2(client.handshake(), client.received().constData());

    // A server that still runs is killed first.
    QVERIFY2(nats.restart(0, &error), qPrintable(error));
    QVERIFY(reaped(second));
    RawClient again(port);
    QVERIFY2(again.handshake(), again.received().constData());
    QCOMPARE(nats.dump().count(QStringLiteral("--- restarted")), 2);
}

void tst_NatsServer::cluster()
{
    NatsServers nats;
    QElapsedTimer timer;
    timer.start();
    QString error;
    QVERIFY2(nats.start(3, &error), qPrintable(error));
    qInfo("3 servers with their routes ready after %lld ms", timer.elapsed());

    QCOMPARE(nats.count(), 3);
    QSet<quint16> ports;
    for (int i = 0; i < 3; ++i) {
        ports << nats.port(i) << nats.clusterPort(i);
        QVERIFY(nats.isRunning(i));
    }
    QCOMPARE(ports.size(), 6);
    for (quint16 wellKnown : {4222, 6222, 8222})
        QVERIFY(!ports.contains(wellKnown));
    QCOMPARE(nats.urls(), nats.url(0) + u',' + nats.url(1) + u',' + nats.url(2));

    RawClient c0(nats.port(0));
    RawClient c2(nats.port(2));
    QVERIFY2(c0.handshake(), qPrintable(nats.dump()));
    QVERIFY2(c2.handshake(), qPrintable(nats.dump()));
    QCOMPARE(c0.info().value(QLatin1String("cluster")).toString(), QStringLiteral("plexus-test"));
    QCOMPARE(c0.info().value(QLatin1String("connect_urls")).toArray().size(), 3);

    // Subscribed on server 0, published on server 2: the routes carry it.
    c0.send("SUB foo 1\r\n");
    QVERIFY(c0.sync());
    QVERIFY2(publishUntilDelivered(c2, c0, "foo", 1, "hello"), qPrintable(nats.dump()));

    // Server 1 stopped: 0 and 2 go on without it.
    const qint64 pid1 = nats.pid(1);
    nats.stop(1);
    QCOMPARE(processState(pid1), 'T');
    QVERIFY(nats.isRunning(1));
    QVERIFY(nats.dump().contains(QStringLiteral("stopped (SIGSTOP)")));
    c0.send("SUB bar 2\r\n");
    QVERIFY(c0.sync());
    QVERIFY2(publishUntilDelivered(c2, c0, "bar", 2, "while 1 is stopped"), qPrintable(nats.dump()));

    // Resumed, it answers and routes again.
    nats.resume(1);
    QVERIFY(processState(pid1) != 'T');
    QVERIFY2(nats.waitReady(10000, &error), qPrintable(error));
    RawClient c1(nats.port(1));
    QVERIFY2(c1.handshake(), qPrintable(nats.dump()));
    c0.send("SUB baz 3\r\n");
    QVERIFY(c0.sync());
    QVERIFY2(publishUntilDelivered(c1, c0, "baz", 3, "resumed"), qPrintable(nats.dump()));

    // Killed and restarted on its ports, it is routed to the others again.
    nats.kill(1);
    QVERIFY(reaped(pid1));
    QTRY_COMPARE(c1.socket().state(), QAbstractSocket::UnconnectedState);
    timer.restart();
    QVERIFY2(nats.restart(1, &error), qPrintable(error));
    qInfo("server 1 restarted, with its routes, after %lld ms", timer.elapsed());
    RawClient c1b(nats.port(1));
    QVERIFY2(c1b.handshake(), qPrintable(nats.dump()));
    QCOMPARE(c1b.info().value(QLatin1String("connect_urls")).toArray().size(), 3);
    c0.send("SUB qux 4\r\n");
    QVERIFY(c0.sync());
    QVERIFY2(publishUntilDelivered(c1b, c0, "qux", 4, "restarted"), qPrintable(nats.dump()));
}

// The destructor ends every server, a stopped one too, and reaps them.
void tst_NatsServer::noServerOutlivesTheFixture()
{
    QList<qint64> pids;
    QElapsedTimer timer;
    {
        NatsServers nats;
        QString error;
        QVERIFY2(nats.start(3, &error), qPrintable(error));
        nats.stop(1);
        for (int i = 0; i < 3; ++i) {
            pids << nats.pid(i);
            QVERIFY(exists(pids.last()));
        }
        timer.start();
    }
    qInfo("3 servers (one stopped) ended in %lld ms", timer.elapsed());
    for (qint64 pid : std::as_const(pids))
        QVERIFY2(reaped(pid), qPrintable(QString::number(pid)));
}

// The servers go with the test process even when it is SIGKILLed (PR_SET_PDEATHSIG): this
// program, run again as a child that starts a server, is killed. A single server: the
// members of a cluster log a route retry about a second after they start, and would die of
// SIGPIPE on the dead test's stdout pipe then, PR_SET_PDEATHSIG or not; a lone server says
// nothing once ready.
void tst_NatsServer::noServerOutlivesTheTestProcess()
{
    // The child's configuration directory cannot go with it: it goes in ours.
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    QProcess child;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QString::fromLatin1(kOrphanVariable), QStringLiteral("1"));
    env.insert(QStringLiteral("TMPDIR"), tmp.path());
    child.setProcessEnvironment(env);
    child.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    child.setChildProcessModifier([] { ::prctl(PR_SET_PDEATHSIG, SIGKILL); });
    QByteArray out;
    connect(&child, &QProcess::readyReadStandardOutput, this, [&] { out += child.readAllStandardOutput(); });
    child.start(QCoreApplication::applicationFilePath(), {});
    QVERIFY(child.waitForStarted(5000));
    QTRY_VERIFY_WITH_TIMEOUT(out.contains('\n') || child.state() == QProcess::NotRunning, 15000);
    QVERIFY2(out.startsWith("PIDS "), out.constData());

    QList<qint64> pids;
    for (const QByteArray &word : out.trimmed().split(' ').mid(1))
        pids << word.toLongLong();
    QCOMPARE(pids.size(), 1);
    for (qint64 pid : std::as_const(pids))
        QVERIFY(exists(pid) && processState(pid) != 'Z');

    ::kill(pid_t(child.processId()), SIGKILL);
    QVERIFY(child.waitForFinished(5000));
    // Not our children: whoever inherits them reaps them, maybe later. A zombie has ended.
    for (qint64 pid : std::as_const(pids))
        QTRY_VERIFY_WITH_TIMEOUT(reaped(pid) || processState(pid) == 'Z', 5000);
}

// As the child of noServerOutlivesTheTestProcess(): a server, its pid on stdout, then waits
// to be killed.
static int runOrphan()
{
    NatsServers nats;
    QString error;
    if (!nats.start(1, &error)) {
        std::fprintf(stderr, "%s\n", qPrintable(error));
        return 1;
    }
    std::printf("PIDS %lld\n", nats.pid(0));
    std::fflush(stdout);
    return QCoreApplication::exec();
}

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    if (qEnvironmentVariableIsSet(kOrphanVariable))
        return runOrphan();
    tst_NatsServer test;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&test, argc, argv);
}

#include "tst_natsserver.moc"
