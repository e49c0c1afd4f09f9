// SPDX-License-Identifier: MIT
#include "crypto_p.h"

#include <QtCore/qendian.h>
#include <QtCore/qset.h>
#include <QtTest/QTest>

#include <cstring>

#include <sodium.h>
#include <thread>
#include <vector>

using Plexus::CryptoKey;
namespace Crypto = Plexus::Crypto;

namespace {
QByteArray keyBytes(const CryptoKey &key)
{
    return key.isValid() ? QByteArray(reinterpret_cast<const char *>(key.bytes()), CryptoKey::KeySize)
                         : QByteArray();
}

QByteArray nonce()
{
    QByteArray n(CryptoKey::NonceSize, '\0');
    Crypto::nextNonce(reinterpret_cast<unsigned char *>(n.data()));
    return n;
}
} // namespace

class tst_Crypto : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void defaultKeyIsInvalid();
    void deriveIsDeterministic_data();
    void deriveIsDeterministic();
    void deriveSeparates_data();
    void deriveSeparates();
    void sealOpen_data();
    void sealOpen();
    void openRejectsTampering_data();
    void openRejectsTampering();
    void openWithInvalidKeyFails();
    void noncesNeverRepeat();
    void noncesNeverRepeatAcrossThreads();
    void nonceLayout();
    void nextIdIsUniqueAndNonZero();
    void randomBytes();
    void wipe();
    void matchesLibsodiumXChaCha_data();
    void matchesLibsodiumXChaCha();
};

void tst_Crypto::initTestCase()
{
    QVERIFY(Crypto::initialize());
    QVERIFY(Crypto::initialize());   // idempotent
}

void tst_Crypto::defaultKeyIsInvalid()
{
    const CryptoKey key;
    QVERIFY(!key.isValid());
    QCOMPARE(key.bytes(), nullptr);
    QVERIFY(key == CryptoKey());
    QVERIFY(!(key == CryptoKey::derive("secret", "plexus-t")));
}

void tst_Crypto::deriveIsDeterministic_data()
{
    QTest::addColumn<QByteArray>("secret");
    QTest::newRow("empty") << QByteArray();
    QTest::newRow("short") << QByteArray("s");
    QTest::newRow("binary") << QByteArray("\0\1\2\0\xff", 5);
    QTest::newRow("long") << QByteArray(4096, 'k');
}

void tst_Crypto::deriveIsDeterministic()
{
    QFETCH(QByteArray, secret);
    const CryptoKey a = CryptoKey::derive(secret, "plexus-t");
    const CryptoKey b = CryptoKey::derive(QByteArray(secret.constData(), secret.size()), "plexus-t");
    QVERIFY(a.isValid());
    QVERIFY(b.isValid());
    QVERIFY(a.bytes() != b.bytes());   // two derivations, two buffers ...
    QVERIFY(a == b);                   // ... same key
    QCOMPARE(keyBytes(a), keyBytes(b));
    QVERIFY(keyBytes(a) != QByteArray(CryptoKey::KeySize, '\0'));

    // Copies share the material.
    const CryptoKey c = a;
    QCOMPARE(c.bytes(), a.bytes());
}

void tst_Crypto::deriveSeparates_data()
{
    QTest::addColumn<QByteArray>("secretB");
    QTest::addColumn<QByteArray>("contextB");
    QTest::addColumn<quint64>("subkeyB");

    QTest::newRow("other secret") << QByteArray("secret!") << QByteArray("plexus-t") << quint64(1);
    QTest::newRow("one bit of secret") << QByteArray("secreu") << QByteArray("plexus-t") << quint64(1);
    QTest::newRow("secret prefix") << QByteArray("secre") << QByteArray("plexus-t") << quint64(1);
    QTest::newRow("other context") << QByteArray("secret") << QByteArray("plexus-u") << quint64(1);
    QTest::newRow("other subkey") << QByteArray("secret") << QByteArray("plexus-t") << quint64(2);
}

void tst_Crypto::deriveSeparates()
{
    QFETCH(QByteArray, secretB);
    QFETCH(QByteArray, contextB);
    QFETCH(quint64, subkeyB);
    QCOMPARE(contextB.size(), 8);

    char context[9] = {};
    std::memcpy(context, contextB.constData(), size_t(qMin<qsizetype>(contextB.size(), 8)));
    const CryptoKey a = CryptoKey::derive("secret", "plexus-t", 1);
    const CryptoKey b = CryptoKey::derive(secretB, context, subkeyB);
    QVERIFY(a.isValid());
    QVERIFY(b.isValid());
    QVERIFY(!(a == b));
    QVERIFY(keyBytes(a) != keyBytes(b));
}

