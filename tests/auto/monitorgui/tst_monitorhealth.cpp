// SPDX-License-Identifier: MIT
//
// What plexus-monitor shows of a cluster's health (issue 19.7, 19.8, 19.9), offscreen and
// fed with synthetic snapshots: the alarm bar above the views, the exit history in the
// process detail, CPU and memory in the process tree, and the Security view telling an
// announcer elsewhere on the network from the monitor's own links.

#include "synthetic.h"

#include "alarmbar.h"
#include "mainwindow.h"
#include "processdetail.h"
#include "processview.h"

#include "alarms.h"
#include "clusterstate.h"
#include "monitorclient.h"
#include "modelroles.h"
#include "processtreemodel.h"
#include "securitymodel.h"

#include <QtCore/qsortfilterproxymodel.h>
#include <QtTest/qtest.h>
#include <QtWidgets/qtreeview.h>

using namespace PlexusMonitor;
using namespace PlexusMonitor::Gui;
using namespace SyntheticCluster;

class tst_MonitorHealth : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void alarmBarShowsActiveAndCleared();
    void alarmBarIsBoundedInAStorm();
    void mainWindowShowsAlarms();
    void processDetailListsExits();
    void treeHasCpuAndMemory();
    void securityTellsAnnouncersApart();
};

void tst_MonitorHealth::alarmBarShowsActiveAndCleared()
{
    ClusterState state;
    AlarmBar bar;
    bar.showAlarms(state.alarms(), T0);
    QVERIFY(bar.isHidden());   // nothing to say

    MachineSnapshot s = machine(M1, {101, 102});
    s.processes[2].state = ProcessState::GivenUp;
    state.applySnapshot(s, T0);
    bar.showAlarms(state.alarms(), T0);
    QVERIFY(!bar.isHidden());
    QVERIFY2(bar.text().contains(u"worker slot 1 given up"_s), qPrintable(bar.text()));
    QVERIFY(bar.text().contains(u"since"_s));

    // Cleared: still listed, with its times, for ten minutes.
    s.processes[2].state = ProcessState::Running;
    state.applySnapshot(s, T0 + 5000);
    bar.showAlarms(state.alarms(), T0 + 5000);
    QVERIFY(!bar.isHidden());
    QVERIFY2(bar.text().startsWith(u"✓"_s), qPrintable(bar.text()));
    bar.showAlarms(state.alarms(), T0 + 5000 + AlarmBar::ShowClearedMs);
    QVERIFY(bar.isHidden());
}

void tst_MonitorHealth::alarmBarIsBoundedInAStorm()
{
    ClusterState state;
    QList<qint64> pids;
    for (int i = 0; i < 500; ++i)
        pids.append(1000 + i);
    MachineSnapshot s = machine(M1, pids);
    for (int i = 1; i < s.processes.size(); ++i)
        s.processes[i].state = ProcessState::GivenUp;
    state.applySnapshot(s, T0);
    AlarmBar bar;
    bar.showAlarms(state.alarms(), T0);
    const QStringList lines = bar.text().split(u'\n');
    QCOMPARE(lines.size(), AlarmBar::MaxLines + 1);
    QVERIFY2(lines.last().contains(u"more"_s), qPrintable(lines.last()));
    QVERIFY(bar.toolTip().count(u"<br>"_s) < AlarmBar::MaxTooltip);
}

void tst_MonitorHealth::mainWindowShowsAlarms()
{
    MonitorClient client;   // not started: its state is fed directly
    MainWindow window(&client);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    auto *state = const_cast<ClusterState *>(client.state());
    state->setConnected(M1, u"127.0.0.1"_s, 7400, u"0.1.0"_s, 0.2, T0, T0);
    state->applySnapshot(machine(M1, {101}), T0);
    state->setDisconnected(M1, T0 + 1000);
    Q_EMIT client.stateChanged();   // as the client does, coalesced, after a change
    QVERIFY(window.alarmBar()->isVisible());
    QVERIFY2(window.alarmBar()->text().contains(u"lost"_s), qPrintable(window.alarmBar()->text()));
}

