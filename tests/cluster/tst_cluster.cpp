// SPDX-License-Identifier: MIT
//
// The cluster across machines: three hosts (network namespaces on a bridge, or loopback
// where namespaces cannot be made) each run cluster_node, a master with two workers; a
// fourth host has the wrong secret. They find each other by UDP discovery, and the tests
// check delivery counts, routing, rejection, a silent peer, reconnection and a killed host.
// Every process, namespace and bridge is removed in cleanupTestCase(), also after a
// failure; namespaces left by a run that was killed are removed by the next one.

#include "helperprocess.h"
#include "liveprocesses.h"
#include "natsserver.h"
#include "testhosts.h"

#include <QtCore/qdir.h>
#include <QtCore/qelapsedtimer.h>
#include <QtCore/qfile.h>
#include <QtCore/qhash.h>
#include <QtCore/qset.h>
#include <QtCore/quuid.h>
#include <QtTest/qtest.h>

#include <csignal>

using namespace Qt::StringLiterals;

namespace {

constexpr int Hosts = 3;              // the cluster
constexpr int WrongHost = 4;          // same program, another secret
constexpr int ProcessesPerHost = 3;   // master + 2 workers
constexpr int HeartbeatMs = 250;
constexpr int DeadAfterMs = 1500;
constexpr int JoinTimeoutMs = 30000;
const QByteArray Secret = "tst_cluster shared secret";

using TestSupport::HelperProcess;
using TestSupport::liveProcesses;

struct Result {
    bool seen = false;
    QByteArray tag;
    qint64 pid = 0;
    int error = -1;
    int count = -1;
    QList<QByteArray> replies;
};

} // namespace

class tst_Cluster : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase_data();
    void initTestCase();
    void init();
    void cleanupTestCase();

    void refusesWithoutSecret();
    void meshForms();
    void broadcastReachesEveryProcessOnce();
    void workerBroadcastOthers();
    void clusterReachesOtherMastersOnly();
    void wrongSecretNeverJoins();
    void silentPeerNoticedAndReconnects();
    void killedHostNoticed();
    void noDuplicatesAnywhere();

private:
    struct Machine {
        int host = 0;
        QByteArray tag;
        QByteArray token;
        HelperProcess *process = nullptr;   // cluster_node; its stdout lines are positional
        quint64 machineId = 0;              // from its READY line
        quint16 port = 0;
    };

    bool start(int host, const QByteArray &secret, const QStringList &extra = {});
    QList<TestSupport::Line> linesOf(int host, const QByteArray &kind);
    int countLines(int host, const QByteArray &kind, const QByteArray &field2 = {});
    Result call(int host, const QByteArray &verb);
    // RECV lines of call \a id, per "tag pid slot", across every host.
    QHash<QByteArray, int> receivers(const QByteArray &id);
    bool peerUp(int host, int other);
    // The NATS engine's machines run beside their server on loopback (a network namespace
    // of their own would not reach it); a silent host is a stopped one there.
    bool onNats() const { return m_engine == u"nats"_s; }
    bool cutWires() const { return m_hosts.mode() == TestHosts::Mode::Namespaces && !onNats(); }
    void stopMachine(Machine &m);
    QByteArray dump();

    TestHosts m_hosts;
    QByteArray m_run;
    QHash<int, Machine> m_machines;
    QHash<int, quint16> m_ports;
    QHash<QByteArray, int> m_expected;   // call id -> receivers it must have had
    int m_nextCall = 0;
    bool m_killed3 = false;
    QString m_engine;   // the engine the machines run now
    TestSupport::NatsServers m_nats;   // the broker of the "nats" row, stopped with the test
};

