// SPDX-License-Identifier: MIT
//
// Runs each example (and the demo) as a real master with forked workers and checks its
// output: the lines each process must print, how many, in which order within one process,
// that it ends by itself with exit code 0, and that no process of it is left behind.
// Lines of different processes interleave freely, so only counts and per-filter sequences
// are checked, never the order across processes. Each runs through the shared
// helper-process harness.

#include "../../cluster/testhosts.h"
#include "helperprocess.h"

#include <QtCore/QDir>
#include <QtCore/QElapsedTimer>
#include <QtCore/QFile>
#include <QtCore/QRegularExpression>
#include <QtCore/QSet>
#include <QtCore/QUuid>
#include <QtTest/QtTest>

#include <csignal>

using namespace Qt::StringLiterals;
using TestSupport::HelperProcess;

namespace {

// In every pattern, {pid} stands for the pid of the example's master process.

// Exactly `count` lines match `pattern`; if `distinct` >= 0, their capture groups (joined)
// take exactly that many different values.
struct LineCount
{
    QString pattern;
    int count;
    int distinct = -1;
};

// The lines that match `filter`, in output order, match `lines` one to one.
struct Sequence
{
    QString filter;
    QStringList lines;
};

using LineCounts = QList<LineCount>;
using Sequences = QList<Sequence>;

constexpr int FinishTimeoutMs = 30000;

QRegularExpression compile(QString pattern, qint64 masterPid)
{
    pattern.replace(u"{pid}"_s, QString::number(masterPid));
    QRegularExpression re(pattern);
    if (!re.isValid())
        qWarning("bad pattern %s: %s", qPrintable(pattern), qPrintable(re.errorString()));
    return re;
}

// The processes whose environment holds `marker`: the example's master, its fork server and
// its workers all inherit it.
QList<qint64> processesWithMarker(const QByteArray &marker)
{
    QList<qint64> pids;
    const QStringList entries = QDir(u"/proc"_s).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &entry : entries) {
        bool isPid = false;
        const qint64 pid = entry.toLongLong(&isPid);
        if (!isPid)
            continue;
        QFile environ(u"/proc/"_s + entry + u"/environ"_s);
        if (!environ.open(QIODevice::ReadOnly))
            continue;
        if (environ.readAll().split('\0').contains(marker))
            pids.append(pid);
    }
    return pids;
}

QString pidList(const QList<qint64> &pids)
{
    QStringList out;
    for (qint64 pid : pids)
        out.append(QString::number(pid));
    return out.join(u", "_s);
}

Sequence orderedLines(const QString &filter, const QStringList &lines)
{
    return {filter, lines};
}


} // namespace

Q_DECLARE_METATYPE(LineCounts)
Q_DECLARE_METATYPE(Sequences)

class tst_Examples : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void run_data();
    void run();
    void clusterBroadcast();
    void clusterBroadcastWithoutSecret();
    void clusterHelpWithoutSecret_data();
    void clusterHelpWithoutSecret();
};

