// SPDX-License-Identifier: MIT
#include "workers_p.h"
#include "clock_p.h"
#include "forkserver_p.h"
#include "logging_p.h"
#include "router_p.h"
#include "stats_p.h"

#include <QtCore/qdatetime.h>
#include <QtCore/qdeadlinetimer.h>
#include <QtCore/qendian.h>
#include <QtCore/qprocess.h>
#include <QtCore/qtimer.h>

#include <cerrno>
#include <csignal>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace Plexus {

WorkerTable::WorkerTable(Router *router, Stats *stats, QObject *parent)
    : QObject(parent), m_router(router), m_stats(stats)
{
}

WorkerTable::~WorkerTable() = default;

void WorkerTable::setForkServer(ForkServer *server)
{
    m_forkServer = server;
    connect(server, &ForkServer::forked, this, &WorkerTable::onForked);
    connect(server, &ForkServer::reaped, this, &WorkerTable::onReaped);
}

void WorkerTable::setRestartLimit(int count, int windowMs)
{
    m_maxRestarts = qMax(1, count);
    m_restartWindowMs = qMax(1, windowMs);
}

void WorkerTable::setJoinInfo(const QString &ipcUrl, const CryptoKey &psk, quint64 machineId)
{
    m_ipcUrl = ipcUrl;
    m_psk = psk;
    m_machineId = machineId;
}

QList<WorkerInfo> WorkerTable::workers() const
{
    QList<WorkerInfo> out;
    out.reserve(m_slots.size());
    for (const Slot &s : m_slots)
        out.append(s.info);
    return out;
}

bool WorkerTable::requestRestart(qint64 pid)
{
    for (int s = 0; s < m_slots.size(); ++s) {
        Slot &slot = m_slots[s];
        if (pid <= 0 || slot.info.pid() != pid || slot.info.state() != WorkerInfo::Running)
            continue;
        Endpoint *e = m_router->endpoint(slot.endpoint);
        if (slot.info.restartPolicy() != WorkerInfo::Restart || !e || !e->link)
            return false;
        slot.restartRequested = pid;
        m_router->sendControl(e, Wire::ControlStop, {});   // it exits; the slot respawns
        // A worker that does not stop when asked is killed: the restart was asked for.
        QTimer::singleShot(RestartGraceMs, this, [this, s, pid] {
            if (s < m_slots.size() && !m_shuttingDown && m_slots[s].info.pid() == pid
                && m_slots[s].info.state() == WorkerInfo::Running) {
                qCWarning(lcWorker) << "worker" << s << "pid" << pid
                                    << "did not stop for its restart; killing it";
                kill(s, pid);
            }
        });
        return true;
    }
    return false;
}

void WorkerTable::kill(int s, qint64 pid)
{
    Slot &slot = m_slots[s];
    if (slot.process && slot.process->processId() == pid)
        slot.process->kill();
    else if (m_forkServer)
        m_forkServer->signal(pid, SIGKILL);
}

WorkerInfo WorkerTable::workerAt(quint32 endpoint) const
{
    for (const Slot &s : m_slots) {
        if (s.endpoint == endpoint)
            return s.info;
    }
    return WorkerInfo();
}

bool WorkerTable::allStarted() const
{
    for (int i = 0; i < m_initialSlots && i < m_slots.size(); ++i) {
        const WorkerInfo::State st = m_slots[i].info.state();
        if (st != WorkerInfo::Running && st != WorkerInfo::GivenUp)
            return false;
    }
    return true;
}

void WorkerTable::checkReady()
{
    if (!m_readyEmitted && allStarted()) {
        m_readyEmitted = true;
        Q_EMIT workersReady();
    }
}

void WorkerTable::ensureEndpoint(int s)
{
    Slot &slot = m_slots[s];
    if (slot.endpoint && m_router->endpoint(slot.endpoint))
        return;
    Endpoint *e = m_router->createEndpoint(Endpoint::Kind::Worker, s, slot.info.isExec());
    slot.endpoint = e->id;
}

void WorkerTable::dropEndpoint(int s)
{
    Slot &slot = m_slots[s];
    if (slot.endpoint)
        m_router->removeEndpoint(slot.endpoint, Reply::TargetLostError);
    slot.endpoint = 0;
}

