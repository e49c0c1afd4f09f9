// SPDX-License-Identifier: MIT
//
// ClusterState and the monitor's models, fed with synthetic snapshots and trace batches:
// rates, history, stable rows (dataChanged only when the rows stay), a replaced worker as
// one removal and one insertion, numeric sorting, the trace ring and its exports.

#include "clusterstate.h"
#include "followedpeers.h"
#include "machinesmodel.h"
#include "modelroles.h"
#include "opcodemodel.h"
#include "processtreemodel.h"
#include "rowsync.h"
#include "securitymodel.h"
#include "tracemodel.h"

#include <QtCore/qbuffer.h>
#include <QtCore/qjsonarray.h>
#include <QtCore/qjsondocument.h>
#include <QtCore/qjsonobject.h>
#include <QtCore/qsortfilterproxymodel.h>
#include <QtTest/qabstractitemmodeltester.h>
#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>

using namespace Qt::StringLiterals;
using namespace PlexusMonitor;

namespace {

constexpr quint64 M1 = 0xA1;
constexpr quint64 M2 = 0xF000000000000002ull;
constexpr qint64 T0 = 1700000000000;

ProcessSnapshot process(qint64 pid, int slot, quint64 messagesIn, quint64 opcodeIn = 0)
{
    ProcessSnapshot p;
    p.pid = pid;
    p.slot = slot;
    p.role = slot < 0 ? ProcessRole::Master : ProcessRole::Worker;
    p.state = ProcessState::Running;
    p.responding = true;
    p.counters.messagesIn = messagesIn;
    p.counters.messagesOut = messagesIn * 2;
    p.counters.bytesIn = messagesIn * 100;
    p.counters.bytesOut = messagesIn * 200;
    p.opcodes = {OpcodeStats{0x100, u"test.ping"_s, opcodeIn, opcodeIn, opcodeIn * 10, 0},
                 OpcodeStats{0x200, {}, 1, 1, 1, 1}};
    return p;
}

MachineSnapshot machine(quint64 id, qint64 time, const QList<ProcessSnapshot> &processes)
{
    MachineSnapshot s;
    s.machine = id;
    s.host = u"host-%1"_s.arg(id, 0, 16);
    s.version = u"0.1.0"_s;
    s.time = time;
    s.processes = processes;
    return s;
}

TraceBatch batch(quint64 machine, quint64 seq, int samples, qint64 firstTime)
{
    TraceBatch b;
    b.machine = machine;
    b.seq = seq;
    b.intervalMs = 250;
    b.events = quint64(samples);
    for (int i = 0; i < samples; ++i) {
        TraceSample s;
        s.time = firstTime + i;
        s.from = 101;
        s.fromMachine = machine;
        s.to = 100;
        s.toMachine = machine;
        s.kind = MessageKind::Call;
        s.opcode = 0x100;
        s.id = 0xFEDCBA9800000000ull + quint64(i);
        s.size = 4;
        b.samples.append(s);
    }
    b.aggregates = {TraceAggregate{101, 0, MessageKind::Call, 0x100, quint64(samples), quint64(samples) * 4},
                    TraceAggregate{100, 0, MessageKind::Reply, 0x100, quint64(samples), 0},
                    TraceAggregate{555, M2, MessageKind::Cluster, 0x300, 1, 1}};
    return b;
}

// The process rows of the tree under machine row \a m: master pid, then worker pids.
QList<qint64> pidsUnder(const ProcessTreeModel &tree, const QModelIndex &m)
{
    QList<qint64> out;
    if (tree.rowCount(m) == 0)
        return out;
    const QModelIndex master = tree.index(0, 0, m);
    out.append(master.data(PidRole).toLongLong());
    for (int i = 0; i < tree.rowCount(master); ++i)
        out.append(tree.index(i, 0, master).data(PidRole).toLongLong());
    return out;
}

} // namespace

class tst_MonitorModels : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void ratesFromSuccessiveSnapshots();
    void counterResetGivesNoRate();
    void rateHistoryDownsamples();
    void treeKeepsRowsWhenUnchanged();
    void treeReplacesAWorkerInPlace();
    void treeDropsDisconnectedMachine();
    void treeSortsNumbers();
    void refreshWithoutChangeIsSilent();
    void opcodeModelShowsOneProcess();
    void machinesModelFlagsRefusedPeers();
    void securityModelListsRejections();
    void traceModelIsABoundedRing();
    void traceModelPauses();
    void traceExports();
    void traceExportsChosenRows();
    void flowLanesBySender();
    void syncRowsResetsOnRepeatedKeys();
    void repeatedPidsAndOpcodes();
    void rateHistoryIsTimeBased();
    void rateHistoryGrowsLazily();
    void historiesPerMachineBounded();
    void traceRingBoundedByBytes();
    void followedPeersArePruned();
};

