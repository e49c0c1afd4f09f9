// SPDX-License-Identifier: MIT
//
// The sealed envelope of the broker engine (docs/PROTOCOL.md section 10): what the broker
// sees, that no byte and no subject can be changed, the frame and presence bodies, and the
// replay rules (sequence window, time window, bounded epochs and streams).

#include "brokerwire_p.h"

#include <QtCore/qrandom.h>
#include <QtCore/qset.h>
#include <QtTest/qtest.h>

using namespace Plexus;
using namespace Plexus::BrokerWire;

namespace {

const QByteArray Subject = "plx.0123456789abcdef.m.42";

CryptoKey key(const char *secret = "broker test secret")
{
    return CryptoKey::derive(QByteArrayView(secret), "plexbrk1");
}

Envelope env(quint64 sequence = 1, Channel c = Channel::Direct)
{
    Envelope e;
    e.channel = c;
    e.role = 1;
    e.sender = 0x42;
    e.epoch = 0x1234;
    e.sequence = sequence;
    e.timestampMs = 1'700'000'000'000;
    return e;
}

QByteArray frame(const QByteArray &payload, quint32 opcode = 0x4242)
{
    Wire::Header h;
    h.privateFlags = Wire::Opcode;
    h.target = opcode;
    h.length = quint32(payload.size());
    h.originMachine = 0x42;
    h.originPid = 4242;
    QByteArray out(Wire::HeaderSize, Qt::Uninitialized);
    Wire::encodeHeader(h, out.data());
    return out + payload;
}

} // namespace

class tst_BrokerWire : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { QVERIFY(Crypto::initialize()); }
    void roundTrip();
    void brokerSeesNoPlaintext();
    void everyByteIsAuthenticated();
    void subjectIsBound();
    void wrongKey();
    void truncatedAndOversized();
    void frameBody();
    void allBodyNamesItsTargets();
    void presence();
    void sequenceWindow();
    void replayGuardTimeWindow();
    void replayGuardStreamsAreBounded();
    void replayGuardForgetsExpiredEpochs();
};

void tst_BrokerWire::roundTrip()
{
    const QByteArray body = frame("hello");
    const QByteArray sealed = seal(key(), env(7), Subject, {body});
    QCOMPARE(sealed.size(), body.size() + Overhead);
    Envelope e;
    QByteArray opened;
    QCOMPARE(open(sealed, key(), Subject, 1 << 20, &e, &opened), FrameError::NoError);
    QCOMPARE(opened, body);
    QCOMPARE(e.sequence, 7u);
    QCOMPARE(e.sender, 0x42u);
    QCOMPARE(e.epoch, 0x1234u);
    QCOMPARE(e.channel, Channel::Direct);
    // Parts are concatenated.
    const QByteArray parts = seal(key(), env(8), Subject, {body.left(10), body.mid(10)});
    QCOMPARE(open(parts, key(), Subject, 1 << 20, &e, &opened), FrameError::NoError);
    QCOMPARE(opened, body);
}

void tst_BrokerWire::brokerSeesNoPlaintext()
{
    // Neither the payload, nor the op-code, nor the pid of the frame is in the clear.
    const QByteArray payload = "secret payload text";
    const QByteArray sealed = seal(key(), env(), Subject, {frame(payload, 0x0BADC0DE)});
    QVERIFY(!sealed.contains(payload));
    QByteArray opcode(4, '\0');
    qToLittleEndian<quint32>(0x0BADC0DE, opcode.data());
    QVERIFY(!sealed.contains(opcode));
    QByteArray pid(4, '\0');
    qToLittleEndian<quint32>(4242, pid.data());
    QVERIFY(!sealed.mid(HeaderSize).contains(pid));
}

void tst_BrokerWire::everyByteIsAuthenticated()
{
    const QByteArray sealed = seal(key(), env(), Subject, {frame("payload")});
    for (qsizetype i = 0; i < sealed.size(); ++i) {
        QByteArray bad = sealed;
        bad[i] = char(bad[i] ^ 0x01);
        Envelope e;
        QByteArray body;
        const FrameError r = open(bad, key(), Subject, 1 << 20, &e, &body);
        QVERIFY2(r == FrameError::AuthenticationFailed || r == FrameError::MalformedHeader,
                 qPrintable(QString::number(i)));
        QVERIFY(body.isEmpty());
    }
}

