// SPDX-License-Identifier: MIT
#include "frame_p.h"

#include <QtCore/qmetaobject.h>
#include <QtCore/qset.h>
#include <QtTest/QTest>

#include <cstring>

#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define PLEXUS_TEST_ASAN 1
#  endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#  define PLEXUS_TEST_ASAN 1
#endif
#if defined(__GLIBC__) && !defined(PLEXUS_TEST_ASAN)
#  include <malloc.h>
#  if __GLIBC_PREREQ(2, 33)
#    define PLEXUS_TEST_MALLINFO 1
#  endif
#endif

using namespace Plexus;

namespace {

constexpr qsizetype KiB = 1024;
constexpr qsizetype MiB = 1024 * KiB;
constexpr qsizetype NonceOffset = 24;

const CryptoKey &testKey()
{
    static const CryptoKey key = CryptoKey::derive("tst_frame secret", "plexus-t");
    return key;
}

Wire::Header testHeader(quint64 id = 0x0123456789abcdefull)
{
    Wire::Header h;
    h.flags = 0xbeef;
    h.privateFlags = Wire::Opcode | Wire::WantReply | Wire::Workers;
    h.timestamp = 1700000000123ull;
    h.id = id;
    return h;
}

Wire::Body testBody()
{
    Wire::Body b;
    b.target = 0xfeedu;
    b.token = 0x1122334455667788ull;
    b.targets = 3;
    b.originSlot = 2;
    b.originPid = 4242;
    b.status = 7;
    return b;
}

// Distinct bytes at every position (zeros included), fast enough for 128 MiB.
QByteArray pattern(qsizetype size)
{
    QByteArray out(size, Qt::Uninitialized);
    char *p = out.data();
    qsizetype i = 0;
    for (; i + 8 <= size; i += 8)
        qToLittleEndian<quint64>(quint64(i) * 0x9e3779b97f4a7c15ull, p + i);
    for (; i < size; ++i)
        p[i] = char(i * 131);
    return out;
}

QByteArray sealedFrame(const Payload &payload, const Wire::Header &header = testHeader(),
                       const Wire::Body &body = testBody(), const CryptoKey &key = testKey())
{
    Frame f = Frame::create(header, body, payload);
    if (f.isNull())
        return {};
    f.seal(key);
    return f.buffer();
}

// Takes every frame available.
QList<QByteArray> takeAll(FrameReader &reader)
{
    QList<QByteArray> out;
    while (reader.hasFrame())
        out.append(reader.takeFrame());
    return out;
}

void compareHeader(const Wire::Header &actual, const Wire::Header &expected)
{
    QCOMPARE(actual.length, expected.length);
    QCOMPARE(actual.flags, expected.flags);
    QCOMPARE(actual.privateFlags, expected.privateFlags);
    QCOMPARE(actual.timestamp, expected.timestamp);
    QCOMPARE(actual.id, expected.id);
}

void compareBody(const Wire::Body &actual, const Wire::Body &expected)
{
    QCOMPARE(actual.target, expected.target);
    QCOMPARE(actual.token, expected.token);
    QCOMPARE(actual.targets, expected.targets);
    QCOMPARE(actual.originSlot, expected.originSlot);
    QCOMPARE(actual.originPid, expected.originPid);
    QCOMPARE(actual.status, expected.status);
}

QByteArray errorName(FrameError e)
{
    return QMetaEnum::fromType<FrameError>().valueToKey(int(e));
}

QByteArray nonceOf(const QByteArray &sealed)
{
    return sealed.mid(NonceOffset, CryptoKey::NonceSize);
}

// A raw header announcing \a length with the given private flags, nonce zero.
QByteArray rawHeader(quint32 length, quint16 privateFlags = 0)
{
    QByteArray h(Wire::HeaderSize, '\0');
    qToLittleEndian<quint32>(length, h.data());
    qToLittleEndian<quint16>(privateFlags, h.data() + 6);
    return h;
}

// Restores the process-wide maximum message length when a test returns, failed or not.
class MaxLengthGuard
{
public:
    MaxLengthGuard() : m_saved(maxMessageLength()) { }
    ~MaxLengthGuard() { setMaxMessageLength(m_saved); }
    MaxLengthGuard(const MaxLengthGuard &) = delete;
    MaxLengthGuard &operator=(const MaxLengthGuard &) = delete;

private:
    qsizetype m_saved;
};

#ifdef PLEXUS_TEST_MALLINFO
qsizetype heapInUse()
{
    const struct mallinfo2 mi = mallinfo2();
    return qsizetype(mi.uordblks + mi.hblkhd);
}
#endif

} // namespace

class tst_Frame : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();

    // Round trips
    void roundTrip_data();
    void roundTrip();
    void multiPiecePayload();
    void payloadSourcesMayBeFreed();
    void createRefusesOverflowedPayload();
    void createRefusesOverMaximum_data();
    void createRefusesOverMaximum();
    void settersRewritePlainFrame();
    void settersIgnoreNullFrame();
    void cloneIsIndependent();

    // Stream cutting
    void splitAtEveryByte_data();
    void splitAtEveryByte();
    void oneByteAtATime_data();
    void oneByteAtATime();
    void manyFramesInOneBuffer_data();
    void manyFramesInOneBuffer();
    void directSpace();
    void truncatedFrameWaits_data();
    void truncatedFrameWaits();

    // Rejection
    void flippedHeaderBitRejected_data();
    void flippedHeaderBitRejected();
    void flippedBodyBitRejected_data();
    void flippedBodyBitRejected();
    void oversizedLengthRejectedBeforeAllocation_data();
    void oversizedLengthRejectedBeforeAllocation();
    void lengthAtMaximumAccepted();
    void malformedFlagsRejected_data();
    void malformedFlagsRejected();
    void readerStaysInError();
    void wrongKeyRejected_data();
    void wrongKeyRejected();
    void tooShortSealedFrame();

    // Nonces and idempotence
    void sealNeverReusesNonce();
    void nonceUniqueAcrossFork();
    void sealAndOpenAreIdempotent();

    // Handshake
    void preamble_data();
    void preamble();
    void readerWithPreamble_data();
    void readerWithPreamble();
    void appendReportsConsumed();
    void handshakeModeStopsAfterEachFrame();
    void handshakeModeLimitsLength_data();
    void handshakeModeLimitsLength();
};

