// SPDX-License-Identifier: MIT
#pragma once

#include "link_socket_p.h"

#include <QtCore/qlist.h>
#include <QtCore/qpointer.h>
#include <QtCore/qstring.h>

QT_BEGIN_NAMESPACE
class QSocketNotifier;
class QTimer;
QT_END_NAMESPACE

namespace Plexus {

/*
    A Link over a connected AF_UNIX stream socket (the descriptor backend is SocketLink's).
    The peer's pid comes from SO_PEERCRED, so a connection is named (description()) by the
    process the kernel says it is, before it has said anything and whatever it claims.
*/
class UnixLink final : public SocketLink
{
    Q_OBJECT
public:
    // Takes ownership of \a fd (connected, any blocking mode).
    UnixLink(LinkHandler *handler, const LinkSetup &setup, int fd, QObject *parent = nullptr);
    ~UnixLink() override;

    QString description() const override;
    qint64 peerCredentialPid() const noexcept override { return m_peerPid; }

private:
    qint64 m_peerPid = 0;
};

// A link over the connected AF_UNIX socket \a fd (taken over), with the backend that
// \a setup names: a UnixLink, or an IoDeviceLink over a QLocalSocket.
Link *makeLocalLink(LinkHandler *handler, const LinkSetup &setup, int fd, QObject *parent = nullptr);

/*
    The master's listening socket. Accepts connections as links (makeLocalLink()) and keeps
    them honest:
    at most maxPending links may be unauthenticated at a time (the oldest is shed to make
    room). When the process runs out of file descriptors, a reserved one is spent to take a
    waiting connection and the oldest unauthenticated link is shed to get it back; with
    nothing to shed the server backs off instead of spinning on a notifier that fires again
    at once, and says so once.
*/
class UnixServer : public QObject
{
    Q_OBJECT
public:
    static constexpr int DefaultMaxPending = 64;

    // Takes ownership of the listening \a fd.
    UnixServer(int fd, LinkHandler *handler, const LinkSetup &setup, QObject *parent = nullptr);
    ~UnixServer() override;

    void setMaxPending(int count) { m_maxPending = qMax(1, count); }
    int pendingCount();
    // Connections shed (too many unauthenticated, or out of descriptors), for the tests.
    quint64 shedCount() const noexcept { return m_shed; }

Q_SIGNALS:
    void linkAccepted(Plexus::Link *link);

private:
    void onAccept();
    int acceptAtLimit();
    bool shedOldestPending();
    void prunePending();

    int m_fd;
    int m_reserveFd = -1;   // spent to accept when the process is out of descriptors
    LinkHandler *m_handler;
    LinkSetup m_setup;
    QSocketNotifier *m_notifier = nullptr;
    QTimer *m_backoff = nullptr;
    int m_backoffMs = 0;
    int m_maxPending = DefaultMaxPending;
    quint64 m_shed = 0;
    QList<QPointer<Link>> m_pending;   // accepted, not yet established, oldest first
};

/*
    IPC URLs and sockets (fio_ipc_url): usable before Qt starts, since Plexus::exec()
    creates the listening socket before it forks.
*/
namespace IpcSocket {
// Characters that replace the template of a URL (the last run of 3 or more 'X', or "...").
inline constexpr int DotsRandomLength = 12;

// The path of a unix:// URL (or a plain path); empty for another scheme.
QString pathFromUrl(const QString &url);
// Resolves the random parts of \a url: an empty URL becomes a socket in a new private
// directory (*privateDir); the last run of three or more 'X' in the file name, or a "..."
// suffix, becomes random characters. False with *error set if the URL is refused.
bool resolve(const QString &url, QString *path, QString *privateDir, QString *error);
// Binds and listens (socket mode 0600). A socket file left by a process that died is
// replaced; a live one (something accepts on it) is never taken over.
int listen(const QString &path, QString *error, bool *inUse = nullptr);
// Connects to \a path; -1 with *error set on failure.
int connect(const QString &path, QString *error);
} // namespace IpcSocket

} // namespace Plexus
