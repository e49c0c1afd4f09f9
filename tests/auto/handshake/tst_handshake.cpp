// SPDX-License-Identifier: MIT
//
// The v2 handshake on its own: key exchange authenticated by the pre-shared key, session
// keys per direction, what a peer without the key (or with a tampered message) gets, the
// Hello and the admission rules, and a pinned test vector of the key schedule.

#include "handshake_p.h"

#include <QtTest/QtTest>

#include <sodium.h>

using namespace Plexus;

namespace {

struct Pair
{
    Handshake connector;
    Handshake acceptor;
    Pair(const CryptoKey &c, const CryptoKey &a)
        : connector(Handshake::Side::Connector, PeerRole::Worker, c),
          acceptor(Handshake::Side::Acceptor, PeerRole::Master, a)
    {
    }
};

// Runs the handshake; returns the three messages as they went over the wire.
QList<QByteArray> run(Pair &p)
{
    QList<QByteArray> wire;
    wire << p.connector.start();
    QByteArray answer;
    if (p.acceptor.consume(wire[0].constData(), &answer) == Handshake::State::Failed)
        return wire;
    wire << answer;
    QByteArray finish;
    if (p.connector.consume(answer.constData(), &finish) == Handshake::State::Failed)
        return wire;
    wire << finish;
    p.acceptor.consume(finish.constData(), &finish);
    return wire;
}

// Seals \a text with \a from's sealer and opens it with \a to's opener.
FrameError exchange(Handshake &from, Handshake &to, const QByteArray &text)
{
    QByteArray record(Record::Overhead + text.size(), Qt::Uninitialized);
    from.sealer().sealFrom(text.constData(), text.size(), record.data());
    Record::Tag tag;
    const FrameError e = to.opener().openInPlace(record.data(), record.size() - 4, &tag);
    if (e == FrameError::NoError && record.mid(Record::PlainOffset, text.size()) != text)
        return FrameError::MalformedHeader;
    return e;
}

Wire::Header helloHeader(quint64 machine, quint32 pid, qint32 slot)
{
    Wire::Header h;
    h.privateFlags = Wire::Control;
    h.target = Wire::ControlHello;
    h.originMachine = machine;
    h.originPid = pid;
    h.originSlot = slot;
    return h;
}

} // namespace

class tst_Handshake : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void completesBothWays();
    void messageSizes();
    void sessionsAreFresh();
    void wrongKey();
    void connectorMessageTampered();
    void acceptorMessageTampered();
    void streamHeaderTampered();
    void lowOrderPointRefused();
    void peekJudgesPreamble_data();
    void peekJudgesPreamble();
    void secretsWipedWhenDone();
    void hello_data();
    void hello();
    void helloRoundTrip();
    void admit_data();
    void admit();
    void testVector();

private:
    CryptoKey m_psk;
};

void tst_Handshake::initTestCase()
{
    QVERIFY(Crypto::initialize());
    m_psk = CryptoKey::derive("the shared secret", "plexusv2");
}

void tst_Handshake::completesBothWays()
{
    Pair p(m_psk, m_psk);
    QVERIFY(!p.connector.canSend());
    run(p);
    QCOMPARE(p.connector.state(), Handshake::State::Done);
    QCOMPARE(p.acceptor.state(), Handshake::State::Done);
    QCOMPARE(p.acceptor.peerPreambleRole(), PeerRole::Worker);
    QCOMPARE(p.connector.peerPreambleRole(), PeerRole::Master);
    for (int i = 0; i < 3; ++i) {
        QCOMPARE(exchange(p.connector, p.acceptor, "to the master " + QByteArray::number(i)), FrameError::NoError);
        QCOMPARE(exchange(p.acceptor, p.connector, "to the worker " + QByteArray::number(i)), FrameError::NoError);
    }
    // One key per direction: a record cannot be turned back at its sender.
    QByteArray record(Record::Overhead + 4, Qt::Uninitialized);
    p.connector.sealer().sealFrom("echo", 4, record.data());
    Record::Tag tag;
    Handshake other(Handshake::Side::Connector, PeerRole::Worker, m_psk);
    QCOMPARE(p.connector.opener().openInPlace(record.data(), record.size() - 4, &tag),
             FrameError::AuthenticationFailed);
}

