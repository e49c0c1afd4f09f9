// SPDX-License-Identifier: MIT
#pragma once

#include "viewpage.h"

#include <QtGui/qcolor.h>

QT_BEGIN_NAMESPACE
class QButtonGroup;
class QChart;
class QChartView;
class QComboBox;
class QDateTimeAxis;
class QLineSeries;
class QValueAxis;
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
    trace). Histories are averaged down to at most a few hundred points per line.
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
    void show(const QList<Line> &lines, qint64 now);
    static void fill(QChart *chart, QDateTimeAxis *x, QValueAxis *y, QList<QLineSeries *> &series,
                     const QList<Line> &lines, bool bytes, qint64 now, qint64 range,
                     const QString &unit);

    const ClusterState *m_state;
    Mode m_mode = TotalMode;
    qint64 m_rangeMs = 60'000;
    QComboBox *m_modeBox = nullptr;
    QButtonGroup *m_ranges = nullptr;
    QChartView *m_messagesView = nullptr;
    QChartView *m_bytesView = nullptr;
    QDateTimeAxis *m_messagesX = nullptr;
    QDateTimeAxis *m_bytesX = nullptr;
    QValueAxis *m_messagesY = nullptr;
    QValueAxis *m_bytesY = nullptr;
    QList<QLineSeries *> m_messageSeries;
    QList<QLineSeries *> m_byteSeries;
    QStringList m_keys;
};

} // namespace PlexusMonitor::Gui
