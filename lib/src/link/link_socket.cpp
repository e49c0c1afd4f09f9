// SPDX-License-Identifier: MIT
#include "link_socket_p.h"
#include "logging_p.h"

#include <QtCore/qsocketnotifier.h>

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace Plexus {

SocketLink::SocketLink(LinkHandler *handler, const LinkSetup &setup, int fd, bool connecting,
                       QObject *parent)
    : Link(handler, setup, parent), m_fd(fd), m_connecting(connecting), m_connected(!connecting)
{
    ::fcntl(m_fd, F_SETFL, ::fcntl(m_fd, F_GETFL) | O_NONBLOCK);
    ::fcntl(m_fd, F_SETFD, FD_CLOEXEC);
    // Larger kernel buffers let a pipelined burst flow without a wakeup per record.
    const int bufferSize = 1 << 20;
    ::setsockopt(m_fd, SOL_SOCKET, SO_SNDBUF, &bufferSize, sizeof bufferSize);
    ::setsockopt(m_fd, SOL_SOCKET, SO_RCVBUF, &bufferSize, sizeof bufferSize);

    m_readNotifier = new QSocketNotifier(qintptr(m_fd), QSocketNotifier::Read, this);
    m_readNotifier->setEnabled(!connecting);
    connect(m_readNotifier, &QSocketNotifier::activated, this, &SocketLink::inputReady);
    m_writeNotifier = new QSocketNotifier(qintptr(m_fd), QSocketNotifier::Write, this);
    m_writeNotifier->setEnabled(connecting);
    connect(m_writeNotifier, &QSocketNotifier::activated, this, &SocketLink::onWritable);
}

SocketLink::~SocketLink()
{
    if (m_fd >= 0)
        ::close(m_fd);
}

void SocketLink::onWritable()
{
    if (!m_connecting) {
        readyWrite();
        return;
    }
    int error = 0;
    socklen_t len = sizeof error;
    if (::getsockopt(m_fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0)
        error = errno;
    m_connecting = false;
    m_writeNotifier->setEnabled(false);
    if (error) {
        qCDebug(lcIpc) << description() << "connect failed:" << std::strerror(error);
        transportLost();
        return;
    }
    m_connected = true;
    m_readNotifier->setEnabled(true);
    transportConnected();
    start();
}

qint64 SocketLink::transportRead(char *data, qint64 max)
{
    if (m_connecting)
        return 0;
    for (;;) {
        const ssize_t n = ::read(m_fd, data, size_t(max));
        if (n > 0)
            return n;
        if (n == 0)
            return -1;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        qCDebug(lcIpc) << description() << "read failed:" << std::strerror(errno);
        return -1;
    }
}

qint64 SocketLink::transportWrite(const char *data, qint64 size)
{
    if (m_connecting)
        return 0;
    for (;;) {
        const ssize_t n = ::send(m_fd, data, size_t(size), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        qCDebug(lcIpc) << description() << "write failed:" << std::strerror(errno);
        return -1;
    }
}

void SocketLink::transportClose()
{
    if (m_readNotifier)
        m_readNotifier->setEnabled(false);
    if (m_writeNotifier)
        m_writeNotifier->setEnabled(false);
    if (m_fd >= 0) {
        ::shutdown(m_fd, SHUT_RDWR);
        ::close(m_fd);
        m_fd = -1;
    }
}

void SocketLink::setWriteNotification(bool enabled)
{
    if (m_writeNotifier && m_fd >= 0 && !m_connecting)
        m_writeNotifier->setEnabled(enabled);
}

bool SocketLink::transportWait(bool forRead, int timeoutMs, bool *readable)
{
    *readable = false;
    if (m_fd < 0)
        return false;
    pollfd p{m_fd, short(POLLOUT | (forRead ? POLLIN : 0)), 0};
    int r;
    do
        r = ::poll(&p, 1, timeoutMs);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return false;
    if (m_connecting) {
        if (p.revents & (POLLOUT | POLLERR | POLLHUP))
            onWritable();
        return m_fd >= 0 && isOpen();
    }
    *readable = forRead && (p.revents & (POLLIN | POLLHUP | POLLERR));
    return !(p.revents & POLLNVAL);
}

bool SocketLink::transportPeerClosed() const
{
    if (m_fd < 0 || m_connecting)
        return false;
    char c;
    ssize_t n;
    do
        n = ::recv(m_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    // 0: an orderly end of stream with nothing before it; a reset counts as gone too.
    return n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE));
}

} // namespace Plexus
