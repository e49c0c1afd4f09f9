// SPDX-License-Identifier: MIT
#pragma once

#include "router_p.h"
#include "stats_p.h"

#include <plexus/message.h>

#include <QtCore/qbytearray.h>
#include <QtCore/qhash.h>
#include <QtCore/qlist.h>
#include <QtCore/qobject.h>

QT_BEGIN_NAMESPACE
class QTimer;
QT_END_NAMESPACE

namespace Plexus {

class MessagePrivate;
class Router;
struct Endpoint;

/*
    The trace of a master (docs/MONITOR.md 2.2): the headers of the messages it receives
    from its links and of those it writes itself, streamed to subscribers as one batch per
    interval. A batch carries aggregated counts of every message (by sender, kind and
    op-code) and a bounded sample of headers, so its size does not grow with the traffic.
    The router calls the tracer only while someone subscribes (one pointer test per
    message otherwise). A subscriber whose link has too much queued loses the batch, which
    is counted, so a monitor that stops reading cannot make this process's memory grow.
*/
class Tracer : public QObject, public TraceHook
{
    Q_OBJECT
public:
    struct Settings {
        int intervalMs = 250;
        int samples = 64;
        int payloadBytes = 0;
        qsizetype maxQueuedBytes = 256 * 1024;
    };
    static constexpr int MaxAggregates = 4096;   // distinct (sender, kind, op-code) per batch
    static constexpr int MaxSubscribers = 64;

    Tracer(Router *router, quint64 machine, qint64 pid, QObject *parent = nullptr);
    ~Tracer() override;

    void setSettings(const Settings &settings);
    // Keeps \a request (a TraceOpcode call) and streams batches to it. \a filtered: only
    // op-code \a opcode is sampled. False if there are too many subscribers already.
    bool subscribe(const Message &request, bool filtered, quint32 opcode);
    // Ends the subscriptions of the process \a pid of machine \a machine (final reply).
    int unsubscribe(quint64 machine, qint64 pid);
    int subscriberCount() const { return int(m_subscribers.size()); }
    quint64 droppedBatches() const noexcept { return m_droppedTotal; }

    // TraceHook: on the Node's thread, only while subscribed.
    void received(const MessagePrivate &m) override;
    void sent(const MessagePrivate &m, const Endpoint *to) override;

private:
    struct Sample {
        qint64 time = 0;
        qint64 from = 0;
        quint64 fromMachine = 0;
        qint64 to = 0;
        quint64 toMachine = 0;
        TrafficKind kind = TrafficKind::Call;
        quint32 opcode = 0;
        quint64 id = 0;
        quint64 size = 0;
        quint16 flags = 0;
        QByteArray data;
    };
    struct Subscriber {
        Message request;
        quint64 machine = 0;
        qint64 pid = 0;
        bool filtered = false;
        quint32 opcode = 0;
        quint64 seq = 0;
        quint64 dropped = 0;
        QList<Sample> samples;
    };
    struct AggregateKey {
        quint64 machine;
        qint64 pid;
        quint32 opcode;
        quint8 kind;
        friend bool operator==(const AggregateKey &, const AggregateKey &) = default;
        friend size_t qHash(const AggregateKey &k, size_t seed = 0) noexcept
        {
            return qHashMulti(seed, k.machine, k.pid, k.opcode, k.kind);
        }
    };
    struct Aggregate {
        quint64 count = 0;
        quint64 bytes = 0;
    };

    void record(const MessagePrivate &m, qint64 from, quint64 fromMachine, qint64 to,
                quint64 toMachine);
    void flush();
    void updateHook();
    qsizetype queuedFor(const Subscriber &s) const;

    Router *m_router;
    quint64 m_machine;
    qint64 m_pid;
    Settings m_settings;
    QTimer *m_timer;
    QList<Subscriber> m_subscribers;
    QHash<AggregateKey, Aggregate> m_aggregates;
    quint64 m_events = 0;
    quint64 m_droppedTotal = 0;
};

} // namespace Plexus