void WorkerTable::startForked(int count, WorkerInfo::RestartPolicy policy,
                              const QStringList &arguments)
{
    m_initialSlots = count;
    for (int s = 0; s < count; ++s) {
        Slot slot;
        slot.info.setSlot(s);
        slot.info.setMachineId(m_machineId);
        slot.info.setRestartPolicy(policy);
        slot.info.setArguments(arguments);
        m_slots.append(slot);
        ensureEndpoint(s);
        if (m_forkServer)
            m_forkServer->spawn(s);
    }
    if (count == 0) {
        m_readyEmitted = true;
        QMetaObject::invokeMethod(this, &WorkerTable::workersReady, Qt::QueuedConnection);
    }
}

int WorkerTable::spawnExec(const QString &program, const QStringList &arguments,
                           WorkerInfo::RestartPolicy policy, QString *error)
{
    Slot slot;
    slot.info.setSlot(int(m_slots.size()));
    slot.info.setMachineId(m_machineId);
    slot.info.setArguments(QStringList{program} + arguments);
    slot.info.setExec(true);
    slot.info.setRestartPolicy(policy);
    m_slots.append(slot);
    const int s = slot.info.slot();
    ensureEndpoint(s);
    if (!startExec(s, error)) {
        m_slots[s].info.setState(WorkerInfo::GivenUp);
        dropEndpoint(s);
        return -1;
    }
    return s;
}

bool WorkerTable::startExec(int s, QString *error)
{
    Slot &slot = m_slots[s];
    if (!slot.process) {
        slot.process = new QProcess(this);
        slot.process->setProcessChannelMode(QProcess::ForwardedChannels);
        connect(slot.process, &QProcess::finished, this,
                [this, s](int exitCode, QProcess::ExitStatus st) {
            // QProcess does not say which signal ended a crashed process: report SIGKILL.
            const int status = st == QProcess::CrashExit ? SIGKILL : (exitCode & 0xff) << 8;
            onReaped(s, m_slots[s].info.pid(), status);
        });
    }
    int pipeFds[2];
    if (::pipe2(pipeFds, O_CLOEXEC) != 0) {
        *error = QString::fromLocal8Bit(std::strerror(errno));
        return false;
    }
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("PLEXUS_IPC_URL"), m_ipcUrl);
    env.insert(QStringLiteral("PLEXUS_SLOT"), QString::number(s));
    env.insert(QStringLiteral("PLEXUS_KEY_FD"), QStringLiteral("3"));
    slot.process->setProcessEnvironment(env);
    const int readFd = pipeFds[0];
    slot.process->setChildProcessModifier([readFd] {
        // The link key arrives on fd 3, never on the command line or in the environment.
        if (readFd == 3)
            ::fcntl(3, F_SETFD, 0);
        else
            ::dup2(readFd, 3);
    });
    slot.process->start(slot.info.arguments().value(0), slot.info.arguments().mid(1));
    ::close(pipeFds[0]);
    const bool started = slot.process->waitForStarted(5000);
    if (started) {
        // The derived link key and the machine id: the raw secret never leaves the master
        // (which does not keep it either).
        unsigned char packet[CryptoKey::KeySize + 8];
        std::memcpy(packet, m_psk.bytes(), CryptoKey::KeySize);
        qToLittleEndian<quint64>(m_machineId, packet + CryptoKey::KeySize);
        qsizetype off = 0;
        while (off < qsizetype(sizeof packet)) {
            const ssize_t n = ::write(pipeFds[1], packet + off, sizeof packet - size_t(off));
            if (n <= 0 && errno != EINTR)
                break;
            if (n > 0)
                off += n;
        }
        Crypto::wipe(packet, sizeof packet);
        slot.info.setPid(slot.process->processId());
        slot.info.setStartedAt(QDateTime::currentMSecsSinceEpoch());
        if (Endpoint *e = m_router->endpoint(slot.endpoint))
            e->pid = slot.info.pid();
    } else {
        *error = slot.process->errorString();
        qCCritical(lcWorker) << "cannot start" << slot.info.arguments().value(0) << ':' << *error;
    }
    ::close(pipeFds[1]);
    return started;
}