void tst_Crypto::sealOpen_data()
{
    QTest::addColumn<QByteArray>("plain");
    QTest::addColumn<QByteArray>("aad");
    QTest::newRow("empty") << QByteArray() << QByteArray();
    QTest::newRow("aad only") << QByteArray() << QByteArray("header");
    QTest::newRow("text only") << QByteArray("text") << QByteArray();
    QTest::newRow("both") << QByteArray("some\0text", 9) << QByteArray("head\0er", 7);
    QTest::newRow("64 KiB") << QByteArray(65536, 'p') << QByteArray(48, 'h');
}

void tst_Crypto::sealOpen()
{
    QFETCH(QByteArray, plain);
    QFETCH(QByteArray, aad);

    const CryptoKey key = CryptoKey::derive("secret", "plexus-t");
    const QByteArray n = nonce();
    auto *nu = reinterpret_cast<const unsigned char *>(n.constData());
    auto *au = reinterpret_cast<const unsigned char *>(aad.constData());

    QByteArray text = plain;
    text.detach();
    unsigned char tag[CryptoKey::TagSize];
    key.seal(nu, au, aad.size(), reinterpret_cast<unsigned char *>(text.data()), text.size(), tag);
    QCOMPARE(text.size(), plain.size());
    if (!plain.isEmpty())
        QVERIFY(text != plain);

    QVERIFY(key.open(nu, au, aad.size(), reinterpret_cast<unsigned char *>(text.data()),
                     text.size(), tag));
    QCOMPARE(text, plain);
}

void tst_Crypto::openRejectsTampering_data()
{
    QTest::addColumn<QString>("what");
    QTest::newRow("text") << QStringLiteral("text");
    QTest::newRow("aad") << QStringLiteral("aad");
    QTest::newRow("tag") << QStringLiteral("tag");
    QTest::newRow("nonce") << QStringLiteral("nonce");
    QTest::newRow("key") << QStringLiteral("key");
}

void tst_Crypto::openRejectsTampering()
{
    QFETCH(QString, what);

    const CryptoKey key = CryptoKey::derive("secret", "plexus-t");
    QByteArray n = nonce();
    QByteArray aad("header bytes");
    QByteArray text("the secret payload");
    unsigned char tag[CryptoKey::TagSize];
    key.seal(reinterpret_cast<const unsigned char *>(n.constData()),
             reinterpret_cast<const unsigned char *>(aad.constData()), aad.size(),
             reinterpret_cast<unsigned char *>(text.data()), text.size(), tag);

    CryptoKey opener = key;
    if (what == u"text")
        text[3] = char(text[3] ^ 0x10);
    else if (what == u"aad")
        aad[0] = char(aad[0] ^ 0x01);
    else if (what == u"tag")
        tag[15] ^= 0x80;
    else if (what == u"nonce")
        n[23] = char(n[23] ^ 0x01);
    else
        opener = CryptoKey::derive("other secret", "plexus-t");

    QVERIFY(!opener.open(reinterpret_cast<const unsigned char *>(n.constData()),
                         reinterpret_cast<const unsigned char *>(aad.constData()), aad.size(),
                         reinterpret_cast<unsigned char *>(text.data()), text.size(), tag));
    // On failure no plaintext is released: the buffer is cleared.
    QCOMPARE(text, QByteArray(text.size(), '\0'));
}

void tst_Crypto::openWithInvalidKeyFails()
{
    const CryptoKey invalid;
    unsigned char nonce[CryptoKey::NonceSize] = {};
    unsigned char tag[CryptoKey::TagSize] = {};
    unsigned char text[4] = {1, 2, 3, 4};
    QVERIFY(!invalid.open(nonce, nullptr, 0, text, sizeof text, tag));
}

void tst_Crypto::noncesNeverRepeat()
{
    QSet<QByteArray> seen;
    constexpr int Count = 100000;
    seen.reserve(Count);
    for (int i = 0; i < Count; ++i)
        seen.insert(nonce());
    QCOMPARE(seen.size(), Count);
}

void tst_Crypto::noncesNeverRepeatAcrossThreads()
{
    constexpr int Threads = 8;
    constexpr int PerThread = 20000;
    std::vector<std::vector<QByteArray>> drawn(Threads);
    std::vector<std::thread> threads;
    for (int t = 0; t < Threads; ++t) {
        threads.emplace_back([&drawn, t] {
            drawn[t].reserve(PerThread);
            for (int i = 0; i < PerThread; ++i)
                drawn[t].push_back(nonce());
        });
    }
    for (auto &thread : threads)
        thread.join();

    QSet<QByteArray> seen;
    seen.reserve(Threads * PerThread);
    for (const auto &list : drawn) {
        for (const QByteArray &n : list)
            seen.insert(n);
    }
    QCOMPARE(seen.size(), Threads * PerThread);
}

