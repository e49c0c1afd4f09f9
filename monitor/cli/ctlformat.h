// SPDX-License-Identifier: MIT
#pragma once

// What plexusctl prints: the cluster state as JSON or as a table, trace samples as lines.

#include <QtCore/qjsonobject.h>
#include <QtCore/qstring.h>

namespace PlexusMonitor {
class ClusterState;
struct TraceSample;
}

namespace PlexusCtl {

/*! The machines that reported, with their processes, and the refused peers (machine ids
    and message ids as hex strings: JSON numbers lose 64-bit values). */
QJsonObject statusJson(const PlexusMonitor::ClusterState &state);
/*! One block per machine: a header line, then a table of its processes. \a width bounds
    the lines (0: no bound). */
QString statusTable(const PlexusMonitor::ClusterState &state, int width);
/*! One line per sample. */
QString traceLine(const PlexusMonitor::TraceSample &sample);
QJsonObject traceJson(const PlexusMonitor::TraceSample &sample);

} // namespace PlexusCtl
