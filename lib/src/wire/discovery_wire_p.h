// SPDX-License-Identifier: MIT
#pragma once

#include "crypto_p.h"
#include "frame_p.h"

#include <QtCore/qhash.h>
#include <QtCore/qpair.h>

#include <deque>

namespace Plexus {

/*
    The discovery datagram (docs/CLUSTER.md, "Discovery") and its replay rules, apart from
    the socket: Qt Core and libsodium only, so that fuzz_discovery compiles it as it stands.

    An announcement is one single-message seal (frame_p.h) under the discovery key: a
    Control header with target ControlAnnounce, the sender's machine id, the announce time
    and a random message id, and an 8-byte payload:

        offset  size  field
        0       2     protocol version (little-endian)
        2       2     TCP port of the sender's cluster server
        4       1     role of the sender (PeerRole: 1 = master, 3 = peer)
        5       3     zero
*/
namespace DiscoveryWire {

inline constexpr qint64 WindowMs = 30000;     // timestamps further off are replays
// A sender writes each announcement to several broadcast addresses (the limited one and
// every interface's), so a receiver may get two or more copies at once: copies of an
// accepted one that arrive this soon after it are a duplicate delivery, not a replay.
inline constexpr qint64 DuplicateWindowMs = 1000;
inline constexpr int SeenCapacity = 4096;     // remembered (machine, id) pairs
inline constexpr qsizetype PayloadSize = 8;

// What a datagram says (the sender's address is the socket's business).
struct Announcement
{
    quint64 machine = 0;
    quint16 version = 0;
    quint16 port = 0;
    quint8 role = 0;
};

// The datagram a master sends now: a fresh message id, the current time.
QByteArray announcement(const CryptoKey &key, quint64 machine, quint16 tcpPort, quint8 role);
// Seals \a a as it stands, version included, with the given time and id (seed corpora, tests).
QByteArray seal(const CryptoKey &key, const Announcement &a, quint64 timestampMs, quint64 id);
// Opens and checks one datagram (not the replay rules). Sets *out and *header (if not
// null); after an error they may be unset or partly set.
FrameError parse(QByteArrayView datagram, const CryptoKey &key, Announcement *out,
                 Wire::Header *header);

// Remembers what was seen, for replay protection, in bounded memory.
class ReplayFilter
{
public:
    // Remembers at most \a capacity pairs (the fuzzer also tries small ones).
    explicit ReplayFilter(int capacity = SeenCapacity) : m_capacity(qMax(1, capacity)) { }

    // NoError if (machine, id) is new and \a timestampMs inside the window around \a nowMs;
    // then the pair is remembered for as long as that timestamp stays inside the window,
    // or until capacity() newer pairs push it out. A pair seen before is ReplayedFrame;
    // if it was first seen at most DuplicateWindowMs before \a nowMs, *duplicate (if not
    // null) is set: a second copy of one sending, to be dropped without alarm.
    FrameError check(quint64 machine, quint64 id, quint64 timestampMs, qint64 nowMs,
                     bool *duplicate = nullptr);
    // The number of pairs remembered, at most capacity().
    qsizetype size() const noexcept { return qsizetype(m_order.size()); }
    int capacity() const noexcept { return m_capacity; }

private:
    struct Entry { quint64 machine; quint64 id; qint64 expires; };
    int m_capacity;
    std::deque<Entry> m_order;
    QHash<QPair<quint64, quint64>, qint64> m_seen;   // pair -> when it was first seen
};

} // namespace DiscoveryWire
} // namespace Plexus
