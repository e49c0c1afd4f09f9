// SPDX-License-Identifier: MIT
#pragma once

#include <QtCore/qhash.h>
#include <QtCore/qlist.h>
#include <QtCore/qstring.h>

namespace PlexusMonitor {

class ClusterState;

/*! A condition an operator should act on, from the time it started until it cleared. */
struct Alarm
{
    enum Kind : quint8 {
        MachineLost,   //!< a machine that reported is no longer linked
        SlotGivenUp,   //!< a worker slot given up (crash loop, or it may not restart)
        Backlog,       //!< bytes queued towards a process above the threshold
        Rejections,    //!< a master rejected input (security) in the last minute
    };
    Kind kind = MachineLost;
    quint64 machine = 0;
    qint64 pid = 0;            //!< 0: the machine as a whole
    int slot = -1;
    QString text;              //!< one line, for a bar or a terminal
    qint64 startedAt = 0;      //!< ms since the epoch, the monitor's clock
    qint64 clearedAt = 0;      //!< 0 while active

    bool isActive() const { return clearedAt == 0; }
};

/*! "machine lost", "slot given up", "backlog", "rejections". */
QString alarmKindName(Alarm::Kind kind);

/*!
    \class PlexusMonitor::AlarmTracker
    Derives alarms from the cluster state each time it changes: what is active now, when
    each started and cleared. Bounded whatever the cluster does: at most MaxActive alarms
    are active (the rest are counted in suppressed()), and MaxCleared cleared ones are kept
    for the record, so that an alarm storm cannot grow the view or the memory.
*/
class AlarmTracker
{
public:
    static constexpr int MaxActive = 128;
    static constexpr int MaxCleared = 128;
    static constexpr quint64 DefaultBacklogBytes = 8 * 1024 * 1024;
    /*! A master's rejections keep their alarm active this long after the last one. */
    static constexpr qint64 RejectionHoldMs = 60 * 1000;
    /*! A lost machine's alarm outlives the state's memory of the machine this long. */
    static constexpr qint64 LostHoldMs = 60 * 60 * 1000;

    void setBacklogThreshold(quint64 bytes) { m_backlogBytes = bytes; }
    quint64 backlogThreshold() const { return m_backlogBytes; }

    /*! Re-evaluates every condition against \a state at \a now; true if an alarm started
        or cleared. */
    bool update(const ClusterState &state, qint64 now);

    /*! Active alarms (oldest first), then cleared ones (most recently cleared first). */
    QList<Alarm> alarms() const;
    QList<Alarm> active() const;
    int activeCount() const { return int(m_active.size()); }
    /*! Conditions that hold now but are not raised as alarms because MaxActive were
        active (0 once the storm is over). */
    quint64 suppressed() const { return m_suppressed; }
    void clear();

private:
    struct Rejections { quint64 count = 0; qint64 lastIncrease = 0; };

    QList<Alarm> m_active;
    QList<Alarm> m_cleared;    // most recent first
    QHash<quint64, Rejections> m_rejections;   // machine -> its master's count
    quint64 m_backlogBytes = DefaultBacklogBytes;
    quint64 m_suppressed = 0;
};

} // namespace PlexusMonitor
