// SPDX-License-Identifier: MIT
#pragma once

#include <QtCharts/qchartview.h>

QT_BEGIN_NAMESPACE
class QCategoryAxis;
class QLineSeries;
QT_END_NAMESPACE

namespace PlexusMonitor {
class RateHistory;
}

namespace PlexusMonitor::Gui {

/*!
    \class PlexusMonitor::Gui::ProcessChart
    The small chart of the process detail pane: the messages per second in and out of one
    process over the last rangeMs() (two minutes), from the rate history the cluster state
    keeps for each process, with the axes of the Rates view (ChartAxes).
*/
class ProcessChart : public QChartView
{
    Q_OBJECT
public:
    explicit ProcessChart(QWidget *parent = nullptr);

    static constexpr qint64 DefaultRangeMs = 120'000;
    qint64 rangeMs() const { return m_rangeMs; }

    /*! Shows \a history (nullptr: none yet) up to \a now, ms since the epoch. */
    void setHistory(const RateHistory *history, qint64 now);
    /*! Points in the "in" line (for tests). */
    int pointCount() const;
    /*! The labels of the value axis (for tests). */
    QStringList rateLabels() const;

private:
    QLineSeries *m_in = nullptr;
    QLineSeries *m_out = nullptr;
    QCategoryAxis *m_x = nullptr;
    QCategoryAxis *m_y = nullptr;
    qint64 m_rangeMs = DefaultRangeMs;
};

} // namespace PlexusMonitor::Gui