void tst_Handshake::messageSizes()
{
    Pair p(m_psk, m_psk);
    QCOMPARE(p.acceptor.bytesNeeded(), Handshake::ConnectorMessageSize);
    const QList<QByteArray> wire = run(p);
    QCOMPARE(wire.size(), 3);
    QCOMPARE(wire[0].size(), qsizetype(80));
    QCOMPARE(wire[1].size(), qsizetype(104));
    QCOMPARE(wire[2].size(), qsizetype(24));
    QCOMPARE(wire[0].left(6), QByteArray("PLEXUS"));
    QCOMPARE(qFromLittleEndian<quint16>(wire[0].constData() + 6), Wire::ProtocolVersion);
}

void tst_Handshake::sessionsAreFresh()
{
    // The same pre-shared key, two sessions: the ephemeral keys make the session keys
    // differ, so a record of one session means nothing in the other (and the secret alone
    // cannot open a recorded session).
    Pair a(m_psk, m_psk), b(m_psk, m_psk);
    run(a);
    run(b);
    QCOMPARE(exchange(a.connector, b.acceptor, "crossed"), FrameError::AuthenticationFailed);
}

void tst_Handshake::wrongKey()
{
    Pair p(m_psk, CryptoKey::derive("another secret", "plexusv2"));
    run(p);
    QCOMPARE(p.acceptor.state(), Handshake::State::Failed);
    QCOMPARE(p.acceptor.error(), FrameError::AuthenticationFailed);
    QVERIFY(!p.acceptor.canSend());   // it answers nothing a keyless peer could use
    QCOMPARE(p.connector.state(), Handshake::State::AwaitingPeer);
}

void tst_Handshake::connectorMessageTampered()
{
    Handshake c(Handshake::Side::Connector, PeerRole::Worker, m_psk);
    const QByteArray first = c.start();
    for (qsizetype i = 0; i < first.size(); ++i) {
        QByteArray bad = first;
        bad[i] = char(bad[i] ^ 0x10);
        Handshake a(Handshake::Side::Acceptor, PeerRole::Master, m_psk);
        QByteArray answer;
        QCOMPARE(a.consume(bad.constData(), &answer), Handshake::State::Failed);
        QVERIFY2(answer.isEmpty(), qPrintable(QString::number(i)));
        QVERIFY(a.error() == FrameError::AuthenticationFailed || a.error() == FrameError::BadHandshake
                || a.error() == FrameError::VersionMismatch);
    }
}

void tst_Handshake::acceptorMessageTampered()
{
    for (qsizetype i = 0; i < Handshake::ConnectorMessageSize; ++i) {
        Pair p(m_psk, m_psk);
        const QByteArray first = p.connector.start();
        QByteArray answer;
        QCOMPARE(p.acceptor.consume(first.constData(), &answer), Handshake::State::AwaitingHeader);
        answer[i] = char(answer[i] ^ 0x01);
        QByteArray finish;
        QCOMPARE(p.connector.consume(answer.constData(), &finish), Handshake::State::Failed);
        QVERIFY(finish.isEmpty());
    }
}

void tst_Handshake::streamHeaderTampered()
{
    // The stream headers travel in the clear: changing one makes the first record fail.
    Pair p(m_psk, m_psk);
    QByteArray first = p.connector.start();
    QByteArray answer;
    p.acceptor.consume(first.constData(), &answer);
    QByteArray finish;
    QCOMPARE(p.connector.consume(answer.constData(), &finish), Handshake::State::Done);
    finish[3] = char(finish[3] ^ 0x80);
    QByteArray nothing;
    QCOMPARE(p.acceptor.consume(finish.constData(), &nothing), Handshake::State::Done);
    QCOMPARE(exchange(p.connector, p.acceptor, "first record"), FrameError::AuthenticationFailed);
}

