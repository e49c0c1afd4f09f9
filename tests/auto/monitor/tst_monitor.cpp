// SPDX-License-Identifier: MIT
//
// The monitor against a real cluster on loopback: two machines (monitor_node: a master
// with two workers and traffic going; h1 allows remote control, h2 does not), a
// MonitorClient in this process that is given h1's address only and finds h2 from h1's
// peer list, and plexusctl run as a process (both through the shared helper-process
// harness). Checked against the real pids. Every node is stopped and waited for in
// cleanupTestCase(), also after a failure; the nodes also quit by themselves when this
// process goes (their stdin closes) or after a few minutes.

#include "helperprocess.h"
#include "monitorcluster.h"
#include "testhosts.h"
#include "liveprocesses.h"

#include "machinesmodel.h"
#include "modelroles.h"
#include "monitorclient.h"
#include "opcodemodel.h"
#include "processtreemodel.h"
#include "securitymodel.h"
#include "tracemodel.h"

#include <plexus/plexusglobal.h>

#include <QtCore/qelapsedtimer.h>
#include <QtCore/qjsonarray.h>
#include <QtCore/qjsondocument.h>
#include <QtCore/qjsonobject.h>
#include <QtCore/qscopeguard.h>
#include <QtCore/qset.h>
#include <QtCore/quuid.h>
#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>

#include <csignal>

using namespace Qt::StringLiterals;
using namespace PlexusMonitor;
using TestSupport::HelperProcess;

namespace {

constexpr quint32 OpPing = 0x100;
constexpr quint32 OpSink = 0x101;
constexpr int JoinTimeoutMs = 30000;
const QByteArray Secret = "tst_monitor shared secret";

QSet<qint64> toSet(const QList<qint64> &list)
{
    return QSet<qint64>(list.cbegin(), list.cend());
}

} // namespace

class tst_Monitor : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();

    void findsBothMachines();
    void modelsHoldTheRealPids();
    void opcodesAndCounts();
    void traceArrives();
    void updatesAreCoalesced();
    void killedWorkerIsReplaced();
    void controlRefusedWhenDisabled();
    void controlAcceptedWhenEnabled();
    void plexusctlStatusJson();
    void plexusctlExitCodes_data();
    void plexusctlExitCodes();
    void plexusctlWaitsForSilentWorkers();
    void wrongSecretSeesNothing();
    void foreignAnnouncerIsNoProblem();

private:
    using Node = MonitorCluster::Node;
    bool startNode(Node &node, quint16 port, quint16 otherPort, bool remoteControl,
                   const QByteArray &secret = Secret)
    {
        return node.start(this, m_run, port, otherPort, remoteControl, secret);
    }
    qint64 masterPid(const Node &node) const { return node.process->pid(); }
    QSet<qint64> realPids(const Node &node) const;
    QSet<qint64> modelPids(quint64 machine);
    int sinkLines(const Node &node, const QByteArray &data) const;
    HelperProcess *runCtl(const QStringList &arguments, const QByteArray &secret);
    void stopNode(Node &node);

    QByteArray m_run;
    Node m_h1, m_h2;
    std::unique_ptr<MonitorClient> m_client;
    std::unique_ptr<ProcessTreeModel> m_tree;
};

QSet<qint64> tst_Monitor::realPids(const Node &node) const
{
    QSet<qint64> pids = toSet(node.workers);
    pids.insert(masterPid(node));
    return pids;
}

QSet<qint64> tst_Monitor::modelPids(quint64 machine)
{
    m_tree->refresh();
    QSet<qint64> pids;
    const QModelIndex m = m_tree->indexOfMachine(machine);
    if (!m.isValid() || m_tree->rowCount(m) == 0)
        return pids;
    const QModelIndex master = m_tree->index(0, 0, m);
    pids.insert(master.data(PidRole).toLongLong());
    for (int i = 0; i < m_tree->rowCount(master); ++i)
        pids.insert(m_tree->index(i, 0, master).data(PidRole).toLongLong());
    return pids;
}

