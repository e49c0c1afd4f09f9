// SPDX-License-Identifier: MIT
/*
    libFuzzer target for the frame codec (protocol v2): FrameReader, which cuts the
    plaintext of a link's records into frames and judges each header (length limit, private
    flags) before it allocates, and Wire::openMessage, the single-message seal. None of it
    may crash, trip a sanitizer, or allocate more than the limit in force.

    Input layout: byte 0 selects the mode, the rest is the data.
      bit 0     round-trip mode: the data is not a stream but the fields of a frame that is
                sealed and opened again, and streamed through a reader, and must come back
                unchanged
      bit 1     feed through directSpace()/commitDirect() whenever the reader offers space
      bit 2     handshake cap: the reader starts at Wire::MaxHandshakeLength and is raised
                to the full limit by the sink once the first frame is an acceptable Hello,
                as Link does
      bits 4-7  seed for the split points
    In stream mode the same data also goes to Wire::openMessage, Wire::parsePreamble and
    Wire::decodeHeader.
*/
#include "fuzz_common.h"
#include "handshake_p.h"
#include "message_p.h"

#include <cstdint>
#include <cstring>

using namespace Plexus;
using PlexusFuzz::MaxLength;

namespace {

[[noreturn]] void fail(const char *what)
{
    PlexusFuzz::fail("fuzz_frame_reader", what);
}

// Keeps the frames; checks each against the limit that judged its header; raises the
// limit after an acceptable Hello in handshake-cap mode.
class Sink : public FrameReader::Sink
{
public:
    Sink(FrameReader &reader, bool cap) : m_reader(reader), m_cap(cap) { }
    QList<QExplicitlySharedDataPointer<MessagePrivate>> frames;

