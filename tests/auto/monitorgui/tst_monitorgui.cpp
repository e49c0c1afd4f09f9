// SPDX-License-Identifier: MIT
//
// The monitor's main window without a cluster (the client is not started): every view is
// there, only the current tab refreshes, the global pause stops all of them, and the
// empty states say what to do. The views fed with synthetic snapshots and trace batches:
// the selection follows a process, the trace exports what its filters show, the window
// title, the chart axes (issue 19).

#include "synthetic.h"

#include "chartaxes.h"
#include "discoveryview.h"
#include "emptyoverlay.h"
#include "flowview.h"
#include "flowwidget.h"
#include "mainwindow.h"
#include "presentation.h"
#include "processchart.h"
#include "processdetail.h"
#include "processview.h"
#include "rateview.h"
#include "traceview.h"
#include "viewpage.h"

#include "clusterstate.h"
#include "modelroles.h"
#include "monitorclient.h"
#include "monitorclient_p.h"
#include "processtreemodel.h"
#include "tracemodel.h"

#include <QtCore/qjsonarray.h>
#include <QtCore/qjsondocument.h>
#include <QtCore/qjsonobject.h>
#include <QtCore/qscopeguard.h>
#include <QtCore/qsortfilterproxymodel.h>
#include <QtCore/qtemporarydir.h>
#include <QtGui/qaction.h>
#include <QtGui/qevent.h>
#include <QtGui/qguiapplication.h>
#include <QtTest/qtest.h>
#include <QtWidgets/qfiledialog.h>
#include <QtWidgets/qlabel.h>
#include <QtWidgets/qmessagebox.h>
#include <QtWidgets/qtableview.h>
#include <QtWidgets/qtabwidget.h>
#include <QtWidgets/qtreeview.h>

using namespace Qt::StringLiterals;
using namespace PlexusMonitor;
using namespace PlexusMonitor::Gui;
using namespace SyntheticCluster;

namespace {

// The row of \a key in the view's proxy, or an invalid index.
QModelIndex viewIndexOf(ProcessView *view, const ProcessKey &key)
{
    const auto *proxy = qobject_cast<const QSortFilterProxyModel *>(view->treeView()->model());
    return proxy->mapFromSource(view->model()->indexOf(key));
}

// The state of a MonitorClient that is not started, fed directly like ClusterState's own
// tests do (the client owns it; nothing else writes it while the client is stopped).
ClusterState *stateOf(MonitorClient *client)
{
    return const_cast<ClusterState *>(client->state());
}

} // namespace

class tst_MonitorGui : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void init();
    void cleanup();
    void viewsExist();
    void onlyVisibleViewRefreshes();
    void globalPauseStopsRefreshing();
    void refreshIntervalIsPerView();
    void flowWidgetEmptyAndLanes();
    void presentationFormats();
    void traceExportDoesNotBlock();
    void selectionDoesNotJumpToAnotherProcess();
    void selectionClearsWhenTheFilterHidesIt();
    void restartDisabledUnlessAllowed();
    void restartConfirmationNamesItsTarget();
    void windowTitleNamesTheApplicationOnce();
    void machinesViewOnNats();
    void traceExportWritesWhatTheFiltersShow();
    void traceEmptyViewSaysWhy();
    void chartAxesAreHuman();
    void rateChartsHaveTimeAndUnits();
    void processDetailHasARateChart();

private:
    std::unique_ptr<MonitorClient> m_client;
    std::unique_ptr<MainWindow> m_window;
};

void tst_MonitorGui::init()
{
    m_client = std::make_unique<MonitorClient>();
    m_window = std::make_unique<MainWindow>(m_client.get());
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
}

void tst_MonitorGui::cleanup()
{
    m_window.reset();
    m_client.reset();
}