void tst_Examples::run_data()
{
    QTest::addColumn<QString>("program");
    QTest::addColumn<int>("lineCount");   // non-empty lines in all
    QTest::addColumn<LineCounts>("counts");
    QTest::addColumn<Sequences>("sequences");

    QTest::newRow("basic_call")
            << u"" EXAMPLE_BASIC_CALL ""_s << 6
            << LineCounts{
                   {u"^Master received: hello from worker$"_s, 2},
                   {u"^Worker received reply: processed$"_s, 2},
                   {u"^Request complete$"_s, 2},
               }
            << Sequences{};

    QTest::newRow("local_broadcast")
            << u"" EXAMPLE_LOCAL_BROADCAST ""_s << 6
            << LineCounts{
                   {u"^Process (\\d+) received: config_update$"_s, 5, 5},
                   {u"^Process {pid} received: config_update$"_s, 1},
                   {u"^Broadcast finished: 5 of 5 processes handled it$"_s, 1},
               }
            << Sequences{
                   // The master quits only after every process ran the handler.
                   orderedLines(u"^(Process {pid} |Broadcast)"_s,
                                {u"^Process {pid} received"_s, u"^Broadcast finished"_s}),
               };

    QTest::newRow("multi_buffer")
            << u"" EXAMPLE_MULTI_BUFFER ""_s << 4
            << LineCounts{
                   {u"^Worker 0 sent 23 bytes$"_s, 1},
                   {u"^Worker 1 sent 23 bytes$"_s, 1},
                   {u"^Type: 1, Seq: 42, Payload: message payload$"_s, 1},
                   {u"^Type: 1, Seq: 43, Payload: message payload$"_s, 1},
               }
            << Sequences{};

    {
        Sequences sequences;
        for (int worker = 0; worker < 2; ++worker) {
            const QString prefix = u"^Worker "_s + QString::number(worker);
            QStringList lines;
            for (int chunk = 1; chunk <= 5; ++chunk)
                lines.append(prefix + u" received chunk: chunk_"_s + QString::number(chunk) + u'$');
            lines.append(prefix + u": Stream complete$"_s);
            sequences.append(orderedLines(prefix + u"\\b"_s, lines));
        }
        QTest::newRow("streaming_replies")
                << u"" EXAMPLE_STREAMING_REPLIES ""_s << 14
                << LineCounts{
                       {u"^Master streaming to worker (\\d)$"_s, 2, 2},
                       {u"received chunk: chunk_[1-5]$"_s, 10},
                       {u"^Worker [01]: Stream complete$"_s, 2},
                   }
                << sequences;
    }

    {
        Sequences sequences;
        for (const QString &who : {u"master  "_s, u"worker 1"_s, u"worker 2"_s}) {
            const QString prefix = u"^\\["_s + who + u" pid \\d+\\] Notification: "_s;
            sequences.append(orderedLines(u"^\\["_s + who,
                                          {prefix + u"method 1 \\(\\.others = true\\)$"_s,
                                           prefix + u"method 2 \\(newMessage \\+ send\\)$"_s}));
        }
        QTest::newRow("exclude_self")
                << u"" EXAMPLE_EXCLUDE_SELF ""_s << 8
                << LineCounts{
                       {u"^worker 0 notifying the others$"_s, 1},
                       {u"^\\[worker 0 "_s, 0},
                       {u"^\\[(master  |worker \\d) pid (\\d+)\\] Notification: method 1 "_s, 3, 3},
                       {u"^\\[(master  |worker \\d) pid (\\d+)\\] Notification: method 2 "_s, 3, 3},
                       {u"^\\[master   pid {pid}\\] Notification: "_s, 2},
                       {u"^All notified$"_s, 1},
                   }
                << sequences;
    }

    {
        Sequences sequences;
        for (int worker = 0; worker < 3; ++worker) {
            const QString w = QString::number(worker);
            sequences.append(orderedLines(
                    u"^\\[worker "_s + w + u"\\]"_s,
                    {u"sent job 1$"_s, u"sent job 2$"_s, u"sent job 3$"_s,
                     u"job handler: master counted 3 of my jobs \\(answer 1\\)$"_s}));
            sequences.append(orderedLines(
                    u"^\\[master\\] job handler: worker "_s + w + u' ',
                    {u"message 1: job 1$"_s, u"message 2: job 2$"_s, u"message 3: job 3$"_s}));
        }
        QStringList master(9, u"^\\[master\\] job handler: worker \\d message \\d: job \\d$"_s);
        master << u"^\\[master\\] job handler: 9 messages in total from 3 workers$"_s
               << u"^\\[master\\] done handler: 1 of 3 workers done$"_s
               << u"^\\[master\\] done handler: 2 of 3 workers done$"_s
               << u"^\\[master\\] done handler: 3 of 3 workers done$"_s
               << u"^\\[master\\] totals: 9 jobs, 3 done$"_s;
        sequences.append(orderedLines(u"^\\[master\\]"_s, master));
        QTest::newRow("typed_handlers")
                << u"" EXAMPLE_TYPED_HANDLERS ""_s << 26
                << LineCounts{
                       {u"^\\[worker ([0-2])\\] sent job ([1-3])$"_s, 9, 9},
                       {u"^\\[master\\] job handler: worker ([0-2]) message ([1-3]): job \\2$"_s, 9, 9},
                       {u"^\\[worker ([0-2])\\] job handler: master counted 3 of my jobs"_s, 3, 3},
                       {u"^\\[master\\] done handler: ([1-3]) of 3 workers done$"_s, 3, 3},
                       {u"^\\[master\\] totals: 9 jobs, 3 done$"_s, 1},
                   }
                << sequences;
    }

    {
        const QString master = u"^  master +{pid} \\| "_s;
        const QString worker = u"^  worker [0-3] +\\d+ \\| "_s;
        Sequences sequences;
        for (int w = 0; w < 4; ++w) {
            const QString prefix = u"^  worker "_s + QString::number(w) + u" +\\d+ \\| "_s;
            sequences.append(orderedLines(prefix + u"  received"_s,
                                          {u"\"part 1 of 3\"$"_s, u"\"part 2 of 3\"$"_s,
                                           u"\"part 3 of 3\" \\(final\\)$"_s}));
        }
        QStringList masterLines{master + u"started$"_s};
        masterLines << QStringList(4, master + u"worker [0-3] started, pid \\d+$"_s)
                    << master + u"all 4 workers ready$"_s
                    << QStringList(4, master + u"streams 3 parts to worker [0-3]$"_s)
                    << master + u"4 workers got their stream$"_s
                    << master + u"applies \"config v2\"$"_s
                    << master + u"broadcast finished: 5 replies expected, 5 received, no error$"_s
                    << master + u"heard \"hello from a worker\" from worker 3$"_s
                    << QStringList(4, master + u"worker [0-3] status: \\d+ messages in, \\d+ out$"_s)
                    << master + u"messages in [1-9]\\d*, out [1-9]\\d*$"_s
                    << master + u"bytes    in [1-9]\\d*, out [1-9]\\d*$"_s
                    << master + u"rejected frames 0, late replies 0$"_s
                    << master + u"done: stopping the workers$"_s;
        sequences.append(orderedLines(u"^  master "_s, masterLines));
        sequences.append(orderedLines(u"^\\d\\. "_s,
                                      {u"^1\\. "_s, u"^2\\. "_s, u"^3\\. "_s, u"^4\\. "_s, u"^5\\. "_s}));
        QTest::newRow("demo")
                << u"" EXAMPLE_PLEXUS_DEMO ""_s << 54
                << LineCounts{
                       {u"^Plexus \\S+ demo: one master, 4 workers$"_s, 1},
                       {master + u"worker ([0-3]) started, pid (\\d+)$"_s, 4, 4},
                       {worker + u"calls the master$"_s, 4},
                       {u"^  worker ([0-3]) +\\d+ \\| calls the master$"_s, 4, 4},
                       {master + u"streams 3 parts to worker ([0-3])$"_s, 4, 4},
                       {u"^  worker ([0-3]) +\\d+ \\|   received \"part ([1-3]) of 3\""_s, 12, 12},
                       {u"^  (master|worker [0-3]) +\\d+ \\| applies \"config v2\"$"_s, 5, 5},
                       {u"^  worker 3 +\\d+ \\| broadcasts to the others \\(\\.others = true\\)$"_s, 1},
                       {u"^  (master|worker [0-2]) +\\d+ \\| heard \"hello from a worker\" from worker 3$"_s, 4, 4},
                       {u"^  worker 3 +\\d+ \\| heard"_s, 0},
                       {u"^  worker 3 +\\d+ \\| 4 of 4 processes heard it$"_s, 1},
                       {master + u"worker ([0-3]) status: "_s, 4, 4},
                   }
                << sequences;
    }
}

