// SPDX-License-Identifier: MIT
#include "tracer_p.h"
#include "logging_p.h"
#include "message_p.h"
#include "router_p.h"

#include <plexus/calls.h>
#include <plexus/introspection.h>

#include <QtCore/qcborarray.h>
#include <QtCore/qcbormap.h>
#include <QtCore/qdatetime.h>
#include <QtCore/qtimer.h>

namespace Plexus {

Tracer::Tracer(Router *router, quint64 machine, qint64 pid, QObject *parent)
    : QObject(parent), m_router(router), m_machine(machine), m_pid(pid)
{
    m_timer = new QTimer(this);
    m_timer->setInterval(m_settings.intervalMs);
    connect(m_timer, &QTimer::timeout, this, &Tracer::flush);
}

Tracer::~Tracer()
{
    m_router->setTraceHook(nullptr);
    for (Subscriber &s : m_subscribers)
        Plexus::reply(s.request, {.done = true});
}

void Tracer::setSettings(const Settings &settings)
{
    m_settings = settings;
    m_settings.intervalMs = qBound(10, settings.intervalMs, 60000);
    m_settings.samples = qBound(0, settings.samples, 4096);
    m_settings.payloadBytes = qBound(0, settings.payloadBytes, 4096);
    m_settings.maxQueuedBytes = qMax<qsizetype>(4096, settings.maxQueuedBytes);
    m_timer->setInterval(m_settings.intervalMs);
}

bool Tracer::subscribe(const Message &request, bool filtered, quint32 opcode)
{
    if (m_subscribers.size() >= MaxSubscribers)
        return false;
    Subscriber s;
    s.request = request;
    s.machine = request.sender().machineId();
    s.pid = request.sender().pid();
    s.filtered = filtered;
    s.opcode = opcode;
    m_subscribers.append(std::move(s));
    qCInfo(lcIpc) << "trace subscribed by pid" << request.sender().pid() << "of machine"
                  << Qt::hex << request.sender().machineId();
    updateHook();
    return true;
}

int Tracer::unsubscribe(quint64 machine, qint64 pid)
{
    int ended = 0;
    for (qsizetype i = m_subscribers.size() - 1; i >= 0; --i) {
        if (m_subscribers[i].machine != machine || m_subscribers[i].pid != pid)
            continue;
        Plexus::reply(m_subscribers[i].request, {.done = true});
        m_subscribers.removeAt(i);
        ++ended;
    }
    updateHook();
    return ended;
}

void Tracer::updateHook()
{
    const bool active = !m_subscribers.isEmpty();
    m_router->setTraceHook(active ? this : nullptr);
    if (active && !m_timer->isActive())
        m_timer->start();
    else if (!active) {
        m_timer->stop();
        m_aggregates.clear();
        m_events = 0;
    }
}

// ---------------------------------------------------------------------------------------
// Recording (Node thread, per message while subscribed)

namespace {
bool isTraced(const MessagePrivate &m) noexcept
{
    const quint16 pf = m.header.privateFlags;
    if (pf & Wire::Control)
        return false;
    // The introspection traffic itself (this trace's batches among it) is not traced.
    return !((pf & Wire::Opcode) && m.header.target >= ReservedOpcodeBase);
}
} // namespace

void Tracer::received(const MessagePrivate &m)
{
    if (isTraced(m))
        record(m, m.header.originPid, m.header.originMachine, m_pid, m_machine);
}

void Tracer::sent(const MessagePrivate &m, const Endpoint *to)
{
    // What this process relays was traced when it came in; count what it authors.
    if (!isTraced(m) || qint64(m.header.originPid) != m_pid || m.header.originMachine != m_machine)
        return;
    const bool remote = to && to->kind == Endpoint::Kind::Machine;
    record(m, m_pid, m_machine, to && !remote ? to->pid : 0, remote ? to->machine : m_machine);
}

void Tracer::record(const MessagePrivate &m, qint64 from, quint64 fromMachine, qint64 to,
                    quint64 toMachine)
{
    ++m_events;
    const TrafficKind kind = trafficKind(m.header.privateFlags);
    const quint32 opcode = (m.header.privateFlags & Wire::Opcode) ? quint32(m.header.target) : 0;
    AggregateKey key{fromMachine, from, opcode, quint8(kind)};
    auto it = m_aggregates.find(key);
    if (it == m_aggregates.end()) {
        if (m_aggregates.size() >= MaxAggregates)
            key = AggregateKey{0, 0, 0, quint8(kind)};   // past the cap: one bucket per kind
        it = m_aggregates.insert(key, m_aggregates.value(key));
    }
    ++it->count;
    it->bytes += m.header.length;

    qint64 now = 0;
    for (Subscriber &s : m_subscribers) {
        if (s.samples.size() >= m_settings.samples || (s.filtered && s.opcode != opcode))
            continue;
        if (!now)
            now = QDateTime::currentMSecsSinceEpoch();
        Sample sample;
        sample.time = now;
        sample.from = from;
        sample.fromMachine = fromMachine;
        sample.to = to;
        sample.toMachine = toMachine;
        sample.kind = kind;
        sample.opcode = opcode;
        sample.id = m.header.id;
        sample.size = m.header.length;
        sample.flags = m.header.flags;
        if (m_settings.payloadBytes > 0)
            sample.data = m.data().first(qMin<qsizetype>(m.header.length, m_settings.payloadBytes)).toByteArray();
        s.samples.append(std::move(sample));
    }
}

// ---------------------------------------------------------------------------------------
// Batches

qsizetype Tracer::queuedFor(const Subscriber &s) const
{
    const MessagePrivate *m = MessagePrivate::get(s.request);
    if (!m || !m->route)
        return 0;
    const Endpoint *e = m_router->endpoint(m->route->endpoint);
    return e ? m_router->queuedBytes(e) : 0;
}

void Tracer::flush()
{
    QCborArray aggregates;
    for (auto it = m_aggregates.cbegin(); it != m_aggregates.cend(); ++it) {
        QCborMap a;
        a.insert(QLatin1String("pid"), it.key().pid);
        if (it.key().machine != m_machine)
            a.insert(QLatin1String("fromMachine"), qint64(it.key().machine));
        a.insert(QLatin1String("kind"), QLatin1String(trafficKindName(TrafficKind(it.key().kind))));
        a.insert(QLatin1String("opcode"), qint64(it.key().opcode));
        a.insert(QLatin1String("count"), qint64(it->count));
        a.insert(QLatin1String("bytes"), qint64(it->bytes));
        aggregates.append(a);
    }
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const quint64 events = m_events;
    m_aggregates.clear();
    m_events = 0;

    for (qsizetype i = m_subscribers.size() - 1; i >= 0; --i) {
        Subscriber &s = m_subscribers[i];
        const MessagePrivate *rq = MessagePrivate::get(s.request);
        if (!rq || !rq->route || !rq->route->open.load(std::memory_order_acquire)) {
            m_subscribers.removeAt(i);   // the monitor went away
            continue;
        }
        const QList<Sample> samples = std::exchange(s.samples, {});
        if (queuedFor(s) > m_settings.maxQueuedBytes) {
            // It does not read: drop this batch rather than queue it.
            ++s.dropped;   // seq does not advance: a gap in seq would be a lost batch
            ++m_droppedTotal;
            continue;
        }
        QCborArray sampled;
        for (const Sample &x : samples) {
            QCborMap m;
            m.insert(QLatin1String("t"), x.time);
            m.insert(QLatin1String("from"), x.from);
            m.insert(QLatin1String("fromMachine"), qint64(x.fromMachine));
            m.insert(QLatin1String("to"), x.to);
            m.insert(QLatin1String("toMachine"), qint64(x.toMachine));
            m.insert(QLatin1String("kind"), QLatin1String(trafficKindName(x.kind)));
            m.insert(QLatin1String("opcode"), qint64(x.opcode));
            m.insert(QLatin1String("id"), qint64(x.id));
            m.insert(QLatin1String("size"), qint64(x.size));
            m.insert(QLatin1String("flags"), qint64(x.flags));
            if (!x.data.isNull())
                m.insert(QLatin1String("data"), x.data);
            sampled.append(m);
        }
        QCborMap batch;
        batch.insert(QLatin1String("v"), Introspection::EncodingVersion);
        batch.insert(QLatin1String("machine"), qint64(m_machine));
        batch.insert(QLatin1String("seq"), qint64(s.seq++));
        batch.insert(QLatin1String("time"), now);
        batch.insert(QLatin1String("intervalMs"), m_settings.intervalMs);
        batch.insert(QLatin1String("events"), qint64(events));
        batch.insert(QLatin1String("dropped"), qint64(s.dropped));
        batch.insert(QLatin1String("aggregates"), aggregates);
        batch.insert(QLatin1String("samples"), sampled);
        if (!Plexus::reply(s.request, {.data = {batch.toCborValue().toCbor()}}))
            m_subscribers.removeAt(i);
    }
    updateHook();
}

} // namespace Plexus