void tst_MonitorModels::ratesFromSuccessiveSnapshots()
{
    ClusterState state;
    state.applySnapshot(machine(M1, T0, {process(100, -1, 1000, 50), process(101, 0, 10)}), T0);
    QCOMPARE(state.processRates({M1, 100})->total.messagesIn, 0.0);   // one snapshot: no rate
    // Two seconds later by the master's clock (arrival 2.5 s later: the master's clock wins).
    state.applySnapshot(machine(M1, T0 + 2000, {process(100, -1, 1400, 90), process(101, 0, 30)}),
                        T0 + 2500);
    const ProcessRates *r = state.processRates({M1, 100});
    QVERIFY(r);
    QCOMPARE(r->total.messagesIn, 200.0);
    QCOMPARE(r->total.messagesOut, 400.0);
    QCOMPARE(r->total.bytesIn, 20000.0);
    QCOMPARE(r->opcodes.size(), 2);
    QCOMPARE(r->opcodes.at(0).messagesIn, 20.0);
    QCOMPARE(r->opcodes.at(1).messagesIn, 0.0);
    QCOMPARE(state.processRates({M1, 101})->total.messagesIn, 10.0);
    QCOMPARE(state.machine(M1)->totalRates().messagesIn, 200.0);
    QVERIFY(state.history({M1, 100}));
    QCOMPARE(state.history({M1, 100})->size(), 1);
    QCOMPARE(state.history({M1, 100})->last().rates.messagesIn, 200.0);
    QCOMPARE(state.machineHistory(M1), state.history({M1, 100}));
}

void tst_MonitorModels::counterResetGivesNoRate()
{
    ClusterState state;
    state.applySnapshot(machine(M1, T0, {process(100, -1, 1000)}), T0);
    state.applySnapshot(machine(M1, T0 + 1000, {process(100, -1, 10)}), T0 + 1000);
    QCOMPARE(state.processRates({M1, 100})->total.messagesIn, 0.0);
    // A worker that is gone takes its history with it.
    state.applySnapshot(machine(M1, T0 + 2000, {process(100, -1, 20), process(101, 0, 1)}), T0 + 2000);
    state.applySnapshot(machine(M1, T0 + 3000, {process(100, -1, 30), process(101, 0, 2)}), T0 + 3000);
    QVERIFY(state.history({M1, 101}));
    state.applySnapshot(machine(M1, T0 + 4000, {process(100, -1, 40)}), T0 + 4000);
    QVERIFY(!state.history({M1, 101}));
}

void tst_MonitorModels::rateHistoryDownsamples()
{
    RateHistory h;
    QCOMPARE(h.capacity(), 3600);
    for (int i = 0; i < 4000; ++i)   // more than an hour at 1 s: the oldest fall out
        h.append(T0 + qint64(i) * 1000, Rates{double(i), 0, 0, 0});
    QCOMPARE(h.size(), 3600);
    QCOMPARE(h.last().rates.messagesIn, 3999.0);

    const QList<RatePoint> minute = h.points(60 * 1000, 1000);
    QCOMPARE(minute.size(), 61);
    QCOMPARE(minute.front().rates.messagesIn, 3939.0);
    QCOMPARE(minute.back().time, T0 + 3999 * 1000);

    const QList<RatePoint> hour = h.points(3600 * 1000, 120);
    QVERIFY(hour.size() <= 120);
    QVERIFY(hour.size() >= 110);
    // Averages of consecutive points: increasing, and the last bucket ends at the newest.
    for (qsizetype i = 1; i < hour.size(); ++i)
        QVERIFY(hour.at(i).rates.messagesIn > hour.at(i - 1).rates.messagesIn);
    QCOMPARE(hour.back().time, T0 + 3999 * 1000);
    QVERIFY(hour.back().rates.messagesIn < 3999.0);
    QVERIFY(hour.back().rates.messagesIn > 3900.0);
}

void tst_MonitorModels::treeKeepsRowsWhenUnchanged()
{
    ClusterState state;
    ProcessTreeModel tree(&state);
    QAbstractItemModelTester tester(&tree);
    state.applySnapshot(machine(M1, T0, {process(100, -1, 5), process(101, 0, 1), process(102, 1, 2)}), T0);
    state.applySnapshot(machine(M2, T0, {process(200, -1, 5), process(201, 0, 1)}), T0);
    tree.refresh();
    QCOMPARE(tree.rowCount(), 2);
    QCOMPARE(pidsUnder(tree, tree.index(0, 0)), (QList<qint64>{100, 101, 102}));
    QCOMPARE(pidsUnder(tree, tree.index(1, 0)), (QList<qint64>{200, 201}));
    QCOMPARE(tree.index(1, 0).data(MachineIdRole).toULongLong(), M2);
    QCOMPARE(tree.index(0, 0).data(ItemKindRole).toInt(), int(ItemKind::Machine));

    QSignalSpy inserted(&tree, &QAbstractItemModel::rowsInserted);
    QSignalSpy removed(&tree, &QAbstractItemModel::rowsRemoved);
    QSignalSpy reset(&tree, &QAbstractItemModel::modelReset);
    QSignalSpy changed(&tree, &QAbstractItemModel::dataChanged);
    const QPersistentModelIndex worker = tree.index(1, ProcessTreeModel::MessagesInColumn,
                                                    tree.index(0, 0, tree.index(0, 0)));
    QCOMPARE(worker.data(SortRole).toULongLong(), 2u);

    state.applySnapshot(machine(M1, T0 + 1000, {process(100, -1, 50), process(101, 0, 10), process(102, 1, 20)}),
                        T0 + 1000);
    tree.refresh();
    QCOMPARE(inserted.size(), 0);
    QCOMPARE(removed.size(), 0);
    QCOMPARE(reset.size(), 0);
    QCOMPARE(tree.resetCount(), 0);
    QVERIFY(changed.size() > 0);
    QVERIFY(worker.isValid());
    QCOMPARE(worker.data(SortRole).toULongLong(), 20u);
    QCOMPARE(tree.index(1, ProcessTreeModel::RateInColumn, tree.index(0, 0, tree.index(0, 0)))
                     .data(SortRole).toDouble(), 18.0);
}

