// SPDX-License-Identifier: MIT
#include "monitorclient.h"

#include "format.h"
#include "snapshotdecoder.h"

#include <plexus/calls.h>
#include <plexus/clusteroptions.h>
#include <plexus/introspection.h>
#include <plexus/message.h>
#include <plexus/node.h>
#include <plexus/reply.h>

#include <QtCore/qdatetime.h>
#include <QtCore/qelapsedtimer.h>
#include <QtCore/qhash.h>
#include <QtCore/qmetaobject.h>
#include <QtCore/qpointer.h>
#include <QtCore/qset.h>
#include <QtCore/qtimer.h>
#include <QtCore/qurl.h>

#include <functional>

using namespace Qt::StringLiterals;

namespace PlexusMonitor {

namespace {

constexpr int TraceRetryMs = 5000;          // after a subscription ended or was refused
constexpr qint64 ForgetAfterMs = 60000;     // machines neither linked nor mentioned
constexpr qint64 ProblemRepeatMs = 60000;   // the same problem, reported again
constexpr int MaxFollowed = 256;            // peers dialed from peer lists, in all

qint64 now()
{
    return QDateTime::currentMSecsSinceEpoch();
}

QString frameErrorName(Plexus::FrameError reason)
{
    const char *key = QMetaEnum::fromType<Plexus::FrameError>().valueToKey(int(reason));
    return key ? QString::fromLatin1(key) : QString::number(int(reason));
}

QString replyErrorText(Plexus::Reply::Error error)
{
    switch (error) {
    case Plexus::Reply::TimeoutError: return u"no answer in time"_s;
    case Plexus::Reply::TargetLostError: return u"the master went away"_s;
    case Plexus::Reply::UnknownOpcodeError:
        return u"the master does not answer introspection (an older Plexus?)"_s;
    case Plexus::Reply::NotInClusterError: return u"the monitor is not in the cluster"_s;
    case Plexus::Reply::NotRunningError: return u"the monitor's node is not running"_s;
    case Plexus::Reply::BackpressureError: return u"the link to the master is congested"_s;
    default: {
        const char *key = QMetaEnum::fromType<Plexus::Reply::Error>().valueToKey(int(error));
        return key ? QString::fromLatin1(key) : u"error %1"_s.arg(int(error));
    }
    }
}

// "host:port" or "tcp://host:port" -> tcp://host:port; an invalid QUrl if it is neither.
QUrl peerUrl(const QString &text)
{
    const QString t = text.trimmed();
    QUrl url(t.contains(u"://"_s) ? t : u"tcp://"_s + t);
    if (!url.isValid() || url.scheme() != u"tcp"_s || url.host().isEmpty() || url.port() <= 0
        || !url.path().isEmpty())
        return {};
    return url;
}

// Emits at most once per interval: at once if the last emission is old enough, else when
// the interval is over (KDToolBox's KDSignalThrottler, leading edge).
class Throttle
{
public:
    Throttle(QObject *parent, std::function<void()> fire) : m_fire(std::move(fire))
    {
        m_timer.setSingleShot(true);
        m_timer.callOnTimeout(parent, [this] { emitNow(); });
    }
    void setInterval(int msec) { m_interval = qMax(0, msec); }
    void trigger()
    {
        if (m_timer.isActive())
            return;
        const qint64 since = m_last.isValid() ? m_last.elapsed() : m_interval;
        if (since >= m_interval)
            emitNow();
        else
            m_timer.start(int(m_interval - since));
    }
    void cancel() { m_timer.stop(); }

private:
    void emitNow()
    {
        m_last.start();
        m_fire();
    }
    QTimer m_timer;
    QElapsedTimer m_last;
    std::function<void()> m_fire;
    int m_interval = 250;
};

} // namespace

struct MasterLink
{
    Plexus::PeerInfo info;
    QPointer<Plexus::Reply> snapshot;
    QPointer<Plexus::Reply> trace;
    qint64 traceRetryAt = 0;
    bool appeared = false;   // machineAppeared() was emitted
};

class MonitorClientPrivate
{
public:
    explicit MonitorClientPrivate(MonitorClient *q)
        : q(q),
          stateThrottle(q, [q] { Q_EMIT q->stateChanged(); }),
          traceThrottle(q, [q] { Q_EMIT q->traceReceived(); })
    { }

    bool fail(MonitorClient::Error e, const QString &text)
    {
        error = e;
        errorString = text;
        node.reset();
        return false;
    }

