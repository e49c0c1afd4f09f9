// SPDX-License-Identifier: MIT
#pragma once

#include <QtCore/qlist.h>
#include <QtCore/qstring.h>

QT_BEGIN_NAMESPACE
class QCategoryAxis;
QT_END_NAMESPACE

namespace PlexusMonitor::Gui {

/*!
    The axes of the monitor's rate charts, labelled for an operator: clock times at round
    moments on the time axis ("14:03:20", "14:03:30", ...), and rates with their unit on the
    value axis ("0", "500/s", "1.5k/s"; "0", "256 KiB/s", "1.5 MiB/s"), one unit per axis.
    Both axes are QCategoryAxis: a QValueAxis can only print bare numbers, and a
    QDateTimeAxis puts its ticks at odd moments.
*/
namespace ChartAxes {

struct Tick
{
    double value = 0;
    QString label;
};

/*! Clock-time ticks at round moments in [now - rangeMs, now] (ms since the epoch, local
    time): every 10 s for a minute, every 2 min for 10 minutes, every 10 min for an hour;
    seconds in the labels only when the step is under a minute. */
QList<Tick> timeTicks(qint64 now, qint64 rangeMs);

/*! Ticks from 0 to a round value at or above \a max (about 5 steps of 1, 2 or 5 times a
    power of ten, in the unit chosen for \a max), labelled as messages per second ("1.5k/s")
    or, with \a bytes, bytes per second ("1.5 MiB/s"). */
QList<Tick> rateTicks(double max, bool bytes);

/*! Replaces the labels of \a axis by \a ticks (at their values) and sets its range to
    [\a min, \a max]. */
void apply(QCategoryAxis *axis, const QList<Tick> &ticks, double min, double max);

/*! A new category axis with its labels on the values and the monitor's style. */
QCategoryAxis *makeAxis();

} // namespace ChartAxes
} // namespace PlexusMonitor::Gui