void tst_MonitorModels::treeReplacesAWorkerInPlace()
{
    ClusterState state;
    ProcessTreeModel tree(&state);
    QAbstractItemModelTester tester(&tree);
    state.applySnapshot(machine(M1, T0, {process(100, -1, 5), process(101, 0, 1), process(102, 1, 2)}), T0);
    tree.refresh();
    const QModelIndex master = tree.index(0, 0, tree.index(0, 0));
    const QPersistentModelIndex survivor = tree.index(1, 0, master);
    QCOMPARE(survivor.data(PidRole).toLongLong(), 102);

    QSignalSpy inserted(&tree, &QAbstractItemModel::rowsInserted);
    QSignalSpy removed(&tree, &QAbstractItemModel::rowsRemoved);
    // Worker 101 (slot 0) was killed; 103 replaced it in the same slot.
    state.applySnapshot(machine(M1, T0 + 1000, {process(100, -1, 6), process(103, 0, 0), process(102, 1, 3)}),
                        T0 + 1000);
    tree.refresh();
    QCOMPARE(removed.size(), 1);
    QCOMPARE(inserted.size(), 1);
    QCOMPARE(inserted.front().at(0).value<QModelIndex>(), QModelIndex(master));
    QCOMPARE(tree.resetCount(), 0);
    QCOMPARE(pidsUnder(tree, tree.index(0, 0)), (QList<qint64>{100, 103, 102}));
    QVERIFY(survivor.isValid());
    QCOMPARE(survivor.data(PidRole).toLongLong(), 102);
    QCOMPARE(tree.processKey(tree.indexOf({M1, 103})), (ProcessKey{M1, 103}));
    QVERIFY(!tree.indexOf({M1, 101}).isValid());
}

void tst_MonitorModels::treeDropsDisconnectedMachine()
{
    ClusterState state;
    ProcessTreeModel tree(&state);
    QAbstractItemModelTester tester(&tree);
    state.setConnected(M1, u"127.0.0.1"_s, 7400, u"0.1.0"_s, 0.5, T0, T0);
    state.setConnected(M2, u"127.0.0.1"_s, 7401, u"0.1.0"_s, 0.5, T0, T0);
    state.applySnapshot(machine(M1, T0, {process(100, -1, 5), process(101, 0, 1)}), T0);
    state.applySnapshot(machine(M2, T0, {process(200, -1, 5)}), T0);
    tree.refresh();
    QCOMPARE(tree.rowCount(), 2);
    state.setDisconnected(M1, T0 + 10);
    tree.refresh();
    QCOMPARE(tree.rowCount(), 1);
    QCOMPARE(tree.index(0, 0).data(MachineIdRole).toULongLong(), M2);
    QCOMPARE(tree.resetCount(), 0);
    // Forgotten once neither connected nor mentioned for long enough.
    QVERIFY(state.machine(M1));
    state.prune(T0 + 100000, 60000);
    QVERIFY(!state.machine(M1));
    QVERIFY(state.machine(M2));
}

void tst_MonitorModels::treeSortsNumbers()
{
    ClusterState state;
    ProcessTreeModel tree(&state);
    state.applySnapshot(machine(M1, T0, {process(100, -1, 5), process(101, 0, 9), process(102, 1, 100),
                                         process(103, 2, 10)}),
                        T0);
    tree.refresh();
    QSortFilterProxyModel proxy;
    proxy.setSourceModel(&tree);
    proxy.setSortRole(SortRole);
    proxy.sort(ProcessTreeModel::MessagesInColumn, Qt::AscendingOrder);
    const QModelIndex master = proxy.index(0, 0, proxy.index(0, 0));
    QList<qint64> order;
    for (int i = 0; i < proxy.rowCount(master); ++i)
        order.append(proxy.index(i, 0, master).data(PidRole).toLongLong());
    QCOMPARE(order, (QList<qint64>{101, 103, 102}));   // 9 < 10 < 100, not "10" < "100" < "9"
    QCOMPARE(tree.index(2, ProcessTreeModel::MessagesInColumn, tree.index(0, 0, tree.index(0, 0)))
                     .data().toString(), u"10"_s);
}

void tst_MonitorModels::refreshWithoutChangeIsSilent()
{
    ClusterState state;
    ProcessTreeModel tree(&state);
    state.applySnapshot(machine(M1, T0, {process(100, -1, 5)}), T0);
    tree.refresh();
    QSignalSpy changed(&tree, &QAbstractItemModel::dataChanged);
    QSignalSpy refreshed(&tree, &ModelBase::refreshed);
    for (int i = 0; i < 100; ++i)
        tree.refresh();
    QCOMPARE(changed.size(), 0);
    QCOMPARE(refreshed.size(), 0);
    // A flood of snapshots between two refreshes reaches the view as one refresh.
    for (int i = 1; i <= 1000; ++i)
        state.applySnapshot(machine(M1, T0 + i, {process(100, -1, 5 + quint64(i))}), T0 + i);
    tree.refresh();
    QCOMPARE(refreshed.size(), 1);
    QCOMPARE(tree.resetCount(), 0);
    tree.setPaused(true);
    state.applySnapshot(machine(M1, T0 + 5000, {process(100, -1, 99999)}), T0 + 5000);
    tree.refresh();
    QCOMPARE(refreshed.size(), 1);
    tree.setPaused(false);
    tree.refresh();
    QCOMPARE(refreshed.size(), 2);
    QCOMPARE(tree.index(0, 0, tree.index(0, 0)).siblingAtColumn(ProcessTreeModel::MessagesInColumn)
                     .data(SortRole).toULongLong(), 99999u);
}

