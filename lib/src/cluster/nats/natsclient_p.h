// SPDX-License-Identifier: MIT
#pragma once

#include <QtCore/qbytearray.h>
#include <QtCore/qlist.h>
#include <QtCore/qstring.h>

#include <memory>

namespace Plexus {

/*
    One connection to a NATS server (or a cluster of them) through nats.c, and nothing of
    Plexus: connect, subscribe, publish, and the connection's events. The NATS engine
    (NatsTransport) is its only user.

    Threads: nats.c runs its callbacks on its own threads, so every Sink function is called
    on one of them, never on the thread that made the client; the sink must only touch
    thread-safe state there. Messages of every subscription come from one delivery thread,
    in the order the server sent them. start() returns at once: the first connection (and every
    reconnect) is attempted on a thread of its own and reported by Sink::connected().
    publish() may be called from any thread. The destructor unsubscribes, closes the
    connection and waits (bounded) until no callback can run any more.
*/
class NatsClient
{
public:
    class Sink
    {
    public:
        // A message on \a subject (published with \a reply as its reply subject, or empty).
        // \a noResponders: the server's "no responders" notice for a publication of ours
        // whose reply subject was \a subject.
        virtual void natsMessage(const char *subject, const char *data, int size,
                                 bool noResponders) = 0;
        // Connected (first time or again) to \a server; \a maxPayload is its limit.
        virtual void natsConnected(const QString &server, qint64 maxPayload, bool reconnect) = 0;
        // The connection to the server was lost; nats.c tries the servers again.
        virtual void natsDisconnected() = 0;
        // The connection is closed for good (stop(), or reconnecting was given up).
        virtual void natsClosed() = 0;
        // An asynchronous error (a slow consumer: messages were dropped), with nats.c's text.
        virtual void natsError(bool slowConsumer, const QString &text) = 0;

    protected:
        ~Sink() = default;
    };

    struct Settings
    {
        QList<QByteArray> servers;     // nats://[user:password@]host:port
        QByteArray name;               // shown by the server (connz)
        int pingIntervalMs = 2000;     // a silent server is found dead after 2 pings
        int reconnectWaitMs = 250;
        int reconnectBufferBytes = 1 << 20;
        int connectTimeoutMs = 2000;
        int pendingMessages = 65536;   // per subscription, then nats.c drops (slow consumer)
        qint64 pendingBytes = 64 << 20;
    };

    explicit NatsClient(Sink *sink);
    ~NatsClient();
    NatsClient(const NatsClient &) = delete;
    NatsClient &operator=(const NatsClient &) = delete;

    // Connects (on a thread of its own) and subscribes to \a subjects. False with *error
    // set if the settings are refused by nats.c (a malformed server URL).
    bool start(const Settings &settings, const QList<QByteArray> &subjects, QString *error);

    enum class Result { Ok, Full, NotConnected, TooLarge, Failed };
    // Publishes \a data on \a subject, with \a reply as its reply subject if not empty.
    // Full: the reconnect buffer is full.
    Result publish(const char *subject, const char *reply, const char *data, int size);
    // Bytes nats.c holds that have not reached the server (reconnect buffer).
    qsizetype buffered() const;
    // The server's max_payload (0 until connected).
    qint64 maxPayload() const;
    bool isConnected() const;
    QString connectedServer() const;

    // nats.c's version (for the logs and the benchmark).
    static QString libraryVersion();

    struct State;

private:
    std::shared_ptr<State> d;
};

} // namespace Plexus
