// SPDX-License-Identifier: MIT
#pragma once

#include <plexus/workerinfo.h>

#include <QtCore/qstring.h>

#include <functional>
#include <memory>

QT_BEGIN_NAMESPACE
class QCoreApplication;
QT_END_NAMESPACE

namespace Plexus {

class Node;

/*!
    \struct Plexus::ExecOptions
    Start-up options for Plexus::exec().
*/
struct ExecOptions
{
    /*! The largest number of workers a master starts (after "per core" is worked out). */
    static constexpr int MaxWorkers = 1024;

    /*! Worker processes; negative = that many per CPU core; 0 = master only.
        PLEXUS_WORKERS overrides it, and "--workers N", "--workers=N", "-w N" or "-wN" on
        the command line override both (and are removed from argv; a "--" ends the options
        Plexus reads). A value that is not a number, or more than MaxWorkers workers, is an
        error: exec() prints it and returns 2 without starting anything. */
    int workers = 0;
    /*! IPC URL; empty = random (see Node::setIpcUrl()). */
    QString ipcUrl = {};
    /*! 0 = the built-in default (see maxMessageLength()). */
    qsizetype maxMessageLength = 0;
    /*! What happens when a worker exits (Melon's restart policy). */
    WorkerInfo::RestartPolicy restartPolicy = WorkerInfo::Restart;
    /*! Crash-loop protection: a slot whose worker crashed maxRestarts times within
        restartWindowMs is given up (WorkerInfo::GivenUp) and no longer respawned. */
    int maxRestarts = 5;
    /*! The window of maxRestarts, in milliseconds. */
    int restartWindowMs = 10000;
    /*! Bound on a graceful shutdown after SIGTERM/SIGINT. */
    int shutdownTimeoutMs = 5000;
    /*! See Node::setHandshakeTimeout(). */
    int handshakeTimeoutMs = 5000;
    /*! See Node::setMaxPendingConnections(). */
    int maxPendingConnections = 64;
    /*! See Node::setWorkerStartTimeout(). */
    int workerStartTimeoutMs = 10000;
    /*! See Node::setBusyPoll(). */
    int busyPollUs = 20;
    /*! What carries the links of every process (Node::setLinkBackend()); the environment
        variable PLEXUS_LINK_BACKEND ("descriptor" or "qt") overrides it. */
    LinkBackend linkBackend = LinkBackend::Descriptor;
    /*! Makes each process's application object; default: a QCoreApplication. */
    std::function<std::unique_ptr<QCoreApplication>(int &argc, char **argv)> createApplication = {};
};

/*!
    Runs a Plexus application (fio_io_start): forks the workers before any QCoreApplication
    or thread exists, then in the master and in each worker creates the application object,
    connects the IPC, calls \a onStart with the process's Node and runs the event loop.
    Returns the exit code. The master stops on SIGTERM/SIGINT or QCoreApplication::quit(),
    stopping its workers first; a worker stops when its master goes away.

    To fail from \a onStart (a configuration that does not load, a port that is taken), call
    QCoreApplication::exit(code) there: the event loop is not entered, the process stops
    (the master stopping its workers first) and exec() returns \a code. QCoreApplication::quit()
    likewise ends it with 0.

    A program started by Node::spawn() calls exec() too and runs as an exec'd worker.

    \code
    int main(int argc, char **argv)
    {
        return Plexus::exec(argc, argv, {.workers = 2}, [](Plexus::Node &node) {
            if (node.isWorker())
                Plexus::call({.call = onMaster, .onDone = onDone, .data = {"hello"}});
        });
    }
    \endcode
*/
PLEXUS_EXPORT int exec(int &argc, char **argv, const ExecOptions &options,
                       const std::function<void(Node &)> &onStart);

} // namespace Plexus
