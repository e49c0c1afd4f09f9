// SPDX-License-Identifier: MIT
#pragma once

#include "brokerwire_p.h"
#include "clustertransport_p.h"
#include "natsclient_p.h"

#include <QtCore/qdatetime.h>
#include <QtCore/qhash.h>
#include <QtCore/qset.h>

#include <deque>
#include <functional>
#include <memory>
#include <mutex>

QT_BEGIN_NAMESPACE
class QTimer;
QT_END_NAMESPACE

namespace Plexus {

/*
    The NATS engine (docs/CLUSTER.md, "NATS"; docs/PROTOCOL.md section 10): the cluster on
    subjects of a NATS server instead of links of our own. Every message is a sealed
    envelope (brokerwire_p.h), so the broker routes what it cannot read.

        plx.<cluster id>.m.<machine>       a machine's inbox: calls to it, replies to it
        plx.<cluster id>.all               cluster() and broadcast(), published once
        plx.<cluster id>.presence          hello, heartbeat, bye
        plx.<cluster id>.nr.<machine>.<to> the reply subject of a direct message: the
                                           server's "no responders" notice comes here

    Messages arrive on nats.c's threads: they are opened, checked against replays and
    parsed there, and handed to the Node's thread through a bounded queue with one wake-up
    per batch. Nothing of Qt's object model is touched on a nats.c thread.
*/
class NatsTransport final : public ClusterTransport, private NatsClient::Sink
{
    Q_OBJECT
public:
    NatsTransport(const ClusterContext &context, QObject *parent = nullptr);
    ~NatsTransport() override;

    // Checks a "nats://host:port[,host:port...]" URL (user:password@ allowed per server).
    static bool applyUrl(const QString &url, ClusterOptions *options, QString *error);

    // ClusterTransport
    bool listen(const ClusterOptions &options, QString *error) override;
    quint16 port() const override { return 0; }
    bool connectToPeer(const QUrl &url, QString *error) override;
    QList<PeerInfo> peers() const override;
    void stop() override;

    // RemoteMachines
    Sent sendToMachine(quint64 machine, MessagePrivate *m) override;
    void sendToMachines(MessagePrivate *m, const QList<quint64> &machines,
                        QList<quint64> *full, QList<quint64> *lost) override;
    void refuse(quint64 machine, FrameError reason) override;
    qsizetype queuedBytes(quint64 machine) const override;
    qsizetype maxPayloadLength() const override;
    void flush() override;

    // The bounds of the queue from nats.c's threads to the Node's.
    static constexpr qsizetype QueueMessages = 65536;
    static constexpr qsizetype QueueBytes = 64 << 20;

private:
    // What a nats.c thread hands to the Node's thread.
    struct Inbound
    {
        enum class Kind : quint8 {
            Frame, Presence, NotForUs, Rejected, NoResponders,
            Connected, Disconnected, Closed, SlowConsumer,
        };
        Kind kind = Kind::Frame;
        FrameError reason = FrameError::NoError;
        bool reconnect = false;
        BrokerWire::Envelope envelope;
        BrokerWire::Presence presence;
        QExplicitlySharedDataPointer<MessagePrivate> message;
        QString text;          // the subject of a rejected message, the server
        qint64 number = 0;     // the machine of a notice, the max payload
        qint64 queuedAtNs = 0; // when it was queued (the hand-over's latency)
    };

    // One machine (or monitor) known through the broker.
    struct Peer {
        quint64 machine = 0;
        quint64 epoch = 0;
        QList<quint64> oldEpochs;   // superseded epochs: their late messages are not news
        quint32 endpoint = 0;
        bool isMonitor = false;
        bool up = false;
        qint64 lastHeard = 0;       // monotonic ms
        QDateTime since;
        quint64 messagesIn = 0, messagesOut = 0, bytesIn = 0, bytesOut = 0;
        QByteArray inbox, noResponders;   // its subject, our reply subject for it
        QByteArray pending;               // frames for it, sealed together at flush()
        bool pendingAsks = false;         // ...among them a request (not only replies)
    };

    // NatsClient::Sink (nats.c's threads)
    void natsMessage(const char *subject, const char *data, int size, bool noResponders) override;
    void natsConnected(const QString &server, qint64 maxPayload, bool reconnect) override;
    void natsDisconnected() override;
    void natsClosed() override;
    void natsError(bool slowConsumer, const QString &text) override;
    void push(Inbound &&in, quint64 sender = 0);

    // The Node's thread
    void drain();
    void handle(Inbound &in);
    Peer *heard(const BrokerWire::Envelope &env);
    void presence(const Inbound &in);
    void lose(quint64 machine, const char *why);
    void renewEndpoint(Peer &p);
    void tick();
    void publishPresence(BrokerWire::PresenceKind kind, const QByteArray &subject);
    bool publish(const QByteArray &subject, const QByteArray &reply, const QByteArray &sealed);
    // Adds \a m to the frames held for \a body; sends the held ones first if both would
    // not fit in one NATS message.
    void hold(QByteArray *body, qsizetype base, MessagePrivate *m, const std::function<void()> &send);
    void flushPeer(Peer &p);
    void flushAll();
    void flushDirect();
    qsizetype bodyLimit() const;
    BrokerWire::Envelope envelope(BrokerWire::Channel channel, quint64 sequence) const;
    QByteArray inboxOf(quint64 machine) const;
    PeerInfo infoOf(const Peer &p) const;

    ClusterContext m_context;
    Router *m_router;
    ClusterOptions m_options;
    quint64 m_self;
    bool m_isPeer;
    QByteArray m_prefix, m_inbox, m_all, m_presence, m_noRespondersPrefix;
    std::unique_ptr<NatsClient> m_client;
    QTimer *m_timer = nullptr;
    QHash<quint64, Peer> m_peers;
    quint64 m_epoch = 0;
    quint64 m_sequenceAll = 0, m_sequencePresence = 0;
    // Frames held until the router's batch of work ends (flush()): per machine, and for
    // every master at once (with the machines they are for). One kind is flushed before
    // the other is added to, so a machine receives them in the order they were sent.
    QByteArray m_pendingAll;
    QList<quint64> m_pendingAllTargets;
    QSet<quint64> m_pendingPeers;
    // Our Direct stream to each machine (its receiver's replay window follows it): kept
    // across losing and meeting the machine again, restarted with our epoch.
    QHash<quint64, quint64> m_sequenceDirect;
    // The epochs of machines lost lately: a late message of one of them (a server that
    // resumes and delivers its backlog) is not taken for the machine coming back, and the
    // same epoch is still the machine coming back (it was only silent). Kept WindowMs.
    struct Gone {
        quint64 epoch = 0;
        QList<quint64> oldEpochs;
        qint64 until = 0;   // monotonic ms
    };
    QHash<quint64, Gone> m_gone;
    bool m_connected = false;
    QString m_server;
    qint64 m_maxPayload = 0;   // the server's max_payload, 0 until connected
    // The hand-over from nats.c's threads, measured (logged when the engine stops).
    struct HopStats {
        quint64 messages = 0, batches = 0;
        qint64 totalNs = 0, maxNs = 0;
    } m_hops;

    // Shared with nats.c's threads (under m_lock)
    std::mutex m_lock;
    std::deque<Inbound> m_queue;
    qsizetype m_queuedBytes = 0;
    bool m_wakePosted = false;
    QSet<quint64> m_overflowed;           // senders whose messages the queue dropped
    BrokerWire::ReplayGuard m_replay;     // opened on nats.c's threads
};

} // namespace Plexus
