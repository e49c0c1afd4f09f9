// SPDX-License-Identifier: MIT
//
// The parts of a snapshot (docs/MONITOR.md 2.1) that describe this process: its counters
// by kind, its op-codes, its rejections, its links and its cluster peers.
#include "clustertransport_p.h"
#include "clock_p.h"
#include "dispatcher_p.h"
#include "introspection_p.h"
#include "router_p.h"
#include "stats_p.h"
#include "opcoderegistry_p.h"

#include <plexus/opcode.h>

#include <QtCore/qcborarray.h>
#include <QtCore/qcbormap.h>
#include <QtCore/qurl.h>
#include <QtCore/qdatetime.h>
#include <QtCore/qdeadlinetimer.h>
#include <QtCore/qmetaobject.h>

#include <algorithm>

namespace Plexus {

namespace {
QLatin1String key(const char *k) { return QLatin1String(k); }


QString roleName(Node::Role role)
{
    switch (role) {
    case Node::Master: return QStringLiteral("master");
    case Node::Worker: return QStringLiteral("worker");
    case Node::Peer: return QStringLiteral("peer");
    }
    return QStringLiteral("?");
}

QString reasonName(int reason)
{
    const QMetaEnum e = QMetaEnum::fromType<FrameError>();
    const char *name = e.valueToKey(reason);
    return name ? QString::fromLatin1(name) : QString::number(reason);
}

// Unsigned 64-bit values go into QCborValue's qint64 as their two's complement; decoders
// read them back with quint64(toInteger()) (docs/MONITOR.md 2).
qint64 u64(quint64 v) { return qint64(v); }
} // namespace

QCborMap IntrospectionService::processRecord() const
{
    const Stats &stats = m_node->nodeStats();
    const Node::Counters c = stats.counters();
    const qint64 now = QDateTime::currentMSecsSinceEpoch();

    QCborMap p;
    p.insert(key("pid"), qint64(m_node->nodeIdentity().pid));
    p.insert(key("role"), roleName(m_node->nodeRole()));
    p.insert(key("slot"), m_node->nodeIdentity().slot);
    p.insert(key("exec"), m_node->isExecWorker());
    p.insert(key("state"), QStringLiteral("running"));
    p.insert(key("responding"), true);
    p.insert(key("startedAt"), m_startedAt);
    p.insert(key("uptimeMs"), now - m_startedAt);
    p.insert(key("restarts"), 0);
    p.insert(key("idleMs"), -1);
    p.insert(key("backlog"), 0);

    QCborMap counters;
    counters.insert(key("messagesIn"), u64(c.messagesIn));
    counters.insert(key("messagesOut"), u64(c.messagesOut));
    counters.insert(key("bytesIn"), u64(c.bytesIn));
    counters.insert(key("bytesOut"), u64(c.bytesOut));
    counters.insert(key("rejected"), u64(c.rejectedFrames));
    counters.insert(key("lateReplies"), u64(c.lateReplies));
    counters.insert(key("droppedReplies"), u64(c.droppedReplies));
    counters.insert(key("unknownOpcodes"), u64(c.unknownOpcodes));
    counters.insert(key("backpressureErrors"), u64(c.backpressureErrors));
    counters.insert(key("heldMessages"), u64(c.heldMessages));
    counters.insert(key("abandonedConnections"), u64(c.abandonedConnections));
    counters.insert(key("cancelsReceived"), u64(c.cancelsReceived));
    counters.insert(key("canceledCalls"), u64(c.canceledCalls));
    counters.insert(key("droppedIncoming"), u64(c.droppedIncoming));
    p.insert(key("counters"), counters);

    QCborMap kinds;
    for (int i = 0; i < TrafficKindCount; ++i) {
        const Stats::Kind &k = stats.process.kinds[size_t(i)];
        QCborArray v;
        v.append(u64(k.messagesIn.load(std::memory_order_relaxed)));
        v.append(u64(k.messagesOut.load(std::memory_order_relaxed)));
        v.append(u64(k.bytesIn.load(std::memory_order_relaxed)));
        v.append(u64(k.bytesOut.load(std::memory_order_relaxed)));
        kinds.insert(QLatin1String(trafficKindName(TrafficKind(i))), v);
    }
    p.insert(key("kinds"), kinds);

    // Every op-code this process handles or has seen, with its name where one was given.
    QHash<quint32, OpcodeCounters> opcodes = stats.opcodes();
    for (quint32 code : m_node->nodeRouter()->dispatcher().handledOpcodes())
        opcodes[code];   // zero counts until it is used
    for (quint32 code : OpcodeRegistry::instance().opcodes())
        opcodes[code];   // zero counts until it is used
    const QHash<quint32, QString> names = OpcodeRegistry::instance().names();
    QList<quint32> codes = opcodes.keys();
    std::sort(codes.begin(), codes.end());
    QCborArray list;
    for (quint32 code : std::as_const(codes)) {
        if (code >= ReservedOpcodeBase)
            continue;   // the introspection traffic itself
        const OpcodeCounters &o = opcodes[code];
        QCborMap m;
        m.insert(key("code"), qint64(code));
        if (const auto n = names.constFind(code); n != names.cend())
            m.insert(key("name"), *n);
        m.insert(key("in"), u64(o.messagesIn));
        m.insert(key("out"), u64(o.messagesOut));
        m.insert(key("bytesIn"), u64(o.bytesIn));
        m.insert(key("bytesOut"), u64(o.bytesOut));
        list.append(m);
    }
    p.insert(key("opcodes"), list);

    QCborArray security;
    const QHash<QString, RejectionCounts> byPeer = stats.rejectionsByPeer();
    for (auto it = byPeer.cbegin(); it != byPeer.cend(); ++it) {
        for (size_t reason = 0; reason < it->size(); ++reason) {
            if (!(*it)[reason])
                continue;
            QCborMap s;
            s.insert(key("peer"), it.key());
            s.insert(key("reason"), reasonName(int(reason)));
            s.insert(key("count"), u64((*it)[reason]));
            security.append(s);
        }
    }
    p.insert(key("security"), security);
    return p;
}

QCborArray IntrospectionService::linkRecords() const
{
    QCborArray out;
    const qint64 now = monotonicMs();
    // This machine's links (the router's), then those of the cluster engine, if it has any.
    QList<std::pair<const Link *, QLatin1String>> links;
    for (const Link *l : m_node->nodeRouter()->links()) {
        const Endpoint *e = m_node->nodeRouter()->endpoint(l->endpoint);
        if (l->isEstablished() && e && e->link == l)
            links.append({l, QLatin1String(e->kind == Endpoint::Kind::Master ? "master" : "worker")});
    }
    if (const ClusterTransport *cluster = m_node->clusterTransport()) {
        for (const Link *l : cluster->links())
            links.append({l, QLatin1String(l->peer().role == PeerRole::Peer ? "monitor" : "machine")});
    }
    for (const auto &[l, kind] : std::as_const(links)) {
        const LinkCounters &c = l->counters();
        QCborMap m;
        m.insert(key("peer"), l->description());
        m.insert(key("kind"), kind);
        m.insert(key("pid"), qint64(l->peer().pid));
        m.insert(key("machine"), u64(l->peer().machine));
        m.insert(key("queued"), qint64(l->queuedBytes()));
        m.insert(key("framesIn"), u64(c.framesIn));
        m.insert(key("framesOut"), u64(c.framesOut));
        m.insert(key("bytesIn"), u64(c.bytesIn));
        m.insert(key("bytesOut"), u64(c.bytesOut));
        m.insert(key("idleMs"), l->lastInputAt() ? now - l->lastInputAt() : -1);
        out.append(m);
    }
    return out;
}

QCborArray IntrospectionService::peerRecords() const
{
    QCborArray out;
    if (!m_node->clusterTransport())
        return out;
    for (const PeerInfo &p : m_node->clusterTransport()->peers()) {
        QCborMap m;
        m.insert(key("machine"), u64(p.machineId()));
        // "address" and "port" as before the URL; "url" says which engine.
        const QUrl url(p.address());
        m.insert(key("url"), p.address());
        m.insert(key("address"), url.host());
        m.insert(key("port"), qMax(0, url.port()));
        m.insert(key("version"), p.version());
        m.insert(key("monitor"), p.isMonitor());
        m.insert(key("rttMs"), p.roundTripMs());
        m.insert(key("since"), p.connectedSince().toMSecsSinceEpoch());
        out.append(m);
    }
    return out;
}

} // namespace Plexus