int tst_Monitor::sinkLines(const Node &node, const QByteArray &data) const
{
    int n = 0;
    for (const TestSupport::Line &line : node.process->find(u"SINK"_s))
        n += line.raw.endsWith(u' ' + QString::fromUtf8(data)) ? 1 : 0;
    return n;
}

HelperProcess *tst_Monitor::runCtl(const QStringList &arguments, const QByteArray &secret)
{
    return MonitorCluster::runPlexusctl(this, arguments, secret);
}

void tst_Monitor::initTestCase()
{
    m_run = "tstmon-" + QUuid::createUuid().toByteArray(QUuid::Id128).left(12);
    m_h1.tag = "h1";
    m_h2.tag = "h2";
    quint16 ports[2];
    QVERIFY(MonitorCluster::twoFreePorts(ports, &TestHosts::freePort));
    QVERIFY(startNode(m_h1, ports[0], ports[1], true));
    QVERIFY(startNode(m_h2, ports[1], ports[0], false));
    QTRY_VERIFY_WITH_TIMEOUT(m_h1.machine && m_h2.machine, JoinTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(m_h1.workers.size(), 2, JoinTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(m_h2.workers.size(), 2, JoinTimeoutMs);

    m_client = std::make_unique<MonitorClient>();
    m_tree = std::make_unique<ProcessTreeModel>(m_client->state());
    ClientOptions options;
    options.secret = Secret;
    options.peers = {u"127.0.0.1:%1"_s.arg(m_h1.port)};   // h2 comes from h1's peer list
    options.snapshotIntervalMs = 200;
    options.timeoutMs = 5000;
    QVERIFY2(m_client->start(options), qPrintable(m_client->errorString()));
}

void tst_Monitor::stopNode(Node &node)
{
    node.stop();
}

void tst_Monitor::cleanupTestCase()
{
    m_tree.reset();
    m_client.reset();
    stopNode(m_h1);
    stopNode(m_h2);
    // The workers go with their masters; anything left of this run is killed.
    QTRY_VERIFY_WITH_TIMEOUT(TestSupport::liveProcesses(m_run).isEmpty(), 10000);
    for (qint64 pid : TestSupport::liveProcesses(m_run))
        ::kill(pid_t(pid), SIGKILL);
}

void tst_Monitor::findsBothMachines()
{
    QTRY_COMPARE_WITH_TIMEOUT(m_client->state()->reportingMachines(), 2, JoinTimeoutMs);
    QCOMPARE(m_client->connectedMachines(), 2);
    MachinesModel machines(m_client->state());
    machines.refresh();
    QSet<quint64> ids;
    for (int i = 0; i < machines.rowCount(); ++i) {
        if (!machines.index(i, 0).data(IncompatibleRole).toBool())
            ids.insert(machines.index(i, 0).data(MachineIdRole).toULongLong());
    }
    QCOMPARE(ids, (QSet<quint64>{m_h1.machine, m_h2.machine}));
    const MachineEntry *h1 = m_client->state()->machine(m_h1.machine);
    QVERIFY(h1 && h1->connected);
    QVERIFY(h1->snapshot.remoteControl);
    QVERIFY(!m_client->state()->machine(m_h2.machine)->snapshot.remoteControl);
    QCOMPARE(h1->snapshot.version, QString::fromLatin1(Plexus::version()));
}

void tst_Monitor::modelsHoldTheRealPids()
{
    QTRY_COMPARE_WITH_TIMEOUT(modelPids(m_h1.machine), realPids(m_h1), 10000);
    QTRY_COMPARE_WITH_TIMEOUT(modelPids(m_h2.machine), realPids(m_h2), 10000);
    const QModelIndex master = m_tree->index(0, 0, m_tree->indexOfMachine(m_h1.machine));
    QCOMPARE(master.data(PidRole).toLongLong(), masterPid(m_h1));
    QCOMPARE(master.data(ItemKindRole).toInt(), int(ItemKind::Master));
    QCOMPARE(master.siblingAtColumn(ProcessTreeModel::RoleColumn).data().toString(), u"master"_s);
    QCOMPARE(m_tree->rowCount(master), 2);
    for (int i = 0; i < 2; ++i) {
        const QModelIndex w = m_tree->index(i, 0, master);
        QCOMPARE(w.siblingAtColumn(ProcessTreeModel::SlotColumn).data(SortRole).toInt(), i);
        QCOMPARE(w.siblingAtColumn(ProcessTreeModel::StateColumn).data().toString(), u"running"_s);
    }
}

void tst_Monitor::opcodesAndCounts()
{
    OpcodeModel opcodes(m_client->state());
    opcodes.setProcess(m_h1.machine, masterPid(m_h1));
    const auto pingRow = [&]() -> int {
        opcodes.refresh();
        for (int i = 0; i < opcodes.rowCount(); ++i) {
            if (opcodes.index(i, 0).data(OpcodeRole).toUInt() == OpPing)
                return i;
        }
        return -1;
    };
    QTRY_VERIFY_WITH_TIMEOUT(pingRow() >= 0, 10000);
    const int row = pingRow();
    QCOMPARE(opcodes.index(row, OpcodeModel::NameColumn).data().toString(), u"test.ping"_s);
    const quint64 first = opcodes.index(row, OpcodeModel::InColumn).data(SortRole).toULongLong();
    QVERIFY(first > 0);   // the workers' calls arrive at the master
    // The counts grow with the traffic, and the rate shows it.
    QTRY_VERIFY_WITH_TIMEOUT(opcodes.index(pingRow(), OpcodeModel::InColumn).data(SortRole).toULongLong()
                                     > first + 10, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(opcodes.index(pingRow(), OpcodeModel::RateInColumn).data(SortRole).toDouble()
                                     > 1.0, 10000);
    // A worker sends them: counted out there.
    opcodes.setProcess(m_h1.machine, m_h1.workers.front());
    QTRY_VERIFY_WITH_TIMEOUT(pingRow() >= 0
                                     && opcodes.index(pingRow(), OpcodeModel::OutColumn).data(SortRole).toULongLong() > 0,
                             10000);
    // And the process counters in the tree move as well.
    m_tree->refresh();
    const QModelIndex master = m_tree->index(0, 0, m_tree->indexOfMachine(m_h1.machine));
    QVERIFY(master.siblingAtColumn(ProcessTreeModel::MessagesInColumn).data(SortRole).toULongLong() > 0);
}

void tst_Monitor::traceArrives()
{
    TraceModel trace(m_client->state());
    const auto pings = [&] {
        trace.refresh();
        int n = 0;
        for (int i = 0; i < trace.rowCount(); ++i)
            n += trace.sample(i).opcode == OpPing ? 1 : 0;
        return n;
    };
    QTRY_VERIFY_WITH_TIMEOUT(pings() > 0, 15000);
    const QSet<qint64> pids = realPids(m_h1) + realPids(m_h2);
    for (int i = 0; i < trace.rowCount(); ++i) {
        const TraceSample &s = trace.sample(i);
        if (s.opcode == OpPing && s.kind == MessageKind::Call)
            QVERIFY2(pids.contains(s.from), qPrintable(QString::number(s.from)));
    }
    QVERIFY(!m_client->state()->flow().lanes(0).isEmpty());
}

void tst_Monitor::updatesAreCoalesced()
{
    // Input arrives all the time (a trace batch every 250 ms and a snapshot every 200 ms
    // from each master); stateChanged() still comes at most once per update interval.
    const auto inputs = [this] {
        quint64 n = 0;
        for (const MachineEntry &m : m_client->state()->machines())
            n += m.snapshots + m.traceBatches;
        return n;
    };
    QSignalSpy changed(m_client.get(), &MonitorClient::stateChanged);
    QSignalSpy traced(m_client.get(), &MonitorClient::traceReceived);
    QElapsedTimer timer;
    timer.start();
    const quint64 before = inputs();
    QTRY_VERIFY_WITH_TIMEOUT(inputs() >= before + 40, 20000);
    const quint64 received = inputs() - before;
    const qint64 elapsed = timer.elapsed();
    const qsizetype most = elapsed / m_client->options().updateIntervalMs + 2;
    QVERIFY2(changed.size() >= 2, qPrintable(QString::number(changed.size())));
    QVERIFY2(changed.size() <= most, qPrintable(u"%1 > %2"_s.arg(changed.size()).arg(most)));
    QVERIFY2(quint64(changed.size()) < received,
             qPrintable(u"%1 signals for %2 inputs"_s.arg(changed.size()).arg(received)));
    QVERIFY(traced.size() <= most);
    m_tree->refresh();
    QCOMPARE(m_tree->resetCount(), 0);
}

void tst_Monitor::killedWorkerIsReplaced()
{
    QTRY_COMPARE_WITH_TIMEOUT(modelPids(m_h2.machine), realPids(m_h2), 10000);
    const QSet<qint64> before = realPids(m_h2);
    const qint64 victim = m_h2.workers.front();
    const QModelIndex victimRow = m_tree->indexOf({m_h2.machine, victim});
    QVERIFY(victimRow.isValid());
    const int victimSlot = victimRow.siblingAtColumn(ProcessTreeModel::SlotColumn).data(SortRole).toInt();
    QSignalSpy removed(m_tree.get(), &QAbstractItemModel::rowsRemoved);
    QCOMPARE(::kill(pid_t(victim), SIGKILL), 0);
    QTRY_VERIFY_WITH_TIMEOUT(!m_h2.workers.contains(victim) && m_h2.workers.size() == 2, 15000);
    QTRY_COMPARE_WITH_TIMEOUT(modelPids(m_h2.machine), realPids(m_h2), 15000);
    QVERIFY(!modelPids(m_h2.machine).contains(victim));
    QVERIFY(!m_tree->indexOf({m_h2.machine, victim}).isValid());
    QVERIFY(removed.size() >= 1);
    QCOMPARE(m_tree->resetCount(), 0);
    // The replacement is a new process (its pid was not among those before), it took the
    // victim's slot, and the slot counts a restart.
    const QSet<qint64> added = realPids(m_h2) - before;
    QCOMPARE(added.size(), 1);
    const qint64 replacement = *added.cbegin();
    QVERIFY(!before.contains(replacement));
    const QModelIndex row = m_tree->indexOf({m_h2.machine, replacement});
    QVERIFY(row.isValid());
    QCOMPARE(row.siblingAtColumn(ProcessTreeModel::SlotColumn).data(SortRole).toInt(), victimSlot);
    const auto restarts = [&] {
        m_tree->refresh();
        return m_tree->indexOf({m_h2.machine, replacement})
                .siblingAtColumn(ProcessTreeModel::RestartsColumn).data(SortRole).toULongLong();
    };
    QTRY_VERIFY_WITH_TIMEOUT(restarts() > 0, 10000);
}

void tst_Monitor::controlRefusedWhenDisabled()
{
    QSignalSpy finished(m_client.get(), &MonitorClient::controlFinished);
    QSignalSpy refused(m_client.get(), &MonitorClient::controlRefused);
    const qint64 worker = m_h2.workers.front();
    m_client->restartWorker(m_h2.machine, worker);
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 10000);
    QCOMPARE(finished.front().at(0).toBool(), false);
    QVERIFY2(finished.front().at(1).toString().contains(u"remote control"_s),
             qPrintable(finished.front().at(1).toString()));
    QCOMPARE(refused.size(), 1);
    QVERIFY(m_h2.workers.contains(worker));   // still there

    m_client->sendTestMessage(OpSink, "refused", false, m_h2.machine);
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 2, 10000);
    QCOMPARE(finished.at(1).at(0).toBool(), false);
    // A message h2 had wrongly sent would reach its processes after the refusal: send a
    // marker to them through h1 (which allows it), after the refusal, and only when every
    // process of h2 ran it, check that the refused one never came.
    m_client->sendTestMessage(OpSink, "marker-after-refusal", true, m_h1.machine);
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 3, 10000);
    QVERIFY2(finished.at(2).at(0).toBool(), qPrintable(finished.at(2).at(1).toString()));
    QTRY_COMPARE_WITH_TIMEOUT(sinkLines(m_h2, "marker-after-refusal"), 3, 15000);
    QCOMPARE(sinkLines(m_h2, "refused"), 0);
    QVERIFY(m_h2.workers.contains(worker));   // and the refused restart never happened
}

