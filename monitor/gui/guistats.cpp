// SPDX-License-Identifier: MIT
#include "guistats.h"

#include <QtCore/qabstractitemmodel.h>
#include <QtCore/qfile.h>

#include <atomic>
#include <cstdio>
#include <ctime>

#include <unistd.h>

namespace PlexusMonitor::Gui {

namespace {
constexpr int ProbeIntervalMs = 50;
std::atomic<qint64> g_busyNs{0};

qint64 threadCpuNs()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return qint64(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
} // namespace

GuiStats::GuiStats(QObject *parent) : QObject(parent)
{
    connect(&m_timer, &QTimer::timeout, this, &GuiStats::report);
    m_probe.setTimerType(Qt::PreciseTimer);
    m_probe.setInterval(ProbeIntervalMs);
    connect(&m_probe, &QTimer::timeout, this, &GuiStats::probe);
}

void GuiStats::probe()
{
    const qint64 lag = qMax<qint64>(0, m_sinceProbe.nsecsElapsed() - qint64(ProbeIntervalMs) * 1'000'000);
    m_sinceProbe.restart();
    m_lagSumNs += lag;
    m_lagMaxNs = qMax(m_lagMaxNs, lag);
    ++m_probes;
}

void GuiStats::addBusyNanoseconds(qint64 ns)
{
    g_busyNs.fetch_add(ns, std::memory_order_relaxed);
}

qint64 GuiStats::residentBytes()
{
    QFile statm(QStringLiteral("/proc/self/statm"));
    if (!statm.open(QIODevice::ReadOnly))
        return -1;
    const QList<QByteArray> fields = statm.readAll().split(' ');
    return fields.size() > 1 ? fields[1].toLongLong() * sysconf(_SC_PAGESIZE) : -1;
}

void GuiStats::watch(const QAbstractItemModel *model)
{
    const auto count = [this] { ++m_updates; };
    connect(model, &QAbstractItemModel::modelReset, this, count);
    connect(model, &QAbstractItemModel::dataChanged, this, count);
    connect(model, &QAbstractItemModel::rowsInserted, this, count);
    connect(model, &QAbstractItemModel::rowsRemoved, this, count);
    connect(model, &QAbstractItemModel::layoutChanged, this, count);
}

void GuiStats::start(int intervalMs)
{
    m_wall.start();
    m_lastBusyNs = g_busyNs.load();
    m_lastCpuNs = threadCpuNs();
    m_lastUpdates = m_updates;
    m_lastRefreshes = m_refreshes;
    m_timer.start(intervalMs);
    m_sinceProbe.start();
    m_probe.start();
}

void GuiStats::report()
{
    const qint64 wallNs = m_wall.nsecsElapsed();
    m_wall.restart();
    const qint64 busy = g_busyNs.load();
    const qint64 cpu = threadCpuNs();
    const double wall = wallNs > 0 ? double(wallNs) : 1.0;
    const double busyShare = 100.0 * double(busy - m_lastBusyNs) / wall;
    const double cpuShare = 100.0 * double(cpu - m_lastCpuNs) / wall;
    const double updates = double(m_updates - m_lastUpdates) * 1e9 / wall;
    const double refreshes = double(m_refreshes - m_lastRefreshes) * 1e9 / wall;
    m_lastRefreshes = m_refreshes;
    m_lastBusyNs = busy;
    m_lastCpuNs = cpu;
    m_lastUpdates = m_updates;
    const double lagAvgMs = m_probes ? double(m_lagSumNs) / double(m_probes) / 1e6 : 0;
    const double lagMaxMs = double(m_lagMaxNs) / 1e6;
    m_lagSumNs = m_lagMaxNs = m_probes = 0;
    std::fprintf(stderr,
                 "plexus-monitor stats: gui busy %.1f%% (events), gui cpu %.1f%%, "
                 "model updates %.1f/s, view refreshes %.1f/s, rss %.1f MiB, "
                 "timer lag avg %.1f ms max %.1f ms\n",
                 busyShare, cpuShare, updates, refreshes, double(residentBytes()) / (1024.0 * 1024.0),
                 lagAvgMs, lagMaxMs);
    std::fflush(stderr);
}

} // namespace PlexusMonitor::Gui