void tst_Handshake::lowOrderPointRefused()
{
    // An ephemeral key of all zeros with a valid MAC (the peer holds the key): the
    // exchange would give a known shared secret, crypto_kx refuses it.
    unsigned char macKey[32], mixKey[32];
    Handshake::preSharedKeys(m_psk, macKey, mixKey);
    QByteArray first = Wire::preamble(quint8(PeerRole::Worker)) + QByteArray(32, '\0');
    unsigned char mac[32];
    crypto_generichash_state st;
    crypto_generichash_init(&st, macKey, 32, 32);
    crypto_generichash_update(&st, reinterpret_cast<const unsigned char *>("plexus-c"), 8);
    crypto_generichash_update(&st, reinterpret_cast<const unsigned char *>(first.constData()), size_t(first.size()));
    crypto_generichash_final(&st, mac, 32);
    first.append(reinterpret_cast<const char *>(mac), 32);
    Handshake a(Handshake::Side::Acceptor, PeerRole::Master, m_psk);
    QByteArray answer;
    QCOMPARE(a.consume(first.constData(), &answer), Handshake::State::Failed);
    QCOMPARE(a.error(), FrameError::BadHandshake);
    QVERIFY(answer.isEmpty());
}

void tst_Handshake::peekJudgesPreamble_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<FrameError>("expected");
    QByteArray otherVersion = Wire::preamble(2);
    qToLittleEndian<quint16>(Wire::ProtocolVersion + 1, otherVersion.data() + 6);
    QByteArray v1 = Wire::preamble(2);
    qToLittleEndian<quint16>(1, v1.data() + 6);
    QByteArray reserved = Wire::preamble(2);
    reserved[12] = 1;
    QByteArray badRole = Wire::preamble(2);
    badRole[8] = 0;
    QTest::newRow("fewer than 16 bytes") << QByteArray("PLEX") << FrameError::NoError;
    QTest::newRow("good preamble") << Wire::preamble(2) << FrameError::NoError;
    QTest::newRow("garbage") << QByteArray(16, 'G') << FrameError::BadHandshake;
    QTest::newRow("version 1 peer") << v1 << FrameError::VersionMismatch;
    QTest::newRow("a later version") << otherVersion << FrameError::VersionMismatch;
    QTest::newRow("reserved bytes") << reserved << FrameError::BadHandshake;
    QTest::newRow("role 0") << badRole << FrameError::BadHandshake;
}

void tst_Handshake::peekJudgesPreamble()
{
    QFETCH(QByteArray, bytes);
    QFETCH(FrameError, expected);
    Handshake a(Handshake::Side::Acceptor, PeerRole::Master, m_psk);
    QCOMPARE(a.peek(bytes.constData(), bytes.size()), expected);
    QCOMPARE(a.state() == Handshake::State::Failed, expected != FrameError::NoError);
}

void tst_Handshake::secretsWipedWhenDone()
{
    // The ephemeral secret key lives only until the session keys exist; after that a Done
    // handshake keeps only the two stream states.
    Pair p(m_psk, m_psk);
    run(p);
    QCOMPARE(p.connector.bytesNeeded(), qsizetype(0));
    QCOMPARE(p.acceptor.bytesNeeded(), qsizetype(0));
    QByteArray more;
    QCOMPARE(p.connector.consume("x", &more), Handshake::State::Done);   // ignored
    QVERIFY(more.isEmpty());
}

void tst_Handshake::hello_data()
{
    QTest::addColumn<Wire::Header>("header");
    QTest::addColumn<QByteArray>("payload");
    QTest::addColumn<FrameError>("expected");
    const QByteArray good = Handshake::helloPayload(PeerRole::Worker, false);
    Wire::Header notControl = helloHeader(1, 2, 0);
    notControl.privateFlags = Wire::Opcode;
    Wire::Header otherCode = helloHeader(1, 2, 0);
    otherCode.target = Wire::ControlStop;
    QByteArray badRole = good;
    badRole[0] = 7;
    QByteArray badFlags = good;
    badFlags[1] = char(0x82);
    QByteArray reserved = good;
    reserved[5] = 1;
    QTest::newRow("good") << helloHeader(1, 2, 0) << good << FrameError::NoError;
    QTest::newRow("not a control frame") << notControl << good << FrameError::UnexpectedFrame;
    QTest::newRow("another control code") << otherCode << good << FrameError::UnexpectedFrame;
    QTest::newRow("too short") << helloHeader(1, 2, 0) << good.left(7) << FrameError::BadHandshake;
    QTest::newRow("too long") << helloHeader(1, 2, 0) << good + QByteArray(40, 'v') << FrameError::BadHandshake;
    QTest::newRow("unknown role") << helloHeader(1, 2, 0) << badRole << FrameError::BadHandshake;
    QTest::newRow("unknown flag") << helloHeader(1, 2, 0) << badFlags << FrameError::BadHandshake;
    QTest::newRow("reserved byte") << helloHeader(1, 2, 0) << reserved << FrameError::BadHandshake;
}