void tst_MonitorGui::viewsExist()
{
    QStringList ids;
    for (ViewPage *p : m_window->pages())
        ids.append(p->id());
    QCOMPARE(ids, QStringList({u"machines"_s, u"processes"_s, u"rates"_s, u"flow"_s, u"trace"_s,
                               u"security"_s}));
    QVERIFY(m_window->discoveryView());
    QVERIFY(m_window->processView()->treeView()->model());
    QVERIFY(m_window->processView()->opcodeView()->model());
    QVERIFY(m_window->traceView()->model());
    QCOMPARE(m_window->page(u"flow"_s), m_window->flowView());
    QCOMPARE(m_window->page(u"nope"_s), nullptr);
}

void tst_MonitorGui::onlyVisibleViewRefreshes()
{
    ViewPage *current = m_window->currentPage();
    QVERIFY(current);
    QVERIFY(current->isRefreshing());
    for (ViewPage *p : m_window->pages()) {
        if (p != current)
            QVERIFY2(!p->isRefreshing(), qPrintable(p->id()));
    }

    // Hidden views do not refresh, however long we wait; the visible one does.
    QHash<ViewPage *, quint64> before;
    for (ViewPage *p : m_window->pages())
        before.insert(p, p->refreshCount());
    current->setRefreshInterval(250);
    QTRY_VERIFY_WITH_TIMEOUT(current->refreshCount() >= before[current] + 3, 5000);
    for (ViewPage *p : m_window->pages()) {
        if (p != current)
            QCOMPARE(p->refreshCount(), before[p]);
    }

    // Switching tabs moves the timer: the new one refreshes at once, the old one stops.
    ViewPage *trace = m_window->traceView();
    const quint64 traceBefore = trace->refreshCount();
    m_window->showPage(trace);
    QVERIFY(trace->isRefreshing());
    QVERIFY(!current->isRefreshing());
    QVERIFY(trace->refreshCount() > traceBefore);
    const quint64 oldCount = current->refreshCount();
    QTRY_VERIFY_WITH_TIMEOUT(trace->refreshCount() >= traceBefore + 3, 5000);
    QCOMPARE(current->refreshCount(), oldCount);

    // A minimised or hidden window refreshes nothing.
    m_window->setWindowState(Qt::WindowMinimized);
    QTRY_VERIFY(!trace->isRefreshing());
    m_window->setWindowState(Qt::WindowNoState);
    QTRY_VERIFY(trace->isRefreshing());
    m_window->hide();
    for (ViewPage *p : m_window->pages())
        QVERIFY2(!p->isRefreshing(), qPrintable(p->id()));
}

void tst_MonitorGui::globalPauseStopsRefreshing()
{
    ViewPage *current = m_window->currentPage();
    m_window->setPaused(true);
    QVERIFY(m_window->isPaused());
    QVERIFY(m_client->isPaused());
    for (ViewPage *p : m_window->pages())
        QVERIFY(!p->isRefreshing());
    m_window->showPage(m_window->rateView());
    QVERIFY(!m_window->rateView()->isRefreshing());
    m_window->setPaused(false);
    QVERIFY(m_window->rateView()->isRefreshing());
    QVERIFY(!current->isRefreshing());
}

void tst_MonitorGui::refreshIntervalIsPerView()
{
    m_window->processView()->setRefreshInterval(2000);
    m_window->traceView()->setRefreshInterval(250);
    QCOMPARE(m_window->processView()->refreshInterval(), 2000);
    QCOMPARE(m_window->traceView()->refreshInterval(), 250);
}

void tst_MonitorGui::flowWidgetEmptyAndLanes()
{
    FlowWidget flow;
    flow.resize(800, 300);
    flow.show();
    QVERIFY(QTest::qWaitForWindowExposed(&flow));
    QCOMPARE(flow.laneCount(), 0);

    const qint64 now = 1'700'000'000'000;
    FlowViewLane lane;
    lane.label = u"worker 0 · 4242"_s;
    lane.group = u"h1"_s;
    lane.pid = 4242;
    FlowViewBar bar;
    bar.endTime = now - 1000;
    bar.intervalMs = 250;
    bar.add(MessageKind::Call, 12, 1200);
    bar.entries.append({MessageKind::Call, 0x10, 12, 1200});
    lane.bars.append(bar);
    lane.marks.append({now - 2000, MessageKind::Broadcast, 0x12, u"invalidate"_s, 7, 0});
    flow.setLanes({lane, lane}, now);
    QCOMPARE(flow.laneCount(), 2);
    QVERIFY(flow.sizeHint().height() > 100);
    const QImage image = flow.grab().toImage();   // paints without crashing
    QVERIFY(!image.isNull());
}

