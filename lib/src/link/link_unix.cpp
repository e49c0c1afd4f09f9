// SPDX-License-Identifier: MIT
#include "link_unix_p.h"
#include "link_iodevice_p.h"
#include "logging_p.h"

#include <QtNetwork/qlocalsocket.h>

#include <QtCore/qfileinfo.h>
#include <QtCore/qsocketnotifier.h>
#include <QtCore/qtimer.h>

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace Plexus {

namespace {
constexpr int MaxBackoffMs = 1000;

QString errnoString(int e)
{
    return QString::fromLocal8Bit(std::strerror(e));
}

bool fillAddress(const QString &path, sockaddr_un *addr, QString *error)
{
    const QByteArray native = path.toLocal8Bit();
    *addr = sockaddr_un{};
    addr->sun_family = AF_UNIX;
    if (native.isEmpty() || native.size() >= qsizetype(sizeof addr->sun_path)) {
        *error = QStringLiteral("IPC socket path empty or too long (max %1 bytes): %2")
                         .arg(sizeof addr->sun_path - 1).arg(path);
        return false;
    }
    std::memcpy(addr->sun_path, native.constData(), size_t(native.size()));
    return true;
}

QString randomCharacters(int length)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const QByteArray random = Crypto::randomBytes(length);
    QString out;
    out.reserve(length);
    for (int i = 0; i < length; ++i)
        out.append(QLatin1Char(alphabet[quint8(random[i]) % (sizeof alphabet - 1)]));
    return out;
}
} // namespace

// ---------------------------------------------------------------------------------------
// UnixLink

UnixLink::UnixLink(LinkHandler *handler, const LinkSetup &setup, int fd, QObject *parent)
    : SocketLink(handler, setup, fd, false, parent)
{
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
        m_peerPid = cred.pid;
}

UnixLink::~UnixLink() = default;

QString UnixLink::description() const
{
    // The kernel's word, never the pid a Hello claims: a refused impersonation is reported
    // (and rate-limited) under the process that sent it, not the one it pretended to be.
    if (m_peerPid > 0)
        return QStringLiteral("unix:pid %1").arg(m_peerPid);
    return QStringLiteral("unix:pid ? (claims %1)").arg(peer().pid);
}

Link *makeLocalLink(LinkHandler *handler, const LinkSetup &setup, int fd, QObject *parent)
{
    if (setup.backend == LinkBackend::Descriptor)
        return new UnixLink(handler, setup, fd, parent);
    ucred cred{};
    socklen_t len = sizeof cred;
    const qint64 pid = ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 ? cred.pid : 0;
    auto *socket = new QLocalSocket;
    socket->setSocketDescriptor(qintptr(fd), QLocalSocket::ConnectedState, QIODevice::ReadWrite);
    return new IoDeviceLink(handler, setup, socket, pid, parent);
}

// ---------------------------------------------------------------------------------------
// UnixServer

UnixServer::UnixServer(int fd, LinkHandler *handler, const LinkSetup &setup, QObject *parent)
    : QObject(parent), m_fd(fd), m_handler(handler), m_setup(setup)
{
    m_notifier = new QSocketNotifier(qintptr(fd), QSocketNotifier::Read, this);
    connect(m_notifier, &QSocketNotifier::activated, this, &UnixServer::onAccept);
    m_backoff = new QTimer(this);
    m_backoff->setSingleShot(true);
    connect(m_backoff, &QTimer::timeout, this, [this] {
        if (m_reserveFd < 0)
            m_reserveFd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        m_notifier->setEnabled(true);
        onAccept();
    });
    m_reserveFd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

UnixServer::~UnixServer()
{
    if (m_fd >= 0)
        ::close(m_fd);
    if (m_reserveFd >= 0)
        ::close(m_reserveFd);
}

void UnixServer::prunePending()
{
    m_pending.removeIf([](const QPointer<Link> &l) {
        return !l || !l->isOpen() || l->isEstablished();
    });
}

int UnixServer::pendingCount()
{
    prunePending();
    return int(m_pending.size());
}

bool UnixServer::shedOldestPending()
{
    prunePending();
    if (m_pending.isEmpty())
        return false;
    Link *oldest = m_pending.takeFirst();
    ++m_shed;
    oldest->shed();
    return true;
}

int UnixServer::acceptAtLimit()
{
    // Out of descriptors. accept4() says EMFILE whether or not a connection waits, so spend
    // the reserve descriptor to find out. A connection that does wait is taken, and an
    // older one that never authenticated makes room for the reserve again.
    if (m_reserveFd < 0)
        return -1;
    ::close(m_reserveFd);
    m_reserveFd = -1;
    const int fd = ::accept4(m_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0 || shedOldestPending())
        m_reserveFd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        errno = EAGAIN;   // nothing was waiting
    return fd;
}

void UnixServer::onAccept()
{
    for (;;) {
        int fd = ::accept4(m_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0 && (errno == EMFILE || errno == ENFILE))
            fd = m_reserveFd >= 0 ? acceptAtLimit() : (errno = EMFILE, -1);
        if (fd < 0) {
            const int e = errno;
            if (e == EINTR || e == ECONNABORTED)
                continue;
            if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
                // Nothing to spare: stop listening for a while. The notifier would fire
                // again at once and spin.
                if (m_backoffMs == 0)
                    qCWarning(lcIpc).noquote() << "accept failed:" << errnoString(e)
                                               << "- backing off until descriptors are free";
                m_backoffMs = qBound(50, m_backoffMs * 2, MaxBackoffMs);
                m_notifier->setEnabled(false);
                m_backoff->start(m_backoffMs);
            }
            return;   // EAGAIN (or a transient error: the notifier fires again)
        }
        if (m_backoffMs && m_reserveFd >= 0) {
            qCInfo(lcIpc) << "accepting connections again";
            m_backoffMs = 0;
        }
        prunePending();
        while (m_pending.size() >= m_maxPending && shedOldestPending()) { }
        Link *link = makeLocalLink(m_handler, m_setup, fd, this);
        m_pending.append(link);
        Q_EMIT linkAccepted(link);
        link->start();
    }
}

