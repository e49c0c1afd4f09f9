// SPDX-License-Identifier: MIT
#include <plexus/payload.h>

#include <QtTest/QTest>

#include <cstring>
#include <memory>

using Plexus::Payload;

class tst_Payload : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void defaultIsEmpty();
    void singlePiece_data();
    void singlePiece();
    void bytesHelper();
    void multiplePieces();
    void emptyPiecesAreSkipped();
    void maxPieces();
    void overflow();
    void copyToWritesExactlySize();
    void sourcesOnlyReferenced();
};

void tst_Payload::defaultIsEmpty()
{
    const Payload p;
    QVERIFY(p.isEmpty());
    QCOMPARE(p.size(), 0);
    QCOMPARE(p.pieceCount(), 0);
    QVERIFY(!p.hasOverflowed());
    QCOMPARE(p.toByteArray(), QByteArray());
}

void tst_Payload::singlePiece_data()
{
    QTest::addColumn<int>("kind");
    QTest::addColumn<QByteArray>("expected");

    // kind: 0 = QByteArray, 1 = QByteArrayView, 2 = const char *, 3 = string literal in a list
    const QByteArray binary("a\0b\0\0c", 6);
    for (int kind = 0; kind < 4; ++kind) {
        QTest::addRow("kind%d-text", kind) << kind << QByteArray("hello, plexus");
        QTest::addRow("kind%d-one-byte", kind) << kind << QByteArray("x");
        if (kind < 2)
            QTest::addRow("kind%d-binary-with-zeros", kind) << kind << binary;
    }
}

void tst_Payload::singlePiece()
{
    QFETCH(int, kind);
    QFETCH(QByteArray, expected);

    const QByteArray source = expected;   // own buffer, distinct from the table's
    Payload p;
    switch (kind) {
    case 0:
        p = Payload(source);
        break;
    case 1:
        p = Payload(QByteArrayView(source));
        break;
    case 2:
        p = Payload(source.constData());
        break;
    default:
        p = Payload{QByteArrayView(source.constData())};
        break;
    }
    QCOMPARE(p.size(), expected.size());
    QCOMPARE(p.pieceCount(), 1);
    QVERIFY(!p.isEmpty());
    QVERIFY(!p.hasOverflowed());
    // A piece is a view on the source, not a copy.
    QCOMPARE(p.piece(0).data(), source.constData());
    QCOMPARE(p.toByteArray(), expected);
}

void tst_Payload::bytesHelper()
{
    const quint32 words[3] = {0x01020304u, 0u, 0xdeadbeefu};
    const QByteArrayView v = Plexus::bytes(words, sizeof words);
    QCOMPARE(v.size(), qsizetype(sizeof words));
    QCOMPARE(static_cast<const void *>(v.data()), static_cast<const void *>(words));

    const Payload p(Plexus::bytes(words, sizeof words));
    QCOMPARE(p.size(), qsizetype(sizeof words));
    const QByteArray out = p.toByteArray();
    QCOMPARE(std::memcmp(out.constData(), words, sizeof words), 0);
}

void tst_Payload::multiplePieces()
{
    struct Pod
    {
        quint32 a;
        quint16 b;
        char zero;
        char c;
    } pod{0x11223344u, 0x5566, '\0', 'z'};
    const QByteArray array("-array-");
    const QByteArray binary("\0\1\0\2", 4);

    const Payload p{Plexus::bytes(&pod, sizeof pod), "literal", array, binary,
                    QByteArrayView("view")};
    QCOMPARE(p.pieceCount(), 5);
    QVERIFY(!p.hasOverflowed());

    QByteArray expected(reinterpret_cast<const char *>(&pod), sizeof pod);
    expected += "literal";
    expected += array;
    expected += binary;
    expected += "view";
    QCOMPARE(p.size(), expected.size());
    QCOMPARE(p.toByteArray(), expected);

    QCOMPARE(p.piece(1), QByteArrayView("literal"));
    QCOMPARE(p.piece(2).data(), array.constData());
    QCOMPARE(p.piece(3).size(), 4);
}

void tst_Payload::emptyPiecesAreSkipped()
{
    const QByteArray empty;
    const Payload p{QByteArrayView(), "a", empty, "", Plexus::bytes(nullptr, 0), "b"};
    QCOMPARE(p.pieceCount(), 2);
    QCOMPARE(p.size(), 2);
    QCOMPARE(p.toByteArray(), QByteArray("ab"));
    QVERIFY(!p.hasOverflowed());

    // Empty pieces do not count against MaxPieces either.
    Payload q{"1", "", "2", "", "3", "", "4", "", "5", "", "6", "", "7", "", "8", ""};
    QCOMPARE(q.pieceCount(), Payload::MaxPieces);
    QVERIFY(!q.hasOverflowed());
}

void tst_Payload::maxPieces()
{
    static_assert(Payload::MaxPieces == 8, "update the lists below");
    const Payload p{"0", "1", "2", "3", "4", "5", "6", "7"};
    QCOMPARE(p.pieceCount(), Payload::MaxPieces);
    QVERIFY(!p.hasOverflowed());
    QCOMPARE(p.toByteArray(), QByteArray("01234567"));
}

void tst_Payload::overflow()
{
    const Payload p{"0", "1", "2", "3", "4", "5", "6", "7", "8"};
    QVERIFY(p.hasOverflowed());
    // The ranges that fit are kept; the flag tells that the rest was lost.
    QCOMPARE(p.pieceCount(), Payload::MaxPieces);

    const Payload q{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"};
    QVERIFY(q.hasOverflowed());
}

void tst_Payload::copyToWritesExactlySize()
{
    const QByteArray middle("\0d", 2);   // a Payload refers to its sources: keep them alive
    const Payload p{"abc", middle, "ef"};
    QCOMPARE(p.size(), 7);
    QByteArray buffer(16, '#');
    p.copyTo(buffer.data() + 2);
    QCOMPARE(buffer, QByteArray("##abc\0def#######", 16));
}

void tst_Payload::sourcesOnlyReferenced()
{
    // A Payload copies nothing: what it sees is the source at copy time.
    auto source = std::make_unique<QByteArray>("before");
    const Payload p(*source);
    QCOMPARE(p.toByteArray(), QByteArray("before"));
    std::memcpy(source->data(), "AFTER!", 6);
    QCOMPARE(p.toByteArray(), QByteArray("AFTER!"));
}

QTEST_GUILESS_MAIN(tst_Payload)
#include "tst_payload.moc"
