// SPDX-License-Identifier: MIT
#pragma once

// What plexusctl prints: the cluster state as JSON or as a table, trace samples as lines.

#include <QtCore/qjsonobject.h>
#include <QtCore/qstring.h>
#include <QtCore/qstringlist.h>

namespace PlexusMonitor {
class ClusterState;
struct ProcessSnapshot;
struct TraceSample;
}

namespace PlexusCtl {

/*! The columns of the process table, in the order shown. */
enum class Column {
    Pid, Role, Slot, State, Uptime, Cpu, Rss, MessagesIn, MessagesOut, RateIn, RateOut,
    BytesIn, BytesOut, Backlog, Restarts,
};
inline constexpr int ColumnCount = int(Column::Restarts) + 1;
/*! "PID", "RATE IN", ... */
QString columnTitle(Column column);

/*! How statusTable() lays the processes out. */
struct TableOptions
{
    /*! Bounds every line: whole columns that do not fit are dropped (the least important
        first, never the sort column), and a text that is still too long ends in an
        ellipsis. 0: no bound. */
    int width = 0;
    /*! The processes of each machine sorted by this column: numbers biggest first, texts
        A to Z; Slot (the default) is the master, then the workers by slot. */
    Column sortBy = Column::Slot;
    bool reversed = false;
    /*! The most recent worker exits listed under each machine's table. */
    int exits = 5;
};

/*! True if the rates of \a process (of \a machine) were measured: it was in two snapshots
    in a row, and ClusterState keeps a rate history for it. A process seen once has none. */
bool ratesMeasured(const PlexusMonitor::ClusterState &state, quint64 machine,
                   const PlexusMonitor::ProcessSnapshot &process);

/*! The machines that reported, with their processes, and the refused peers (machine ids
    and message ids as hex strings: JSON numbers lose 64-bit values). A rate not measured
    yet is null. */
QJsonObject statusJson(const PlexusMonitor::ClusterState &state);
/*! One block per machine: a header line, then a table of its processes. */
QString statusTable(const PlexusMonitor::ClusterState &state, const TableOptions &options);
/*! \a text in at most \a width characters: cut at a word boundary where one is near, and
    ended with an ellipsis when cut. */
QString elide(const QString &text, int width);
/*! The \a fields joined by two spaces, as many whole fields from the first as fit in
    \a width (0: all); the first is elided if even it does not fit. */
QString fitFields(const QStringList &fields, int width);
/*! One line per sample. */
QString traceLine(const PlexusMonitor::TraceSample &sample);
QJsonObject traceJson(const PlexusMonitor::TraceSample &sample);

} // namespace PlexusCtl