void tst_Frame::initTestCase()
{
    QVERIFY(Crypto::initialize());
    QVERIFY(testKey().isValid());
    QCOMPARE(Wire::HeaderSize, 48);
    QCOMPARE(Wire::Overhead, 48 + 32 + 16);
    QCOMPARE(Wire::frameSize(0), Wire::Overhead);
    // The build's default (PLEXUS_MAX_MESSAGE_LENGTH, 128 MiB unless configured otherwise).
    QCOMPARE(maxMessageLength(), qsizetype(PLEXUS_TEST_DEFAULT_MAX_MESSAGE_LENGTH));
}

// ---------------------------------------------------------------------------------------
// Round trips

void tst_Frame::roundTrip_data()
{
    QTest::addColumn<QByteArray>("explicitPayload");
    QTest::addColumn<qsizetype>("size");    // < 0: explicitPayload; else pattern(size)
    QTest::addColumn<qsizetype>("limit");   // maximum for this row; 0: the default

    QTest::newRow("empty") << QByteArray() << qsizetype(-1) << qsizetype(0);
    QTest::newRow("1 byte") << QByteArray("x") << qsizetype(-1) << qsizetype(0);
    QTest::newRow("1 zero byte") << QByteArray(1, '\0') << qsizetype(-1) << qsizetype(0);
    QTest::newRow("binary with zeros")
            << QByteArray("\0\0\1\0plexus\0\xff\0", 13) << qsizetype(-1) << qsizetype(0);
    QTest::newRow("64 B") << QByteArray() << qsizetype(64) << qsizetype(0);
    QTest::newRow("4 KiB") << QByteArray() << 4 * KiB << qsizetype(0);
    QTest::newRow("64 KiB") << QByteArray() << 64 * KiB << qsizetype(0);
    QTest::newRow("1 MiB") << QByteArray() << MiB << qsizetype(0);
    QTest::newRow("max (2 MiB limit)") << QByteArray() << 2 * MiB << 2 * MiB;
    QTest::addRow("max (default %lld MiB)", qint64(maxMessageLength() / MiB))
            << QByteArray() << maxMessageLength() << qsizetype(0);
}

void tst_Frame::roundTrip()
{
    QFETCH(QByteArray, explicitPayload);
    QFETCH(qsizetype, size);
    QFETCH(qsizetype, limit);

    MaxLengthGuard guard;
    if (limit > 0) {
        setMaxMessageLength(limit);
        QCOMPARE(maxMessageLength(), limit);
    }
    const QByteArray payload = size < 0 ? explicitPayload : pattern(size);

    const Wire::Header header = testHeader();
    const Wire::Body body = testBody();
    Frame frame = Frame::create(header, body, payload);
    QVERIFY(!frame.isNull());
    QVERIFY(!frame.isSealed());
    QCOMPARE(frame.buffer().size(), Wire::frameSize(payload.size()));

    Wire::Header expectedHeader = header;
    expectedHeader.length = quint32(payload.size());
    compareHeader(frame.header(), expectedHeader);
    if (QTest::currentTestFailed())
        return;
    compareBody(frame.body(), body);
    if (QTest::currentTestFailed())
        return;
    QCOMPARE(frame.data().size(), payload.size());
    QVERIFY(frame.data() == QByteArrayView(payload));

    frame.seal(testKey());
    QVERIFY(frame.isSealed());
    const QByteArray sealed = frame.buffer();
    QCOMPARE(sealed.size(), Wire::frameSize(payload.size()));
    // The header travels in clear (authenticated), body and data do not.
    compareHeader(frame.header(), expectedHeader);
    if (QTest::currentTestFailed())
        return;
    QVERIFY(frame.data().isEmpty());
    if (payload.size() >= 16) {
        const qsizetype off = Wire::HeaderSize + Wire::BodyPrefixSize;
        QVERIFY(std::memcmp(sealed.constData() + off, payload.constData(), 16) != 0);
    }

    FrameReader reader(maxMessageLength());
    QCOMPARE(reader.append(sealed), FrameError::NoError);
    QVERIFY(reader.hasFrame());
    QByteArray received = reader.takeFrame();
    QVERIFY(!reader.hasFrame());
    QCOMPARE(reader.pendingBytes(), 0);
    QCOMPARE(reader.error(), FrameError::NoError);
    QCOMPARE(received.size(), sealed.size());

    Frame opened = Frame::fromSealed(std::move(received));
    QVERIFY(opened.isSealed());
    QCOMPARE(opened.open(testKey()), FrameError::NoError);
    QVERIFY(!opened.isSealed());
    compareHeader(opened.header(), expectedHeader);
    if (QTest::currentTestFailed())
        return;
    compareBody(opened.body(), body);
    if (QTest::currentTestFailed())
        return;
    QCOMPARE(opened.data().size(), payload.size());
    // QVERIFY, not QCOMPARE: a failure must not print 128 MiB.
    QVERIFY(opened.data() == QByteArrayView(payload));
}

void tst_Frame::multiPiecePayload()
{
    struct Pod
    {
        quint64 a;
        quint32 b;
        quint32 zero;
    } pod{0x0102030405060708ull, 0xa0b0c0d0u, 0};
    const QByteArray array = pattern(1000);
    const QByteArray binary("\0x\0y\0", 5);
    const Payload payload{Plexus::bytes(&pod, sizeof pod), "string literal", array, binary,
                          Plexus::bytes(array.constData() + 10, 20)};
    QCOMPARE(payload.pieceCount(), 5);

    QByteArray expected(reinterpret_cast<const char *>(&pod), sizeof pod);
    expected += "string literal";
    expected += array;
    expected += binary;
    expected += array.mid(10, 20);

    const QByteArray sealed = sealedFrame(payload);
    QVERIFY(!sealed.isEmpty());
    FrameReader reader(maxMessageLength());
    QCOMPARE(reader.append(sealed), FrameError::NoError);
    QVERIFY(reader.hasFrame());
    Frame frame = Frame::fromSealed(reader.takeFrame());
    QCOMPARE(frame.open(testKey()), FrameError::NoError);
    QCOMPARE(frame.header().length, quint32(expected.size()));
    QCOMPARE(frame.data().toByteArray(), expected);
}

void tst_Frame::payloadSourcesMayBeFreed()
{
    auto *source = new QByteArray(pattern(4096));
    const QByteArray copy(source->constData(), source->size());
    Frame frame = Frame::create(testHeader(), testBody(), Payload{*source, "tail"});
    QVERIFY(!frame.isNull());
    source->fill('\xee');
    delete source;
    QCOMPARE(frame.data().toByteArray(), QByteArray(copy + "tail"));
}