void tst_MonitorModels::opcodeModelShowsOneProcess()
{
    ClusterState state;
    OpcodeModel model(&state);
    QAbstractItemModelTester tester(&model);
    state.applySnapshot(machine(M1, T0, {process(100, -1, 5, 10), process(101, 0, 1, 3)}), T0);
    state.applySnapshot(machine(M1, T0 + 1000, {process(100, -1, 6, 30), process(101, 0, 2, 4)}), T0 + 1000);
    model.refresh();
    QCOMPARE(model.rowCount(), 0);   // no process chosen
    model.setProcess(M1, 100);
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(model.index(0, OpcodeModel::CodeColumn).data().toString(), u"0x00000100"_s);
    QCOMPARE(model.index(0, OpcodeModel::NameColumn).data().toString(), u"test.ping"_s);
    QCOMPARE(model.index(0, OpcodeModel::InColumn).data(SortRole).toULongLong(), 30u);
    QCOMPARE(model.index(0, OpcodeModel::RateInColumn).data(SortRole).toDouble(), 20.0);
    QCOMPARE(model.index(1, OpcodeModel::CodeColumn).data(OpcodeRole).toUInt(), 0x200u);
    model.setProcess(M1, 101);
    QCOMPARE(model.index(0, OpcodeModel::InColumn).data(SortRole).toULongLong(), 4u);
    model.setProcess(M1, 999);
    QCOMPARE(model.rowCount(), 0);
}

void tst_MonitorModels::machinesModelFlagsRefusedPeers()
{
    ClusterState state;
    MachinesModel model(&state);
    QAbstractItemModelTester tester(&model);
    state.setConnected(M1, u"127.0.0.1"_s, 7400, u"0.1.0"_s, 0.25, T0, T0);
    MachineSnapshot s = machine(M1, T0, {process(100, -1, 1)});
    s.peers = {PeerSnapshot{M2, u"127.0.0.2"_s, 7401, u"0.1.0"_s, false, 1, T0},
               PeerSnapshot{0x99, u"127.0.0.3"_s, 0, u"0.1.0"_s, true, 1, T0}};   // a monitor
    state.applySnapshot(s, T0);
    // As the Node reports peers: "tcp:ADDRESS" for a link, "udp:ADDRESS" for an
    // announcement (issue 19.2: the model split them at the last colon, "udp:0 | udp").
    state.addRefused(u"tcp:127.0.0.1"_s, u"VersionMismatch"_s, true, T0);
    state.addRefused(u"tcp:127.0.0.1"_s, u"VersionMismatch"_s, true, T0 + 1);
    state.addRefused(u"udp:10.1.2.3"_s, u"AuthenticationFailed"_s, false, T0);
    model.refresh();
    QCOMPARE(model.rowCount(), 4);   // M1, M2 (from M1's peer list), the refused peers
    QCOMPARE(model.index(0, MachinesModel::MachineColumn).data(MachineIdRole).toULongLong(), M1);
    QVERIFY(model.index(0, 0).data(ConnectedRole).toBool());
    QCOMPARE(model.index(0, MachinesModel::RttColumn).data().toString(), u"0.25 ms"_s);
    QCOMPARE(model.index(0, MachinesModel::ProcessesColumn).data().toInt(), 1);
    QCOMPARE(model.index(1, 0).data(MachineIdRole).toULongLong(), M2);
    QCOMPARE(model.index(1, MachinesModel::StatusColumn).data().toString(), u"discovered"_s);
    QVERIFY(!model.index(1, 0).data(IncompatibleRole).toBool());
    QVERIFY(model.flags(model.index(1, 0)) & Qt::ItemIsEnabled);
    QVERIFY(model.index(2, 0).data(IncompatibleRole).toBool());
    QVERIFY(!(model.flags(model.index(2, 0)) & Qt::ItemIsEnabled));
    QVERIFY(model.index(2, MachinesModel::StatusColumn).data().toString().contains(u"VersionMismatch"_s));
    QCOMPARE(model.index(2, MachinesModel::AddressColumn).data().toString(), u"127.0.0.1"_s);
    QVERIFY(model.index(2, MachinesModel::PortColumn).data().toString().isEmpty());   // not known
    QCOMPARE(model.index(2, MachinesModel::MachineColumn).data().toString(), u"? (127.0.0.1)"_s);
    QCOMPARE(model.index(2, MachinesModel::StatusColumn).data().toString(),
             u"incompatible: VersionMismatch"_s);
    QCOMPARE(model.index(3, MachinesModel::AddressColumn).data().toString(), u"10.1.2.3"_s);
    QCOMPARE(model.index(3, MachinesModel::StatusColumn).data().toString(),
             u"announcements refused: AuthenticationFailed"_s);
}

void tst_MonitorModels::securityModelListsRejections()
{
    ClusterState state;
    SecurityModel model(&state);
    QAbstractItemModelTester tester(&model);
    ProcessSnapshot master = process(100, -1, 1);
    master.security = {SecurityEntry{u"127.0.0.1:5000"_s, u"AuthenticationFailed"_s, 7}};
    state.applySnapshot(machine(M1, T0, {master, process(101, 0, 1)}), T0);
    state.addRefused(u"tcp:127.0.0.1"_s, u"BadHandshake"_s, false, T0);
    model.refresh();
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(model.index(0, SecurityModel::ReasonColumn).data().toString(), u"AuthenticationFailed"_s);
    QCOMPARE(model.index(0, SecurityModel::CountColumn).data(SortRole).toULongLong(), 7u);
    QCOMPARE(model.index(0, SecurityModel::ProcessColumn).data(PidRole).toLongLong(), 100);
    QCOMPARE(model.index(1, SecurityModel::MachineColumn).data().toString(), u"this monitor"_s);
    QCOMPARE(model.total(), 8u);
}

