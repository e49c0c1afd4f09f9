// SPDX-License-Identifier: MIT
#include "link_p.h"
#include "logging_p.h"
#include "router_p.h"

#include <QtCore/qcoreapplication.h>
#include <QtCore/qdeadlinetimer.h>
#include <QtCore/qcoreevent.h>
#include <QtCore/qsocketnotifier.h>

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

namespace Plexus {

namespace {
constexpr qsizetype ReadChunk = 256 * 1024;
constexpr int MaxIov = 256;
constexpr int ReadRounds = 8;   // per notification, so one busy link cannot starve others
} // namespace

UnixLink::UnixLink(Router *router, int fd, const QByteArray &preamble, qsizetype maxLength,
                   QObject *parent)
    : Link(router, parent), m_fd(fd), m_reader(maxLength, /*expectPreamble=*/true)
{
    m_reader.setHandshakeMode(true);
    ::fcntl(m_fd, F_SETFL, ::fcntl(m_fd, F_GETFL) | O_NONBLOCK);
    ::fcntl(m_fd, F_SETFD, FD_CLOEXEC);
    // Larger kernel buffers let a pipelined burst flow without a wakeup per frame.
    const int bufferSize = 1 << 20;
    ::setsockopt(m_fd, SOL_SOCKET, SO_SNDBUF, &bufferSize, sizeof bufferSize);
    ::setsockopt(m_fd, SOL_SOCKET, SO_RCVBUF, &bufferSize, sizeof bufferSize);

    m_readNotifier = new QSocketNotifier(qintptr(m_fd), QSocketNotifier::Read, this);
    connect(m_readNotifier, &QSocketNotifier::activated, this, &UnixLink::onReadable);
    m_writeNotifier = new QSocketNotifier(qintptr(m_fd), QSocketNotifier::Write, this);
    m_writeNotifier->setEnabled(false);
    connect(m_writeNotifier, &QSocketNotifier::activated, this, &UnixLink::flush);
    if (!preamble.isEmpty())
        write(preamble);
}

UnixLink::~UnixLink()
{
    if (m_fd >= 0)
        ::close(m_fd);
}

QString UnixLink::description() const
{
    if (m_peer.pid)
        return QStringLiteral("unix:pid %1").arg(m_peer.pid);
    return QStringLiteral("unix:fd %1").arg(m_fd);
}

void UnixLink::write(const QByteArray &sealedFrame)
{
    if (m_closed)
        return;
    m_queue.append(sealedFrame);
    m_queued += sealedFrame.size();
    bytesOut += quint64(sealedFrame.size());
    if (!m_writeNotifier->isEnabled())   // else the socket is full: the notifier flushes
        m_router->linkWritten(this);
}

void UnixLink::flush()
{
    while (m_fd >= 0 && m_queueHead < m_queue.size()) {
        iovec iov[MaxIov];
        int count = 0;
        for (qsizetype i = m_queueHead; i < m_queue.size() && count < MaxIov; ++i, ++count) {
            const QByteArray &b = m_queue.at(i);
            const qsizetype skip = (i == m_queueHead) ? m_headOffset : 0;
            iov[count].iov_base = const_cast<char *>(b.constData()) + skip;
            iov[count].iov_len = size_t(b.size() - skip);
        }
        msghdr msg{};
        msg.msg_iov = iov;
        msg.msg_iovlen = size_t(count);
        const ssize_t n = ::sendmsg(m_fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                m_writeNotifier->setEnabled(true);
                return;
            }
            qCDebug(lcIpc) << description() << "write failed:" << std::strerror(errno);
            close();
            return;
        }
        qsizetype left = n;
        m_queued -= n;
        while (left > 0) {
            const qsizetype rest = m_queue.at(m_queueHead).size() - m_headOffset;
            if (left >= rest) {
                left -= rest;
                m_queue[m_queueHead] = QByteArray();
                ++m_queueHead;
                m_headOffset = 0;
            } else {
                m_headOffset += left;
                left = 0;
            }
        }
    }
    m_queue.clear();
    m_queueHead = 0;
    m_headOffset = 0;
    if (m_writeNotifier)
        m_writeNotifier->setEnabled(false);
    if (m_router)
        m_router->linkDrained(this);
}