void tst_Crypto::nonceLayout()
{
    // 16-byte per-process prefix, then a little-endian counter that goes up by one.
    const QByteArray a = nonce();
    const QByteArray b = nonce();
    QCOMPARE(a.left(16), b.left(16));
    QVERIFY(a.left(16) != QByteArray(16, '\0'));
    const quint64 ca = qFromLittleEndian<quint64>(a.constData() + 16);
    const quint64 cb = qFromLittleEndian<quint64>(b.constData() + 16);
    QCOMPARE(cb, ca + 1);
}

void tst_Crypto::nextIdIsUniqueAndNonZero()
{
    QSet<quint64> seen;
    constexpr int Count = 100000;
    seen.reserve(Count);
    for (int i = 0; i < Count; ++i) {
        const quint64 id = Crypto::nextId();
        QVERIFY(id != 0);
        seen.insert(id);
    }
    QCOMPARE(seen.size(), Count);
}

void tst_Crypto::randomBytes()
{
    const QByteArray a = Crypto::randomBytes(32);
    const QByteArray b = Crypto::randomBytes(32);
    QCOMPARE(a.size(), 32);
    QCOMPARE(b.size(), 32);
    QVERIFY(a != b);
    QCOMPARE(Crypto::randomBytes(0).size(), 0);
}

void tst_Crypto::wipe()
{
    char raw[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    Crypto::wipe(raw, sizeof raw);
    for (char c : raw)
        QCOMPARE(c, '\0');
    Crypto::wipe(nullptr, 16);   // tolerated

    // An unshared array is zeroed in place, then emptied.
    QByteArray secret("top secret");
    secret.detach();
    Crypto::wipe(secret);
    QVERIFY(secret.isEmpty());

    // A shared array is only released, never wiped under the other owner's feet.
    QByteArray owner("shared secret");
    QByteArray copy = owner;
    Crypto::wipe(copy);
    QVERIFY(copy.isEmpty());
    QCOMPARE(owner, QByteArray("shared secret"));
}

QTEST_GUILESS_MAIN(tst_Crypto)
#include "tst_crypto.moc"

// CryptoKey caches the HChaCha20 subkey per nonce prefix; what it produces must stay byte for
// byte crypto_aead_xchacha20poly1305_ietf (the documented wire format), both ways, also when
// many prefixes compete for the cache.
void tst_Crypto::matchesLibsodiumXChaCha_data()
{
    QTest::addColumn<int>("length");
    QTest::addColumn<int>("prefixes");
    QTest::newRow("empty, one prefix") << 0 << 1;
    QTest::newRow("64 B, one prefix") << 64 << 1;
    QTest::newRow("1000 B, 40 prefixes") << 1000 << 40;
    QTest::newRow("64 KiB, 3 prefixes") << 65536 << 3;
}

void tst_Crypto::matchesLibsodiumXChaCha()
{
    QFETCH(int, length);
    QFETCH(int, prefixes);
    const CryptoKey key = CryptoKey::derive("secret", "plexusv1");
    const QByteArray aad = Crypto::randomBytes(48);
    for (int round = 0; round < 3; ++round) {
        for (int p = 0; p < prefixes; ++p) {
            QByteArray n = Crypto::randomBytes(CryptoKey::NonceSize);
            std::memset(n.data(), p, 16);   // prefix p, random counter part
            const QByteArray plain = Crypto::randomBytes(length);
            const auto *np = reinterpret_cast<const unsigned char *>(n.constData());
            const auto *ap = reinterpret_cast<const unsigned char *>(aad.constData());

            QByteArray ours = plain;
            unsigned char ourTag[CryptoKey::TagSize];
            key.seal(np, ap, aad.size(), reinterpret_cast<unsigned char *>(ours.data()),
                     ours.size(), ourTag);

            QByteArray theirs(length, Qt::Uninitialized);
            unsigned char theirTag[CryptoKey::TagSize];
            crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
                    reinterpret_cast<unsigned char *>(theirs.data()), theirTag, nullptr,
                    reinterpret_cast<const unsigned char *>(plain.constData()), plain.size(), ap,
                    aad.size(), nullptr, np, key.bytes());
            QCOMPARE(ours, theirs);
            QCOMPARE(QByteArray(reinterpret_cast<char *>(ourTag), sizeof ourTag),
                     QByteArray(reinterpret_cast<char *>(theirTag), sizeof theirTag));

            QVERIFY(key.open(np, ap, aad.size(), reinterpret_cast<unsigned char *>(theirs.data()),
                             theirs.size(), theirTag));
            QCOMPARE(theirs, plain);
        }
    }
}
