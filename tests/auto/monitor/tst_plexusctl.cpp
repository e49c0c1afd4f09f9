// SPDX-License-Identifier: MIT
//
// plexusctl's regressions of issue 19, defect 3, against a real cluster on loopback: two
// machines (monitor_node, remote control on both), plexusctl run as a process through the
// shared helper-process harness. Every node is stopped and waited for in
// cleanupTestCase(), also after a failure; the nodes also quit by themselves when this
// process goes (their stdin closes) or after a few minutes.

#include "helperprocess.h"
#include "monitorcluster.h"
#include "natsserver.h"
#include "testhosts.h"
#include "liveprocesses.h"

#include <QtCore/qelapsedtimer.h>
#include <QtCore/qjsonarray.h>
#include <QtCore/qjsondocument.h>
#include <QtCore/qjsonobject.h>
#include <QtCore/qstandardpaths.h>
#include <QtCore/quuid.h>
#include <QtCore/qscopeguard.h>
#include <QtTest/qtest.h>

#include <csignal>

using namespace Qt::StringLiterals;
using TestSupport::HelperProcess;

namespace {

constexpr int JoinTimeoutMs = 30000;
const QByteArray Secret = "tst_plexusctl shared secret";

} // namespace

class tst_PlexusCtl : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();

    void helpListsExitCodes();
    void unknownMachineIsNamed_data();
    void unknownMachineIsNamed();
    void restartByPidFindsTheMachine();
    void restartByPidUnknown();
    void statusJsonRateNotMeasuredIsNull();
    void topNeverCutsAWord();
    void topRestoresTheTerminalOnSigpipe();
    void sendToUnhandledOpcode();
    void commandsOnNats();
    void statusShowsExitsAndAlarms();   // last: it gives a worker slot of h2 up

private:
    using Node = MonitorCluster::Node;
    bool startNode(Node &node, quint16 port, quint16 otherPort)
    {
        return node.start(this, m_run, port, otherPort, true, Secret);
    }
    HelperProcess *runCtl(const QStringList &arguments);
    QStringList peer(const Node &node) const
    {
        return {u"--peer"_s, u"127.0.0.1:%1"_s.arg(node.port)};
    }

    QByteArray m_run;
    Node m_h1, m_h2;
};

HelperProcess *tst_PlexusCtl::runCtl(const QStringList &arguments)
{
    return MonitorCluster::runPlexusctl(this, arguments, Secret);
}

