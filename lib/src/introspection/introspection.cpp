// SPDX-License-Identifier: MIT
//
// The introspection op-codes (docs/MONITOR.md): who answers what, how a master gathers
// its workers' parts of a snapshot, trace subscriptions, control actions.
#include "clustertransport_p.h"
#include "clock_p.h"
#include "introspection_p.h"
#include "logging_p.h"
#include "message_p.h"
#include "router_p.h"
#include "stats_p.h"
#include "opcoderegistry_p.h"

#include <plexus/calls.h>
#include <plexus/reply.h>

#include <QtCore/qcborarray.h>
#include <QtCore/qcbormap.h>
#include <QtCore/qdatetime.h>
#include <QtCore/qdebug.h>
#include <QtCore/qdeadlinetimer.h>
#include <QtCore/qsysinfo.h>

#include <algorithm>

namespace Plexus {

namespace {
QLatin1String key(const char *k) { return QLatin1String(k); }

// Requests are small maps; anything bigger is not parsed at all.
constexpr qsizetype MaxRequestBytes = 64 * 1024;
// Snapshots gathering their workers' parts at once; past this, a snapshot carries the
// master's view of its workers only (responding = false).
constexpr int MaxGathering = 16;
constexpr int GatherTimeoutMs = 2000;
// How long a control "send" waits to learn which targets handle its op-code.
constexpr int SendProbeMs = 1000;

QCborMap requestBody(const Message &request)
{
    if (request.length() == 0 || request.length() > MaxRequestBytes)
        return {};
    return QCborValue::fromCbor(request.data().toByteArray()).toMap();
}

QString stateName(WorkerInfo::State state)
{
    switch (state) {
    case WorkerInfo::Starting: return QStringLiteral("starting");
    case WorkerInfo::Running: return QStringLiteral("running");
    case WorkerInfo::Exited: return QStringLiteral("exited");
    case WorkerInfo::GivenUp: return QStringLiteral("givenUp");
    }
    return QStringLiteral("?");
}

QString exitReasonName(WorkerInfo::ExitReason reason)
{
    switch (reason) {
    case WorkerInfo::NormalExit: return QStringLiteral("normal");
    case WorkerInfo::ErrorExit: return QStringLiteral("error");
    case WorkerInfo::Crashed: return QStringLiteral("crashed");
    case WorkerInfo::CrashLoop: return QStringLiteral("crashLoop");
    case WorkerInfo::Stopped: return QStringLiteral("stopped");
    case WorkerInfo::Restarted: return QStringLiteral("restarted");
    }
    return QStringLiteral("?");
}

QCborMap refusal(const QString &why)
{
    QCborMap m;
    m.insert(key("v"), Introspection::EncodingVersion);
    m.insert(key("ok"), false);
    m.insert(key("error"), why);
    return m;
}
} // namespace

IntrospectionService::IntrospectionService(IntrospectionHost *node, QObject *parent)
    : QObject(parent), m_node(node), m_startedAt(QDateTime::currentMSecsSinceEpoch())
{
}

IntrospectionService::~IntrospectionService()
{
    delete m_tracer;
}

void IntrospectionService::setOptions(const Introspection::Options &options)
{
    m_options = options;
    if (!options.trace) {
        delete m_tracer;   // ends every subscription with its final reply
        m_tracer = nullptr;
    } else if (m_tracer) {
        m_tracer->setSettings({options.traceIntervalMs, options.traceSamples,
                               options.tracePayloadBytes, options.traceMaxQueuedBytes});
    }
}

void IntrospectionService::answer(const Message &request, const QCborMap &body)
{
    Plexus::reply(request, {.data = {body.toCborValue().toCbor()}, .done = true});
}

bool IntrospectionService::dispatch(const Message &request)
{
    switch (request.opcode()) {
    case Introspection::SnapshotOpcode:
        snapshot(request);
        return true;
    case Introspection::TraceOpcode:
        if (m_node->nodeRole() != Node::Master)
            return false;   // a master traces what its workers send
        trace(request);
        return true;
    case Introspection::ControlOpcode:
        if (m_node->nodeRole() != Node::Master)
            return false;
        control(request);
        return true;
    default:
        return false;
    }
}

// ---------------------------------------------------------------------------------------
// Snapshots

void IntrospectionService::snapshot(const Message &request)
{
    QCborMap self = processRecord();
    if (m_node->nodeRole() == Node::Worker) {
        self.insert(key("v"), Introspection::EncodingVersion);
        answer(request, self);
        return;
    }
    if (!m_node->hasWorkerTable() || m_gathering >= MaxGathering) {
        finishSnapshot(request, self, {});
        return;
    }
    // The workers' parts, with the library's own machinery: a local call to every worker.
    ++m_gathering;
    Reply *r = Plexus::local({.opcode = Introspection::SnapshotOpcode, .others = true,
                              .timeout = GatherTimeoutMs, .reply = true});
    auto answers = std::make_shared<QHash<qint64, QCborMap>>();
    connect(r, &Reply::replyReceived, this, [answers](const Message &m) {
        if (m.isError() || m.length() > maxMessageLength())
            return;
        const QCborMap part = QCborValue::fromCbor(m.data().toByteArray()).toMap();
        if (part.value(key("v")).toInteger() == Introspection::EncodingVersion)
            answers->insert(m.sender().pid(), part);
    });
    connect(r, &Reply::finished, this, [this, request, self, answers] {
        --m_gathering;
        finishSnapshot(request, self, *answers);
    });
}

void IntrospectionService::finishSnapshot(const Message &request, QCborMap master,
                                          const QHash<qint64, QCborMap> &answers)
{
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const qint64 nowMono = monotonicMs();
    const QCborArray links = linkRecords();

    // The master's link figures: everything it has queued, its most recent input.
    qint64 backlog = 0, idle = -1;
    for (const QCborValue &l : links) {
        backlog += l[key("queued")].toInteger();
        const qint64 i = l[key("idleMs")].toInteger();
        if (i >= 0 && (idle < 0 || i < idle))
            idle = i;
    }
    master.insert(key("backlog"), backlog);
    master.insert(key("idleMs"), idle);
    const auto addUsage = [this, nowMono](QCborMap &p, qint64 pid) {
        const ProcessSampler::Sample u = m_sampler.sample(pid, nowMono);
        p.insert(key("cpu"), u.cpuPercent >= 0 ? u.cpuPercent : -1.0);
        p.insert(key("rss"), u.rssBytes);
    };
    addUsage(master, m_node->nodeIdentity().pid);

    QCborArray processes;
    processes.append(master);
    QList<WorkerInfo> workers = m_node->workerList();
    std::sort(workers.begin(), workers.end(),
              [](const WorkerInfo &a, const WorkerInfo &b) { return a.slot() < b.slot(); });
    for (const WorkerInfo &w : std::as_const(workers)) {
        QCborMap p = answers.value(w.pid());
        const bool responding = !p.isEmpty();
        p.remove(key("v"));
        // What the master knows wins: it is the one that restarts them.
        p.insert(key("pid"), w.pid());
        p.insert(key("role"), QStringLiteral("worker"));
        p.insert(key("slot"), w.slot());
        p.insert(key("exec"), w.isExec());
        const Endpoint *e = w.pid() > 0 ? m_node->nodeRouter()->endpointForPid(w.pid()) : nullptr;
        const Link *link = e ? e->link : nullptr;
        // Running with its link gone: it died (or is dying) and is not reaped yet.
        const bool gone = w.state() == WorkerInfo::Running && !link;
        p.insert(key("state"), gone ? QStringLiteral("exited") : stateName(w.state()));
        p.insert(key("responding"), responding);
        p.insert(key("startedAt"), w.startedAt());
        p.insert(key("uptimeMs"), w.startedAt() ? now - w.startedAt() : 0);
        p.insert(key("restarts"), w.restarts());
        p.insert(key("backlog"), link ? qint64(link->queuedBytes()) : 0);
        p.insert(key("idleMs"), link && link->lastInputAt() ? nowMono - link->lastInputAt() : -1);
        if (w.state() == WorkerInfo::Running || w.state() == WorkerInfo::Starting)
            addUsage(p, w.pid());
        processes.append(p);
    }
    m_sampler.prune(nowMono - 10 * 60 * 1000);

    QCborArray exits;
    for (const WorkerExit &x : m_node->workerExits()) {
        QCborMap e;
        e.insert(key("t"), x.time);
        e.insert(key("pid"), x.pid);
        e.insert(key("slot"), x.slot);
        e.insert(key("reason"), exitReasonName(x.reason));
        e.insert(key("code"), x.code);
        e.insert(key("signaled"), x.signaled);
        exits.append(e);
    }

    QCborMap s;
    s.insert(key("v"), Introspection::EncodingVersion);
    s.insert(key("machine"), qint64(m_node->nodeIdentity().machine));
    s.insert(key("version"), QLatin1String(Plexus::version()));
    s.insert(key("host"), QSysInfo::machineHostName());
    s.insert(key("time"), now);
    s.insert(key("clusterPort"), m_node->clusterTransport() ? m_node->clusterTransport()->port() : 0);
    s.insert(key("remoteControl"), m_options.remoteControl);
    s.insert(key("trace"), m_options.trace);
    s.insert(key("traceDropped"), m_tracer ? qint64(m_tracer->droppedBatches()) : 0);
    s.insert(key("processes"), processes);
    s.insert(key("links"), links);
    s.insert(key("peers"), peerRecords());
    s.insert(key("exits"), exits);
    answer(request, s);
}

// ---------------------------------------------------------------------------------------
// Trace subscriptions

void IntrospectionService::trace(const Message &request)
{
    const QCborMap body = requestBody(request);
    const MessagePrivate *rq = MessagePrivate::get(request);
    const bool answerable = rq && rq->owesFinalReply();
    if (body.value(key("stop")).toBool()) {   // also fire-and-forget, as a monitor leaves
        const int ended = m_tracer ? m_tracer->unsubscribe(request.sender().machineId(),
                                                           request.sender().pid())
                                   : 0;
        QCborMap m;
        m.insert(key("v"), Introspection::EncodingVersion);
        m.insert(key("ok"), true);
        m.insert(key("stopped"), ended);
        if (answerable)
            answer(request, m);
        return;
    }
    if (!answerable)
        return;   // fire-and-forget: there is nobody to stream to
    if (!m_options.trace) {
        answer(request, refusal(QStringLiteral("tracing is disabled on this master")));
        return;
    }
    if (!m_tracer) {
        m_tracer = new Tracer(m_node->nodeRouter(), m_node->nodeIdentity().machine, m_node->nodeIdentity().pid);
        m_tracer->setSettings({m_options.traceIntervalMs, m_options.traceSamples,
                               m_options.tracePayloadBytes, m_options.traceMaxQueuedBytes});
    }
    const QCborValue opcode = body.value(key("opcode"));
    if (!m_tracer->subscribe(request, opcode.isInteger(), quint32(opcode.toInteger())))
        answer(request, refusal(QStringLiteral("too many trace subscribers on this master")));
}

// ---------------------------------------------------------------------------------------
// Control actions

void IntrospectionService::control(const Message &request)
{
    if (!m_options.remoteControl) {
        qCInfo(lcIpc) << "control action from pid" << request.sender().pid() << "of machine"
                      << Qt::hex << request.sender().machineId() << "refused: remote control is off";
        answer(request, refusal(QStringLiteral("remote control is disabled on this master "
                                               "(Node::setIntrospection)")));
        return;
    }
    const QCborMap body = requestBody(request);
    const QString action = body.value(key("action")).toString();
    if (action == QLatin1String("restart")) {
        const qint64 pid = body.value(key("pid")).toInteger();
        const QList<WorkerInfo> workers = m_node->workerList();
        const auto w = std::find_if(workers.begin(), workers.end(), [pid](const WorkerInfo &i) {
            return i.pid() == pid && i.state() == WorkerInfo::Running;
        });
        if (w == workers.end()) {
            answer(request, refusal(QStringLiteral("no running worker with pid %1 here").arg(pid)));
            return;
        }
        if (w->restartPolicy() != WorkerInfo::Restart) {
            answer(request, refusal(QStringLiteral("worker %1 would not be restarted (NoRestart)").arg(pid)));
            return;
        }
        qCInfo(lcWorker) << "restarting worker" << pid << "(slot" << w->slot() << ") for a monitor";
        if (!m_node->restartWorker(pid)) {
            answer(request, refusal(QStringLiteral("worker %1 cannot be restarted now").arg(pid)));
            return;
        }
    } else if (action == QLatin1String("send")) {
        const quint32 opcode = quint32(body.value(key("opcode")).toInteger());
        if (!OpcodeRegistry::isUserOpcode(opcode)) {
            answer(request, refusal(QStringLiteral("op-code 0x%1 cannot be sent").arg(opcode, 0, 16)));
            return;
        }
        const QByteArray data = body.value(key("data")).toByteArray();
        const bool everywhere = body.value(key("broadcast")).toBool();
        if (everywhere && !m_node->clusterTransport()) {
            answer(request, refusal(QStringLiteral("this master is not in a cluster")));
            return;
        }
        // Sent wanting replies, only to learn which targets have no handler (they answer
        // UnknownOpcodeError at once); handled = targets - those - lost ones. What the
        // handlers reply is dropped (one that does not reply is answered for by the
        // automatic final reply); a target that never answers ends the wait at
        // SendProbeMs, and the timeout's cancel tells it nobody waits any more.
        const CallArgs args{.opcode = opcode, .data = {data}, .timeout = SendProbeMs, .reply = true};
        Reply *probe = everywhere ? Plexus::broadcast(args) : Plexus::local(args);
        auto unanswered = std::make_shared<int>(0);
        connect(probe, &Reply::replyReceived, this, [unanswered](const Message &m) {
            // No handler there, or it went away. A handler's own error reply is an answer;
            // a target that has not answered by SendProbeMs counts as handling it.
            if (m.error() == Reply::UnknownOpcodeError || m.error() == Reply::TargetLostError)
                ++*unanswered;
        });
        connect(probe, &Reply::finished, this, [this, request, probe, unanswered] {
            // The call itself refused (too long for maxMessageLength(), back-pressure, ...):
            // nothing was delivered, which is not "nobody handles it".
            const Reply::Error e = probe->error();
            const int targets = probe->expectedReplies();
            if ((e > Reply::NoError && e < Reply::TargetLostError)
                || (e == Reply::BackpressureError && targets == 0)) {
                answer(request, refusal(QStringLiteral("the test message was not sent: %1")
                                                .arg(probe->errorString())));
                return;
            }
            QCborMap ok;
            ok.insert(key("v"), Introspection::EncodingVersion);
            ok.insert(key("ok"), true);
            ok.insert(key("targets"), targets);
            ok.insert(key("handled"), qMax(0, targets - *unanswered));
            answer(request, ok);
        });
        return;
    } else {
        answer(request, refusal(QStringLiteral("unknown control action \"%1\"").arg(action)));
        return;
    }
    QCborMap ok;
    ok.insert(key("v"), Introspection::EncodingVersion);
    ok.insert(key("ok"), true);
    answer(request, ok);
}

QDebug Introspection::operator<<(QDebug debug, const Introspection::Options &o)
{
    const QDebugStateSaver saver(debug);
    debug.nospace() << "Introspection::Options(trace " << (o.trace ? "on" : "off")
                    << ", remote control " << (o.remoteControl ? "on" : "off")
                    << ", payload bytes " << o.tracePayloadBytes << ", every "
                    << o.traceIntervalMs << " ms, " << o.traceSamples << " samples, max queued "
                    << o.traceMaxQueuedBytes << ')';
    return debug;
}

} // namespace Plexus
