// SPDX-License-Identifier: MIT
#include "flowwidget.h"

#include "presentation.h"

#include <QtCore/qdatetime.h>
#include <QtCore/qset.h>
#include <QtGui/qevent.h>
#include <QtGui/qpainter.h>
#include <QtGui/qpainterpath.h>
#include <QtWidgets/qtooltip.h>

#include <algorithm>
#include <cmath>

using namespace Qt::StringLiterals;

namespace PlexusMonitor::Gui {

namespace {
constexpr int LegendHeight = 26;
constexpr int AxisHeight = 22;
constexpr int GroupHeight = 20;
constexpr int MinLaneHeight = 30;
constexpr int MaxLaneHeight = 64;
constexpr int LabelWidth = 190;
constexpr int MarkBand = 7;     // the strip at the top of a lane where sampled marks go
} // namespace

quint64 FlowViewBar::total() const
{
    quint64 sum = 0;
    for (const quint64 c : countByKind)
        sum += c;
    return sum;
}

FlowWidget::FlowWidget(QWidget *parent) : QWidget(parent)
{
    setMouseTracking(true);
    setAttribute(Qt::WA_OpaquePaintEvent);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    m_emptyText = tr("No traffic to show yet.\nConnect to a master (Machines, on the left): "
                     "each process gets a lane here as soon as it sends messages.");
}

void FlowWidget::setLanes(const QList<FlowViewLane> &lanes, qint64 now)
{
    const int oldCount = int(m_lanes.size());
    const bool sameGroups = std::ranges::equal(
            lanes, m_lanes, [](const FlowViewLane &a, const FlowViewLane &b) { return a.group == b.group; });
    m_lanes = lanes;
    m_now = now;
    m_maxCount = 1;
    const qint64 from = m_now - m_windowMs;
    for (const FlowViewLane &lane : m_lanes)
        for (const FlowViewBar &bar : lane.bars)
            if (bar.endTime >= from)
                m_maxCount = std::max(m_maxCount, bar.total());
    layoutLanes();
    if (oldCount != m_lanes.size() || !sameGroups)
        updateGeometry();
    update();
}

void FlowWidget::setWindowMs(qint64 msec)
{
    m_windowMs = std::max<qint64>(msec, 1000);
    setLanes(m_lanes, m_now);
}

void FlowWidget::setEmptyText(const QString &text)
{
    m_emptyText = text;
    update();
}

void FlowWidget::layoutLanes()
{
    // Lanes share the height that is there (between a minimum and a maximum each).
    int groups = 0;
    for (int i = 0; i < m_lanes.size(); ++i)
        groups += i == 0 || m_lanes[i].group != m_lanes[i - 1].group ? 1 : 0;
    const int free = height() - LegendHeight - AxisHeight - 8 - groups * GroupHeight;
    m_laneHeight = m_lanes.isEmpty() ? MinLaneHeight
                                     : std::clamp(free / int(m_lanes.size()), MinLaneHeight, MaxLaneHeight);
    m_laneTops.clear();
    int y = LegendHeight;
    for (int i = 0; i < m_lanes.size(); ++i) {
        if (i == 0 || m_lanes[i].group != m_lanes[i - 1].group)
            y += GroupHeight;
        m_laneTops.append(y);
        y += m_laneHeight;
    }
}

void FlowWidget::resizeEvent(QResizeEvent *event)
{
    QWidget::resizeEvent(event);
    layoutLanes();
}

QSize FlowWidget::sizeHint() const
{
    int groups = 0;
    for (int i = 0; i < m_lanes.size(); ++i)
        groups += i == 0 || m_lanes[i].group != m_lanes[i - 1].group ? 1 : 0;
    const int lanesBottom = m_lanes.isEmpty()
            ? LegendHeight + 120
            : LegendHeight + groups * GroupHeight + int(m_lanes.size()) * MinLaneHeight;
    return QSize(720, lanesBottom + AxisHeight + 4);
}

QSize FlowWidget::minimumSizeHint() const
{
    return QSize(LabelWidth + 200, sizeHint().height());
}

QRectF FlowWidget::plotRect() const
{
    return QRectF(LabelWidth, LegendHeight, std::max(10, width() - LabelWidth - 12),
                  std::max(10, height() - LegendHeight - AxisHeight));
}

qreal FlowWidget::xFor(qint64 time) const
{
    const QRectF r = plotRect();
    return r.left() + r.width() * qreal(time - (m_now - m_windowMs)) / qreal(m_windowMs);
}

int FlowWidget::laneTop(int lane) const
{
    return m_laneTops.value(lane, LegendHeight);
}

void FlowWidget::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    const QPalette pal = palette();
    p.fillRect(rect(), pal.base());
    const QRectF plot = plotRect();
    const QFontMetrics fm = fontMetrics();