quint32 WorkerTable::admit(const PeerIdentity &peer, qint64 credentialPid, FrameError *error,
                           QString *why)
{
    *error = FrameError::BadHandshake;
    // What the Hello claims is only a claim; the caller names the peer by its credentials.
    const QString claim = QStringLiteral("Hello claims pid %1, slot %2").arg(peer.pid).arg(peer.slot);
    if (m_shuttingDown || peer.slot < 0 || peer.slot >= m_slots.size()) {
        *why = claim + (m_shuttingDown ? QStringLiteral(": shutting down")
                                       : QStringLiteral(": no such slot"));
        return 0;
    }
    Slot &slot = m_slots[peer.slot];
    // The process must be who the kernel says it is, and the one started for the slot
    // (the fork server's notice may come after the Hello: then any pid will do once).
    const bool credentialsMatch = credentialPid <= 0 || credentialPid == peer.pid;
    const bool pidMatches = slot.info.pid() == 0 || slot.info.pid() == peer.pid;
    Endpoint *e = m_router->endpoint(slot.endpoint);
    if (slot.info.state() == WorkerInfo::GivenUp || !e || e->state != Endpoint::State::Starting
        || !credentialsMatch || !pidMatches || peer.isExec != slot.info.isExec()) {
        *why = claim + (!credentialsMatch ? QStringLiteral(": not the sending process")
                        : !pidMatches     ? QStringLiteral(": not the process started for the slot (pid %1)")
                                                    .arg(slot.info.pid())
                        : peer.isExec != slot.info.isExec() ? QStringLiteral(": wrong kind of worker")
                                                            : QStringLiteral(": the slot is not starting"));
        return 0;
    }
    *error = FrameError::NoError;
    return slot.endpoint;
}

void WorkerTable::connected(Endpoint *endpoint)
{
    for (Slot &slot : m_slots) {
        if (slot.endpoint != endpoint->id)
            continue;
        slot.info.setPid(endpoint->pid);
        slot.info.setState(WorkerInfo::Running);
        qCDebug(lcWorker) << "worker" << slot.info.slot() << "pid" << slot.info.pid() << "connected";
        Q_EMIT workerStarted(slot.info);
        checkReady();
        return;
    }
}

void WorkerTable::lost(Endpoint *endpoint, const PeerIdentity &peer)
{
    for (int s = 0; s < m_slots.size(); ++s) {
        Slot &slot = m_slots[s];
        if (slot.endpoint != endpoint->id)
            continue;
        // The router removes this endpoint when we return. A slot that will restart gets a
        // new one at once, so that traffic sent meanwhile waits for the new process.
        slot.endpoint = 0;
        if (m_shuttingDown || slot.info.state() != WorkerInfo::Running)
            return;
        if (slot.info.restartPolicy() == WorkerInfo::Restart) {
            Endpoint *next = m_router->createEndpoint(Endpoint::Kind::Worker, s, slot.info.isExec());
            slot.endpoint = next->id;
        }
        // A worker stopped for a restart closes its link before it exits: the restart's
        // own, longer grace period (requestRestart()) decides whether it is killed.
        if (slot.restartRequested == peer.pid)
            return;
        // The process may still run (its link was closed for garbage): make sure it ends,
        // so the slot restarts from a clean image. A worker that closed its own link is on
        // its way out: killing it at once would replace its real exit status with SIGKILL,
        // so it gets a grace period first.
        const qint64 pid = peer.pid;
        QTimer::singleShot(LinkLossGraceMs, this, [this, s, pid] {
            if (s >= m_slots.size() || m_shuttingDown)
                return;
            Slot &slot = m_slots[s];
            if (slot.info.pid() != pid || slot.info.state() != WorkerInfo::Running)
                return;   // reaped (and maybe restarted) meanwhile
            qCWarning(lcWorker) << "worker" << s << "pid" << pid
                                << "still runs after losing its link; killing it";
            kill(s, pid);
        });
        return;
    }
}

void WorkerTable::onForked(int s, qint64 pid)
{
    if (s < 0 || s >= m_slots.size())
        return;
    Slot &slot = m_slots[s];
    if (pid <= 0) {
        qCCritical(lcWorker) << "fork failed for slot" << s;
        slot.info.setState(WorkerInfo::GivenUp);
        dropEndpoint(s);
        checkReady();
        return;
    }
    slot.info.setStartedAt(QDateTime::currentMSecsSinceEpoch());
    if (Endpoint *e = m_router->endpoint(slot.endpoint); e && !e->pid)
        e->pid = pid;
    // The worker may have connected (Hello admitted, state Running) before this notice
    // arrived: the two come over different sockets.
    if (slot.info.pid() == pid && slot.info.state() == WorkerInfo::Running)
        return;
    slot.info.setPid(pid);
    slot.info.setState(WorkerInfo::Starting);
}

