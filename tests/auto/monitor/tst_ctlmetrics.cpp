// SPDX-License-Identifier: MIT
//
// plexusctl metrics (monitor/cli/ctlmetrics.cpp): the Prometheus text exposition format,
// version 0.0.4, checked line by line by a strict parser of this test's own. Debian's
// `prometheus` package ships `promtool check metrics`, but it is far too heavy to install
// for one test (a whole Prometheus server), so the grammar is written out here: metric
// and label names, escaped label values, float values, HELP and TYPE before the samples,
// one TYPE per family, families not interleaved, no duplicate series, counters in _total.
// Fed with synthetic snapshots (hostile host names, reasons and versions included) and,
// end to end, with the output of the real plexusctl against a real master on loopback.

#include "ctlmetrics.h"
#include "helperprocess.h"
#include "testhosts.h"
#include "liveprocesses.h"

#include "clusterstate.h"

#include <QtCore/qhash.h>
#include <QtCore/qregularexpression.h>
#include <QtCore/qscopeguard.h>
#include <QtCore/qset.h>
#include <QtCore/qstringconverter.h>
#include <QtCore/quuid.h>
#include <QtTest/qtest.h>

#include <csignal>
#include <limits>

using namespace Qt::StringLiterals;
using namespace PlexusMonitor;
using TestSupport::HelperProcess;

namespace {

const QByteArray Secret = "tst_ctlmetrics shared secret";

// One sample as parsed: its labels unescaped.
struct Sample
{
    QString name;
    QList<std::pair<QString, QString>> labels;
    double value = 0;

