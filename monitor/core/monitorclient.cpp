// SPDX-License-Identifier: MIT
//
// MonitorClient's life: starting and stopping its Node, the masters' link events, the
// problems and status it reports, and control actions. What it asks every master it is
// linked to is in masterpolling.cpp.

#include "format.h"
#include "monitorclient_p.h"
#include "snapshotdecoder.h"

#include <plexus/calls.h>
#include <plexus/clusteroptions.h>
#include <plexus/introspection.h>
#include <plexus/message.h>

#include <QtCore/qregularexpression.h>
#include <QtCore/qmetaobject.h>
#include <QtCore/qurl.h>

using namespace Qt::StringLiterals;

namespace PlexusMonitor {

namespace {

QString frameErrorName(Plexus::FrameError reason)
{
    const char *key = QMetaEnum::fromType<Plexus::FrameError>().valueToKey(int(reason));
    return key ? QString::fromLatin1(key) : QString::number(int(reason));
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

} // namespace

namespace Internal {

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

} // namespace Internal

using namespace Internal;

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

QString MonitorClientPrivate::brokerServersOf(const ClientOptions &options)
{
    // "nats://user:password@host:port,..." without "user:password@": never on screen.
    return QString(options.natsUrl).replace(QRegularExpression(u"(//|,)[^@/,]*@"_s), u"\\1"_s);
}

void MonitorClientPrivate::updateStatus()
{
    QString text;
    if (!node) {
        text = u"stopped"_s;
    } else if (masters.isEmpty()) {
        text = !options.natsUrl.isEmpty()
                ? u"waiting for masters on NATS %1"_s.arg(brokerServersOf(options))
                : options.discoveryPort ? u"waiting for masters (discovery on UDP port %1)"_s.arg(options.discoveryPort)
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
    if (!peer.isValid() || peer.isMonitor())
        return;
    MasterLink &link = masters[peer.machineId()];
    link.info = peer;
    const QUrl address(peer.address());
    state.setConnected(peer.machineId(), address.host(), quint16(qMax(0, address.port())),
                       peer.version(), peer.roundTripMs(),
                       peer.connectedSince().toMSecsSinceEpoch(), now());
    if (!paused)
        requestSnapshot(peer.machineId(), link);
    if (options.trace)
        subscribeTrace(peer.machineId(), link);
    changed();
    updateStatus();
}

void MonitorClientPrivate::onPeerDisconnected(const Plexus::PeerInfo &peer)
{
    auto it = masters.find(peer.machineId());
    if (it == masters.end())
        return;
    // The replies fail by themselves (target lost); they must no longer count as ours.
    if (it->snapshot)
        it->snapshot->abort();
    if (it->trace)
        it->trace->abort();
    masters.erase(it);
    state.setDisconnected(peer.machineId(), now());
    Q_EMIT q->machineLost(peer.machineId());
    changed();
    updateStatus();
}

void MonitorClientPrivate::onSecurityEvent(Plexus::FrameError reason, const QString &peer)
{
    const QString name = frameErrorName(reason);
    const bool incompatible = reason == Plexus::FrameError::VersionMismatch;
    state.addRefused(peer, name, incompatible, now());
    QString transport, address;
    splitPeer(peer, &transport, &address);
    if (transport == u"udp") {
        // An announcement the monitor's discovery refused: a machine elsewhere on the
        // network with another SECRET or version, or garbage. The monitor's own links are
        // not concerned: it is listed (machines, security), not reported as a problem.
        changed();
        return;
    }
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
    cluster.url = options.natsUrl;   // empty: the mesh
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
    d->stopTraces();
    // Before the Node goes: its destructor would close the links after a single write
    // attempt; shutdown() lets them drain (briefly, and only if a socket buffer is full),
    // so that the trace stops of stopTraces() reach the masters.
    d->node->shutdown(StopFlushMs);
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

QString MonitorClient::brokerServers() const
{
    return MonitorClientPrivate::brokerServersOf(d_ptr->options);
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
