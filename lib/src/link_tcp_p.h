// SPDX-License-Identifier: MIT
#pragma once

#include "link_p.h"

#include <QtNetwork/qhostaddress.h>

QT_BEGIN_NAMESPACE
class QTcpSocket;
QT_END_NAMESPACE

namespace Plexus {

/*
    A Link over a QTcpSocket: the cluster's links between the masters of two machines. The
    socket buffers what it is given, so a write never blocks here; the backlog counts in
    queuedBytes() through bytesToWrite(), and blocking backpressure waits on the socket's
    own waitForBytesWritten()/waitForReadyRead(). The handshake starts once the socket is
    connected; a socket error or a disconnect ends the link.
*/
class TcpLink final : public Link
{
    Q_OBJECT
public:
    // Takes ownership of \a socket, connected or connecting.
    TcpLink(LinkHandler *handler, const LinkSetup &setup, QTcpSocket *socket,
            QObject *parent = nullptr);
    ~TcpLink() override;

    QString description() const override;
    QHostAddress peerAddress() const { return m_address; }
    quint16 peerPort() const { return m_port; }
    // Monotonic ms of the last byte received (heartbeats).
    qint64 lastInputAt() const noexcept { return m_lastInput; }

protected:
    qint64 transportRead(char *data, qint64 max) override;
    qint64 transportWrite(const char *data, qint64 size) override;
    qint64 transportQueued() const override;
    void transportClose() override;
    void setWriteNotification(bool enabled) override;
    bool transportWait(bool forRead, int timeoutMs, bool *readable) override;

private:
    void onConnected();

    QTcpSocket *m_socket;
    QHostAddress m_address;
    quint16 m_port = 0;
    qint64 m_lastInput = 0;
    bool m_started = false;
};

} // namespace Plexus