void tst_Frame::createRefusesOverflowedPayload()
{
    const Payload tooMany{"0", "1", "2", "3", "4", "5", "6", "7", "8"};
    QVERIFY(tooMany.hasOverflowed());
    QVERIFY(Frame::create(testHeader(), testBody(), tooMany).isNull());

    const Payload exactly{"0", "1", "2", "3", "4", "5", "6", "7"};
    QVERIFY(!exactly.hasOverflowed());
    const Frame frame = Frame::create(testHeader(), testBody(), exactly);
    QVERIFY(!frame.isNull());
    QCOMPARE(frame.data().toByteArray(), QByteArray("01234567"));
}

void tst_Frame::createRefusesOverMaximum_data()
{
    QTest::addColumn<qsizetype>("limit");   // 0: the default
    QTest::newRow("2 MiB limit") << 2 * MiB;
    QTest::newRow("64 B limit") << qsizetype(64);
    QTest::newRow("default") << qsizetype(0);
}

void tst_Frame::createRefusesOverMaximum()
{
    QFETCH(qsizetype, limit);
    MaxLengthGuard guard;
    if (limit > 0)
        setMaxMessageLength(limit);
    const qsizetype max = maxMessageLength();

    // Frame::create checks the size before it reads a byte; the buffer is never touched.
    const QByteArray big(max + 1, Qt::Uninitialized);
    QVERIFY(Frame::create(testHeader(), testBody(), Plexus::bytes(big.constData(), max + 1)).isNull());
    // Over the limit only when the pieces are added up.
    QVERIFY(Frame::create(testHeader(), testBody(),
                          Payload{Plexus::bytes(big.constData(), max), "!"})
                    .isNull());
    if (max <= 2 * MiB) {
        const Frame atMax = Frame::create(testHeader(), testBody(), Plexus::bytes(big.constData(), max));
        QVERIFY(!atMax.isNull());
        QCOMPARE(atMax.header().length, quint32(max));
    }
}

void tst_Frame::settersRewritePlainFrame()
{
    Frame frame = Frame::create(testHeader(), testBody(), "data");
    Wire::Body body = testBody();
    body.target = 99;
    body.token = 0;
    body.originSlot = -1;
    body.status = 0;
    frame.setBody(body);
    const quint16 flags = Wire::Reply | Wire::Done | Wire::Opcode;
    frame.setPrivateFlags(flags);
    QCOMPARE(frame.privateFlags(), flags);

    frame.seal(testKey());
    FrameReader reader(maxMessageLength());
    QCOMPARE(reader.append(frame.buffer()), FrameError::NoError);
    Frame opened = Frame::fromSealed(reader.takeFrame());
    QCOMPARE(opened.open(testKey()), FrameError::NoError);
    QCOMPARE(opened.privateFlags(), flags);
    QCOMPARE(opened.header().privateFlags, flags);
    compareBody(opened.body(), body);
    QCOMPARE(opened.data().toByteArray(), QByteArray("data"));
}

void tst_Frame::settersIgnoreNullFrame()
{
    // A refused create() gives a null frame; rewriting it must not write out of bounds.
    Frame null = Frame::create(testHeader(), testBody(),
                               Payload{"0", "1", "2", "3", "4", "5", "6", "7", "8"});
    QVERIFY(null.isNull());
    null.setPrivateFlags(Wire::Reply);
    null.setBody(testBody());
    QVERIFY(null.isNull());
    QCOMPARE(null.privateFlags(), quint16(0));
    QCOMPARE(null.body().target, quint64(0));
}

void tst_Frame::cloneIsIndependent()
{
    const Frame original = Frame::create(testHeader(), testBody(), "payload");
    Frame copy = original.clone();
    QVERIFY(copy.buffer().constData() != original.buffer().constData());
    QCOMPARE(copy.buffer(), original.buffer());
    copy.seal(testKey());
    QVERIFY(copy.isSealed());
    QVERIFY(!original.isSealed());
    QCOMPARE(original.data().toByteArray(), QByteArray("payload"));

    const Frame sealedClone = copy.clone();
    QVERIFY(sealedClone.isSealed());
    QCOMPARE(sealedClone.buffer(), copy.buffer());
}

// ---------------------------------------------------------------------------------------
// Stream cutting

void tst_Frame::splitAtEveryByte_data()
{
    QTest::addColumn<bool>("withPreamble");
    QTest::newRow("frames") << false;
    QTest::newRow("preamble+frames") << true;
}

void tst_Frame::splitAtEveryByte()
{
    QFETCH(bool, withPreamble);

    const QByteArray first = sealedFrame(pattern(150), testHeader(1));
    const QByteArray second = sealedFrame(QByteArray(), testHeader(2));
    const QByteArray preamble = withPreamble ? Wire::preamble(3) : QByteArray();
    const QByteArray stream = preamble + first + second;
    // Start offset of each unit of the stream, for the expected pendingBytes().
    const qsizetype secondStart = preamble.size() + first.size();

    for (qsizetype k = 0; k <= stream.size(); ++k) {
        FrameReader reader(maxMessageLength(), withPreamble);
        QCOMPARE(reader.append(QByteArrayView(stream).first(k)), FrameError::NoError);

        qsizetype expectedPending;
        int expectedFrames;
        if (k < preamble.size()) {
            expectedPending = k;
            expectedFrames = 0;
        } else if (k < secondStart) {
            expectedPending = k - preamble.size();
            expectedFrames = 0;
        } else if (k < stream.size()) {
            expectedPending = k - secondStart;
            expectedFrames = 1;
        } else {
            expectedPending = 0;
            expectedFrames = 2;
        }
        QVERIFY2(reader.pendingBytes() == expectedPending,
                 qPrintable(QStringLiteral("k=%1 pending=%2 expected=%3")
                                    .arg(k).arg(reader.pendingBytes()).arg(expectedPending)));
        QList<QByteArray> frames = takeAll(reader);
        QVERIFY2(frames.size() == expectedFrames, qPrintable(QStringLiteral("k=%1").arg(k)));
        if (withPreamble && k >= preamble.size()) {
            QVERIFY(reader.hasPreamble());
            QCOMPARE(reader.peerRole(), quint8(3));
        }

        QCOMPARE(reader.append(QByteArrayView(stream).sliced(k)), FrameError::NoError);
        frames += takeAll(reader);
        QVERIFY2(frames.size() == 2, qPrintable(QStringLiteral("k=%1").arg(k)));
        QCOMPARE(frames.at(0), first);
        QCOMPARE(frames.at(1), second);
        QCOMPARE(reader.pendingBytes(), 0);
    }
}