void tst_MonitorHealth::processDetailListsExits()
{
    ClusterState state;
    ProcessView view(&state);
    view.resize(1000, 700);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    MachineSnapshot s = machine(M1, {101, 102});
    s.processes[1].cpuPercent = 12.5;
    s.processes[1].rssBytes = 6 << 20;
    s.exits = {WorkerExit{T0 - 5000, 90, 0, ExitReason::Crashed, 9, true},
               WorkerExit{T0 - 3000, 91, 1, ExitReason::Restarted, 0, false},
               WorkerExit{T0 - 1000, 92, 0, ExitReason::Error, 3, false}};
    state.applySnapshot(s, T0);
    view.refreshNow();
    const auto *proxy = qobject_cast<const QSortFilterProxyModel *>(view.treeView()->model());
    view.treeView()->setCurrentIndex(proxy->mapFromSource(view.model()->indexOf({M1, 101})));
    const QString worker0 = view.detail()->plainText();
    QVERIFY2(worker0.contains(u"killed by signal 9 (SIGKILL)"_s), qPrintable(worker0));
    QVERIFY(worker0.contains(u"exited with status 3"_s));
    QVERIFY(!worker0.contains(u"restarted on request"_s));   // slot 1's, not this slot's
    QVERIFY(worker0.contains(u"12.5 % of a core"_s));
    QVERIFY(worker0.contains(u"6.0 MiB"_s));
    // The machine lists every slot's exits.
    view.treeView()->setCurrentIndex(proxy->mapFromSource(view.model()->indexOfMachine(M1)));
    const QString machineText = view.detail()->plainText();
    QVERIFY2(machineText.contains(u"restarted on request"_s), qPrintable(machineText));
    QVERIFY(machineText.contains(u"killed by signal 9"_s));
}

void tst_MonitorHealth::treeHasCpuAndMemory()
{
    ClusterState state;
    ProcessTreeModel tree(&state);
    MachineSnapshot s = machine(M1, {101, 102});
    s.processes[0].cpuPercent = 1.5;
    s.processes[0].rssBytes = 10 << 20;
    s.processes[1].cpuPercent = 20;
    s.processes[1].rssBytes = 5 << 20;   // worker 1 unknown
    state.applySnapshot(s, T0);
    tree.refresh();
    const QModelIndex machineRow = tree.indexOfMachine(M1);
    const QModelIndex worker = tree.indexOf({M1, 101});
    const QModelIndex unknown = tree.indexOf({M1, 102});
    QCOMPARE(worker.siblingAtColumn(ProcessTreeModel::CpuColumn).data().toString(), u"20.0"_s);
    QCOMPARE(worker.siblingAtColumn(ProcessTreeModel::RssColumn).data().toString(), u"5.0 MiB"_s);
    QVERIFY(!unknown.siblingAtColumn(ProcessTreeModel::CpuColumn).data().isValid());
    QCOMPARE(unknown.siblingAtColumn(ProcessTreeModel::CpuColumn).data(SortRole).toDouble(), -1.0);
    // A machine: its processes together.
    QCOMPARE(machineRow.siblingAtColumn(ProcessTreeModel::CpuColumn).data().toString(), u"21.5"_s);
    QCOMPARE(machineRow.siblingAtColumn(ProcessTreeModel::RssColumn).data(SortRole).toLongLong(),
             qint64(15) << 20);
    QCOMPARE(tree.headerData(ProcessTreeModel::CpuColumn, Qt::Horizontal).toString(), u"CPU %"_s);
}

void tst_MonitorHealth::securityTellsAnnouncersApart()
{
    ClusterState state;
    SecurityModel model(&state);
    state.addRefused(u"udp:10.1.2.3"_s, u"AuthenticationFailed"_s, false, T0);
    state.addRefused(u"tcp:127.0.0.1"_s, u"BadHandshake"_s, false, T0);
    model.refresh();
    QCOMPARE(model.rowCount(), 2);
    QStringList machines;
    for (int i = 0; i < model.rowCount(); ++i)
        machines.append(model.index(i, SecurityModel::MachineColumn).data().toString());
    QVERIFY2(machines.contains(u"announcer at 10.1.2.3"_s), qPrintable(machines.join(u", "_s)));
    QVERIFY(machines.contains(u"this monitor"_s));
}

QTEST_MAIN(tst_MonitorHealth)
#include "tst_monitorhealth.moc"
