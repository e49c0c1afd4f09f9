// SPDX-License-Identifier: MIT
#include "forkserver_p.h"
#include "processtitle_p.h"
#include "crypto_p.h"
#include "logging_p.h"

#include <QtCore/qdeadlinetimer.h>
#include <QtCore/qhash.h>
#include <QtCore/qsocketnotifier.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace Plexus {

namespace {

constexpr int GraceMs = 1500;

using Packet = ForkServer::Packet;

bool writePacket(int fd, const Packet &p)
{
    for (;;) {
        const ssize_t n = ::send(fd, &p, sizeof p, MSG_NOSIGNAL);
        if (n == ssize_t(sizeof p))
            return true;
        if (n < 0 && errno == EINTR)
            continue;
        return false;
    }
}

// Runs in the fork server process; never returns.
[[noreturn]] void serve(int fd, const std::function<int(int)> &workerMain,
                        const std::string &socketPath, const std::string &privateDir,
                        int closeInWorkers)
{
    ProcessTitle::set("forkserver");
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigset_t oldMask;
    ::sigprocmask(SIG_BLOCK, &mask, &oldMask);
    // Non-blocking: the loop below drains it until read() fails; a blocking descriptor
    // would hang the server on the read after the last queued signal.
    const int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (closeInWorkers >= 0)
        ::close(closeInWorkers);   // the server itself never accepts

    std::map<pid_t, int> children;   // pid -> slot
    bool stopping = false;
    qint64 stopDeadline = 0;

    auto nowMs = [] {
        timespec ts;
        ::clock_gettime(CLOCK_MONOTONIC, &ts);
        return qint64(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
    };
    auto reap = [&] {
        for (;;) {
            int status = 0;
            const pid_t pid = ::waitpid(-1, &status, WNOHANG);
            if (pid <= 0)
                break;
            const auto it = children.find(pid);
            const int slot = it == children.end() ? -1 : it->second;
            if (it != children.end())
                children.erase(it);
            if (fd >= 0)
                writePacket(fd, Packet{ForkServer::Reaped, slot, pid, status, 0});
        }
    };
    auto beginStop = [&] {
        if (!stopping) {
            stopping = true;
            stopDeadline = nowMs() + GraceMs;
            for (const auto &[pid, slot] : children)
                ::kill(pid, SIGTERM);
        }
    };

    for (;;) {
        if (stopping && fd < 0 && children.empty())
            break;
        if (stopping && nowMs() >= stopDeadline) {
            for (const auto &[pid, slot] : children)
                ::kill(pid, SIGKILL);
            stopDeadline = nowMs() + 60000;
        }
        pollfd fds[2] = {{sfd, POLLIN, 0}, {fd, short(fd >= 0 ? POLLIN : 0), 0}};
        const int timeout = stopping ? 100 : -1;
        const int r = ::poll(fds, fd >= 0 ? 2 : 1, timeout);
        if (r < 0 && errno != EINTR)
            break;
        if (fds[0].revents & POLLIN) {
            signalfd_siginfo info;
            while (::read(sfd, &info, sizeof info) == ssize_t(sizeof info)) {
                if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT)
                    beginStop();   // the master handles its own; the server just drains
            }
            reap();
        }
        if (fd >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            Packet p;
            const ssize_t n = ::recv(fd, &p, sizeof p, 0);
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
                // The master is gone: no orphans, no socket file left behind.
                ::close(fd);
                fd = -1;
                beginStop();
                if (!socketPath.empty())
                    ::unlink(socketPath.c_str());
                if (!privateDir.empty())
                    ::rmdir(privateDir.c_str());
                continue;
            }
            if (n != ssize_t(sizeof p))
                continue;
            switch (p.op) {
            case ForkServer::Spawn: {
                if (stopping)
                    break;
                const pid_t pid = ::fork();
                if (pid == 0) {
                    ::close(fd);
                    ::close(sfd);
                    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
                    ::sigprocmask(SIG_SETMASK, &oldMask, nullptr);
                    const int rc = workerMain(p.slot);
                    Crypto::wipeAllKeys();   // _exit runs no destructor
                    ::_exit(rc);
                }
                if (pid > 0)
                    children[pid] = p.slot;
                writePacket(fd, Packet{ForkServer::Forked, p.slot, pid, pid > 0 ? 0 : errno, 0});
                break;
            }
            case ForkServer::Signal:
                if (children.count(pid_t(p.pid)))
                    ::kill(pid_t(p.pid), p.value);
                break;
            case ForkServer::StopAll:
                beginStop();
                break;
            default:
                break;
            }
        }
    }
    Crypto::wipeAllKeys();
    ::_exit(0);
}

} // namespace