    QString label(const QString &key) const
    {
        for (const auto &l : labels) {
            if (l.first == key)
                return l.second;
        }
        return {};
    }
};

// A strict reader of the text format 0.0.4: parse() returns false with the line number
// and the broken rule in error().
class ExpositionParser
{
public:
    bool parse(const QByteArray &text)
    {
        if (text.isEmpty())
            return fail(0, u"empty"_s);
        if (!text.endsWith('\n'))
            return fail(0, u"the last line has no newline"_s);
        auto decoder = QStringDecoder(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
        const QString all = decoder(text);
        if (decoder.hasError())
            return fail(0, u"not UTF-8"_s);
        const QStringList lines = all.split(u'\n');
        for (qsizetype i = 0; i + 1 < lines.size(); ++i) {   // the last one is after the final \n
            m_line = int(i + 1);
            if (!parseLine(lines.at(i)))
                return false;
        }
        return true;
    }

    QString error() const { return m_error; }
    const QList<Sample> &samples() const { return m_samples; }
    QString type(const QString &family) const { return m_types.value(family); }
    QList<Sample> find(const QString &name) const
    {
        QList<Sample> out;
        for (const Sample &s : m_samples) {
            if (s.name == name)
                out.append(s);
        }
        return out;
    }

private:
    bool fail(int line, const QString &why)
    {
        m_error = u"line %1: %2"_s.arg(line).arg(why);
        return false;
    }
    bool fail(const QString &why) { return fail(m_line, why); }

    static bool isMetricName(QStringView s)
    {
        static const QRegularExpression re(u"^[a-zA-Z_:][a-zA-Z0-9_:]*$"_s);
        return re.match(s).hasMatch();
    }
    static bool isLabelName(QStringView s)
    {
        static const QRegularExpression re(u"^[a-zA-Z_][a-zA-Z0-9_]*$"_s);
        return re.match(s).hasMatch() && !s.startsWith(u"__");
    }
    static bool parseValue(QStringView s, double *out)
    {
        static const QRegularExpression re(
                u"^([+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?Inf|NaN)$"_s);
        if (!re.match(s).hasMatch())
            return false;
        if (s == u"NaN")
            *out = std::numeric_limits<double>::quiet_NaN();
        else if (s.endsWith(u"Inf"))
            *out = s.startsWith(u'-') ? -std::numeric_limits<double>::infinity()
                                      : std::numeric_limits<double>::infinity();
        else
            *out = s.toDouble();
        return true;
    }
    // Control characters are legal in no line (a raw newline could not even be one).
    static bool hasControl(QStringView s)
    {
        for (QChar c : s) {
            if (c.unicode() < 0x20 || c.unicode() == 0x7f)
                return true;
        }
        return false;
    }

    // The family a line belongs to starts, or goes on; a family seen before may not.
    bool enterFamily(const QString &name)
    {
        if (name == m_current)
            return true;
        if (m_closed.contains(name))
            return fail(u"family %1 is split (its lines are not together)"_s.arg(name));
        if (!m_current.isEmpty())
            m_closed.insert(m_current);
        m_current = name;
        return true;
    }

    bool parseLine(const QString &line)
    {
        if (line.isEmpty())
            return fail(u"empty line"_s);
        if (hasControl(line))
            return fail(u"a control character"_s);
        if (line.startsWith(u'#'))
            return parseComment(line);
        return parseSample(line);
    }

    bool parseComment(const QString &line)
    {
        const bool help = line.startsWith(u"# HELP ");
        const bool type = line.startsWith(u"# TYPE ");
        if (!help && !type)
            return fail(u"a comment other than HELP or TYPE"_s);   // stricter than needed
        const QString rest = line.mid(7);
        const qsizetype space = rest.indexOf(u' ');
        const QString name = space < 0 ? rest : rest.left(space);
        const QString text = space < 0 ? QString() : rest.mid(space + 1);
        if (!isMetricName(name))
            return fail(u"bad metric name \"%1\""_s.arg(name));
        if (!enterFamily(name))
            return false;
        if (m_sampled.contains(name))
            return fail(u"HELP or TYPE of %1 after its samples"_s.arg(name));
        if (help) {
            if (m_helps.contains(name))
                return fail(u"a second HELP for %1"_s.arg(name));
            m_helps.insert(name);
            for (qsizetype i = 0; i < text.size(); ++i) {
                if (text.at(i) == u'\\') {
                    if (i + 1 >= text.size() || (text.at(i + 1) != u'\\' && text.at(i + 1) != u'n'))
                        return fail(u"a bad escape in HELP"_s);
                    ++i;
                }
            }
            return true;
        }
        static const QSet<QString> types{u"counter"_s, u"gauge"_s, u"histogram"_s, u"summary"_s,
                                         u"untyped"_s};
        if (!types.contains(text))
            return fail(u"unknown type \"%1\""_s.arg(text));
        if (m_types.contains(name))
            return fail(u"a second TYPE for %1"_s.arg(name));
        if (text == u"counter" && !name.endsWith(u"_total"))
            return fail(u"counter %1 without _total"_s.arg(name));
        m_types.insert(name, text);
        return true;
    }

    bool parseSample(const QString &line)
    {
        qsizetype i = 0;
        while (i < line.size() && line.at(i) != u'{' && line.at(i) != u' ')
            ++i;
        Sample s;
        s.name = line.left(i);
        if (!isMetricName(s.name))
            return fail(u"bad metric name \"%1\""_s.arg(s.name));
        if (!m_types.contains(s.name))
            return fail(u"sample of %1 before its TYPE"_s.arg(s.name));
        if (!enterFamily(s.name))
            return false;
        m_sampled.insert(s.name);
        if (i < line.size() && line.at(i) == u'{') {
            ++i;
            while (true) {
                if (i < line.size() && line.at(i) == u'}') {
                    ++i;
                    break;
                }
                qsizetype eq = line.indexOf(u'=', i);
                if (eq < 0)
                    return fail(u"a label without ="_s);
                const QString key = line.mid(i, eq - i);
                if (!isLabelName(key))
                    return fail(u"bad label name \"%1\""_s.arg(key));
                for (const auto &l : std::as_const(s.labels)) {
                    if (l.first == key)
                        return fail(u"label %1 twice"_s.arg(key));
                }
                i = eq + 1;
                if (i >= line.size() || line.at(i) != u'"')
                    return fail(u"label value not quoted"_s);
                ++i;
                QString value;
                while (true) {
                    if (i >= line.size())
                        return fail(u"unterminated label value"_s);
                    const QChar c = line.at(i++);
                    if (c == u'"')
                        break;
                    if (c == u'\\') {
                        if (i >= line.size())
                            return fail(u"a backslash at the end"_s);
                        const QChar e = line.at(i++);
                        if (e == u'\\')
                            value += u'\\';
                        else if (e == u'"')
                            value += u'"';
                        else if (e == u'n')
                            value += u'\n';
                        else
                            return fail(u"a bad escape \\%1 in a label value"_s.arg(e));
                    } else {
                        value += c;
                    }
                }
                s.labels.append({key, value});
                if (i < line.size() && line.at(i) == u',') {
                    ++i;
                    continue;
                }
                if (i < line.size() && line.at(i) == u'}') {
                    ++i;
                    break;
                }
                return fail(u"expected , or } after a label"_s);
            }
        }
        if (i >= line.size() || line.at(i) != u' ')
            return fail(u"no space before the value"_s);
        const QStringList rest = line.mid(i + 1).split(u' ');
        if (rest.size() != 1)   // a timestamp would be legal, but plexusctl writes none
            return fail(u"extra fields after the value"_s);
        if (!parseValue(rest.front(), &s.value))
            return fail(u"bad value \"%1\""_s.arg(rest.front()));
        if (m_types.value(s.name) == u"counter" && !(s.value >= 0))
            return fail(u"a counter below 0 or NaN"_s);
        auto sorted = s.labels;
        std::sort(sorted.begin(), sorted.end());
        QString key = s.name;
        for (const auto &l : sorted)
            key += u'\x1f' + l.first + u'\x1e' + l.second;
        if (m_series.contains(key))
            return fail(u"duplicate series %1"_s.arg(line));
        m_series.insert(key);
        m_samples.append(s);
        return true;
    }

    int m_line = 0;
    QString m_error;
    QString m_current;
    QSet<QString> m_closed;
    QSet<QString> m_helps;
    QSet<QString> m_sampled;
    QHash<QString, QString> m_types;
    QSet<QString> m_series;
    QList<Sample> m_samples;
};

ProcessSnapshot process(qint64 pid, ProcessRole role, int slot)
{
    ProcessSnapshot p;
    p.pid = pid;
    p.role = role;
    p.slot = slot;
    p.state = ProcessState::Running;
    p.responding = true;
    p.startedAt = 1700000000000;
    p.uptimeMs = 5000;
    return p;
}

} // namespace

class tst_CtlMetrics : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void parserRejectsInvalid_data();
    void parserRejectsInvalid();
    void escapeLabelValue_data();
    void escapeLabelValue();
    void syntheticCluster();
    void hostileSnapshotStaysValid();
    void emptyState();
    void realCluster();
};