void tst_MonitorGui::presentationFormats()
{
    QCOMPARE(Presentation::kindColor(u"call"_s), Presentation::kindColor(u"call"_s));
    QVERIFY(Presentation::kindColor(u"call"_s) != Presentation::kindColor(u"reply"_s));
    QCOMPARE(Presentation::kinds().size(), 7);
    QCOMPARE(Presentation::ago(-1), u"-"_s);
    QCOMPARE(Presentation::ago(10), u"just now"_s);
    QCOMPARE(Presentation::opcode(0x10), u"0x0010"_s);
    QCOMPARE(Presentation::opcode(0x10, u"work"_s), u"work (0x0010)"_s);
}

void tst_MonitorGui::traceExportDoesNotBlock()
{
    // Neither the file dialog nor the error box runs a nested event loop: both calls
    // return with the dialog open (a blocking one would never return here).
    TraceView *trace = m_window->traceView();
    m_window->showPage(trace);
    QAction *exportAction = nullptr;
    for (QAction *a : trace->findChildren<QAction *>()) {
        if (a->text().startsWith(u"Export"_s))
            exportAction = a;
    }
    QVERIFY(exportAction);
    exportAction->trigger();
    QFileDialog *dialog = trace->findChild<QFileDialog *>();
    QVERIFY(dialog);
    QVERIFY(dialog->isVisible());
    QCOMPARE(dialog->acceptMode(), QFileDialog::AcceptSave);
    dialog->reject();

    QVERIFY(!trace->exportTo(u"/nonexistent-dir-of-tst_monitorgui/trace.csv"_s));
    QMessageBox *box = trace->findChild<QMessageBox *>();
    QVERIFY(box);
    QVERIFY(box->isVisible());
    QVERIFY(box->text().contains(u"nonexistent-dir-of-tst_monitorgui"_s));
    box->accept();
    QVERIFY(!trace->exportTo(u"/nonexistent-dir-of-tst_monitorgui/trace.csv"_s, true));
}

void tst_MonitorGui::selectionDoesNotJumpToAnotherProcess()
{
    // Issue 19.1: sorted by PID, worker 0 selected and restarted: its replacement has a new
    // pid; the selection used to move to a neighbour (and Restart with it).
    ClusterState state;
    ProcessView view(&state);
    view.resize(1000, 600);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.treeView()->sortByColumn(ProcessTreeModel::PidColumn, Qt::AscendingOrder);
    state.applySnapshot(machine(M1, {101, 102, 103}), T0);
    view.refreshNow();
    const QModelIndex worker0 = viewIndexOf(&view, {M1, 101});
    QVERIFY(worker0.isValid());
    view.treeView()->setCurrentIndex(worker0);
    QCOMPARE(view.selectedProcess(), (ProcessKey{M1, 101}));
    QVERIFY(view.restartAction()->isEnabled());
    QVERIFY(view.restartAction()->toolTip().contains(u"101"_s));

    // Worker 0 restarted: pid 104 (sorts last) in slot 0.
    state.applySnapshot(machine(M1, {104, 102, 103}), T0 + 1000);
    view.refreshNow();
    QCOMPARE(view.selectedProcess(), ProcessKey());
    QVERIFY(!view.treeView()->currentIndex().isValid());
    QVERIFY(view.treeView()->selectionModel()->selectedRows().isEmpty());
    QVERIFY(!view.restartAction()->isEnabled());

    // A process that stays keeps its selection whatever else changes around it.
    view.treeView()->setCurrentIndex(viewIndexOf(&view, {M1, 103}));
    state.applySnapshot(machine(M1, {104, 99, 103}), T0 + 2000);   // 99 sorts first now
    view.refreshNow();
    QCOMPARE(view.selectedProcess(), (ProcessKey{M1, 103}));
    QCOMPARE(view.treeView()->currentIndex().data(PidRole).toLongLong(), 103);
    QVERIFY(view.restartAction()->isEnabled());
}

