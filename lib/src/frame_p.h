// SPDX-License-Identifier: MIT
#pragma once

#include "crypto_p.h"

#include <plexus/payload.h>

#include <QtCore/qbytearray.h>
#include <QtCore/qendian.h>
#include <QtCore/qlist.h>

namespace Plexus {

/*
    The frame codec. The exact byte layout is documented in docs/PROTOCOL.md; keep both in
    step.

        offset  size  field (little-endian)             protection
        0       4     length of the payload data        AAD
        4       2     user flags                        AAD
        6       2     private flags (PrivateFlag)       AAD
        8       8     timestamp, ms since the epoch     AAD
        16      8     message id                        AAD
        24      24    nonce                             AAD
        48      8     target: function pointer/op-code  encrypted
        56      8     call token (0 = no reply wanted)  encrypted
        64      4     number of targets (fan-out)       encrypted
        68      4     origin slot (int32, -1 = master)  encrypted
        72      4     origin pid                        encrypted
        76      4     status (Reply::Error on errors)   encrypted
        80      n     payload data                      encrypted
        80+n    16    Poly1305 tag
*/
namespace Wire {
inline constexpr quint16 ProtocolVersion = 1;
inline constexpr qsizetype HeaderSize = 48;
inline constexpr qsizetype BodyPrefixSize = 32;
inline constexpr qsizetype TagSize = CryptoKey::TagSize;
inline constexpr qsizetype Overhead = HeaderSize + BodyPrefixSize + TagSize;
inline constexpr qsizetype PreambleSize = 16;
// Until a link has authenticated (its Hello opened under the key), no frame may announce
// more than this: an unauthenticated peer cannot make us allocate maxMessageLength().
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
    KnownFlags = 0x07ff,
};

enum ControlCode : quint32 {
    ControlHello = 1,     // first frame on every link: who I am
    ControlStop = 2,      // master -> worker: stop gracefully
};

// The decrypted body prefix, host order.
struct Body
{
    quint64 target = 0;
    quint64 token = 0;
    quint32 targets = 0;
    qint32 originSlot = -1;
    quint32 originPid = 0;
    quint32 status = 0;
};

// Header fields, host order.
struct Header
{
    quint32 length = 0;
    quint16 flags = 0;
    quint16 privateFlags = 0;
    quint64 timestamp = 0;
    quint64 id = 0;
};

// Writes a 16-byte preamble: magic, version, role.
QByteArray preamble(quint8 role);
// Checks a preamble; on success sets \a role.
FrameError parsePreamble(QByteArrayView bytes, quint8 *role);

// Total frame size for a payload of \a length bytes.
constexpr qsizetype frameSize(qsizetype length) noexcept { return Overhead + length; }
} // namespace Wire

/*
    One frame in its buffer: either plain (header + plaintext body) or sealed (header +
    ciphertext + tag). seal() and open() are idempotent.
*/
class Frame
{
public:
    Frame() noexcept = default;
    // Wraps bytes read from a stream (sealed).
    static Frame fromSealed(QByteArray bytes) noexcept;
    // Allocates a plain frame; empty (isNull) if the payload is too long or overflowed.
    static Frame create(const Wire::Header &header, const Wire::Body &body, const Payload &data);

    bool isNull() const noexcept { return m_buffer.isEmpty(); }
    bool isSealed() const noexcept { return m_sealed; }
    const QByteArray &buffer() const noexcept { return m_buffer; }

    Wire::Header header() const noexcept;
    // Valid on plain frames only.
    Wire::Body body() const noexcept;
    QByteArrayView data() const noexcept;
    quint16 privateFlags() const noexcept;

    // Rewrites header fields of a plain frame (used when forwarding and replying).
    void setPrivateFlags(quint16 flags) noexcept;
    void setBody(const Wire::Body &body) noexcept;

    // Draws a fresh nonce and encrypts in place; no-op if already sealed.
    void seal(const CryptoKey &key);
    // Authenticates and decrypts in place; NoError if already plain.
    FrameError open(const CryptoKey &key);

    // A plain copy with its own buffer (before sealing a frame still in use).
    Frame clone() const;

private:
    char *raw() noexcept { return m_buffer.data(); }
    const char *raw() const noexcept { return m_buffer.constData(); }
    QByteArray m_buffer;
    bool m_sealed = false;
};

/*
    Cuts a byte stream, arriving in pieces of any size, into frames. Lengths are checked
    against the maximum before anything is allocated. After an error the reader stays in
    that error: a stream with one bad header cannot be resynchronised.
*/
class FrameReader
{
public:
    explicit FrameReader(qsizetype maxLength, bool expectPreamble = false);

    // Consumes \a bytes; complete frames become available to takeFrame(). Sets *consumed
    // to the bytes used: all of them, except in handshake mode, which stops after a frame.
    FrameError append(QByteArrayView bytes, qsizetype *consumed = nullptr);
    // Handshake mode: frames are limited to Wire::MaxHandshakeLength and append() stops
    // after each one, so the next header is checked only once the peer has authenticated.
    void setHandshakeMode(bool on) noexcept { m_handshake = on; }
    bool hasFrame() const noexcept { return m_ready.size() > m_readyHead; }
    QByteArray takeFrame();

    // Space in the frame being assembled, to read() into directly (large frames), and
    // the commit of what was read there.
    char *directSpace(qsizetype *size) noexcept;
    FrameError commitDirect(qsizetype size);

    FrameError error() const noexcept { return m_error; }
    bool hasPreamble() const noexcept { return m_preambleDone; }
    quint8 peerRole() const noexcept { return m_peerRole; }
    // Bytes of an incomplete frame held (for truncation checks at end of stream).
    qsizetype pendingBytes() const noexcept { return m_have; }
    qsizetype maxLength() const noexcept { return m_maxLength; }


private:
    FrameError startFrame();
    void finishFrame();

    qsizetype m_maxLength;
    bool m_preambleDone;
    bool m_handshake = false;
    quint8 m_peerRole = 0;
    FrameError m_error = FrameError::NoError;
    char m_head[Wire::HeaderSize];   // header (or preamble) being gathered
    QByteArray m_current;            // allocated once the header is known
    qsizetype m_have = 0;            // bytes of the current unit gathered so far
    QList<QByteArray> m_ready;
    qsizetype m_readyHead = 0;
};

} // namespace Plexus