bool tst_Cluster::start(int host, const QByteArray &secret, const QStringList &extra)
{
    Machine &m = m_machines[host];
    m.host = host;
    m.tag = "h" + QByteArray::number(host);
    m.token = m_run + '-' + m.tag;
    QStringList args{u"--tag"_s, QString::fromLatin1(m.tag), u"--run"_s, QString::fromLatin1(m.token),
                     u"--port"_s, QString::number(m_ports.value(host)),
                     u"--heartbeat"_s, QString::number(HeartbeatMs),
                     u"--dead"_s, QString::number(DeadAfterMs),
                     u"--announce-interval"_s, u"500"_s, u"--reconnect-max"_s, u"1000"_s,
                     u"-w"_s, QString::number(ProcessesPerHost - 1)};
    if (m_hosts.mode() == TestHosts::Mode::Loopback) {
        // No broadcast off this machine: announce to the other nodes' ports only.
        args << u"--no-broadcast"_s;
        for (int other = 1; other <= WrongHost; ++other) {
            if (other != host)
                args << u"--announce"_s << u"127.0.0.1:%1"_s.arg(m_ports.value(other));
        }
    }
    // The cluster engine of this run (initTestCase_data): the URL that names it.
    if (m_engine == u"mesh"_s)
        args << u"--cluster-url"_s << u"tcp://0.0.0.0:%1"_s.arg(m_ports.value(host));
    else if (onNats())
        args << u"--cluster-url"_s << m_nats.urls();
    args << extra;
    QString program = QStringLiteral(CLUSTER_NODE_PATH);
    QStringList arguments = args;
    if (!onNats())
        m_hosts.wrap(host, QStringLiteral(CLUSTER_NODE_PATH), args, &program, &arguments);
    m.process = new HelperProcess(this);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(u"SECRET"_s);
    if (!secret.isEmpty())
        env.insert(u"SECRET"_s, QString::fromLatin1(secret));
    m.process->setEnvironment(env);
    m.process->setForwardStderr(true);
    // "READY <tag> <machine id> <port>"
    connect(m.process, &HelperProcess::lineReceived, this, [this, host](const TestSupport::Line &l) {
        if (l.tag == u"READY") {
            Machine &machine = m_machines[host];
            machine.machineId = l.word(1).toULongLong(nullptr, 16);
            machine.port = quint16(l.word(2).toUInt());
        }
    });
    return m.process->start(program, arguments, 10000);
}

// The lines "<kind> <tag> ..." of \a host; word(0) is the host's tag.
QList<TestSupport::Line> tst_Cluster::linesOf(int host, const QByteArray &kind)
{
    return m_machines[host].process->find(QString::fromLatin1(kind));
}

int tst_Cluster::countLines(int host, const QByteArray &kind, const QByteArray &field2)
{
    int n = 0;
    for (const TestSupport::Line &l : linesOf(host, kind)) {
        if (field2.isEmpty() || l.word(1) == QLatin1StringView(field2))
            ++n;
    }
    return n;
}

bool tst_Cluster::peerUp(int host, int other)
{
    const QByteArray id = QByteArray::number(m_machines[other].machineId, 16);
    return countLines(host, "PEERUP", id) > countLines(host, "PEERDOWN", id);
}

Result tst_Cluster::call(int host, const QByteArray &verb)
{
    const QByteArray id = "c" + QByteArray::number(++m_nextCall);
    m_machines[host].process->send(verb + ' ' + id);
    Result r;
    // "RESULT <id> <tag> <pid> <error> <count> <replies>"
    const auto find = [&] {
        for (const TestSupport::Line &l : linesOf(host, "RESULT")) {
            if (l.word(0) == QLatin1StringView(id)) {
                r.seen = true;
                r.tag = l.word(1).toUtf8();
                r.pid = l.word(2).toLongLong();
                r.error = l.word(3).toInt();
                r.count = l.word(4).toInt();
                r.replies = l.word(5).isEmpty() ? QList<QByteArray>() : l.word(5).toUtf8().split(',');
                return true;
            }
        }
        return false;
    };
    HelperProcess::waitFor(find, 30000);
    r.tag = r.seen ? r.tag : QByteArray();
    m_expected.insert(id, -1);
    return r;
}

QHash<QByteArray, int> tst_Cluster::receivers(const QByteArray &id)
{
    QHash<QByteArray, int> out;
    // "RECV <tag> <pid> <slot> <call id> <sender's machine>"
    for (auto it = m_machines.begin(); it != m_machines.end(); ++it) {
        for (const TestSupport::Line &l : linesOf(it.key(), "RECV")) {
            if (l.word(3) == QLatin1StringView(id))
                ++out[(l.word(0) + u' ' + l.word(1) + u' ' + l.word(2)).toUtf8()];
        }
    }
    return out;
}

QByteArray tst_Cluster::dump()
{
    QByteArray text;
    for (auto it = m_machines.cbegin(); it != m_machines.cend(); ++it) {
        for (const TestSupport::Line &line : it->process->lines()) {
            if (line.tag != u"RECV")
                text += it->tag + "| " + line.raw.toUtf8() + '\n';
        }
    }
    return text.right(6000);
}

