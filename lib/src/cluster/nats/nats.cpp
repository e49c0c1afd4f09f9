// SPDX-License-Identifier: MIT
//
// The NATS engine (nats_p.h; docs/CLUSTER.md "NATS", docs/PROTOCOL.md section 10): what
// arrives on nats.c's threads and is handed over, presence, and the machines it makes.
// Sending: nats_send.cpp.
#include "nats_p.h"
#include "clock_p.h"
#include "logging_p.h"
#include "stats_p.h"
#include "threadsync_p.h"

#include <QtCore/qdatetime.h>
#include <QtCore/qdeadlinetimer.h>
#include <QtCore/qtimer.h>
#include <QtCore/qurl.h>

#include <iterator>
#include <cstring>

namespace Plexus {

using namespace BrokerWire;

NatsTransport::NatsTransport(const ClusterContext &context, QObject *parent)
    : ClusterTransport(parent),
      m_context(context),
      m_router(context.router),
      m_self(context.local.localMachine),
      m_isPeer(context.local.localRole == PeerRole::Peer)
{
    m_prefix = "plx." + context.clusterId + '.';
    m_inbox = inboxOf(m_self);
    m_all = m_prefix + "all";
    m_presence = m_prefix + "presence";
    m_noRespondersPrefix = m_prefix + "nr." + QByteArray::number(m_self, 16) + '.';
}

NatsTransport::~NatsTransport()
{
    stop();
}

QByteArray NatsTransport::inboxOf(quint64 machine) const
{
    return m_prefix + "m." + QByteArray::number(machine, 16);
}

// "nats://a:1,b:2" (nats.c's list form) or "nats://a:1,nats://b:2": the servers, each
// "nats://host:port" with an optional user:password@.
static QStringList natsServers(const QString &url)
{
    QStringList out;
    const QString rest = url.mid(int(qstrlen("nats://")));
    for (QString server : rest.split(u',')) {
        server = server.trimmed();
        if (server.startsWith(QLatin1String("nats://")))
            server = server.mid(int(qstrlen("nats://")));
        out.append(server);
    }
    return out;
}

// \a url without passwords or user names, for logs and PeerInfo::address().
static QString withoutUserInfo(const QString &url)
{
    QStringList out;
    for (const QString &server : natsServers(url))
        out.append(QUrl(QStringLiteral("nats://") + server).toString(QUrl::RemoveUserInfo));
    return out.join(u',');
}

bool NatsTransport::applyUrl(const QString &url, ClusterOptions *options, QString *error)
{
    Q_UNUSED(options);
    if (!url.startsWith(QLatin1String("nats://")) || url.size() == int(qstrlen("nats://"))) {
        *error = QStringLiteral("Unsupported cluster URL %1 (NATS: nats://host:port[,host:port...])")
                         .arg(QUrl(url).toString(QUrl::RemoveUserInfo));
        return false;
    }
    for (const QString &server : natsServers(url)) {
        const QUrl u(QStringLiteral("nats://") + server);
        if (server.isEmpty() || !u.isValid() || u.host().isEmpty() || !u.path().isEmpty()
            || u.hasQuery() || u.hasFragment()) {
            // Never the password in an error text (it ends up in logs).
            const QString shown = u.isValid() ? u.toString(QUrl::RemoveUserInfo | QUrl::RemoveScheme)
                                                     .mid(2) : QStringLiteral("(invalid)");
            *error = QStringLiteral("Unsupported NATS server \"%1\" in %2 (use host:port)")
                             .arg(shown, withoutUserInfo(url));
            return false;
        }
    }
    return true;
}

bool NatsTransport::listen(const ClusterOptions &options, QString *error)
{
    m_options = options;
    if (!m_context.brokerKey.isValid() || m_context.clusterId.isEmpty()) {
        *error = QStringLiteral("The NATS engine has no key (no cluster secret)");
        return false;
    }
    NatsClient::Settings settings;
    for (const QString &server : natsServers(options.url))
        settings.servers.append("nats://" + server.toUtf8());
    settings.name = (m_isPeer ? "plexus-peer-" : "plexus-") + QByteArray::number(m_self, 16);
    settings.pingIntervalMs = options.nats.pingIntervalMs;
    settings.reconnectWaitMs = options.nats.reconnectWaitMs;
    settings.connectTimeoutMs = options.nats.connectTimeoutMs;
    settings.reconnectBufferBytes = options.nats.reconnectBufferBytes;
    // The nats.c queue of each subscription holds at most what ours does.
    settings.pendingMessages = int(QueueMessages);
    settings.pendingBytes = QueueBytes;

    m_epoch = Crypto::nextId();
    QList<QByteArray> subjects{m_inbox, m_presence, m_noRespondersPrefix + '*'};
    if (!m_isPeer)
        subjects.append(m_all);   // a monitor is never the target of cluster()
    m_client.reset(new NatsClient(static_cast<NatsClient::Sink *>(this)));
    if (!m_client->start(settings, subjects, error)) {
        m_client.reset();
        return false;
    }
    m_timer = new QTimer(this);
    m_timer->setInterval(qMax(10, options.heartbeatIntervalMs));
    connect(m_timer, &QTimer::timeout, this, &NatsTransport::tick);
    m_timer->start();
    qCInfo(lcCluster) << (m_isPeer ? "peer" : "machine") << Qt::hex << m_self << Qt::dec
                      << "joins the cluster on NATS" << withoutUserInfo(options.url) << "(nats.c"
                      << NatsClient::libraryVersion() << ')';
    return true;
}

bool NatsTransport::connectToPeer(const QUrl &url, QString *error)
{
    *error = QStringLiteral("The NATS engine meets every machine through the broker; %1 is not "
                            "dialed (name more NATS servers in the cluster URL instead)")
                     .arg(url.toString());
    return false;
}

void NatsTransport::stop()
{
    flush();   // what the last batch of work wrote, before the bye
    if (m_client && m_connected)
        publishPresence(PresenceKind::Bye, m_presence);
    if (m_hops.messages) {
        qCInfo(lcCluster).nospace() << "NATS hand-over to the Node's thread: " << m_hops.messages
                << " messages in " << m_hops.batches << " wake-ups, waited "
                << double(m_hops.totalNs) / double(m_hops.messages) / 1000.0 << " us on average, "
                << double(m_hops.maxNs) / 1000.0 << " us at most";
        m_hops = {};
    }
    // First the client: once it is gone, no nats.c thread can reach this object.
    m_client.reset();
    delete m_timer;
    m_timer = nullptr;
    for (Peer &p : m_peers) {
        if (p.endpoint)
            m_router->machineLost(p.endpoint);
    }
    m_peers.clear();
    m_connected = false;
    std::lock_guard lock(m_lock);
    m_queue.clear();
    m_queuedBytes = 0;
}

// ---------------------------------------------------------------------------------------
// nats.c's threads

void NatsTransport::natsMessage(const char *subject, const char *data, int size, bool noResponders)
{
    const QByteArrayView s(subject);
    Inbound in;
    if (noResponders) {
        // The server's notice that a direct message of ours found no subscriber: the
        // machine whose inbox it was is gone (our reply subject names it).
        if (!s.startsWith(m_noRespondersPrefix))
            return;
        bool ok = false;
        in.kind = Inbound::Kind::NoResponders;
        in.number = qint64(s.sliced(m_noRespondersPrefix.size()).toULongLong(&ok, 16));
        if (ok)
            push(std::move(in));
        return;
    }
    const auto reject = [&](FrameError reason) {
        Inbound r;
        r.kind = Inbound::Kind::Rejected;
        r.reason = reason;
        r.text = QString::fromUtf8(s.first(qMin(s.size(), MaxSubjectLength)));
        push(std::move(r));
    };
    const bool onInbox = s == m_inbox, onAll = s == m_all, onPresence = s == m_presence;
    if (!onInbox && !onAll && !onPresence) {
        reject(FrameError::UnexpectedFrame);   // on our no-responders subject, but no notice
        return;
    }
    QByteArray body;
    const qsizetype maxBody = Wire::HeaderSize + maxMessageLength() + 4 + 8 * qsizetype(MaxTargets);
    FrameError e = open(QByteArrayView(data, size), m_context.brokerKey, s, maxBody, &in.envelope, &body);
    if (e == FrameError::NoError) {
        // A channel is only ever published on its own subjects (Presence: also an inbox,
        // for the answer to a hello).
        const Channel c = in.envelope.channel;
        const bool fits = (c == Channel::Direct && onInbox) || (c == Channel::All && onAll)
                || (c == Channel::Presence && (onPresence || onInbox));
        if (!fits)
            e = FrameError::UnexpectedFrame;
        else if (in.envelope.sender == m_self)
            return;   // ours (of an earlier connection, delivered late, or replayed): no news
    }
    if (e == FrameError::NoError) {
        std::lock_guard lock(m_lock);
        e = m_replay.check(in.envelope, QDateTime::currentMSecsSinceEpoch());
    }
    if (e != FrameError::NoError) {
        reject(e);
        return;
    }
    if (in.envelope.channel == Channel::Presence) {
        e = parsePresence(body, &in.presence);
        if (e != FrameError::NoError) {
            reject(e);
            return;
        }
        in.kind = Inbound::Kind::Presence;
        push(std::move(in));
        return;
    }
    QList<FrameView> frames;
    bool forUs = false;
    e = parseFrames(body, in.envelope.channel, maxMessageLength(), m_self, &forUs, &frames);
    if (e != FrameError::NoError) {
        reject(e);
        return;
    }
    if (!forUs) {
        // For the machines its sender knew of; we joined after it looked. Still a sign of
        // life of the sender.
        in.kind = Inbound::Kind::NotForUs;
        push(std::move(in));
        return;
    }
    const quint64 sender = in.envelope.sender;
    for (const FrameView &f : std::as_const(frames)) {
        Inbound frame;
        frame.kind = Inbound::Kind::Frame;
        frame.envelope = in.envelope;
        frame.message = MessagePrivate::create(f.header);
        if (!f.payload.isEmpty())
            std::memcpy(frame.message->payload(), f.payload.data(), size_t(f.payload.size()));
        push(std::move(frame), sender);
    }
}

void NatsTransport::natsConnected(const QString &server, qint64 maxPayload, bool reconnect)
{
    Inbound in;
    in.kind = Inbound::Kind::Connected;
    in.text = server;
    in.number = maxPayload;
    in.reconnect = reconnect;
    push(std::move(in));
}

void NatsTransport::natsDisconnected()
{
    Inbound in;
    in.kind = Inbound::Kind::Disconnected;
    push(std::move(in));
}

void NatsTransport::natsClosed()
{
    Inbound in;
    in.kind = Inbound::Kind::Closed;
    push(std::move(in));
}

void NatsTransport::natsError(bool slowConsumer, const QString &text)
{
    if (!slowConsumer) {
        qCWarning(lcCluster) << "NATS:" << text;
        return;
    }
    Inbound in;
    in.kind = Inbound::Kind::SlowConsumer;
    in.text = text;
    push(std::move(in));
}

void NatsTransport::push(Inbound &&in, quint64 sender)
{
    const qsizetype bytes = in.message ? Wire::HeaderSize + in.message->header.length : 64;
    in.queuedAtNs = QDeadlineTimer::current().deadlineNSecs();
    bool wake = false;
    {
        std::lock_guard lock(m_lock);
        const bool bounded = in.kind == Inbound::Kind::Frame || in.kind == Inbound::Kind::Rejected
                || in.kind == Inbound::Kind::NotForUs || in.kind == Inbound::Kind::Presence;
        if (bounded && (qsizetype(m_queue.size()) >= QueueMessages || m_queuedBytes + bytes > QueueBytes)) {
            // The Node's thread does not keep up: drop, and fail what waits on the sender
            // (drain()), rather than grow without bound.
            if (m_context.stats)
                Stats::bump(m_context.stats->process.droppedIncoming);
            if (sender)
                m_overflowed.insert(sender);
            return;
        }
        m_queuedBytes += bytes;
        m_queue.push_back(std::move(in));
        wake = !m_wakePosted;
        m_wakePosted = true;
    }
    // One wake-up per batch: the Node drains everything queued until then.
    if (wake)
        invokeQueued(this, [this] { drain(); });
}

// ---------------------------------------------------------------------------------------
// The Node's thread

void NatsTransport::drain()
{
    std::deque<Inbound> batch;
    QSet<quint64> overflowed;
    {
        std::lock_guard lock(m_lock);
        batch.swap(m_queue);
        m_queuedBytes = 0;
        m_wakePosted = false;
        overflowed.swap(m_overflowed);
    }
    for (quint64 machine : std::as_const(overflowed)) {
        // Something it sent was dropped: what waits on it may never be answered.
        auto it = m_peers.find(machine);
        if (it != m_peers.end() && it->endpoint) {
            qCWarning(lcCluster) << "messages from machine" << Qt::hex << machine << Qt::dec
                                 << "were dropped (the receive queue was full): its calls fail";
            renewEndpoint(*it);
        }
    }
    const qint64 now = QDeadlineTimer::current().deadlineNSecs();
    ++m_hops.batches;
    for (Inbound &in : batch) {
        if (!m_client)
            return;   // stopped by what the last one did
        const qint64 waited = now - in.queuedAtNs;
        ++m_hops.messages;
        m_hops.totalNs += waited;
        m_hops.maxNs = qMax(m_hops.maxNs, waited);
        handle(in);
    }
}

void NatsTransport::handle(Inbound &in)
{
    switch (in.kind) {
    case Inbound::Kind::Frame:
        if (Peer *p = heard(in.envelope)) {
            ++p->messagesIn;
            p->bytesIn += quint64(Wire::HeaderSize + in.message->header.length);
            m_router->machineMessage(p->endpoint, in.message.take());
        }
        return;
    case Inbound::Kind::NotForUs:
        heard(in.envelope);
        return;
    case Inbound::Kind::Presence:
        presence(in);
        return;
    case Inbound::Kind::Rejected:
        Q_EMIT rejected(QStringLiteral("nats:") + in.text, in.reason,
                        QStringLiteral("broker message dropped"));
        return;
    case Inbound::Kind::NoResponders:
        lose(quint64(in.number), "has no subscriber for its inbox (NATS: no responders)");
        return;
    case Inbound::Kind::Connected:
        m_connected = true;
        m_server = withoutUserInfo(in.text);   // nats.c's URL may carry the credentials
        m_maxPayload = in.number;
        if (in.reconnect) {
            // A new epoch: what we send from now on is told apart from what the old
            // connection may still deliver, and the others learn that we were away.
            m_epoch = Crypto::nextId();
            m_sequenceAll = m_sequencePresence = 0;
            m_sequenceDirect.clear();
        }
        qCInfo(lcCluster) << (in.reconnect ? "reconnected to" : "connected to") << "NATS server"
                          << m_server << "(max payload" << m_maxPayload << "bytes)";
        publishPresence(PresenceKind::Hello, m_presence);
        return;
    case Inbound::Kind::Disconnected:
        if (!m_connected)
            return;
        m_connected = false;
        qCWarning(lcCluster) << "lost the NATS server" << m_server << "; trying the others";
        // Replies sent to us meanwhile are lost: what waits fails now, the machines stay
        // known until they are silent for longer than the dead interval.
        for (Peer &p : m_peers)
            renewEndpoint(p);
        return;
    case Inbound::Kind::Closed:
        m_connected = false;
        for (const quint64 machine : m_peers.keys())
            lose(machine, "is out of reach: the NATS connection is closed");
        return;
    case Inbound::Kind::SlowConsumer:
        // nats.c reports an overflow once per episode, not per message: counted as one.
        if (m_context.stats)
            Stats::bump(m_context.stats->process.droppedIncoming);
        qCWarning(lcCluster) << "NATS dropped messages for us (" << in.text << "): every call fails";
        for (Peer &p : m_peers)
            renewEndpoint(p);
        return;
    }
}

NatsTransport::Peer *NatsTransport::heard(const Envelope &env)
{
    Peer &p = m_peers[env.sender];
    if (p.machine == 0) {
        p.machine = env.sender;
        p.isMonitor = env.role == quint8(PeerRole::Peer);
        p.inbox = inboxOf(env.sender);
        p.noResponders = m_noRespondersPrefix + QByteArray::number(env.sender, 16);
        if (const auto gone = m_gone.constFind(env.sender); gone != m_gone.cend()) {
            // Met again: what we knew of its connections still holds.
            p.epoch = gone->epoch;
            p.oldEpochs = gone->oldEpochs;
            m_gone.erase(gone);
        }
    }
    p.lastHeard = monotonicMs();
    if (p.epoch != env.epoch) {
        if (p.oldEpochs.contains(env.epoch))
            return p.endpoint ? &p : nullptr;   // a late message of its previous connection
        if (p.epoch) {
            // It reconnected: what it was doing for us may be lost.
            p.oldEpochs.append(p.epoch);
            if (p.oldEpochs.size() > ReplayGuard::MaxEpochs)
                p.oldEpochs.removeFirst();
            if (p.endpoint)
                renewEndpoint(p);
        }
        p.epoch = env.epoch;
    }
    if (!p.endpoint)
        p.endpoint = m_router->machineConnected(p.machine, p.isMonitor);
    if (!p.up) {
        p.up = true;
        p.since = QDateTime::currentDateTimeUtc();
        const PeerInfo info = infoOf(p);
        qCInfo(lcCluster) << "machine up on NATS:" << info;
        Q_EMIT peerConnected(info);
    }
    return &p;
}

void NatsTransport::presence(const Inbound &in)
{
    const quint64 machine = in.envelope.sender;
    if (in.presence.kind == PresenceKind::Bye) {
        lose(machine, "left the cluster");
        return;
    }
    const bool known = m_peers.contains(machine) && m_peers[machine].epoch == in.envelope.epoch;
    Peer *p = heard(in.envelope);
    // A newcomer's hello is answered on its inbox: it learns of us at once, not at our
    // next heartbeat.
    if (p && in.presence.kind == PresenceKind::Hello && !known)
        publishPresence(PresenceKind::Answer, p->inbox);
}

void NatsTransport::renewEndpoint(Peer &p)
{
    // The router's endpoint for the machine is replaced: what waited on the old one ends
    // with TargetLostError, the machine stays reachable.
    const quint32 old = p.endpoint;
    p.endpoint = m_router->machineConnected(p.machine, p.isMonitor);
    if (old)
        m_router->machineLost(old);
}

void NatsTransport::lose(quint64 machine, const char *why)
{
    const auto it = m_peers.find(machine);
    if (it == m_peers.end())
        return;
    const Peer p = *it;
    m_peers.erase(it);
    m_pendingPeers.remove(machine);   // what was held for it is dropped: its calls fail below
    if (p.epoch) {
        if (m_gone.size() >= 4096)
            m_gone.erase(m_gone.begin());   // bounded; a forgotten one costs a spurious renewal
        m_gone.insert(machine, {p.epoch, p.oldEpochs, monotonicMs() + WindowMs});
    }
    if (p.endpoint)
        m_router->machineLost(p.endpoint);
    if (p.up) {
        const PeerInfo info = infoOf(p);
        qCInfo(lcCluster) << "machine" << Qt::hex << machine << Qt::dec << why;
        Q_EMIT peerDisconnected(info);
    }
}

void NatsTransport::tick()
{
    if (m_connected)
        publishPresence(PresenceKind::Heartbeat, m_presence);
    const qint64 now = monotonicMs();
    QList<quint64> silent;
    for (const Peer &p : std::as_const(m_peers)) {
        if (now - p.lastHeard > m_options.deadAfterMs)
            silent.append(p.machine);
    }
    for (quint64 machine : std::as_const(silent)) {
        qCWarning(lcCluster) << "machine" << Qt::hex << machine << Qt::dec << "was silent for"
                             << now - m_peers.value(machine).lastHeard << "ms";
        lose(machine, "is lost (silent)");
    }
    for (auto it = m_gone.begin(); it != m_gone.end();)
        it = it->until < now ? m_gone.erase(it) : std::next(it);
    std::lock_guard lock(m_lock);
    m_replay.prune(QDateTime::currentMSecsSinceEpoch());
}

PeerInfo NatsTransport::infoOf(const Peer &p) const
{
    PeerInfo info;
    info.setMachineId(p.machine);
    info.setConnectedSince(p.since);
    info.setMonitor(p.isMonitor);
    // Reached through the broker: the address is the server this side uses.
    info.setAddress(m_server);
    info.setMessagesIn(p.messagesIn);
    info.setMessagesOut(p.messagesOut);
    info.setBytesIn(p.bytesIn);
    info.setBytesOut(p.bytesOut);
    return info;
}

QList<PeerInfo> NatsTransport::peers() const
{
    QList<PeerInfo> out;
    for (const Peer &p : m_peers) {
        if (p.up)
            out.append(infoOf(p));
    }
    return sortedByMachine(std::move(out));
}

} // namespace Plexus
