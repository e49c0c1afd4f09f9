// SPDX-License-Identifier: MIT
//
// The mesh's one-link-per-pair rule (cluster/mesh/mesh_p.h, MeshRule), without a network:
// both sides of every pair must reach the same verdict whoever dialed, whoever heard whom.

#include "mesh_p.h"

#include <QtTest/qtest.h>

using namespace Plexus;

class tst_MeshRule : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void canonicalLinkIsDialedBySmallerId_data();
    void canonicalLinkIsDialedBySmallerId();
    void bothSidesAgreeOnTheSurvivor_data();
    void bothSidesAgreeOnTheSurvivor();
    void largerIdDialsAfterGrace();
};

void tst_MeshRule::canonicalLinkIsDialedBySmallerId_data()
{
    QTest::addColumn<quint64>("self");
    QTest::addColumn<quint64>("other");
    QTest::addColumn<bool>("weDialed");
    QTest::addColumn<bool>("canonical");
    QTest::newRow("small dials large") << quint64(1) << quint64(2) << true << true;
    QTest::newRow("large accepts small") << quint64(2) << quint64(1) << false << true;
    QTest::newRow("large dials small") << quint64(2) << quint64(1) << true << false;
    QTest::newRow("small accepts large") << quint64(1) << quint64(2) << false << false;
    QTest::newRow("top bit") << quint64(0x8000000000000000ull) << quint64(0x7fffffffffffffffull)
                             << false << true;
}

void tst_MeshRule::canonicalLinkIsDialedBySmallerId()
{
    QFETCH(quint64, self);
    QFETCH(quint64, other);
    QFETCH(bool, weDialed);
    QFETCH(bool, canonical);
    QCOMPARE(MeshRule::isCanonical(self, other, weDialed), canonical);
    // The other end of the same link sees the same thing.
    QCOMPARE(MeshRule::isCanonical(other, self, !weDialed), canonical);
}

void tst_MeshRule::bothSidesAgreeOnTheSurvivor_data()
{
    // A pair already linked by the link dialed by "first", and a second link dialed by
    // "second" arrives (simultaneous dials, a reconnect, a manual connectToPeer).
    QTest::addColumn<bool>("firstBySmaller");
    QTest::addColumn<bool>("secondBySmaller");
    QTest::addColumn<bool>("secondSurvives");
    QTest::newRow("canonical, then the other") << true << false << false;
    QTest::newRow("other, then canonical") << false << true << true;
    QTest::newRow("canonical twice (reconnect)") << true << true << true;
    QTest::newRow("other twice (reconnect)") << false << false << true;
}

void tst_MeshRule::bothSidesAgreeOnTheSurvivor()
{
    QFETCH(bool, firstBySmaller);
    QFETCH(bool, secondBySmaller);
    QFETCH(bool, secondSurvives);
    const quint64 small = 0x1111, large = 0x2222;
    // Each side judges with its own view of who dialed each link.
    const auto verdict = [&](quint64 self, quint64 other) {
        const bool selfIsSmall = self == small;
        const bool oldCanonical = MeshRule::isCanonical(self, other, firstBySmaller == selfIsSmall);
        const bool newCanonical = MeshRule::isCanonical(self, other, secondBySmaller == selfIsSmall);
        return MeshRule::replaces(oldCanonical, newCanonical);
    };
    QCOMPARE(verdict(small, large), secondSurvives);
    QCOMPARE(verdict(large, small), secondSurvives);
}

void tst_MeshRule::largerIdDialsAfterGrace()
{
    // Regression (issue 17.5): only the smaller id dialed, so two nodes where only the
    // larger heard the other (one-way announcements) never linked. The smaller dials at
    // once, the larger after a grace period that leaves room for the canonical dial.
    QCOMPARE(MeshRule::dialDelayMs(1, 2, 500), 0);
    QCOMPARE(MeshRule::dialDelayMs(2, 1, 500), 1000);
    QVERIFY(MeshRule::dialDelayMs(2, 1, 2000) > 2000);   // longer than an announce interval
}

QTEST_GUILESS_MAIN(tst_MeshRule)
#include "tst_meshrule.moc"
