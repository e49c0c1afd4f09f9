// SPDX-License-Identifier: MIT
//
// Link without a Node: two links over a socketpair (each test once per backend), a handler that records what they
// report. Handshake, Hello and admission, records of every size, batching, backpressure,
// graceful and abrupt close, and what a hostile peer on the raw socket gets.

#include "link_unix_p.h"
#include "message_p.h"
#include "record_p.h"
#include "threadhandoff.h"

#include <QtCore/QPointer>
#include <QtCore/QSemaphore>
#include <QtCore/QThread>
#include <QtTest/QtTest>

#include <sys/socket.h>
#include <unistd.h>

using namespace Plexus;

namespace {

constexpr quint64 Machine = 0x1122334455667788ull;

class Recorder : public LinkHandler
{
public:
    FrameError admitAs = FrameError::NoError;
    QList<PeerIdentity> hellos;
    int established = 0;
    QList<QExplicitlySharedDataPointer<MessagePrivate>> frames;
    QList<FrameError> rejected;
    int closed = 0;
    int written = 0;
    bool flushOnWrite = true;

    FrameError linkHello(Link *, const PeerIdentity &peer) override
    {
        hellos.append(peer);
        return admitAs;
    }
    void linkEstablished(Link *) override { ++established; }
    void linkFrame(Link *, MessagePrivate *frame) override
    {
        frames.append(QExplicitlySharedDataPointer<MessagePrivate>(frame, QAdoptSharedDataTag{}));
    }
    void linkRejected(Link *, FrameError reason) override { rejected.append(reason); }
    void linkClosed(Link *) override { ++closed; }
    void linkWritten(Link *link) override
    {
        ++written;
        if (flushOnWrite)
            link->flush();
    }
};

// The backend every link of the current test runs on (initTestCase_data()).
LinkBackend g_backend = LinkBackend::Descriptor;

LinkSetup setupFor(Handshake::Side side, PeerRole role, const CryptoKey &psk)
{
    LinkSetup s;
    s.backend = g_backend;
    s.side = side;
    s.scope = Handshake::Scope::Local;
    s.localRole = role;
    s.localMachine = Machine;
    s.localPid = quint32(::getpid());
    s.localSlot = role == PeerRole::Worker ? 0 : -1;
    s.psk = psk;
    s.maxMessageLength = maxMessageLength();
    s.handshakeTimeoutMs = 5000;
    return s;
}

// A message authored as this process, with \a size payload bytes of a pattern.
QExplicitlySharedDataPointer<MessagePrivate> message(quint32 opcode, qsizetype size, char seed = 'a')
{
    QByteArray data(size, Qt::Uninitialized);
    for (qsizetype i = 0; i < size; ++i)
        data[i] = char(seed + i % 23);
    Wire::Header h = Authoring::header(Wire::Opcode, opcode);
    h.originMachine = Machine;
    h.originSlot = 0;
    return QExplicitlySharedDataPointer<MessagePrivate>(MessagePrivate::create(h, Payload(data)));
}

struct Pair
{
    Recorder masterSide, workerSide;
    QPointer<Link> master, worker;
    int rawWorkerFd = -1;   // when the worker side is a raw socket instead of a Link

    Pair(const CryptoKey &masterKey, const CryptoKey &workerKey, bool rawWorker = false)
    {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
            qFatal("socketpair");
        master = makeLocalLink(&masterSide, setupFor(Handshake::Side::Acceptor, PeerRole::Master,
                                                      masterKey), sv[0]);
        if (rawWorker) {
            rawWorkerFd = sv[1];
        } else {
            worker = makeLocalLink(&workerSide, setupFor(Handshake::Side::Connector,
                                                          PeerRole::Worker, workerKey), sv[1]);
        }
        master->start();
        if (worker)
            worker->start();
    }
    ~Pair()
    {
        delete master.data();
        delete worker.data();
        if (rawWorkerFd >= 0)
            ::close(rawWorkerFd);
    }
};

} // namespace

class tst_Link : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase_data();
    void initTestCase();
    void init();
    void handshakeAndHello();
    void helloCarriesIdentity();
    void framesBothWays_data();
    void framesBothWays();
    void manyFramesOneRecord();
    void refusedHelloCloses();
    void wrongKeyFailsHandshake();
    void garbageBeforePreamble();
    void garbageAfterHandshake_data();
    void garbageAfterHandshake();
    void oversizedRecordRejected();
    void handshakeDeadline();
    void truncatedStream();
    void gracefulCloseSendsFinal();
    void writesBeforeHandshakeWait();
    void backpressureDrains();
    void writeNotifierWaitsForSealing();

private:
    void rawHandshake(int fd, QByteArray *finish);

    CryptoKey m_key;
};