bool UnixLink::flushBlocking(int timeoutMs)
{
    QDeadlineTimer deadline(timeoutMs);
    while (m_fd >= 0 && m_queued > 0) {
        flush();
        if (m_queued == 0)
            break;
        pollfd p{m_fd, POLLOUT, 0};
        const qint64 remaining = deadline.remainingTime();
        if (remaining == 0)
            return false;
        ::poll(&p, 1, int(qMin<qint64>(remaining < 0 ? 100 : remaining, 100)));
    }
    return m_queued == 0;
}

bool UnixLink::drainBlocking(qsizetype lowWater, int timeoutMs)
{
    QDeadlineTimer deadline(timeoutMs);
    while (m_fd >= 0 && m_queued > lowWater) {
        flush();
        if (m_fd < 0 || m_queued <= lowWater)
            break;
        const bool mayRead = m_router->mayReadWhileWaiting();
        pollfd p{m_fd, short(POLLOUT | (mayRead ? POLLIN : 0)), 0};
        const qint64 remaining = deadline.remainingTime();
        if (remaining == 0)
            return false;
        const int r = ::poll(&p, 1, int(qMin<qint64>(remaining < 0 ? 100 : remaining, 100)));
        if (r > 0 && mayRead && (p.revents & (POLLIN | POLLHUP | POLLERR)))
            onReadable();
    }
    return m_fd >= 0;
}

void UnixLink::onReadable()
{
    // Replies and forwards written while this batch is processed leave in one write each
    // per link when it ends.
    const Router::Cork cork(m_router);
    static thread_local char buffer[ReadChunk];
    for (int round = 0; round < ReadRounds && m_fd >= 0; ++round) {
        qsizetype direct = 0;
        char *space = m_reader.directSpace(&direct);
        ssize_t n;
        const bool readDirect = space && direct >= qsizetype(sizeof buffer) / 4;
        if (readDirect)
            n = ::read(m_fd, space, size_t(direct));
        else
            n = ::read(m_fd, buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            qCDebug(lcIpc) << description() << "read failed:" << std::strerror(errno);
            close();
            return;
        }
        if (n == 0) {
            if (m_reader.pendingBytes() > 0)
                m_router->linkRejected(this, FrameError::TruncatedFrame);
            close();
            return;
        }
        bytesIn += quint64(n);
        if (readDirect) {
            const FrameError error = m_reader.commitDirect(n);
            while (m_reader.hasFrame() && !m_closed)
                m_router->frameReceived(this, m_reader.takeFrame());
            if (error != FrameError::NoError) {
                fail(error);
                return;
            }
        } else {
            QByteArrayView rest(buffer, n);
            while (!rest.isEmpty() && !m_closed) {
                qsizetype used = 0;
                const FrameError error = m_reader.append(rest, &used);
                rest = rest.sliced(used);
                while (m_reader.hasFrame() && !m_closed)
                    m_router->frameReceived(this, m_reader.takeFrame());
                if (error != FrameError::NoError) {
                    fail(error);
                    return;
                }
            }
        }
        if (n < ssize_t(readDirect ? direct : qsizetype(sizeof buffer)))
            return;   // drained the socket for now
    }
}

void UnixLink::fail(FrameError error)
{
    if (m_closed)
        return;
    m_router->linkRejected(this, error);
    close();
}

void UnixLink::close()
{
    if (m_closed)
        return;
    m_closed = true;
    m_router->linksChanged();
    if (m_readNotifier)
        m_readNotifier->setEnabled(false);
    if (m_writeNotifier)
        m_writeNotifier->setEnabled(false);
    if (m_fd >= 0) {
        ::shutdown(m_fd, SHUT_RDWR);
        ::close(m_fd);
        m_fd = -1;
    }
    m_queue.clear();
    m_queueHead = 0;
    m_headOffset = 0;
    m_queued = 0;
    // Tell the router from the event loop, never from inside its own call into us.
    QMetaObject::invokeMethod(this, [this] { m_router->linkClosed(this); }, Qt::QueuedConnection);
}

} // namespace Plexus
