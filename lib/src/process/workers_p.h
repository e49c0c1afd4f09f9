// SPDX-License-Identifier: MIT
#pragma once

#include "crypto_p.h"
#include "handshake_p.h"
#include "introspection_p.h"

#include <plexus/workerinfo.h>

#include <QtCore/qlist.h>
#include <QtCore/qobject.h>

QT_BEGIN_NAMESPACE
class QProcess;
QT_END_NAMESPACE

namespace Plexus {

class ForkServer;
class Router;
class Stats;
struct Endpoint;

/*
    The master's worker slots: forked ones (through the fork server) and exec'd ones
    (QProcess), their state, respawn with the crash-loop guard, and the router endpoint of
    each slot. A slot's endpoint exists while the slot is meant to run, also while its
    process is starting or being respawned, so that traffic for it is held, not lost.
*/
class WorkerTable : public QObject
{
    Q_OBJECT
public:
    // How long a worker whose link closed may take to exit by itself before it is killed.
    static constexpr int LinkLossGraceMs = 2000;
    // How long a worker asked to stop for a restart may take before it is killed.
    static constexpr int RestartGraceMs = 5000;

    WorkerTable(Router *router, Stats *stats, QObject *parent = nullptr);
    ~WorkerTable() override;

    void setForkServer(ForkServer *server);
    void setRestartLimit(int count, int windowMs);
    // What an exec'd worker needs to join: the IPC URL, the link key and the machine id.
    void setJoinInfo(const QString &ipcUrl, const CryptoKey &psk, quint64 machineId);

    // Forked slots 0..count-1, started through the fork server.
    void startForked(int count, WorkerInfo::RestartPolicy policy, const QStringList &arguments);
    // An exec'd slot; -1 (with *error) if the program cannot be started.
    int spawnExec(const QString &program, const QStringList &arguments,
                  WorkerInfo::RestartPolicy policy, QString *error);

    QList<WorkerInfo> workers() const;
    // The last MaxExitHistory exits, oldest first.
    QList<WorkerExit> exits() const { return m_exits; }
    static constexpr int MaxExitHistory = 64;
    // Asks the running worker \a pid to stop so that its slot restarts (a monitor's
    // request); it is killed if it has not exited after RestartGraceMs. False if no
    // running worker has that pid or its slot would not restart.
    bool requestRestart(qint64 pid);
    WorkerInfo workerAt(quint32 endpoint) const;
    bool allStarted() const;

    // Admission of a worker's Hello: the endpoint of the slot it claims, or 0 (*error set).
    // The endpoint of the slot a connecting worker's Hello claims, or 0 with *error set and
    // *why saying what was wrong, for the security log.
    quint32 admit(const PeerIdentity &peer, qint64 credentialPid, FrameError *error, QString *why);
    void connected(Endpoint *endpoint);
    void lost(Endpoint *endpoint, const PeerIdentity &peer);

    // Stops every worker: exec'd ones are terminated (bounded), forked ones by the fork
    // server. Returns once they are gone or the time is up.
    void shutdown(int timeoutMs);

Q_SIGNALS:
    void workerStarted(const Plexus::WorkerInfo &worker);
    void workerExited(const Plexus::WorkerInfo &worker, Plexus::WorkerInfo::ExitReason reason);
    void workersReady();

private:
    struct Slot {
        WorkerInfo info;
        quint32 endpoint = 0;
        QList<qint64> exits;          // monotonic ms of recent exits (crash-loop guard)
        QProcess *process = nullptr;  // exec'd slots
        qint64 restartRequested = 0;  // pid that requestRestart() stopped
    };

    void onForked(int slot, qint64 pid);
    void onReaped(int slot, qint64 pid, int status);
    void ensureEndpoint(int slot);
    void dropEndpoint(int slot);
    void restart(int slot);
    void kill(int slot, qint64 pid);
    bool startExec(int slot, QString *error);
    void checkReady();

    Router *m_router;
    Stats *m_stats;
    ForkServer *m_forkServer = nullptr;
    QList<Slot> m_slots;
    QList<WorkerExit> m_exits;
    int m_initialSlots = 0;
    int m_maxRestarts = 5;
    int m_restartWindowMs = 10000;
    bool m_readyEmitted = false;
    bool m_shuttingDown = false;
    QString m_ipcUrl;
    CryptoKey m_psk;
    quint64 m_machineId = 0;
};

} // namespace Plexus