void tst_Frame::oneByteAtATime_data()
{
    splitAtEveryByte_data();
}

void tst_Frame::oneByteAtATime()
{
    QFETCH(bool, withPreamble);

    QList<QByteArray> sent;
    QByteArray stream = withPreamble ? Wire::preamble(1) : QByteArray();
    for (int i = 0; i < 4; ++i) {
        sent.append(sealedFrame(pattern(i * 77), testHeader(100 + i)));
        stream += sent.last();
    }
    QList<qsizetype> frameEnds;
    qsizetype end = withPreamble ? Wire::PreambleSize : 0;
    for (const QByteArray &f : sent)
        frameEnds.append(end += f.size());

    FrameReader reader(maxMessageLength(), withPreamble);
    QList<QByteArray> received;
    for (qsizetype i = 0; i < stream.size(); ++i) {
        QCOMPARE(reader.append(QByteArrayView(stream).sliced(i, 1)), FrameError::NoError);
        // A frame appears exactly with its last byte, never earlier.
        QCOMPARE(reader.hasFrame(), frameEnds.contains(i + 1));
        received += takeAll(reader);
    }
    QCOMPARE(received, sent);
    for (int i = 0; i < received.size(); ++i) {
        Frame frame = Frame::fromSealed(received.at(i));
        QCOMPARE(frame.open(testKey()), FrameError::NoError);
        QCOMPARE(frame.header().id, quint64(100 + i));
        QCOMPARE(frame.data().toByteArray(), pattern(i * 77));
    }
}

void tst_Frame::manyFramesInOneBuffer_data()
{
    QTest::addColumn<qsizetype>("chunk");   // 0: the whole stream in one append
    QTest::newRow("one append") << qsizetype(0);
    QTest::newRow("4093-byte chunks") << qsizetype(4093);
    QTest::newRow("47-byte chunks") << qsizetype(47);
}

void tst_Frame::manyFramesInOneBuffer()
{
    QFETCH(qsizetype, chunk);
    constexpr int Count = 1000;
    QByteArray stream;
    for (int i = 0; i < Count; ++i)
        stream += sealedFrame(pattern(i % 300), testHeader(quint64(i)));

    FrameReader reader(maxMessageLength());
    QList<QByteArray> frames;
    if (chunk == 0) {
        QCOMPARE(reader.append(stream), FrameError::NoError);
        frames = takeAll(reader);
    } else {
        for (qsizetype off = 0; off < stream.size(); off += chunk) {
            QCOMPARE(reader.append(QByteArrayView(stream).sliced(off, qMin(chunk, stream.size() - off))),
                     FrameError::NoError);
            frames += takeAll(reader);
        }
    }
    QCOMPARE(frames.size(), Count);
    QCOMPARE(reader.pendingBytes(), 0);
    for (int i = 0; i < Count; ++i) {
        Frame frame = Frame::fromSealed(frames.at(i));
        QCOMPARE(frame.open(testKey()), FrameError::NoError);
        QCOMPARE(frame.header().id, quint64(i));
        QCOMPARE(frame.header().length, quint32(i % 300));
        QVERIFY(frame.data() == QByteArrayView(pattern(i % 300)));
    }
}

void tst_Frame::directSpace()
{
    const QByteArray sealed = sealedFrame(pattern(100 * KiB));
    FrameReader reader(maxMessageLength());

    qsizetype space = -1;
    QCOMPARE(reader.directSpace(&space), nullptr);   // no header yet: nothing to read into
    QCOMPARE(space, 0);

    // The header arrives through append(), the body straight into the frame buffer.
    QCOMPARE(reader.append(QByteArrayView(sealed).first(Wire::HeaderSize + 10)), FrameError::NoError);
    char *p = reader.directSpace(&space);
    QVERIFY(p);
    QCOMPARE(space, sealed.size() - Wire::HeaderSize - 10);
    std::memcpy(p, sealed.constData() + Wire::HeaderSize + 10, 1000);
    QCOMPARE(reader.commitDirect(1000), FrameError::NoError);
    QVERIFY(!reader.hasFrame());
    QCOMPARE(reader.pendingBytes(), Wire::HeaderSize + 10 + 1000);

    p = reader.directSpace(&space);
    QCOMPARE(space, sealed.size() - reader.pendingBytes());
    std::memcpy(p, sealed.constData() + reader.pendingBytes(), size_t(space));
    QCOMPARE(reader.commitDirect(space), FrameError::NoError);
    QVERIFY(reader.hasFrame());
    const QByteArray received = reader.takeFrame();
    QCOMPARE(received, sealed);
    Frame frame = Frame::fromSealed(received);
    QCOMPARE(frame.open(testKey()), FrameError::NoError);

    // Committing more than was offered is a caller bug the reader refuses.
    QCOMPARE(reader.append(QByteArrayView(sealed).first(Wire::HeaderSize)), FrameError::NoError);
    p = reader.directSpace(&space);
    QVERIFY(p);
    const qsizetype offered = space;
    QCOMPARE(reader.commitDirect(offered + 1), FrameError::MalformedHeader);
    QVERIFY(!reader.hasFrame());
    // ... and stays in error: nothing more is committed or cut into frames.
    QCOMPARE(reader.directSpace(&space), nullptr);
    QCOMPARE(reader.commitDirect(offered), FrameError::MalformedHeader);
    QVERIFY(!reader.hasFrame());
    QCOMPARE(reader.append(sealed), FrameError::MalformedHeader);
    QVERIFY(!reader.hasFrame());

    // Committing without a frame under way is refused the same way.
    FrameReader idle(maxMessageLength());
    QCOMPARE(idle.commitDirect(1), FrameError::MalformedHeader);
    QCOMPARE(idle.error(), FrameError::MalformedHeader);
}

void tst_Frame::truncatedFrameWaits_data()
{
    QTest::addColumn<qsizetype>("cut");
    const qsizetype size = Wire::frameSize(200);
    for (qsizetype cut : {qsizetype(1), qsizetype(10), Wire::HeaderSize - 1, Wire::HeaderSize,
                          Wire::HeaderSize + 1, Wire::HeaderSize + Wire::BodyPrefixSize,
                          Wire::Overhead - 1, Wire::Overhead, size - Wire::TagSize, size - 1})
        QTest::addRow("%lld of %lld", qint64(cut), qint64(size)) << cut;
}

