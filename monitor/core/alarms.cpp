// SPDX-License-Identifier: MIT
#include "alarms.h"

#include "clusterstate.h"
#include "format.h"

#include <QtCore/qset.h>

using namespace Qt::StringLiterals;

namespace PlexusMonitor {

namespace {

// What makes two alarms the same one: it is not raised again while it stays active.
struct AlarmKey
{
    Alarm::Kind kind;
    quint64 machine;
    qint64 pid;
    int slot;

    friend bool operator==(const AlarmKey &a, const AlarmKey &b) noexcept
    {
        return a.kind == b.kind && a.machine == b.machine && a.pid == b.pid && a.slot == b.slot;
    }
    friend size_t qHash(const AlarmKey &k, size_t seed = 0) noexcept
    {
        return qHashMulti(seed, int(k.kind), k.machine, k.pid, k.slot);
    }
};

AlarmKey keyOf(const Alarm &a) { return {a.kind, a.machine, a.pid, a.slot}; }

QString machineLabel(const MachineEntry &m)
{
    const QString id = Format::machineId(m.machine);
    // The master's own word: no control characters into a terminal or a log line.
    QString host = m.snapshot.host;
    for (QChar &c : host) {
        if (c.unicode() < 0x20 || c.unicode() == 0x7f)
            c = QChar(QChar::ReplacementCharacter);
    }
    return host.isEmpty() ? u"machine "_s + id : u"machine %1 (%2)"_s.arg(id, host);
}

} // namespace

QString alarmKindName(Alarm::Kind kind)
{
    switch (kind) {
    case Alarm::MachineLost: return u"machine lost"_s;
    case Alarm::SlotGivenUp: return u"slot given up"_s;
    case Alarm::Backlog: return u"backlog"_s;
    case Alarm::Rejections: return u"rejections"_s;
    }
    return u"?"_s;
}

bool AlarmTracker::update(const ClusterState &state, qint64 now)
{
    // The conditions that hold now.
    QList<Alarm> now_;
    for (const MachineEntry &m : state.machines()) {
        // Lost: it reported through a link of the monitor's, and that link went away
        // (setDisconnected() drops the snapshot; one known from peer lists never counts).
        if (!m.connected && !m.hasSnapshot && !m.discoveredOnly && m.snapshots > 0) {
            now_.append({Alarm::MachineLost, m.machine, 0, -1,
                         u"%1 lost: no link since %2"_s.arg(machineLabel(m),
                                                             Format::time(m.lastSeen))});
            continue;
        }
        if (!m.hasSnapshot)
            continue;
        for (const ProcessSnapshot &p : m.snapshot.processes) {
            if (p.state == ProcessState::GivenUp) {
                now_.append({Alarm::SlotGivenUp, m.machine, 0, p.slot,
                             u"%1: worker slot %2 given up (last pid %3)"_s
                                     .arg(machineLabel(m)).arg(p.slot).arg(p.pid)});
            }
            if (p.backlog > m_backlogBytes) {
                now_.append({Alarm::Backlog, m.machine, p.pid, p.slot,
                             u"%1: %2 queued towards pid %3"_s.arg(machineLabel(m),
                                                                   Format::bytes(p.backlog))
                                     .arg(p.pid)});
            }
        }
        if (const ProcessSnapshot *master = m.master()) {
            // The first sight of a master only sets the reference: what it rejected
            // before this monitor came is in the Security view, not news.
            const quint64 count = master->counters.rejected;
            auto r = m_rejections.find(m.machine);
            if (r == m_rejections.end()) {
                r = m_rejections.insert(m.machine, {count, 0});
            } else {
                if (count > r->count)
                    r->lastIncrease = now;
                r->count = count;
            }
            if (r->lastIncrease > 0 && now - r->lastIncrease < RejectionHoldMs) {
                now_.append({Alarm::Rejections, m.machine, master->pid, -1,
                             u"%1 rejected input (%2 in all): see Security"_s
                                     .arg(machineLabel(m)).arg(master->counters.rejected)});
            }
        }
    }
    // Forget the references of machines that are gone.
    QSet<quint64> known;
    for (const MachineEntry &m : state.machines())
        known.insert(m.machine);
    m_rejections.removeIf([&](const auto &it) { return !known.contains(it.key()); });

    bool changed = false;
    QHash<AlarmKey, const Alarm *> holding;
    for (const Alarm &a : std::as_const(now_))
        holding.insert(keyOf(a), &a);
    // Clear what no longer holds; refresh the text of what does.
    for (qsizetype i = 0; i < m_active.size();) {
        const auto it = holding.find(keyOf(m_active[i]));
        // A lost machine the state has since forgotten (ClusterState::prune) is still
        // lost: its alarm holds until it comes back, or for LostHoldMs.
        const Alarm &a = m_active[i];
        if (it == holding.end() && a.kind == Alarm::MachineLost && !known.contains(a.machine)
            && now - a.startedAt < LostHoldMs) {
            ++i;
            continue;
        }
        if (it == holding.end()) {
            Alarm a = m_active.takeAt(i);
            a.clearedAt = now;
            m_cleared.prepend(std::move(a));
            changed = true;
            continue;
        }
        m_active[i].text = (*it)->text;
        holding.erase(it);
        ++i;
    }
    // Raise what is new, in a stable order.
    m_suppressed = 0;
    for (const Alarm &a : std::as_const(now_)) {
        if (!holding.contains(keyOf(a)))
            continue;
        holding.remove(keyOf(a));
        if (m_active.size() >= MaxActive) {
            ++m_suppressed;
            continue;
        }
        Alarm raised = a;
        raised.startedAt = now;
        m_active.append(std::move(raised));
        changed = true;
    }
    if (m_cleared.size() > MaxCleared)
        m_cleared.resize(MaxCleared);
    return changed;
}

QList<Alarm> AlarmTracker::alarms() const
{
    return m_active + m_cleared;
}

QList<Alarm> AlarmTracker::active() const
{
    return m_active;
}

void AlarmTracker::clear()
{
    m_active.clear();
    m_cleared.clear();
    m_rejections.clear();
    m_suppressed = 0;
}

} // namespace PlexusMonitor
