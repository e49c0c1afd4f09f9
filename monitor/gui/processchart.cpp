// SPDX-License-Identifier: MIT
#include "processchart.h"

#include "chartaxes.h"
#include "presentation.h"

#include "ratehistory.h"

#include <QtCharts/qcategoryaxis.h>
#include <QtCharts/qchart.h>
#include <QtCharts/qlegend.h>
#include <QtCharts/qlineseries.h>
#include <QtWidgets/qgraphicslayout.h>

using namespace Qt::StringLiterals;

namespace PlexusMonitor::Gui {

namespace {

constexpr int MaxPoints = 120;

} // namespace

ProcessChart::ProcessChart(QWidget *parent) : QChartView(parent)
{
    auto *chart = new QChart;
    chart->setAnimationOptions(QChart::NoAnimation);
    chart->setMargins(QMargins(2, 2, 2, 2));
    chart->layout()->setContentsMargins(0, 0, 0, 0);
    chart->setBackgroundRoundness(0);
    chart->legend()->setAlignment(Qt::AlignTop);
    QFont small = font();
    small.setPointSizeF(small.pointSizeF() * 0.85);
    chart->legend()->setFont(small);
    m_x = ChartAxes::makeAxis();
    m_y = ChartAxes::makeAxis();
    m_x->setLabelsFont(small);
    m_y->setLabelsFont(small);
    chart->addAxis(m_x, Qt::AlignBottom);
    chart->addAxis(m_y, Qt::AlignLeft);
    const auto line = [&](const QString &name, const QColor &color) {
        auto *series = new QLineSeries(chart);
        series->setName(name);
        series->setPen(QPen(color, 1.5));
        chart->addSeries(series);
        series->attachAxis(m_x);
        series->attachAxis(m_y);
        return series;
    };
    m_in = line(tr("messages in"), Presentation::inColor());
    m_out = line(tr("messages out"), Presentation::outColor());
    // QChartView made a chart of its own; setChart() hands that one back to us.
    QChart *unused = QChartView::chart();
    setChart(chart);
    delete unused;
    setRenderHint(QPainter::Antialiasing);
    setMinimumHeight(150);
    setToolTip(tr("Messages per second in and out of this process, last %1 s")
                       .arg(m_rangeMs / 1000));
}

void ProcessChart::setHistory(const RateHistory *history, qint64 now)
{
    QList<QPointF> in, out;
    double max = 0;
    if (history) {
        for (const RatePoint &p : history->points(m_rangeMs, MaxPoints)) {
            if (p.time < now - m_rangeMs)
                continue;
            in.append(QPointF(qreal(p.time), p.rates.messagesIn));
            out.append(QPointF(qreal(p.time), p.rates.messagesOut));
            max = std::max({max, p.rates.messagesIn, p.rates.messagesOut});
        }
    }
    m_in->replace(in);
    m_out->replace(out);
    ChartAxes::apply(m_x, ChartAxes::timeTicks(now, m_rangeMs), double(now - m_rangeMs), double(now));
    const QList<ChartAxes::Tick> ticks = ChartAxes::rateTicks(max, false);
    ChartAxes::apply(m_y, ticks, 0, ticks.back().value);
}

int ProcessChart::pointCount() const
{
    return int(m_in->count());
}

QStringList ProcessChart::rateLabels() const
{
    return m_y->categoriesLabels();
}

} // namespace PlexusMonitor::Gui
