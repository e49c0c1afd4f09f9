// SPDX-License-Identifier: MIT
#pragma once

#include <QtCore/qbytearray.h>
#include <QtCore/qjsonobject.h>
#include <QtCore/qlist.h>
#include <QtCore/qobject.h>
#include <QtNetwork/qtcpsocket.h>

namespace TestSupport {

/*
    A NATS client that speaks the text protocol by hand, for tests that play the broker's
    other users: an eavesdropper subscribed to every subject (">"), a replayer, a forger,
    a flood. It neither receives its own publications (echo off) nor answers anything but
    PINGs. open() and sync() wait with the event loop running; publishBlocking() writes
    without it (for a test that keeps its own thread busy on purpose).
*/
class NatsRawClient : public QObject
{
public:
    // One message as the broker delivered it.
    struct Message
    {
        QByteArray subject, reply, payload;
        bool headers = false;
        qint64 atMs = 0;   // wall clock when it was parsed

        // The fields of a Plexus envelope's clear header (docs/PROTOCOL.md 10.2).
        quint8 channel() const;
        quint64 sender() const;
        quint64 timestamp() const;
    };

    NatsRawClient();

    // Connects to the server on loopback \a port and subscribes to \a subject.
    bool open(quint16 port, const QByteArray &subject = ">");
    // PING, and its PONG: the server has handled everything sent before.
    bool sync();
    void publish(const QByteArray &subject, const QByteArray &payload);
    // Publishes and waits until the socket took it, without the event loop.
    bool publishBlocking(const QByteArray &subject, const QByteArray &payload);
    const QList<Message> &messages() const { return m_messages; }
    QByteArray errors() const { return m_errors; }
    QJsonObject info() const { return m_info; }

private:
    void send(const QByteArray &data);
    void parse();

    QTcpSocket m_socket;
    QByteArray m_in;
    QJsonObject m_info;
    QByteArray m_errors;
    int m_pongs = 0;
    QList<Message> m_messages;
};

} // namespace TestSupport