void tst_BrokerWire::subjectIsBound()
{
    // The broker cannot deliver a message on another subject (another machine's inbox).
    const QByteArray sealed = seal(key(), env(), Subject, {frame("x")});
    Envelope e;
    QByteArray body;
    QCOMPARE(open(sealed, key(), "plx.0123456789abcdef.m.43", 1 << 20, &e, &body),
             FrameError::AuthenticationFailed);
    QCOMPARE(open(sealed, key(), "plx.0123456789abcdef.all", 1 << 20, &e, &body),
             FrameError::AuthenticationFailed);
    // A subject longer than any we use is refused, not truncated.
    QVERIFY(seal(key(), env(), QByteArray(MaxSubjectLength + 1, 'a'), {frame("x")}).isEmpty());
    QCOMPARE(open(sealed, key(), QByteArray(MaxSubjectLength + 1, 'a'), 1 << 20, &e, &body),
             FrameError::MalformedHeader);
}

void tst_BrokerWire::wrongKey()
{
    const QByteArray sealed = seal(key(), env(), Subject, {frame("x")});
    Envelope e;
    QByteArray body;
    QCOMPARE(open(sealed, key("another secret"), Subject, 1 << 20, &e, &body),
             FrameError::AuthenticationFailed);
    QVERIFY(seal(CryptoKey(), env(), Subject, {frame("x")}).isEmpty());
}

void tst_BrokerWire::truncatedAndOversized()
{
    const QByteArray sealed = seal(key(), env(), Subject, {frame(QByteArray(100, 'p'))});
    Envelope e;
    QByteArray body;
    QCOMPARE(open(sealed.left(Overhead - 1), key(), Subject, 1 << 20, &e, &body), FrameError::TruncatedFrame);
    QCOMPARE(open(sealed.chopped(1), key(), Subject, 1 << 20, &e, &body), FrameError::AuthenticationFailed);
    QCOMPARE(open(sealed, key(), Subject, 99, &e, &body), FrameError::OversizedFrame);
    QCOMPARE(open(QByteArray(), key(), Subject, 1 << 20, &e, &body), FrameError::TruncatedFrame);
    // Authentic but not what a sender makes: sequence 0, epoch 0, an unknown role.
    for (auto change : {+[](Envelope &x) { x.sequence = 0; }, +[](Envelope &x) { x.epoch = 0; },
                        +[](Envelope &x) { x.role = 2; }, +[](Envelope &x) { x.sender = 0; }}) {
        Envelope bad = env();
        change(bad);
        QCOMPARE(open(seal(key(), bad, Subject, {frame("x")}), key(), Subject, 1 << 20, &e, &body),
                 FrameError::MalformedHeader);
    }
}

void tst_BrokerWire::frameBody()
{
    QList<FrameView> frames;
    bool forUs = false;
    const QByteArray body = frame("abc");
    QCOMPARE(parseFrames(body, Channel::Direct, 1024, 42, &forUs, &frames), FrameError::NoError);
    QVERIFY(forUs);
    QCOMPARE(frames.size(), 1);
    QCOMPARE(frames[0].payload, QByteArrayView("abc"));
    QCOMPARE(frames[0].header.target, 0x4242u);
    // Several frames of one turn, in order; appendFrame() builds the same bytes.
    QByteArray three = body;
    three += frame("");
    three += frame("defg", 7);
    QCOMPARE(parseFrames(three, Channel::Direct, 1024, 42, &forUs, &frames), FrameError::NoError);
    QCOMPARE(frames.size(), 3);
    QCOMPARE(frames[1].payload.size(), 0);
    QCOMPARE(frames[2].payload, QByteArrayView("defg"));
    QCOMPARE(frames[2].header.target, 7u);
    QByteArray built;
    appendFrame(&built, frames[0].header, "abc");
    appendFrame(&built, frames[1].header, "");
    appendFrame(&built, frames[2].header, "defg");
    QCOMPARE(built, three);

    QCOMPARE(parseFrames(body, Channel::Direct, 2, 42, &forUs, &frames), FrameError::OversizedFrame);
    QVERIFY(frames.isEmpty());
    QCOMPARE(parseFrames(QByteArray(body + 'x'), Channel::Direct, 1024, 42, &forUs, &frames), FrameError::TruncatedFrame);
    QCOMPARE(parseFrames(body.chopped(1), Channel::Direct, 1024, 42, &forUs, &frames), FrameError::TruncatedFrame);
    QCOMPARE(parseFrames(three.chopped(1), Channel::Direct, 1024, 42, &forUs, &frames), FrameError::TruncatedFrame);
    QVERIFY(frames.isEmpty());   // nothing of a body that is not whole
    QCOMPARE(parseFrames(body.left(10), Channel::Direct, 1024, 42, &forUs, &frames), FrameError::TruncatedFrame);
    QCOMPARE(parseFrames(QByteArray(), Channel::Direct, 1024, 42, &forUs, &frames), FrameError::TruncatedFrame);
    QCOMPARE(parseFrames(body, Channel::Presence, 1024, 42, &forUs, &frames), FrameError::UnexpectedFrame);
    QByteArray badFlags = three;
    qToLittleEndian<quint16>(0x8000, badFlags.data() + body.size() + Wire::HeaderSize + 6);
    QCOMPARE(parseFrames(badFlags, Channel::Direct, 1024, 42, &forUs, &frames), FrameError::MalformedHeader);
}

