// SPDX-License-Identifier: MIT
#include "stats_p.h"

namespace Plexus {

const char *trafficKindName(TrafficKind kind) noexcept
{
    switch (kind) {
    case TrafficKind::Call: return "call";
    case TrafficKind::Reply: return "reply";
    case TrafficKind::Local: return "local";
    case TrafficKind::Cluster: return "cluster";
    case TrafficKind::Broadcast: return "broadcast";
    case TrafficKind::Typed: return "typed";
    case TrafficKind::Control: return "control";
    case TrafficKind::Count: break;
    }
    return "?";
}

void Stats::rejected(const QString &peer, FrameError reason)
{
    const auto i = size_t(reason);
    bump(process.rejectedFrames);
    if (i < process.rejectedByReason.size())
        bump(process.rejectedByReason[i]);
    QMutexLocker locker(&m_lock);
    auto it = m_byPeer.find(peer);
    if (it == m_byPeer.end()) {
        // A flood of distinct peers (one per connection) must not grow this without bound:
        // past the limit, new peers are counted under one entry.
        if (m_byPeer.size() >= MaxPeers)
            it = m_byPeer.insert(QStringLiteral("(other peers)"), m_byPeer.value(QStringLiteral("(other peers)")));
        else
            it = m_byPeer.insert(peer, RejectionCounts{});
    }
    if (i < it->size())
        ++(*it)[i];
}

void Stats::opcodeIn(quint32 opcode, qsizetype bytes)
{
    QMutexLocker locker(&m_lock);
    OpcodeCounters &c = m_opcodes[opcode];
    ++c.messagesIn;
    c.bytesIn += quint64(bytes);
}

void Stats::opcodeOut(quint32 opcode, qsizetype bytes)
{
    QMutexLocker locker(&m_lock);
    OpcodeCounters &c = m_opcodes[opcode];
    ++c.messagesOut;
    c.bytesOut += quint64(bytes);
}

Node::Counters Stats::counters() const
{
    const Process &c = process;
    Node::Counters out;
    for (const Kind &k : c.kinds) {
        out.messagesIn += k.messagesIn.load(std::memory_order_relaxed);
        out.messagesOut += k.messagesOut.load(std::memory_order_relaxed);
        out.bytesIn += k.bytesIn.load(std::memory_order_relaxed);
        out.bytesOut += k.bytesOut.load(std::memory_order_relaxed);
    }
    out.rejectedFrames = c.rejectedFrames.load(std::memory_order_relaxed);
    out.lateReplies = c.lateReplies.load(std::memory_order_relaxed);
    out.droppedReplies = c.droppedReplies.load(std::memory_order_relaxed);
    out.unknownOpcodes = c.unknownOpcodes.load(std::memory_order_relaxed);
    out.backpressureErrors = c.backpressureErrors.load(std::memory_order_relaxed);
    out.restarts = c.restarts.load(std::memory_order_relaxed);
    out.heldMessages = c.heldMessages.load(std::memory_order_relaxed);
    out.abandonedConnections = c.abandonedConnections.load(std::memory_order_relaxed);
    out.cancelsReceived = c.cancelsReceived.load(std::memory_order_relaxed);
    out.canceledCalls = c.canceledCalls.load(std::memory_order_relaxed);
    out.droppedIncoming = c.droppedIncoming.load(std::memory_order_relaxed);
    return out;
}

quint64 Stats::rejectedFrames(FrameError reason) const
{
    if (reason == FrameError::NoError)
        return process.rejectedFrames.load(std::memory_order_relaxed);
    const auto i = size_t(reason);
    return i < process.rejectedByReason.size()
            ? process.rejectedByReason[i].load(std::memory_order_relaxed)
            : 0;
}

QHash<QString, RejectionCounts> Stats::rejectionsByPeer() const
{
    QMutexLocker locker(&m_lock);
    return m_byPeer;
}

QHash<quint32, OpcodeCounters> Stats::opcodes() const
{
    QMutexLocker locker(&m_lock);
    return m_opcodes;
}

} // namespace Plexus