void tst_Monitor::controlAcceptedWhenEnabled()
{
    QSignalSpy finished(m_client.get(), &MonitorClient::controlFinished);
    QTRY_COMPARE_WITH_TIMEOUT(modelPids(m_h1.machine), realPids(m_h1), 10000);
    const qint64 worker = m_h1.workers.back();
    m_client->restartWorker(m_h1.machine, worker);
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 10000);
    QVERIFY2(finished.front().at(0).toBool(), qPrintable(finished.front().at(1).toString()));
    QTRY_VERIFY_WITH_TIMEOUT(!m_h1.workers.contains(worker) && m_h1.workers.size() == 2, 15000);
    QTRY_COMPARE_WITH_TIMEOUT(modelPids(m_h1.machine), realPids(m_h1), 15000);

    // A test message to the processes of h1 (master and both workers).
    m_client->sendTestMessage(OpSink, "hello", false, m_h1.machine);
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 2, 10000);
    QVERIFY2(finished.at(1).at(0).toBool(), qPrintable(finished.at(1).at(1).toString()));
    QTRY_COMPARE_WITH_TIMEOUT(sinkLines(m_h1, "hello"), 3, 10000);
    QCOMPARE(sinkLines(m_h2, "hello"), 0);
    // Broadcast: every process of both machines.
    m_client->sendTestMessage(OpSink, "everyone", true, m_h1.machine);
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 3, 10000);
    QVERIFY(finished.at(2).at(0).toBool());
    QTRY_COMPARE_WITH_TIMEOUT(sinkLines(m_h1, "everyone") + sinkLines(m_h2, "everyone"), 6, 10000);
}

