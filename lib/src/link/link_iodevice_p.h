// SPDX-License-Identifier: MIT
#pragma once

#include "link_p.h"

#include <QtCore/qpointer.h>

QT_BEGIN_NAMESPACE
class QIODevice;
QT_END_NAMESPACE

namespace Plexus {

/*
    A Link over any connected Qt I/O device: QLocalSocket, QTcpSocket, QSslSocket, or a
    device of one's own that emits readyRead(), bytesWritten() and readChannelFinished().
    The default backend (SocketLink) goes below Qt's sockets for speed; this one lets a
    process carry its links over the Qt sockets of its choosing (Node::setLinkBackend(),
    PLEXUS_LINK_BACKEND=qt), and passes the same link tests (docs/ARCHITECTURE.md, "Qt
    sockets and where Plexus goes below them").

    Qt buffers what is written (transportQueued() is the device's bytesToWrite()), so the
    link's backpressure sees both queues. A device that is still connecting (a QTcpSocket
    after connectToHost()) starts the handshake once it is connected.
*/
class IoDeviceLink final : public Link
{
    Q_OBJECT
public:
    // Takes ownership of \a device (reparented to the link). \a credentialPid: the peer's
    // pid as the kernel reports it, for local links (0 if unknown).
    IoDeviceLink(LinkHandler *handler, const LinkSetup &setup, QIODevice *device,
                 qint64 credentialPid = 0, QObject *parent = nullptr);
    ~IoDeviceLink() override;

    QString description() const override;
    qint64 peerCredentialPid() const noexcept override { return m_credentialPid; }
    bool wasConnected() const noexcept override { return m_started; }
    QIODevice *device() const noexcept { return m_device; }

protected:
    qint64 transportRead(char *data, qint64 max) override;
    qint64 transportWrite(const char *data, qint64 size) override;
    qint64 transportQueued() const override;
    bool transportPeerClosed() const override;
    void transportClose() override;
    void setWriteNotification(bool enabled) override;
    bool transportWait(bool forRead, int timeoutMs, bool *readable) override;

private:
    bool isConnecting() const;
    bool isConnected() const;
    void onConnected();

    QPointer<QIODevice> m_device;
    qint64 m_credentialPid = 0;
    bool m_atEnd = false;
    bool m_started = false;
    bool m_waiting = false;
    bool m_wantWrite = false;
};

} // namespace Plexus