void WorkerTable::onReaped(int s, qint64 pid, int status)
{
    if (s < 0 || s >= m_slots.size() || m_slots[s].info.pid() != pid)
        return;
    Slot &slot = m_slots[s];
    WorkerInfo &w = slot.info;
    WorkerInfo::ExitReason reason;
    if (WIFSIGNALED(status)) {
        reason = WorkerInfo::Crashed;
        w.setExitCode(WTERMSIG(status));
    } else {
        w.setExitCode(WEXITSTATUS(status));
        reason = w.exitCode() == 0 ? WorkerInfo::NormalExit : WorkerInfo::ErrorExit;
    }
    w.setState(WorkerInfo::Exited);
    const bool requested = std::exchange(slot.restartRequested, 0) == pid;

    bool restart = false;
    if (m_shuttingDown) {
        reason = WorkerInfo::Stopped;
    } else if (requested) {
        reason = WorkerInfo::Restarted;   // not a crash: kept out of the crash-loop guard
        restart = true;
    } else if (w.restartPolicy() == WorkerInfo::Restart) {
        const qint64 now = monotonicMs();
        slot.exits.append(now);
        while (!slot.exits.isEmpty() && now - slot.exits.first() > m_restartWindowMs)
            slot.exits.removeFirst();
        if (slot.exits.size() >= m_maxRestarts) {
            qCCritical(lcWorker).nospace()
                    << "worker slot " << s << " exited " << slot.exits.size() << " times within "
                    << m_restartWindowMs << " ms; giving up on it";
            w.setState(WorkerInfo::GivenUp);
            reason = WorkerInfo::CrashLoop;
        } else {
            restart = true;
        }
    } else {
        w.setState(WorkerInfo::GivenUp);
    }

    // Calls in flight to the process that ended fail now, not when the kernel gets to the
    // end of its stream. A process that never connected leaves its endpoint (and what is
    // held there) to the restart.
    Endpoint *e = m_router->endpoint(slot.endpoint);
    if (e && (e->state == Endpoint::State::Connected || !restart)) {
        Link *link = e->link;
        dropEndpoint(s);
        if (link)
            link->close();
    }
    if (restart)
        ensureEndpoint(s);

    qCInfo(lcWorker) << "worker" << s << "pid" << pid << "ended:" << reason << "status"
                     << w.exitCode() << (restart ? "- restarting" : "");
    if (m_exits.size() >= MaxExitHistory)
        m_exits.removeFirst();
    m_exits.append({QDateTime::currentMSecsSinceEpoch(), pid, s, reason, w.exitCode(),
                    bool(WIFSIGNALED(status))});
    const WorkerInfo snapshot = w;
    Q_EMIT workerExited(snapshot, reason);
    if (restart)
        this->restart(s);
    else
        checkReady();
}

void WorkerTable::restart(int s)
{
    Slot &slot = m_slots[s];
    slot.info.setRestarts(slot.info.restarts() + 1);
    Stats::bump(m_stats->process.restarts);
    slot.info.setState(WorkerInfo::Starting);
    slot.info.setPid(0);
    if (Endpoint *e = m_router->endpoint(slot.endpoint)) {
        e->pid = 0;
        e->startedAt = monotonicMs();
        e->stalled = false;
    }
    if (slot.info.isExec()) {
        QString error;
        if (!startExec(s, &error)) {
            slot.info.setState(WorkerInfo::GivenUp);
            dropEndpoint(s);
        }
    } else if (m_forkServer) {
        m_forkServer->spawn(s);
    }
}

void WorkerTable::shutdown(int timeoutMs)
{
    m_shuttingDown = true;
    for (Slot &slot : m_slots) {
        QProcess *p = slot.process;
        if (p && p->state() != QProcess::NotRunning) {
            p->terminate();
            if (!p->waitForFinished(timeoutMs))
                p->kill();
            p->waitForFinished(1000);
        }
    }
    if (m_forkServer)
        m_forkServer->shutdown(timeoutMs);
}

} // namespace Plexus