void tst_Cluster::stopMachine(Machine &m)
{
    if (!m.process)
        return;
    m.process->finish("quit", 10000);   // killed if it does not quit
    // Whatever of it is still alive (workers, fork server) goes too.
    for (qint64 pid : liveProcesses(m.token))
        ::kill(pid_t(pid), SIGKILL);
}

// ---------------------------------------------------------------------------------------

void tst_Cluster::initTestCase_data()
{
    // Every scenario runs on each cluster engine, one engine per run so that the scenarios
    // build on each other as they do in a real cluster (a host killed stays dead, the
    // last check sees all the traffic): PLEXUS_CLUSTER_ENGINE=mesh (the default) or nats,
    // one CTest entry each (tst_cluster, tst_cluster_nats).
    QTest::addColumn<QString>("engine");
    const QString engine = qEnvironmentVariable("PLEXUS_CLUSTER_ENGINE", u"mesh"_s);
    QTest::newRow(qPrintable(engine)) << engine;
}

void tst_Cluster::initTestCase()
{
    m_run = "plxrun-" + QUuid::createUuid().toByteArray(QUuid::Id128).left(12);
    QVERIFY(m_hosts.setUp(WrongHost, qEnvironmentVariable("PLEXUS_CLUSTER_LOOPBACK") != u"1"_s));
    if (m_hosts.mode() == TestHosts::Mode::Namespaces) {
        qInfo("cluster test on %d network namespaces on a bridge (10.77.0.0/24)", WrongHost);
        for (int k = 1; k <= WrongHost; ++k)
            m_ports[k] = 7400;   // every host has its own network stack
    } else {
        qWarning("network namespaces unavailable (%s): running the same scenarios on "
                 "loopback with distinct ports", qPrintable(m_hosts.reason()));
        for (int k = 1; k <= WrongHost; ++k) {
            m_ports[k] = TestHosts::freePort();
            QVERIFY(m_ports[k] != 0);
        }
    }
}

void tst_Cluster::init()
{
    // The machines run one engine at a time: a new row of initTestCase_data() restarts
    // them on the next one.
    QFETCH_GLOBAL(QString, engine);
    if (engine == m_engine)
        return;
    for (auto it = m_machines.begin(); it != m_machines.end(); ++it)
        stopMachine(*it);
    m_machines.clear();
    m_expected.clear();
    m_killed3 = false;
    m_engine = engine;
    if (onNats()) {
        QString why;
        QVERIFY2(m_nats.start(1, &why), qPrintable(why + m_nats.dump()));
    }
    for (int k = 1; k <= Hosts; ++k)
        QVERIFY(start(k, Secret));
    // The wrong secret also dials host 1 itself, so the TCP handshake is refused too.
    // (On NATS there is nothing to dial: its subjects are not even the cluster's.)
    const QStringList dial{u"--peer"_s, u"tcp://%1:%2"_s.arg(m_hosts.address(1)).arg(m_ports[1])};
    QVERIFY(start(WrongHost, "not the cluster secret", onNats() ? QStringList() : dial));
    for (int k = 1; k <= WrongHost; ++k)
        QTRY_VERIFY2_WITH_TIMEOUT(m_machines[k].machineId != 0, dump().constData(), 15000);
}

void tst_Cluster::cleanupTestCase()
{
    for (auto it = m_machines.begin(); it != m_machines.end(); ++it)
        stopMachine(*it);
    QList<qint64> left;
    for (auto it = m_machines.cbegin(); it != m_machines.cend(); ++it)
        left += liveProcesses(it->token);
    m_hosts.tearDown();
    m_nats.stopAll();
    QVERIFY2(left.isEmpty(), "processes were still running after the test");
    if (m_hosts.mode() == TestHosts::Mode::Namespaces) {
        QString list;
        TestHosts::ip({u"netns"_s, u"list"_s}, &list);
        QVERIFY2(!list.contains(u"plxh%1-"_s.arg(::getpid())), qPrintable(list));
    }
}

