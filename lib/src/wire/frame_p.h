// SPDX-License-Identifier: MIT
#pragma once

#include "crypto_p.h"

#include <plexus/payload.h>

#include <QtCore/qbytearray.h>
#include <QtCore/qendian.h>

namespace Plexus {

class MessagePrivate;

/*
    The frame codec, protocol version 2. The exact byte layout is in docs/PROTOCOL.md; keep
    both in step.

    A frame is a 64-byte little-endian header followed by the payload. On stream links
    frames travel inside encrypted records (record_p.h), so a frame itself carries no
    nonce or tag there. The single-message seal (sealMessage / openMessage) wraps one frame
    in XChaCha20-Poly1305 for transports that carry one message at a time (UDP discovery,
    a broker).

        offset  size  field
        0       4     payload length
        4       2     user flags
        6       2     private flags (PrivateFlag)
        8       8     timestamp, ms since the epoch
        16      8     message id
        24      8     target: function pointer, op-code, type or control code
        32      8     call token (0 = no reply wanted)
        40      4     number of targets (fan-out)
        44      4     status (Reply::Error on error replies)
        48      8     origin machine id
        56      4     origin pid
        60      4     origin slot (int32, -1 = master)
*/
namespace Wire {
inline constexpr quint16 ProtocolVersion = 2;
inline constexpr qsizetype HeaderSize = 64;
inline constexpr qsizetype PreambleSize = 16;
// Until a peer's Hello has been admitted, no frame may announce more than this: a peer that
// holds the key but was not admitted cannot make us allocate maxMessageLength().
inline constexpr qsizetype MaxHandshakeLength = 4096;
inline constexpr char Magic[6] = {'P', 'L', 'E', 'X', 'U', 'S'};

enum PrivateFlag : quint16 {
    Reply = 0x0001,      // a reply to a call
    Done = 0x0002,       // the final reply of one target
    Opcode = 0x0004,     // target is an op-code, not a function pointer
    Workers = 0x0008,    // for the master and every local worker
    Cluster = 0x0010,    // for the masters of other machines
    Others = 0x0020,     // not for the originating process
    Control = 0x0040,    // Plexus's own control traffic (target = ControlCode)
    WantReply = 0x0080,  // the caller waits for replies (token != 0)
    Error = 0x0100,      // the reply reports an error (status field)
    Typed = 0x0200,      // Melon typed message (target = type)
    Fanout = 0x0400,     // reply relayed by a master: "targets" is the fan-out size
    Pending = 0x0800,    // with Fanout: that size may still grow (machines not yet heard)
    Cancel = 0x1000,     // the caller gave up call "token": stop working on it (no payload)
    KnownFlags = 0x1fff,
};

enum ControlCode : quint32 {
    ControlHello = 1,     // first frame on every link, both ways: who I am
    ControlStop = 2,      // master -> worker: stop gracefully
    ControlPing = 3,      // cluster link heartbeat: payload echoed by the Pong
    ControlPong = 4,
    ControlAnnounce = 5,  // UDP discovery datagram (single-message seal)
};

// Header fields, host order.
struct Header
{
    quint32 length = 0;
    quint16 flags = 0;
    quint16 privateFlags = 0;
    quint64 timestamp = 0;
    quint64 id = 0;
    quint64 target = 0;
    quint64 token = 0;
    quint32 targets = 0;
    quint32 status = 0;
    quint64 originMachine = 0;
    quint32 originPid = 0;
    qint32 originSlot = -1;
};

void encodeHeader(const Header &header, char *out) noexcept;
Header decodeHeader(const char *in) noexcept;
// Cheap structural check of the private flags, before anything is allocated.
bool flagsConsistent(quint16 privateFlags) noexcept;

// The 16-byte preamble that starts every stream link: magic, version, role.
QByteArray preamble(quint8 role);
// Checks a preamble; on success sets \a role.
FrameError parsePreamble(QByteArrayView bytes, quint8 *role);

// Single-message seal: header (64, AAD) | nonce (24, AAD) | payload (encrypted) | tag (16).
inline constexpr qsizetype SealedOverhead = HeaderSize + CryptoKey::NonceSize + CryptoKey::TagSize;
// Empty if the key is invalid or the payload longer than maxMessageLength().
QByteArray sealMessage(const Header &header, QByteArrayView payload, const CryptoKey &key);
// Authenticates and decrypts a sealed message; on success sets *header and *payload.
FrameError openMessage(QByteArrayView sealed, const CryptoKey &key, qsizetype maxLength,
                       Header *header, QByteArray *payload);
} // namespace Wire

/*
    Cuts a plaintext byte stream, arriving in pieces of any size (the contents of records),
    into frames. A frame's length is checked against the limit before its message is
    allocated; each complete frame is handed to the sink at once, in order, so the sink
    may change the limit (setLimit) before the next header is judged. After an error the
    reader stays in that error: a stream with one bad header cannot be resynchronised.
*/
class FrameReader
{
public:
    class Sink
    {
    public:
        virtual ~Sink() = default;
        // Takes the reference to \a frame. Returns false to stop reading (link closed).
        virtual bool frameReady(MessagePrivate *frame) = 0;
    };

    explicit FrameReader(qsizetype limit);
    ~FrameReader();
    FrameReader(const FrameReader &) = delete;
    FrameReader &operator=(const FrameReader &) = delete;

    void setLimit(qsizetype limit) noexcept { m_limit = limit; }
    qsizetype limit() const noexcept { return m_limit; }

    // Consumes all of \a data unless the sink stops or an error occurs.
    FrameError append(const char *data, qsizetype size, Sink *sink);

    // While a frame's payload is being filled: where the next \a *size bytes of it go, so
    // that a record can be decrypted straight into the message. nullptr otherwise.
    char *directSpace(qsizetype *size) noexcept;
    // Those bytes were written at directSpace(); hands the frame over when it completes.
    FrameError commitDirect(qsizetype size, Sink *sink);

    FrameError error() const noexcept { return m_error; }
    // Bytes of an incomplete frame held (for truncation checks at the end of a stream).
    qsizetype pendingBytes() const noexcept;

private:
    FrameError startFrame(Sink *sink, bool *keepGoing);
    bool finishFrame(Sink *sink);

    qsizetype m_limit;
    FrameError m_error = FrameError::NoError;
    char m_head[Wire::HeaderSize];
    qsizetype m_headHave = 0;
    MessagePrivate *m_current = nullptr;   // allocated once its header is accepted
    qsizetype m_have = 0;                  // payload bytes of m_current filled
};

} // namespace Plexus
