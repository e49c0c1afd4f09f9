// SPDX-License-Identifier: MIT
//
// The monitor's main window without a cluster (the client is not started): every view is
// there, only the current tab refreshes, the global pause stops all of them, and the
// empty states say what to do.

#include "discoveryview.h"
#include "flowview.h"
#include "flowwidget.h"
#include "mainwindow.h"
#include "presentation.h"
#include "processview.h"
#include "rateview.h"
#include "traceview.h"
#include "viewpage.h"

#include "monitorclient.h"

#include <QtGui/qevent.h>
#include <QtTest/qtest.h>
#include <QtWidgets/qfiledialog.h>
#include <QtWidgets/qmessagebox.h>
#include <QtWidgets/qtabwidget.h>
#include <QtWidgets/qtreeview.h>

using namespace Qt::StringLiterals;
using namespace PlexusMonitor;
using namespace PlexusMonitor::Gui;

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
    bar.countByKind.insert(u"call"_s, 12);
    bar.bytesByKind.insert(u"call"_s, 1200);
    bar.countByOpcode.insert(0x10, 12);
    lane.bars.append(bar);
    lane.marks.append({now - 2000, u"broadcast"_s, 0x12, u"invalidate"_s, 7, 0});
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

QTEST_MAIN(tst_MonitorGui)
#include "tst_monitorgui.moc"