void tst_Link::initTestCase_data()
{
    // Every test runs over each link backend: the descriptor one (the default) and Qt's
    // sockets (IoDeviceLink over QLocalSocket).
    QTest::addColumn<LinkBackend>("backend");
    QTest::newRow("descriptor") << LinkBackend::Descriptor;
    QTest::newRow("qt") << LinkBackend::QtSocket;
}

void tst_Link::init()
{
    QFETCH_GLOBAL(LinkBackend, backend);
    g_backend = backend;
}

void tst_Link::initTestCase()
{
    QVERIFY(Crypto::initialize());
    m_key = CryptoKey::derive("link test secret", "plexusv2");
}

void tst_Link::handshakeAndHello()
{
    Pair p(m_key, m_key);
    QTRY_COMPARE(p.masterSide.established, 1);
    QTRY_COMPARE(p.workerSide.established, 1);
    QVERIFY(p.master->isEstablished());
    QVERIFY(p.worker->isEstablished());
    QCOMPARE(p.masterSide.rejected.size(), 0);
    QCOMPARE(p.workerSide.rejected.size(), 0);
}

void tst_Link::helloCarriesIdentity()
{
    Pair p(m_key, m_key);
    QTRY_COMPARE(p.masterSide.hellos.size(), 1);
    const PeerIdentity w = p.masterSide.hellos.first();
    QCOMPARE(w.role, PeerRole::Worker);
    QCOMPARE(w.machine, Machine);
    QCOMPARE(w.pid, qint64(::getpid()));
    QCOMPARE(w.version, QString::fromLatin1(Plexus::version()));
    QTRY_COMPARE(p.workerSide.hellos.size(), 1);
    QCOMPARE(p.workerSide.hellos.first().role, PeerRole::Master);
}

void tst_Link::framesBothWays_data()
{
    QTest::addColumn<qsizetype>("size");
    for (qsizetype size : {0, 1, 63, 64, 4096, 65535, 65536, 65537, 1 << 20, (1 << 20) + 7, 3 << 20})
        QTest::addRow("%lld", qlonglong(size)) << size;
}

void tst_Link::framesBothWays()
{
    QFETCH(qsizetype, size);
    Pair p(m_key, m_key);
    QTRY_VERIFY(p.master->isEstablished() && p.worker->isEstablished());
    auto out = message(42, size);
    p.worker->write(*out);
    p.master->write(*message(43, size, 'k'));
    QTRY_COMPARE(p.masterSide.frames.size(), 1);
    QTRY_COMPARE(p.workerSide.frames.size(), 1);
    const auto &in = p.masterSide.frames.first();
    QCOMPARE(in->header.target, quint64(42));
    QCOMPARE(in->header.privateFlags, quint16(Wire::Opcode));
    QCOMPARE(in->data(), out->data());
    QCOMPARE(p.workerSide.frames.first()->data(), message(43, size, 'k')->data());
}

void tst_Link::manyFramesOneRecord()
{
    Pair p(m_key, m_key);
    QTRY_VERIFY(p.master->isEstablished() && p.worker->isEstablished());
    p.workerSide.flushOnWrite = false;   // as the router's cork does
    quint64 recordsBefore = p.worker->counters().recordsOut;
    for (int i = 0; i < 400; ++i)
        p.worker->write(*message(quint32(i + 1), 64));
    // 400 frames of 128 bytes: one record, sealed only when the batch is flushed.
    QCOMPARE(p.worker->counters().recordsOut - recordsBefore, quint64(0));
    p.worker->flush();
    QCOMPARE(p.worker->counters().recordsOut - recordsBefore, quint64(1));
    QTRY_COMPARE(p.masterSide.frames.size(), 400);
    for (int i = 0; i < 400; ++i)
        QCOMPARE(p.masterSide.frames[i]->header.target, quint64(i + 1));
    // A longer batch goes out in 64 KiB records while it is written, so the peer can start.
    recordsBefore = p.worker->counters().recordsOut;
    for (int i = 0; i < 1200; ++i)
        p.worker->write(*message(quint32(i + 1), 64));
    QCOMPARE(p.worker->counters().recordsOut - recordsBefore, quint64(2));
    p.worker->flush();
    QCOMPARE(p.worker->counters().recordsOut - recordsBefore, quint64(3));
    QTRY_COMPARE(p.masterSide.frames.size(), 1600);
}

void tst_Link::refusedHelloCloses()
{
    Pair p(m_key, m_key);
    p.masterSide.admitAs = FrameError::BadHandshake;
    QTRY_COMPARE(p.masterSide.closed, 1);
    QCOMPARE(p.masterSide.established, 0);
    QCOMPARE(p.masterSide.rejected, QList<FrameError>{FrameError::BadHandshake});
    QTRY_COMPARE(p.workerSide.closed, 1);
}