// The parser must be strict, or the other tests prove nothing.
void tst_CtlMetrics::parserRejectsInvalid_data()
{
    QTest::addColumn<QByteArray>("text");
    const QByteArray head = "# HELP a_total A.\n# TYPE a_total counter\n";
    QTest::newRow("no TYPE") << QByteArray("a 1\n");
    QTest::newRow("bad name") << QByteArray("# TYPE 1a gauge\n1a 1\n");
    QTest::newRow("bad label name") << QByteArray(head + "a_total{1x=\"a\"} 1\n");
    QTest::newRow("reserved label") << QByteArray(head + "a_total{__x=\"a\"} 1\n");
    QTest::newRow("bad escape") << QByteArray(head + "a_total{x=\"\\t\"} 1\n");
    QTest::newRow("raw quote") << QByteArray(head + "a_total{x=\"a\"b\"} 1\n");
    QTest::newRow("unterminated") << QByteArray(head + "a_total{x=\"a} 1\n");
    QTest::newRow("NUL") << QByteArray(head + "a_total{x=\"a" + QByteArray(1, '\0') + "\"} 1\n");
    QTest::newRow("bad value") << QByteArray(head + "a_total 1,5\n");
    QTest::newRow("inf spelled wrong") << QByteArray("# TYPE g gauge\ng inf\n");
    QTest::newRow("duplicate series") << QByteArray(head + "a_total{x=\"1\",y=\"2\"} 1\na_total{y=\"2\",x=\"1\"} 2\n");
    QTest::newRow("duplicate label") << QByteArray(head + "a_total{x=\"1\",x=\"2\"} 1\n");
    QTest::newRow("two TYPEs") << QByteArray(head + "# TYPE a_total counter\na_total 1\n");
    QTest::newRow("HELP after samples") << QByteArray("# TYPE g gauge\ng 1\n# HELP g G.\n");
    QTest::newRow("split family") << QByteArray("# TYPE g gauge\ng{a=\"1\"} 1\n# TYPE h gauge\nh 1\ng{a=\"2\"} 1\n");
    QTest::newRow("counter without _total") << QByteArray("# TYPE c counter\nc 1\n");
    QTest::newRow("negative counter") << QByteArray(head + "a_total -1\n");
    QTest::newRow("no final newline") << QByteArray("# TYPE g gauge\ng 1");
    QTest::newRow("not UTF-8") << QByteArray("# TYPE g gauge\ng{a=\"\xff\"} 1\n");
}