void tst_Frame::truncatedFrameWaits()
{
    QFETCH(qsizetype, cut);
    const QByteArray sealed = sealedFrame(pattern(200));
    const QByteArray truncated = sealed.first(cut);

    FrameReader reader(maxMessageLength());
    QCOMPARE(reader.append(truncated), FrameError::NoError);
    QVERIFY(!reader.hasFrame());
    QCOMPARE(reader.error(), FrameError::NoError);
    QCOMPARE(reader.pendingBytes(), cut);
    // The rest completes it.
    QCOMPARE(reader.append(QByteArrayView(sealed).sliced(cut)), FrameError::NoError);
    QVERIFY(reader.hasFrame());
    QCOMPARE(reader.takeFrame(), sealed);

    // A truncated frame handed to open() on its own is refused, never read past its end.
    Frame frame = Frame::fromSealed(truncated);
    const FrameError expected = cut < Wire::Overhead ? FrameError::TruncatedFrame
                                                     : FrameError::MalformedHeader;
    QCOMPARE(frame.open(testKey()), expected);
    QVERIFY(frame.isSealed());
}

// ---------------------------------------------------------------------------------------
// Rejection

void tst_Frame::flippedHeaderBitRejected_data()
{
    QTest::addColumn<int>("byte");
    QTest::addColumn<int>("bit");
    for (int byte = 0; byte < Wire::HeaderSize; ++byte) {
        for (int bit = 0; bit < 8; ++bit)
            QTest::addRow("byte %02d bit %d", byte, bit) << byte << bit;
    }
}

void tst_Frame::flippedHeaderBitRejected()
{
    QFETCH(int, byte);
    QFETCH(int, bit);

    constexpr quint32 PayloadLength = 100;
    constexpr qsizetype ReaderMax = MiB;
    const QByteArray sealed = sealedFrame(pattern(PayloadLength));
    QByteArray tampered = sealed;
    tampered[byte] = char(tampered[byte] ^ (1 << bit));
    const bool lengthByte = byte < 4;
    const bool flagsByte = byte == 6 || byte == 7;
    const quint32 newLength = qFromLittleEndian<quint32>(tampered.constData());

    // The frame on its own: open() refuses it, for the header or for the tag.
    Frame alone = Frame::fromSealed(tampered);
    const FrameError aloneError = alone.open(testKey());
    QVERIFY(alone.isSealed());
    if (lengthByte)
        QCOMPARE(aloneError, FrameError::MalformedHeader);   // length disagrees with the size
    else if (flagsByte)
        QVERIFY2(aloneError == FrameError::MalformedHeader
                         || aloneError == FrameError::AuthenticationFailed,
                 errorName(aloneError).constData());
    else
        QCOMPARE(aloneError, FrameError::AuthenticationFailed);

    // The frame from a stream: the reader rejects the header, or cuts frames none of which
    // opens.
    FrameReader reader(ReaderMax);
    const FrameError readError = reader.append(tampered);
    const QList<QByteArray> frames = takeAll(reader);
    for (const QByteArray &bytes : frames) {
        Frame frame = Frame::fromSealed(bytes);
        const FrameError e = frame.open(testKey());
        QVERIFY2(e == FrameError::AuthenticationFailed || e == FrameError::MalformedHeader,
                 errorName(e).constData());
    }

    if (lengthByte) {
        if (newLength > ReaderMax) {
            QCOMPARE(readError, FrameError::OversizedFrame);
            QVERIFY(frames.isEmpty());
        } else if (newLength > PayloadLength) {
            // Waits for bytes that never come: no frame, nothing accepted.
            QCOMPARE(readError, FrameError::NoError);
            QVERIFY(frames.isEmpty());
            QCOMPARE(reader.pendingBytes(), tampered.size());
        } else {
            // A shorter frame is cut; it fails authentication (the length is in the AAD).
            QVERIFY(!frames.isEmpty());
            QCOMPARE(frames.first().size(), Wire::frameSize(newLength));
            Frame frame = Frame::fromSealed(frames.first());
            QCOMPARE(frame.open(testKey()), FrameError::AuthenticationFailed);
        }
    } else if (flagsByte && readError == FrameError::MalformedHeader) {
        // The reader and open() apply the same header checks.
        QCOMPARE(aloneError, FrameError::MalformedHeader);
        QVERIFY(frames.isEmpty());
    } else {
        QCOMPARE(readError, FrameError::NoError);
        QCOMPARE(frames.size(), 1);
        Frame frame = Frame::fromSealed(frames.first());
        QCOMPARE(frame.open(testKey()), aloneError);
    }
}

void tst_Frame::flippedBodyBitRejected_data()
{
    QTest::addColumn<int>("byte");
    const int size = int(Wire::frameSize(100));
    for (int byte = Wire::HeaderSize; byte < size; ++byte) {
        const char *where = byte < Wire::HeaderSize + Wire::BodyPrefixSize ? "body prefix"
                : byte < size - Wire::TagSize                             ? "data"
                                                                          : "tag";
        QTest::addRow("%s byte %d", where, byte) << byte;
    }
}

void tst_Frame::flippedBodyBitRejected()
{
    QFETCH(int, byte);
    const QByteArray sealed = sealedFrame(pattern(100));
    QCOMPARE(sealed.size(), Wire::frameSize(100));

    for (int bit = 0; bit < 8; ++bit) {
        QByteArray tampered = sealed;
        tampered[byte] = char(tampered[byte] ^ (1 << bit));
        FrameReader reader(maxMessageLength());
        QCOMPARE(reader.append(tampered), FrameError::NoError);
        QVERIFY(reader.hasFrame());
        Frame frame = Frame::fromSealed(reader.takeFrame());
        QCOMPARE(frame.open(testKey()), FrameError::AuthenticationFailed);
        QVERIFY(frame.isSealed());
        QVERIFY(frame.data().isEmpty());
        // Nothing of the plaintext is left in the buffer.
        const QByteArrayView text = QByteArrayView(frame.buffer()).sliced(Wire::HeaderSize);
        QVERIFY(text.indexOf(QByteArrayView(pattern(100)).sliced(8, 16)) < 0);
    }
}

void tst_Frame::oversizedLengthRejectedBeforeAllocation_data()
{
    QTest::addColumn<quint32>("length");
    QTest::addColumn<bool>("staged");   // header arrives byte by byte

    const quint32 max = quint32(maxMessageLength());
    for (bool staged : {false, true}) {
        const char *how = staged ? "staged" : "whole";
        QTest::addRow("max+1 %s", how) << max + 1 << staged;
        QTest::addRow("1 GiB %s", how) << quint32(1u << 30) << staged;
        QTest::addRow("4 GiB-16 %s", how) << quint32(0xfffffff0u) << staged;
        QTest::addRow("4 GiB-1 %s", how) << quint32(0xffffffffu) << staged;
    }
}

