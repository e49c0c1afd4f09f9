// SPDX-License-Identifier: MIT
#pragma once

#include <QtCore/qhash.h>
#include <QtCore/qlist.h>
#include <QtWidgets/qwidget.h>

namespace PlexusMonitor::Gui {

/*! Messages a process sent in one trace interval, by kind (the trace aggregates). */
struct FlowViewBar
{
    qint64 endTime = 0;        //!< ms since the epoch, end of the interval
    qint64 intervalMs = 250;
    QHash<QString, quint64> countByKind;
    QHash<QString, quint64> bytesByKind;
    QHash<quint32, quint64> countByOpcode;
    quint64 total() const;
};

/*! One sampled message header. */
struct FlowViewMark
{
    qint64 time = 0;
    QString kind;
    quint32 opcode = 0;
    QString opcodeName;
    quint64 size = 0;
    qint64 to = 0;             //!< receiving pid, 0: another machine
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

protected:
    bool event(QEvent *event) override;
    void paintEvent(QPaintEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;

private:
    struct Hit { int lane = -1; int bar = -1; int mark = -1; };
    Hit hitTest(const QPoint &pos) const;
    void layoutLanes();
    QRectF plotRect() const;
    qreal xFor(qint64 time) const;
    int laneTop(int lane) const;
    QString barToolTip(const FlowViewLane &lane, const FlowViewBar &bar) const;
    QString markToolTip(const FlowViewLane &lane, const FlowViewMark &mark) const;

    QList<FlowViewLane> m_lanes;
    QList<int> m_laneTops;
    int m_laneHeight = 30;
    qint64 m_now = 0;
    qint64 m_windowMs = 30'000;
    quint64 m_maxCount = 1;
    QString m_emptyText;
    QHash<quint32, QString> m_opcodeNames;
};

} // namespace PlexusMonitor::Gui
