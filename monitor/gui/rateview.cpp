// SPDX-License-Identifier: MIT
#include "rateview.h"

#include "chartaxes.h"
#include "presentation.h"

#include "clusterstate.h"
#include "format.h"

#include <QtCharts/qchart.h>
#include <QtCharts/qchartview.h>
#include <QtCharts/qcategoryaxis.h>
#include <QtCharts/qlegend.h>
#include <QtCharts/qlineseries.h>
#include <QtCore/qdatetime.h>
#include <QtWidgets/qboxlayout.h>
#include <QtWidgets/qgraphicslayout.h>
#include <QtWidgets/qbuttongroup.h>
#include <QtWidgets/qcombobox.h>
#include <QtWidgets/qlabel.h>
#include <QtWidgets/qtoolbar.h>
#include <QtWidgets/qtoolbutton.h>

#include <algorithm>
#include <cmath>
#include <map>

using namespace Qt::StringLiterals;

namespace PlexusMonitor::Gui {

namespace {

constexpr int MaxPoints = 300;

QColor machineColor(int i)
{
    static const QColor colors[] = {QColor(0x4e, 0x79, 0xa7), QColor(0xf2, 0x8e, 0x2b),
                                    QColor(0x59, 0xa1, 0x4f), QColor(0xe1, 0x57, 0x59),
                                    QColor(0xb0, 0x7a, 0xa1), QColor(0x76, 0xb7, 0xb2),
                                    QColor(0xed, 0xc9, 0x48), QColor(0x9c, 0x75, 0x5f)};
    return colors[i % 8];
}

QChartView *makeChart(const QString &title, QCategoryAxis **x, QCategoryAxis **y, QWidget *parent)
{
    auto *chart = new QChart;
    chart->setTitle(title);
    chart->setAnimationOptions(QChart::NoAnimation);
    chart->legend()->setAlignment(Qt::AlignRight);
    chart->setMargins(QMargins(4, 4, 4, 4));
    chart->layout()->setContentsMargins(0, 0, 0, 0);
    chart->setBackgroundRoundness(0);
    *x = ChartAxes::makeAxis();
    *y = ChartAxes::makeAxis();
    chart->addAxis(*x, Qt::AlignBottom);
    chart->addAxis(*y, Qt::AlignLeft);
    auto *view = new QChartView(chart, parent);
    view->setRenderHint(QPainter::Antialiasing);
    view->setMinimumHeight(180);
    return view;
}

// The bucket of \a time in a range split into MaxPoints buckets ending at \a now.
qint64 bucketOf(qint64 time, qint64 now, qint64 width)
{
    return (now - time) / width;
}

} // namespace

RateView::RateView(const ClusterState *state, QWidget *parent)
    : ViewPage(u"rates"_s, tr("Rates"), parent), m_state(state)
{
    toolBar()->addWidget(new QLabel(tr("Show "), toolBar()));
    m_modeBox = new QComboBox(toolBar());
    m_modeBox->addItem(tr("Cluster total"), TotalMode);
    m_modeBox->addItem(tr("Per machine"), MachineMode);
    m_modeBox->addItem(tr("By kind (trace)"), KindMode);
    toolBar()->addWidget(m_modeBox);
    connect(m_modeBox, &QComboBox::currentIndexChanged, this,
            [this] { setMode(Mode(m_modeBox->currentData().toInt())); });
    toolBar()->addSeparator();
    m_ranges = new QButtonGroup(this);
    const std::pair<qint64, QString> ranges[] = {
        {60'000, tr("1 min")}, {600'000, tr("10 min")}, {3'600'000, tr("1 h")}};
    for (const auto &[msec, text] : ranges) {
        auto *button = new QToolButton(toolBar());
        button->setText(text);
        button->setCheckable(true);
        button->setChecked(msec == m_rangeMs);
        button->setToolButtonStyle(Qt::ToolButtonTextOnly);
        m_ranges->addButton(button, int(msec / 1000));
        toolBar()->addWidget(button);
    }
    connect(m_ranges, &QButtonGroup::idClicked, this, [this](int s) { setRangeMs(qint64(s) * 1000); });
    finishToolBar();

    m_messagesView = makeChart(tr("Messages per second"), &m_messagesX, &m_messagesY, this);
    m_bytesView = makeChart(tr("Bytes per second"), &m_bytesX, &m_bytesY, this);
    contentLayout()->addWidget(m_messagesView, 1);
    contentLayout()->addWidget(m_bytesView, 1);
}

void RateView::setMode(Mode mode)
{
    m_mode = mode;
    const int index = m_modeBox->findData(mode);
    if (index != m_modeBox->currentIndex())
        m_modeBox->setCurrentIndex(index);
    if (isVisible())
        refreshNow();
}

void RateView::setRangeMs(qint64 msec)
{
    m_rangeMs = msec;
    if (QAbstractButton *b = m_ranges->button(int(msec / 1000)))
        b->setChecked(true);
    if (isVisible())
        refreshNow();
}

int RateView::seriesCount() const
{
    return int(m_messageSeries.size());
}

QStringList RateView::timeLabels() const
{
    return m_messagesX->categoriesLabels();
}

QStringList RateView::messageRateLabels() const
{
    return m_messagesY->categoriesLabels();
}

QStringList RateView::byteRateLabels() const
{
    return m_bytesY->categoriesLabels();
}

QList<RateView::Line> RateView::collectMachines(qint64) const
{
    QList<Line> lines;
    int i = 0;
    for (const MachineEntry &m : m_state->machines()) {
        const RateHistory *history = m_state->machineHistory(m.machine);
        if (!history || history->isEmpty())
            continue;
        const QString name = m.snapshot.host.isEmpty() ? Format::machineId(m.machine) : m.snapshot.host;
        Line in{u"in:"_s + QString::number(m.machine), name + tr(" in"), machineColor(i), false, {}, {}};
        Line out{u"out:"_s + QString::number(m.machine), name + tr(" out"), machineColor(i), true, {}, {}};
        for (const RatePoint &p : history->points(m_rangeMs, MaxPoints)) {
            in.messages.append(QPointF(qreal(p.time), p.rates.messagesIn));
            out.messages.append(QPointF(qreal(p.time), p.rates.messagesOut));
            in.bytes.append(QPointF(qreal(p.time), p.rates.bytesIn));
            out.bytes.append(QPointF(qreal(p.time), p.rates.bytesOut));
        }
        lines << in << out;
        ++i;
    }
    return lines;
}

QList<RateView::Line> RateView::collectTotal(qint64 now) const
{
    // Machines poll at their own moments: sum their averages per bucket.
    const qint64 width = std::max<qint64>(1000, m_rangeMs / MaxPoints);
    std::map<qint64, Rates> sums;
    for (const MachineEntry &m : m_state->machines()) {
        const RateHistory *history = m_state->machineHistory(m.machine);
        if (!history)
            continue;
        std::map<qint64, std::pair<Rates, int>> mine;
        for (const RatePoint &p : history->points(m_rangeMs, MaxPoints * 2)) {
            if (p.time < now - m_rangeMs)
                continue;
            auto &[r, n] = mine[bucketOf(p.time, now, width)];
            r += p.rates;
            ++n;
        }
        for (const auto &[bucket, rn] : mine) {
            Rates avg = rn.first;
            avg.messagesIn /= rn.second;
            avg.messagesOut /= rn.second;
            avg.bytesIn /= rn.second;
            avg.bytesOut /= rn.second;
            sums[bucket] += avg;
        }
    }
    Line in{u"in"_s, tr("in"), Presentation::inColor(), false, {}, {}};
    Line out{u"out"_s, tr("out"), Presentation::outColor(), false, {}, {}};
    for (auto it = sums.rbegin(); it != sums.rend(); ++it) {   // oldest (largest bucket) first
        const qreal t = qreal(now - it->first * width);
        in.messages.append(QPointF(t, it->second.messagesIn));
        out.messages.append(QPointF(t, it->second.messagesOut));
        in.bytes.append(QPointF(t, it->second.bytesIn));
        out.bytes.append(QPointF(t, it->second.bytesOut));
    }
    if (in.messages.isEmpty())
        return {};
    return {in, out};
}

QList<RateView::Line> RateView::collectKinds(qint64 now) const
{
    const qint64 width = std::max<qint64>(1000, m_rangeMs / MaxPoints);
    std::array<std::map<qint64, std::pair<double, double>>, MessageKindCount> perKind;
    bool any = false;
    for (const FlowLane &lane : m_state->flow().lanes(now - m_rangeMs)) {
        for (const FlowBucket &b : lane.buckets) {
            for (const FlowEntry &e : b.entries) {
                if (int(e.kind) >= MessageKindCount)
                    continue;
                auto &[count, bytes] = perKind[size_t(e.kind)][bucketOf(b.time, now, width)];
                count += double(e.count);
                bytes += double(e.bytes);
                any = true;
            }
        }
    }
    if (!any)
        return {};
    QList<Line> lines;
    const qint64 buckets = m_rangeMs / width;
    for (int k = 0; k < MessageKindCount; ++k) {
        if (perKind[size_t(k)].empty())
            continue;
        const QString name = messageKindName(MessageKind(k));
        Line line{name, name, Presentation::kindColor(name), false, {}, {}};
        // Every bucket of the range, so that a quiet interval drops to 0 rather than
        // being bridged by a straight line.
        const qint64 newest = perKind[size_t(k)].begin()->first;
        for (qint64 bucket = std::min(buckets, perKind[size_t(k)].rbegin()->first);
             bucket >= newest; --bucket) {
            const auto it = perKind[size_t(k)].find(bucket);
            const double count = it == perKind[size_t(k)].end() ? 0 : it->second.first;
            const double bytes = it == perKind[size_t(k)].end() ? 0 : it->second.second;
            const qreal t = qreal(now - bucket * width);
            line.messages.append(QPointF(t, count * 1000.0 / double(width)));
            line.bytes.append(QPointF(t, bytes * 1000.0 / double(width)));
        }
        lines.append(line);
    }
    return lines;
}

void RateView::fill(QCategoryAxis *x, QCategoryAxis *y, QList<QLineSeries *> &series,
                    const QList<Line> &lines, bool bytes, qint64 now, qint64 range)
{
    double max = 0;
    for (int i = 0; i < lines.size(); ++i) {
        const QList<QPointF> &points = bytes ? lines[i].bytes : lines[i].messages;
        for (const QPointF &p : points)
            max = std::max(max, p.y());
        series[i]->replace(points);
    }
    ChartAxes::apply(x, ChartAxes::timeTicks(now, range), double(now - range), double(now));
    const QList<ChartAxes::Tick> ticks = ChartAxes::rateTicks(max, bytes);
    ChartAxes::apply(y, ticks, 0, ticks.back().value);
}

void RateView::showLines(const QList<Line> &lines, qint64 now)
{
    QStringList keys;
    for (const Line &l : lines)
        keys.append(l.key);
    QChart *mc = m_messagesView->chart();
    QChart *bc = m_bytesView->chart();
    if (keys != m_keys) {   // the set of lines changed: make them again
        mc->removeAllSeries();
        bc->removeAllSeries();
        m_messageSeries.clear();
        m_byteSeries.clear();
        for (const Line &l : lines) {
            for (QChart *chart : {mc, bc}) {
                auto *s = new QLineSeries(chart);
                s->setName(l.name);
                QPen pen(l.color, 2);
                if (l.dashed)
                    pen.setStyle(Qt::DashLine);
                s->setPen(pen);
                chart->addSeries(s);
                s->attachAxis(chart == mc ? m_messagesX : m_bytesX);
                s->attachAxis(chart == mc ? m_messagesY : m_bytesY);
                (chart == mc ? m_messageSeries : m_byteSeries).append(s);
            }
        }
        m_keys = keys;
    }
    fill(m_messagesX, m_messagesY, m_messageSeries, lines, false, now, m_rangeMs);
    fill(m_bytesX, m_bytesY, m_byteSeries, lines, true, now, m_rangeMs);
    alignPlotAreas();
    const QString empty = lines.isEmpty()
            ? tr(" — no data yet: rates appear after a master's second snapshot")
            : QString();
    mc->setTitle(tr("Messages per second") + empty);
}

void RateView::alignPlotAreas()
{
    // The two charts share their time axis: the same left edge of the plot whatever the
    // width of the value labels ("400/s" against "100 KiB/s"). What the labels take is the
    // plot's left minus the margin; the narrower chart gets the difference as margin (the
    // layout follows on the next refresh).
    QChart *charts[] = {m_messagesView->chart(), m_bytesView->chart()};
    qreal labels[2];
    for (int i = 0; i < 2; ++i)
        labels[i] = charts[i]->plotArea().left() - charts[i]->margins().left();
    const qreal widest = std::max(labels[0], labels[1]);
    for (int i = 0; i < 2; ++i) {
        QMargins margins = charts[i]->margins();
        const int left = 4 + int(std::lround(widest - labels[i]));
        if (margins.left() != left) {
            margins.setLeft(left);
            charts[i]->setMargins(margins);
        }
    }
}

void RateView::refreshView()
{
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    switch (m_mode) {
    case TotalMode: showLines(collectTotal(now), now); break;
    case MachineMode: showLines(collectMachines(now), now); break;
    case KindMode: showLines(collectKinds(now), now); break;
    }
}

} // namespace PlexusMonitor::Gui