void tst_MonitorModels::traceModelIsABoundedRing()
{
    ClusterState state;
    TraceModel model(&state);
    QAbstractItemModelTester tester(&model);
    QCOMPARE(model.capacity(), 10000);
    state.applyTrace(batch(M1, 0, 6000, T0), T0);
    model.refresh();
    QCOMPARE(model.rowCount(), 6000);
    QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    state.applyTrace(batch(M1, 1, 6000, T0 + 6000), T0 + 1);
    model.refresh();
    QCOMPARE(model.rowCount(), 10000);
    QCOMPARE(removed.size(), 1);
    QCOMPARE(inserted.size(), 1);
    QCOMPARE(model.resetCount(), 0);
    QCOMPARE(model.sample(0).time, T0 + 2000);          // the 2000 oldest went
    QCOMPARE(model.sample(9999).time, T0 + 11999);
    QCOMPARE(model.index(0, TraceModel::IdColumn).data().toString(), u"0xfedcba98000007d0"_s);
    // More at once than the capacity: one reset, the newest kept.
    state.applyTrace(batch(M1, 2, 25000, T0 + 20000), T0 + 2);
    model.refresh();
    QCOMPARE(model.resetCount(), 1);
    QCOMPARE(model.rowCount(), 10000);
    QCOMPARE(model.sample(9999).time, T0 + 20000 + 24999);
    QCOMPARE(state.traceSequence(), 37000u);
}

void tst_MonitorModels::traceModelPauses()
{
    ClusterState state;
    TraceModel model(&state);
    model.setCapacity(100);
    state.applyTrace(batch(M1, 0, 10, T0), T0);
    model.refresh();
    model.setPaused(true);
    state.applyTrace(batch(M1, 1, 10, T0 + 10), T0);
    model.refresh();
    QCOMPARE(model.rowCount(), 10);
    model.setPaused(false);
    model.refresh();
    QCOMPARE(model.rowCount(), 20);
    model.clear();
    QCOMPARE(model.rowCount(), 0);
    state.applyTrace(batch(M1, 2, 5, T0 + 20), T0);
    model.refresh();
    QCOMPARE(model.rowCount(), 5);
    QCOMPARE(state.machine(M1)->traceBatches, 3u);
    state.applyTrace(batch(M1, 5, 1, T0 + 30), T0);   // batches 3 and 4 never came
    QCOMPARE(state.machine(M1)->traceGaps, 2u);
}

void tst_MonitorModels::traceExports()
{
    ClusterState state;
    TraceModel model(&state);
    state.applyTrace(batch(M2, 0, 3, T0), T0);
    model.refresh();
    QBuffer csv;
    QVERIFY(csv.open(QIODevice::WriteOnly));
    QVERIFY(model.exportCsv(&csv));
    const QList<QByteArray> lines = csv.data().trimmed().split('\n');
    QCOMPARE(lines.size(), 4);
    QCOMPARE(lines.at(0), QByteArray("time,machine,fromMachine,from,toMachine,to,kind,opcode,size,id,flags"));
    QCOMPARE(lines.at(1), QByteArray("1700000000000,0xf000000000000002,0xf000000000000002,101,"
                                     "0xf000000000000002,100,call,256,4,0xfedcba9800000000,0"));
    QBuffer json;
    QVERIFY(json.open(QIODevice::WriteOnly));
    QVERIFY(model.exportJson(&json));
    const QJsonArray array = QJsonDocument::fromJson(json.data()).array();
    QCOMPARE(array.size(), 3);
    QCOMPARE(array.at(2).toObject().value(u"id"_s).toString(), u"0xfedcba9800000002"_s);
    QCOMPARE(array.at(2).toObject().value(u"machine"_s).toString(), u"0xf000000000000002"_s);
    QCOMPARE(array.at(2).toObject().value(u"from"_s).toInteger(), 101);
    QBuffer closed;
    QVERIFY(!model.exportCsv(&closed));
}

void tst_MonitorModels::traceExportsChosenRows()
{
    // Issue 19.4: the trace view exports the rows its filters show, through the proxy's
    // rows mapped to the model: those rows only, in that order, rows out of range skipped.
    ClusterState state;
    TraceModel model(&state);
    state.applyTrace(batch(M1, 0, 5, T0), T0);
    model.refresh();
    QBuffer csv;
    QVERIFY(csv.open(QIODevice::WriteOnly));
    QVERIFY(model.exportCsv(&csv, {3, 1, 99, -1}));
    const QList<QByteArray> lines = csv.data().trimmed().split('\n');
    QCOMPARE(lines.size(), 3);
    QVERIFY(lines.at(1).endsWith(",0xfedcba9800000003,0"));
    QVERIFY(lines.at(2).endsWith(",0xfedcba9800000001,0"));
    QBuffer json;
    QVERIFY(json.open(QIODevice::WriteOnly));
    QVERIFY(model.exportJson(&json, {4}));
    const QJsonArray array = QJsonDocument::fromJson(json.data()).array();
    QCOMPARE(array.size(), 1);
    QCOMPARE(array.at(0).toObject().value(u"id"_s).toString(), u"0xfedcba9800000004"_s);
    // None chosen: the header alone, an empty array.
    QBuffer none;
    QVERIFY(none.open(QIODevice::WriteOnly));
    QVERIFY(model.exportCsv(&none, {}));
    QCOMPARE(none.data().count('\n'), 1);
    QBuffer noneJson;
    QVERIFY(noneJson.open(QIODevice::WriteOnly));
    QVERIFY(model.exportJson(&noneJson, {}));
    QVERIFY(QJsonDocument::fromJson(noneJson.data()).array().isEmpty());
}

