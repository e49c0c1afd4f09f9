// SPDX-License-Identifier: MIT
#pragma once

// plexusctl metrics: the cluster's counters and gauges in the Prometheus text exposition
// format, version 0.0.4 (names also valid OpenMetrics names: counters end in _total), for
// node_exporter's textfile collector or a scrape wrapper.

#include <QtCore/qbytearray.h>
#include <QtCore/qstring.h>

namespace PlexusMonitor {
class ClusterState;
}

namespace PlexusCtl {

/*!
    The metrics of every machine that reported a snapshot, as UTF-8 text: for each metric
    family one "# HELP" and one "# TYPE" line, then its samples, without timestamps.
    Machines carry the labels machine="0x<16 hex digits>" and host; processes also pid,
    role and slot (-1: the master); traffic by kind adds kind, rejections reason.

    Whatever the masters sent, every line is valid: label values are escaped (\\, \",
    \n) and other control characters (NUL included) replaced by U+FFFD, a non-finite
    value is written NaN, +Inf or -Inf, and a series a master lists twice (same labels)
    is written once, the first time.
*/
QByteArray metricsText(const PlexusMonitor::ClusterState &state);

/*! \a value as a label value between the quotes: \, " and newline escaped, other
    control characters replaced. */
QByteArray escapeLabelValue(const QString &value);

} // namespace PlexusCtl