void tst_Frame::oversizedLengthRejectedBeforeAllocation()
{
    QFETCH(quint32, length);
    QFETCH(bool, staged);

    const QByteArray header = rawHeader(length, Wire::Opcode);
    FrameReader reader(maxMessageLength());
#ifdef PLEXUS_TEST_MALLINFO
    const qsizetype before = heapInUse();
#endif
    FrameError e = FrameError::NoError;
    if (staged) {
        for (qsizetype i = 0; i < header.size() && e == FrameError::NoError; ++i)
            e = reader.append(QByteArrayView(header).sliced(i, 1));
    } else {
        e = reader.append(header);   // only the header: rejected without waiting for data
    }
    QCOMPARE(e, FrameError::OversizedFrame);
#ifdef PLEXUS_TEST_MALLINFO
    QVERIFY2(heapInUse() - before < 64 * KiB,
             qPrintable(QStringLiteral("heap grew by %1 bytes").arg(heapInUse() - before)));
#endif
    QCOMPARE(reader.error(), FrameError::OversizedFrame);
    QVERIFY(!reader.hasFrame());
    qsizetype space = -1;
    QCOMPARE(reader.directSpace(&space), nullptr);
    QCOMPARE(space, 0);

    // The stream cannot be resynchronised: valid frames after it are ignored.
    QCOMPARE(reader.append(sealedFrame("valid")), FrameError::OversizedFrame);
    QVERIFY(!reader.hasFrame());
    QCOMPARE(reader.error(), FrameError::OversizedFrame);
}

void tst_Frame::lengthAtMaximumAccepted()
{
    FrameReader reader(4 * KiB);
    QCOMPARE(reader.maxLength(), 4 * KiB);
    QCOMPARE(reader.append(rawHeader(4 * KiB)), FrameError::NoError);
    QCOMPARE(reader.pendingBytes(), Wire::HeaderSize);
    QVERIFY(!reader.hasFrame());

    FrameReader strict(4 * KiB);
    QCOMPARE(strict.append(rawHeader(4 * KiB + 1)), FrameError::OversizedFrame);

    // A real frame of exactly the reader's maximum.
    MaxLengthGuard guard;
    setMaxMessageLength(4 * KiB);
    const QByteArray sealed = sealedFrame(pattern(4 * KiB));
    QVERIFY(!sealed.isEmpty());
    FrameReader exact(4 * KiB);
    QCOMPARE(exact.append(sealed), FrameError::NoError);
    QVERIFY(exact.hasFrame());
}

void tst_Frame::malformedFlagsRejected_data()
{
    QTest::addColumn<quint16>("privateFlags");
    QTest::newRow("unknown bit 0x0400") << quint16(0x0400);
    QTest::newRow("unknown bit 0x8000") << quint16(0x8000);
    QTest::newRow("done without reply") << quint16(Wire::Done);
    QTest::newRow("error without reply") << quint16(Wire::Error);
    QTest::newRow("control+opcode") << quint16(Wire::Control | Wire::Opcode);
    QTest::newRow("control+typed") << quint16(Wire::Control | Wire::Typed);
    QTest::newRow("control+workers") << quint16(Wire::Control | Wire::Workers);
    QTest::newRow("control+cluster") << quint16(Wire::Control | Wire::Cluster);
    QTest::newRow("opcode+typed") << quint16(Wire::Opcode | Wire::Typed);
}

void tst_Frame::malformedFlagsRejected()
{
    QFETCH(quint16, privateFlags);
    Wire::Header header = testHeader();
    header.privateFlags = privateFlags;
    // Even correctly sealed under the right key, such a frame is refused.
    const QByteArray sealed = sealedFrame("data", header);

    FrameReader reader(maxMessageLength());
    QCOMPARE(reader.append(sealed), FrameError::MalformedHeader);
    QVERIFY(!reader.hasFrame());

    Frame frame = Frame::fromSealed(sealed);
    QCOMPARE(frame.open(testKey()), FrameError::MalformedHeader);
    QVERIFY(frame.isSealed());
}

void tst_Frame::readerStaysInError()
{
    FrameReader reader(maxMessageLength());
    QCOMPARE(reader.append(sealedFrame("ok")), FrameError::NoError);
    QVERIFY(reader.hasFrame());
    QCOMPARE(reader.append(rawHeader(10, 0x8000)), FrameError::MalformedHeader);
    // Frames complete before the error stay available.
    QVERIFY(reader.hasFrame());
    QVERIFY(!reader.takeFrame().isEmpty());
    for (int i = 0; i < 3; ++i) {
        QCOMPARE(reader.append(sealedFrame("later")), FrameError::MalformedHeader);
        QVERIFY(!reader.hasFrame());
    }
    QCOMPARE(reader.error(), FrameError::MalformedHeader);
}

void tst_Frame::wrongKeyRejected_data()
{
    QTest::addColumn<QByteArray>("secret");
    QTest::addColumn<QByteArray>("context");
    QTest::newRow("other secret") << QByteArray("another secret") << QByteArray("plexus-t");
    QTest::newRow("other context") << QByteArray("tst_frame secret") << QByteArray("plexus-u");
}

void tst_Frame::wrongKeyRejected()
{
    QFETCH(QByteArray, secret);
    QFETCH(QByteArray, context);
    char ctx[9] = {};
    std::memcpy(ctx, context.constData(), 8);
    const CryptoKey other = CryptoKey::derive(secret, ctx);
    QVERIFY(other.isValid());
    QVERIFY(!(other == testKey()));

    const QByteArray sealed = sealedFrame(pattern(64), testHeader(), testBody(), other);
    FrameReader reader(maxMessageLength());
    QCOMPARE(reader.append(sealed), FrameError::NoError);   // the reader cannot tell
    QVERIFY(reader.hasFrame());
    Frame frame = Frame::fromSealed(reader.takeFrame());
    QCOMPARE(frame.open(testKey()), FrameError::AuthenticationFailed);
    QVERIFY(frame.isSealed());

    // The right key opens an intact copy.
    Frame intact = Frame::fromSealed(sealed);
    QCOMPARE(intact.open(other), FrameError::NoError);
    QVERIFY(intact.data() == QByteArrayView(pattern(64)));
}