void tst_MonitorModels::flowLanesBySender()
{
    ClusterState state;
    state.applyTrace(batch(M1, 0, 4, T0), T0);
    state.applyTrace(batch(M1, 1, 6, T0), T0 + 250);
    const QList<FlowLane> lanes = state.flow().lanes(0);
    // The aggregate of machine M2's process seen by M1 is left to M2's own batches.
    QCOMPARE(lanes.size(), 2);
    QCOMPARE(lanes.at(0).pid, 100);
    QCOMPARE(lanes.at(1).pid, 101);
    QCOMPARE(lanes.at(1).machine, M1);
    QCOMPARE(lanes.at(1).buckets.size(), 2);
    QCOMPARE(lanes.at(1).buckets.at(0).count, 4u);
    QCOMPARE(lanes.at(1).buckets.at(1).count, 6u);
    QCOMPARE(lanes.at(1).buckets.at(1).time, T0 + 250);
    QCOMPARE(lanes.at(1).buckets.at(1).entries.front().opcode, 0x100u);
    QCOMPARE(state.flow().lanes(T0 + 100).at(1).buckets.size(), 1);

    FlowHistory bounded(60000, 5);
    bounded.add(batch(M1, 0, 1, T0), T0);   // 3 entries
    bounded.add(batch(M1, 1, 1, T0), T0);   // 6 > 5: the first batch goes
    QCOMPARE(bounded.entryCount(), 3);
    bounded.add(batch(M1, 2, 1, T0), T0 + 120000);   // the second is too old
    QCOMPARE(bounded.entryCount(), 3);
}

void tst_MonitorModels::syncRowsResetsOnRepeatedKeys()
{
    struct Hooks {
        QStringList calls;
        void beginRemove(int first, int last) { calls << u"remove %1-%2"_s.arg(first).arg(last); }
        void endRemove() { }
        void beginInsert(int first, int last) { calls << u"insert %1-%2"_s.arg(first).arg(last); }
        void endInsert() { }
        void beginReset() { calls << u"reset"_s; }
        void endReset() { }
        void update(int row, std::pair<int, int> &existing, std::pair<int, int> &fresh)
        {
            QCOMPARE_GE(row, 0);
            existing = fresh;
        }
    } hooks;
    using Row = std::pair<int, int>;   // key, value
    const auto key = [](const Row &r) { return r.first; };
    QList<Row> rows{{1, 0}, {2, 0}, {3, 0}};
    // Unique keys: a minimal edit.
    QList<Row> next{{1, 1}, {3, 1}, {4, 1}};
    QVERIFY(Internal::syncRows(rows, next, key, hooks));
    QCOMPARE(hooks.calls, (QStringList{u"remove 1-1"_s, u"insert 2-2"_s}));
    QCOMPARE(rows, (QList<Row>{{1, 1}, {3, 1}, {4, 1}}));
    // A key repeated in the new rows (more rows than keys): a reset, never a read past the end.
    hooks.calls.clear();
    next = {{1, 2}, {1, 3}, {3, 2}, {4, 2}, {4, 3}};
    QVERIFY(Internal::syncRows(rows, next, key, hooks));
    QCOMPARE(hooks.calls, QStringList{u"reset"_s});
    QCOMPARE(rows.size(), 5);
    // And in the old rows: a reset again.
    hooks.calls.clear();
    next = {{1, 4}, {4, 4}};
    QVERIFY(Internal::syncRows(rows, next, key, hooks));
    QCOMPARE(hooks.calls, QStringList{u"reset"_s});
    QCOMPARE(rows, (QList<Row>{{1, 4}, {4, 4}}));
    // Unique again: back to dataChanged only.
    hooks.calls.clear();
    next = {{1, 5}, {4, 5}};
    QVERIFY(!Internal::syncRows(rows, next, key, hooks));
    QVERIFY(hooks.calls.isEmpty());
    QCOMPARE(rows, (QList<Row>{{1, 5}, {4, 5}}));
}