void tst_CtlMetrics::parserRejectsInvalid()
{
    QFETCH(QByteArray, text);
    ExpositionParser parser;
    QVERIFY(!parser.parse(text));
    // ... and accepts the same shape when it is right.
    ExpositionParser good;
    QVERIFY2(good.parse("# HELP a_total A \\\\ \\n.\n# TYPE a_total counter\n"
                        "a_total{x=\"q\\\"\\\\\\n\",y=\"\"} 1.5e3\na_total 0\n# TYPE g gauge\ng -Inf\n"),
             qPrintable(good.error()));
}

void tst_CtlMetrics::escapeLabelValue_data()
{
    QTest::addColumn<QString>("value");
    QTest::addColumn<QByteArray>("escaped");
    QTest::newRow("plain") << u"host-1.example"_s << QByteArray("host-1.example");
    QTest::newRow("quote") << u"a\"b"_s << QByteArray("a\\\"b");
    QTest::newRow("backslash") << u"a\\b"_s << QByteArray("a\\\\b");
    QTest::newRow("newline") << u"a\nb"_s << QByteArray("a\\nb");
    QTest::newRow("NUL") << QString(u"a"_s + QChar(0) + u"b"_s) << QByteArray("a\xef\xbf\xbd" "b");
    QTest::newRow("CR and tab") << u"\r\t"_s << QByteArray("\xef\xbf\xbd\xef\xbf\xbd");
    QTest::newRow("unicode") << u"h\u00f6st"_s << QByteArray("h\xc3\xb6st");
}

void tst_CtlMetrics::escapeLabelValue()
{
    QFETCH(QString, value);
    QFETCH(QByteArray, escaped);
    QCOMPARE(PlexusCtl::escapeLabelValue(value), escaped);
}

void tst_CtlMetrics::syntheticCluster()
{
    ClusterState state;
    MachineSnapshot m;
    m.machine = 0xfedcba9876543210ull;   // above 2^63
    m.host = u"alpha"_s;
    m.version = u"1.2.3"_s;
    m.time = 1700000001000;
    m.remoteControl = true;
    m.traceDropped = 3;
    ProcessSnapshot master = process(100, ProcessRole::Master, -1);
    master.backlog = 4096;
    master.kinds[size_t(MessageKind::Call)] = {10, 20, 1000, 2000};
    master.kinds[size_t(MessageKind::Broadcast)] = {1, 2, 30, 40};
    master.security = {{u"10.0.0.9:7400"_s, u"AuthenticationFailed"_s, 4},
                       {u"10.0.0.8:7400"_s, u"AuthenticationFailed"_s, 1},
                       {u"10.0.0.8:7400"_s, u"ReplayedFrame"_s, 2}};
    master.cpuPercent = 12.5;
    master.rssBytes = 25 * 1024 * 1024;
    ProcessSnapshot worker = process(101, ProcessRole::Worker, 0);
    worker.restarts = 2;   // its CPU and RSS unknown (-1): no sample
    worker.kinds[size_t(MessageKind::Call)] = {20, 10, 2000, 1000};
    m.processes = {master, worker};
    m.peers = {{0x42, u"127.0.0.1"_s, 7401, u"1.2.3"_s, false, 0.5, 0},
               {0x43, u"127.0.0.1"_s, 0, u"1.2.3"_s, true, -1, 0}};
    state.applySnapshot(m, 1700000001000);
    state.setConnected(m.machine, u"127.0.0.1"_s, 7400, u"1.2.3"_s, 1.5, 0, 1700000001000);

    const QByteArray text = PlexusCtl::metricsText(state);
    ExpositionParser parser;
    QVERIFY2(parser.parse(text), qPrintable(parser.error() + u'\n' + QString::fromUtf8(text)));

    const QString id = u"0xfedcba9876543210"_s;
    const auto value = [&](const QString &name, const QList<std::pair<QString, QString>> &labels) {
        for (const Sample &s : parser.find(name)) {
            bool all = true;
            for (const auto &l : labels)
                all = all && s.label(l.first) == l.second;
            if (all)
                return s.value;
        }
        return -12345.0;
    };
    QCOMPARE(parser.type(u"plexus_process_received_messages_total"_s), u"counter"_s);
    QCOMPARE(parser.type(u"plexus_process_backlog_bytes"_s), u"gauge"_s);
    QCOMPARE(value(u"plexus_process_received_messages_total"_s,
                   {{u"machine"_s, id}, {u"pid"_s, u"100"_s}, {u"kind"_s, u"call"_s}}), 10.0);
    QCOMPARE(value(u"plexus_process_sent_bytes_total"_s,
                   {{u"pid"_s, u"100"_s}, {u"kind"_s, u"broadcast"_s}}), 40.0);
    QCOMPARE(value(u"plexus_process_received_messages_total"_s,
                   {{u"pid"_s, u"101"_s}, {u"role"_s, u"worker"_s}, {u"slot"_s, u"0"_s},
                    {u"host"_s, u"alpha"_s}, {u"kind"_s, u"call"_s}}), 20.0);
    QCOMPARE(value(u"plexus_process_backlog_bytes"_s, {{u"pid"_s, u"100"_s}}), 4096.0);
    QCOMPARE(value(u"plexus_process_cpu_ratio"_s, {{u"pid"_s, u"100"_s}}), 0.125);
    QCOMPARE(value(u"plexus_process_resident_memory_bytes"_s, {{u"pid"_s, u"100"_s}}), 25.0 * 1024 * 1024);
    QCOMPARE(parser.find(u"plexus_process_cpu_ratio"_s).size(), 1);
    QCOMPARE(parser.find(u"plexus_process_resident_memory_bytes"_s).size(), 1);
    QCOMPARE(value(u"plexus_process_restarts_total"_s, {{u"pid"_s, u"101"_s}}), 2.0);
    // Rejections summed per reason over the peers.
    QCOMPARE(value(u"plexus_process_rejected_frames_total"_s, {{u"reason"_s, u"AuthenticationFailed"_s}}), 5.0);
    QCOMPARE(value(u"plexus_process_rejected_frames_total"_s, {{u"reason"_s, u"ReplayedFrame"_s}}), 2.0);
    QCOMPARE(value(u"plexus_machine_peers"_s, {{u"machine"_s, id}}), 1.0);   // the monitor not counted
    QCOMPARE(value(u"plexus_machine_rtt_seconds"_s, {{u"machine"_s, id}}), 0.0015);
    QCOMPARE(value(u"plexus_machine_trace_dropped_batches_total"_s, {{u"machine"_s, id}}), 3.0);
    QCOMPARE(value(u"plexus_machine_info"_s, {{u"version"_s, u"1.2.3"_s}}), 1.0);
    QCOMPARE(value(u"plexus_monitor_reporting_machines"_s, {}), 1.0);
    // One sample per process and kind.
    QCOMPARE(parser.find(u"plexus_process_sent_messages_total"_s).size(), 2 * MessageKindCount);
}

