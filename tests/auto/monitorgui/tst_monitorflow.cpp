// SPDX-License-Identifier: MIT
//
// The Flow view under load (issue 19.12): the widget's cached image only scrolls and gets
// the new slice when new bars arrive, is drawn whole only when the size, the window or the
// lanes change, repaints are coalesced, and the flow history stays bounded under a flood.

#include "flowhistory.h"
#include "flowwidget.h"

#include <QtTest/qtest.h>

using namespace PlexusMonitor;
using namespace PlexusMonitor::Gui;
using namespace Qt::StringLiterals;

namespace {

constexpr qint64 T0 = 1'700'000'000'000;

FlowViewBar bar(qint64 endTime, quint64 calls, quint64 replies)
{
    FlowViewBar b;
    b.endTime = endTime;
    b.intervalMs = 250;
    b.add(MessageKind::Call, calls, calls * 16);
    b.add(MessageKind::Reply, replies, replies * 8);
    b.entries = {{MessageKind::Call, 0x100, calls, calls * 16},
                 {MessageKind::Reply, 0x100, replies, replies * 8}};
    return b;
}

// Two lanes on one machine, one bar per 250 ms up to \a now.
QList<FlowViewLane> lanes(qint64 now, int bars)
{
    QList<FlowViewLane> out;
    for (int l = 0; l < 2; ++l) {
        FlowViewLane lane;
        lane.group = u"host-a1"_s;
        lane.pid = 100 + l;
        lane.label = l == 0 ? u"master · 100"_s : u"worker 0 · 101"_s;
        for (int i = bars - 1; i >= 0; --i) {
            const qint64 end = now - qint64(i) * 250;   // a bar's size depends on its time only
            lane.bars.append(bar(end, 40 + quint64((end / 250 * 7) % 50), 20));
        }
        out.append(lane);
    }
    return out;
}

TraceBatch floodBatch(quint64 machine, int aggregates)
{
    TraceBatch b;
    b.machine = machine;
    b.intervalMs = 250;
    for (int i = 0; i < aggregates; ++i) {
        // A quarter of what a master reports was sent by another machine's processes.
        const quint64 from = i % 4 == 3 ? machine + 1 : 0;
        b.aggregates.append({100 + i % 5, from, MessageKind(i % 3), quint32(0x100 + i), 10, 100});
    }
    return b;
}

} // namespace

class tst_MonitorFlow : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void flowWidgetDrawsOnlyTheNewSlice();
    void flowWidgetRepaintsAreCoalesced();
    void flowWidgetScaleMovesInPowersOfTwo();
    void flowHistoryBoundedUnderFlood();
};