void tst_Monitor::plexusctlStatusJson()
{
    QTRY_COMPARE_WITH_TIMEOUT(modelPids(m_h1.machine), realPids(m_h1), 10000);
    QTRY_COMPARE_WITH_TIMEOUT(modelPids(m_h2.machine), realPids(m_h2), 10000);
    HelperProcess *ctl = runCtl({u"--peer"_s, u"127.0.0.1:%1"_s.arg(m_h1.port), u"--timeout"_s,
                                 u"15000"_s, u"status"_s, u"--json"_s},
                                Secret);
    QVERIFY2(ctl->waitForFinished(30000), qPrintable(ctl->dump()));
    const QByteArray output = ctl->output().toUtf8();
    QCOMPARE(ctl->process().exitCode(), 0);
    QJsonParseError error;
    const QJsonObject status = QJsonDocument::fromJson(output, &error).object();
    QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(error.errorString() + u'\n'
                                                                 + QString::fromUtf8(output)));
    const QJsonArray machines = status.value(u"machines"_s).toArray();
    QCOMPARE(machines.size(), 2);
    for (const QJsonValue &mv : machines) {
        const QJsonObject m = mv.toObject();
        const quint64 id = m.value(u"machine"_s).toString().toULongLong(nullptr, 16);
        const Node &node = id == m_h1.machine ? m_h1 : m_h2;
        QCOMPARE(id, node.machine);
        QSet<qint64> pids;
        for (const QJsonValue &pv : m.value(u"processes"_s).toArray()) {
            const QJsonObject p = pv.toObject();
            pids.insert(p.value(u"pid"_s).toInteger());
            QVERIFY(p.contains(u"counters"_s));
            if (p.value(u"role"_s).toString() == u"master")
                QCOMPARE(p.value(u"pid"_s).toInteger(), masterPid(node));
            else
                QVERIFY(p.value(u"slot"_s).toInt() >= 0);
        }
        QCOMPARE(pids, realPids(node));
    }
}