void tst_MonitorGui::selectionClearsWhenTheFilterHidesIt()
{
    ClusterState state;
    ProcessView view(&state);
    view.resize(1000, 600);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    state.applySnapshot(machine(M1, {101, 102, 103}), T0);
    view.refreshNow();
    view.treeView()->setCurrentIndex(viewIndexOf(&view, {M1, 101}));
    QCOMPARE(view.selectedProcess(), (ProcessKey{M1, 101}));

    view.setFilter(u"^10[23]$"_s);   // hides pid 101 (and keeps the parents of 102, 103)
    QVERIFY(!viewIndexOf(&view, {M1, 101}).isValid());
    QVERIFY(viewIndexOf(&view, {M1, 102}).isValid());
    QCOMPARE(view.selectedProcess(), ProcessKey());
    QVERIFY(view.treeView()->selectionModel()->selectedRows().isEmpty());
    QVERIFY(!view.restartAction()->isEnabled());

    // A filter that keeps the selected process keeps it selected.
    view.setFilter(QString());
    view.treeView()->setCurrentIndex(viewIndexOf(&view, {M1, 103}));
    view.setFilter(u"^10[13]$"_s);
    QCOMPARE(view.selectedProcess(), (ProcessKey{M1, 103}));
    QVERIFY(view.restartAction()->isEnabled());
}

void tst_MonitorGui::restartDisabledUnlessAllowed()
{
    ClusterState state;
    ProcessView view(&state);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    MachineSnapshot s = machine(M1, {101, 102});
    s.processes[2].state = ProcessState::Starting;
    state.applySnapshot(s, T0);
    view.refreshNow();

    view.treeView()->setCurrentIndex(viewIndexOf(&view, {M1, 101}));
    QVERIFY(view.restartAction()->isEnabled());
    view.treeView()->setCurrentIndex(viewIndexOf(&view, {M1, 102}));   // not running
    QVERIFY(!view.restartAction()->isEnabled());
    view.treeView()->setCurrentIndex(viewIndexOf(&view, {M1, 100}));   // the master
    QVERIFY(!view.restartAction()->isEnabled());
    view.treeView()->setCurrentIndex(view.treeView()->model()->index(0, 0));   // the machine
    QVERIFY(!view.restartAction()->isEnabled());

    // A master without remote control refuses: the action says so instead of asking.
    state.applySnapshot(machine(M1, {101, 102}, false), T0 + 1000);
    view.refreshNow();
    view.treeView()->setCurrentIndex(viewIndexOf(&view, {M1, 101}));
    QCOMPARE(view.selectedProcess(), (ProcessKey{M1, 101}));
    QVERIFY(!view.restartAction()->isEnabled());
    QVERIFY(view.restartAction()->toolTip().contains(u"remote control"_s));
}

void tst_MonitorGui::restartConfirmationNamesItsTarget()
{
    stateOf(m_client.get())->applySnapshot(machine(M1, {101, 102}), T0);
    ProcessView *view = m_window->processView();
    m_window->showPage(view);
    view->refreshNow();
    view->treeView()->setCurrentIndex(viewIndexOf(view, {M1, 102}));
    QVERIFY(view->restartAction()->isEnabled());
    view->restartAction()->trigger();
    QMessageBox *box = m_window->findChild<QMessageBox *>();
    QVERIFY(box);
    QVERIFY(box->isVisible());
    const QString text = box->text() + box->informativeText();
    QVERIFY2(text.contains(u"0x00000000000000a1"_s), qPrintable(text));
    QVERIFY2(text.contains(u"pid 102"_s), qPrintable(text));
    QVERIFY2(text.contains(u"slot 1"_s), qPrintable(text));
    box->reject();
}