// ---------------------------------------------------------------------------------------
// IpcSocket

QString IpcSocket::pathFromUrl(const QString &url)
{
    if (url.startsWith(QLatin1String("unix://")))
        return url.mid(7);
    if (url.contains(QLatin1String("://")))
        return QString();
    return url;
}

bool IpcSocket::resolve(const QString &url, QString *path, QString *privateDir, QString *error)
{
    QString p = pathFromUrl(url);
    if (!url.isEmpty() && p.isEmpty()) {
        *error = QStringLiteral("unsupported IPC URL scheme: %1 (use unix://path)").arg(url);
        return false;
    }
    privateDir->clear();
    if (p.isEmpty()) {
        QByteArray base = qgetenv("XDG_RUNTIME_DIR");
        if (base.isEmpty() || ::access(base.constData(), W_OK) != 0)
            base = qgetenv("TMPDIR");
        if (base.isEmpty())
            base = "/tmp";
        QByteArray templ = base + "/plexus-XXXXXX";
        if (!::mkdtemp(templ.data())) {   // mode 0700: only this user can enter
            *error = QStringLiteral("cannot create a private directory in %1: %2")
                             .arg(QString::fromLocal8Bit(base), errnoString(errno));
            return false;
        }
        *privateDir = QString::fromLocal8Bit(templ);
        p = *privateDir + QLatin1String("/ipc.sock");
    } else {
        const qsizetype slash = p.lastIndexOf(QLatin1Char('/'));
        const qsizetype nameStart = slash + 1;
        if (p.endsWith(QLatin1String("..."))) {
            p.chop(3);
            p += randomCharacters(DotsRandomLength);
        } else {
            // The last run of three or more 'X' in the file name, wherever it stands
            // (mkstemps' rule, with what follows it kept).
            qsizetype i = p.size();
            while (i > nameStart) {
                if (p.at(i - 1) != QLatin1Char('X')) {
                    --i;
                    continue;
                }
                const qsizetype end = i;
                while (i > nameStart && p.at(i - 1) == QLatin1Char('X'))
                    --i;
                if (end - i >= 3) {
                    p.replace(i, end - i, randomCharacters(int(end - i)));
                    break;
                }
            }
        }
        if (p.size() <= nameStart) {
            *error = QStringLiteral("IPC URL %1 names a directory, not a socket file").arg(url);
            return false;
        }
    }
    sockaddr_un addr;
    if (!fillAddress(p, &addr, error)) {
        if (!privateDir->isEmpty())
            ::rmdir(privateDir->toLocal8Bit().constData());
        privateDir->clear();
        return false;
    }
    *path = p;
    return true;
}

int IpcSocket::listen(const QString &path, QString *error, bool *inUse)
{
    if (inUse)
        *inUse = false;
    sockaddr_un addr;
    if (!fillAddress(path, &addr, error))
        return -1;
    for (int attempt = 0; attempt < 2; ++attempt) {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            *error = errnoString(errno);
            return -1;
        }
        const mode_t oldMask = ::umask(0177);   // the socket file is created 0600
        const int rc = ::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr);
        const int bindErrno = errno;
        ::umask(oldMask);
        if (rc == 0 && ::listen(fd, 512) == 0) {
            ::chmod(addr.sun_path, 0600);
            struct stat st;
            const QByteArray dir = QFileInfo(path).absolutePath().toLocal8Bit();
            if (::stat(dir.constData(), &st) == 0 && (st.st_mode & (S_IXGRP | S_IXOTH)))
                qCInfo(lcSecurity, "IPC socket directory %s can be entered by other users; the "
                                   "socket itself is mode 0600", dir.constData());
            return fd;
        }
        const int e = rc ? bindErrno : errno;
        ::close(fd);
        if (e == EADDRINUSE && attempt == 0) {
            // A socket file is there. If nothing accepts on it, its process died (SIGKILL,
            // no fork server to clean up): replace it. A live one is never taken over.
            const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            const bool live = probe >= 0
                    && ::connect(probe, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0;
            const int probeErrno = errno;
            if (probe >= 0)
                ::close(probe);
            struct stat st;
            if (!live && probeErrno == ECONNREFUSED && ::lstat(addr.sun_path, &st) == 0
                && S_ISSOCK(st.st_mode) && st.st_uid == ::getuid()) {
                qCInfo(lcIpc) << "replacing stale IPC socket" << path;
                ::unlink(addr.sun_path);
                continue;
            }
            if (inUse)
                *inUse = live;
            *error = live ? QStringLiteral("cannot listen on %1: another process is serving it").arg(path)
                          : QStringLiteral("cannot listen on %1: %2").arg(path, errnoString(e));
            return -1;
        }
        *error = QStringLiteral("cannot listen on %1: %2").arg(path, errnoString(e));
        return -1;
    }
    *error = QStringLiteral("cannot listen on %1").arg(path);
    return -1;
}

int IpcSocket::connect(const QString &path, QString *error)
{
    sockaddr_un addr;
    if (!fillAddress(path, &addr, error))
        return -1;
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) {
        *error = QStringLiteral("cannot connect to %1: %2").arg(path, errnoString(errno));
        if (fd >= 0)
            ::close(fd);
        return -1;
    }
    return fd;
}

} // namespace Plexus
