// SPDX-License-Identifier: MIT
#pragma once

// What plexusctl says about the cluster's health: the alarms and the worker exit history,
// as text and as JSON (status, top).

#include <QtCore/qjsonarray.h>
#include <QtCore/qstring.h>

namespace PlexusMonitor {
class AlarmTracker;
struct MachineSnapshot;
}

namespace PlexusCtl {

/*! The active alarms, one line each with when it started; empty if none. */
QString alarmsText(const PlexusMonitor::AlarmTracker &alarms, int width);
QJsonArray alarmsJson(const PlexusMonitor::AlarmTracker &alarms);
/*! The last \a max exits of \a machine, newest first, one line each; empty if none. */
QString exitsText(const PlexusMonitor::MachineSnapshot &machine, int max, int width);
QJsonArray exitsJson(const PlexusMonitor::MachineSnapshot &machine);

} // namespace PlexusCtl