void tst_MonitorGui::machinesViewOnNats()
{
    // Issue 18.6: on NATS there is no master's address to type; the hint says where the
    // masters come from, and no password of the URL reaches the screen.
    DiscoveryView *view = m_window->discoveryView();
    QVERIFY(view->addressEnabled());
    ClientOptions options;
    options.natsUrl = u"nats://alice:hunter2@10.0.0.5:4222,bob:pw2@10.0.0.6:4222"_s;
    const QString shown = MonitorClientPrivate::brokerServersOf(options);
    QCOMPARE(shown, u"nats://10.0.0.5:4222,10.0.0.6:4222"_s);
    view->setBroker(shown);
    QVERIFY(!view->addressEnabled());
    const QList<QLabel *> labels = view->findChildren<QLabel *>();
    bool hinted = false;
    for (const QLabel *l : labels) {
        QVERIFY(!l->text().contains(u"hunter2"_s));
        hinted = hinted || l->text().contains(u"on NATS (nats://10.0.0.5:4222,10.0.0.6:4222)"_s);
    }
    QVERIFY(hinted);
}

void tst_MonitorGui::windowTitleNamesTheApplicationOnce()
{
    // Issue 19.6: "Plexus Monitor — 2 machine(s) — Plexus Monitor" on X11, where the
    // platform appends the display name to a title that does not end with it.
    const QString displayName = u"Plexus Monitor"_s;
    const QString before = QGuiApplication::applicationDisplayName();
    QGuiApplication::setApplicationDisplayName(displayName);
    const auto restore = qScopeGuard([&] { QGuiApplication::setApplicationDisplayName(before); });

    stateOf(m_client.get())->applySnapshot(machine(M1, {101}), T0);
    stateOf(m_client.get())->applySnapshot(machine(0xB2, {201}), T0);
    Q_EMIT m_client->stateChanged();
    const QString title = m_window->windowTitle();
    QCOMPARE(title, u"2 machines — Plexus Monitor"_s);
    QVERIFY(title.endsWith(displayName));   // so the platform appends nothing
    QCOMPARE(title.count(displayName), 1);
    QCOMPARE(MainWindow::titleFor(1), u"1 machine — Plexus Monitor"_s);
    QCOMPARE(MainWindow::titleFor(0), displayName);
}

void tst_MonitorGui::traceExportWritesWhatTheFiltersShow()
{
    // Issue 19.4: 486 rows shown, 10,000 exported. Export writes the rows the filters show.
    ClusterState state;
    TraceView view(&state);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    state.applyTrace(traceBatch(M1, 40), T0);
    view.refreshNow();
    QCOMPARE(view.model()->rowCount(), 40);
    view.setKindFilter(int(MessageKind::Reply));
    QCOMPARE(view.shownRows(), 20);
    // The Id column (hex): 0x0, 0x2, 0x10, 0x12 are calls: none is a reply...
    view.setFilter(u"^0x1?[02]$"_s);
    QCOMPARE(view.shownRows(), 0);
    view.setFilter(u"^0x1?[13]$"_s);   // ...while 0x1, 0x3, 0x11, 0x13 are
    const int shown = view.shownRows();
    QCOMPARE(shown, 4);

    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QVERIFY(view.exportTo(dir.filePath(u"trace.csv"_s), true));
    QFile csv(dir.filePath(u"trace.csv"_s));
    QVERIFY(csv.open(QIODevice::ReadOnly));
    const QList<QByteArray> lines = csv.readAll().trimmed().split('\n');
    QCOMPARE(lines.size(), shown + 1);   // the header, then the rows shown
    for (qsizetype i = 1; i < lines.size(); ++i)
        QVERIFY2(lines.at(i).contains(",reply,512,"), lines.at(i).constData());

    QVERIFY(view.exportTo(dir.filePath(u"trace.json"_s), true));
    QFile json(dir.filePath(u"trace.json"_s));
    QVERIFY(json.open(QIODevice::ReadOnly));
    const QJsonArray array = QJsonDocument::fromJson(json.readAll()).array();
    QCOMPARE(array.size(), shown);
    QStringList ids;
    for (const QJsonValue &v : array)
        ids.append(v[u"id"_s].toString());
    QCOMPARE(ids, QStringList({u"0x1"_s, u"0x3"_s, u"0x11"_s, u"0x13"_s}));

    // No filter: every row.
    view.setKindFilter(-1);
    view.setFilter(QString());
    QVERIFY(view.exportTo(dir.filePath(u"all.json"_s), true));
    QFile all(dir.filePath(u"all.json"_s));
    QVERIFY(all.open(QIODevice::ReadOnly));
    QCOMPARE(QJsonDocument::fromJson(all.readAll()).array().size(), 40);
}

