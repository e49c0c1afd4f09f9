// SPDX-License-Identifier: MIT
//
// nats.c behind a small C++ surface (natsclient_p.h). Nothing here knows Plexus's frames
// or keys; every callback of nats.c ends in the Sink, on nats.c's thread.
#include "natsclient_p.h"
#include "logging_p.h"
#include "natsapi_p.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>
#include <thread>

namespace Plexus {

namespace {
// nats.c, once NatsApi::get() has loaded it (NatsClient::start()). Every call below goes
// through it; none can happen before: they all need a connection, options or a message
// that start() or nats.c made. Atomic: several clients may start while others' callbacks
// run on nats.c's threads.
std::atomic<const NatsApi *> g_nats{nullptr};
const NatsApi *nats() { return g_nats.load(std::memory_order_acquire); }
} // namespace

struct NatsClient::State
{
    // Callbacks hold the shared lock while they use the sink; the destructor takes the
    // exclusive one to take the sink away, after which no callback reaches it.
    std::shared_mutex sinkLock;
    Sink *sink = nullptr;

    natsOptions *options = nullptr;
    std::atomic<natsConnection *> connection{nullptr};
    QList<natsSubscription *> subscriptions;   // written by the connect thread only
    std::thread connector;

    std::mutex closedLock;
    std::condition_variable closedChanged;
    bool closed = false;
    int subscriptionsOpen = 0;

    std::atomic<qint64> maxPayload{0};
    mutable std::mutex serverLock;
    QString server;

