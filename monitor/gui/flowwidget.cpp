// SPDX-License-Identifier: MIT
#include "flowwidget.h"

#include "presentation.h"

#include <QtCore/qdatetime.h>
#include <QtGui/qevent.h>
#include <QtGui/qpainter.h>
#include <QtGui/qpainterpath.h>
#include <QtWidgets/qtooltip.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

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

void FlowViewBar::add(MessageKind kind, quint64 messages, quint64 bytes)
{
    const size_t k = std::min<size_t>(size_t(kind), KindSlots - 1);
    countByKind[k] += messages;
    bytesByKind[k] += bytes;
    count += messages;
}

namespace {
QString kindName(int k)
{
    return messageKindName(MessageKind(k));
}
} // namespace

FlowWidget::FlowWidget(QWidget *parent) : QWidget(parent)
{
    setMouseTracking(true);
    setAttribute(Qt::WA_OpaquePaintEvent);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    m_emptyText = tr("No traffic to show yet.\nConnect to a master (Machines, on the left): "
                     "each process gets a lane here as soon as it sends messages.");
    for (int k = 0; k < FlowViewBar::KindSlots; ++k)
        m_kindColors[size_t(k)] = Presentation::kindColor(kindName(k));
    m_repaintTimer.setSingleShot(true);
    m_repaintTimer.callOnTimeout(this, qOverload<>(&QWidget::update));
}

void FlowWidget::setLanes(const QList<FlowViewLane> &lanes, qint64 now)
{
    const qint64 previousNow = m_now;
    const auto sameLane = [](const FlowViewLane &a, const FlowViewLane &b) {
        return a.pid == b.pid && a.label == b.label && a.group == b.group;
    };
    const bool sameLanes = std::ranges::equal(lanes, m_lanes, sameLane);
    const bool sameGroups = std::ranges::equal(
            lanes, m_lanes, [](const FlowViewLane &a, const FlowViewLane &b) { return a.group == b.group; });
    const bool sameCount = lanes.size() == m_lanes.size();
    m_lanes = lanes;
    m_now = now;

    // The scale moves in powers of two, and down only when the bars have become much
    // smaller: a scale that followed every bar would redraw the whole image each time.
    quint64 maxCount = 1;
    const qint64 from = m_now - m_windowMs;
    for (const FlowViewLane &lane : std::as_const(m_lanes))
        for (const FlowViewBar &bar : lane.bars)
            if (bar.endTime >= from)
                maxCount = std::max(maxCount, bar.total());
    const quint64 scale = std::bit_ceil(maxCount);
    if (scale > m_scale || scale * 4 <= m_scale) {
        m_scale = scale;
        m_cacheValid = false;
    }
    if (!sameLanes) {
        layoutLanes();
        m_cacheValid = false;
    }
    if (!sameCount || !sameGroups)
        updateGeometry();
    if (updateCache(previousNow))
        scheduleRepaint();
}

void FlowWidget::setWindowMs(qint64 msec)
{
    m_windowMs = std::max<qint64>(msec, 1000);
    setLanes(m_lanes, m_now);
}

void FlowWidget::setEmptyText(const QString &text)
{
    m_emptyText = text;
    m_cacheValid = false;
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
    m_lastMarkCell.fill({}, m_lanes.size());
}

