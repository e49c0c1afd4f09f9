// SPDX-License-Identifier: MIT
#pragma once

#include "frame_p.h"
#include "threadsync_p.h"

#include <plexus/node.h>

#include <QtCore/qhash.h>
#include <QtCore/qstring.h>

#include <array>
#include <atomic>

namespace Plexus {

// What a message is, for the counters by kind and the trace (docs/MONITOR.md "kind").
enum class TrafficKind : quint8 { Call, Reply, Local, Cluster, Broadcast, Typed, Control, Count };
constexpr int TrafficKindCount = int(TrafficKind::Count);

constexpr TrafficKind trafficKind(quint16 privateFlags) noexcept
{
    if (privateFlags & Wire::Control)
        return TrafficKind::Control;
    if (privateFlags & Wire::Reply)
        return TrafficKind::Reply;
    if (privateFlags & Wire::Typed)
        return TrafficKind::Typed;
    const bool workers = privateFlags & Wire::Workers, cluster = privateFlags & Wire::Cluster;
    return workers && cluster ? TrafficKind::Broadcast
         : cluster            ? TrafficKind::Cluster
         : workers            ? TrafficKind::Local
                              : TrafficKind::Call;
}
const char *trafficKindName(TrafficKind kind) noexcept;

// Rejections of one peer, by reason (index = FrameError).
using RejectionCounts = std::array<quint64, 16>;

// Messages and payload bytes of one op-code in each direction.
struct OpcodeCounters
{
    quint64 messagesIn = 0;
    quint64 messagesOut = 0;
    quint64 bytesIn = 0;
    quint64 bytesOut = 0;
};

/*
    Every counter of a process in one place: traffic, replies, rejected frames by reason and
    by peer, per op-code counts. Node::counters() and Node::rejectedFrames() read it from any
    thread; per-link counters live in each Link (LinkCounters) and are summed here as they
    happen. The monitor's snapshot reads the same (issue "Cluster monitor").
*/
class Stats
{
public:
    static constexpr int MaxPeers = 1024;   // rejected-by-peer entries kept

    // Traffic of one kind; the process totals are the sums over the kinds.
    struct Kind {
        std::atomic<quint64> messagesIn{0}, messagesOut{0}, bytesIn{0}, bytesOut{0};
    };
    struct Process {
        std::array<Kind, TrafficKindCount> kinds{};
        std::atomic<quint64> rejectedFrames{0}, lateReplies{0}, droppedReplies{0},
                unknownOpcodes{0}, backpressureErrors{0}, restarts{0}, heldMessages{0},
                abandonedConnections{0}, cancelsReceived{0}, canceledCalls{0},
                droppedIncoming{0};
        std::array<std::atomic<quint64>, 16> rejectedByReason{};
    };

    void countIn(quint16 privateFlags, qsizetype bytes) noexcept
    {
        Kind &k = process.kinds[size_t(trafficKind(privateFlags))];
        k.messagesIn.fetch_add(1, std::memory_order_relaxed);
        k.bytesIn.fetch_add(quint64(bytes), std::memory_order_relaxed);
    }
    void countOut(quint16 privateFlags, qsizetype bytes) noexcept
    {
        Kind &k = process.kinds[size_t(trafficKind(privateFlags))];
        k.messagesOut.fetch_add(1, std::memory_order_relaxed);
        k.bytesOut.fetch_add(quint64(bytes), std::memory_order_relaxed);
    }
    static void bump(std::atomic<quint64> &counter) noexcept
    {
        counter.fetch_add(1, std::memory_order_relaxed);
    }

    // A frame or connection from \a peer was rejected for \a reason (not logged here).
    void rejected(const QString &peer, FrameError reason);
    // Per op-code traffic (Node thread).
    void opcodeIn(quint32 opcode, qsizetype bytes);
    void opcodeOut(quint32 opcode, qsizetype bytes);

    Node::Counters counters() const;
    quint64 rejectedFrames(FrameError reason) const;
    QHash<QString, RejectionCounts> rejectionsByPeer() const;
    QHash<quint32, OpcodeCounters> opcodes() const;

    Process process;

private:
    mutable Mutex m_lock;                  // the two tables below
    QHash<QString, RejectionCounts> m_byPeer;
    QHash<quint32, OpcodeCounters> m_opcodes;
};

} // namespace Plexus