void tst_MonitorModels::repeatedPidsAndOpcodes()
{
    ClusterState state;
    ProcessTreeModel tree(&state);
    QAbstractItemModelTester treeTester(&tree);
    OpcodeModel opcodes(&state);
    QAbstractItemModelTester opcodeTester(&opcodes);
    opcodes.setProcess(M1, 100);
    state.applySnapshot(machine(M1, T0, {process(100, -1, 5), process(101, 0, 1), process(102, 1, 1)}), T0);
    tree.refresh();
    opcodes.refresh();
    QCOMPARE(pidsUnder(tree, tree.index(0, 0)), (QList<qint64>{100, 101, 102}));

    // Both workers restarting: pid 0 twice (slots 0 and 1). Rows by slot: two of them.
    state.applySnapshot(machine(M1, T0 + 1000, {process(100, -1, 6), process(0, 0, 0), process(0, 1, 0)}),
                        T0 + 1000);
    tree.refresh();
    QCOMPARE(pidsUnder(tree, tree.index(0, 0)), (QList<qint64>{100, 0, 0}));
    QCOMPARE(tree.resetCount(), 0);
    const QModelIndex master = tree.index(0, 0, tree.index(0, 0));
    QCOMPARE(tree.index(1, ProcessTreeModel::SlotColumn, master).data(SortRole).toInt(), 1);
    state.applySnapshot(machine(M1, T0 + 2000, {process(100, -1, 7), process(103, 0, 0), process(0, 1, 0)}),
                        T0 + 2000);
    tree.refresh();
    QCOMPARE(pidsUnder(tree, tree.index(0, 0)), (QList<qint64>{100, 103, 0}));
    QCOMPARE(tree.resetCount(), 0);

    // A hostile master: the same worker (slot and pid) three times, and op-codes repeated.
    ProcessSnapshot hostileMaster = process(100, -1, 8, 3);
    hostileMaster.opcodes += hostileMaster.opcodes;
    hostileMaster.opcodes.append(OpcodeStats{0x100, u"again"_s, 9, 9, 9, 9});
    state.applySnapshot(machine(M1, T0 + 3000, {hostileMaster, process(103, 0, 1), process(103, 0, 1),
                                                process(103, 0, 1)}),
                        T0 + 3000);
    tree.refresh();
    opcodes.refresh();
    QCOMPARE(pidsUnder(tree, tree.index(0, 0)), (QList<qint64>{100, 103, 103, 103}));
    QCOMPARE(tree.resetCount(), 1);   // no minimal edit with repeated keys
    // One row per op-code, the first listed.
    QCOMPARE(opcodes.rowCount(), 2);
    QCOMPARE(opcodes.index(0, OpcodeModel::CodeColumn).data(OpcodeRole).toUInt(), 0x100u);
    QCOMPARE(opcodes.index(0, OpcodeModel::NameColumn).data().toString(), u"test.ping"_s);
    QCOMPARE(opcodes.index(1, OpcodeModel::CodeColumn).data(OpcodeRole).toUInt(), 0x200u);
    // And back to a sane snapshot: the rows follow.
    state.applySnapshot(machine(M1, T0 + 4000, {process(100, -1, 9), process(103, 0, 2), process(104, 1, 0)}),
                        T0 + 4000);
    tree.refresh();
    opcodes.refresh();
    QCOMPARE(pidsUnder(tree, tree.index(0, 0)), (QList<qint64>{100, 103, 104}));
    QCOMPARE(opcodes.rowCount(), 2);
    // The state keeps one history per pid, however often it is listed.
    QVERIFY(state.history({M1, 103}));
    QCOMPARE(state.history({M1, 103})->size(), 2);   // T0 + 3000 and T0 + 4000
}

void tst_MonitorModels::rateHistoryIsTimeBased()
{
    // A snapshot every 200 ms: one point per second, the average of its five rates.
    RateHistory h;
    for (int i = 0; i < 5 * 600; ++i)   // 10 minutes
        h.append(T0 + qint64(i) * 200, Rates{double(i % 5), 10, 0, 0});
    QCOMPARE(h.size(), 600);
    QCOMPARE(h.last().time, T0 + 2999 * 200);   // stamped with the latest rates in it
    QCOMPARE(h.last().rates.messagesIn, 2.0);   // (0 + 1 + 2 + 3 + 4) / 5
    QCOMPARE(h.last().rates.messagesOut, 10.0);
    // "1 min" is a minute of points, not 60 snapshots (12 s).
    const QList<RatePoint> minute = h.points(60 * 1000, 1000);
    QCOMPARE(minute.size(), 61);   // both ends included
    QCOMPARE(h.last().time - minute.front().time, 60 * 1000);
    // The whole hour holds 10 minutes of it.
    const QList<RatePoint> hour = h.points(3600 * 1000, 3600);
    QCOMPARE(hour.size(), 600);
    QVERIFY(hour.back().time - hour.front().time >= 599 * 1000);
    // An hour of 200 ms snapshots fits: the capacity counts seconds.
    for (int i = 5 * 600; i < 5 * 4000; ++i)
        h.append(T0 + qint64(i) * 200, Rates{1, 1, 1, 1});
    QCOMPARE(h.size(), 3600);
    QCOMPARE(h.last().time - h.points(3600 * 1000, 3600).front().time, 3599 * 1000);
    // A clock that went back starts over rather than unsorting the points.
    h.append(T0, Rates{7, 0, 0, 0});
    QCOMPARE(h.size(), 1);
    QCOMPARE(h.last().rates.messagesIn, 7.0);
}

void tst_MonitorModels::rateHistoryGrowsLazily()
{
    RateHistory h;
    QCOMPARE(h.capacity(), 3600);
    QCOMPARE(h.allocated(), 0);
    for (int i = 0; i < 10; ++i)
        h.append(T0 + qint64(i) * 1000, Rates{double(i), 0, 0, 0});
    QCOMPARE(h.size(), 10);
    QVERIFY2(h.allocated() < 100, qPrintable(QString::number(h.allocated())));
    for (int i = 10; i < 5000; ++i)
        h.append(T0 + qint64(i) * 1000, Rates{double(i), 0, 0, 0});
    QCOMPARE(h.size(), 3600);
    QVERIFY2(h.allocated() <= 2 * 3600, qPrintable(QString::number(h.allocated())));
    QCOMPARE(h.points(3600 * 1000, 4000).front().rates.messagesIn, 1400.0);
    QCOMPARE(h.last().rates.messagesIn, 4999.0);
    h.clear();
    QCOMPARE(h.allocated(), 0);
}

