// API-STABLE
// SPDX-License-Identifier: MIT
#pragma once

#include "alarms.h"
#include "flowhistory.h"
#include "ratehistory.h"
#include "snapshot.h"

#include <QtCore/qhash.h>

namespace PlexusMonitor {

/*! A process of the cluster: its machine and pid. */
struct ProcessKey
{
    quint64 machine = 0;
    qint64 pid = 0;

    friend bool operator==(const ProcessKey &a, const ProcessKey &b) noexcept
    {
        return a.machine == b.machine && a.pid == b.pid;
    }
    friend size_t qHash(const ProcessKey &k, size_t seed = 0) noexcept
    {
        return qHashMulti(seed, k.machine, k.pid);
    }
};

/*! The rates of one process since its previous snapshot, whole and per op-code. */
struct ProcessRates
{
    Rates total;
    QList<Rates> opcodes;      //!< parallel to ProcessSnapshot::opcodes
};

/*! What a trace sample costs in memory, as the trace ring and TraceModel count it. */
inline qsizetype traceSampleCost(const TraceSample &s)
{
    return qsizetype(sizeof(TraceSample)) + s.data.size();
}

/*! What the monitor knows of one machine. */
struct MachineEntry
{
    quint64 machine = 0;
    // The monitor's own link to its master (Plexus::PeerInfo).
    bool connected = false;
    QString address;
    quint16 port = 0;
    QString version;
    double rttMs = -1;
    qint64 connectedSince = 0;     //!< ms since the epoch
    qint64 lastSeen = 0;           //!< last link event or snapshot, monitor's clock
    /*! Known only from another master's peer list: no link of the monitor's own. */
    bool discoveredOnly = false;

    bool hasSnapshot = false;
    MachineSnapshot snapshot;      //!< the last one decoded
    QList<ProcessRates> rates;     //!< parallel to snapshot.processes
    qint64 snapshotAt = 0;         //!< when it arrived, monitor's clock
    quint64 snapshots = 0;         //!< snapshots received
    quint64 badAnswers = 0;        //!< answers that did not decode
    QString lastError;             //!< why the last bad answer was refused

    // The trace subscription.
    quint64 traceBatches = 0;
    quint64 traceEvents = 0;       //!< messages the master saw, all batches
    quint64 traceDropped = 0;      //!< batches the master dropped for this monitor
    quint64 traceGaps = 0;         //!< batches missing in the sequence
    quint64 traceSeq = 0;          //!< the last batch's sequence number

    /*! The master's process, or nullptr. */
    const ProcessSnapshot *master() const;
    /*! The machine's total rates: those of its master, through which all its traffic goes. */
    Rates totalRates() const;
};

/*! A peer the monitor's own Node refused (wrong SECRET, incompatible version, ...). */
struct RefusedPeer
{
    QString peer;                  //!< as the Node reports it: "tcp:ADDRESS", "udp:ADDRESS"
    QString reason;                //!< Plexus::FrameError name
    bool incompatible = false;     //!< a version mismatch rather than an attack or a key
    quint64 count = 0;
    qint64 lastSeen = 0;
    QString address;               //!< the address part of peer
    /*! Its discovery announcements were refused ("udp:"): a machine elsewhere on the
        network (another cluster, or one with another SECRET), not a link of the monitor. */
    bool announcer = false;
};

/*! Splits a peer as the Node reports it ("tcp:10.0.0.2", "udp:fe80::1", "unix:pid 12")
    into its transport and its address; a text without a scheme is all address. */
void splitPeer(const QString &peer, QString *transport, QString *address);

/*!
    \class PlexusMonitor::ClusterState
    The merged view of the cluster that the models read: one MachineEntry per machine
    (from the monitor's links, the masters' snapshots and their peer lists), rates from
    successive snapshots and their history, the latest trace samples (a ring) and the
    trace aggregates for the flow view, and the peers the monitor's Node refused.

    Pure data, no signals: MonitorClient feeds it, and tests can feed it directly.
    generation() grows with every change, so that a model can skip a refresh cheaply.
*/
class ClusterState
{
public:
    static constexpr int DefaultTraceCapacity = 10000;
    /*! The trace ring's bound in bytes (traceSampleCost() of every sample), whatever the
        capacity: payload samples are up to 4 KiB each. */
    static constexpr qsizetype DefaultTraceMaxBytes = 8 * 1024 * 1024;
    /*! Rate histories of one machine, at most (the master first, then its workers in
        the snapshot's order): each is up to an hour of points. */
    static constexpr int MaxHistoriesPerMachine = 1024;