void tst_Examples::run()
{
    QFETCH(QString, program);
    QFETCH(int, lineCount);
    QFETCH(LineCounts, counts);
    QFETCH(Sequences, sequences);

    QVERIFY2(QFile::exists(program), qPrintable(program));

    // A marker in the environment finds every process of this run, forked ones included.
    const QByteArray marker = "PLEXUS_EXAMPLE_RUN=" + QUuid::createUuid().toByteArray(QUuid::WithoutBraces);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QString::fromLatin1(marker.left(marker.indexOf('='))),
               QString::fromLatin1(marker.mid(marker.indexOf('=') + 1)));
    // The examples must run as written: no worker count or logging rules from the caller.
    env.remove(u"PLEXUS_WORKERS"_s);
    env.remove(u"QT_LOGGING_RULES"_s);

    HelperProcess process;
    process.setEnvironment(env);
    QElapsedTimer timer;
    timer.start();
    QVERIFY2(process.start(program, {}), qPrintable(process.process().errorString()));
    const qint64 masterPid = process.pid();

    const bool finished = process.waitForFinished(FinishTimeoutMs);
    const QString out = process.output();
    const QString err = QString::fromUtf8(process.standardError());
    const auto dump = [&]() -> QString { return u'\n' + process.dump(); };
    if (!finished) {
        process.stop(0);   // no grace: SIGKILL
        for (qint64 pid : processesWithMarker(marker))
            ::kill(pid_t(pid), SIGKILL);
        QFAIL(qPrintable(u"did not finish within %1 ms"_s.arg(FinishTimeoutMs) + dump()));
    }
    qInfo("%s finished in %lld ms", qPrintable(QFileInfo(program).fileName()), timer.elapsed());

    // The master stops its workers before it exits: nothing of the run may remain.
    const QList<qint64> leftovers = processesWithMarker(marker);
    for (qint64 pid : leftovers)
        ::kill(pid_t(pid), SIGKILL);
    QVERIFY2(leftovers.isEmpty(), qPrintable(u"left behind: "_s + pidList(leftovers) + dump()));

    QCOMPARE(process.process().exitStatus(), QProcess::NormalExit);
    QVERIFY2(process.process().exitCode() == 0,
             qPrintable(u"exit code %1"_s.arg(process.process().exitCode()) + dump()));
    QVERIFY2(err.isEmpty(), qPrintable(u"unexpected output on stderr"_s + dump()));

    const QStringList lines = out.split(u'\n', Qt::SkipEmptyParts);
    QVERIFY2(lines.size() == lineCount,
             qPrintable(u"%1 lines, expected %2"_s.arg(lines.size()).arg(lineCount) + dump()));

    for (const LineCount &expected : std::as_const(counts)) {
        const QRegularExpression re = compile(expected.pattern, masterPid);
        QVERIFY(re.isValid());
        int matched = 0;
        QSet<QString> values;
        for (const QString &line : lines) {
            const QRegularExpressionMatch m = re.match(line);
            if (!m.hasMatch())
                continue;
            ++matched;
            QStringList groups = m.capturedTexts();
            groups.removeFirst();
            values.insert(groups.join(u'\x1f'));
        }
        QVERIFY2(matched == expected.count,
                 qPrintable(u"%1 lines match \"%2\", expected %3"_s.arg(matched)
                                    .arg(re.pattern()).arg(expected.count) + dump()));
        if (expected.distinct >= 0) {
            QVERIFY2(values.size() == expected.distinct,
                     qPrintable(u"%1 distinct values for \"%2\", expected %3"_s.arg(values.size())
                                        .arg(re.pattern()).arg(expected.distinct) + dump()));
        }
    }

    for (const Sequence &sequence : std::as_const(sequences)) {
        const QRegularExpression filter = compile(sequence.filter, masterPid);
        QVERIFY(filter.isValid());
        QStringList selected;
        for (const QString &line : lines) {
            if (filter.match(line).hasMatch())
                selected.append(line);
        }
        const QString context = u"lines matching \"%1\":\n  "_s.arg(filter.pattern())
                + selected.join(u"\n  "_s) + dump();
        QVERIFY2(selected.size() == sequence.lines.size(),
                 qPrintable(u"%1 expected, got "_s.arg(sequence.lines.size()) + context));
        for (qsizetype i = 0; i < selected.size(); ++i) {
            const QRegularExpression re = compile(sequence.lines.at(i), masterPid);
            QVERIFY2(re.match(selected.at(i)).hasMatch(),
                     qPrintable(u"line %1 does not match \"%2\" in "_s.arg(i).arg(re.pattern())
                                + context));
        }
    }
}

