// SPDX-License-Identifier: MIT
//
// The monitor's alarms (monitor/core/alarms.h), fed through ClusterState with synthetic
// snapshots: each kind starts and clears with the state, an alarm is raised once while it
// holds, and a storm stays bounded.

#include "alarms.h"
#include "clusterstate.h"

#include <QtTest/qtest.h>

using namespace Qt::StringLiterals;
using namespace PlexusMonitor;

namespace {

constexpr quint64 M1 = 0x1111;
constexpr qint64 T0 = 1'700'000'000'000;

ProcessSnapshot process(qint64 pid, int slot, ProcessState state = ProcessState::Running)
{
    ProcessSnapshot p;
    p.pid = pid;
    p.slot = slot;
    p.role = slot < 0 ? ProcessRole::Master : ProcessRole::Worker;
    p.state = state;
    return p;
}

MachineSnapshot machine(qint64 time, QList<ProcessSnapshot> processes)
{
    MachineSnapshot s;
    s.machine = M1;
    s.host = u"h1"_s;
    s.time = time;
    s.processes = std::move(processes);
    return s;
}

} // namespace

class tst_Alarms : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void machineLostAndBack();
    void slotGivenUp();
    void backlogOverThreshold();
    void newRejectionsOnly();
    void stormIsBounded();
};

void tst_Alarms::machineLostAndBack()
{
    ClusterState state;
    state.setConnected(M1, u"127.0.0.1"_s, 7400, u"0.1.0"_s, 0.2, T0, T0);
    state.applySnapshot(machine(T0, {process(100, -1)}), T0);
    QCOMPARE(state.alarms().activeCount(), 0);

    state.setDisconnected(M1, T0 + 1000);
    QCOMPARE(state.alarms().activeCount(), 1);
    const Alarm lost = state.alarms().active().first();
    QCOMPARE(lost.kind, Alarm::MachineLost);
    QCOMPARE(lost.machine, M1);
    QCOMPARE(lost.startedAt, T0 + 1000);
    QVERIFY(lost.isActive());
    QVERIFY2(lost.text.contains(u"lost"_s), qPrintable(lost.text));

    // The state forgets the machine after a while; the alarm does not.
    state.prune(T0 + 600000, 60000);
    QVERIFY(!state.machine(M1));
    QCOMPARE(state.alarms().activeCount(), 1);
    state.setConnected(M1, u"127.0.0.1"_s, 7400, u"0.1.0"_s, 0.2, T0 + 5000, T0 + 5000);
    state.applySnapshot(machine(T0 + 5000, {process(100, -1)}), T0 + 5000);
    QCOMPARE(state.alarms().activeCount(), 0);
    const QList<Alarm> all = state.alarms().alarms();
    QCOMPARE(all.size(), 1);
    QCOMPARE(all[0].startedAt, T0 + 1000);
    QCOMPARE(all[0].clearedAt, T0 + 5000);

    // A machine known only from another master's peer list was never "ours" to lose.
    ClusterState other;
    MachineSnapshot s = machine(T0, {process(100, -1)});
    s.peers = {PeerSnapshot{0x2222, u"127.0.0.2"_s, 7401, u"0.1.0"_s, false, 1, T0}};
    other.applySnapshot(s, T0);
    QCOMPARE(other.alarms().activeCount(), 0);
}

void tst_Alarms::slotGivenUp()
{
    ClusterState state;
    state.applySnapshot(machine(T0, {process(100, -1), process(101, 0)}), T0);
    QCOMPARE(state.alarms().activeCount(), 0);
    state.applySnapshot(machine(T0 + 1000, {process(100, -1), process(101, 0, ProcessState::GivenUp)}),
                        T0 + 1000);
    QCOMPARE(state.alarms().activeCount(), 1);
    QCOMPARE(state.alarms().active().first().kind, Alarm::SlotGivenUp);
    QCOMPARE(state.alarms().active().first().slot, 0);
    // Still given up: the same alarm, not a second one.
    state.applySnapshot(machine(T0 + 2000, {process(100, -1), process(101, 0, ProcessState::GivenUp)}),
                        T0 + 2000);
    QCOMPARE(state.alarms().alarms().size(), 1);
    QCOMPARE(state.alarms().active().first().startedAt, T0 + 1000);
    state.applySnapshot(machine(T0 + 3000, {process(100, -1), process(102, 0)}), T0 + 3000);
    QCOMPARE(state.alarms().activeCount(), 0);
    QCOMPARE(state.alarms().alarms().first().clearedAt, T0 + 3000);
}