    // Legend: the kind colours, the same in the charts and the trace.
    int x = 8;
    for (const QString &kind : Presentation::kinds()) {
        p.setPen(Qt::NoPen);
        p.setBrush(Presentation::kindColor(kind));
        p.drawRoundedRect(QRectF(x, 8, 10, 10), 2, 2);
        p.setPen(pal.color(QPalette::Text));
        p.drawText(QPointF(x + 14, 17), kind);
        x += 14 + fm.horizontalAdvance(kind) + 14;
    }
    const QString scale = tr("bar height: messages per interval (√ scale, max %1)")
                                  .arg(Presentation::count(double(m_maxCount)));
    p.setPen(pal.color(QPalette::PlaceholderText));
    p.drawText(QRectF(x, 4, width() - x - 12, 18), Qt::AlignRight | Qt::AlignVCenter, scale);

    if (m_lanes.isEmpty()) {
        p.setPen(pal.color(QPalette::PlaceholderText));
        p.drawText(rect().adjusted(20, LegendHeight, -20, 0), Qt::AlignCenter | Qt::TextWordWrap,
                   m_emptyText);
        return;
    }

    // Grid: a vertical line every 5 s (10 s, 1 min for longer windows), labels at the bottom.
    const qint64 step = m_windowMs <= 60'000 ? 5'000 : m_windowMs <= 600'000 ? 60'000 : 600'000;
    const qreal bottom = m_laneTops.last() + m_laneHeight;
    QColor grid = pal.color(QPalette::Text);
    grid.setAlpha(28);
    for (qint64 back = 0; back <= m_windowMs; back += step) {
        const qreal gx = xFor(m_now - back);
        p.setPen(grid);
        p.drawLine(QPointF(gx, LegendHeight), QPointF(gx, bottom));
        p.setPen(pal.color(QPalette::PlaceholderText));
        const QString label = back == 0 ? tr("now") : u"−"_s + Presentation::duration(back);
        p.drawText(QRectF(gx - 40, bottom + 2, 80, AxisHeight - 4), Qt::AlignCenter, label);
    }

    QString group;
    for (int i = 0; i < m_lanes.size(); ++i) {
        const FlowViewLane &lane = m_lanes[i];
        const int top = m_laneTops[i];
        if (i == 0 || lane.group != group) {
            group = lane.group;
            QFont bold = font();
            bold.setBold(true);
            p.setFont(bold);
            p.fillRect(QRectF(0, top - GroupHeight, width(), GroupHeight), pal.base());
            p.setPen(pal.color(QPalette::Text));
            p.drawText(QRectF(8, top - GroupHeight, width() - 16, GroupHeight),
                       Qt::AlignLeft | Qt::AlignVCenter, group);
            p.setFont(font());
        }
        const QRectF laneRect(0, top, width(), m_laneHeight);
        if (i % 2)
            p.fillRect(laneRect, pal.alternateBase());
        p.setPen(pal.color(QPalette::Text));
        p.drawText(QRectF(20, top, LabelWidth - 26, m_laneHeight), Qt::AlignLeft | Qt::AlignVCenter,
                   fm.elidedText(lane.label, Qt::ElideRight, LabelWidth - 26));

        p.save();
        p.setClipRect(QRectF(plot.left(), top, plot.width(), m_laneHeight));
        const qreal barBase = top + m_laneHeight - 3;
        const qreal barSpan = m_laneHeight - MarkBand - 5;
        for (const FlowViewBar &bar : lane.bars) {
            const quint64 total = bar.total();
            if (total == 0)
                continue;
            const qreal x0 = xFor(bar.endTime - bar.intervalMs);
            const qreal x1 = xFor(bar.endTime);
            const qreal w = std::max<qreal>(1.5, x1 - x0 - 1);
            const qreal h = std::max<qreal>(2, barSpan * std::sqrt(double(total) / double(m_maxCount)));
            qreal y = barBase;
            for (const QString &kind : Presentation::kinds()) {
                const quint64 c = bar.countByKind.value(kind);
                if (!c)
                    continue;
                const qreal part = h * qreal(c) / qreal(total);
                p.fillRect(QRectF(x0, y - part, w, part), Presentation::kindColor(kind));
                y -= part;
            }
        }
        // A small downward triangle per sampled message ("a message left here"). Under a
        // flood thousands of samples share a few pixels: one triangle per 3-pixel column
        // and kind is all the eye can tell apart, and it keeps a repaint cheap.
        p.setRenderHint(QPainter::Antialiasing);
        QSet<quint64> drawn;
        drawn.reserve(int(plot.width() / 3) + 1);
        for (const FlowViewMark &mark : lane.marks) {
            const qreal mx = xFor(mark.time);
            const quint64 cell = (quint64(std::max<qreal>(0, mx) / 3) << 8) | quint64(qHash(mark.kind) & 0xff);
            if (mx < plot.left() - 3 || drawn.contains(cell))
                continue;
            drawn.insert(cell);
            const QColor color = Presentation::kindColor(mark.kind);
            p.setPen(QPen(color.darker(130), 1));
            p.setBrush(color);
            const QPointF tri[3] = {{mx - 3, top + 2}, {mx + 3, top + 2}, {mx, top + MarkBand}};
            p.drawConvexPolygon(tri, 3);
        }
        p.restore();
    }
    QColor frame = pal.color(QPalette::Mid);
    p.setPen(frame);
    p.drawLine(QPointF(plot.left(), LegendHeight), QPointF(plot.left(), bottom));
}

