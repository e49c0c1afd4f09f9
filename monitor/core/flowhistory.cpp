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
    const qint64 intervalMs = qint64(qMin<quint64>(batch.intervalMs, 3600 * 1000));
    // One batch alone above the bound keeps only its first entries.
    const qsizetype n = qMin<qsizetype>(batch.aggregates.size(), m_maxEntries);
    b.entries = int(n);
    QHash<qint64, qsizetype> senderIndex;
    for (qsizetype i = 0; i < n; ++i) {
        const TraceAggregate &a = batch.aggregates.at(i);
        // What arrived from another machine is in that machine's own batches, as sent by
        // its processes: counting it here too would count it twice.
        if (a.fromMachine && a.fromMachine != batch.machine)
            continue;
        auto it = senderIndex.constFind(a.pid);
        if (it == senderIndex.cend()) {
            it = senderIndex.insert(a.pid, b.senders.size());
            Sender &sender = b.senders.emplace_back();
            sender.pid = a.pid;
            sender.bucket.time = now;
            sender.bucket.intervalMs = intervalMs;
        }
        FlowBucket &bucket = b.senders[*it].bucket;
        bucket.count += a.count;
        bucket.bytes += a.bytes;
        bucket.entries.append({a.kind, a.opcode, a.count, a.bytes});
    }
    for (Sender &sender : b.senders)
        sender.bucket.entries.squeeze();
    b.senders.squeeze();
    m_entries += b.entries;
    m_batches.push_back(std::move(b));
    prune(now);
}

void FlowHistory::prune(qint64 now)
{
    while (!m_batches.empty()
           && (m_entries > m_maxEntries || m_batches.front().time < now - m_keepMs)) {
        m_entries -= m_batches.front().entries;
        m_batches.pop_front();
    }
}

void FlowHistory::removeMachine(quint64 machine)
{
    std::erase_if(m_batches, [&](const Batch &b) {
        if (b.machine != machine)
            return false;
        m_entries -= b.entries;
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
    // (machine, pid) -> lane; std::map keeps them sorted. The buckets share their entries.
    std::map<std::pair<quint64, qint64>, FlowLane> lanes;
    // Arrival times only grow: start at the first batch in the window rather than walk
    // the whole history. After the clock was set back, batches from before that may be
    // left out until they age out.
    auto first = std::partition_point(m_batches.cbegin(), m_batches.cend(),
                                      [since](const Batch &b) { return b.time < since; });
    for (auto it = first; it != m_batches.cend(); ++it) {
        if (it->time < since)
            continue;
        for (const Sender &sender : it->senders) {
            FlowLane &lane = lanes[{it->machine, sender.pid}];
            lane.machine = it->machine;
            lane.pid = sender.pid;
            lane.buckets.append(sender.bucket);
        }
    }
    QList<FlowLane> out;
    out.reserve(qsizetype(lanes.size()));
    for (auto &[key, lane] : lanes)
        out.append(std::move(lane));
    return out;
}

} // namespace PlexusMonitor
