// API-STABLE
// SPDX-License-Identifier: MIT
#pragma once

#include "snapshot.h"

#include <deque>

namespace PlexusMonitor {

/*! Messages of one kind and op-code in one bucket of a lane. */
struct FlowEntry
{
    MessageKind kind = MessageKind::Unknown;
    quint32 opcode = 0;
    quint64 count = 0;
    quint64 bytes = 0;
};

/*! What one process sent during one trace interval. */
struct FlowBucket
{
    qint64 time = 0;           //!< end of the interval, ms since the epoch (monitor's clock)
    qint64 intervalMs = 0;
    quint64 count = 0;         //!< sum over the entries
    quint64 bytes = 0;
    QList<FlowEntry> entries;  //!< by kind and op-code
};

/*! The lane of one sending process in the message-flow view. */
struct FlowLane
{
    quint64 machine = 0;
    qint64 pid = 0;
    QList<FlowBucket> buckets; //!< oldest first; intervals without traffic are absent
};

/*!
    \class PlexusMonitor::FlowHistory
    The trace aggregates of the last minutes, by sending process: what a message-flow view
    draws as one lane per process and one bar per interval. A lane holds what the master
    of the sender's own machine saw it send. Bounded both by age and by
    the number of aggregate entries kept, whatever the masters send: at most
    DefaultMaxEntries aggregates of the last DefaultKeepMs, about 100 bytes each in the
    worst case (one entry per bucket), so some 20 MiB at most.
*/
class FlowHistory
{
public:
    static constexpr qint64 DefaultKeepMs = 5 * 60 * 1000;
    static constexpr int DefaultMaxEntries = 200000;

    explicit FlowHistory(qint64 keepMs = DefaultKeepMs, int maxEntries = DefaultMaxEntries);

    /*! Adds the aggregates of \a batch, received at \a now (ms since the epoch). */
    void add(const TraceBatch &batch, qint64 now);
    void removeMachine(quint64 machine);
    void clear();
    /*! Aggregate entries kept. */
    int entryCount() const { return m_entries; }

    /*! The lanes with traffic at or after \a since, sorted by machine and pid. */
    QList<FlowLane> lanes(qint64 since) const;

private:
    // A batch as the lanes need it: one bucket per sender of the batch's own machine,
    // built once when it arrives, so that lanes() only shares the entry lists.
    struct Sender {
        qint64 pid = 0;
        FlowBucket bucket;
    };
    struct Batch {
        quint64 machine = 0;
        qint64 time = 0;
        int entries = 0;       // aggregates received, what the bound counts
        QList<Sender> senders;
    };
    void prune(qint64 now);

    std::deque<Batch> m_batches;   // by arrival
    qint64 m_keepMs;
    int m_maxEntries;
    int m_entries = 0;
};

} // namespace PlexusMonitor
