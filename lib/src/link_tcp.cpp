// SPDX-License-Identifier: MIT
#include "link_tcp_p.h"
#include "logging_p.h"

#include <QtCore/qdeadlinetimer.h>
#include <QtNetwork/qtcpsocket.h>

namespace Plexus {

TcpLink::TcpLink(LinkHandler *handler, const LinkSetup &setup, QTcpSocket *socket,
                 QObject *parent)
    : Link(handler, setup, parent), m_socket(socket)
{
    m_socket->setParent(this);
    m_socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    m_lastInput = QDeadlineTimer::current().deadline();
    connect(m_socket, &QTcpSocket::readyRead, this, [this] {
        m_lastInput = QDeadlineTimer::current().deadline();
        inputReady();
    });
    connect(m_socket, &QTcpSocket::bytesWritten, this, &TcpLink::readyWrite);
    connect(m_socket, &QTcpSocket::disconnected, this, &TcpLink::transportLost);
    connect(m_socket, &QTcpSocket::errorOccurred, this, [this](QAbstractSocket::SocketError e) {
        // A blocking wait (busy poll, backpressure) that timed out is not a broken link.
        if (e == QAbstractSocket::SocketTimeoutError)
            return;
        qCDebug(lcCluster) << description() << "socket error:" << e << m_socket->errorString();
        transportLost();
    });
    if (m_socket->state() == QAbstractSocket::ConnectedState) {
        m_address = m_socket->peerAddress();
        m_port = m_socket->peerPort();
    } else {
        connect(m_socket, &QTcpSocket::connected, this, &TcpLink::onConnected);
    }
}

TcpLink::~TcpLink() = default;

void TcpLink::onConnected()
{
    m_address = m_socket->peerAddress();
    m_port = m_socket->peerPort();
    m_socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    start();
}

QString TcpLink::description() const
{
    const QHostAddress a = m_address.isNull() ? m_socket->peerAddress() : m_address;
    return QStringLiteral("tcp:%1").arg(a.isNull() ? m_socket->peerName() : a.toString());
}

qint64 TcpLink::transportRead(char *data, qint64 max)
{
    const qint64 n = m_socket->read(data, max);
    if (n > 0)
        return n;
    if (n < 0 || m_socket->state() != QAbstractSocket::ConnectedState)
        return -1;
    return 0;
}

qint64 TcpLink::transportWrite(const char *data, qint64 size)
{
    if (m_socket->state() != QAbstractSocket::ConnectedState)
        return -1;
    return m_socket->write(data, size);   // buffered by the socket: all of it
}

qint64 TcpLink::transportQueued() const
{
    return m_socket->bytesToWrite();
}

void TcpLink::transportClose()
{
    m_socket->disconnect(this);
    m_socket->abort();
}

void TcpLink::setWriteNotification(bool)
{
    // QTcpSocket takes every byte and reports progress with bytesWritten() by itself.
}

bool TcpLink::transportWait(bool forRead, int timeoutMs, bool *readable)
{
    *readable = false;
    if (m_socket->state() != QAbstractSocket::ConnectedState)
        return false;
    if (forRead && m_socket->bytesAvailable() > 0) {
        *readable = true;
        return true;
    }
    if (m_socket->bytesToWrite() > 0)
        m_socket->waitForBytesWritten(timeoutMs);
    else if (forRead)
        m_socket->waitForReadyRead(timeoutMs);
    *readable = forRead && m_socket->bytesAvailable() > 0;
    return m_socket->state() == QAbstractSocket::ConnectedState;
}

} // namespace Plexus