FlowWidget::Hit FlowWidget::hitTest(const QPoint &pos) const
{
    Hit hit;
    for (int i = 0; i < m_laneTops.size(); ++i)
        if (pos.y() >= m_laneTops[i] && pos.y() < m_laneTops[i] + m_laneHeight)
            hit.lane = i;
    if (hit.lane < 0 || pos.x() < plotRect().left())
        return hit;
    const FlowViewLane &lane = m_lanes[hit.lane];
    qreal best = 5;
    for (int m = 0; m < lane.marks.size(); ++m) {
        const qreal d = std::abs(xFor(lane.marks[m].time) - pos.x());
        if (d < best && pos.y() < m_laneTops[hit.lane] + MarkBand + 4) {
            best = d;
            hit.mark = m;
        }
    }
    if (hit.mark >= 0)
        return hit;
    for (int b = 0; b < lane.bars.size(); ++b) {
        const FlowViewBar &bar = lane.bars[b];
        if (pos.x() >= xFor(bar.endTime - bar.intervalMs) - 1 && pos.x() <= xFor(bar.endTime) + 1)
            hit.bar = b;
    }
    return hit;
}

QString FlowWidget::barToolTip(const FlowViewLane &lane, const FlowViewBar &bar) const
{
    QString html = u"<b>"_s + lane.label.toHtmlEscaped() + u"</b><br/>"_s
            + tr("%1 ms ending %2").arg(bar.intervalMs)
                      .arg(QDateTime::fromMSecsSinceEpoch(bar.endTime).toString(u"HH:mm:ss.zzz"_s))
            + u"<table>"_s;
    for (const QString &kind : Presentation::kinds()) {
        const quint64 c = bar.countByKind.value(kind);
        if (!c)
            continue;
        html += u"<tr><td><span style='color:%1'>■</span> %2</td><td align=right>%3</td>"
                "<td align=right>&nbsp;%4</td></tr>"_s
                        .arg(Presentation::kindColor(kind).name(), kind, Presentation::count(double(c)),
                             Presentation::bytes(double(bar.bytesByKind.value(kind))));
    }
    html += u"</table>"_s;
    QList<std::pair<quint64, quint32>> ops;
    for (auto it = bar.countByOpcode.cbegin(); it != bar.countByOpcode.cend(); ++it)
        ops.append({it.value(), it.key()});
    std::ranges::sort(ops, std::greater<>());
    if (!ops.isEmpty()) {
        html += tr("op-codes:");
        for (qsizetype i = 0; i < std::min<qsizetype>(ops.size(), 4); ++i)
            html += u"<br/>&nbsp;&nbsp;"_s + Presentation::opcode(ops[i].second, m_opcodeNames.value(ops[i].second)).toHtmlEscaped()
                    + u" × "_s + Presentation::count(double(ops[i].first));
    }
    return html;
}

QString FlowWidget::markToolTip(const FlowViewLane &lane, const FlowViewMark &mark) const
{
    return u"<b>%1</b> <span style='color:%2'>■</span> %3<br/>%4: %5<br/>%6: %7<br/>%8: %9<br/>%10"_s
            .arg(lane.label.toHtmlEscaped(), Presentation::kindColor(mark.kind).name(), mark.kind,
                 tr("op-code"), Presentation::opcode(mark.opcode, mark.opcodeName).toHtmlEscaped(),
                 tr("size"), Presentation::bytes(double(mark.size)), tr("to"),
                 mark.to ? tr("pid %1").arg(mark.to) : tr("another machine"),
                 QDateTime::fromMSecsSinceEpoch(mark.time).toString(u"HH:mm:ss.zzz"_s));
}

bool FlowWidget::event(QEvent *event)
{
    if (event->type() == QEvent::ToolTip) {
        auto *help = static_cast<QHelpEvent *>(event);
        const Hit hit = hitTest(help->pos());
        QString text;
        if (hit.lane >= 0 && hit.mark >= 0)
            text = markToolTip(m_lanes[hit.lane], m_lanes[hit.lane].marks[hit.mark]);
        else if (hit.lane >= 0 && hit.bar >= 0)
            text = barToolTip(m_lanes[hit.lane], m_lanes[hit.lane].bars[hit.bar]);
        if (text.isEmpty()) {
            QToolTip::hideText();
            event->ignore();
        } else {
            QToolTip::showText(help->globalPos(), text, this);
        }
        return true;
    }
    return QWidget::event(event);
}

} // namespace PlexusMonitor::Gui