void tst_Alarms::backlogOverThreshold()
{
    ClusterState state;
    state.alarms().setBacklogThreshold(1000);
    ProcessSnapshot worker = process(101, 0);
    worker.backlog = 1000;   // at the threshold: fine
    state.applySnapshot(machine(T0, {process(100, -1), worker}), T0);
    QCOMPARE(state.alarms().activeCount(), 0);
    worker.backlog = 5000;
    state.applySnapshot(machine(T0 + 1000, {process(100, -1), worker}), T0 + 1000);
    QCOMPARE(state.alarms().activeCount(), 1);
    const Alarm a = state.alarms().active().first();
    QCOMPARE(a.kind, Alarm::Backlog);
    QCOMPARE(a.pid, 101);
    worker.backlog = 0;
    state.applySnapshot(machine(T0 + 2000, {process(100, -1), worker}), T0 + 2000);
    QCOMPARE(state.alarms().activeCount(), 0);
}

void tst_Alarms::newRejectionsOnly()
{
    ClusterState state;
    ProcessSnapshot master = process(100, -1);
    master.counters.rejected = 5;   // before this monitor came: history, not an alarm
    state.applySnapshot(machine(T0, {master}), T0);
    QCOMPARE(state.alarms().activeCount(), 0);
    master.counters.rejected = 7;
    state.applySnapshot(machine(T0 + 1000, {master}), T0 + 1000);
    QCOMPARE(state.alarms().activeCount(), 1);
    QCOMPARE(state.alarms().active().first().kind, Alarm::Rejections);
    // No new rejection: it holds for a minute after the last one, then clears.
    state.applySnapshot(machine(T0 + 30000, {master}), T0 + 30000);
    QCOMPARE(state.alarms().activeCount(), 1);
    state.applySnapshot(machine(T0 + 1000 + AlarmTracker::RejectionHoldMs, {master}),
                        T0 + 1000 + AlarmTracker::RejectionHoldMs);
    QCOMPARE(state.alarms().activeCount(), 0);
}

void tst_Alarms::stormIsBounded()
{
    // A hostile or broken master reporting thousands of given-up slots, over and over.
    ClusterState state;
    QList<ProcessSnapshot> processes{process(100, -1)};
    for (int i = 0; i < 2000; ++i)
        processes.append(process(1000 + i, i, ProcessState::GivenUp));
    for (int round = 0; round < 5; ++round) {
        // Different pids and slots each round: every condition is "new".
        for (int i = 1; i < processes.size(); ++i)
            processes[i].slot = round * 10000 + i;
        state.applySnapshot(machine(T0 + round * 1000, processes), T0 + round * 1000);
        QCOMPARE(state.alarms().activeCount(), AlarmTracker::MaxActive);
        QVERIFY(state.alarms().alarms().size() <= AlarmTracker::MaxActive + AlarmTracker::MaxCleared);
    }
    // What is held back now, not a running total: 2000 conditions, 128 raised.
    QCOMPARE(state.alarms().suppressed(), quint64(2000 - AlarmTracker::MaxActive));
    state.applySnapshot(machine(T0 + 10000, {process(100, -1)}), T0 + 10000);
    QCOMPARE(state.alarms().activeCount(), 0);
    QCOMPARE(state.alarms().suppressed(), quint64(0));   // the storm is over
}

QTEST_GUILESS_MAIN(tst_Alarms)
#include "tst_alarms.moc"