void tst_Cluster::refusesWithoutSecret()
{
    HelperProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(u"SECRET"_s);
    p.setEnvironment(env);
    QVERIFY(p.start(QStringLiteral(CLUSTER_NODE_PATH),
                    {u"--tag"_s, u"nosecret"_s, u"--run"_s, QString::fromLatin1(m_run + "-nosecret"),
                     u"--no-broadcast"_s, u"-w"_s, u"0"_s}));
    QVERIFY2(p.waitForFinished(15000), qPrintable(p.dump()));
    const QByteArray out = p.output().toUtf8();
    QCOMPARE(p.process().exitCode(), 3);
    QVERIFY2(out.startsWith("JOINFAIL nosecret 401 "), qPrintable(p.dump()));
    QVERIFY2(out.contains("SECRET"), qPrintable(p.dump()));
}

void tst_Cluster::meshForms()
{
    QElapsedTimer timer;
    timer.start();
    for (int a = 1; a <= Hosts; ++a) {
        for (int b = 1; b <= Hosts; ++b) {
            if (a != b)
                QTRY_VERIFY2_WITH_TIMEOUT(peerUp(a, b), dump().constData(), JoinTimeoutMs);
        }
    }
    qInfo("full mesh of %d hosts after %lld ms", Hosts, timer.elapsed());
    // One link per pair: each host saw each other host come up exactly once.
    for (int a = 1; a <= Hosts; ++a)
        QCOMPARE(countLines(a, "PEERUP"), Hosts - 1);
    m_machines[1].process->send("peers");
    QTRY_COMPARE(countLines(1, "PEERS"), 1);
    QCOMPARE(linesOf(1, "PEERS").first().word(1), QString::number(Hosts - 1));
}

void tst_Cluster::broadcastReachesEveryProcessOnce()
{
    const Result r = call(1, "broadcast");
    QVERIFY2(r.seen, dump().constData());
    QCOMPARE(r.error, 0);
    QCOMPARE(r.count, Hosts * ProcessesPerHost);
    QCOMPARE(QSet<QByteArray>(r.replies.begin(), r.replies.end()).size(), Hosts * ProcessesPerHost);
    const QByteArray id = "c" + QByteArray::number(m_nextCall);
    QTRY_COMPARE(receivers(id).size(), Hosts * ProcessesPerHost);
    for (int n : receivers(id))
        QCOMPARE(n, 1);
    m_expected[id] = Hosts * ProcessesPerHost;
    // Every host's processes, and only the cluster's hosts.
    QSet<QByteArray> tags;
    for (const QByteArray &reply : r.replies)
        tags.insert(reply.left(reply.indexOf(':')));
    QCOMPARE(tags, (QSet<QByteArray>{"h1", "h2", "h3"}));
}

void tst_Cluster::workerBroadcastOthers()
{
    // From worker 0 of host 1, excluding itself; the replies come back to that worker.
    const Result r = call(1, "wothers");
    QVERIFY2(r.seen, dump().constData());
    QCOMPARE(r.error, 0);
    QCOMPARE(r.count, Hosts * ProcessesPerHost - 1);
    const QByteArray id = "c" + QByteArray::number(m_nextCall);
    QTRY_COMPARE(receivers(id).size(), Hosts * ProcessesPerHost - 1);
    const QHash<QByteArray, int> got = receivers(id);
    for (auto it = got.cbegin(); it != got.cend(); ++it) {
        QCOMPARE(it.value(), 1);
        QVERIFY2(!it.key().startsWith(QByteArray("h1 " + QByteArray::number(r.pid) + ' ')),
                 "the caller ran it");
    }
    QVERIFY(r.pid != m_machines[1].process->pid());   // a worker answered the test
    m_expected[id] = Hosts * ProcessesPerHost - 1;
}

void tst_Cluster::clusterReachesOtherMastersOnly()
{
    for (const QByteArray &verb : {QByteArray("cluster"), QByteArray("wcluster")}) {
        const Result r = call(1, verb);
        QVERIFY2(r.seen, dump().constData());
        QCOMPARE(r.error, 0);
        QCOMPARE(r.count, Hosts - 1);
        const QByteArray id = "c" + QByteArray::number(m_nextCall);
        QTRY_COMPARE(receivers(id).size(), Hosts - 1);
        const QHash<QByteArray, int> got = receivers(id);
        for (auto it = got.cbegin(); it != got.cend(); ++it) {
            QCOMPARE(it.value(), 1);
            QVERIFY2(it.key().endsWith(" -1"), it.key().constData());   // a master
            QVERIFY2(!it.key().startsWith("h1 "), "cluster() ran on the caller's machine");
        }
        m_expected[id] = Hosts - 1;
    }
}

