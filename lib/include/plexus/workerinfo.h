// SPDX-License-Identifier: MIT
#pragma once

#include <plexus/message.h>

#include <QtCore/qmetatype.h>
#include <QtCore/qobjectdefs.h>
#include <QtCore/qstringlist.h>

QT_BEGIN_NAMESPACE
class QDebug;
QT_END_NAMESPACE

namespace Plexus {

/*!
    \class Plexus::WorkerInfo
    A snapshot of one worker process as the master sees it (Melon's mln_fork_t).
*/
class PLEXUS_EXPORT WorkerInfo
{
    Q_GADGET
    Q_PROPERTY(qint64 pid MEMBER pid)
    Q_PROPERTY(int slot MEMBER slot)
    Q_PROPERTY(QStringList arguments MEMBER arguments)
    Q_PROPERTY(State state MEMBER state)
    Q_PROPERTY(RestartPolicy restartPolicy MEMBER restartPolicy)
    Q_PROPERTY(bool isExec MEMBER isExec)
    Q_PROPERTY(int restarts MEMBER restarts)
    Q_PROPERTY(quint64 machineId MEMBER machineId)
public:
    /*! Where the worker of a slot is in its life. */
    enum State {
        Starting,  //!< forked or started, not yet connected
        Running,   //!< connected to the master
        Exited,    //!< ended; will be restarted if its policy says so
        GivenUp,   //!< crashed too often, or its policy forbids a restart
    };
    Q_ENUM(State)

    /*! What the master does when the worker exits (Melon's restart policy). */
    enum RestartPolicy {
        Restart,    //!< restart whenever it exits (default)
        NoRestart,  //!< leave the slot empty once it exits
    };
    Q_ENUM(RestartPolicy)

    /*! Why a worker ended (Node::workerExited()). */
    enum ExitReason {
        NormalExit,   //!< exited with status 0
        ErrorExit,    //!< exited with a non-zero status
        Crashed,      //!< killed by a signal
        CrashLoop,    //!< crashed too often in the restart window: not restarted
        Stopped,      //!< ended by the master (shutdown)
    };
    Q_ENUM(ExitReason)

    qint64 pid = 0;           //!< its process id; 0 before it was started
    int slot = -1;            //!< 0..N-1 for forked workers, N.. for spawned ones
    QStringList arguments;    //!< program and arguments
    State state = Starting;   //!< see State
    RestartPolicy restartPolicy = Restart;   //!< see RestartPolicy
    bool isExec = false;      //!< started with spawn() (exec'd), op-codes only
    int restarts = 0;         //!< how often this slot was restarted
    int exitCode = 0;         //!< last exit status, or the signal number if it crashed
    qint64 startedAt = 0;     //!< ms since the epoch
    quint64 machineId = 0;    //!< the machine of its master

    /*! False for a default-constructed WorkerInfo (no slot). */
    bool isValid() const noexcept { return slot >= 0; }
    /*! This worker as a message destination, for Plexus::sendTo(). */
    Sender sender() const noexcept { return Sender(machineId, pid, slot); }
};

/*! Writes \a info (slot, pid, state, restarts) to \a debug. */
PLEXUS_EXPORT QDebug operator<<(QDebug debug, const WorkerInfo &info);

} // namespace Plexus

Q_DECLARE_METATYPE(Plexus::WorkerInfo)