void tst_BrokerWire::allBodyNamesItsTargets()
{
    QList<FrameView> frames;
    bool forUs = false;
    const QByteArray body = targetList({1, 2, 0xffffffffffffffffull}).append(frame("abc"));
    QCOMPARE(parseFrames(body, Channel::All, 1024, 2, &forUs, &frames), FrameError::NoError);
    QVERIFY(forUs);
    QCOMPARE(frames.size(), 1);
    QCOMPARE(frames[0].payload, QByteArrayView("abc"));
    QCOMPARE(parseFrames(body, Channel::All, 1024, 3, &forUs, &frames), FrameError::NoError);
    QVERIFY(!forUs);   // well-formed, for the machines its sender knew of: not us
    // No list, an empty one, a count past the body, too many machines, no frame.
    QCOMPARE(parseFrames(QByteArray("ab"), Channel::All, 1024, 2, &forUs, &frames), FrameError::TruncatedFrame);
    QCOMPARE(parseFrames(targetList({}).append(frame("abc")), Channel::All, 1024, 2, &forUs, &frames),
             FrameError::MalformedHeader);
    QCOMPARE(parseFrames(targetList({1, 2}).left(12), Channel::All, 1024, 2, &forUs, &frames),
             FrameError::MalformedHeader);
    QByteArray huge = targetList({1}).append(frame("abc"));
    qToLittleEndian<quint32>(MaxTargets + 1, huge.data());
    QCOMPARE(parseFrames(huge, Channel::All, 1024, 1, &forUs, &frames), FrameError::MalformedHeader);
    QCOMPARE(parseFrames(targetList({1, 2}), Channel::All, 1024, 2, &forUs, &frames), FrameError::TruncatedFrame);
}

void tst_BrokerWire::presence()
{
    Presence p;
    for (auto kind : {PresenceKind::Hello, PresenceKind::Heartbeat, PresenceKind::Bye, PresenceKind::Answer}) {
        p.kind = kind;
        Presence out;
        QCOMPARE(parsePresence(presenceBody(p), &out), FrameError::NoError);
        QCOMPARE(out.kind, kind);
    }
    QByteArray bad = presenceBody(p);
    bad[0] = 9;
    Presence out;
    QCOMPARE(parsePresence(bad, &out), FrameError::MalformedHeader);
    bad = presenceBody(p);
    bad[7] = 1;
    QCOMPARE(parsePresence(bad, &out), FrameError::MalformedHeader);
    QCOMPARE(parsePresence(presenceBody(p).append('x'), &out), FrameError::MalformedHeader);
    bad = presenceBody(p);
    qToLittleEndian<quint16>(Wire::ProtocolVersion + 1, bad.data() + 2);
    QCOMPARE(parsePresence(bad, &out), FrameError::VersionMismatch);
}

