// SPDX-License-Identifier: MIT
#pragma once

#include "flowhistory.h"

#include <QtCore/qelapsedtimer.h>
#include <QtCore/qhash.h>
#include <QtCore/qlist.h>
#include <QtCore/qtimer.h>
#include <QtGui/qcolor.h>
#include <QtGui/qimage.h>
#include <QtWidgets/qwidget.h>

#include <array>

QT_BEGIN_NAMESPACE
class QPainter;
QT_END_NAMESPACE

namespace PlexusMonitor::Gui {

/*! Messages a process sent in one trace interval, by kind (the trace aggregates). Plain
    arrays rather than hash tables: a 5-minute window holds tens of thousands of bars. */
struct FlowViewBar
{
    static constexpr int KindSlots = MessageKindCount + 1;   // the known kinds and Unknown

    qint64 endTime = 0;        //!< ms since the epoch, end of the interval
    qint64 intervalMs = 250;
    std::array<quint64, KindSlots> countByKind = {};   //!< by MessageKind
    std::array<quint64, KindSlots> bytesByKind = {};
    quint64 count = 0;         //!< the sum of countByKind
    QList<FlowEntry> entries;  //!< by kind and op-code (shared with the history), for tooltips

    void add(MessageKind kind, quint64 messages, quint64 bytes);
    quint64 total() const { return count; }
};

/*! One sampled message header. */
struct FlowViewMark
{
    qint64 time = 0;
    MessageKind kind = MessageKind::Unknown;
    quint32 opcode = 0;
    QString opcodeName;
    quint64 size = 0;
    qint64 to = 0;             //!< receiving pid, 0: another machine
    quint64 seq = 0;           //!< the trace sequence number; 0: unknown (drawn on full redraws only)
};

/*! A process and what it sent. */
struct FlowViewLane
{
    QString label;             //!< "master 1234" / "worker 1 · 1236"
    QString group;             //!< the machine, drawn as a heading above its lanes
    qint64 pid = 0;
    QList<FlowViewBar> bars;       //!< oldest first
    QList<FlowViewMark> marks;
};

/*!
    \class PlexusMonitor::Gui::FlowWidget
    The message-flow view: one lane per process, the recent past from left to right ("now"
    at the right edge). Each trace interval is a bar stacked by kind (height: messages in the
    interval, square-root scale so quiet processes stay visible), sampled headers are marks
    above it. Hovering shows kind, op-code and size (QEvent::ToolTip).

    The lanes are drawn into a cached image that scrolls: each setLanes() moves it left by
    the time that passed and draws only what is new (bars that ended since the last call,
    marks with a higher sequence number). The whole image is drawn again only when the
    size, the time window, the lanes or the bar scale change. The scale is rounded up to a
    power of two and shrinks only when the tallest bar falls below a quarter of it, so it
    rarely changes. Repaints are coalesced: at most one per MinRepaintIntervalMs, none when
    nothing changed.
*/
class FlowWidget : public QWidget
{
    Q_OBJECT
public:
    explicit FlowWidget(QWidget *parent = nullptr);

    void setLanes(const QList<FlowViewLane> &lanes, qint64 now);
    int laneCount() const { return int(m_lanes.size()); }
    void setWindowMs(qint64 msec);
    qint64 windowMs() const { return m_windowMs; }
    void setEmptyText(const QString &text);
    /*! Display names of op-codes, for the tooltips. */
    void setOpcodeNames(const QHash<quint32, QString> &names) { m_opcodeNames = names; }

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

    static constexpr int MinRepaintIntervalMs = 250;

    /*! How often the cached image was drawn whole, and how often only a new slice was
        added to it (for tests and --stats). */
    quint64 fullRedrawCount() const { return m_fullRedraws; }
    quint64 sliceRedrawCount() const { return m_sliceRedraws; }
    /*! How often paintEvent() ran. */
    quint64 paintCount() const { return m_paints; }
    /*! A repaint waits for MinRepaintIntervalMs to pass. */
    bool isRepaintScheduled() const { return m_repaintTimer.isActive(); }
    /*! The full height of the bars, in messages per interval (a power of two). */
    quint64 barScale() const { return m_scale; }

protected:
    bool event(QEvent *event) override;
    void paintEvent(QPaintEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;

private:
    struct Hit { int lane = -1; int bar = -1; int mark = -1; };
    Hit hitTest(const QPoint &pos) const;
    void layoutLanes();
    QRectF plotRect() const;
    int plotWidth() const;
    qreal xFor(qint64 time) const;
    qint64 endColumn(qint64 now) const;
    int laneTop(int lane) const;
    QString barToolTip(const FlowViewLane &lane, const FlowViewBar &bar) const;
    QString markToolTip(const FlowViewLane &lane, const FlowViewMark &mark) const;

    // The cached image (flowwidget.cpp).
    bool updateCache(qint64 previousNow);
    void redrawCache();
    void scrollCache(int dx);
    void drawLaneBackgrounds(QPainter &p, int x0, int x1) const;
    void drawBar(QPainter &p, int lane, const FlowViewBar &bar) const;
    void drawMarks(QPainter &p, int lane, quint64 afterSeq);
    void drawStatic(QPainter &p) const;
    void drawOverlay(QPainter &p) const;
    void scheduleRepaint();

    QList<FlowViewLane> m_lanes;
    QList<int> m_laneTops;
    int m_laneHeight = 30;
    qint64 m_now = 0;
    qint64 m_windowMs = 30'000;
    quint64 m_scale = 1;
    QString m_emptyText;
    QHash<quint32, QString> m_opcodeNames;

    QImage m_cache;               // the whole widget but the grid: static parts and lanes
    bool m_cacheValid = false;
    qint64 m_cacheEndColumn = 0;  // the absolute pixel column at the plot's right edge
    qint64 m_cacheWindowMs = 0;
    quint64 m_markSeq = 0;        // marks up to this sequence number are in the image
    QList<std::array<qint64, FlowViewBar::KindSlots>> m_lastMarkCell;
    std::array<QColor, FlowViewBar::KindSlots> m_kindColors;   // per lane and kind: the last 3-px cell marked
    quint64 m_fullRedraws = 0;
    quint64 m_sliceRedraws = 0;
    quint64 m_paints = 0;
    QTimer m_repaintTimer;
    QElapsedTimer m_sinceRepaint;
};

} // namespace PlexusMonitor::Gui
