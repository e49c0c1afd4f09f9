// SPDX-License-Identifier: MIT
/*
    libFuzzer target for the frame codec: everything a peer can send before it is
    authenticated goes through FrameReader (handshake, header checks, length limits) and
    Frame::open() (header consistency, AEAD). None of it may crash, trip a sanitizer, assert
    or allocate more than the configured maximum.

    Input layout: byte 0 selects the mode, the rest is the data.
      bit 0     the reader expects the 16-byte preamble first
      bit 1     round-trip mode: the data is not a stream but the fields of a frame that is
                created, sealed, streamed and opened again, and must come back unchanged
      bit 2     feed through directSpace()/commitDirect() when the reader offers space
      bit 3     the reader starts in handshake mode (small frames, one frame per append;
                left as a link does, once a frame opens under the key)
      bits 4-7  seed for the split points (a generator over the seed and the data)
*/
#include "frame_p.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

using namespace Plexus;

namespace {

constexpr qsizetype FuzzMaxLength = 1 << 20;   // 1 MiB: bounded memory per frame

const CryptoKey &fuzzKey()
{
    static const CryptoKey key = CryptoKey::derive("plexus fuzz secret", "plexfuzz");
    return key;
}

[[noreturn]] void fail(const char *what)
{
    std::fprintf(stderr, "fuzz_frame_reader: invariant broken: %s\n", what);
    std::abort();
}

// Deterministic piece sizes from the input.
class Splitter
{
public:
    Splitter(quint8 seed, const uint8_t *data, size_t size)
    {
        m_state = 0x9e3779b97f4a7c15ull ^ seed;
        for (size_t i = 0; i < size && i < 32; ++i)
            m_state = (m_state ^ data[i]) * 0x100000001b3ull;
        m_shift = seed % 12;   // piece sizes up to 2^(shift+1)
    }
    qsizetype next()
    {
        m_state ^= m_state << 13;
        m_state ^= m_state >> 7;
        m_state ^= m_state << 17;
        return 1 + qsizetype(m_state % (quint64(2) << m_shift));
    }

private:
    quint64 m_state;
    int m_shift;
};

bool opensUnderKey(const QByteArray &bytes)
{
    Frame frame = Frame::fromSealed(bytes);
    return frame.open(fuzzKey()) == FrameError::NoError;
}

// Feeds \a stream to \a reader in pieces, as a link does; returns the frames it cut.
QList<QByteArray> feed(FrameReader &reader, QByteArrayView stream, Splitter &split, bool direct,
                       bool handshake)
{
    QList<QByteArray> frames;
    qsizetype off = 0;
    reader.setHandshakeMode(handshake);
    while (off < stream.size()) {
        const qsizetype n = qMin(split.next(), stream.size() - off);
        qsizetype space = 0;
        char *p = direct ? reader.directSpace(&space) : nullptr;
        FrameError e;
        if (p && space > 0) {
            const qsizetype take = qMin(n, space);
            std::memcpy(p, stream.data() + off, size_t(take));
            e = reader.commitDirect(take);
            off += take;
        } else {
            qsizetype used = -1;
            e = reader.append(stream.sliced(off, n), &used);
            if (used < 0 || used > n)
                fail("consumed out of range");
            if (used < n && e == FrameError::NoError && !(handshake && reader.hasFrame()))
                fail("bytes left unconsumed outside the handshake");
            off += used;
        }
        if (e != reader.error())
            fail("append() and error() disagree");
        if (reader.pendingBytes() < 0 || reader.pendingBytes() > Wire::frameSize(FuzzMaxLength))
            fail("pendingBytes out of range");
        int cut = 0;
        while (reader.hasFrame()) {
            frames.append(reader.takeFrame());
            ++cut;
            if (handshake) {
                if (frames.last().size() > Wire::frameSize(Wire::MaxHandshakeLength))
                    fail("frame over the handshake limit");
                // The link leaves handshake mode once a frame authenticates.
                if (opensUnderKey(frames.last())) {
                    handshake = false;
                    reader.setHandshakeMode(false);
                }
            }
        }
        if (handshake && cut > 1)
            fail("more than one frame per append in handshake mode");
        if (e != FrameError::NoError) {
            // A stream with a bad header cannot be resynchronised: the error stays.
            if (reader.append(stream.first(qMin(stream.size(), Wire::Overhead))) != e
                || reader.error() != e || reader.hasFrame())
                fail("reader left its error state");
            qsizetype space = -1;
            if (reader.directSpace(&space) || space != 0)
                fail("reader in error offers space");
            break;
        }
    }
    return frames;
}

void checkFrame(const QByteArray &bytes)
{
    if (bytes.size() < Wire::Overhead || bytes.size() > Wire::frameSize(FuzzMaxLength))
        fail("frame size outside [overhead, max]");
    Frame frame = Frame::fromSealed(bytes);
    if (qsizetype(frame.header().length) != bytes.size() - Wire::Overhead)
        fail("frame length disagrees with its header");
    const FrameError e = frame.open(fuzzKey());
    if (e == FrameError::NoError) {
        // Only the seeds get here (nobody forges a tag); read everything.
        const Wire::Body body = frame.body();
        const QByteArrayView data = frame.data();
        if (data.size() != qsizetype(frame.header().length))
            fail("opened frame data size");
        volatile quint64 sink = body.target ^ body.token ^ body.targets;
        if (!data.isEmpty())
            sink = sink + quint8(data.front()) + quint8(data.back());
        (void)sink;
        if (frame.open(fuzzKey()) != FrameError::NoError)
            fail("open() not idempotent");
    } else if (!frame.isSealed()) {
        fail("a rejected frame was marked open");
    }
}

void streamMode(quint8 mode, const uint8_t *data, size_t size)
{
    const bool preamble = mode & 1;
    const bool direct = mode & 4;
    const bool handshake = mode & 8;
    const QByteArrayView stream(reinterpret_cast<const char *>(data), qsizetype(size));

    quint8 role = 0;
    (void)Wire::parsePreamble(stream, &role);

    FrameReader reader(FuzzMaxLength, preamble);
    Splitter split(quint8(mode >> 4), data, size);
    const QList<QByteArray> frames = feed(reader, stream, split, direct, handshake);
    for (const QByteArray &bytes : frames)
        checkFrame(bytes);
}

template <typename T>
T take(const uint8_t *&p, size_t &n)
{
    T v{};
    const size_t k = qMin(sizeof v, n);
    std::memcpy(&v, p, k);
    p += k, n -= k;
    return v;
}

void roundTripMode(quint8 mode, const uint8_t *data, size_t size)
{
    Wire::Header h;
    h.flags = take<quint16>(data, size);
    h.privateFlags = take<quint16>(data, size);
    h.timestamp = take<quint64>(data, size);
    h.id = take<quint64>(data, size);
    Wire::Body b;
    b.target = take<quint64>(data, size);
    b.token = take<quint64>(data, size);
    b.targets = take<quint32>(data, size);
    b.originSlot = take<qint32>(data, size);
    b.originPid = take<quint32>(data, size);
    b.status = take<quint32>(data, size);
    // The rest is the payload, in up to three pieces.
    const qsizetype n = qsizetype(size);
    const qsizetype cut1 = n ? qsizetype(h.id % quint64(n + 1)) : 0;
    const qsizetype cut2 = cut1 + (n - cut1 ? qsizetype(h.timestamp % quint64(n - cut1 + 1)) : 0);
    const char *d = reinterpret_cast<const char *>(data);
    const Payload payload{Plexus::bytes(d, cut1), Plexus::bytes(d + cut1, cut2 - cut1),
                          Plexus::bytes(d + cut2, n - cut2)};

    Frame frame = Frame::create(h, b, payload);
    if (frame.isNull())
        fail("create() refused a payload under the maximum");
    frame.seal(fuzzKey());
    QByteArray stream = (mode & 1) ? Wire::preamble(mode) : QByteArray();
    stream += frame.buffer();

    const bool handshake = mode & 8;
    FrameReader reader(FuzzMaxLength, mode & 1);
    Splitter split(quint8(mode >> 4), data, size);
    const QList<QByteArray> frames = feed(reader, stream, split, mode & 4, handshake);
    if (reader.error() == FrameError::OversizedFrame && handshake
        && n > Wire::MaxHandshakeLength && frames.isEmpty()) {
        return;   // too big before authentication: refused, as it should be
    }
    if (reader.error() != FrameError::NoError) {
        // The only reason to refuse our own frame: private flags the protocol forbids.
        if (reader.error() != FrameError::MalformedHeader || !frames.isEmpty())
            fail("reader refused a well-formed frame");
        Frame alone = Frame::fromSealed(frame.buffer());
        if (alone.open(fuzzKey()) != FrameError::MalformedHeader)
            fail("reader and open() disagree on the header");
        return;
    }
    if (frames.size() != 1 || frames.first() != frame.buffer() || reader.pendingBytes() != 0)
        fail("stream did not give back exactly the frame");
    if ((mode & 1) && reader.peerRole() != mode)
        fail("preamble role");

    Frame opened = Frame::fromSealed(frames.first());
    if (opened.open(fuzzKey()) != FrameError::NoError)
        fail("own frame did not open");
    const Wire::Header oh = opened.header();
    const Wire::Body ob = opened.body();
    if (oh.length != quint32(n) || oh.flags != h.flags || oh.privateFlags != h.privateFlags
        || oh.timestamp != h.timestamp || oh.id != h.id)
        fail("header changed");
    if (ob.target != b.target || ob.token != b.token || ob.targets != b.targets
        || ob.originSlot != b.originSlot || ob.originPid != b.originPid || ob.status != b.status)
        fail("body changed");
    if (opened.data() != QByteArrayView(d, n))
        fail("payload changed");
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    setMaxMessageLength(FuzzMaxLength);
    if (!Crypto::initialize() || !fuzzKey().isValid())
        fail("libsodium");
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > size_t(FuzzMaxLength))
        return 0;
    const quint8 mode = data[0];
    if (mode & 2)
        roundTripMode(mode, data + 1, size - 1);
    else
        streamMode(mode, data + 1, size - 1);
    return 0;
}