void tst_Monitor::plexusctlExitCodes_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QByteArray>("secret");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("message");

    // A port nobody listens on: nobody found.
    const quint16 nobody = TestHosts::freePort();
    QTest::newRow("nobody found") << QStringList{u"--peer"_s, u"127.0.0.1:%1"_s.arg(nobody),
                                                 u"--timeout"_s, u"1000"_s, u"status"_s}
                                  << Secret << 3 << u"no master found"_s;
    QTest::newRow("no SECRET") << QStringList{u"--peer"_s, u"127.0.0.1:%1"_s.arg(m_h1.port), u"status"_s}
                               << QByteArray() << 2 << u"SECRET"_s;
    QTest::newRow("wrong SECRET") << QStringList{u"--peer"_s, u"127.0.0.1:%1"_s.arg(m_h1.port),
                                                 u"--timeout"_s, u"3000"_s, u"status"_s}
                                  << QByteArray("not the secret") << 5 << u"wrong SECRET"_s;
    QTest::newRow("usage: no command") << QStringList{u"--port"_s, u"7400"_s} << Secret << 1
                                       << u"no command"_s;
    QTest::newRow("usage: unknown command") << QStringList{u"--port"_s, u"7400"_s, u"frobnicate"_s}
                                            << Secret << 1 << u"unknown command"_s;
    QTest::newRow("usage: nowhere to look") << QStringList{u"status"_s} << Secret << 1 << u"--peer"_s;
    QTest::newRow("send refused") << QStringList{u"--peer"_s, u"127.0.0.1:%1"_s.arg(m_h2.port),
                                                 u"--machine"_s, u"0x"_s + QString::number(m_h2.machine, 16),
                                                 u"send"_s, u"--opcode"_s, u"0x101"_s, u"--data"_s, u"x"_s}
                                  << Secret << 4 << u"remote control"_s;
    QTest::newRow("send accepted") << QStringList{u"--peer"_s, u"127.0.0.1:%1"_s.arg(m_h1.port),
                                                  u"--machine"_s, u"0x"_s + QString::number(m_h1.machine, 16),
                                                  u"send"_s, u"--opcode"_s, u"0x101"_s, u"--data"_s, u"ctl"_s}
                                   << Secret << 0 << QString();
    QTest::newRow("top") << QStringList{u"--peer"_s, u"127.0.0.1:%1"_s.arg(m_h1.port), u"--timeout"_s,
                                        u"15000"_s, u"top"_s, u"--iterations"_s, u"2"_s,
                                        u"--interval"_s, u"200"_s}
                         << Secret << 0 << QString();
    QTest::newRow("trace") << QStringList{u"--peer"_s, u"127.0.0.1:%1"_s.arg(m_h1.port), u"--timeout"_s,
                                          u"15000"_s, u"trace"_s, u"--opcode"_s, u"0x100"_s, u"--json"_s,
                                          u"--count"_s, u"5"_s}
                           << Secret << 0 << QString();
}

