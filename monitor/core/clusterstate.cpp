// SPDX-License-Identifier: MIT
#include "clusterstate.h"

#include <QtCore/qset.h>

#include <algorithm>

namespace PlexusMonitor {

namespace {

double perSecond(quint64 now, quint64 before, double seconds)
{
    // A counter that went down belongs to a new incarnation: no meaningful rate.
    return now >= before ? double(now - before) / seconds : 0.0;
}

Rates rates(const ProcessCounters &now, const ProcessCounters &before, double seconds)
{
    return {perSecond(now.messagesIn, before.messagesIn, seconds),
            perSecond(now.messagesOut, before.messagesOut, seconds),
            perSecond(now.bytesIn, before.bytesIn, seconds),
            perSecond(now.bytesOut, before.bytesOut, seconds)};
}

Rates rates(const OpcodeStats &now, const OpcodeStats &before, double seconds)
{
    return {perSecond(now.messagesIn, before.messagesIn, seconds),
            perSecond(now.messagesOut, before.messagesOut, seconds),
            perSecond(now.bytesIn, before.bytesIn, seconds),
            perSecond(now.bytesOut, before.bytesOut, seconds)};
}

} // namespace

const ProcessSnapshot *MachineEntry::master() const
{
    if (!hasSnapshot)
        return nullptr;
    for (const ProcessSnapshot &p : snapshot.processes) {
        if (p.isMaster())
            return &p;
    }
    return nullptr;
}

Rates MachineEntry::totalRates() const
{
    for (qsizetype i = 0; i < snapshot.processes.size() && i < rates.size(); ++i) {
        if (snapshot.processes.at(i).isMaster())
            return rates.at(i).total;
    }
    return {};
}

ClusterState::ClusterState() = default;

MachineEntry &ClusterState::entry(quint64 machine)
{
    auto it = std::lower_bound(m_machines.begin(), m_machines.end(), machine,
                               [](const MachineEntry &e, quint64 id) { return e.machine < id; });
    if (it == m_machines.end() || it->machine != machine) {
        it = m_machines.insert(it, MachineEntry());
        it->machine = machine;
    }
    return *it;
}

const MachineEntry *ClusterState::machine(quint64 id) const
{
    auto it = std::lower_bound(m_machines.cbegin(), m_machines.cend(), id,
                               [](const MachineEntry &e, quint64 m) { return e.machine < m; });
    return it != m_machines.cend() && it->machine == id ? &*it : nullptr;
}

const ProcessSnapshot *ClusterState::process(const ProcessKey &key) const
{
    const MachineEntry *m = machine(key.machine);
    if (!m || !m->hasSnapshot)
        return nullptr;
    for (const ProcessSnapshot &p : m->snapshot.processes) {
        if (p.pid == key.pid)
            return &p;
    }
    return nullptr;
}

const ProcessRates *ClusterState::processRates(const ProcessKey &key) const
{
    const MachineEntry *m = machine(key.machine);
    if (!m || !m->hasSnapshot)
        return nullptr;
    for (qsizetype i = 0; i < m->snapshot.processes.size() && i < m->rates.size(); ++i) {
        if (m->snapshot.processes.at(i).pid == key.pid)
            return &m->rates.at(i);
    }
    return nullptr;
}

int ClusterState::reportingMachines() const
{
    return int(std::count_if(m_machines.cbegin(), m_machines.cend(),
                             [](const MachineEntry &e) { return e.hasSnapshot; }));
}

void ClusterState::setConnected(quint64 machine, const QString &address, quint16 port,
                                const QString &version, double rttMs, qint64 since, qint64 now)
{
    if (machine == 0)
        return;
    MachineEntry &e = entry(machine);
    const bool linked = std::exchange(e.connected, true);
    e.discoveredOnly = false;
    e.address = address;
    if (port)
        e.port = port;
    if (!version.isEmpty())
        e.version = version;
    e.rttMs = rttMs;
    e.connectedSince = since;
    e.lastSeen = now;
    if (!linked)   // called on every poll to refresh the RTT: only a new link can clear
        m_alarms.update(*this, now);
    touch();
}

void ClusterState::setDisconnected(quint64 machine, qint64 now)
{
    auto it = std::find_if(m_machines.begin(), m_machines.end(),
                           [machine](const MachineEntry &m) { return m.machine == machine; });
    if (it == m_machines.end())
        return;
    MachineEntry *e = &*it;
    e->connected = false;
    e->lastSeen = now;
    // Its processes are no longer known: the process tree drops them.
    e->hasSnapshot = false;
    e->snapshot.processes.clear();
    e->snapshot.links.clear();
    e->rates.clear();
    m_history.remove(machine);
    m_flow.removeMachine(machine);
    m_alarms.update(*this, now);
    touch();
}

void ClusterState::applySnapshot(const MachineSnapshot &snapshot, qint64 now)
{
    if (snapshot.machine == 0)
        return;
    MachineEntry &e = entry(snapshot.machine);

    // Rates over the master's own clock when both snapshots carry a time (no network
    // jitter in it), over the monitor's arrival times otherwise.
    double seconds = 0;
    if (e.hasSnapshot) {
        if (snapshot.time > 0 && e.snapshot.time > 0 && snapshot.time > e.snapshot.time)
            seconds = double(snapshot.time - e.snapshot.time) / 1000.0;
        else if (now > e.snapshotAt)
            seconds = double(now - e.snapshotAt) / 1000.0;
    }

    QHash<qint64, const ProcessSnapshot *> previous;
    if (e.hasSnapshot) {
        for (const ProcessSnapshot &p : std::as_const(e.snapshot.processes))
            previous.insert(p.pid, &p);
    }

    // Histories of processes that are gone, first, so that their room goes to new ones.
    const quint64 id = snapshot.machine;
    QSet<qint64> pids;
    for (const ProcessSnapshot &p : snapshot.processes)
        pids.insert(p.pid);
    QHash<qint64, RateHistory> &histories = m_history[id];
    histories.removeIf([&](const auto &it) { return !pids.contains(it.key()); });

    QList<ProcessRates> newRates(snapshot.processes.size());
    QSet<qint64> recorded;   // a pid listed twice (0 while restarting) gets one history
    for (qsizetype i = 0; i < snapshot.processes.size(); ++i) {
        const ProcessSnapshot &p = snapshot.processes.at(i);
        ProcessRates &r = newRates[i];
        r.opcodes.resize(p.opcodes.size());
        const ProcessSnapshot *before = previous.value(p.pid);
        if (!before || seconds <= 0)
            continue;
        r.total = rates(p.counters, before->counters, seconds);
        QHash<quint32, const OpcodeStats *> codes;
        codes.reserve(before->opcodes.size());
        for (const OpcodeStats &o : before->opcodes)
            codes.insert(o.code, &o);
        for (qsizetype k = 0; k < p.opcodes.size(); ++k) {
            if (const OpcodeStats *o = codes.value(p.opcodes.at(k).code))
                r.opcodes[k] = rates(p.opcodes.at(k), *o, seconds);
        }
        if (recorded.contains(p.pid))
            continue;
        recorded.insert(p.pid);
        auto h = histories.find(p.pid);
        if (h == histories.end()) {
            if (histories.size() >= MaxHistoriesPerMachine)
                continue;   // a master listing thousands of processes: the first ones
            h = histories.insert(p.pid, RateHistory());
        }
        h->append(now, r.total);
    }
    if (histories.isEmpty())
        m_history.remove(id);

    e.snapshot = snapshot;
    e.rates = std::move(newRates);
    e.hasSnapshot = true;
    e.snapshotAt = now;
    e.lastSeen = now;
    e.discoveredOnly = false;
    ++e.snapshots;
    if (e.version.isEmpty())
        e.version = snapshot.version;
    if (!e.port)
        e.port = snapshot.clusterPort;

    // The machines this master is linked to, that the monitor may not be (yet).
    for (const PeerSnapshot &peer : snapshot.peers) {
        if (peer.monitor || peer.machine == 0 || peer.machine == id)
            continue;
        MachineEntry &other = entry(peer.machine);   // may move e: not used below
        if (other.connected)
            continue;
        if (!other.hasSnapshot)
            other.discoveredOnly = true;
        other.lastSeen = now;
        if (other.address.isEmpty())
            other.address = peer.address;
        if (!other.port)
            other.port = peer.port;
        if (other.version.isEmpty())
            other.version = peer.version;
    }
    m_alarms.update(*this, now);
    touch();
}

void ClusterState::addBadAnswer(quint64 machine, const QString &error)
{
    if (machine == 0)
        return;
    MachineEntry &e = entry(machine);
    ++e.badAnswers;
    e.lastError = error;
    touch();
}

void ClusterState::applyTrace(const TraceBatch &batch, qint64 now)
{
    if (batch.machine == 0)
        return;
    MachineEntry &e = entry(batch.machine);
    // seq counts from 0 per subscription; a lower one is a new subscription.
    if (e.traceBatches > 0 && batch.seq > e.traceSeq + 1)
        e.traceGaps += batch.seq - e.traceSeq - 1;
    e.traceSeq = batch.seq;
    ++e.traceBatches;
    e.traceEvents += batch.events;
    e.traceDropped = batch.dropped;
    m_flow.add(batch, now);

    // Only the newest traceCapacity() samples of the batch can stay anyway.
    const qsizetype skip = qMax<qsizetype>(0, batch.samples.size() - m_traceCapacity);
    m_traceNext += quint64(skip);
    for (qsizetype i = skip; i < batch.samples.size(); ++i) {
        m_trace.append(batch.samples.at(i));
        m_trace.back().machine = batch.machine;
        m_traceBytes += traceSampleCost(m_trace.back());
        ++m_traceNext;
    }
    trimTrace();
    touch();
}

void ClusterState::trimTrace()
{
    // The oldest go until both bounds hold (the newest sample always stays).
    qsizetype drop = qMax<qsizetype>(0, m_trace.size() - m_traceCapacity);
    qsizetype bytes = m_traceBytes;
    for (qsizetype i = 0; i < drop; ++i)
        bytes -= traceSampleCost(m_trace.at(i));
    while (bytes > m_traceMaxBytes && drop < m_trace.size() - 1)
        bytes -= traceSampleCost(m_trace.at(drop++));
    if (drop == 0)
        return;
    // QList::remove() at the front only moves its begin: the ring is a sliding window.
    m_trace.remove(0, drop);
    m_traceBytes = bytes;
}

void splitPeer(const QString &peer, QString *transport, QString *address)
{
    // The scheme ends at the first colon: an IPv6 address has more of them.
    const qsizetype colon = peer.indexOf(u':');
    const bool scheme = colon > 0 && colon <= 5;
    *transport = scheme ? peer.left(colon) : QString();
    *address = scheme ? peer.mid(colon + 1) : peer;
}

void ClusterState::addRefused(const QString &peer, const QString &reason, bool incompatible,
                              qint64 now)
{
    auto it = std::find_if(m_refused.begin(), m_refused.end(), [&](const RefusedPeer &r) {
        return r.peer == peer && r.reason == reason;
    });
    if (it == m_refused.end()) {
        if (m_refused.size() >= 4096)   // a flood of made-up peers: keep the first ones
            return;
        RefusedPeer r{peer, reason, incompatible, 0, now};
        QString transport;
        splitPeer(peer, &transport, &r.address);
        r.announcer = transport == u"udp";
        it = m_refused.insert(m_refused.end(), std::move(r));
    }
    ++it->count;
    it->lastSeen = now;
    touch();
}

void ClusterState::prune(qint64 now, qint64 olderThanMs)
{
    const qsizetype before = m_machines.size();
    m_machines.removeIf([&](const MachineEntry &e) {
        return !e.connected && !e.hasSnapshot && e.lastSeen < now - olderThanMs;
    });
    if (m_machines.size() != before)
        touch();
    if (m_alarms.update(*this, now))
        touch();
}

void ClusterState::clear()
{
    m_machines.clear();
    m_refused.clear();
    m_history.clear();
    m_flow.clear();
    m_alarms.clear();
    m_trace.clear();
    m_traceBytes = 0;
    m_traceNext = 0;
    touch();
}

const RateHistory *ClusterState::history(const ProcessKey &key) const
{
    const auto machine = m_history.constFind(key.machine);
    if (machine == m_history.cend())
        return nullptr;
    const auto it = machine->constFind(key.pid);
    return it == machine->cend() ? nullptr : &*it;
}

const RateHistory *ClusterState::machineHistory(quint64 id) const
{
    const MachineEntry *e = machine(id);
    const ProcessSnapshot *master = e ? e->master() : nullptr;
    return master ? history({id, master->pid}) : nullptr;
}

void ClusterState::setTraceCapacity(int capacity)
{
    m_traceCapacity = qMax(1, capacity);
    trimTrace();
    touch();
}

void ClusterState::setTraceMaxBytes(qsizetype bytes)
{
    m_traceMaxBytes = qMax<qsizetype>(1, bytes);
    trimTrace();
    touch();
}

QList<TraceSample> ClusterState::traceSamples(quint64 from, quint64 *first) const
{
    const quint64 oldest = m_traceNext - quint64(m_trace.size());
    const quint64 start = qMax(from, oldest);
    if (first)
        *first = start;
    if (start >= m_traceNext)
        return {};
    return m_trace.mid(qsizetype(start - oldest));
}

} // namespace PlexusMonitor