void tst_PlexusCtl::initTestCase()
{
    m_run = "tstctl-" + QUuid::createUuid().toByteArray(QUuid::Id128).left(12);
    m_h1.tag = "h1";
    m_h2.tag = "h2";
    quint16 ports[2];
    QVERIFY(MonitorCluster::twoFreePorts(ports, &TestHosts::freePort));
    QVERIFY(startNode(m_h1, ports[0], ports[1]));
    QVERIFY(startNode(m_h2, ports[1], ports[0]));
    QTRY_VERIFY_WITH_TIMEOUT(m_h1.machine && m_h2.machine, JoinTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(m_h1.workers.size(), 2, JoinTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(m_h2.workers.size(), 2, JoinTimeoutMs);
}

void tst_PlexusCtl::cleanupTestCase()
{
    for (Node *node : {&m_h1, &m_h2}) {
        if (node->process)
            node->process->finish("quit", 10000);   // killed if it does not quit
    }
    // The workers go with their masters; anything left of this run is killed.
    QTRY_VERIFY_WITH_TIMEOUT(TestSupport::liveProcesses(m_run).isEmpty(), 10000);
    for (qint64 pid : TestSupport::liveProcesses(m_run))
        ::kill(pid_t(pid), SIGKILL);
}

void tst_PlexusCtl::helpListsExitCodes()
{
    HelperProcess *ctl = runCtl({u"--help"_s});
    QVERIFY2(ctl->waitForFinished(30000), qPrintable(ctl->dump()));
    QCOMPARE(ctl->process().exitCode(), 0);
    const QString help = ctl->output().simplified();
    QVERIFY2(help.contains(u"6 no such machine"_s), qPrintable(help));
    QVERIFY2(help.contains(u"7 send: no process handles the op-code"_s), qPrintable(help));
    QVERIFY2(help.contains(u"metrics"_s), qPrintable(help));
}

// Was: waited the whole --timeout, then blamed a replayed frame or a wrong SECRET.
void tst_PlexusCtl::unknownMachineIsNamed_data()
{
    QTest::addColumn<QStringList>("command");
    QTest::newRow("restart") << QStringList{u"restart"_s, u"--machine"_s, u"0x1234"_s, u"--pid"_s, u"1"_s};
    QTest::newRow("send") << QStringList{u"send"_s, u"--machine"_s, u"0x1234"_s, u"--opcode"_s,
                                         u"0x101"_s, u"--data"_s, u"x"_s};
}

void tst_PlexusCtl::unknownMachineIsNamed()
{
    QFETCH(QStringList, command);
    HelperProcess *ctl = runCtl(peer(m_h1) + QStringList{u"--timeout"_s, u"3000"_s} + command);
    QVERIFY2(ctl->waitForFinished(30000), qPrintable(ctl->dump()));
    const QString err = QString::fromLocal8Bit(ctl->standardError());
    QVERIFY2(ctl->process().exitStatus() == QProcess::NormalExit, qPrintable(err));
    QVERIFY2(ctl->process().exitCode() == 6,
             qPrintable(u"exit %1, stderr: %2"_s.arg(ctl->process().exitCode()).arg(err)));
    QVERIFY2(err.contains(u"no such machine 0x0000000000001234"_s), qPrintable(err));
    // The machines it did find are named, so the operator can pick one.
    QVERIFY2(err.contains(u"%1"_s.arg(m_h1.machine, 16, 16, QChar(u'0'))), qPrintable(err));
    QVERIFY2(!err.contains(u"SECRET"_s) && !err.contains(u"Replayed"_s), qPrintable(err));
    QVERIFY(m_h1.process->isRunning() && m_h2.process->isRunning());
}

void tst_PlexusCtl::restartByPidFindsTheMachine()
{
    // A worker of h2, asked through h1 only: the pid is found in h2's snapshot.
    const qint64 pid = m_h2.workers.front();
    const QList<qint64> h1Before = m_h1.workers;
    HelperProcess *ctl = runCtl(peer(m_h1) + QStringList{u"--timeout"_s, u"15000"_s, u"restart"_s,
                                                          u"--pid"_s, QString::number(pid)});
    QVERIFY2(ctl->waitForFinished(30000), qPrintable(ctl->dump()));
    QVERIFY2(ctl->process().exitCode() == 0, qPrintable(ctl->dump()));
    QTRY_VERIFY_WITH_TIMEOUT(m_h2.workers.size() == 2 && !m_h2.workers.contains(pid), JoinTimeoutMs);
    QCOMPARE(m_h1.workers, h1Before);   // the other machine untouched
}

void tst_PlexusCtl::restartByPidUnknown()
{
    // A pid that no machine runs (pids of one host are unique, and this one is ours).
    const qint64 pid = QCoreApplication::applicationPid();
    HelperProcess *ctl = runCtl(peer(m_h1) + QStringList{u"--timeout"_s, u"15000"_s, u"restart"_s,
                                                          u"--pid"_s, QString::number(pid)});
    QVERIFY2(ctl->waitForFinished(30000), qPrintable(ctl->dump()));
    const QString err = QString::fromLocal8Bit(ctl->standardError());
    QVERIFY2(ctl->process().exitCode() == 6,
             qPrintable(u"exit %1, stderr: %2"_s.arg(ctl->process().exitCode()).arg(err)));
    QVERIFY2(err.contains(u"no process with pid %1"_s.arg(pid)), qPrintable(err));
}

// Was: 0 for a process seen in one snapshot only (status takes one).
void tst_PlexusCtl::statusJsonRateNotMeasuredIsNull()
{
    HelperProcess *ctl = runCtl(peer(m_h1) + QStringList{u"--timeout"_s, u"15000"_s, u"status"_s,
                                                          u"--json"_s});
    QVERIFY2(ctl->waitForFinished(30000), qPrintable(ctl->dump()));
    QCOMPARE(ctl->process().exitCode(), 0);
    const QByteArray output = ctl->output().toUtf8();
    QJsonParseError error;
    const QJsonArray machines = QJsonDocument::fromJson(output, &error).object()
                                        .value(u"machines"_s).toArray();
    QVERIFY2(error.error == QJsonParseError::NoError, output.constData());
    QCOMPARE(machines.size(), 2);
    // status prints once every machine has answered once: the machine that answered last
    // has had one snapshot, so none of its rates is measured. Another may have had two
    // (then its rates are numbers); never a 0 standing in for "unknown" without a second.
    int unmeasuredMachines = 0;
    for (const QJsonValue &mv : machines) {
        bool allNull = true;
        for (const QJsonValue &pv : mv.toObject().value(u"processes"_s).toArray()) {
            const QJsonObject rates = pv.toObject().value(u"rates"_s).toObject();
            QCOMPARE(rates.size(), 4);
            const bool isNull = rates.value(u"messagesIn"_s).isNull();
            for (const QJsonValue &r : rates) {
                QCOMPARE(r.isNull(), isNull);   // all four or none
                QVERIFY(r.isNull() || (r.isDouble() && r.toDouble() >= 0));
            }
            for (const QJsonValue &o : pv.toObject().value(u"opcodes"_s).toArray()) {
                if (isNull)
                    QVERIFY(o.toObject().value(u"rates"_s).toObject().value(u"messagesIn"_s).isNull());
            }
            allNull = allNull && isNull;
        }
        unmeasuredMachines += allNull ? 1 : 0;
    }
    QVERIFY2(unmeasuredMachines >= 1, output.constData());
}

// Was: lines cut at the terminal's edge, mid-word. Not a terminal: 80 columns.
void tst_PlexusCtl::topNeverCutsAWord()
{
    HelperProcess *ctl = runCtl(peer(m_h1) + QStringList{u"--timeout"_s, u"15000"_s, u"top"_s,
                                                          u"--iterations"_s, u"1"_s});
    QVERIFY2(ctl->waitForFinished(30000), qPrintable(ctl->dump()));
    QCOMPARE(ctl->process().exitCode(), 0);
    static const QSet<QString> titles{u"PID"_s, u"ROLE"_s, u"SLOT"_s, u"STATE"_s, u"UPTIME"_s,
                                      u"CPU%"_s, u"RSS"_s,
                                      u"MSGS IN"_s, u"MSGS OUT"_s, u"RATE IN"_s, u"RATE OUT"_s,
                                      u"BYTES IN"_s, u"BYTES OUT"_s, u"BACKLOG"_s, u"RESTARTS"_s};
    int headers = 0;
    const QStringList lines = ctl->output().split(u'\n');
    for (const QString &line : lines) {
        QVERIFY2(line.size() <= 80, qPrintable(line));
        if (!line.startsWith(u"  PID"))
            continue;
        ++headers;
        // Every column title whole: the header reads as a sequence of whole titles.
        QStringView rest = QStringView(line).trimmed();
        while (!rest.isEmpty()) {
            qsizetype taken = 0;
            for (const QString &title : titles) {
                if (rest.startsWith(title) && title.size() > taken
                    && (rest.size() == title.size() || rest.at(title.size()) == u' '))
                    taken = title.size();
            }
            QVERIFY2(taken > 0, qPrintable(u"cut title at \""_s + rest.toString() + u"\" in: "_s + line));
            rest = rest.mid(taken).trimmed();
        }
        QVERIFY(line.contains(u"PID"_s) && line.contains(u"STATE"_s));
    }
    QVERIFY(headers >= 1);   // one per machine that had answered by the first frame
    for (const QString &line : lines) {
        if (line.startsWith(u"machine "))
            QVERIFY2(!line.endsWith(u' '), qPrintable(line));
    }
}

// `plexusctl top | head` on a terminal: top puts the terminal in raw mode (keys) and then
// dies of SIGPIPE when head has gone; it must put the terminal back first. Run in a
// pseudo-terminal of util-linux's script(1), whose shell then prints the settings.
void tst_PlexusCtl::topRestoresTheTerminalOnSigpipe()
{
    const QString script = QStandardPaths::findExecutable(u"script"_s);
    QVERIFY2(!script.isEmpty(), "script(1) not found (bsdutils, an essential Debian package)");
    const QString ctl = QStringLiteral(PLEXUSCTL_PATH);
    const QString command = u"%1 --peer 127.0.0.1:%2 --timeout 15000 top --interval 100 | head -c 1 >/dev/null;"
                            " stty -a"_s.arg(ctl).arg(m_h1.port);
    auto *p = new HelperProcess(this);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(u"SECRET"_s, QString::fromLatin1(Secret));
    p->setEnvironment(env);
    QVERIFY(p->start(script, {u"-qec"_s, command, u"/dev/null"_s}));
    QVERIFY2(p->waitForFinished(30000), qPrintable(p->dump()));
    const QString out = p->output();
    QVERIFY2(out.contains(u" icanon"_s) && out.contains(u" echo "_s), qPrintable(out));
    QVERIFY2(!out.contains(u"-icanon"_s), qPrintable(out));
}

// Was: "ok", exit 0. Needs the master's answer to count the processes that handled it.
void tst_PlexusCtl::sendToUnhandledOpcode()
{
    const QStringList target = peer(m_h1) + QStringList{u"--timeout"_s, u"15000"_s, u"--machine"_s,
                                                         u"0x"_s + QString::number(m_h1.machine, 16)};
    HelperProcess *none = runCtl(target + QStringList{u"send"_s, u"--opcode"_s, u"0x4242"_s,
                                                       u"--data"_s, u"x"_s});
    QVERIFY2(none->waitForFinished(30000), qPrintable(none->dump()));
    const QString err = QString::fromLocal8Bit(none->standardError());
    QVERIFY2(none->process().exitCode() == 7,
             qPrintable(u"exit %1, stderr: %2"_s.arg(none->process().exitCode()).arg(err)));
    QVERIFY2(err.contains(u"no process handles op-code 0x00004242 on machine"_s), qPrintable(err));
    QVERIFY(!none->output().contains(u"ok"_s));

    // Op-code 0x101 runs in the master and both workers.
    HelperProcess *all = runCtl(target + QStringList{u"send"_s, u"--opcode"_s, u"0x101"_s,
                                                      u"--data"_s, u"x"_s});
    QVERIFY2(all->waitForFinished(30000), qPrintable(all->dump()));
    QVERIFY2(all->process().exitCode() == 0, qPrintable(all->dump()));
    QVERIFY2(all->output().startsWith(u"ok: handled by 3 of 3 processes"_s), qPrintable(all->output()));
}

// Issue 18.6: the same commands on a cluster that meets on NATS (--nats), through a
// nats-server of the test's own.
void tst_PlexusCtl::commandsOnNats()
{
    TestSupport::NatsServers nats;
    QString why;
    QVERIFY2(nats.start(1, &why), qPrintable(why));
    Node n1, n2;
    n1.tag = "n1";
    n2.tag = "n2";
    const QStringList url{u"--cluster-url"_s, nats.url(0)};
    QVERIFY(n1.start(this, m_run, 0, 1, true, Secret, url));
    QVERIFY(n2.start(this, m_run, 0, 1, true, Secret, url));
    const auto cleanup = qScopeGuard([&] {
        for (Node *node : {&n1, &n2}) {
            if (node->process)
                node->process->finish("quit", 10000);
        }
    });
    QTRY_VERIFY_WITH_TIMEOUT(n1.machine && n2.machine, JoinTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(n2.workers.size(), 2, JoinTimeoutMs);
    const QStringList onNats{u"--nats"_s, nats.url(0), u"--timeout"_s, u"15000"_s};

    HelperProcess *status = runCtl(onNats + QStringList{u"status"_s});
    QVERIFY2(status->waitForFinished(30000), qPrintable(status->dump()));
    QCOMPARE(status->process().exitCode(), 0);
    for (const Node *node : {&n1, &n2})
        QVERIFY2(status->output().contains(u"machine 0x%1"_s.arg(node->machine, 16, 16, QChar(u'0'))),
                 qPrintable(status->output()));
    QVERIFY2(status->output().contains(nats.url(0).mid(7)), qPrintable(status->output()));

    // A call through the broker to one master, answered with its count.
    HelperProcess *send = runCtl(onNats + QStringList{u"--machine"_s, u"0x"_s + QString::number(n1.machine, 16),
                                                      u"send"_s, u"--opcode"_s, u"0x101"_s, u"--data"_s, u"x"_s});
    QVERIFY2(send->waitForFinished(30000), qPrintable(send->dump()));
    QVERIFY2(send->process().exitCode() == 0, qPrintable(send->dump()));
    QVERIFY2(send->output().startsWith(u"ok: handled by 3 of 3 processes"_s), qPrintable(send->output()));

    // A control action through the broker: a worker of n2 restarted.
    const qint64 victim = n2.workers.at(0);
    HelperProcess *restart = runCtl(onNats + QStringList{u"restart"_s, u"--pid"_s, QString::number(victim)});
    QVERIFY2(restart->waitForFinished(30000), qPrintable(restart->dump()));
    QVERIFY2(restart->process().exitCode() == 0, qPrintable(restart->dump()));
    QTRY_VERIFY_WITH_TIMEOUT(n2.workers.size() == 2 && !n2.workers.contains(victim), 15000);

    // Without a broker there is nobody to ask: exit 3 (no master found), not a hang.
    nats.stopAll();
    HelperProcess *none = runCtl({u"--nats"_s, nats.url(0), u"--timeout"_s, u"1500"_s, u"status"_s});
    QVERIFY2(none->waitForFinished(30000), qPrintable(none->dump()));
    QCOMPARE(none->process().exitCode(), 3);
}

// Issue 19.7 and 19.8: the exit history with the signal, and an alarm (a slot given up
// after a crash loop) that makes `status` exit 8 for health checks.
void tst_PlexusCtl::statusShowsExitsAndAlarms()
{
    QTRY_COMPARE_WITH_TIMEOUT(m_h2.workers.size(), 2, JoinTimeoutMs);
    const qint64 keep = m_h2.workers.at(0);
    qint64 victim = m_h2.workers.at(1);
    QCOMPARE(::kill(pid_t(victim), SIGKILL), 0);
    QTRY_VERIFY_WITH_TIMEOUT(m_h2.workers.size() == 2 && !m_h2.workers.contains(victim), 15000);

    HelperProcess *ctl = runCtl(peer(m_h2) + QStringList{u"--timeout"_s, u"15000"_s, u"status"_s});
    QVERIFY2(ctl->waitForFinished(30000), qPrintable(ctl->dump()));
    QByteArray output = ctl->output().toUtf8();
    QCOMPARE(ctl->process().exitCode(), 0);   // a restarted worker is history, not an alarm
    QVERIFY2(output.contains(QByteArray("pid " + QByteArray::number(victim) + "  killed by signal 9 (SIGKILL)")),
             output.constData());

    // Its slot crashes again and again: given up after the restart limit (5 in 10 s).
    for (int kills = 1; kills < 5; ++kills) {
        const auto replacement = [&] {
            for (qint64 pid : std::as_const(m_h2.workers)) {
                if (pid != keep)
                    return pid;
            }
            return qint64(0);
        };
        QTRY_VERIFY_WITH_TIMEOUT(replacement() != 0 && replacement() != victim, 15000);
        victim = replacement();
        QCOMPARE(::kill(pid_t(victim), SIGKILL), 0);
    }
    QTRY_COMPARE_WITH_TIMEOUT(m_h2.workers, QList<qint64>{keep}, 15000);

    ctl = runCtl(peer(m_h2) + QStringList{u"--timeout"_s, u"15000"_s, u"status"_s});
    QVERIFY2(ctl->waitForFinished(30000), qPrintable(ctl->dump()));
    output = ctl->output().toUtf8();
    QCOMPARE(ctl->process().exitCode(), 8);
    QVERIFY2(output.contains("ALARM since") && output.contains("given up"), output.constData());
    QVERIFY2(output.contains("crash loop: slot given up"), output.constData());

    ctl = runCtl(peer(m_h2) + QStringList{u"--timeout"_s, u"15000"_s, u"status"_s, u"--json"_s});
    QVERIFY2(ctl->waitForFinished(30000), qPrintable(ctl->dump()));
    QCOMPARE(ctl->process().exitCode(), 8);
    const QJsonObject json = QJsonDocument::fromJson(ctl->output().toUtf8()).object();
    const QJsonArray alarms = json.value(u"alarms"_s).toArray();
    QVERIFY(!alarms.isEmpty());
    QCOMPARE(alarms.at(0).toObject().value(u"kind"_s).toString(), u"slot given up"_s);
    bool crashLoop = false;
    for (const QJsonValue &m : json.value(u"machines"_s).toArray()) {
        for (const QJsonValue &x : m.toObject().value(u"exits"_s).toArray())
            crashLoop |= x.toObject().value(u"reason"_s).toString() == u"crashLoop"_s;
    }
    QVERIFY(crashLoop);
}

QTEST_GUILESS_MAIN(tst_PlexusCtl)
#include "tst_plexusctl.moc"