void tst_Monitor::plexusctlExitCodes()
{
    QFETCH(QStringList, arguments);
    QFETCH(QByteArray, secret);
    QFETCH(int, exitCode);
    QFETCH(QString, message);
    HelperProcess *ctl = runCtl(arguments, secret);
    QVERIFY2(ctl->waitForFinished(30000), qPrintable(ctl->dump()));
    const QString err = QString::fromLocal8Bit(ctl->standardError());
    const QByteArray output = ctl->output().toUtf8();
    QVERIFY2(ctl->process().exitStatus() == QProcess::NormalExit, qPrintable(u"plexusctl crashed: "_s + err));
    QVERIFY2(ctl->process().exitCode() == exitCode,
             qPrintable(u"exit %1, stderr: %2"_s.arg(ctl->process().exitCode()).arg(err)));
    if (!message.isEmpty())
        QVERIFY2(err.contains(message), qPrintable(err));
    if (QByteArray(QTest::currentDataTag()) == "send accepted")
        QTRY_COMPARE_WITH_TIMEOUT(sinkLines(m_h1, "ctl"), 3, 10000);
    if (QByteArray(QTest::currentDataTag()) == "top")
        QCOMPARE(output.count("plexusctl top"), 2);
    if (QByteArray(QTest::currentDataTag()) == "trace") {
        const QList<QByteArray> lines = output.trimmed().split('\n');
        QCOMPARE(lines.size(), 5);
        for (const QByteArray &line : lines)
            QCOMPARE(QJsonDocument::fromJson(line).object().value(u"opcode"_s).toInteger(), OpPing);
    }
}