void tst_Frame::tooShortSealedFrame()
{
    Frame empty = Frame::fromSealed(QByteArray());
    QCOMPARE(empty.open(testKey()), FrameError::TruncatedFrame);
    Frame headerOnly = Frame::fromSealed(rawHeader(0));
    QCOMPARE(headerOnly.open(testKey()), FrameError::TruncatedFrame);
    QCOMPARE(headerOnly.body().target, quint64(0));
    QVERIFY(headerOnly.data().isEmpty());
}

// ---------------------------------------------------------------------------------------
// Nonces and idempotence

void tst_Frame::sealNeverReusesNonce()
{
    const Frame plain = Frame::create(testHeader(), testBody(), "same message");
    Frame a = plain.clone();
    Frame b = plain.clone();
    a.seal(testKey());
    b.seal(testKey());
    QVERIFY(nonceOf(a.buffer()) != nonceOf(b.buffer()));
    QVERIFY(nonceOf(a.buffer()) != QByteArray(CryptoKey::NonceSize, '\0'));
    // Same header fields and plaintext, different nonce: different ciphertext.
    QVERIFY(a.buffer().sliced(Wire::HeaderSize) != b.buffer().sliced(Wire::HeaderSize));

    QSet<QByteArray> nonces;
    for (int i = 0; i < 10000; ++i) {
        Frame f = plain.clone();
        f.seal(testKey());
        nonces.insert(nonceOf(f.buffer()));
    }
    QCOMPARE(nonces.size(), 10000);
    QVERIFY(!nonces.contains(nonceOf(a.buffer())));
    QVERIFY(!nonces.contains(nonceOf(b.buffer())));

    QCOMPARE(a.open(testKey()), FrameError::NoError);
    QCOMPARE(b.open(testKey()), FrameError::NoError);
    // Opened, both hold the same plaintext; nonce and tag still tell them apart.
    const qsizetype text = a.buffer().size() - Wire::HeaderSize - Wire::TagSize;
    QCOMPARE(a.buffer().sliced(Wire::HeaderSize, text), b.buffer().sliced(Wire::HeaderSize, text));
    QCOMPARE(a.buffer().first(NonceOffset), b.buffer().first(NonceOffset));
    QVERIFY(nonceOf(a.buffer()) != nonceOf(b.buffer()));
}

void tst_Frame::nonceUniqueAcrossFork()
{
    const Frame plain = Frame::create(testHeader(), testBody(), "broadcast reply");
    Frame before = plain.clone();
    before.seal(testKey());
    const QByteArray parentFirst = nonceOf(before.buffer());

    int fds[2];
    QCOMPARE(::pipe(fds), 0);
    const pid_t child = ::fork();
    QVERIFY(child >= 0);
    if (child == 0) {
        // Child: no QTest here, only the seal and a raw write.
        ::close(fds[0]);
        Frame f = plain.clone();
        f.seal(testKey());
        const QByteArray n = nonceOf(f.buffer());
        const bool ok = ::write(fds[1], n.constData(), size_t(n.size())) == n.size();
        ::_exit(ok ? 0 : 1);
    }
    ::close(fds[1]);
    Frame after = plain.clone();
    after.seal(testKey());
    const QByteArray parentSecond = nonceOf(after.buffer());

    QByteArray childNonce(CryptoKey::NonceSize, '\0');
    qsizetype got = 0;
    while (got < childNonce.size()) {
        const ssize_t r = ::read(fds[0], childNonce.data() + got, size_t(childNonce.size() - got));
        if (r <= 0)
            break;
        got += r;
    }
    ::close(fds[0]);
    int status = 0;
    QCOMPARE(::waitpid(child, &status, 0), child);
    QVERIFY(WIFEXITED(status));
    QCOMPARE(WEXITSTATUS(status), 0);
    QCOMPARE(got, CryptoKey::NonceSize);

    QVERIFY(parentFirst != parentSecond);
    QVERIFY(childNonce != parentFirst);
    QVERIFY(childNonce != parentSecond);
    // The parent keeps its prefix; the child drew its own after fork().
    QCOMPARE(parentFirst.first(16), parentSecond.first(16));
    QVERIFY(childNonce.first(16) != parentFirst.first(16));

    // The child's frame would also have opened: the nonce is the only thing that differs.
    QCOMPARE(after.open(testKey()), FrameError::NoError);
}

void tst_Frame::sealAndOpenAreIdempotent()
{
    Frame frame = Frame::create(testHeader(), testBody(), "idempotent");
    QCOMPARE(frame.open(testKey()), FrameError::NoError);   // plain: nothing to do
    QVERIFY(!frame.isSealed());

    frame.seal(testKey());
    const QByteArray once = frame.buffer();
    frame.seal(testKey());
    QCOMPARE(frame.buffer(), once);   // no second nonce, no double encryption
    QVERIFY(frame.isSealed());

    QCOMPARE(frame.open(testKey()), FrameError::NoError);
    const QByteArray opened = frame.buffer();
    QCOMPARE(frame.open(testKey()), FrameError::NoError);
    QCOMPARE(frame.buffer(), opened);
    QCOMPARE(frame.data().toByteArray(), QByteArray("idempotent"));

    Frame null;
    QVERIFY(null.isNull());
    null.seal(testKey());
    QVERIFY(null.isNull());
    QVERIFY(!null.isSealed());
}

// ---------------------------------------------------------------------------------------
// Handshake

void tst_Frame::preamble_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<FrameError>("expected");
    QTest::addColumn<int>("role");   // expected role on success

    for (int role : {0, 1, 2, 255})
        QTest::addRow("good role %d", role) << Wire::preamble(quint8(role)) << FrameError::NoError << role;

    QByteArray badMagic = Wire::preamble(1);
    badMagic[0] = 'p';
    QTest::newRow("bad magic first byte") << badMagic << FrameError::BadHandshake << 0;
    badMagic = Wire::preamble(1);
    badMagic[5] = 'Z';
    QTest::newRow("bad magic last byte") << badMagic << FrameError::BadHandshake << 0;
    QTest::newRow("http") << QByteArray("GET / HTTP/1.1\r\n") << FrameError::BadHandshake << 0;
    QTest::newRow("zeros") << QByteArray(Wire::PreambleSize, '\0') << FrameError::BadHandshake << 0;
    QTest::newRow("short") << Wire::preamble(1).first(Wire::PreambleSize - 1)
                           << FrameError::BadHandshake << 0;

    QByteArray reserved = Wire::preamble(1);
    reserved[15] = 1;
    QTest::newRow("reserved byte set") << reserved << FrameError::BadHandshake << 0;

    for (quint16 version : {quint16(0), quint16(Wire::ProtocolVersion + 1), quint16(0xffff)}) {
        QByteArray other = Wire::preamble(1);
        qToLittleEndian<quint16>(version, other.data() + 6);
        QTest::addRow("version %u", unsigned(version)) << other << FrameError::VersionMismatch << 0;
    }
}

