// SPDX-License-Identifier: MIT
#pragma once

#include <QtCore/qelapsedtimer.h>
#include <QtCore/qobject.h>
#include <QtCore/qtimer.h>

QT_BEGIN_NAMESPACE
class QAbstractItemModel;
QT_END_NAMESPACE

namespace PlexusMonitor::Gui {

/*!
    \class PlexusMonitor::Gui::GuiStats
    The --stats measurement hook: every interval, one line on stderr with the GUI thread's
    busy share (time inside event delivery at the outermost level, measured by
    MonitorApplication::notify(), and the thread's CPU time, both over wall time), the model
    updates per second (resets, data changes, row insertions and removals, layout changes of
    every watched model), the process RSS (/proc/self/statm), and how late a 50 ms timer on
    the GUI thread fired (average and worst): what a user feels as the GUI's latency.
*/
class GuiStats : public QObject
{
    Q_OBJECT
public:
    explicit GuiStats(QObject *parent = nullptr);

    /*! Counts the update signals of \a model. */
    void watch(const QAbstractItemModel *model);
    /*! Counts one refresh of a view (connect ViewPage::refreshed here). */
    void countRefresh() { ++m_refreshes; }
    void start(int intervalMs);

    /*! Called by MonitorApplication for every outermost event on the GUI thread. */
    static void addBusyNanoseconds(qint64 ns);
    static qint64 residentBytes();

private:
    void report();

    void probe();

    QTimer m_timer;
    QTimer m_probe;             // the latency probe
    QElapsedTimer m_wall;
    QElapsedTimer m_sinceProbe;
    qint64 m_lagSumNs = 0;
    qint64 m_lagMaxNs = 0;
    qint64 m_probes = 0;
    qint64 m_lastBusyNs = 0;
    qint64 m_lastCpuNs = 0;
    quint64 m_lastUpdates = 0;
    quint64 m_updates = 0;
    quint64 m_refreshes = 0;
    quint64 m_lastRefreshes = 0;
};

} // namespace PlexusMonitor::Gui
