// SPDX-License-Identifier: MIT
#pragma once

#include <QtCore/qobject.h>

#include <functional>
#include <string>

QT_BEGIN_NAMESPACE
class QSocketNotifier;
QT_END_NAMESPACE

namespace Plexus {

/*
    The fork server ("forkserver" in ps and top). Forking a process that runs a Qt event
    loop (threads, locks held by other threads, open notifiers) is not safe, so
    Plexus::exec() forks this small server before Qt starts. Every worker, first start or
    restart, is forked by it from the same clean pre-Qt image. It talks to the master over
    a SOCK_SEQPACKET socketpair:

        master -> server   Spawn(slot), Signal(pid, signo), StopAll
        server -> master   Forked(slot, pid), Reaped(slot, pid, wait status)

    When the master's end closes (the master exited or was killed), the server sends
    SIGTERM to every worker, SIGKILL after a grace period, removes the IPC socket file and
    its private directory, and exits. Workers also leave on their own when their IPC link
    closes, so no process outlives its master.

    launch() is the server itself (pre-Qt); an object of the class is the master's end of
    the channel.
*/
class ForkServer : public QObject
{
    Q_OBJECT
public:
    struct Packet
    {
        quint32 op = 0;
        qint32 slot = -1;
        qint64 pid = 0;
        qint32 value = 0;   // signal number or wait status
        qint32 reserved = 0;
    };
    enum Op : quint32 { Spawn = 1, Signal = 2, StopAll = 3, Forked = 10, Reaped = 11 };

    // Pre-Qt. Forks the server; returns the master's end of the channel, or -1.
    // \a workerMain runs in each forked worker and returns its exit code; \a inServer, if
    // set, runs once in the server right after it is forked (to drop what only the master
    // may keep, such as the cluster keys).
    static int launch(std::function<int(int slot)> workerMain, const std::string &socketPath,
                      const std::string &privateDir, int closeInWorkers, qint64 *serverPid,
                      const std::function<void()> &inServer = {});

    ForkServer(int fd, qint64 serverPid, QObject *parent = nullptr);
    ~ForkServer() override;

    void spawn(int slot);
    void signal(qint64 pid, int signo);
    void stopAll();
    // Closes the channel and waits (bounded) for the server to exit.
    void shutdown(int timeoutMs);

Q_SIGNALS:
    void forked(int slot, qint64 pid);
    void reaped(int slot, qint64 pid, int status);
    void lost();

private:
    void onReadable();
    bool send(const Packet &packet);

    int m_fd;
    qint64 m_serverPid;
    QSocketNotifier *m_notifier;
};

} // namespace Plexus