void tst_Frame::preamble()
{
    QFETCH(QByteArray, bytes);
    QFETCH(FrameError, expected);
    QFETCH(int, role);

    QCOMPARE(Wire::preamble(0).size(), Wire::PreambleSize);
    QVERIFY(Wire::preamble(0).startsWith("PLEXUS"));
    quint8 parsed = 0xaa;
    QCOMPARE(Wire::parsePreamble(bytes, &parsed), expected);
    if (expected == FrameError::NoError)
        QCOMPARE(int(parsed), role);
    else
        QCOMPARE(parsed, quint8(0xaa));   // untouched on failure
    QCOMPARE(Wire::parsePreamble(bytes, nullptr), expected);
}

void tst_Frame::readerWithPreamble_data()
{
    preamble_data();
}

void tst_Frame::readerWithPreamble()
{
    QFETCH(QByteArray, bytes);
    QFETCH(FrameError, expected);
    QFETCH(int, role);
    if (bytes.size() < Wire::PreambleSize) {
        // Too short for parsePreamble(); for the reader it is a preamble still arriving.
        FrameReader reader(maxMessageLength(), true);
        QCOMPARE(reader.append(bytes), FrameError::NoError);
        QVERIFY(!reader.hasPreamble());
        QVERIFY(!reader.hasFrame());
        QCOMPARE(reader.pendingBytes(), bytes.size());
        return;
    }

    const QByteArray frame = sealedFrame("after the handshake");
    FrameReader reader(maxMessageLength(), true);
    QVERIFY(!reader.hasPreamble());
    QCOMPARE(reader.append(QByteArray(bytes + frame)), expected);
    QCOMPARE(reader.error(), expected);
    if (expected == FrameError::NoError) {
        QVERIFY(reader.hasPreamble());
        QCOMPARE(int(reader.peerRole()), role);
        QVERIFY(reader.hasFrame());
        QCOMPARE(reader.takeFrame(), frame);
    } else {
        QVERIFY(!reader.hasFrame());
        QVERIFY(!reader.hasPreamble());   // a refused handshake is not a handshake
        // Nothing after a bad handshake is ever cut into frames.
        QCOMPARE(reader.append(frame), expected);
        QVERIFY(!reader.hasFrame());
    }

    // A preamble cut short waits.
    FrameReader partial(maxMessageLength(), true);
    QCOMPARE(partial.append(bytes.first(Wire::PreambleSize - 1)), FrameError::NoError);
    QVERIFY(!partial.hasPreamble());
    QCOMPARE(partial.pendingBytes(), Wire::PreambleSize - 1);
}

void tst_Frame::appendReportsConsumed()
{
    const QByteArray stream = sealedFrame("one") + sealedFrame("two") + sealedFrame("three").first(60);
    FrameReader reader(maxMessageLength());
    qsizetype used = -1;
    QCOMPARE(reader.append(stream, &used), FrameError::NoError);
    QCOMPARE(used, stream.size());   // outside the handshake everything is taken
    QCOMPARE(takeAll(reader).size(), 2);
    QCOMPARE(reader.pendingBytes(), 60);
}

void tst_Frame::handshakeModeStopsAfterEachFrame()
{
    // Until the link authenticates its peer, append() stops after every frame, so that the
    // next header is judged under the limits that apply once the first frame was opened.
    const QByteArray preamble = Wire::preamble(2);
    QList<QByteArray> sent;
    for (int i = 0; i < 3; ++i)
        sent.append(sealedFrame(pattern(100 + i), testHeader(quint64(i))));
    const QByteArray stream = preamble + sent[0] + sent[1] + sent[2];

    FrameReader reader(maxMessageLength(), true);
    reader.setHandshakeMode(true);
    qsizetype used = -1;
    QCOMPARE(reader.append(stream, &used), FrameError::NoError);
    QCOMPARE(used, preamble.size() + sent[0].size());
    QCOMPARE(takeAll(reader), QList<QByteArray>{sent[0]});
    QCOMPARE(reader.pendingBytes(), 0);

    QByteArrayView rest = QByteArrayView(stream).sliced(used);
    QCOMPARE(reader.append(rest, &used), FrameError::NoError);
    QCOMPARE(used, sent[1].size());
    QCOMPARE(takeAll(reader), QList<QByteArray>{sent[1]});

    // Authenticated: the rest goes in one call.
    reader.setHandshakeMode(false);
    rest = rest.sliced(used);
    QCOMPARE(reader.append(rest, &used), FrameError::NoError);
    QCOMPARE(used, rest.size());
    QCOMPARE(takeAll(reader), QList<QByteArray>{sent[2]});
}

void tst_Frame::handshakeModeLimitsLength_data()
{
    QTest::addColumn<qsizetype>("readerMax");
    QTest::addColumn<qsizetype>("length");
    QTest::addColumn<bool>("accepted");

    const qsizetype limit = Wire::MaxHandshakeLength;
    QTest::newRow("at the handshake limit") << maxMessageLength() << limit << true;
    QTest::newRow("over the handshake limit") << maxMessageLength() << limit + 1 << false;
    QTest::newRow("1 MiB") << maxMessageLength() << MiB << false;
    QTest::newRow("4 GiB-1") << maxMessageLength() << qsizetype(0xffffffffu) << false;
    QTest::newRow("reader max below the limit") << qsizetype(100) << qsizetype(101) << false;
}

void tst_Frame::handshakeModeLimitsLength()
{
    QFETCH(qsizetype, readerMax);
    QFETCH(qsizetype, length);
    QFETCH(bool, accepted);

    FrameReader reader(readerMax);
    reader.setHandshakeMode(true);
    const FrameError e = reader.append(rawHeader(quint32(length)));
    QCOMPARE(e, accepted ? FrameError::NoError : FrameError::OversizedFrame);
    if (accepted)
        QCOMPARE(reader.pendingBytes(), Wire::HeaderSize);

    // The same header after the handshake is judged by the reader's own maximum.
    FrameReader established(readerMax);
    established.setHandshakeMode(false);
    QCOMPARE(established.append(rawHeader(quint32(length))),
             length <= readerMax ? FrameError::NoError : FrameError::OversizedFrame);
}

QTEST_GUILESS_MAIN(tst_Frame)
#include "tst_frame.moc"