void tst_CtlMetrics::hostileSnapshotStaysValid()
{
    ClusterState state;
    const QString nasty = u"a\"b\\c\nd\re"_s + QChar(0) + u"f\u2028g}h{i=\"j,"_s + QChar(0xd800)
                          + u"# TYPE x counter"_s;
    MachineSnapshot m;
    m.machine = 1;
    m.host = nasty;
    m.version = u"\\\\\\\"\n\n"_s;
    ProcessSnapshot master = process(-5, ProcessRole::Unknown, -1);
    master.state = ProcessState::Unknown;
    master.backlog = std::numeric_limits<quint64>::max();
    master.restarts = std::numeric_limits<quint64>::max();
    master.startedAt = std::numeric_limits<qint64>::min();
    master.cpuPercent = std::numeric_limits<double>::infinity();
    master.rssBytes = std::numeric_limits<qint64>::max();
    master.security = {{nasty, nasty, 1}, {u"p"_s, u"\"\n"_s + QChar(0), 2}, {u"q"_s, QString(), 3}};
    ProcessSnapshot twin = master;   // a master listing one process twice
    ProcessSnapshot restarting = process(0, ProcessRole::Worker, 1);
    ProcessSnapshot restarting2 = process(0, ProcessRole::Worker, 2);
    m.processes = {master, twin, restarting, restarting2};
    state.applySnapshot(m, 1000);
    // A second machine with the same host and a non-finite round-trip time.
    MachineSnapshot m2 = m;
    m2.machine = 2;
    state.applySnapshot(m2, 1000);
    state.setConnected(1, u"x"_s, 1, u"v"_s, std::numeric_limits<double>::infinity(), 0, 1000);
    state.setConnected(2, u"x"_s, 1, u"v"_s, std::numeric_limits<double>::quiet_NaN(), 0, 1000);

    const QByteArray text = PlexusCtl::metricsText(state);
    ExpositionParser parser;
    QVERIFY2(parser.parse(text), qPrintable(parser.error() + u'\n' + QString::fromUtf8(text)));
    // The host reads back as sent, but for the characters no label may hold.
    bool found = false;
    for (const Sample &s : parser.find(u"plexus_process_up"_s)) {
        if (s.label(u"machine"_s) == u"0x0000000000000001"_s && s.label(u"slot"_s) == u"-1"_s) {
            QVERIFY(s.label(u"host"_s).startsWith(u"a\"b\\c\nd\uFFFDe\uFFFDf"_s));
            found = true;
        }
    }
    QVERIFY(found);
    // Both restarting slots are there (pid 0 twice, told apart by the slot); the twin is not.
    QCOMPARE(parser.find(u"plexus_process_up"_s).size(), 2 * 3);
}