    ClusterState();

    // Input.
    void setConnected(quint64 machine, const QString &address, quint16 port,
                      const QString &version, double rttMs, qint64 since, qint64 now);
    void setDisconnected(quint64 machine, qint64 now);
    /*! Applies a snapshot received at \a now (ms since the epoch). */
    void applySnapshot(const MachineSnapshot &snapshot, qint64 now);
    /*! Counts an answer of \a machine that could not be decoded. */
    void addBadAnswer(quint64 machine, const QString &error);
    void applyTrace(const TraceBatch &batch, qint64 now);
    void addRefused(const QString &peer, const QString &reason, bool incompatible, qint64 now);
    /*! Forgets machines that are neither connected nor in any peer list since
        \a olderThanMs before \a now. */
    void prune(qint64 now, qint64 olderThanMs);
    void clear();

    // Output.
    quint64 generation() const { return m_generation; }
    /*! Sorted by machine id. */
    const QList<MachineEntry> &machines() const { return m_machines; }
    const MachineEntry *machine(quint64 id) const;
    const ProcessSnapshot *process(const ProcessKey &key) const;
    const ProcessRates *processRates(const ProcessKey &key) const;
    const QList<RefusedPeer> &refused() const { return m_refused; }
    /*! Machines with a snapshot. */
    int reportingMachines() const;

    /*! The rate history of a process (nullptr if unknown). A machine's is its master's. */
    const RateHistory *history(const ProcessKey &key) const;
    const RateHistory *machineHistory(quint64 machine) const;

    const FlowHistory &flow() const { return m_flow; }

    /*! The alarms, re-evaluated whenever a machine's snapshot or link changes. */
    const AlarmTracker &alarms() const { return m_alarms; }
    AlarmTracker &alarms() { return m_alarms; }

    /*! Trace samples: a sliding window of the last traceCapacity(), fewer if they take
        more than traceMaxBytes() (traceSampleCost() each). Each sample has a sequence
        number, counting from 0 for the first ever received. */
    void setTraceCapacity(int capacity);
    int traceCapacity() const { return m_traceCapacity; }
    void setTraceMaxBytes(qsizetype bytes);
    qsizetype traceMaxBytes() const { return m_traceMaxBytes; }
    /*! What the samples in the ring take now. */
    qsizetype traceBytes() const { return m_traceBytes; }
    /*! The sequence number the next sample will get (= samples received so far). */
    quint64 traceSequence() const { return m_traceNext; }
    /*! The samples with a sequence number >= \a from that are still in the ring, oldest
        first; \a first (if not null) receives the sequence number of the first one. */
    QList<TraceSample> traceSamples(quint64 from, quint64 *first = nullptr) const;

private:
    MachineEntry &entry(quint64 machine);
    void touch() { ++m_generation; }
    void trimTrace();

    QList<MachineEntry> m_machines;
    QList<RefusedPeer> m_refused;
    QHash<quint64, QHash<qint64, RateHistory>> m_history;   // machine -> pid -> history
    FlowHistory m_flow;
    AlarmTracker m_alarms;
    QList<TraceSample> m_trace;    // sequence numbers [m_traceNext - size, m_traceNext)
    int m_traceCapacity = DefaultTraceCapacity;
    qsizetype m_traceMaxBytes = DefaultTraceMaxBytes;
    qsizetype m_traceBytes = 0;
    quint64 m_traceNext = 0;
    quint64 m_generation = 0;
};

} // namespace PlexusMonitor