    bool frameReady(MessagePrivate *frame) override
    {
        QExplicitlySharedDataPointer<MessagePrivate> ref(frame, QAdoptSharedDataTag{});
        // The reader judged this header under the limit it has now: the sink is the only
        // one who changes it, and only after a frame.
        if (qsizetype(frame->header.length) > m_reader.limit())
            fail("frame over the limit handed over");
        if (!Wire::flagsConsistent(frame->header.privateFlags))
            fail("frame with inconsistent flags handed over");
        if (m_cap && frames.isEmpty()) {
            PeerIdentity peer;
            if (Handshake::parseHello(frame->header, frame->data(), &peer) == FrameError::NoError)
                m_reader.setLimit(MaxLength);
        }
        frames.append(ref);
        return true;
    }

private:
    FrameReader &m_reader;
    bool m_cap;
};

// Feeds \a stream to \a reader in pieces, as a link does with the plaintext of its records.
void feed(FrameReader &reader, Sink &sink, QByteArrayView stream, PlexusFuzz::Splitter &split,
          bool direct)
{
    qsizetype off = 0;
    while (off < stream.size() && reader.error() == FrameError::NoError) {
        const qsizetype n = qMin(split.next(), stream.size() - off);
        qsizetype space = 0;
        char *p = direct ? reader.directSpace(&space) : nullptr;
        FrameError e;
        if (p && space > 0) {
            const qsizetype take = qMin(n, space);
            std::memcpy(p, stream.data() + off, size_t(take));
            e = reader.commitDirect(take, &sink);
            if (e != FrameError::NoError)
                fail("commitDirect() refused what directSpace() offered");
            off += take;
        } else {
            if (direct && (p || space != 0))
                fail("directSpace() offered an empty space");
            e = reader.append(stream.data() + off, n, &sink);
            off += n;
        }
        if (e != reader.error())
            fail("append() and error() disagree");
        if (reader.pendingBytes() < 0 || reader.pendingBytes() > Wire::HeaderSize + MaxLength)
            fail("pendingBytes() out of range");
    }
}

QByteArray frameBytes(Wire::Header h, QByteArrayView payload)
{
    h.length = quint32(payload.size());
    QByteArray out(Wire::HeaderSize, Qt::Uninitialized);
    Wire::encodeHeader(h, out.data());
    out.append(payload);
    return out;
}

// What openMessage must say before the AEAD is even tried, or NoError.
FrameError expectedBeforeAead(QByteArrayView sealed, qsizetype maxLength)
{
    if (sealed.size() < Wire::SealedOverhead)
        return FrameError::TruncatedFrame;
    const Wire::Header h = Wire::decodeHeader(sealed.data());
    if (qsizetype(h.length) > maxLength)
        return FrameError::OversizedFrame;
    if (qsizetype(h.length) != sealed.size() - Wire::SealedOverhead || !Wire::flagsConsistent(h.privateFlags))
        return FrameError::MalformedHeader;
    return FrameError::NoError;
}

void checkOpen(QByteArrayView sealed)
{
    Wire::Header h;
    QByteArray payload("untouched");
    const FrameError e = Wire::openMessage(sealed, PlexusFuzz::frameKey(), MaxLength, &h, &payload);
    const FrameError before = expectedBeforeAead(sealed, MaxLength);
    if (before != FrameError::NoError) {
        if (e != before)
            fail("openMessage: wrong error before the AEAD");
    } else if (e == FrameError::NoError) {
        // Only the seeds get here (nobody forges a tag).
        if (qsizetype(h.length) != payload.size() || payload.size() != sealed.size() - Wire::SealedOverhead)
            fail("openMessage: payload size");
        return;
    } else if (e != FrameError::AuthenticationFailed) {
        fail("openMessage: unexpected error");
    }
    if (payload != "untouched")
        fail("openMessage: output written on failure");
}

void streamMode(quint8 mode, const uint8_t *data, size_t size)
{
    const QByteArrayView stream(reinterpret_cast<const char *>(data), qsizetype(size));
    quint8 role = 0;
    const FrameError pre = Wire::parsePreamble(stream, &role);
    if (pre != FrameError::NoError && pre != FrameError::BadHandshake && pre != FrameError::VersionMismatch)
        fail("parsePreamble: unexpected error");
    if (stream.size() >= Wire::HeaderSize) {
        char again[Wire::HeaderSize];
        Wire::encodeHeader(Wire::decodeHeader(stream.data()), again);
        if (std::memcmp(again, stream.data(), sizeof again) != 0)
            fail("encodeHeader(decodeHeader(x)) != x");
    }
    checkOpen(stream);

    const bool cap = mode & 4;
    FrameReader reader(cap ? Wire::MaxHandshakeLength : MaxLength);
    Sink sink(reader, cap);
    PlexusFuzz::Splitter split(quint8(mode >> 4), data, size);
    feed(reader, sink, stream, split, mode & 2);

    // The frames handed over are exactly the start of the stream, in order.
    qsizetype at = 0;
    for (const auto &frame : sink.frames) {
        if (frameBytes(frame->header, frame->data()) != stream.sliced(at, Wire::HeaderSize + frame->header.length))
            fail("a frame differs from its bytes in the stream");
        at += Wire::HeaderSize + qsizetype(frame->header.length);
    }
    const FrameError e = reader.error();
    if (e == FrameError::NoError) {
        if (at + reader.pendingBytes() != stream.size())
            fail("bytes lost: frames + pending != stream");
        return;
    }
    // The error is the header right after the last frame, judged as documented.
    if (stream.size() - at < Wire::HeaderSize)
        fail("error without a complete header");
    const Wire::Header bad = Wire::decodeHeader(stream.data() + at);
    const FrameError expected = qsizetype(bad.length) > reader.limit() ? FrameError::OversizedFrame
            : !Wire::flagsConsistent(bad.privateFlags)                 ? FrameError::MalformedHeader
                                                                       : FrameError::NoError;
    if (e != expected)
        fail("reader refused a header for the wrong reason");
    // A stream with a bad header cannot be resynchronised: the error stays.
    const qsizetype frames = sink.frames.size();
    qsizetype space = -1;
    if (reader.append(stream.data(), stream.size(), &sink) != e || reader.commitDirect(0, &sink) != e
        || reader.directSpace(&space) || space != 0 || sink.frames.size() != frames)
        fail("reader left its error state");
}

template <typename T>
T take(const uint8_t *&p, size_t &n)
{
    T v{};
    const size_t k = qMin(sizeof v, n);
    std::memcpy(&v, p, k);
    p += k, n -= k;
    return qFromLittleEndian(v);
}

bool sameHeader(const Wire::Header &a, const Wire::Header &b)
{
    return a.length == b.length && a.flags == b.flags && a.privateFlags == b.privateFlags
            && a.timestamp == b.timestamp && a.id == b.id && a.target == b.target
            && a.token == b.token && a.targets == b.targets && a.status == b.status
            && a.originMachine == b.originMachine && a.originPid == b.originPid
            && a.originSlot == b.originSlot;
}

void roundTripMode(quint8 mode, const uint8_t *data, size_t size)
{
    const uint8_t *const start = data;
    const size_t total = size;
    Wire::Header h;
    h.flags = take<quint16>(data, size);
    h.privateFlags = take<quint16>(data, size);
    h.timestamp = take<quint64>(data, size);
    h.id = take<quint64>(data, size);
    h.target = take<quint64>(data, size);
    h.token = take<quint64>(data, size);
    h.targets = take<quint32>(data, size);
    h.status = take<quint32>(data, size);
    h.originMachine = take<quint64>(data, size);
    h.originPid = take<quint32>(data, size);
    h.originSlot = take<qint32>(data, size);
    const QByteArrayView payload(reinterpret_cast<const char *>(data), qsizetype(size));
    h.length = quint32(payload.size());
    const bool consistent = Wire::flagsConsistent(h.privateFlags);

    // Sealed and opened: the same header and payload, or MalformedHeader for bad flags.
    QByteArray sealed = Wire::sealMessage(h, payload, PlexusFuzz::frameKey());
    if (sealed.size() != Wire::SealedOverhead + payload.size())
        fail("sealed size");
    Wire::Header oh;
    QByteArray op;
    const FrameError e = Wire::openMessage(sealed, PlexusFuzz::frameKey(), MaxLength, &oh, &op);
    if (e != (consistent ? FrameError::NoError : FrameError::MalformedHeader))
        fail("own sealed message refused, or bad flags accepted");
    if (consistent && (!sameHeader(oh, h) || op != payload))
        fail("sealed message changed");
    if (consistent) {   // any one bit flipped: refused
        const quint64 bit = h.id % quint64(sealed.size() * 8);
        sealed[qsizetype(bit / 8)] = char(sealed[qsizetype(bit / 8)] ^ (1 << (bit % 8)));
        if (Wire::openMessage(sealed, PlexusFuzz::frameKey(), MaxLength, &oh, &op) == FrameError::NoError)
            fail("a flipped bit went unnoticed");
    }

    // Streamed: exactly the frame, or refused for its flags or (before the Hello) its size.
    const bool cap = mode & 4;
    const QByteArray stream = frameBytes(h, payload);
    FrameReader reader(cap ? Wire::MaxHandshakeLength : MaxLength);
    Sink sink(reader, false);
    PlexusFuzz::Splitter split(quint8(mode >> 4), start, total);
    feed(reader, sink, stream, split, mode & 2);
    const FrameError expected = payload.size() > reader.limit() ? FrameError::OversizedFrame
            : !consistent                                       ? FrameError::MalformedHeader
                                                                : FrameError::NoError;
    if (reader.error() != expected)
        fail("reader judged a well-known frame wrongly");
    if (expected == FrameError::NoError
        && (sink.frames.size() != 1 || !sameHeader(sink.frames.first()->header, h)
            || sink.frames.first()->data() != payload || reader.pendingBytes() != 0))
        fail("stream did not give back exactly the frame");
    if (expected != FrameError::NoError && !sink.frames.isEmpty())
        fail("a refused frame was handed over");
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    setMaxMessageLength(MaxLength);
    if (!Crypto::initialize() || !PlexusFuzz::frameKey().isValid())
        fail("libsodium");
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > size_t(MaxLength))
        return 0;
    const quint8 mode = data[0];
    if (mode & 1)
        roundTripMode(mode, data + 1, size - 1);
    else
        streamMode(mode, data + 1, size - 1);
    return 0;
}