void tst_Handshake::hello()
{
    QFETCH(Wire::Header, header);
    QFETCH(QByteArray, payload);
    QFETCH(FrameError, expected);
    PeerIdentity peer;
    QCOMPARE(Handshake::parseHello(header, payload, &peer), expected);
}

void tst_Handshake::helloRoundTrip()
{
    PeerIdentity peer;
    QCOMPARE(Handshake::parseHello(helloHeader(0xabcdef, 4242, 3),
                                   Handshake::helloPayload(PeerRole::Worker, true), &peer),
             FrameError::NoError);
    QCOMPARE(peer.role, PeerRole::Worker);
    QVERIFY(peer.isExec);
    QCOMPARE(peer.machine, quint64(0xabcdef));
    QCOMPARE(peer.pid, qint64(4242));
    QCOMPARE(peer.slot, 3);
    QCOMPARE(peer.version, QString::fromLatin1(Plexus::version()));
}

void tst_Handshake::admit_data()
{
    QTest::addColumn<Handshake::Scope>("scope");
    QTest::addColumn<PeerRole>("local");
    QTest::addColumn<Handshake::Side>("side");
    QTest::addColumn<PeerRole>("peerRole");
    QTest::addColumn<quint64>("peerMachine");
    QTest::addColumn<int>("peerSlot");
    QTest::addColumn<bool>("admitted");
    using S = Handshake::Scope;
    using D = Handshake::Side;
    const quint64 me = 0x1000, other = 0x2000;
    QTest::newRow("master accepts its worker") << S::Local << PeerRole::Master << D::Acceptor << PeerRole::Worker << me << 2 << true;
    QTest::newRow("master: worker of another machine") << S::Local << PeerRole::Master << D::Acceptor << PeerRole::Worker << other << 2 << false;
    QTest::newRow("master: worker without a slot") << S::Local << PeerRole::Master << D::Acceptor << PeerRole::Worker << me << -1 << false;
    QTest::newRow("master: another master locally") << S::Local << PeerRole::Master << D::Acceptor << PeerRole::Master << me << -1 << false;
    QTest::newRow("master: a monitor locally") << S::Local << PeerRole::Master << D::Acceptor << PeerRole::Peer << me << -1 << false;
    QTest::newRow("worker accepts its master") << S::Local << PeerRole::Worker << D::Connector << PeerRole::Master << me << -1 << true;
    QTest::newRow("worker: a master with a slot") << S::Local << PeerRole::Worker << D::Connector << PeerRole::Master << me << 0 << false;
    QTest::newRow("worker: a worker") << S::Local << PeerRole::Worker << D::Connector << PeerRole::Worker << me << 1 << false;
    QTest::newRow("worker: master of another machine") << S::Local << PeerRole::Worker << D::Connector << PeerRole::Master << other << -1 << false;
    QTest::newRow("cluster: two masters") << S::Cluster << PeerRole::Master << D::Acceptor << PeerRole::Master << other << -1 << true;
    QTest::newRow("cluster: monitor to master") << S::Cluster << PeerRole::Peer << D::Connector << PeerRole::Master << other << -1 << true;
    QTest::newRow("cluster: master accepts a monitor") << S::Cluster << PeerRole::Master << D::Acceptor << PeerRole::Peer << other << -1 << true;
    QTest::newRow("cluster: two monitors") << S::Cluster << PeerRole::Peer << D::Acceptor << PeerRole::Peer << other << -1 << false;
    QTest::newRow("cluster: same machine") << S::Cluster << PeerRole::Master << D::Acceptor << PeerRole::Master << me << -1 << false;
    QTest::newRow("cluster: no machine id") << S::Cluster << PeerRole::Master << D::Acceptor << PeerRole::Master << quint64(0) << -1 << false;
    QTest::newRow("cluster: a worker") << S::Cluster << PeerRole::Master << D::Acceptor << PeerRole::Worker << other << 0 << false;
}