    template<typename F>
    void toSink(F &&f)
    {
        std::shared_lock lock(sinkLock);
        if (sink)
            f(sink);
    }
    void setServer(natsConnection *nc)
    {
        char url[256] = {};
        if (nats()->natsConnection_GetConnectedUrl(nc, url, sizeof url) == NATS_OK) {
            std::lock_guard lock(serverLock);
            server = QString::fromUtf8(url);
        }
        maxPayload.store(nats()->natsConnection_GetMaxPayload(nc), std::memory_order_relaxed);
    }
    QString currentServer() const
    {
        std::lock_guard lock(serverLock);
        return server;
    }
};

namespace {

using State = NatsClient::State;

void onMessage(natsConnection *, natsSubscription *, natsMsg *msg, void *closure)
{
    auto *s = static_cast<State *>(closure);
    const bool noResponders = nats()->natsMsg_IsNoResponders(msg);
    s->toSink([&](NatsClient::Sink *sink) {
        sink->natsMessage(nats()->natsMsg_GetSubject(msg), nats()->natsMsg_GetData(msg),
                          nats()->natsMsg_GetDataLength(msg), noResponders);
    });
    nats()->natsMsg_Destroy(msg);
}

void onConnected(natsConnection *nc, void *closure)
{
    auto *s = static_cast<State *>(closure);
    s->setServer(nc);
    const QString server = s->currentServer();
    const qint64 max = s->maxPayload.load();
    s->toSink([&](NatsClient::Sink *sink) { sink->natsConnected(server, max, false); });
}

void onReconnected(natsConnection *nc, void *closure)
{
    auto *s = static_cast<State *>(closure);
    s->setServer(nc);
    const QString server = s->currentServer();
    const qint64 max = s->maxPayload.load();
    s->toSink([&](NatsClient::Sink *sink) { sink->natsConnected(server, max, true); });
}

void onDisconnected(natsConnection *, void *closure)
{
    static_cast<State *>(closure)->toSink([](NatsClient::Sink *sink) { sink->natsDisconnected(); });
}

void onClosed(natsConnection *, void *closure)
{
    auto *s = static_cast<State *>(closure);
    s->toSink([](NatsClient::Sink *sink) { sink->natsClosed(); });
    std::lock_guard lock(s->closedLock);
    s->closed = true;
    s->closedChanged.notify_all();
}

void onSubscriptionComplete(void *closure)
{
    auto *s = static_cast<State *>(closure);
    std::lock_guard lock(s->closedLock);
    --s->subscriptionsOpen;
    s->closedChanged.notify_all();
}

void onError(natsConnection *, natsSubscription *, natsStatus err, void *closure)
{
    const bool slow = err == NATS_SLOW_CONSUMER;
    const QString text = QString::fromUtf8(nats()->natsStatus_GetText(err));
    static_cast<State *>(closure)->toSink([&](NatsClient::Sink *sink) { sink->natsError(slow, text); });
}

bool check(natsStatus s, const char *what, QString *error)
{
    if (s == NATS_OK)
        return true;
    *error = QStringLiteral("NATS: %1: %2").arg(QLatin1StringView(what),
                                                QString::fromUtf8(nats()->natsStatus_GetText(s)));
    return false;
}

} // namespace

NatsClient::NatsClient(Sink *sink) : d(std::make_shared<State>())
{
    d->sink = sink;
}

NatsClient::~NatsClient()
{
    {
        std::unique_lock lock(d->sinkLock);
        d->sink = nullptr;
    }
    if (d->connector.joinable())
        d->connector.join();
    natsConnection *nc = d->connection.exchange(nullptr);
    // nats.c 3.4.1's order (its issues 637, 735, 982): flush what was published (Close
    // alone may drop it), close, and only then destroy the subscriptions and the
    // connection; its callbacks may still run after Close returns.
    if (nc) {
        nats()->natsConnection_FlushTimeout(nc, 500);
        nats()->natsConnection_Close(nc);
    }
    bool quiet = true;
    {
        // Until nats.c says the connection is closed and every subscription has handed
        // over its last message, a callback may still hold d: wait for that (bounded).
        std::unique_lock lock(d->closedLock);
        quiet = d->closedChanged.wait_for(lock, std::chrono::seconds(5), [this, nc] {
            return (d->closed || !nc) && d->subscriptionsOpen <= 0;
        });
    }
    for (natsSubscription *sub : std::as_const(d->subscriptions))
        nats()->natsSubscription_Destroy(sub);
    if (nc)
        nats()->natsConnection_Destroy(nc);
    if (d->options)
        nats()->natsOptions_Destroy(d->options);
    if (!quiet) {
        // A callback of nats.c may still come and use the state: it stays (a few hundred
        // bytes), rather than be used after it is freed.
        qCWarning(lcCluster) << "NATS: the connection did not report closing in 5 s";
        new std::shared_ptr<State>(d);
    }
}

QString NatsClient::libraryVersion()
{
    QString error;
    const NatsApi *api = NatsApi::get(&error);
    return api ? QString::fromLatin1(api->nats_GetVersion()) : error;
}

bool NatsClient::start(const Settings &settings, const QList<QByteArray> &subjects, QString *error)
{
    const NatsApi *api = NatsApi::get(error);
    if (!api)
        return false;
    g_nats.store(api, std::memory_order_release);
    if (!check(nats()->nats_Open(-1), "cannot initialise the library", error))
        return false;
    natsOptions *o = nullptr;
    if (!check(nats()->natsOptions_Create(&o), "options", error))
        return false;
    d->options = o;
    QList<const char *> servers;
    for (const QByteArray &s : settings.servers)
        servers.append(s.constData());
    State *s = d.get();
    // What matters for latency and failure (docs/CLUSTER.md, "NATS"): servers tried in the
    // URL's order (an operator puts the nearest first), write at once, no copy of our own
    // publications, find a dead server in two pings, keep reconnecting (to any server of
    // the list) with a small buffer, and never block the caller.
    if (!check(nats()->natsOptions_SetServers(o, servers.data(), int(servers.size())), "server list", error)
        || !check(nats()->natsOptions_SetName(o, settings.name.constData()), "name", error)
        || !check(nats()->natsOptions_SetNoRandomize(o, true), "server order", error)   // the URL's order
        || !check(nats()->natsOptions_SetSendAsap(o, true), "send-asap", error)
        // One delivery thread for every subscription (nats.c's shared pool, one thread by
        // default) instead of one each: messages reach the sink in the order the server
        // sent them, across subjects, as a link would deliver them.
        || !check(nats()->natsOptions_UseGlobalMessageDelivery(o, true), "delivery", error)
        || !check(nats()->natsOptions_SetNoEcho(o, true), "no-echo", error)
        || !check(nats()->natsOptions_SetPingInterval(o, qMax(100, settings.pingIntervalMs)), "ping interval", error)
        || !check(nats()->natsOptions_SetMaxPingsOut(o, 2), "pings out", error)
        || !check(nats()->natsOptions_SetTimeout(o, qMax(100, settings.connectTimeoutMs)), "timeout", error)
        || !check(nats()->natsOptions_SetAllowReconnect(o, true), "reconnect", error)
        || !check(nats()->natsOptions_SetMaxReconnect(o, -1), "reconnects", error)
        || !check(nats()->natsOptions_SetReconnectWait(o, qMax(10, settings.reconnectWaitMs)), "reconnect wait", error)
        || !check(nats()->natsOptions_SetReconnectJitter(o, qMax(10, settings.reconnectWaitMs / 2), 0), "jitter", error)
        || !check(nats()->natsOptions_SetReconnectBufSize(o, settings.reconnectBufferBytes), "reconnect buffer", error)
        || !check(nats()->natsOptions_SetRetryOnFailedConnect(o, true, onConnected, s), "retry", error)
        || !check(nats()->natsOptions_SetDisconnectedCB(o, onDisconnected, s), "callback", error)
        || !check(nats()->natsOptions_SetReconnectedCB(o, onReconnected, s), "callback", error)
        || !check(nats()->natsOptions_SetClosedCB(o, onClosed, s), "callback", error)
        || !check(nats()->natsOptions_SetErrorHandler(o, onError, s), "callback", error))
        return false;

    // The first attempt may block for the connect timeout of every server: not on the
    // caller's thread. Subscriptions made before the connection exists are sent with it.
    d->connector = std::thread([s, subjects, pending = settings.pendingMessages,
                                bytes = settings.pendingBytes] {
        natsConnection *nc = nullptr;
        const natsStatus st = nats()->natsConnection_Connect(&nc, s->options);
        if (st != NATS_OK && st != NATS_NOT_YET_CONNECTED) {
            qCWarning(lcCluster) << "NATS: cannot connect:" << nats()->natsStatus_GetText(st);
            s->toSink([](Sink *sink) { sink->natsClosed(); });
            return;
        }
        for (const QByteArray &subject : subjects) {
            natsSubscription *sub = nullptr;
            const natsStatus ss = nats()->natsConnection_Subscribe(&sub, nc, subject.constData(), onMessage, s);
            if (ss != NATS_OK) {
                qCWarning(lcCluster) << "NATS: cannot subscribe to" << subject << nats()->natsStatus_GetText(ss);
                continue;
            }
            nats()->natsSubscription_SetPendingLimits(sub, pending, int(qMin<qint64>(bytes, INT_MAX)));
            {
                std::lock_guard lock(s->closedLock);
                ++s->subscriptionsOpen;
            }
            nats()->natsSubscription_SetOnCompleteCB(sub, onSubscriptionComplete, s);
            s->subscriptions.append(sub);
        }
        s->connection.store(nc, std::memory_order_release);
        if (st == NATS_OK)
            onConnected(nc, s);   // nats.c calls it only for a connect that was retried
    });
    return true;
}

NatsClient::Result NatsClient::publish(const char *subject, const char *reply, const char *data,
                                       int size)
{
    natsConnection *nc = d->connection.load(std::memory_order_acquire);
    if (!nc)
        return Result::NotConnected;
    const natsStatus s = reply && *reply ? nats()->natsConnection_PublishRequest(nc, subject, reply, data, size)
                                         : nats()->natsConnection_Publish(nc, subject, data, size);
    switch (s) {
    case NATS_OK:
        return Result::Ok;
    case NATS_INSUFFICIENT_BUFFER:
        return Result::Full;
    case NATS_MAX_PAYLOAD:
        return Result::TooLarge;
    case NATS_CONNECTION_CLOSED:
    case NATS_NOT_YET_CONNECTED:
        return Result::NotConnected;
    default:
        return Result::Failed;
    }
}

qsizetype NatsClient::buffered() const
{
    natsConnection *nc = d->connection.load(std::memory_order_acquire);
    const int n = nc ? nats()->natsConnection_Buffered(nc) : 0;
    return n > 0 ? n : 0;
}

qint64 NatsClient::maxPayload() const
{
    return d->maxPayload.load(std::memory_order_relaxed);
}

bool NatsClient::isConnected() const
{
    natsConnection *nc = d->connection.load(std::memory_order_acquire);
    return nc && nats()->natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED;
}

QString NatsClient::connectedServer() const
{
    return d->currentServer();
}

} // namespace Plexus