void tst_Monitor::plexusctlWaitsForSilentWorkers()
{
    // A stopped worker never answers its part of a snapshot: the master answers without it
    // after its 2 s gather timeout. A --timeout shorter than that bounds finding the
    // masters only; the snapshot still gets its answer.
    QTRY_COMPARE_WITH_TIMEOUT(modelPids(m_h2.machine), realPids(m_h2), 10000);
    const qint64 silent = m_h2.workers.front();
    QCOMPARE(::kill(pid_t(silent), SIGSTOP), 0);
    const auto resume = qScopeGuard([silent] { ::kill(pid_t(silent), SIGCONT); });
    HelperProcess *ctl = runCtl({u"--peer"_s, u"127.0.0.1:%1"_s.arg(m_h2.port), u"--timeout"_s,
                                 u"500"_s, u"status"_s, u"--json"_s},
                                Secret);
    QVERIFY2(ctl->waitForFinished(30000), qPrintable(ctl->dump()));
    const QString err = QString::fromLocal8Bit(ctl->standardError());
    const QByteArray output = ctl->output().toUtf8();
    QVERIFY2(ctl->process().exitCode() == 0,
             qPrintable(u"exit %1, stderr: %2"_s.arg(ctl->process().exitCode()).arg(err)));
    QVERIFY2(!err.contains(u"did not answer"_s), qPrintable(err));
    const QJsonArray machines = QJsonDocument::fromJson(output).object().value(u"machines"_s).toArray();
    bool seen = false;
    for (const QJsonValue &mv : machines) {
        const QJsonObject m = mv.toObject();
        if (m.value(u"machine"_s).toString().toULongLong(nullptr, 16) != m_h2.machine)
            continue;
        for (const QJsonValue &pv : m.value(u"processes"_s).toArray()) {
            const QJsonObject p = pv.toObject();
            if (p.value(u"pid"_s).toInteger() == silent) {
                seen = true;
                QCOMPARE(p.value(u"responding"_s).toBool(true), false);
            }
        }
    }
    QVERIFY2(seen, output.constData());
}

