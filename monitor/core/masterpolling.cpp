// SPDX-License-Identifier: MIT
//
// What a MonitorClient asks every master it is linked to: a snapshot each poll interval
// (never more than one outstanding), the trace subscription (retried after it ends or is
// refused), and the masters named in the snapshots' peer lists (followPeers).

#include "format.h"
#include "monitorclient_p.h"
#include "snapshotdecoder.h"

#include <plexus/calls.h>
#include <plexus/introspection.h>
#include <plexus/message.h>

#include <QtCore/qurl.h>

using namespace Qt::StringLiterals;

namespace PlexusMonitor {

using namespace Internal;

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
        if (!p.isMonitor() && masters.contains(p.machineId())) {
            const QUrl address(p.address());
            state.setConnected(p.machineId(), address.host(), quint16(qMax(0, address.port())),
                               p.version(), p.roundTripMs(),
                               p.connectedSince().toMSecsSinceEpoch(), t);
        }
    }
    state.prune(t, ForgetAfterMs);
    followed.prune(t, ForgetAfterMs);
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
    QObject::connect(reply, &Plexus::Reply::replyReceived, q,
                     [this, machine](const Plexus::Message &m) { onSnapshot(machine, m); });
    QObject::connect(reply, &Plexus::Reply::finished, q, [this, machine, reply] {
        if (reply->error() != Plexus::Reply::NoError
            && reply->error() != Plexus::Reply::OperationCanceledError && masters.contains(machine))
            report(u"snapshot/"_s + QString::number(machine),
                   u"machine %1: snapshot failed: %2"_s.arg(Format::machineId(machine),
                                                           replyErrorText(reply->error())));
    });
}

void MonitorClientPrivate::onSnapshot(quint64 machine, const Plexus::Message &m)
{
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
}

void MonitorClientPrivate::followPeers(const MachineSnapshot &snapshot)
{
    if (!options.followPeers || !node || !options.natsUrl.isEmpty())
        return;   // on NATS every master is met through the broker
    const qint64 t = now();
    for (const PeerSnapshot &p : snapshot.peers) {
        if (p.monitor || p.machine == 0 || p.port == 0 || masters.contains(p.machine))
            continue;
        QUrl url;
        url.setScheme(u"tcp"_s);
        url.setHost(p.address);
        url.setPort(p.port);
        if (!url.isValid() || url.host().isEmpty())
            continue;
        if (followed.mention(url.host(), p.port, t))
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
    QObject::connect(reply, &Plexus::Reply::replyReceived, q,
                     [this, machine](const Plexus::Message &m) { onTraceBatch(machine, m); });
    QObject::connect(reply, &Plexus::Reply::finished, q, [this, machine] {
        auto it = masters.find(machine);
        if (it != masters.end())
            it->traceRetryAt = now() + TraceRetryMs;
    });
}

void MonitorClientPrivate::onTraceBatch(quint64 machine, const Plexus::Message &m)
{
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
}

void MonitorClientPrivate::stopTraces()
{
    // Ask the masters to end the subscriptions now rather than when the link goes. The
    // request is fire-and-forget: sendTo() puts it on the link's queue at once, and stop()
    // lets the links drain before the Node goes (Node::shutdown() flushes every link of a
    // peer). It can still be lost, on a link too congested to drain in StopFlushMs or
    // still in its handshake; then the master ends the subscription when the link closes,
    // a moment later. Nothing is left behind on the master either way.
    const QHash<quint64, MasterLink> links = std::exchange(masters, {});
    for (auto it = links.cbegin(); it != links.cend(); ++it) {
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
}

} // namespace PlexusMonitor