void tst_CtlMetrics::emptyState()
{
    ClusterState state;
    ExpositionParser parser;
    QVERIFY2(parser.parse(PlexusCtl::metricsText(state)), qPrintable(parser.error()));
    QCOMPARE(parser.samples().size(), 1);   // plexus_monitor_reporting_machines 0
}

// The real plexusctl against a real master with two workers.
void tst_CtlMetrics::realCluster()
{
    const QByteArray run = "tstmet-" + QUuid::createUuid().toByteArray(QUuid::Id128).left(12);
    const auto cleanup = qScopeGuard([&run] {
        for (qint64 pid : TestSupport::liveProcesses(run))
            ::kill(pid_t(pid), SIGKILL);
    });
    const quint16 port = TestHosts::freePort();
    QVERIFY(port);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(u"SECRET"_s, QString::fromLatin1(Secret));

    HelperProcess node;
    node.setEnvironment(env);
    node.setForwardStderr(true);
    QVERIFY(node.start(QStringLiteral(MONITOR_NODE_PATH),
                       {u"--tag"_s, u"m1"_s, u"--run"_s, QString::fromLatin1(run), u"--port"_s,
                        QString::number(port), u"-w"_s, u"2"_s}));
    QVERIFY2(node.waitForLine(u"READY"_s, {}, 30000), qPrintable(node.dump()));
    QVERIFY2(node.waitFor([&] { return node.last(u"WORKERS"_s).word(1).split(u',', Qt::SkipEmptyParts).size() == 2; },
                          30000),
             qPrintable(node.dump()));
    const quint64 machine = node.last(u"READY"_s).word(1).toULongLong(nullptr, 16);
    QSet<QString> pids{QString::number(node.pid())};
    for (const QString &pid : node.last(u"WORKERS"_s).word(1).split(u',', Qt::SkipEmptyParts))
        pids.insert(pid);

    HelperProcess ctl;
    ctl.setEnvironment(env);
    QVERIFY(ctl.start(QStringLiteral(PLEXUSCTL_PATH),
                      {u"--peer"_s, u"127.0.0.1:%1"_s.arg(port), u"--timeout"_s, u"15000"_s,
                       u"metrics"_s}));
    QVERIFY2(ctl.waitForFinished(30000), qPrintable(ctl.dump()));
    QVERIFY2(ctl.process().exitStatus() == QProcess::NormalExit && ctl.process().exitCode() == 0,
             qPrintable(ctl.dump()));
    const QByteArray text = ctl.output().toUtf8();
    ExpositionParser parser;
    QVERIFY2(parser.parse(text), qPrintable(parser.error() + u'\n' + QString::fromUtf8(text)));

    QSet<QString> seen;
    const QString id = u"0x"_s + QString::number(machine, 16).rightJustified(16, u'0');
    for (const Sample &s : parser.find(u"plexus_process_up"_s)) {
        QCOMPARE(s.label(u"machine"_s), id);
        seen.insert(s.label(u"pid"_s));
    }
    QCOMPARE(seen, pids);
    // The workers call the master: its call counters are there and moving.
    double calls = 0;
    for (const Sample &s : parser.find(u"plexus_process_received_messages_total"_s)) {
        if (s.label(u"pid"_s) == QString::number(node.pid()) && s.label(u"kind"_s) == u"call")
            calls = s.value;
    }
    QVERIFY(calls > 0);
    // The master measures its processes' memory from /proc.
    bool rss = false;
    for (const Sample &s : parser.find(u"plexus_process_resident_memory_bytes"_s))
        rss = rss || (s.label(u"pid"_s) == QString::number(node.pid()) && s.value > 0);
    QVERIFY2(rss, text.constData());
    QVERIFY(node.finish("quit", 10000));
    QTRY_VERIFY_WITH_TIMEOUT(TestSupport::liveProcesses(run).isEmpty(), 10000);
}

QTEST_GUILESS_MAIN(tst_CtlMetrics)
#include "tst_ctlmetrics.moc"