void tst_Cluster::wrongSecretNeverJoins()
{
    if (onNats()) {
        // Another secret is another cluster id: its subjects are not ours, so neither side
        // ever sees the other (forged and tampered messages on our subjects:
        // tst_natsbroker). It stays alone while the cluster works.
        QTRY_VERIFY2_WITH_TIMEOUT(peerUp(1, 2) && peerUp(1, 3), dump().constData(), JoinTimeoutMs);
        const Result r = call(1, "broadcast");
        QCOMPARE(r.count, Hosts * ProcessesPerHost);
        m_expected["c" + QByteArray::number(m_nextCall)] = Hosts * ProcessesPerHost;
        const QByteArray wrong = QByteArray::number(m_machines[WrongHost].machineId, 16);
        for (int k = 1; k <= Hosts; ++k)
            QCOMPARE(countLines(k, "PEERUP", wrong), 0);
        QCOMPARE(countLines(WrongHost, "PEERUP"), 0);
        return;
    }
    // Host 4 announces itself and dials host 1: both are refused there, its announcements
    // on the other hosts too.
    const auto refusedBy = [this](int host, const QByteArray &transport) {
        for (const TestSupport::Line &l : linesOf(host, "SECURITY")) {
            if (l.word(2).startsWith(QLatin1StringView(transport)))
                return true;
        }
        return false;
    };
    QTRY_VERIFY2_WITH_TIMEOUT(refusedBy(1, "udp:") && refusedBy(1, "tcp:") && refusedBy(2, "udp:")
                              && refusedBy(3, "udp:"), dump().constData(), 10000);
    const QByteArray wrong = QByteArray::number(m_machines[WrongHost].machineId, 16);
    for (int k = 1; k <= Hosts; ++k)
        QCOMPARE(countLines(k, "PEERUP", wrong), 0);
    QCOMPARE(countLines(WrongHost, "PEERUP"), 0);
    QTRY_VERIFY(refusedBy(WrongHost, "udp:"));   // it cannot read the others either
    const Result r = call(1, "broadcast");
    QCOMPARE(r.count, Hosts * ProcessesPerHost);
    m_expected["c" + QByteArray::number(m_nextCall)] = Hosts * ProcessesPerHost;
}

void tst_Cluster::silentPeerNoticedAndReconnects()
{
    const int downBefore1 = countLines(1, "PEERDOWN"), downBefore2 = countLines(2, "PEERDOWN");
    const qint64 pid3 = m_machines[3].process->pid();
    QElapsedTimer timer;
    timer.start();
    // Host 3 goes silent without closing anything: its wire is cut (or, on loopback, its
    // master is stopped).
    if (cutWires())
        QVERIFY(m_hosts.setWire(3, false));
    else
        QCOMPARE(::kill(pid_t(pid3), SIGSTOP), 0);
    QTRY_VERIFY2_WITH_TIMEOUT(!peerUp(1, 3) && !peerUp(2, 3), dump().constData(),
                              DeadAfterMs + 10 * HeartbeatMs);
    const qint64 noticed = timer.elapsed();
    qInfo("silent host noticed after %lld ms (dead after %d ms, heartbeat %d ms)", noticed,
          DeadAfterMs, HeartbeatMs);
    QCOMPARE(countLines(1, "PEERDOWN"), downBefore1 + 1);
    QCOMPARE(countLines(2, "PEERDOWN"), downBefore2 + 1);

    // The rest keeps working.
    Result r = call(1, "broadcast");
    QCOMPARE(r.error, 0);
    QCOMPARE(r.count, (Hosts - 1) * ProcessesPerHost);
    m_expected["c" + QByteArray::number(m_nextCall)] = (Hosts - 1) * ProcessesPerHost;

    if (cutWires())
        QVERIFY(m_hosts.setWire(3, true));
    else
        QCOMPARE(::kill(pid_t(pid3), SIGCONT), 0);
    QTRY_VERIFY2_WITH_TIMEOUT(peerUp(1, 3) && peerUp(2, 3) && peerUp(3, 1) && peerUp(3, 2),
                              dump().constData(), JoinTimeoutMs);
    qInfo("reconnected %lld ms after the wire came back", timer.elapsed() - noticed);
    r = call(2, "broadcast");
    QCOMPARE(r.error, 0);
    QCOMPARE(r.count, Hosts * ProcessesPerHost);
    const QByteArray id = "c" + QByteArray::number(m_nextCall);
    QTRY_COMPARE(receivers(id).size(), Hosts * ProcessesPerHost);
    m_expected[id] = Hosts * ProcessesPerHost;
}

