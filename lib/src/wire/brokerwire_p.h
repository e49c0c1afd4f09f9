// SPDX-License-Identifier: MIT
#pragma once

#include "crypto_p.h"
#include "frame_p.h"

#include <QtCore/qhash.h>
#include <QtCore/qlist.h>

#include <array>

namespace Plexus {

/*
    What a cluster message is on a broker (NATS): a sealed envelope, opaque to the broker,
    and the replay rules a receiver applies to it (docs/PROTOCOL.md section 10). Qt Core
    and libsodium only, so that fuzz_brokerwire compiles it as it stands.

    Envelope, little-endian; the first 64 bytes are authenticated with the subject the
    message was published on, the rest is XChaCha20-Poly1305 ciphertext and tag:

        offset  size  field
        0       4     magic "PXB1"
        4       1     channel (Channel)
        5       1     sender's role (PeerRole: 1 master, 3 peer)
        6       2     zero
        8       8     sender's machine id
        16      8     sender's epoch (random, new on every connection to the broker)
        24      8     sequence number, per (sender, epoch, channel), from 1
        32      8     send time, ms since the Unix epoch
        40      24    nonce
        64      n     ciphertext of the body
        64+n    16    tag

    The body of a Direct message is one or more frames (64-byte header, payload), those the
    sender wrote to that machine in one turn of its event loop, in order. The body of an
    All message starts with the machines it is for (u32 count, count × u64), then its
    frames: one publication serves every master, and a master that is not on the list (it
    joined after the sender looked) drops it. The body of a Presence message is
    PresenceSize bytes (Presence).
*/
namespace BrokerWire {

inline constexpr char Magic[4] = {'P', 'X', 'B', '1'};
inline constexpr qsizetype HeaderSize = 64;
inline constexpr qsizetype Overhead = HeaderSize + CryptoKey::TagSize;
inline constexpr qsizetype MaxSubjectLength = 128;
inline constexpr int MaxTargets = 4096;             // machines named by one All message
inline constexpr qint64 WindowMs = 30000;           // send times further off are replays
inline constexpr int WindowBits = 4096;             // sequence numbers remembered per stream

enum class Channel : quint8 {
    Direct = 1,     // to one machine's inbox: calls to it, replies to it
    All = 2,        // cluster() and broadcast(): to every master, published once
    Presence = 3,   // hello, heartbeat, bye
};

struct Envelope
{
    Channel channel = Channel::Direct;
    quint8 role = 0;
    quint64 sender = 0;
    quint64 epoch = 0;
    quint64 sequence = 0;
    quint64 timestampMs = 0;
};

// Seals \a env and the body made of \a parts (concatenated) for \a subject. The subject
// is bound to the message: delivered on another one, it does not open.
QByteArray seal(const CryptoKey &key, const Envelope &env, QByteArrayView subject,
                std::initializer_list<QByteArrayView> parts);
// Authenticates and decrypts; a body longer than \a maxBody is refused before decryption
// (OversizedFrame). Structure errors are MalformedHeader, a wrong key, subject or any
// changed byte AuthenticationFailed.
FrameError open(QByteArrayView sealed, const CryptoKey &key, QByteArrayView subject,
                qsizetype maxBody, Envelope *env, QByteArray *body);

// One frame of a body; the payload is a view into the body.
struct FrameView
{
    Wire::Header header;
    QByteArrayView payload;
};
// The frames a Direct or All body carries, in order, each payload at most \a maxLength;
// *forUs says whether an All body names \a self (always true for Direct). Nothing is
// handed out unless the whole body is well-formed.
FrameError parseFrames(QByteArrayView body, Channel channel, qsizetype maxLength, quint64 self,
                       bool *forUs, QList<FrameView> *frames);
// The start of an All body: the machines it is for.
QByteArray targetList(const QList<quint64> &machines);
// Appends a frame (its header encoded, then its payload) to a body being built.
void appendFrame(QByteArray *body, const Wire::Header &header, QByteArrayView payload);

// A presence body.
enum class PresenceKind : quint8 { Hello = 1, Heartbeat = 2, Bye = 3, Answer = 4 };
inline constexpr qsizetype PresenceSize = 8;
struct Presence
{
    PresenceKind kind = PresenceKind::Heartbeat;
    quint16 version = Wire::ProtocolVersion;
};
QByteArray presenceBody(const Presence &p);
FrameError parsePresence(QByteArrayView body, Presence *out);

/*
    A sliding window over one stream's sequence numbers (the anti-replay window of IPsec
    and WireGuard, RFC 6479's ring form): the highest number seen and a bitmap of the
    numbers up to Span below it.
    Numbers may arrive out of order inside the window; one seen before, or older than the
    window, is refused.
*/
class SequenceWindow
{
public:
    // A number this far or further below the highest is refused (the ring's lowest word
    // may already hold newer numbers).
    static constexpr quint64 Span = quint64(WindowBits) - 63;

    // True if \a sequence is new (and now remembered).
    bool accept(quint64 sequence) noexcept;
    quint64 highest() const noexcept { return m_highest; }

private:
    // A ring: sequence s is bit s % WindowBits. Moving the top clears only the words it
    // passes, so the usual case (the next number) costs a few instructions.
    static constexpr int Words = WindowBits / 64;
    quint64 m_highest = 0;
    std::array<quint64, Words> m_bits = {};
};

/*
    The replay rules of a receiver (docs/PROTOCOL.md 10.4), in bounded memory: a message is
    new if its send time is within WindowMs of now and its sequence number is new in the
    window of its stream (sender, epoch, channel). An epoch is remembered until WindowMs
    after the newest send time accepted in it (any copy of one of its messages is then
    refused by the time check); a sender has at most MaxEpochs remembered at once (they
    come from its own reconnects), the receiver at most maxStreams.
*/
class ReplayGuard
{
public:
    static constexpr int MaxEpochs = 16;
    explicit ReplayGuard(int maxStreams = 16384) : m_maxStreams(qMax(1, maxStreams)) { }

    FrameError check(const Envelope &env, qint64 nowMs);
    qsizetype streams() const noexcept { return m_streams.size(); }
    // Forgets streams whose epoch expired (also done as check() needs room).
    void prune(qint64 nowMs);

private:
    struct Key
    {
        quint64 sender;
        quint64 epoch;
        quint8 channel;
        friend bool operator==(const Key &a, const Key &b) noexcept
        {
            return a.sender == b.sender && a.epoch == b.epoch && a.channel == b.channel;
        }
        friend size_t qHash(const Key &k, size_t seed = 0) noexcept
        {
            return qHashMulti(seed, k.sender, k.epoch, k.channel);
        }
    };
    struct Stream
    {
        SequenceWindow window;
        qint64 newestMs = 0;   // the newest send time accepted
    };
    int epochsOf(quint64 sender) const;

    int m_maxStreams;
    QHash<Key, Stream> m_streams;
    QHash<quint64, int> m_epochCount;   // sender -> streams it has (≤ MaxEpochs × 3)
};

} // namespace BrokerWire
} // namespace Plexus
