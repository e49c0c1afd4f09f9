// SPDX-License-Identifier: MIT
//
// ProcessSampler (introspection/procsampler_p.h): what a master reads from /proc for its
// monitors' CPU and RSS figures. The parser against real and awkward stat lines, and the
// sampler against this process and one that burns CPU.

#include "procsampler_p.h"

#include <QtCore/qelapsedtimer.h>
#include <QtCore/qfile.h>
#include <QtTest/qtest.h>

#include <unistd.h>

using namespace Plexus;

class tst_ProcSampler : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void parsesStatLines_data();
    void parsesStatLines();
    void samplesThisProcess();
    void busyProcessShowsCpu();
    void goneProcessIsUnknown();
};

void tst_ProcSampler::parsesStatLines_data()
{
    QTest::addColumn<QByteArray>("line");
    QTest::addColumn<bool>("ok");
    QTest::addColumn<quint64>("ticks");
    QTest::addColumn<qint64>("pages");
    const QByteArray tail = " S 1 2 3 4 5 6 7 8 9 10 110 220 0 0 20 0 1 0 5000 1000 321 18446744073709551615";
    QTest::newRow("plain") << QByteArray("42 (worker)" + tail) << true << quint64(330) << qint64(321);
    // The command name is the process's to choose: spaces and parentheses included.
    QTest::newRow("awkward name") << QByteArray("42 (a) b (c d)" + tail) << true << quint64(330) << qint64(321);
    QTest::newRow("no name") << QByteArray("42 worker S 1 2 3") << false << quint64(0) << qint64(0);
    QTest::newRow("cut short") << QByteArray("42 (w) S 1 2 3 4 5 6 7 8 9 10 110") << false << quint64(0) << qint64(0);
    QTest::newRow("not numbers") << QByteArray("42 (w) S 1 2 3 4 5 6 7 8 9 10 x y 0 0 20 0 1 0 5000 1000 321")
                                 << false << quint64(0) << qint64(0);
    QTest::newRow("empty") << QByteArray() << false << quint64(0) << qint64(0);
}

void tst_ProcSampler::parsesStatLines()
{
    QFETCH(QByteArray, line);
    QFETCH(bool, ok);
    QFETCH(quint64, ticks);
    QFETCH(qint64, pages);
    ProcessSampler::Stat stat;
    QCOMPARE(ProcessSampler::parseStat(line, &stat), ok);
    if (ok) {
        QCOMPARE(stat.cpuTicks, ticks);
        QCOMPARE(stat.rssPages, pages);
        QCOMPARE(stat.startTicks, quint64(5000));
    }
}

void tst_ProcSampler::samplesThisProcess()
{
    ProcessSampler sampler;
    const ProcessSampler::Sample s = sampler.sample(::getpid(), 1000);
    QVERIFY(s.cpuPercent >= 0);   // the first sample: the average since the process started
    QVERIFY(s.rssBytes > 1024 * 1024);
    QFile status(QStringLiteral("/proc/self/status"));
    QVERIFY(status.open(QIODevice::ReadOnly));
    qint64 vmRss = 0;
    for (const QByteArray &l : status.readAll().split('\n')) {
        if (l.startsWith("VmRSS:"))
            vmRss = l.mid(6).trimmed().split(' ').value(0).toLongLong() * 1024;
    }
    QVERIFY2(s.rssBytes > vmRss / 2 && s.rssBytes < vmRss * 2,
             qPrintable(QStringLiteral("%1 vs VmRSS %2").arg(s.rssBytes).arg(vmRss)));
}

void tst_ProcSampler::busyProcessShowsCpu()
{
    // This process burns CPU between two samples ReferenceMs apart (by its own clock).
    ProcessSampler sampler;
    QElapsedTimer clock;
    clock.start();
    sampler.sample(::getpid(), 1);
    volatile quint64 sink = 0;
    while (clock.elapsed() < ProcessSampler::ReferenceMs + 100)
        sink = sink + 1;
    const ProcessSampler::Sample s = sampler.sample(::getpid(), 1 + clock.elapsed());
    // Busy the whole window: one core at most (one thread), and clearly not idle even when
    // other processes share the machine's cores (the bound is loose on purpose).
    QVERIFY2(s.cpuPercent > 5 && s.cpuPercent < 150, qPrintable(QString::number(s.cpuPercent)));
}

void tst_ProcSampler::goneProcessIsUnknown()
{
    ProcessSampler sampler;
    const ProcessSampler::Sample s = sampler.sample(0x7ffffff0, 1000);   // above pid_max
    QCOMPARE(s.cpuPercent, -1.0);
    QCOMPARE(s.rssBytes, qint64(-1));
    QCOMPARE(sampler.size(), 0);   // a gone pid is not remembered
    sampler.sample(::getpid(), 1000);
    QCOMPARE(sampler.size(), 1);
    sampler.prune(1000);   // sampled at 1000: kept
    QCOMPARE(sampler.size(), 1);
    sampler.prune(2000);   // not since 2000: forgotten, the next sample starts over
    QCOMPARE(sampler.size(), 0);
    QVERIFY(sampler.sample(::getpid(), 3000).cpuPercent >= 0);
}

QTEST_GUILESS_MAIN(tst_ProcSampler)
#include "tst_procsampler.moc"