void tst_BrokerWire::sequenceWindow()
{
    SequenceWindow w;
    QVERIFY(!w.accept(0));
    QVERIFY(w.accept(1));
    QVERIFY(!w.accept(1));
    // Out of order inside the window: each once.
    QVERIFY(w.accept(100));
    QVERIFY(w.accept(50));
    QVERIFY(!w.accept(50));
    QVERIFY(w.accept(99));
    QVERIFY(!w.accept(100));
    // Shifts across word boundaries keep what was seen.
    QVERIFY(w.accept(100 + 63));
    QVERIFY(w.accept(100 + 64 + 65));
    QVERIFY(!w.accept(99));
    QVERIFY(!w.accept(50));
    QVERIFY(!w.accept(100 + 63));
    QVERIFY(w.accept(98));
    // Older than the window: refused.
    QVERIFY(w.accept(100000));
    QVERIFY(!w.accept(100000 - SequenceWindow::Span));
    QVERIFY(w.accept(100000 - SequenceWindow::Span + 1));
    QVERIFY(!w.accept(100000 - SequenceWindow::Span + 1));
    // A jump larger than the window forgets everything below it.
    QVERIFY(w.accept(1'000'000));
    QVERIFY(!w.accept(1'000'000 - SequenceWindow::Span));
    QVERIFY(w.accept(1'000'000 - 1));
    // The ring wraps many times over; numbers a word apart stay apart.
    SequenceWindow r;
    for (quint64 s = 1; s < 100000; s += 3)
        QVERIFY(r.accept(s));
    for (quint64 s = 100000 - 3000; s < 100000; ++s)
        QCOMPARE(r.accept(s), s % 3 != 1);

    // Against a model: random order inside a window, each number accepted exactly once.
    SequenceWindow m;
    QSet<quint64> seen;
    quint64 highest = 0;
    for (int i = 0; i < 200000; ++i) {
        const quint64 base = quint64(i) + 1;
        const quint64 s = base > 2000 ? base - quint64(QRandomGenerator::global()->bounded(2000)) : base;
        const bool fresh = !seen.contains(s) && (s > highest || highest - s < SequenceWindow::Span);
        QCOMPARE(m.accept(s), fresh);
        if (fresh) {
            seen.insert(s);
            highest = qMax(highest, s);
        }
    }
}

void tst_BrokerWire::replayGuardTimeWindow()
{
    ReplayGuard g;
    const qint64 now = 1'700'000'000'000;
    Envelope e = env(1);
    e.timestampMs = quint64(now);
    QCOMPARE(g.check(e, now), FrameError::NoError);
    QCOMPARE(g.check(e, now), FrameError::ReplayedFrame);
    // Streams are separate: the same number on another channel or epoch is new.
    Envelope other = e;
    other.channel = Channel::All;
    QCOMPARE(g.check(other, now), FrameError::NoError);
    other = e;
    other.epoch = 99;
    QCOMPARE(g.check(other, now), FrameError::NoError);
    // Too old or too far ahead.
    e.sequence = 2;
    e.timestampMs = quint64(now - WindowMs - 1);
    QCOMPARE(g.check(e, now), FrameError::ReplayedFrame);
    e.timestampMs = quint64(now + WindowMs + 1);
    QCOMPARE(g.check(e, now), FrameError::ReplayedFrame);
    e.timestampMs = quint64(now - WindowMs);
    QCOMPARE(g.check(e, now), FrameError::NoError);
}

void tst_BrokerWire::replayGuardStreamsAreBounded()
{
    const qint64 now = 1'700'000'000'000;
    ReplayGuard g(100);
    Envelope e = env(1);
    e.timestampMs = quint64(now);
    // One sender: at most MaxEpochs × 3 streams at once.
    int accepted = 0;
    for (int i = 1; i <= 200; ++i) {
        e.epoch = quint64(i);
        accepted += g.check(e, now) == FrameError::NoError;
    }
    QCOMPARE(accepted, ReplayGuard::MaxEpochs * 3);
    // Many senders: at most maxStreams.
    ReplayGuard g2(100);
    accepted = 0;
    for (int i = 1; i <= 1000; ++i) {
        e.sender = quint64(i);
        accepted += g2.check(e, now) == FrameError::NoError;
    }
    QCOMPARE(accepted, 100);
    QCOMPARE(g2.streams(), 100);
}

void tst_BrokerWire::replayGuardForgetsExpiredEpochs()
{
    const qint64 now = 1'700'000'000'000;
    ReplayGuard g(10);
    Envelope e = env(1);
    e.timestampMs = quint64(now);
    for (int i = 1; i <= 10; ++i) {
        e.sender = quint64(i);
        QCOMPARE(g.check(e, now), FrameError::NoError);
    }
    e.sender = 11;
    QCOMPARE(g.check(e, now), FrameError::ReplayedFrame);   // full
    // Once the window has passed, the old streams go, and a copy of one of their messages
    // is refused by its time instead.
    const qint64 later = now + WindowMs + 1;
    e.timestampMs = quint64(later);
    QCOMPARE(g.check(e, later), FrameError::NoError);
    QCOMPARE(g.streams(), 1);
    Envelope old = env(1);
    old.sender = 1;
    old.timestampMs = quint64(now);
    QCOMPARE(g.check(old, later), FrameError::ReplayedFrame);
}

QTEST_GUILESS_MAIN(tst_BrokerWire)
#include "tst_brokerwire.moc"