void tst_Examples::clusterBroadcast()
{
    // Two machines on loopback (distinct ports that announce to each other, no broadcast
    // off this machine): the second one invalidates a key everywhere, updates the other
    // master's configuration and quits; the first one serves until SIGTERM.
    const QString program = QStringLiteral(EXAMPLE_CLUSTER_BROADCAST);
    const quint16 portA = TestHosts::freePort(), portB = TestHosts::freePort();
    QVERIFY(portA && portB && portA != portB);
    const QByteArray marker = "PLEXUS_EXAMPLE_RUN=" + QUuid::createUuid().toByteArray(QUuid::WithoutBraces);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QString::fromLatin1(marker.left(marker.indexOf('='))),
               QString::fromLatin1(marker.mid(marker.indexOf('=') + 1)));
    env.insert(u"SECRET"_s, u"tst_examples cluster"_s);
    env.remove(u"PLEXUS_WORKERS"_s);
    env.remove(u"QT_LOGGING_RULES"_s);
    const auto args = [](quint16 own, quint16 other) {
        return QStringList{u"--port"_s, QString::number(own), u"--announce"_s,
                           u"127.0.0.1:%1"_s.arg(other), u"--no-broadcast"_s};
    };
    HelperProcess serving, sending;
    serving.setEnvironment(env);
    sending.setEnvironment(env);
    const auto cleanup = qScopeGuard([&] {
        for (HelperProcess *p : {&serving, &sending})
            p->stop(0);   // no grace: SIGKILL (if it still runs)
        for (qint64 pid : processesWithMarker(marker))
            ::kill(pid_t(pid), SIGKILL);
    });
    QVERIFY(serving.start(program, args(portA, portB)));
    const qint64 servingPid = serving.pid();
    QVERIFY(sending.start(program, args(portB, portA) << u"--send"_s << u"user:42"_s));
    const bool sent = sending.waitForFinished(FinishTimeoutMs);
    const QString outB = sending.output();
    const QString errB = QString::fromUtf8(sending.standardError());
    QVERIFY2(sent, qPrintable(outB + errB));
    QCOMPARE(sending.process().exitCode(), 0);
    serving.process().terminate();   // SIGTERM: a graceful stop
    QVERIFY(serving.waitForFinished(FinishTimeoutMs));
    QCOMPARE(serving.process().exitCode(), 0);
    const QString outA = serving.output();
    const QString errA = QString::fromUtf8(serving.standardError());
    const QString dump = u"\n--- sender ---\n"_s + outB + errB + u"--- server ---\n"_s + outA + errA;
    QVERIFY2(errA.isEmpty() && errB.isEmpty(), qPrintable(dump));

    // Every process of both machines ran the invalidation once; only the other master got
    // the configuration update.
    const QRegularExpression invalidated(uR"(^\[(\d+)\] Cache invalidate: user:42$)"_s,
                                         QRegularExpression::MultilineOption);
    QSet<QString> pids;
    int lines = 0;
    for (const QString *out : {&outA, &outB}) {
        for (auto it = invalidated.globalMatch(*out); it.hasNext(); ++lines)
            pids.insert(it.next().captured(1));
    }
    QVERIFY2(lines == 6 && pids.size() == 6, qPrintable(dump));
    QVERIFY2(outB.contains(u"Cache invalidation of user:42 reached 6 processes on 2 machines\n"_s), qPrintable(dump));
    QVERIFY2(outB.contains(u"Config update reached 1 remote master(s)\n"_s), qPrintable(dump));
    QCOMPARE(outA.count(u"Config update received: v2"_s), 1);
    QCOMPARE(outB.count(u"Config update received"_s), 0);
    QCOMPARE(outA.count(u"] Config update received: v2"_s), 1);
    QVERIFY2(outA.contains(u"[%1] Config update received: v2"_s.arg(servingPid)), qPrintable(dump));
    QTRY_VERIFY(processesWithMarker(marker).isEmpty());
}