    void onPeerConnected(const Plexus::PeerInfo &peer);
    void onPeerDisconnected(const Plexus::PeerInfo &peer);
    void onSecurityEvent(Plexus::FrameError reason, const QString &peer);
    void poll();
    void requestSnapshot(quint64 machine, MasterLink &link);
    void subscribeTrace(quint64 machine, MasterLink &link);
    void sendControl(quint64 machine, const QByteArray &request);
    void report(const QString &key, const QString &text);
    void changed();
    void updateStatus();
    void followPeers(const MachineSnapshot &snapshot);
    Plexus::Reply *sendToMaster(quint64 machine, quint32 opcode, const QByteArray &data, int timeout);

    MonitorClient *q;
    ClientOptions options;
    std::unique_ptr<Plexus::Node> node;
    ClusterState state;
    QHash<quint64, MasterLink> masters;
    QHash<QString, qint64> reported;   // problem key -> when last reported
    QSet<quint64> followed;            // machines dialed from a peer list
    QTimer pollTimer;
    Throttle stateThrottle;
    Throttle traceThrottle;
    QString status;
    MonitorClient::Error error = MonitorClient::NoError;
    QString errorString;
    bool paused = false;
};

Plexus::Reply *MonitorClientPrivate::sendToMaster(quint64 machine, quint32 opcode,
                                                  const QByteArray &data, int timeout)
{
    const Plexus::Message message = Plexus::newMessage(
            {.opcode = opcode, .data = data, .timeout = timeout, .reply = true});
    if (message.isNull())
        return nullptr;
    Plexus::Reply *reply = Plexus::sendTo(Plexus::Sender(machine, 0, -1), message);
    if (reply)
        reply->setTimeout(timeout);
    return reply;
}

void MonitorClientPrivate::report(const QString &key, const QString &text)
{
    const qint64 t = now();
    auto it = reported.find(key);
    if (it != reported.end() && t - *it < ProblemRepeatMs)
        return;
    if (reported.size() > 1024)   // a flood of distinct problems: start over
        reported.clear();
    reported.insert(key, t);
    Q_EMIT q->problem(text);
}

void MonitorClientPrivate::changed()
{
    stateThrottle.trigger();
}

void MonitorClientPrivate::updateStatus()
{
    QString text;
    if (!node) {
        text = u"stopped"_s;
    } else if (masters.isEmpty()) {
        text = options.discoveryPort ? u"waiting for masters (discovery on UDP port %1)"_s.arg(options.discoveryPort)
                                     : u"connecting to masters"_s;
    } else {
        int processes = 0;
        for (const MachineEntry &m : state.machines())
            processes += m.hasSnapshot ? int(m.snapshot.processes.size()) : 0;
        text = u"%1 machine(s) connected, %2 reporting, %3 processes"_s
                       .arg(masters.size())
                       .arg(state.reportingMachines())
                       .arg(processes);
        if (paused)
            text += u" (paused)"_s;
    }
    if (text != status) {
        status = text;
        Q_EMIT q->statusChanged(status);
    }
}

void MonitorClientPrivate::onPeerConnected(const Plexus::PeerInfo &peer)
{
    if (!peer.isValid() || peer.isMonitor)
        return;
    MasterLink &link = masters[peer.machineId];
    link.info = peer;
    state.setConnected(peer.machineId, peer.address.toString(), peer.port, peer.version,
                       peer.roundTripMs, peer.connectedSince.toMSecsSinceEpoch(), now());
    if (!paused)
        requestSnapshot(peer.machineId, link);
    if (options.trace)
        subscribeTrace(peer.machineId, link);
    changed();
    updateStatus();
}

void MonitorClientPrivate::onPeerDisconnected(const Plexus::PeerInfo &peer)
{
    auto it = masters.find(peer.machineId);
    if (it == masters.end())
        return;
    // The replies fail by themselves (target lost); they must no longer count as ours.
    if (it->snapshot)
        it->snapshot->abort();
    if (it->trace)
        it->trace->abort();
    masters.erase(it);
    state.setDisconnected(peer.machineId, now());
    Q_EMIT q->machineLost(peer.machineId);
    changed();
    updateStatus();
}

void MonitorClientPrivate::onSecurityEvent(Plexus::FrameError reason, const QString &peer)
{
    const QString name = frameErrorName(reason);
    const bool incompatible = reason == Plexus::FrameError::VersionMismatch;
    state.addRefused(peer, name, incompatible, now());
    QString text;
    switch (reason) {
    case Plexus::FrameError::BadHandshake:
    case Plexus::FrameError::AuthenticationFailed:
        text = u"handshake with %1 failed: wrong SECRET? (%2)"_s.arg(peer, name);
        break;
    case Plexus::FrameError::VersionMismatch:
        text = u"%1 runs an incompatible Plexus protocol version"_s.arg(peer);
        break;
    case Plexus::FrameError::HandshakeTimeout:
        text = u"handshake with %1 timed out"_s.arg(peer);
        break;
    default:
        text = u"%1: input rejected (%2)"_s.arg(peer, name);
        break;
    }
    report(u"security/"_s + peer + u'/' + name, text);
    changed();
}

void MonitorClientPrivate::poll()
{
    if (!node || paused)
        return;
    const qint64 t = now();
    for (auto it = masters.begin(); it != masters.end(); ++it) {
        if (!it->snapshot)
            requestSnapshot(it.key(), *it);
        if (options.trace && !it->trace && t >= it->traceRetryAt) {
            const MachineEntry *m = state.machine(it.key());
            if (!m || !m->hasSnapshot || m->snapshot.trace)
                subscribeTrace(it.key(), *it);
        }
    }
    // RTTs change without a link event: refresh them from the Node.
    for (const Plexus::PeerInfo &p : node->peers()) {
        if (!p.isMonitor && masters.contains(p.machineId))
            state.setConnected(p.machineId, p.address.toString(), p.port, p.version,
                               p.roundTripMs, p.connectedSince.toMSecsSinceEpoch(), t);
    }
    state.prune(t, ForgetAfterMs);
}

void MonitorClientPrivate::requestSnapshot(quint64 machine, MasterLink &link)
{
    if (link.snapshot)
        return;   // one outstanding per master, whatever the interval
    Plexus::Reply *reply = sendToMaster(machine, Plexus::Introspection::SnapshotOpcode, {},
                                        options.timeoutMs);
    if (!reply)
        return;
    link.snapshot = reply;
    QObject::connect(reply, &Plexus::Reply::replyReceived, q, [this, machine](const Plexus::Message &m) {
        if (!masters.contains(machine))
            return;
        if (m.isError()) {
            report(u"snapshot/"_s + QString::number(machine),
                   u"machine %1: snapshot failed: %2"_s.arg(Format::machineId(machine),
                                                           replyErrorText(m.error())));
            return;
        }
        MachineSnapshot snapshot;
        QString error;
        if (!decodeSnapshot(m.data(), &snapshot, &error)) {
            state.addBadAnswer(machine, error);
            report(u"decode/"_s + QString::number(machine),
                   u"machine %1 sent a snapshot this monitor cannot read: %2"_s
                           .arg(Format::machineId(machine), error));
            changed();
            return;
        }
        if (snapshot.machine != machine) {
            // Answers are keyed by the link they came on, never by what they claim.
            state.addBadAnswer(machine, u"snapshot of another machine"_s);
            report(u"decode/"_s + QString::number(machine),
                   u"machine %1 answered with the snapshot of %2"_s
                           .arg(Format::machineId(machine), Format::machineId(snapshot.machine)));
            return;
        }
        if (paused)
            return;
        state.applySnapshot(snapshot, now());
        followPeers(snapshot);
        MasterLink &link = masters[machine];
        if (!link.appeared) {
            link.appeared = true;
            Q_EMIT q->machineAppeared(machine);
        }
        changed();
        updateStatus();
    });
    QObject::connect(reply, &Plexus::Reply::finished, q, [this, machine, reply] {
        if (reply->error() != Plexus::Reply::NoError
            && reply->error() != Plexus::Reply::OperationCanceledError && masters.contains(machine))
            report(u"snapshot/"_s + QString::number(machine),
                   u"machine %1: snapshot failed: %2"_s.arg(Format::machineId(machine),
                                                           replyErrorText(reply->error())));
    });
}

void MonitorClientPrivate::followPeers(const MachineSnapshot &snapshot)
{
    if (!options.followPeers || !node)
        return;
    for (const PeerSnapshot &p : snapshot.peers) {
        if (p.monitor || p.machine == 0 || p.port == 0 || masters.contains(p.machine)
            || followed.contains(p.machine) || followed.size() >= MaxFollowed)
            continue;
        QUrl url;
        url.setScheme(u"tcp"_s);
        url.setHost(p.address);
        url.setPort(p.port);
        if (!url.isValid() || url.host().isEmpty())
            continue;
        followed.insert(p.machine);
        node->connectToPeer(url);
    }
}

void MonitorClientPrivate::subscribeTrace(quint64 machine, MasterLink &link)
{
    if (link.trace)
        return;
    // A subscription streams until it is stopped or the link goes: no timeout.
    Plexus::Reply *reply = sendToMaster(machine, Plexus::Introspection::TraceOpcode,
                                        encodeTraceRequest(options.traceOpcode), 0);
    if (!reply)
        return;
    link.trace = reply;
    link.traceRetryAt = now() + TraceRetryMs;
    QObject::connect(reply, &Plexus::Reply::replyReceived, q, [this, machine](const Plexus::Message &m) {
        if (!masters.contains(machine) || m.isError())
            return;
        TraceBatch batch;
        QString error;
        if (!decodeTrace(m.data(), &batch, &error)) {
            // A refusal ("tracing is disabled", "too many subscribers") is a control-style
            // answer rather than a batch.
            ControlAnswer refusal;
            if (decodeControlAnswer(m.data(), &refusal, nullptr) && !refusal.ok) {
                report(u"trace/"_s + QString::number(machine),
                       u"machine %1 refused the trace: %2"_s.arg(Format::machineId(machine),
                                                                refusal.error));
                return;
            }
            state.addBadAnswer(machine, error);
            report(u"trace/"_s + QString::number(machine),
                   u"machine %1 sent a trace batch this monitor cannot read: %2"_s
                           .arg(Format::machineId(machine), error));
            return;
        }
        if (paused || batch.machine != machine)
            return;
        state.applyTrace(batch, now());
        traceThrottle.trigger();
        changed();
    });
    QObject::connect(reply, &Plexus::Reply::finished, q, [this, machine] {
        auto it = masters.find(machine);
        if (it != masters.end())
            it->traceRetryAt = now() + TraceRetryMs;
    });
}

void MonitorClientPrivate::sendControl(quint64 machine, const QByteArray &request)
{
    const auto refuse = [this](const QString &why) {
        QMetaObject::invokeMethod(q, [q = q, why] { Q_EMIT q->controlFinished(false, why); },
                                  Qt::QueuedConnection);
    };
    if (!node)
        return refuse(u"the monitor is not running"_s);
    if (machine == 0) {
        for (auto it = masters.cbegin(); it != masters.cend(); ++it) {
            if (machine == 0 || it.key() < machine)
                machine = it.key();
        }
        if (machine == 0)
            return refuse(u"no master connected"_s);
    } else if (!masters.contains(machine)) {
        return refuse(u"machine %1 is not connected"_s.arg(Format::machineId(machine)));
    }
    Plexus::Reply *reply = sendToMaster(machine, Plexus::Introspection::ControlOpcode, request,
                                        options.timeoutMs);
    if (!reply)
        return refuse(u"the control request could not be sent"_s);
    struct Outcome {
        bool answered = false;
        ControlAnswer answer;
    };
    auto outcome = std::make_shared<Outcome>();
    QObject::connect(reply, &Plexus::Reply::replyReceived, q, [outcome](const Plexus::Message &m) {
        if (outcome->answered || m.isError())
            return;
        QString error;
        outcome->answered = true;
        if (!decodeControlAnswer(m.data(), &outcome->answer, &error))
            outcome->answer = {false, u"unreadable answer: "_s + error};
    });
    QObject::connect(reply, &Plexus::Reply::finished, q, [this, outcome, reply] {
        if (outcome->answered) {
            if (!outcome->answer.ok)
                Q_EMIT q->controlRefused(outcome->answer.error);
            Q_EMIT q->controlFinished(outcome->answer.ok, outcome->answer.ok
                                              ? QString() : outcome->answer.error);
        } else {
            Q_EMIT q->controlFinished(false, replyErrorText(reply->error()));
        }
    });
}

MonitorClient::MonitorClient(QObject *parent)
    : QObject(parent), d_ptr(std::make_unique<MonitorClientPrivate>(this))
{
    Q_D(MonitorClient);
    d->pollTimer.callOnTimeout(this, [d] { d->poll(); });
}

MonitorClient::~MonitorClient()
{
    stop();
}

bool MonitorClient::start(const ClientOptions &options)
{
    Q_D(MonitorClient);
    if (d->node) {
        d->error = AlreadyStartedError;
        d->errorString = u"the monitor is already started"_s;
        return false;
    }
    d->error = NoError;
    d->errorString.clear();
    d->options = options;
    d->options.snapshotIntervalMs = qMax(50, options.snapshotIntervalMs);
    d->options.timeoutMs = qMax(1, options.timeoutMs);
    const QByteArray secret = options.secret.isEmpty() ? qgetenv("SECRET") : options.secret;
    if (secret.isEmpty())
        return d->fail(NoSecretError,
                       u"no cluster secret: set SECRET to the secret the masters use"_s);
    QList<QUrl> urls;
    for (const QString &peer : options.peers) {
        const QUrl url = peerUrl(peer);
        if (!url.isValid())
            return d->fail(AddressError,
                           u"\"%1\" is not a master's address (host:port or tcp://host:port)"_s.arg(peer));
        urls.append(url);
    }

    d->node = std::make_unique<Plexus::Node>(Plexus::Node::Peer);
    Plexus::Node *node = d->node.get();
    connect(node, &Plexus::Node::peerConnected, this,
            [d](const Plexus::PeerInfo &p) { d->onPeerConnected(p); });
    connect(node, &Plexus::Node::peerDisconnected, this,
            [d](const Plexus::PeerInfo &p) { d->onPeerDisconnected(p); });
    connect(node, &Plexus::Node::securityEvent, this,
            [d](Plexus::FrameError reason, const QString &peer) { d->onSecurityEvent(reason, peer); });
    connect(node, &Plexus::Node::errorOccurred, this, [d, node](Plexus::Node::Error) {
        d->report(u"node/"_s + node->errorString(), node->errorString());
    });
    if (!node->start())
        return d->fail(NodeError, u"cannot start the monitor's node: "_s + node->errorString());
    Plexus::ClusterOptions cluster;
    cluster.port = options.discoveryPort;
    cluster.secret = secret;
    if (!node->listenCluster(cluster)) {
        const bool noSecret = node->error() == Plexus::Node::ClusterSecretError;
        return d->fail(noSecret ? NoSecretError : NodeError,
                       u"cannot join the cluster: "_s + node->errorString());
    }
    for (const QUrl &url : std::as_const(urls)) {
        if (!node->connectToPeer(url))
            return d->fail(AddressError, u"cannot connect to %1: %2"_s.arg(url.toString(),
                                                                          node->errorString()));
    }
    d->stateThrottle.setInterval(d->options.updateIntervalMs);
    d->traceThrottle.setInterval(d->options.updateIntervalMs);
    d->pollTimer.start(d->options.snapshotIntervalMs);
    d->updateStatus();
    return true;
}

void MonitorClient::stop()
{
    Q_D(MonitorClient);
    if (!d->node)
        return;
    d->pollTimer.stop();
    d->stateThrottle.cancel();
    d->traceThrottle.cancel();
    // Ask the masters to end the subscriptions now rather than when the link goes.
    const QHash<quint64, MasterLink> masters = std::exchange(d->masters, {});
    for (auto it = masters.cbegin(); it != masters.cend(); ++it) {
        if (it->trace) {
            const Plexus::Message stopMessage = Plexus::newMessage(
                    {.opcode = Plexus::Introspection::TraceOpcode, .data = encodeTraceStop()});
            if (!stopMessage.isNull())
                Plexus::sendTo(Plexus::Sender(it.key(), 0, -1), stopMessage);
            it->trace->abort();
        }
        if (it->snapshot)
            it->snapshot->abort();
    }
    d->node.reset();
    d->followed.clear();
    d->updateStatus();
}

bool MonitorClient::isRunning() const
{
    return d_ptr->node != nullptr;
}

MonitorClient::Error MonitorClient::error() const
{
    return d_ptr->error;
}

QString MonitorClient::errorString() const
{
    return d_ptr->errorString;
}

ClientOptions MonitorClient::options() const
{
    return d_ptr->options;
}

const ClusterState *MonitorClient::state() const
{
    return &d_ptr->state;
}

bool MonitorClient::isPaused() const
{
    return d_ptr->paused;
}

void MonitorClient::setPaused(bool paused)
{
    Q_D(MonitorClient);
    if (d->paused == paused)
        return;
    d->paused = paused;
    if (!paused)
        d->poll();
    d->updateStatus();
}

int MonitorClient::connectedMachines() const
{
    return int(d_ptr->masters.size());
}

int MonitorClient::pendingSnapshots() const
{
    int n = 0;
    for (const MasterLink &m : d_ptr->masters)
        n += m.snapshot ? 1 : 0;
    return n;
}

void MonitorClient::pollNow()
{
    d_ptr->poll();
}

void MonitorClient::setSnapshotInterval(int msec)
{
    Q_D(MonitorClient);
    d->options.snapshotIntervalMs = qMax(50, msec);
    if (d->pollTimer.isActive())
        d->pollTimer.start(d->options.snapshotIntervalMs);
}

void MonitorClient::restartWorker(quint64 machine, qint64 pid)
{
    d_ptr->sendControl(machine, encodeRestartRequest(pid));
}

void MonitorClient::sendTestMessage(quint32 opcode, const QByteArray &data, bool broadcast,
                                    quint64 machine)
{
    d_ptr->sendControl(machine, encodeSendRequest(opcode, data, broadcast));
}

} // namespace PlexusMonitor