void tst_Cluster::killedHostNoticed()
{
    Machine &m3 = m_machines[3];
    // Two calls wait on host 3 when it dies, its processes holding them unanswered: a
    // cluster() from host 1's master and a broadcast() from host 1's worker, whose master
    // relays a fan-out size that is still Pending for host 3.
    const QByteArray clusterId = "c" + QByteArray::number(++m_nextCall);
    const QByteArray broadcastId = "c" + QByteArray::number(++m_nextCall);
    m_machines[1].process->send("hold-cluster " + clusterId + "\nwhold-broadcast " + broadcastId);
    const auto heldBy3 = [this](const QByteArray &id) {
        int n = 0;
        const QHash<QByteArray, int> got = receivers(id);
        for (auto it = got.cbegin(); it != got.cend(); ++it)
            n += it.key().startsWith("h3 ");
        return n;
    };
    QTRY_VERIFY2(heldBy3(clusterId) == 1 && heldBy3(broadcastId) == ProcessesPerHost, dump().constData());
    QTRY_COMPARE(receivers(broadcastId).size(), Hosts * ProcessesPerHost);
    const auto resultOf = [this](const QByteArray &id) {
        Result r;
        for (const TestSupport::Line &l : linesOf(1, "RESULT")) {
            if (l.word(0) == QLatin1StringView(id)) {
                r.seen = true;
                r.error = l.word(3).toInt();
                r.count = l.word(4).toInt();
                r.replies = l.word(5).toUtf8().split(',');
            }
        }
        return r;
    };
    QVERIFY(!resultOf(clusterId).seen && !resultOf(broadcastId).seen);   // they wait for host 3

    QElapsedTimer timer;
    timer.start();
    QCOMPARE(::kill(pid_t(m3.process->pid()), SIGKILL), 0);
    m_killed3 = true;
    QTRY_VERIFY2_WITH_TIMEOUT(!peerUp(1, 3) && !peerUp(2, 3), dump().constData(),
                              DeadAfterMs + 10 * HeartbeatMs);
    qInfo("killed host noticed after %lld ms", timer.elapsed());
    // Both calls finish with Reply::TargetLostError for host 3 and every other answer.
    QTRY_VERIFY2(resultOf(clusterId).seen && resultOf(broadcastId).seen, dump().constData());
    const Result held = resultOf(clusterId);
    QCOMPARE(held.error, 201);
    QCOMPARE(held.replies, QList<QByteArray>{"h2:" + QByteArray::number(m_machines[2].process->pid())});
    // The worker's call: 6 answers from hosts 1 and 2, and host 3's fan-out, unknown when
    // it died, relayed by the master as one error reply.
    const Result heldBroadcast = resultOf(broadcastId);
    QCOMPARE(heldBroadcast.error, 201);
    QCOMPARE(heldBroadcast.count, 2 * ProcessesPerHost + 1);
    QCOMPARE(heldBroadcast.replies.count("error"), 1);
    // Its workers follow their master.
    QTRY_VERIFY_WITH_TIMEOUT(liveProcesses(m3.token).isEmpty(), 15000);
    const Result r = call(2, "wbroadcast");
    QCOMPARE(r.error, 0);
    QCOMPARE(r.count, (Hosts - 1) * ProcessesPerHost);
    const QByteArray id = "c" + QByteArray::number(m_nextCall);
    QTRY_COMPARE(receivers(id).size(), (Hosts - 1) * ProcessesPerHost);
    m_expected[id] = (Hosts - 1) * ProcessesPerHost;
}

void tst_Cluster::noDuplicatesAnywhere()
{
    // After all that traffic (and the link that flapped), every call ran exactly once on
    // each process it reached, and no late copy arrived since.
    const Result barrier = call(1, "broadcast");
    QVERIFY(barrier.seen);
    for (auto it = m_expected.cbegin(); it != m_expected.cend(); ++it) {
        if (it.value() < 0)
            continue;
        const QHash<QByteArray, int> got = receivers(it.key());
        QCOMPARE(got.size(), it.value());
        for (int n : got)
            QCOMPARE(n, 1);
    }
}

QTEST_GUILESS_MAIN(tst_Cluster)
#include "tst_cluster.moc"