void tst_MonitorGui::traceEmptyViewSaysWhy()
{
    ClusterState state;
    TraceView view(&state);
    view.resize(900, 500);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    auto *empty = view.view()->findChild<EmptyOverlay *>();
    QVERIFY(empty);
    view.refreshNow();
    QTRY_VERIFY(empty->isVisible());
    QVERIFY2(empty->text().contains(u"No messages traced yet"_s), qPrintable(empty->text()));

    state.applyTrace(traceBatch(M1, 10), T0);
    view.refreshNow();
    QTRY_VERIFY(!empty->isVisible());

    // Rows there, the filters hide them all: the overlay says so, and what the filter is.
    view.setKindFilter(int(MessageKind::Broadcast));
    QCOMPARE(view.shownRows(), 0);
    QTRY_VERIFY(empty->isVisible());
    QVERIFY2(empty->text().contains(u"No row matches the filter"_s), qPrintable(empty->text()));
    QVERIFY2(empty->text().contains(u"broadcast"_s), qPrintable(empty->text()));
    QVERIFY2(empty->text().contains(u"10"_s), qPrintable(empty->text()));
    view.setKindFilter(-1);
    view.setFilter(u"no-such-thing"_s);
    QTRY_VERIFY(empty->isVisible());
    QVERIFY2(empty->text().contains(u"no-such-thing"_s), qPrintable(empty->text()));
    view.setFilter(QString());
    QTRY_VERIFY(!empty->isVisible());

    // Cleared: nothing traced (since the clear) again.
    view.model()->clear();
    view.refreshNow();
    QTRY_VERIFY(empty->isVisible());
    QVERIFY2(empty->text().contains(u"No messages traced yet"_s), qPrintable(empty->text()));
}