int ForkServer::launch(std::function<int(int)> workerMain, const std::string &socketPath,
                      const std::string &privateDir, int closeInWorkers, qint64 *serverPid,
                      const std::function<void()> &inServer)
{
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(sv[0]);
        ::close(sv[1]);
        return -1;
    }
    if (pid == 0) {
        ::close(sv[0]);
        if (inServer)
            inServer();
        serve(sv[1], workerMain, socketPath, privateDir, closeInWorkers);
    }
    ::close(sv[1]);
    *serverPid = pid;
    return sv[0];
}

// ---------------------------------------------------------------------------------------

ForkServer::ForkServer(int fd, qint64 serverPid, QObject *parent)
    : QObject(parent), m_fd(fd), m_serverPid(serverPid)
{
    m_notifier = new QSocketNotifier(qintptr(fd), QSocketNotifier::Read, this);
    connect(m_notifier, &QSocketNotifier::activated, this, &ForkServer::onReadable);
}

ForkServer::~ForkServer()
{
    shutdown(GraceMs + 1000);
}

bool ForkServer::send(const Packet &packet)
{
    return m_fd >= 0 && writePacket(m_fd, packet);
}

void ForkServer::spawn(int slot)
{
    if (!send(Packet{ForkServer::Spawn, slot, 0, 0, 0}))
        qCWarning(lcWorker) << "fork server unreachable: cannot start slot" << slot;
}

void ForkServer::signal(qint64 pid, int signo)
{
    send(Packet{ForkServer::Signal, -1, pid, signo, 0});
}

void ForkServer::stopAll()
{
    send(Packet{ForkServer::StopAll, -1, 0, 0, 0});
}

void ForkServer::onReadable()
{
    for (;;) {
        Packet p;
        const ssize_t n = ::recv(m_fd, &p, sizeof p, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            m_notifier->setEnabled(false);
            qCWarning(lcWorker) << "fork server exited";
            Q_EMIT lost();
            return;
        }
        if (n != ssize_t(sizeof p))
            continue;
        if (p.op == ForkServer::Forked)
            Q_EMIT forked(p.slot, p.pid);
        else if (p.op == ForkServer::Reaped)
            Q_EMIT reaped(p.slot, p.pid, p.value);
    }
}

void ForkServer::shutdown(int timeoutMs)
{
    if (m_fd < 0)
        return;
    m_notifier->setEnabled(false);
    ::close(m_fd);
    m_fd = -1;
    // The server stops its workers and exits; reap it so nothing is left behind. A pidfd
    // becomes readable exactly when it exits; without one (kernel < 5.3), poll waitpid().
    QDeadlineTimer deadline(timeoutMs);
    const int pidfd = int(::syscall(SYS_pidfd_open, pid_t(m_serverPid), 0));
    if (pidfd >= 0) {
        pollfd p{pidfd, POLLIN, 0};
        int r;
        do
            r = ::poll(&p, 1, int(qMax<qint64>(0, deadline.remainingTime())));
        while (r < 0 && errno == EINTR);
        ::close(pidfd);
        int status = 0;
        if (r <= 0)
            ::kill(pid_t(m_serverPid), SIGKILL);
        ::waitpid(pid_t(m_serverPid), &status, 0);
        m_serverPid = 0;
        return;
    }
    while (m_serverPid > 0) {
        int status = 0;
        const pid_t r = ::waitpid(pid_t(m_serverPid), &status, WNOHANG);
        if (r == pid_t(m_serverPid) || (r < 0 && errno == ECHILD))
            break;
        if (deadline.hasExpired()) {
            ::kill(pid_t(m_serverPid), SIGKILL);
            ::waitpid(pid_t(m_serverPid), &status, 0);
            break;
        }
        ::usleep(10000);
    }
    m_serverPid = 0;
}

} // namespace Plexus