void tst_Link::wrongKeyFailsHandshake()
{
    Pair p(m_key, CryptoKey::derive("another secret", "plexusv2"));
    QTRY_COMPARE(p.masterSide.closed, 1);
    QCOMPARE(p.masterSide.rejected, QList<FrameError>{FrameError::AuthenticationFailed});
    QCOMPARE(p.masterSide.hellos.size(), 0);
    QTRY_COMPARE(p.workerSide.closed, 1);
    QCOMPARE(p.workerSide.established, 0);
}

void tst_Link::garbageBeforePreamble()
{
    Pair p(m_key, m_key, /*rawWorker=*/true);
    const QByteArray garbage(200, 'G');
    QCOMPARE(::write(p.rawWorkerFd, garbage.constData(), size_t(garbage.size())), ssize_t(garbage.size()));
    QTRY_COMPARE(p.masterSide.closed, 1);
    QCOMPARE(p.masterSide.rejected, QList<FrameError>{FrameError::BadHandshake});
}

// The connector's side of a real handshake, driven by hand over a raw socket; *finish gets
// the connector's last message, for the caller to send with whatever it wants after it.
void tst_Link::rawHandshake(int fd, QByteArray *finish)
{
    Handshake hs(Handshake::Side::Connector, PeerRole::Worker, m_key);
    const QByteArray first = hs.start();
    QCOMPARE(::write(fd, first.constData(), size_t(first.size())), ssize_t(first.size()));
    QByteArray answer(Handshake::AcceptorMessageSize, Qt::Uninitialized);
    qsizetype have = 0;
    QTRY_VERIFY((have += qMax<ssize_t>(0, ::recv(fd, answer.data() + have,
                                                 size_t(answer.size() - have), MSG_DONTWAIT)))
                == answer.size());
    QCOMPARE(hs.consume(answer.constData(), finish), Handshake::State::Done);
}

void tst_Link::garbageAfterHandshake_data()
{
    QTest::addColumn<bool>("secondHandshake");
    QTest::newRow("bytes that are no record") << false;
    QTest::newRow("a second handshake on the live link") << true;
}

void tst_Link::garbageAfterHandshake()
{
    // A real handshake from a raw socket, then bytes that are no record:
    // either filler or the opening of a second handshake.
    QFETCH(bool, secondHandshake);
    Pair p(m_key, m_key, true);
    QByteArray finish;
    rawHandshake(p.rawWorkerFd, &finish);
    if (QTest::currentTestFailed())
        return;
    if (secondHandshake) {
        Handshake again(Handshake::Side::Connector, PeerRole::Worker, m_key);
        finish.append(again.start());
    } else {
        finish.append(QByteArray(64, '\x55'));   // a "record" that cannot authenticate
    }
    QCOMPARE(::write(p.rawWorkerFd, finish.constData(), size_t(finish.size())), ssize_t(finish.size()));
    QTRY_COMPARE(p.masterSide.closed, 1);
    QCOMPARE(p.masterSide.rejected.size(), 1);
    QVERIFY(p.masterSide.rejected.first() == FrameError::AuthenticationFailed
            || p.masterSide.rejected.first() == FrameError::OversizedFrame);
}

void tst_Link::oversizedRecordRejected()
{
    Pair p(m_key, m_key, true);
    QByteArray finish;
    rawHandshake(p.rawWorkerFd, &finish);
    if (QTest::currentTestFailed())
        return;
    // A record announcing 4 GiB: refused on its 4 length bytes, nothing allocated.
    finish.append("\xff\xff\xff\xff", 4);
    QCOMPARE(::write(p.rawWorkerFd, finish.constData(), size_t(finish.size())), ssize_t(finish.size()));
    QTRY_COMPARE(p.masterSide.closed, 1);
    QCOMPARE(p.masterSide.rejected, QList<FrameError>{FrameError::OversizedFrame});
}

void tst_Link::handshakeDeadline()
{
    int sv[2];
    QCOMPARE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    Recorder r;
    LinkSetup s = setupFor(Handshake::Side::Acceptor, PeerRole::Master, m_key);
    s.handshakeTimeoutMs = 200;
    std::unique_ptr<Link> link(makeLocalLink(&r, s, sv[0]));
    link->start();
    // A slow drip keeps the connection busy but never finishes the handshake.
    QTRY_COMPARE_WITH_TIMEOUT(r.closed, 1, 5000);
    QCOMPARE(r.rejected, QList<FrameError>{FrameError::HandshakeTimeout});
    ::close(sv[1]);
}

