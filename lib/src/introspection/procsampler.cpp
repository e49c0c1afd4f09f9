// SPDX-License-Identifier: MIT
#include "procsampler_p.h"

#include <QtCore/qbytearray.h>
#include <QtCore/qlist.h>

#include <fcntl.h>
#include <unistd.h>

namespace Plexus {

namespace {

long ticksPerSecond()
{
    static const long ticks = ::sysconf(_SC_CLK_TCK);
    return ticks > 0 ? ticks : 100;
}

long pageSize()
{
    static const long size = ::sysconf(_SC_PAGESIZE);
    return size > 0 ? size : 4096;
}

// /proc/PID/stat is one short line; read it without QFile (no allocation past the buffer).
QByteArray readStat(qint64 pid)
{
    char path[48];
    std::snprintf(path, sizeof path, "/proc/%lld/stat", static_cast<long long>(pid));
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return {};
    char buffer[1024];
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    ::close(fd);
    return n > 0 ? QByteArray(buffer, n) : QByteArray();
}

} // namespace

// Seconds since boot, from /proc/uptime; -1 if unreadable.
double uptimeSeconds()
{
    const int fd = ::open("/proc/uptime", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buffer[128];
    const ssize_t n = ::read(fd, buffer, sizeof buffer - 1);
    ::close(fd);
    if (n <= 0)
        return -1;
    bool ok = false;
    const double up = QByteArray(buffer, n).split(' ').value(0).toDouble(&ok);
    return ok ? up : -1;
}

bool ProcessSampler::parseStat(QByteArrayView stat, Stat *out)
{
    // "pid (comm) state ppid ...": comm may hold anything, so fields count from the last ')'.
    const qsizetype close = stat.lastIndexOf(')');
    if (close < 0)
        return false;
    const QList<QByteArray> fields = stat.sliced(close + 1).trimmed().toByteArray().split(' ');
    // After comm: state is field 3 of proc(5), utime 14, stime 15, starttime 22, rss 24.
    constexpr int First = 3;
    if (fields.size() < 24 - First + 1)
        return false;
    bool ok[4] = {};
    const quint64 utime = fields[14 - First].toULongLong(&ok[0]);
    const quint64 stime = fields[15 - First].toULongLong(&ok[1]);
    const quint64 start = fields[22 - First].toULongLong(&ok[2]);
    const qint64 rss = fields[24 - First].toLongLong(&ok[3]);
    if (!ok[0] || !ok[1] || !ok[2] || !ok[3] || rss < 0)
        return false;
    out->cpuTicks = utime + stime;
    out->startTicks = start;
    out->rssPages = rss;
    return true;
}

ProcessSampler::Sample ProcessSampler::sample(qint64 pid, qint64 nowMonoMs)
{
    Sample out;
    Stat stat;
    if (pid <= 0 || !parseStat(readStat(pid), &stat)) {
        m_last.remove(pid);
        return out;
    }
    const quint64 ticks = stat.cpuTicks;
    const double hz = double(ticksPerSecond());
    out.rssBytes = stat.rssPages * pageSize();
    Last &last = m_last[pid];
    // Measure over the newest reference that is at least ReferenceMs old (the older one
    // while the newest is younger): with 10 ms ticks, a shorter window would jump between
    // 0 and whole percents, and a monitor polls about every second.
    const bool newestOldEnough = nowMonoMs - last.at >= ReferenceMs || last.previousAt == 0;
    const qint64 refAt = newestOldEnough ? last.at : last.previousAt;
    const quint64 refTicks = newestOldEnough ? last.ticks : last.previousTicks;
    if (refAt > 0 && nowMonoMs > refAt && ticks >= refTicks) {
        const double cpuMs = double(ticks - refTicks) * 1000.0 / hz;
        out.cpuPercent = 100.0 * cpuMs / double(nowMonoMs - refAt);
    } else if (const double up = uptimeSeconds(); up > 0) {
        // /proc/uptime has 10 ms steps: a process started just now may seem not yet born.
        const double lived = qMax(up - double(stat.startTicks) / hz, 1.0 / hz);
        out.cpuPercent = qMin(100.0 * (double(ticks) / hz) / lived, 100.0 * 1024);
    }
    if (last.at == 0 || nowMonoMs - last.at >= ReferenceMs) {
        last.previousTicks = last.ticks;
        last.previousAt = last.at;
        last.ticks = ticks;
        last.at = nowMonoMs;
    }
    last.seen = nowMonoMs;
    return out;
}

void ProcessSampler::prune(qint64 olderThanMonoMs)
{
    m_last.removeIf([olderThanMonoMs](const auto &it) { return it.value().seen < olderThanMonoMs; });
}

} // namespace Plexus
