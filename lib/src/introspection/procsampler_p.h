// SPDX-License-Identifier: MIT
#pragma once

#include <QtCore/qbytearrayview.h>
#include <QtCore/qhash.h>

namespace Plexus {

/*
    CPU and memory of a machine's processes as a master reports them to monitors
    (docs/MONITOR.md 2.1, "cpu" and "rss"), read from /proc as htop reads them. CPU is
    user + system time since a reference sample of the same pid (renewed every ReferenceMs),
    as a percentage of one core (a process using two cores shows 200); the first sample of a pid, which has no
    previous one, gives the average since the process started.
    RSS is the resident set in bytes. Both are -1 when /proc cannot tell (another OS, a
    process gone meanwhile).
*/
class ProcessSampler
{
public:
    // CPU is measured over at least this window (the first sample excepted).
    static constexpr qint64 ReferenceMs = 2000;

    struct Sample
    {
        double cpuPercent = -1;
        qint64 rssBytes = -1;
    };

    // Samples \a pid now. Pids not sampled for a while are forgotten by prune().
    Sample sample(qint64 pid, qint64 nowMonoMs);
    // Forgets pids not sampled since \a olderThanMonoMs (exited processes).
    void prune(qint64 olderThanMonoMs);
    // The pids remembered.
    qsizetype size() const { return m_last.size(); }

    struct Stat
    {
        quint64 cpuTicks = 0;    // utime + stime
        quint64 startTicks = 0;  // since boot
        qint64 rssPages = 0;
    };
    // Parses the text of /proc/PID/stat; false on anything unexpected (the command name
    // may hold spaces and parentheses).
    static bool parseStat(QByteArrayView stat, Stat *out);

private:
    struct Last {
        quint64 ticks = 0;          // the newest reference
        qint64 at = 0;
        quint64 previousTicks = 0;  // the one before it
        qint64 previousAt = 0;
        qint64 seen = 0;
    };
    QHash<qint64, Last> m_last;
};

} // namespace Plexus