void tst_Link::truncatedStream()
{
    Pair p(m_key, m_key, true);
    Handshake hs(Handshake::Side::Connector, PeerRole::Worker, m_key);
    const QByteArray first = hs.start();
    // Half of the key message, then the connection ends.
    QCOMPARE(::write(p.rawWorkerFd, first.constData(), 40), ssize_t(40));
    ::close(p.rawWorkerFd);
    p.rawWorkerFd = -1;
    QTRY_COMPARE(p.masterSide.closed, 1);
    QCOMPARE(p.masterSide.rejected, QList<FrameError>{FrameError::TruncatedFrame});
}

void tst_Link::gracefulCloseSendsFinal()
{
    Pair p(m_key, m_key);
    QTRY_VERIFY(p.master->isEstablished() && p.worker->isEstablished());
    p.worker->write(*message(7, 10));
    p.worker->closeGracefully(1000);
    QTRY_COMPARE(p.masterSide.closed, 1);
    QCOMPARE(p.masterSide.frames.size(), 1);
    QCOMPARE(p.masterSide.rejected.size(), 0);   // a clean end, not a cut
}

void tst_Link::writesBeforeHandshakeWait()
{
    Pair p(m_key, m_key);
    // Written at once, before either side could seal: delivered after the Hello.
    p.worker->write(*message(5, 100));
    QTRY_COMPARE(p.masterSide.frames.size(), 1);
    QCOMPARE(p.masterSide.hellos.size(), 1);
    QCOMPARE(p.masterSide.frames.first()->header.target, quint64(5));
}

void tst_Link::backpressureDrains()
{
    // The reading side runs in its own thread, as a peer process would: this thread blocks
    // in waitForDrain() while it reads.
    struct Counter : Recorder {
        std::atomic<int> count{0};
        void linkFrame(Link *, MessagePrivate *frame) override
        {
            QExplicitlySharedDataPointer<MessagePrivate> f(frame, QAdoptSharedDataTag{});
            if (f->header.length == 256 * 1024)
                ++count;
        }
    } peerSide;
    Recorder mySide;
    mySide.flushOnWrite = false;
    int sv[2];
    QCOMPARE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    QThread thread;
    QObject context;
    context.moveToThread(&thread);
    thread.start();
    Link *peer = nullptr;
    invokeBlocking(&context, [&] {
        peer = makeLocalLink(&peerSide, setupFor(Handshake::Side::Acceptor, PeerRole::Master, m_key), sv[0]);
        peer->start();
    });
    std::unique_ptr<Link> me(makeLocalLink(&mySide, setupFor(Handshake::Side::Connector,
                                                              PeerRole::Worker, m_key), sv[1]));
    me->start();
    QTRY_VERIFY(me->isEstablished());
    // The reader is held until the writes are queued: otherwise, on another core, it can
    // keep up with one flush and leave nothing to wait for.
    QSemaphore gate;
    Plexus::invokeQueued(&context, [&] { gate.acquire(); });
    for (int i = 0; i < 64; ++i)
        me->write(*message(9, 256 * 1024));   // 16 MiB, more than the socket buffers hold
    me->flush();
    QVERIFY(me->queuedBytes() > 0);
    gate.release();
    QVERIFY(me->waitForDrain(0, 30000, false));
    QCOMPARE(me->queuedBytes(), 0);
    QTRY_COMPARE(peerSide.count.load(), 64);
    invokeBlocking(&context, [&] { delete peer; });
    thread.quit();
    thread.wait();
}

void tst_Link::writeNotifierWaitsForSealing()
{
    // Regression: with the socket full, the write notifier fired between a write and the
    // end of its batch and sent the record being filled, unsealed: the peer rejected the
    // stream (a 150k-call burst failed with "authentication failed").
    Pair p(m_key, m_key);
    QTRY_VERIFY(p.master->isEstablished() && p.worker->isEstablished());
    p.workerSide.flushOnWrite = false;   // as inside the router's cork
    for (int i = 0; i < 32; ++i)
        p.worker->write(*message(11, 256 * 1024));
    p.worker->flush();
    QVERIFY(p.worker->queuedBytes() > 0);   // the socket is full: the notifier is armed
    p.worker->write(*message(12, 100));     // a batch in progress, not flushed yet
    // The event loop runs: the peer reads, the socket drains, the notifier fires.
    QTRY_VERIFY_WITH_TIMEOUT(p.masterSide.frames.size() >= 32, 10000);
    p.worker->flush();
    QTRY_COMPARE(p.masterSide.frames.size(), 33);
    QCOMPARE(p.masterSide.rejected.size(), 0);
    QCOMPARE(p.masterSide.frames.last()->header.target, quint64(12));
}

QTEST_GUILESS_MAIN(tst_Link)
#include "tst_link.moc"
