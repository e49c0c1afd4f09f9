// SPDX-License-Identifier: MIT
#include "link_iodevice_p.h"
#include "logging_p.h"

#include <QtCore/qiodevice.h>
#include <QtNetwork/qabstractsocket.h>
#include <QtNetwork/qhostaddress.h>
#include <QtNetwork/qlocalsocket.h>

namespace Plexus {

namespace {
// While a blocking wait runs, Qt emits readyRead() and bytesWritten() from inside it; the
// waiting caller reads and writes itself, so the link ignores them meanwhile.
class WaitGuard
{
public:
    explicit WaitGuard(bool *flag) : m_flag(flag), m_was(*flag) { *flag = true; }
    ~WaitGuard() { *m_flag = m_was; }
    WaitGuard(const WaitGuard &) = delete;
    WaitGuard &operator=(const WaitGuard &) = delete;

private:
    bool *m_flag;
    bool m_was;
};
} // namespace

IoDeviceLink::IoDeviceLink(LinkHandler *handler, const LinkSetup &setup, QIODevice *device,
                           qint64 credentialPid, QObject *parent)
    : Link(handler, setup, parent), m_device(device), m_credentialPid(credentialPid)
{
    device->setParent(this);
    connect(device, &QIODevice::readyRead, this, [this] {
        if (!m_waiting)
            inputReady();
    });
    connect(device, &QIODevice::bytesWritten, this, [this] {
        if (!m_waiting && m_wantWrite && m_device && m_device->bytesToWrite() == 0)
            readyWrite();
    });
    // The end of the stream: what is buffered is read first, then the link sees the end.
    connect(device, &QIODevice::readChannelFinished, this, [this] {
        m_atEnd = true;
        if (!m_waiting)
            inputReady();
    });
    if (auto *socket = qobject_cast<QAbstractSocket *>(device)) {
        connect(socket, &QAbstractSocket::connected, this, &IoDeviceLink::onConnected);
        connect(socket, &QAbstractSocket::disconnected, this, [this] {
            m_atEnd = true;
            if (!m_waiting)
                inputReady();
        });
        connect(socket, &QAbstractSocket::errorOccurred, this, [this](QAbstractSocket::SocketError e) {
            if (e == QAbstractSocket::SocketTimeoutError)
                return;   // a waitFor*() that timed out: nothing happened to the socket
            qCDebug(lcIpc) << description() << "socket error:" << e;
            m_atEnd = true;
            if (!m_waiting)
                inputReady();
        });
    } else if (auto *local = qobject_cast<QLocalSocket *>(device)) {
        connect(local, &QLocalSocket::connected, this, &IoDeviceLink::onConnected);
        connect(local, &QLocalSocket::disconnected, this, [this] {
            m_atEnd = true;
            if (!m_waiting)
                inputReady();
        });
        connect(local, &QLocalSocket::errorOccurred, this, [this](QLocalSocket::LocalSocketError e) {
            if (e == QLocalSocket::SocketTimeoutError)
                return;   // a waitFor*() that timed out: nothing happened to the socket
            qCDebug(lcIpc) << description() << "socket error:" << e;
            m_atEnd = true;
            if (!m_waiting)
                inputReady();
        });
    }
    m_started = isConnected();
}

IoDeviceLink::~IoDeviceLink() = default;

bool IoDeviceLink::isConnecting() const
{
    if (auto *socket = qobject_cast<QAbstractSocket *>(m_device.data()))
        return socket->state() == QAbstractSocket::HostLookupState
                || socket->state() == QAbstractSocket::ConnectingState;
    if (auto *local = qobject_cast<QLocalSocket *>(m_device.data()))
        return local->state() == QLocalSocket::ConnectingState;
    return false;
}

bool IoDeviceLink::isConnected() const
{
    if (!m_device || !m_device->isOpen())
        return false;
    if (auto *socket = qobject_cast<QAbstractSocket *>(m_device.data()))
        return socket->state() == QAbstractSocket::ConnectedState;
    if (auto *local = qobject_cast<QLocalSocket *>(m_device.data()))
        return local->state() == QLocalSocket::ConnectedState;
    return true;
}

void IoDeviceLink::onConnected()
{
    if (m_started)
        return;
    m_started = true;
    start();   // a device that was still connecting: the handshake starts now
}

QString IoDeviceLink::description() const
{
    if (auto *socket = qobject_cast<QAbstractSocket *>(m_device.data()))
        return QStringLiteral("tcp:%1").arg(socket->peerAddress().toString());
    if (m_credentialPid > 0)
        return QStringLiteral("unix:pid %1").arg(m_credentialPid);
    return QStringLiteral("qt:%1").arg(m_device ? QString::fromLatin1(m_device->metaObject()->className())
                                                : QStringLiteral("closed"));
}

qint64 IoDeviceLink::transportRead(char *data, qint64 max)
{
    if (!m_device || isConnecting())
        return 0;
    const qint64 n = m_device->read(data, max);
    if (n > 0)
        return n;
    if (n < 0 || m_atEnd || !isConnected())
        return -1;
    return 0;
}

qint64 IoDeviceLink::transportWrite(const char *data, qint64 size)
{
    if (!m_device || !m_device->isOpen())
        return -1;
    if (isConnecting())
        return 0;
    return m_device->write(data, size);   // Qt buffers it all; transportQueued() shows it
}

qint64 IoDeviceLink::transportQueued() const
{
    return m_device ? m_device->bytesToWrite() : 0;
}

bool IoDeviceLink::transportPeerClosed() const
{
    return m_atEnd && (!m_device || m_device->bytesAvailable() == 0);
}

void IoDeviceLink::transportClose()
{
    if (!m_device)
        return;
    m_device->disconnect(this);
    if (auto *socket = qobject_cast<QAbstractSocket *>(m_device.data()))
        socket->abort();
    else if (auto *local = qobject_cast<QLocalSocket *>(m_device.data()))
        local->abort();
    else
        m_device->close();
}

void IoDeviceLink::setWriteNotification(bool enabled)
{
    m_wantWrite = enabled;
}

bool IoDeviceLink::transportWait(bool forRead, int timeoutMs, bool *readable)
{
    *readable = false;
    if (!m_device || !m_device->isOpen())
        return false;
    const WaitGuard guard(&m_waiting);
    if (isConnecting()) {
        if (auto *socket = qobject_cast<QAbstractSocket *>(m_device.data()))
            socket->waitForConnected(timeoutMs);
        else if (auto *local = qobject_cast<QLocalSocket *>(m_device.data()))
            local->waitForConnected(timeoutMs);
        if (isConnected())
            onConnected();
        return isConnected();
    }
    if (forRead && (m_device->bytesAvailable() > 0 || m_atEnd)) {
        *readable = true;
        return true;
    }
    if (m_device->bytesToWrite() > 0)
        m_device->waitForBytesWritten(timeoutMs);
    else if (forRead)
        m_device->waitForReadyRead(timeoutMs);
    if (!isConnected())
        m_atEnd = true;
    *readable = forRead && (m_device->bytesAvailable() > 0 || m_atEnd);
    return m_device && (m_device->isOpen() || m_device->bytesAvailable() > 0);
}

} // namespace Plexus