void tst_Handshake::admit()
{
    QFETCH(Handshake::Scope, scope);
    QFETCH(PeerRole, local);
    QFETCH(Handshake::Side, side);
    QFETCH(PeerRole, peerRole);
    QFETCH(quint64, peerMachine);
    QFETCH(int, peerSlot);
    QFETCH(bool, admitted);
    PeerIdentity peer;
    peer.role = peerRole;
    peer.machine = peerMachine;
    peer.pid = 99;
    peer.slot = peerSlot;
    QCOMPARE(Handshake::admit(scope, local, 0x1000, side, peer) == FrameError::NoError, admitted);
    peer.pid = 0;   // never a valid process
    QVERIFY(Handshake::admit(scope, local, 0x1000, side, peer) != FrameError::NoError);
}

void tst_Handshake::testVector()
{
    // docs/PROTOCOL.md section 3.3: secret "plexus", context "plexusv2", ephemeral seeds
    // 32 x 0x01 (connector, a worker) and 32 x 0x02 (acceptor, a master).
    const CryptoKey psk = CryptoKey::derive("plexus", "plexusv2");
    QCOMPARE(QByteArray(reinterpret_cast<const char *>(psk.bytes()), 32).toHex(),
             QByteArray("86588f5b1c41bc49b1ed2cf0b1e317c198e7f0e89187b6ffa0427727f5dedc05"));
    const unsigned char seedC[32] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                     1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    const unsigned char seedS[32] = {2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
                                     2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2};
    Handshake c(Handshake::Side::Connector, PeerRole::Worker, psk, seedC);
    Handshake a(Handshake::Side::Acceptor, PeerRole::Master, psk, seedS);
    const QByteArray first = c.start();
    QCOMPARE(first.toHex(), QByteArray("504c4558555302000200000000000000ab2fca32898322c208fb2dab5048bd43c355c6430f588897cb574961cfa9806f051d4f43d5cb698dc0dc532d69a92a14e680cd4cb29d691e9109beeed75e7c83"));
    QByteArray answer;
    QCOMPARE(a.consume(first.constData(), &answer), Handshake::State::AwaitingHeader);
    // The acceptor's message without its (random) stream header.
    QCOMPARE(answer.left(Handshake::ConnectorMessageSize).toHex(), QByteArray("504c4558555302000100000000000000fc3b339367a5225d53a92d380323afd035d7817b6d1be47d946f6b09a9cbdc06517b6f83776445562ca304423fbf995ad84e59c2764764b07951622b9ee8e08b"));

    unsigned char macKey[32], mixKey[32];
    Handshake::preSharedKeys(psk, macKey, mixKey);
    unsigned char pkC[32], skC[32], pkS[32], skS[32];
    crypto_kx_seed_keypair(pkC, skC, seedC);
    crypto_kx_seed_keypair(pkS, skS, seedS);
    unsigned char c2s[32], s2c[32], c2s2[32], s2c2[32];
    const QByteArray preC = Wire::preamble(quint8(PeerRole::Worker));
    const QByteArray preS = Wire::preamble(quint8(PeerRole::Master));
    const auto *pc = reinterpret_cast<const unsigned char *>(preC.constData());
    const auto *ps = reinterpret_cast<const unsigned char *>(preS.constData());
    QVERIFY(Handshake::sessionKeys(true, pkC, skC, pkS, pc, ps, mixKey, c2s, s2c));
    QVERIFY(Handshake::sessionKeys(false, pkS, skS, pkC, pc, ps, mixKey, c2s2, s2c2));
    QCOMPARE(QByteArray(reinterpret_cast<char *>(c2s), 32), QByteArray(reinterpret_cast<char *>(c2s2), 32));
    QCOMPARE(QByteArray(reinterpret_cast<char *>(s2c), 32), QByteArray(reinterpret_cast<char *>(s2c2), 32));
    QCOMPARE(QByteArray(reinterpret_cast<char *>(c2s), 32).toHex(), QByteArray("6a4812d27bc4324526c29153ba0d772d9d4f1b365d2786a20ab4165843e21ef8"));
    QCOMPARE(QByteArray(reinterpret_cast<char *>(s2c), 32).toHex(), QByteArray("61f9eac594f57b8bfbb85164d8219d97ca30bee6b4276ae4c86d21b31a46fe04"));
}

QTEST_GUILESS_MAIN(tst_Handshake)
#include "tst_handshake.moc"
