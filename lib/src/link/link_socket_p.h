// SPDX-License-Identifier: MIT
#pragma once

#include "link_p.h"

QT_BEGIN_NAMESPACE
class QSocketNotifier;
QT_END_NAMESPACE

namespace Plexus {

/*
    The backend of every stream link: a connected (or connecting) stream socket descriptor
    driven by QSocketNotifiers, read and written with plain non-blocking system calls, so
    that a read costs one syscall and no copy beyond the link's own buffer. UnixLink
    (AF_UNIX, local) and TcpLink (the cluster) differ only in how they name their peer.
*/
class SocketLink : public Link
{
    Q_OBJECT
public:
    ~SocketLink() override;

    bool wasConnected() const noexcept override { return m_connected; }

protected:
    // Takes ownership of \a fd. With \a connecting, a non-blocking connect() is in progress:
    // the handshake starts once it completes, and a failed connect closes the link.
    SocketLink(LinkHandler *handler, const LinkSetup &setup, int fd, bool connecting,
               QObject *parent);

    int descriptor() const noexcept { return m_fd; }
    // A connect in progress completed (before the handshake starts).
    virtual void transportConnected() { }

    qint64 transportRead(char *data, qint64 max) override;
    qint64 transportWrite(const char *data, qint64 size) override;
    void transportClose() override;
    void setWriteNotification(bool enabled) override;
    bool transportWait(bool forRead, int timeoutMs, bool *readable) override;
    bool transportPeerClosed() const override;

private:
    void onWritable();

    int m_fd;
    bool m_connecting;
    bool m_connected;
    QSocketNotifier *m_readNotifier = nullptr;
    QSocketNotifier *m_writeNotifier = nullptr;
};

} // namespace Plexus