void tst_MonitorModels::historiesPerMachineBounded()
{
    // A master listing thousands of processes gets histories for the first ones only.
    const int n = ClusterState::MaxHistoriesPerMachine + 500;
    QList<ProcessSnapshot> processes{process(100, -1, 1)};
    for (int i = 0; i < n; ++i)
        processes.append(process(1000 + i, i, 1));
    ClusterState state;
    state.applySnapshot(machine(M1, T0, processes), T0);
    for (ProcessSnapshot &p : processes)
        p.counters.messagesIn += 10;
    state.applySnapshot(machine(M1, T0 + 1000, processes), T0 + 1000);
    int histories = 0;
    for (const ProcessSnapshot &p : std::as_const(processes))
        histories += state.history({M1, p.pid}) ? 1 : 0;
    QCOMPARE(histories, ClusterState::MaxHistoriesPerMachine);
    QVERIFY(state.history({M1, 100}));   // the master first
    QVERIFY(state.history({M1, 1000}));
    QVERIFY(!state.history({M1, 1000 + n - 1}));
    // The rates are there for every process all the same.
    QCOMPARE(state.processRates({M1, 1000 + n - 1})->total.messagesIn, 10.0);
    // Another machine has its own room.
    state.applySnapshot(machine(M2, T0, {process(200, -1, 1)}), T0);
    state.applySnapshot(machine(M2, T0 + 1000, {process(200, -1, 2)}), T0 + 1000);
    QVERIFY(state.history({M2, 200}));
    // Room made by processes that went is given to new ones.
    QList<ProcessSnapshot> fewer{processes.front()};
    for (int i = 0; i < 10; ++i)
        fewer.append(process(5000 + i, i, 1));
    state.applySnapshot(machine(M1, T0 + 2000, fewer), T0 + 2000);
    for (ProcessSnapshot &p : fewer)
        p.counters.messagesIn += 10;
    state.applySnapshot(machine(M1, T0 + 3000, fewer), T0 + 3000);
    QVERIFY(state.history({M1, 5009}));
    QVERIFY(!state.history({M1, 1000}));
}

void tst_MonitorModels::traceRingBoundedByBytes()
{
    // Samples with the largest payload the decoder accepts: the ring holds what fits in
    // its bytes, fewer than its capacity.
    ClusterState state;
    TraceModel model(&state);
    QAbstractItemModelTester tester(&model);
    const qsizetype cost = traceSampleCost(TraceSample{}) + 4096;
    for (quint64 b = 0; b < 10; ++b) {
        TraceBatch big = batch(M1, b, 1000, T0 + qint64(b) * 1000);
        for (TraceSample &s : big.samples)
            s.data = QByteArray(4096, 'p');
        state.applyTrace(big, T0);
        model.refresh();
        QVERIFY(state.traceBytes() <= ClusterState::DefaultTraceMaxBytes);
        QVERIFY(model.bytes() <= TraceModel::DefaultMaxBytes);
    }
    const qsizetype fits = ClusterState::DefaultTraceMaxBytes / cost;
    QCOMPARE(qsizetype(state.traceSamples(0).size()), fits);
    QCOMPARE(state.traceBytes(), fits * cost);
    QCOMPARE(model.rowCount(), int(TraceModel::DefaultMaxBytes / cost));
    QCOMPARE(model.bytes(), model.rowCount() * cost);
    QCOMPARE(model.sample(model.rowCount() - 1).time, T0 + 9000 + 999);   // the newest stay
    QCOMPARE(state.traceSequence(), 10000u);
    // Small samples again: the count bounds it.
    state.applyTrace(batch(M1, 10, 10000, T0 + 20000), T0);
    model.refresh();
    QCOMPARE(state.traceSamples(0).size(), 10000);
    QCOMPARE(model.rowCount(), 10000);
    QCOMPARE(model.bytes(), 10000 * traceSampleCost(TraceSample{}));
    // A smaller bound, set later, applies at once.
    state.setTraceMaxBytes(100 * traceSampleCost(TraceSample{}));
    QCOMPARE(state.traceSamples(0).size(), 100);
    model.setMaxBytes(10 * traceSampleCost(TraceSample{}));
    QCOMPARE(model.rowCount(), 10);
    QCOMPARE(model.sample(9).time, T0 + 20000 + 9999);
}

void tst_MonitorModels::followedPeersArePruned()
{
    Internal::FollowedPeers followed;
    QVERIFY(followed.mention(u"10.0.0.1"_s, 7400, T0));    // new: dial it
    QVERIFY(!followed.mention(u"10.0.0.1"_s, 7400, T0));   // once
    // A restarted master has a new machine id but the same address: nothing new to dial.
    QVERIFY(!followed.mention(u"10.0.0.1"_s, 7400, T0 + 30000));
    QVERIFY(followed.mention(u"10.0.0.1"_s, 7401, T0));
    QCOMPARE(followed.size(), 2);
    // Addresses that no peer list names any more are forgotten...
    followed.prune(T0 + 80000, 60000);
    QCOMPARE(followed.size(), 1);   // 7400 was named at T0 + 30000
    followed.prune(T0 + 100000, 60000);
    QCOMPARE(followed.size(), 0);
    // ...so that a long-running monitor never fills up with the addresses of the past.
    for (int round = 0; round < 10; ++round) {
        const qint64 t = T0 + 200000 + round * 100000;
        for (int i = 0; i < Internal::FollowedPeers::MaxEntries; ++i)
            QVERIFY(followed.mention(u"10.1.%1.%2"_s.arg(round).arg(i), 7400, t));
        QVERIFY(!followed.mention(u"10.2.0.1"_s, 7400, t));   // full for now
        followed.prune(t + 70000, 60000);
        QCOMPARE(followed.size(), 0);
    }
    QVERIFY(followed.mention(u"10.2.0.1"_s, 7400, T0 + 2000000));
}

QTEST_GUILESS_MAIN(tst_MonitorModels)
#include "tst_monitormodels.moc"
