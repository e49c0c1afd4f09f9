// SPDX-License-Identifier: MIT
#pragma once

#include "viewpage.h"

#include <QtGui/qcolor.h>

QT_BEGIN_NAMESPACE
class QButtonGroup;
class QCategoryAxis;
class QChart;
class QChartView;
class QComboBox;
class QLineSeries;
QT_END_NAMESPACE

namespace PlexusMonitor {
class ClusterState;
}

namespace PlexusMonitor::Gui {

/*!
    \class PlexusMonitor::Gui::RateView
    Message and byte rates over the last minute, 10 minutes or hour (Qt Charts): the
    cluster total in and out, one line pair per machine (in solid, out dashed), or the
    traffic by kind from the trace aggregates (in the kind colours of the flow view and the
    trace). Histories are averaged down to at most a few hundred points per line. The time
    axis shows the clock at round moments, the value axes rates with their unit (ChartAxes).
*/
class RateView : public ViewPage
{
    Q_OBJECT
public:
    enum Mode { TotalMode, MachineMode, KindMode };
    Q_ENUM(Mode)

    explicit RateView(const ClusterState *state, QWidget *parent = nullptr);

    void setMode(Mode mode);
    Mode mode() const { return m_mode; }
    void setRangeMs(qint64 msec);
    qint64 rangeMs() const { return m_rangeMs; }
    /*! Lines in the message-rate chart (for tests). */
    int seriesCount() const;
    /*! The labels of the time axis and of the message and byte axes (for tests). */
    QStringList timeLabels() const;
    QStringList messageRateLabels() const;
    QStringList byteRateLabels() const;

protected:
    void refreshView() override;

private:
    struct Line {
        QString key;
        QString name;
        QColor color;
        bool dashed = false;
        QList<QPointF> messages;   // x: ms since the epoch, y: per second
        QList<QPointF> bytes;
    };
    QList<Line> collectTotal(qint64 now) const;
    QList<Line> collectMachines(qint64 now) const;
    QList<Line> collectKinds(qint64 now) const;
    void showLines(const QList<Line> &lines, qint64 now);
    void alignPlotAreas();
    static void fill(QCategoryAxis *x, QCategoryAxis *y, QList<QLineSeries *> &series,
                     const QList<Line> &lines, bool bytes, qint64 now, qint64 range);

    const ClusterState *m_state;
    Mode m_mode = TotalMode;
    qint64 m_rangeMs = 60'000;
    QComboBox *m_modeBox = nullptr;
    QButtonGroup *m_ranges = nullptr;
    QChartView *m_messagesView = nullptr;
    QChartView *m_bytesView = nullptr;
    QCategoryAxis *m_messagesX = nullptr;
    QCategoryAxis *m_bytesX = nullptr;
    QCategoryAxis *m_messagesY = nullptr;
    QCategoryAxis *m_bytesY = nullptr;
    QList<QLineSeries *> m_messageSeries;
    QList<QLineSeries *> m_byteSeries;
    QStringList m_keys;
};

} // namespace PlexusMonitor::Gui
