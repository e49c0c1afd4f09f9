// SPDX-License-Identifier: MIT
#include "flowhistory.h"

#include <QtCore/qhash.h>

#include <algorithm>
#include <map>

namespace PlexusMonitor {

FlowHistory::FlowHistory(qint64 keepMs, int maxEntries)
    : m_keepMs(qMax<qint64>(1, keepMs)), m_maxEntries(qMax(1, maxEntries))
{ }

void FlowHistory::add(const TraceBatch &batch, qint64 now)
{
    if (batch.aggregates.isEmpty()) {
        prune(now);
        return;
    }
    Batch b;
    b.machine = batch.machine;
    b.time = now;
    b.intervalMs = qint64(qMin<quint64>(batch.intervalMs, 3600 * 1000));
    b.aggregates = batch.aggregates;
    // One batch alone above the bound keeps only its first entries.
    if (b.aggregates.size() > m_maxEntries)
        b.aggregates.resize(m_maxEntries);
    m_entries += int(b.aggregates.size());
    m_batches.push_back(std::move(b));
    prune(now);
}

void FlowHistory::prune(qint64 now)
{
    while (!m_batches.empty()
           && (m_entries > m_maxEntries || m_batches.front().time < now - m_keepMs)) {
        m_entries -= int(m_batches.front().aggregates.size());
        m_batches.pop_front();
    }
}

void FlowHistory::removeMachine(quint64 machine)
{
    std::erase_if(m_batches, [&](const Batch &b) {
        if (b.machine != machine)
            return false;
        m_entries -= int(b.aggregates.size());
        return true;
    });
}

void FlowHistory::clear()
{
    m_batches.clear();
    m_entries = 0;
}

QList<FlowLane> FlowHistory::lanes(qint64 since) const
{
    // (machine, pid) -> lane; std::map keeps them sorted.
    std::map<std::pair<quint64, qint64>, FlowLane> lanes;
    for (const Batch &b : m_batches) {
        if (b.time < since)
            continue;
        // Several aggregates of one sender in a batch go into one bucket of its lane.
        QHash<qint64, FlowBucket *> buckets;
        for (const TraceAggregate &a : b.aggregates) {
            // What arrived from another machine is in that machine's own batches, as sent
            // by its processes: counting it here too would count it twice.
            if (a.fromMachine && a.fromMachine != b.machine)
                continue;
            FlowBucket *&bucket = buckets[a.pid];
            if (!bucket) {
                FlowLane &lane = lanes[{b.machine, a.pid}];
                lane.machine = b.machine;
                lane.pid = a.pid;
                bucket = &lane.buckets.emplace_back();
                bucket->time = b.time;
                bucket->intervalMs = b.intervalMs;
            }
            bucket->count += a.count;
            bucket->bytes += a.bytes;
            bucket->entries.append({a.kind, a.opcode, a.count, a.bytes});
        }
    }
    QList<FlowLane> out;
    out.reserve(qsizetype(lanes.size()));
    for (auto &[key, lane] : lanes)
        out.append(std::move(lane));
    return out;
}

} // namespace PlexusMonitor