void tst_MonitorGui::chartAxesAreHuman()
{
    using ChartAxes::Tick;
    const auto labels = [](const QList<Tick> &ticks) {
        QStringList out;
        for (const Tick &t : ticks)
            out.append(t.label);
        return out;
    };
    QCOMPARE(labels(ChartAxes::rateTicks(400, false)),
             QStringList({u"0"_s, u"100/s"_s, u"200/s"_s, u"300/s"_s, u"400/s"_s}));
    QCOMPARE(labels(ChartAxes::rateTicks(1500, false)),
             QStringList({u"0"_s, u"0.5k/s"_s, u"1.0k/s"_s, u"1.5k/s"_s}));
    QCOMPARE(ChartAxes::rateTicks(1500, false).back().value, 1500.0);
    QCOMPARE(labels(ChartAxes::rateTicks(2.5e6, false)).back(), u"2.5M/s"_s);
    QCOMPARE(labels(ChartAxes::rateTicks(7e6, false)).back(), u"8M/s"_s);
    QCOMPARE(labels(ChartAxes::rateTicks(3 * 1024 * 1024, true)),
             QStringList({u"0"_s, u"1 MiB/s"_s, u"2 MiB/s"_s, u"3 MiB/s"_s}));
    QCOMPARE(labels(ChartAxes::rateTicks(90 * 1024, true)).back(), u"100 KiB/s"_s);
    QCOMPARE(labels(ChartAxes::rateTicks(0, false)).back(), u"5/s"_s);   // nothing yet
    QCOMPARE(labels(ChartAxes::rateTicks(0.3, false)).back(), u"0.3/s"_s);

    // Clock times at round moments: every 10 s over a minute, 2 min over 10, 10 min over 1 h.
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const struct { qint64 range, step; QString format; } cases[] = {
        {60'000, 10'000, u"HH:mm:ss"_s}, {600'000, 120'000, u"HH:mm"_s},
        {3'600'000, 600'000, u"HH:mm"_s}};
    for (const auto &c : cases) {
        const QList<Tick> ticks = ChartAxes::timeTicks(now, c.range);
        QVERIFY(ticks.size() >= 5 && ticks.size() <= 7);
        for (qsizetype i = 0; i < ticks.size(); ++i) {
            const Tick &t = ticks.at(i);
            QVERIFY(t.value >= double(now - c.range) && t.value <= double(now));
            if (i > 0)
                QCOMPARE(t.value - ticks.at(i - 1).value, double(c.step));
            const QDateTime at = QDateTime::fromMSecsSinceEpoch(qint64(t.value));
            QCOMPARE(t.label, at.toString(c.format));
            QCOMPARE(at.time().msec(), 0);
            QCOMPARE((at.time().minute() * 60 + at.time().second()) * 1000 % c.step, 0);
        }
    }
}

void tst_MonitorGui::rateChartsHaveTimeAndUnits()
{
    // Issue 19.10: the rate charts had no time labels and bare numbers on the value axis.
    ClusterState state;
    RateView view(&state);
    view.resize(1000, 700);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    for (int i = 0; i < 3; ++i) {
        MachineSnapshot s = machine(M1, {101});
        s.time = now - 3000 + i * 1000;
        s.processes[0].counters.messagesIn = quint64(i) * 2500;   // 2.5k/s
        s.processes[0].counters.bytesIn = quint64(i) * 3 * 1024 * 1024;   // 3 MiB/s
        state.applySnapshot(s, s.time);
    }
    view.refreshNow();
    QCOMPARE(view.seriesCount(), 2);
    const QStringList time = view.timeLabels();
    QVERIFY2(time.size() >= 5, qPrintable(time.join(u' ')));
    for (const QString &label : time)
        QVERIFY2(QTime::fromString(label, u"HH:mm:ss"_s).isValid(), qPrintable(label));
    QVERIFY2(view.messageRateLabels().last().endsWith(u"k/s"_s),
             qPrintable(view.messageRateLabels().join(u' ')));
    QVERIFY2(view.byteRateLabels().last().endsWith(u" MiB/s"_s),
             qPrintable(view.byteRateLabels().join(u' ')));
    view.setRangeMs(3'600'000);
    view.refreshNow();
    for (const QString &label : view.timeLabels())
        QVERIFY2(QTime::fromString(label, u"HH:mm"_s).isValid(), qPrintable(label));
}

void tst_MonitorGui::processDetailHasARateChart()
{
    ClusterState state;
    ProcessView view(&state);
    view.resize(1000, 700);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    for (int i = 0; i < 4; ++i) {
        MachineSnapshot s = machine(M1, {101, 102});
        s.time = now - 4000 + i * 1000;
        s.processes[1].counters.messagesIn = quint64(i) * 40;   // worker 0: 40/s in
        state.applySnapshot(s, s.time);
    }
    view.refreshNow();
    ProcessChart *chart = view.detail()->chart();
    QVERIFY(!chart->isVisible());   // nothing selected
    view.treeView()->setCurrentIndex(viewIndexOf(&view, {M1, 101}));
    QVERIFY(chart->isVisible());
    QCOMPARE(chart->pointCount(), 3);
    QCOMPARE(chart->rateLabels().last(), u"40/s"_s);

    RateHistory history;
    for (int i = 0; i < 200; ++i)   // more than the chart's range: only its last 2 min
        history.append(now - 199'000 + i * 1000, Rates{1e6, 0, 0, 0});
    chart->setHistory(&history, now);
    QVERIFY(chart->pointCount() >= 110 && chart->pointCount() <= 121);
    QCOMPARE(chart->rateLabels().last(), u"1.0M/s"_s);
    chart->setHistory(nullptr, now);
    QCOMPARE(chart->pointCount(), 0);
}

QTEST_MAIN(tst_MonitorGui)
#include "tst_monitorgui.moc"
