// SPDX-License-Identifier: MIT
#pragma once

#include <plexus/message.h>

#include <QtCore/qmetatype.h>
#include <QtCore/qobjectdefs.h>
#include <QtCore/qshareddata.h>
#include <QtCore/qstringlist.h>

QT_BEGIN_NAMESPACE
class QDebug;
QT_END_NAMESPACE

namespace Plexus {

class WorkerInfoPrivate;

/*!
    \class Plexus::WorkerInfo
    A snapshot of one worker process as the master sees it (Melon's mln_fork_t).

    WorkerInfo is implicitly shared: copying one is cheap (a reference count), and a setter
    called on a copy detaches it, so the other copies keep their values. A snapshot handed
    out by Node::workers() or a signal does not change when the worker does.

    \code
    for (const Plexus::WorkerInfo &w : node.workers()) {
        if (w.state() == Plexus::WorkerInfo::Running)
            qInfo() << "slot" << w.slot() << "pid" << w.pid() << "restarted" << w.restarts();
    }
    \endcode
*/
class PLEXUS_EXPORT WorkerInfo
{
    Q_GADGET
    Q_PROPERTY(qint64 pid READ pid WRITE setPid)
    Q_PROPERTY(int slot READ slot WRITE setSlot)
    Q_PROPERTY(QStringList arguments READ arguments WRITE setArguments)
    Q_PROPERTY(State state READ state WRITE setState)
    Q_PROPERTY(RestartPolicy restartPolicy READ restartPolicy WRITE setRestartPolicy)
    Q_PROPERTY(bool isExec READ isExec WRITE setExec)
    Q_PROPERTY(int restarts READ restarts WRITE setRestarts)
    Q_PROPERTY(quint64 machineId READ machineId WRITE setMachineId)
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
        Restarted,    //!< ended by the master to be restarted (a monitor's restart request)
    };
    Q_ENUM(ExitReason)

    /*! An invalid worker: pid 0, slot -1, state Starting, policy Restart, no restarts. */
    WorkerInfo();
    /*! Shares \a other: nothing is copied until one of the two is changed. */
    WorkerInfo(const WorkerInfo &other);
    /*! Takes over \a other, which may then only be assigned to or destroyed. */
    WorkerInfo(WorkerInfo &&other) noexcept;
    /*! Shares \a other; releases what this WorkerInfo held. */
    WorkerInfo &operator=(const WorkerInfo &other);
    QT_MOVE_ASSIGNMENT_OPERATOR_IMPL_VIA_PURE_SWAP(WorkerInfo)
    /*! Releases this copy. */
    ~WorkerInfo();

    /*! Swaps this WorkerInfo with \a other; never fails. */
    void swap(WorkerInfo &other) noexcept { d.swap(other.d); }

    /*! Its process id; 0 before it was started. */
    qint64 pid() const noexcept;
    /*! Sets its process id to \a pid. */
    void setPid(qint64 pid);

    /*! Its slot: 0..N-1 for forked workers, N.. for spawned ones; -1 for no worker. */
    int slot() const noexcept;
    /*! Sets its slot to \a slot. */
    void setSlot(int slot);

    /*! Program and arguments. */
    QStringList arguments() const;
    /*! Sets the program and arguments to \a arguments. */
    void setArguments(const QStringList &arguments);

    /*! Where it is in its life; see State. */
    State state() const noexcept;
    /*! Sets where it is in its life to \a state. */
    void setState(State state);

    /*! What the master does when it exits; see RestartPolicy. */
    RestartPolicy restartPolicy() const noexcept;
    /*! Sets what the master does when it exits to \a policy. */
    void setRestartPolicy(RestartPolicy policy);

    /*! True if it was started with spawn() (exec'd): op-codes only. */
    bool isExec() const noexcept;
    /*! Marks it as started with spawn() (\a exec true) or forked. */
    void setExec(bool exec);

    /*! How often this slot was restarted. */
    int restarts() const noexcept;
    /*! Sets how often this slot was restarted to \a restarts. */
    void setRestarts(int restarts);

    /*! Its last exit status, or the signal number if it crashed. */
    int exitCode() const noexcept;
    /*! Sets its last exit status (or signal number) to \a exitCode. */
    void setExitCode(int exitCode);

    /*! When it was started, in ms since the epoch. */
    qint64 startedAt() const noexcept;
    /*! Sets when it was started to \a startedAt ms since the epoch. */
    void setStartedAt(qint64 startedAt);

    /*! The machine of its master. */
    quint64 machineId() const noexcept;
    /*! Sets the machine of its master to \a machineId. */
    void setMachineId(quint64 machineId);

    /*! False for a default-constructed WorkerInfo (no slot: slot() is -1). */
    bool isValid() const noexcept;
    /*! This worker as a message destination, for Plexus::sendTo(). */
    Sender sender() const noexcept;

    /*! True if \a a and \a b hold the same values in every field. */
    friend bool operator==(const WorkerInfo &a, const WorkerInfo &b) noexcept
    {
        return a.equals(b);
    }
    /*! True if \a a and \a b differ in at least one field. */
    friend bool operator!=(const WorkerInfo &a, const WorkerInfo &b) noexcept
    {
        return !a.equals(b);
    }

private:
    bool equals(const WorkerInfo &other) const noexcept;

    QSharedDataPointer<WorkerInfoPrivate> d;
};

/*! Writes \a info (slot, pid, state, restarts) to \a debug. */
PLEXUS_EXPORT QDebug operator<<(QDebug debug, const WorkerInfo &info);

} // namespace Plexus

Q_DECLARE_SHARED(Plexus::WorkerInfo)
Q_DECLARE_METATYPE(Plexus::WorkerInfo)