void tst_MonitorFlow::flowWidgetDrawsOnlyTheNewSlice()
{
    FlowWidget flow;
    flow.resize(900, 300);
    flow.show();
    QVERIFY(QTest::qWaitForWindowExposed(&flow));
    qint64 now = T0;
    int bars = 40;
    flow.setLanes(lanes(now, bars), now);
    const quint64 full = flow.fullRedrawCount();
    QVERIFY(full >= 1);

    // New slices: the image scrolls, nothing is drawn whole again.
    for (int i = 0; i < 10; ++i) {
        now += 250;
        flow.setLanes(lanes(now, ++bars), now);
    }
    QCOMPARE(flow.fullRedrawCount(), full);
    QCOMPARE(flow.sliceRedrawCount(), 10u);

    // What the scrolled image shows is what a full redraw of the same lanes shows.
    FlowWidget fresh;
    fresh.resize(flow.size());
    fresh.show();
    QVERIFY(QTest::qWaitForWindowExposed(&fresh));
    fresh.setLanes(lanes(now, bars), now);
    const QImage scrolled = flow.grab().toImage();
    const QImage whole = fresh.grab().toImage();
    QCOMPARE(scrolled, whole);

    // A new time window, a new lane, a new size: drawn whole.
    flow.setWindowMs(60'000);
    QCOMPARE(flow.fullRedrawCount(), full + 1);
    QList<FlowViewLane> more = lanes(now, bars);
    more.append(more.last());
    more.last().pid = 102;
    more.last().label = u"worker 1 · 102"_s;
    flow.setLanes(more, now);
    QCOMPARE(flow.fullRedrawCount(), full + 2);
    flow.resize(1000, 320);
    flow.setLanes(more, now + 250);
    QCOMPARE(flow.fullRedrawCount(), full + 3);
}

void tst_MonitorFlow::flowWidgetRepaintsAreCoalesced()
{
    FlowWidget flow;
    flow.resize(900, 300);
    flow.show();
    QVERIFY(QTest::qWaitForWindowExposed(&flow));
    qint64 now = T0;
    flow.setLanes(lanes(now, 20), now);
    QTRY_VERIFY(!flow.isRepaintScheduled());
    QTRY_VERIFY(flow.paintCount() >= 1);
    const quint64 paints = flow.paintCount();

    // A burst of updates: at most the leading repaint and the trailing one.
    for (int i = 0; i < 20; ++i) {
        now += 50;
        flow.setLanes(lanes(now, 20), now);
    }
    QTRY_VERIFY(flow.paintCount() > paints);
    QTRY_VERIFY(!flow.isRepaintScheduled());
    QCoreApplication::processEvents();
    QVERIFY2(flow.paintCount() - paints <= 2, qPrintable(QString::number(flow.paintCount() - paints)));

    // Nothing new, no time passed: no slice drawn, no repaint asked for.
    const quint64 slices = flow.sliceRedrawCount();
    flow.setLanes(lanes(now, 20), now);
    QCOMPARE(flow.sliceRedrawCount(), slices);
    QVERIFY(!flow.isRepaintScheduled());
}

void tst_MonitorFlow::flowWidgetScaleMovesInPowersOfTwo()
{
    FlowWidget flow;
    flow.resize(900, 300);
    flow.show();
    QVERIFY(QTest::qWaitForWindowExposed(&flow));
    QList<FlowViewLane> l = lanes(T0, 4);
    l[0].bars[0] = bar(T0 - 750, 900, 100);   // 1000 messages: full height 1024
    flow.setLanes(l, T0);
    QCOMPARE(flow.barScale(), 1024u);
    const quint64 full = flow.fullRedrawCount();
    l[0].bars[0] = bar(T0 - 750, 500, 100);   // 600: still within the scale
    flow.setLanes(l, T0 + 250);
    QCOMPARE(flow.barScale(), 1024u);
    QCOMPARE(flow.fullRedrawCount(), full);
    l[0].bars[0] = bar(T0 - 750, 2000, 100);  // taller: a new scale, drawn whole
    flow.setLanes(l, T0 + 500);
    QCOMPARE(flow.barScale(), 4096u);
    QCOMPARE(flow.fullRedrawCount(), full + 1);
}

void tst_MonitorFlow::flowHistoryBoundedUnderFlood()
{
    // 8 machines, 4 batches a second each, 60 aggregates per batch, for 10 minutes.
    FlowHistory history;
    qint64 now = T0;
    for (int tick = 0; tick < 10 * 60 * 4; ++tick) {
        now += 250;
        for (quint64 m = 1; m <= 8; ++m)
            history.add(floodBatch(m * 16, 60), now);
        QVERIFY(history.entryCount() <= FlowHistory::DefaultMaxEntries);
    }
    // Five minutes kept at most: 8 x 4 x 300 batches of 60.
    QVERIFY(history.entryCount() <= 8 * 4 * 300 * 60);
    const QList<FlowLane> kept = history.lanes(0);
    QCOMPARE(kept.size(), 8 * 5);
    for (const FlowLane &lane : kept) {
        QVERIFY(lane.buckets.size() <= 4 * 300 + 1);
        QVERIFY(lane.buckets.first().time >= now - FlowHistory::DefaultKeepMs);
        // What other machines' processes sent is not in this machine's lanes.
        for (const FlowEntry &e : lane.buckets.first().entries)
            QVERIFY((e.opcode - 0x100) % 4 != 3);
    }
    // The window asked for: only its buckets.
    const QList<FlowLane> recent = history.lanes(now - 30'000);
    QCOMPARE(recent.first().buckets.size(), 4 * 30 + 1);

    // A tighter bound holds too, whatever one batch brings.
    FlowHistory small(60'000, 500);
    for (int i = 0; i < 100; ++i)
        small.add(floodBatch(16, 120), T0 + i);
    QVERIFY(small.entryCount() <= 500);
    small.add(floodBatch(16, 2000), T0 + 200);
    QCOMPARE(small.entryCount(), 500);
}

QTEST_MAIN(tst_MonitorFlow)
#include "tst_monitorflow.moc"
