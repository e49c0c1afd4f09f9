// SPDX-License-Identifier: MIT
#include "natsrawclient.h"

#include <QtCore/qdatetime.h>
#include <QtCore/qendian.h>
#include <QtCore/qjsondocument.h>
#include <QtNetwork/qhostaddress.h>
#include <QtTest/qtestsystem.h>

namespace TestSupport {

quint8 NatsRawClient::Message::channel() const
{
    return payload.size() >= 64 ? quint8(payload[4]) : 0;
}

quint64 NatsRawClient::Message::sender() const
{
    return payload.size() >= 64 ? qFromLittleEndian<quint64>(payload.constData() + 8) : 0;
}

quint64 NatsRawClient::Message::timestamp() const
{
    return payload.size() >= 64 ? qFromLittleEndian<quint64>(payload.constData() + 32) : 0;
}

NatsRawClient::NatsRawClient()
{
    connect(&m_socket, &QTcpSocket::readyRead, this, [this] {
        m_in += m_socket.readAll();
        parse();
    });
}

bool NatsRawClient::open(quint16 port, const QByteArray &subject)
{
    m_socket.connectToHost(QHostAddress(QHostAddress::LocalHost), port);
    if (!QTest::qWaitFor([this] { return !m_info.isEmpty() || !m_errors.isEmpty(); }, 5000))
        return false;
    send(R"(CONNECT {"verbose":false,"pedantic":false,"headers":true,"echo":false,"name":"raw"})"
         "\r\nSUB " + subject + " 1\r\n");
    return sync() && m_errors.isEmpty();
}

bool NatsRawClient::sync()
{
    const int before = m_pongs;
    send("PING\r\n");
    return QTest::qWaitFor([&] { return m_pongs > before || !m_errors.isEmpty(); }, 5000)
        && m_pongs > before;
}

void NatsRawClient::publish(const QByteArray &subject, const QByteArray &payload)
{
    send("PUB " + subject + ' ' + QByteArray::number(payload.size()) + "\r\n" + payload + "\r\n");
}

bool NatsRawClient::publishBlocking(const QByteArray &subject, const QByteArray &payload)
{
    m_socket.write("PUB " + subject + ' ' + QByteArray::number(payload.size()) + "\r\n" + payload + "\r\n");
    while (m_socket.bytesToWrite() > 0) {
        if (!m_socket.waitForBytesWritten(5000))
            return false;
    }
    return true;
}

void NatsRawClient::send(const QByteArray &data)
{
    m_socket.write(data);
    m_socket.flush();
}

void NatsRawClient::parse()
{
    for (;;) {
        const qsizetype nl = m_in.indexOf("\r\n");
        if (nl < 0)
            return;
        const QByteArray line = m_in.left(nl);
        const QList<QByteArray> w = line.split(' ');
        if (w[0] == "MSG" || w[0] == "HMSG") {
            // MSG <subject> <sid> [reply] <size> / HMSG <subject> <sid> [reply] <hsize> <size>
            const bool headers = w[0] == "HMSG";
            const int fixed = headers ? 5 : 4;
            if (w.size() != fixed && w.size() != fixed + 1) {
                m_errors += "unparsable: " + line + '\n';
                m_in.remove(0, nl + 2);
                continue;
            }
            const qsizetype size = w.last().toLongLong();
            const qsizetype headerSize = headers ? w[w.size() - 2].toLongLong() : 0;
            if (m_in.size() < nl + 2 + size + 2)
                return;   // the rest has not come yet
            Message c;
            c.subject = w[1];
            c.reply = w.size() == fixed + 1 ? w[3] : QByteArray();
            c.headers = headers;
            c.payload = m_in.mid(nl + 2 + headerSize, size - headerSize);
            c.atMs = QDateTime::currentMSecsSinceEpoch();
            m_messages.append(c);
            m_in.remove(0, nl + 2 + size + 2);
            continue;
        }
        if (w[0] == "INFO")
            m_info = QJsonDocument::fromJson(line.mid(5)).object();
        else if (w[0] == "PING")
            send("PONG\r\n");
        else if (w[0] == "PONG")
            ++m_pongs;
        else if (w[0] == "-ERR")
            m_errors += line + '\n';
        m_in.remove(0, nl + 2);
    }
}

} // namespace TestSupport