void tst_Monitor::wrongSecretSeesNothing()
{
    // One Node per process: the monitor with the right secret goes first.
    m_tree.reset();
    m_client.reset();
    MonitorClient wrong;
    QSignalSpy problems(&wrong, &MonitorClient::problem);
    ClientOptions options;
    options.secret = "not the secret";
    options.peers = {u"127.0.0.1:%1"_s.arg(m_h1.port), u"tcp://127.0.0.1:%1"_s.arg(m_h2.port)};
    QVERIFY2(wrong.start(options), qPrintable(wrong.errorString()));
    const auto saysSecret = [&] {
        for (const QList<QVariant> &p : std::as_const(problems)) {
            if (p.at(0).toString().contains(u"wrong SECRET"_s))
                return true;
        }
        return false;
    };
    const auto dump = [&] {
        QStringList texts;
        for (const QList<QVariant> &p : std::as_const(problems))
            texts.append(p.at(0).toString());
        for (const RefusedPeer &r : wrong.state()->refused())
            texts.append(u"refused %1 %2 x%3"_s.arg(r.peer, r.reason).arg(r.count));
        return texts.join(u"; "_s);
    };
    QTRY_VERIFY2_WITH_TIMEOUT(saysSecret(), qPrintable(dump()), 15000);
    QCOMPARE(wrong.state()->reportingMachines(), 0);
    QCOMPARE(wrong.connectedMachines(), 0);
    QVERIFY(!wrong.state()->refused().isEmpty());
    MachinesModel machines(wrong.state());
    machines.refresh();
    for (int i = 0; i < machines.rowCount(); ++i)
        QVERIFY(machines.index(i, 0).data(IncompatibleRole).toBool());   // only refused peers

    // Without any secret it does not even start.
    MonitorClient none;
    qunsetenv("SECRET");
    ClientOptions noSecret;
    noSecret.peers = {u"127.0.0.1:1"_s};
    QVERIFY(!none.start(noSecret));
    QCOMPARE(none.error(), MonitorClient::NoSecretError);
    QVERIFY(none.errorString().contains(u"SECRET"_s));
}

void tst_Monitor::foreignAnnouncerIsNoProblem()
{
    // Issue 19.2: a master with another SECRET elsewhere on the network announces to the
    // monitor's discovery port. Its announcements do not open, which the monitor lists
    // (machines, security) with the announcer's address; but the monitor's own links are
    // fine, so it must not report "wrong SECRET?" as if its handshake had failed.
    m_tree.reset();
    m_client.reset();
    const quint16 discovery = TestHosts::freePort();
    quint16 foreignPort = TestHosts::freePort();
    for (int i = 0; i < 50 && foreignPort == discovery; ++i)
        foreignPort = TestHosts::freePort();
    QVERIFY(discovery && foreignPort && foreignPort != discovery);
    MonitorClient watcher;
    QSignalSpy problems(&watcher, &MonitorClient::problem);
    ClientOptions options;
    options.secret = Secret;
    options.discoveryPort = discovery;
    QVERIFY2(watcher.start(options), qPrintable(watcher.errorString()));

    Node foreign;
    foreign.tag = "foreign";
    QVERIFY(startNode(foreign, foreignPort, discovery, false, "another cluster's secret"));
    const auto announcer = [&]() -> const RefusedPeer * {
        for (const RefusedPeer &r : watcher.state()->refused()) {
            if (r.announcer)
                return &r;
        }
        return nullptr;
    };
    QTRY_VERIFY_WITH_TIMEOUT(announcer(), 15000);
    QCOMPARE(announcer()->address, u"127.0.0.1"_s);
    MachinesModel machines(watcher.state());
    machines.refresh();
    bool listed = false;
    for (int i = 0; i < machines.rowCount(); ++i) {
        const QString status = machines.index(i, MachinesModel::StatusColumn).data().toString();
        if (status.startsWith(u"announcements refused"_s)) {
            listed = true;
            QCOMPARE(machines.index(i, MachinesModel::AddressColumn).data().toString(), u"127.0.0.1"_s);
        }
    }
    QVERIFY(listed);
    for (const QList<QVariant> &p : std::as_const(problems))
        QVERIFY2(!p.at(0).toString().contains(u"SECRET"_s), qPrintable(p.at(0).toString()));
    stopNode(foreign);
}

QTEST_GUILESS_MAIN(tst_Monitor)
#include "tst_monitor.moc"