void tst_Examples::clusterBroadcastWithoutSecret()
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(u"SECRET"_s);
    HelperProcess p;
    p.setEnvironment(env);
    QVERIFY(p.start(QStringLiteral(EXAMPLE_CLUSTER_BROADCAST),
                    {u"--port"_s, QString::number(TestHosts::freePort()), u"--no-broadcast"_s}));
    QVERIFY2(p.waitForFinished(FinishTimeoutMs), qPrintable(p.dump()));
    QCOMPARE(p.process().exitCode(), 1);
    const QString err = QString::fromUtf8(p.standardError());
    QVERIFY2(err.contains(u"Cluster disabled - set SECRET env var for multi-machine support"_s), qPrintable(err));
}

void tst_Examples::clusterHelpWithoutSecret_data()
{
    QTest::addColumn<QString>("program");
    QTest::newRow("cluster_broadcast") << QStringLiteral(EXAMPLE_CLUSTER_BROADCAST);
    QTest::newRow("plexus-cluster-traffic") << QStringLiteral(EXAMPLE_PLEXUS_CLUSTER_TRAFFIC);
}

void tst_Examples::clusterHelpWithoutSecret()
{
    // Issue 19.6: "--help" printed "No cluster secret" instead of the options.
    QFETCH(QString, program);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(u"SECRET"_s);
    HelperProcess p;
    p.setEnvironment(env);
    QVERIFY(p.start(program, {u"--help"_s}));
    QVERIFY2(p.waitForFinished(FinishTimeoutMs), qPrintable(p.dump()));
    QCOMPARE(p.process().exitCode(), 0);
    const QString out = p.output();
    QVERIFY2(out.contains(u"Usage:"_s) && out.contains(u"--port"_s), qPrintable(p.dump()));
    QVERIFY2(!QString::fromUtf8(p.standardError()).contains(u"secret"_s, Qt::CaseInsensitive),
             qPrintable(p.dump()));
}

QTEST_GUILESS_MAIN(tst_Examples)
#include "tst_examples.moc"