void FlowWidget::resizeEvent(QResizeEvent *event)
{
    QWidget::resizeEvent(event);
    layoutLanes();
    m_cacheValid = false;
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

int FlowWidget::plotWidth() const
{
    return std::max(10, width() - LabelWidth - 12);
}

QRectF FlowWidget::plotRect() const
{
    return QRectF(LabelWidth, LegendHeight, plotWidth(), std::max(10, height() - LegendHeight - AxisHeight));
}

// Time maps to absolute pixel columns (time / ms per pixel); the plot's right edge is the
// column after "now". The image keeps its columns when it scrolls by whole pixels, so what
// was drawn earlier stays where a full redraw would put it.
qint64 FlowWidget::endColumn(qint64 now) const
{
    const double msPerPixel = double(m_windowMs) / plotWidth();
    return qint64(std::floor(double(now) / msPerPixel)) + 1;
}

qreal FlowWidget::xFor(qint64 time) const
{
    const double msPerPixel = double(m_windowMs) / plotWidth();
    return LabelWidth + plotWidth() - (double(endColumn(m_now)) - double(time) / msPerPixel);
}

int FlowWidget::laneTop(int lane) const
{
    return m_laneTops.value(lane, LegendHeight);
}

bool FlowWidget::updateCache(qint64 previousNow)
{
    if (!isVisible()) {
        m_cacheValid = false;   // drawn whole when it is painted
        return false;
    }
    const qreal dpr = devicePixelRatio();
    const qint64 end = endColumn(m_now);
    const qint64 dx = end - m_cacheEndColumn;
    if (!m_cacheValid || m_cache.size() != size() * dpr || m_cacheWindowMs != m_windowMs
        || dx < 0 || dx >= plotWidth() || m_now < previousNow) {
        redrawCache();
        return true;
    }
    bool changed = dx > 0;
    QPainter p(&m_cache);
    if (dx > 0) {
        scrollCache(int(dx));
        m_cacheEndColumn = end;
        drawLaneBackgrounds(p, LabelWidth + plotWidth() - int(dx), LabelWidth + plotWidth());
    }
    // Bars that ended since the last call (one that ended in its very millisecond may be
    // drawn twice: opaque rectangles on the same pixels), and the marks not drawn yet.
    const quint64 markSeq = m_markSeq;
    for (int i = 0; i < m_lanes.size(); ++i) {
        const FlowViewLane &lane = m_lanes[i];
        for (qsizetype b = lane.bars.size() - 1;
             b >= 0 && (lane.bars[b].endTime > previousNow || (lane.bars[b].endTime == previousNow && m_now > previousNow));
             --b) {
            drawBar(p, i, lane.bars[b]);
            changed = true;
        }
        if (!lane.marks.isEmpty() && lane.marks.last().seq > markSeq) {
            drawMarks(p, i, markSeq);
            changed = true;
        }
    }
    if (changed)
        ++m_sliceRedraws;
    return changed;
}

void FlowWidget::scrollCache(int dx)
{
    // Moves the lanes' part of the image left by dx pixels, in place.
    const qreal dpr = m_cache.devicePixelRatio();
    const int left = int(LabelWidth * dpr);
    const int width = std::min(int(plotWidth() * dpr), m_cache.width() - left);
    const int shift = int(std::lround(dx * dpr));
    if (width <= shift)
        return;
    const int bytesPerPixel = m_cache.depth() / 8;
    for (int y = int(LegendHeight * dpr); y < m_cache.height(); ++y) {
        uchar *line = m_cache.scanLine(y) + qsizetype(left) * bytesPerPixel;
        std::memmove(line, line + qsizetype(shift) * bytesPerPixel, size_t(width - shift) * bytesPerPixel);
    }
}

void FlowWidget::redrawCache()
{
    const qreal dpr = devicePixelRatio();
    if (m_cache.size() != size() * dpr) {
        m_cache = QImage(size() * dpr, QImage::Format_ARGB32_Premultiplied);
        m_cache.setDevicePixelRatio(dpr);
    }
    m_cacheEndColumn = endColumn(m_now);
    m_cacheWindowMs = m_windowMs;
    m_cacheValid = true;
    ++m_fullRedraws;
    QPainter p(&m_cache);
    p.fillRect(rect(), palette().base());
    drawStatic(p);
    m_lastMarkCell.fill({}, m_lanes.size());
    for (int i = 0; i < m_lanes.size(); ++i) {
        for (const FlowViewBar &bar : m_lanes[i].bars)
            drawBar(p, i, bar);
        drawMarks(p, i, 0);
    }
}

void FlowWidget::drawLaneBackgrounds(QPainter &p, int x0, int x1) const
{
    p.fillRect(QRect(x0, LegendHeight, x1 - x0, height() - LegendHeight), palette().base());
    for (int i = 1; i < m_lanes.size(); i += 2)
        p.fillRect(QRect(x0, m_laneTops[i], x1 - x0, m_laneHeight), palette().alternateBase());
}

void FlowWidget::drawStatic(QPainter &p) const
{
    const QPalette pal = palette();
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
    const QString scale = tr("bar height: messages per interval (√ scale, full height %1)")
                                  .arg(Presentation::count(double(m_scale)));
    p.setPen(pal.color(QPalette::PlaceholderText));
    p.drawText(QRectF(x, 4, width() - x - 12, 18), Qt::AlignRight | Qt::AlignVCenter, scale);

    if (m_lanes.isEmpty()) {
        p.drawText(rect().adjusted(20, LegendHeight, -20, 0), Qt::AlignCenter | Qt::TextWordWrap,
                   m_emptyText);
        return;
    }
    drawLaneBackgrounds(p, 0, width());
    p.setPen(pal.color(QPalette::Text));
    for (int i = 0; i < m_lanes.size(); ++i)
        p.drawText(QRectF(20, m_laneTops[i], LabelWidth - 26, m_laneHeight), Qt::AlignLeft | Qt::AlignVCenter,
                   fm.elidedText(m_lanes[i].label, Qt::ElideRight, LabelWidth - 26));
}

void FlowWidget::drawBar(QPainter &p, int lane, const FlowViewBar &bar) const
{
    const quint64 total = bar.total();
    if (total == 0)
        return;
    const int top = m_laneTops[lane];
    const qreal x0 = std::max<qreal>(xFor(bar.endTime - bar.intervalMs), LabelWidth);
    const qreal x1 = std::min<qreal>(xFor(bar.endTime), LabelWidth + plotWidth());
    if (x1 <= LabelWidth)
        return;
    const qreal barBase = top + m_laneHeight - 3;
    const qreal barSpan = m_laneHeight - MarkBand - 5;
    const qreal w = std::max<qreal>(1.5, x1 - x0 - 1);
    const qreal h = std::clamp<qreal>(barSpan * std::sqrt(double(total) / double(m_scale)), 2, barSpan);
    qreal y = barBase;
    for (int k = 0; k < FlowViewBar::KindSlots; ++k) {
        const quint64 c = bar.countByKind[size_t(k)];
        if (!c)
            continue;
        const qreal part = h * qreal(c) / qreal(total);
        p.fillRect(QRectF(x0, y - part, w, part), m_kindColors[size_t(k)]);
        y -= part;
    }
}

void FlowWidget::drawMarks(QPainter &p, int lane, quint64 afterSeq)
{
    // A small downward triangle per sampled message ("a message left here"). Under a flood
    // thousands of samples share a few pixels: one triangle per 3-pixel column and kind is
    // all the eye can tell apart, and it keeps drawing cheap.
    const int top = m_laneTops[lane];
    const double msPerPixel = double(m_windowMs) / plotWidth();
    auto &last = m_lastMarkCell[lane];
    p.save();
    p.setClipRect(QRect(LabelWidth, top, plotWidth(), m_laneHeight));
    p.setRenderHint(QPainter::Antialiasing);
    for (const FlowViewMark &mark : m_lanes[lane].marks) {
        m_markSeq = std::max(m_markSeq, mark.seq);
        if (afterSeq && mark.seq <= afterSeq)
            continue;
        const qreal mx = xFor(mark.time);
        if (mx < LabelWidth - 3)
            continue;
        const size_t kind = std::min<size_t>(size_t(mark.kind), FlowViewBar::KindSlots - 1);
        const qint64 cell = qint64(std::floor(double(mark.time) / msPerPixel / 3));
        if (cell == last[kind])
            continue;
        last[kind] = cell;
        const QColor color = m_kindColors[kind];
        p.setPen(QPen(color.darker(130), 1));
        p.setBrush(color);
        const QPointF tri[3] = {{mx - 3, top + 2.0}, {mx + 3, top + 2.0}, {mx, qreal(top + MarkBand)}};
        p.drawConvexPolygon(tri, 3);
    }
    p.restore();
}

void FlowWidget::scheduleRepaint()
{
    // At most one repaint per interval (leading edge), coalescing what came meanwhile.
    if (m_repaintTimer.isActive())
        return;
    const qint64 since = m_sinceRepaint.isValid() ? m_sinceRepaint.elapsed() : MinRepaintIntervalMs;
    if (since >= MinRepaintIntervalMs)
        update();
    else
        m_repaintTimer.start(int(MinRepaintIntervalMs - since));
}

void FlowWidget::paintEvent(QPaintEvent *)
{
    ++m_paints;
    m_sinceRepaint.start();
    if (!m_cacheValid || m_cache.size() != size() * devicePixelRatio() || m_cacheWindowMs != m_windowMs)
        redrawCache();
    QPainter p(this);
    p.drawImage(0, 0, m_cache);
    if (!m_lanes.isEmpty())
        drawOverlay(p);
}

void FlowWidget::drawOverlay(QPainter &p) const
{
    // What moves with "now" rather than with the lanes: the grid, its labels, the machine
    // headings (they may reach into the plot).
    const QPalette pal = palette();
    const qint64 step = m_windowMs <= 60'000 ? 5'000 : m_windowMs <= 600'000 ? 60'000 : 600'000;
    const qreal bottom = m_laneTops.last() + m_laneHeight;
    QColor grid = pal.color(QPalette::Text);
    grid.setAlpha(28);
    p.fillRect(QRectF(LabelWidth - 40, bottom, plotWidth() + 52, AxisHeight), pal.base());
    for (qint64 back = 0; back <= m_windowMs; back += step) {
        const qreal gx = xFor(m_now - back);
        p.setPen(grid);
        p.drawLine(QPointF(gx, LegendHeight), QPointF(gx, bottom));
        p.setPen(pal.color(QPalette::PlaceholderText));
        const QString label = back == 0 ? tr("now") : u"−"_s + Presentation::duration(back);
        p.drawText(QRectF(gx - 40, bottom + 2, 80, AxisHeight - 4), Qt::AlignCenter, label);
    }
    QFont bold = font();
    bold.setBold(true);
    p.setFont(bold);
    p.setPen(pal.color(QPalette::Text));
    for (int i = 0; i < m_lanes.size(); ++i) {
        if (i > 0 && m_lanes[i].group == m_lanes[i - 1].group)
            continue;
        const int top = m_laneTops[i];
        p.fillRect(QRectF(0, top - GroupHeight, width(), GroupHeight), pal.base());
        p.drawText(QRectF(8, top - GroupHeight, width() - 16, GroupHeight),
                   Qt::AlignLeft | Qt::AlignVCenter, m_lanes[i].group);
    }
    p.setFont(font());
    p.setPen(pal.color(QPalette::Mid));
    p.drawLine(QPointF(LabelWidth, LegendHeight), QPointF(LabelWidth, bottom));
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
    for (int k = 0; k < FlowViewBar::KindSlots; ++k) {
        const quint64 c = bar.countByKind[size_t(k)];
        if (!c)
            continue;
        html += u"<tr><td><span style='color:%1'>■</span> %2</td><td align=right>%3</td>"
                "<td align=right>&nbsp;%4</td></tr>"_s
                        .arg(m_kindColors[size_t(k)].name(), kindName(k), Presentation::count(double(c)),
                             Presentation::bytes(double(bar.bytesByKind[size_t(k)])));
    }
    html += u"</table>"_s;
    QHash<quint32, quint64> byOpcode;
    for (const FlowEntry &e : bar.entries)
        byOpcode[e.opcode] += e.count;
    QList<std::pair<quint64, quint32>> ops;
    for (auto it = byOpcode.cbegin(); it != byOpcode.cend(); ++it)
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
            .arg(lane.label.toHtmlEscaped(), m_kindColors[std::min<size_t>(size_t(mark.kind), FlowViewBar::KindSlots - 1)].name(),
                 messageKindName(mark.kind),
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
