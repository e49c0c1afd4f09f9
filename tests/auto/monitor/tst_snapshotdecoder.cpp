// SPDX-License-Identifier: MIT
//
// The decoders of the introspection answers (docs/MONITOR.md section 2): what a master
// sends, what a later version may add, and what a hostile master could send instead.

#include "snapshotdecoder.h"

#include <QtCore/qcborarray.h>
#include <QtCore/qcbormap.h>
#include <QtCore/qcborstreamwriter.h>
#include <QtCore/qcborvalue.h>
#include <QtCore/qelapsedtimer.h>
#include <QtTest/qtest.h>

#include <limits>

using namespace Qt::StringLiterals;
using namespace PlexusMonitor;

namespace {

constexpr quint64 BigMachine = 0xF123456789ABCDEFull;   // above 2^63

QCborMap process(qint64 pid, const QString &role, int slot)
{
    QCborMap counters{{u"messagesIn"_s, 10}, {u"messagesOut"_s, 20}, {u"bytesIn"_s, 1000},
                      {u"bytesOut"_s, 2000}, {u"rejected"_s, 1}, {u"lateReplies"_s, 2},
                      {u"droppedReplies"_s, 3}, {u"unknownOpcodes"_s, 4},
                      {u"backpressureErrors"_s, 5}, {u"heldMessages"_s, 6}};
    QCborMap kinds{{u"call"_s, QCborArray{1, 2, 3, 4}}, {u"broadcast"_s, QCborArray{5, 6, 7, 8}}};
    QCborArray opcodes{QCborMap{{u"code"_s, 0x100}, {u"name"_s, u"probe"_s}, {u"in"_s, 7},
                                {u"out"_s, 8}, {u"bytesIn"_s, 70}, {u"bytesOut"_s, 80}},
                       QCborMap{{u"code"_s, 0x101}, {u"in"_s, 1}}};
    QCborArray security{QCborMap{{u"peer"_s, u"127.0.0.1:9"_s},
                                 {u"reason"_s, u"AuthenticationFailed"_s}, {u"count"_s, 3}}};
    return QCborMap{{u"pid"_s, pid}, {u"role"_s, role}, {u"slot"_s, slot}, {u"exec"_s, false},
                    {u"state"_s, u"running"_s}, {u"responding"_s, true},
                    {u"startedAt"_s, qint64(1700000000000)}, {u"uptimeMs"_s, 5000},
                    {u"restarts"_s, 2}, {u"idleMs"_s, -1}, {u"backlog"_s, 64},
                    {u"counters"_s, counters}, {u"kinds"_s, kinds}, {u"opcodes"_s, opcodes},
                    {u"security"_s, security}};
}

QCborMap snapshot()
{
    QCborArray processes{process(100, u"master"_s, -1), process(101, u"worker"_s, 0),
                         process(102, u"worker"_s, 1)};
    QCborArray links{QCborMap{{u"peer"_s, u"worker 0"_s}, {u"kind"_s, u"worker"_s},
                              {u"pid"_s, 101}, {u"machine"_s, 7}, {u"queued"_s, 5},
                              {u"framesIn"_s, 1}, {u"framesOut"_s, 2}, {u"bytesIn"_s, 3},
                              {u"bytesOut"_s, 4}, {u"idleMs"_s, 12}}};
    QCborArray peers{QCborMap{{u"machine"_s, 8}, {u"address"_s, u"127.0.0.1"_s},
                              {u"port"_s, 7400}, {u"version"_s, u"0.1.0"_s},
                              {u"monitor"_s, false}, {u"rttMs"_s, 0.25},
                              {u"since"_s, qint64(1700000000001)}}};
    return QCborMap{{u"v"_s, 1}, {u"machine"_s, 7}, {u"version"_s, u"0.1.0"_s},
                    {u"host"_s, u"h1"_s}, {u"time"_s, qint64(1700000005000)},
                    {u"clusterPort"_s, 7400}, {u"remoteControl"_s, true},
                    {u"trace"_s, true}, {u"traceDropped"_s, 9},
                    {u"processes"_s, processes}, {u"links"_s, links}, {u"peers"_s, peers}};
}

QByteArray cbor(const QCborMap &map)
{
    return QCborValue(map).toCbor();
}

QCborMap traceBatch()
{
    QCborArray aggregates{QCborMap{{u"pid"_s, 101}, {u"kind"_s, u"call"_s},
                                   {u"opcode"_s, 0x100}, {u"count"_s, 40}, {u"bytes"_s, 400}},
                          QCborMap{{u"pid"_s, 55}, {u"fromMachine"_s, 8},
                                   {u"kind"_s, u"cluster"_s}, {u"opcode"_s, 0x101},
                                   {u"count"_s, 1}, {u"bytes"_s, 10}}};
    QCborArray samples{QCborMap{{u"t"_s, qint64(1700000005001)}, {u"from"_s, 101},
                                {u"fromMachine"_s, 7}, {u"to"_s, 100}, {u"toMachine"_s, 7},
                                {u"kind"_s, u"call"_s}, {u"opcode"_s, 0x100},
                                {u"id"_s, qint64(0xFEDCBA9876543210ull)}, {u"size"_s, 12},
                                {u"flags"_s, 3}, {u"data"_s, QByteArray("abc")}}};
    return QCborMap{{u"v"_s, 1}, {u"machine"_s, 7}, {u"seq"_s, 4}, {u"time"_s, qint64(1700000005250)},
                    {u"intervalMs"_s, 250}, {u"events"_s, 41}, {u"dropped"_s, 2},
                    {u"aggregates"_s, aggregates}, {u"samples"_s, samples}};
}

// Sets \a path (keys and array indexes, e.g. {"processes", 1, "pid"}) in \a root to \a value.
QCborValue setPath(QCborValue root, QList<QVariant> path, const QCborValue &value)
{
    if (path.isEmpty())
        return value;
    const QVariant head = path.takeFirst();
    if (head.typeId() == QMetaType::Int) {
        QCborArray a = root.toArray();
        a[head.toInt()] = setPath(a.at(head.toInt()), path, value);
        return a;
    }
    QCborMap m = root.toMap();
    m[head.toString()] = setPath(m.value(head.toString()), path, value);
    return m;
}

QByteArray withValue(QList<QVariant> path, const QCborValue &value)
{
    return setPath(snapshot(), std::move(path), value).toCbor();
}

} // namespace

class tst_SnapshotDecoder : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void validSnapshot();
    void bigMachineIds_data();
    void bigMachineIds();
    void unknownKeysIgnored();
    void unknownEnumTexts();
    void versionRefused_data();
    void versionRefused();
    void wrongTypes_data();
    void wrongTypes();
    void notAnAnswer_data();
    void notAnAnswer();
    void truncatedNeverDecodes();
    void listsBounded_data();
    void listsBounded();
    void declaredLengthBeyondInput();
    void deepNestingRefused();
    void textsBounded();
    void validTrace();
    void traceDataBounded();
    void controlAnswers();
    void usageAndExits();
    void hostileUsageIsUnknown_data();
    void hostileUsageIsUnknown();
    void requestsEncoded();
};

void tst_SnapshotDecoder::validSnapshot()
{
    MachineSnapshot s;
    QString error;
    QVERIFY2(decodeSnapshot(cbor(snapshot()), &s, &error), qPrintable(error));
    QCOMPARE(s.machine, 7u);
    QCOMPARE(s.version, u"0.1.0"_s);
    QCOMPARE(s.host, u"h1"_s);
    QCOMPARE(s.time, 1700000005000);
    QCOMPARE(s.clusterPort, 7400);
    QVERIFY(s.remoteControl);
    QVERIFY(s.trace);
    QCOMPARE(s.traceDropped, 9u);
    QCOMPARE(s.processes.size(), 3);

    const ProcessSnapshot &m = s.processes.at(0);
    QCOMPARE(m.pid, 100);
    QVERIFY(m.isMaster());
    QCOMPARE(m.slot, -1);
    QCOMPARE(m.state, ProcessState::Running);
    QVERIFY(m.responding);
    QCOMPARE(m.startedAt, 1700000000000);
    QCOMPARE(m.uptimeMs, 5000);
    QCOMPARE(m.restarts, 2u);
    QCOMPARE(m.idleMs, -1);
    QCOMPARE(m.backlog, 64u);
    QCOMPARE(m.counters.messagesIn, 10u);
    QCOMPARE(m.counters.messagesOut, 20u);
    QCOMPARE(m.counters.bytesIn, 1000u);
    QCOMPARE(m.counters.bytesOut, 2000u);
    QCOMPARE(m.counters.rejected, 1u);
    QCOMPARE(m.counters.heldMessages, 6u);
    QCOMPARE(m.kinds[size_t(MessageKind::Call)].messagesIn, 1u);
    QCOMPARE(m.kinds[size_t(MessageKind::Call)].bytesOut, 4u);
    QCOMPARE(m.kinds[size_t(MessageKind::Broadcast)].messagesOut, 6u);
    QCOMPARE(m.kinds[size_t(MessageKind::Reply)].messagesIn, 0u);
    QCOMPARE(m.opcodes.size(), 2);
    QCOMPARE(m.opcodes.at(0).code, 0x100u);
    QCOMPARE(m.opcodes.at(0).name, u"probe"_s);
    QCOMPARE(m.opcodes.at(0).messagesIn, 7u);
    QCOMPARE(m.opcodes.at(0).bytesOut, 80u);
    QCOMPARE(m.opcodes.at(1).name, QString());
    QCOMPARE(m.security.size(), 1);
    QCOMPARE(m.security.at(0).reason, u"AuthenticationFailed"_s);
    QCOMPARE(m.security.at(0).count, 3u);
    QCOMPARE(s.processes.at(2).role, ProcessRole::Worker);
    QCOMPARE(s.processes.at(2).slot, 1);

    QCOMPARE(s.links.size(), 1);
    QCOMPARE(s.links.at(0).kind, LinkKind::Worker);
    QCOMPARE(s.links.at(0).pid, 101);
    QCOMPARE(s.links.at(0).queued, 5u);
    QCOMPARE(s.links.at(0).idleMs, 12);
    QCOMPARE(s.peers.size(), 1);
    QCOMPARE(s.peers.at(0).machine, 8u);
    QCOMPARE(s.peers.at(0).port, 7400);
    QCOMPARE(s.peers.at(0).rttMs, 0.25);
    QVERIFY(!s.peers.at(0).monitor);
}

void tst_SnapshotDecoder::bigMachineIds_data()
{
    QTest::addColumn<QByteArray>("data");
    // As a CBOR unsigned integer (what QCborStreamWriter::append(quint64) writes) ...
    QByteArray unsignedForm;
    {
        QCborStreamWriter w(&unsignedForm);
        w.startMap(2);
        w.append(u"v"_s);
        w.append(quint64(1));
        w.append(u"machine"_s);
        w.append(quint64(BigMachine));
        w.endMap();
    }
    QTest::newRow("unsigned") << unsignedForm;
    // ... and as the negative integer that QCborValue(qint64(id)) gives.
    QTest::newRow("signed") << cbor(QCborMap{{u"v"_s, 1}, {u"machine"_s, qint64(BigMachine)}});
}

void tst_SnapshotDecoder::bigMachineIds()
{
    QFETCH(QByteArray, data);
    MachineSnapshot s;
    QString error;
    QVERIFY2(decodeSnapshot(data, &s, &error), qPrintable(error));
    QCOMPARE(s.machine, BigMachine);
}

void tst_SnapshotDecoder::unknownKeysIgnored()
{
    QCborMap m = snapshot();
    m.insert(u"future"_s, QCborMap{{u"deep"_s, QCborArray{1, u"x"_s, QCborMap{{u"y"_s, 2.5}}}}});
    m.insert(u"alsoFuture"_s, QByteArray(100, 'z'));
    QCborArray processes = m.value(u"processes"_s).toArray();
    QCborMap p = processes.at(1).toMap();
    p.insert(u"cpu"_s, 0.5);
    QCborMap counters = p.value(u"counters"_s).toMap();
    counters.insert(u"newCounter"_s, 99);
    p.insert(u"counters"_s, counters);
    QCborMap kinds = p.value(u"kinds"_s).toMap();
    kinds.insert(u"teleport"_s, QCborArray{1, 2, 3, 4});        // an unknown kind
    kinds.insert(u"call"_s, QCborArray{1, 2, 3, 4, 5, 6});      // later counters appended
    p.insert(u"kinds"_s, kinds);
    processes[1] = p;
    m.insert(u"processes"_s, processes);

    MachineSnapshot s;
    QString error;
    QVERIFY2(decodeSnapshot(cbor(m), &s, &error), qPrintable(error));
    QCOMPARE(s.processes.size(), 3);
    QCOMPARE(s.processes.at(1).counters.messagesIn, 10u);
    QCOMPARE(s.processes.at(1).kinds[size_t(MessageKind::Call)].bytesOut, 4u);
}

void tst_SnapshotDecoder::unknownEnumTexts()
{
    MachineSnapshot s;
    QString error;
    QVERIFY2(decodeSnapshot(withValue({u"processes"_s, 1, u"state"_s}, u"hibernating"_s), &s, &error),
             qPrintable(error));
    QCOMPARE(s.processes.at(1).state, ProcessState::Unknown);
    QVERIFY(decodeSnapshot(withValue({u"processes"_s, 1, u"role"_s}, u"broker"_s), &s, &error));
    QCOMPARE(s.processes.at(1).role, ProcessRole::Unknown);
}

void tst_SnapshotDecoder::versionRefused_data()
{
    QTest::addColumn<QByteArray>("data");
    QCborMap m = snapshot();
    m.insert(u"v"_s, 2);
    QTest::newRow("2") << cbor(m);
    m.insert(u"v"_s, 0);
    QTest::newRow("0") << cbor(m);
    m.insert(u"v"_s, u"1"_s);
    QTest::newRow("text") << cbor(m);
    m.insert(u"v"_s, -1);
    QTest::newRow("negative") << cbor(m);
    m.remove(u"v"_s);
    QTest::newRow("missing") << cbor(m);
    // A version 2 whose keys changed type: the version is what gets reported.
    QCborMap v2{{u"machine"_s, u"a text now"_s}, {u"v"_s, 2}};
    QTest::newRow("2, v last, other types") << cbor(v2);
}

void tst_SnapshotDecoder::versionRefused()
{
    QFETCH(QByteArray, data);
    MachineSnapshot s;
    QString error;
    QVERIFY(!decodeSnapshot(data, &s, &error));
    QVERIFY2(error.contains(u"version"_s) || error.contains(u"\"v\""_s), qPrintable(error));
    TraceBatch t;
    QVERIFY(!decodeTrace(data, &t, &error));
    ControlAnswer c;
    QVERIFY(!decodeControlAnswer(data, &c, &error));
}

void tst_SnapshotDecoder::wrongTypes_data()
{
    QTest::addColumn<QByteArray>("data");
    QTest::newRow("machine text") << withValue({u"machine"_s}, u"7"_s);
    QTest::newRow("machine double") << withValue({u"machine"_s}, 7.0);
    QTest::newRow("machine missing") << [] {
        QCborMap m = snapshot();
        m.remove(u"machine"_s);
        return cbor(m);
    }();
    QTest::newRow("host number") << withValue({u"host"_s}, 5);
    QTest::newRow("remoteControl int") << withValue({u"remoteControl"_s}, 1);
    QTest::newRow("clusterPort > 65535") << withValue({u"clusterPort"_s}, 70000);
    QTest::newRow("processes map") << withValue({u"processes"_s}, QCborMap{{u"pid"_s, 1}});
    QTest::newRow("process not a map") << withValue({u"processes"_s, 1}, 5);
    QTest::newRow("pid text") << withValue({u"processes"_s, 1, u"pid"_s}, u"101"_s);
    QTest::newRow("pid missing") << [] {
        QCborMap m = snapshot();
        QCborArray p = m.value(u"processes"_s).toArray();
        QCborMap w = p.at(1).toMap();
        w.remove(u"pid"_s);
        p[1] = w;
        m.insert(u"processes"_s, p);
        return cbor(m);
    }();
    QTest::newRow("slot > 32 bits") << withValue({u"processes"_s, 1, u"slot"_s}, qint64(1) << 40);
    QTest::newRow("counter text") << withValue({u"processes"_s, 0, u"counters"_s, u"messagesIn"_s}, u"x"_s);
    QTest::newRow("counters array") << withValue({u"processes"_s, 0, u"counters"_s}, QCborArray{1});
    QTest::newRow("kind 3 counters") << withValue({u"processes"_s, 0, u"kinds"_s, u"call"_s}, QCborArray{1, 2, 3});
    QTest::newRow("kind counter text") << withValue({u"processes"_s, 0, u"kinds"_s, u"call"_s},
                                                    QCborArray{1, 2, u"3"_s, 4});
    QTest::newRow("op-code > 32 bits") << withValue({u"processes"_s, 0, u"opcodes"_s, 0, u"code"_s},
                                                    qint64(1) << 33);
    QTest::newRow("op-code negative") << withValue({u"processes"_s, 0, u"opcodes"_s, 0, u"code"_s}, -1);
    QTest::newRow("op-code name bytes") << withValue({u"processes"_s, 0, u"opcodes"_s, 0, u"name"_s},
                                                     QByteArray("probe"));
    QTest::newRow("op-code without code") << withValue({u"processes"_s, 0, u"opcodes"_s, 1},
                                                       QCborMap{{u"in"_s, 1}});
    QTest::newRow("security count text") << withValue({u"processes"_s, 0, u"security"_s, 0, u"count"_s},
                                                      u"3"_s);
    QTest::newRow("rtt text") << withValue({u"peers"_s, 0, u"rttMs"_s}, u"fast"_s);
    QTest::newRow("peer port > 65535") << withValue({u"peers"_s, 0, u"port"_s}, 1 << 20);
    QTest::newRow("link machine text") << withValue({u"links"_s, 0, u"machine"_s}, u"7"_s);
    QTest::newRow("map key integer") << [] {
        QCborMap m = snapshot();
        m.insert(5, 6);
        return cbor(m);
    }();
}

void tst_SnapshotDecoder::wrongTypes()
{
    QFETCH(QByteArray, data);
    MachineSnapshot s;
    QString error;
    QVERIFY(!decodeSnapshot(data, &s, &error));
    QVERIFY(!error.isEmpty());
}

void tst_SnapshotDecoder::notAnAnswer_data()
{
    QTest::addColumn<QByteArray>("data");
    QTest::newRow("empty") << QByteArray();
    QTest::newRow("array") << QCborValue(QCborArray{1, 2}).toCbor();
    QTest::newRow("integer") << QCborValue(1).toCbor();
    QTest::newRow("garbage") << QByteArray("\xff\xff\xff\xff", 4);
    QTest::newRow("trailing data") << QByteArray(cbor(snapshot()) + QCborValue(1).toCbor());
    QTest::newRow("two maps") << QByteArray(cbor(snapshot()) + cbor(snapshot()));
}

void tst_SnapshotDecoder::notAnAnswer()
{
    QFETCH(QByteArray, data);
    MachineSnapshot s;
    QString error;
    QVERIFY(!decodeSnapshot(data, &s, &error));
    QVERIFY(!error.isEmpty());
    TraceBatch t;
    QVERIFY(!decodeTrace(data, &t, &error));
    ControlAnswer c;
    QVERIFY(!decodeControlAnswer(data, &c, &error));
}

void tst_SnapshotDecoder::truncatedNeverDecodes()
{
    const QByteArray full = cbor(snapshot());
    MachineSnapshot s;
    QString error;
    QVERIFY(decodeSnapshot(full, &s, &error));
    for (qsizetype n = 0; n < full.size(); ++n) {
        error.clear();
        QVERIFY2(!decodeSnapshot(QByteArrayView(full).first(n), &s, &error),
                 qPrintable(u"prefix of %1 bytes decoded"_s.arg(n)));
        QVERIFY(!error.isEmpty());
    }
    const QByteArray trace = cbor(traceBatch());
    TraceBatch t;
    for (qsizetype n = 0; n < trace.size(); ++n)
        QVERIFY(!decodeTrace(QByteArrayView(trace).first(n), &t, &error));
}

void tst_SnapshotDecoder::listsBounded_data()
{
    QTest::addColumn<QByteArray>("data");
    QTest::addColumn<bool>("decodes");

    const auto processes = [](int n) {
        QCborArray a;
        for (int i = 0; i < n; ++i)
            a.append(QCborMap{{u"pid"_s, i + 1}});
        return withValue({u"processes"_s}, a);
    };
    QTest::newRow("4096 processes") << processes(DecodeLimits::MaxProcesses) << true;
    QTest::newRow("4097 processes") << processes(DecodeLimits::MaxProcesses + 1) << false;

    const auto opcodes = [](int n) {
        QCborArray a;
        for (int i = 0; i < n; ++i)
            a.append(QCborMap{{u"code"_s, i + 1}});
        return withValue({u"processes"_s, 0, u"opcodes"_s}, a);
    };
    QTest::newRow("65536 op-codes") << opcodes(DecodeLimits::MaxOpcodes) << true;
    QTest::newRow("65537 op-codes") << opcodes(DecodeLimits::MaxOpcodes + 1) << false;

    // Within each list's bound, but too many in all: 5 processes of 60000 op-codes.
    QCborArray many;
    for (int i = 0; i < 60000; ++i)
        many.append(QCborMap{{u"code"_s, i + 1}});
    QCborArray procs;
    for (int i = 0; i < 5; ++i)
        procs.append(QCborMap{{u"pid"_s, i + 1}, {u"opcodes"_s, many}});
    QTest::newRow("too many entries in all") << withValue({u"processes"_s}, procs) << false;

    // An indefinite-length array (no count to check up front) is bounded while read.
    QByteArray indefinite;
    {
        QCborStreamWriter w(&indefinite);
        w.startMap();
        w.append(u"v"_s);
        w.append(1);
        w.append(u"machine"_s);
        w.append(7);
        w.append(u"peers"_s);
        w.startArray();
        for (int i = 0; i < DecodeLimits::MaxPeers + 10; ++i) {
            w.startMap(1);
            w.append(u"machine"_s);
            w.append(i + 1);
            w.endMap();
        }
        w.endArray();
        w.endMap();
    }
    QTest::newRow("indefinite peers above the bound") << indefinite << false;

    const auto exits = [](int n) {
        QCborArray a;
        for (int i = 0; i < n; ++i)
            a.append(QCborMap{{u"pid"_s, i + 1}, {u"reason"_s, u"crashed"_s}});
        return withValue({u"exits"_s}, a);
    };
    QTest::newRow("1024 exits") << exits(DecodeLimits::MaxExits) << true;
    QTest::newRow("1025 exits") << exits(DecodeLimits::MaxExits + 1) << false;
}

void tst_SnapshotDecoder::listsBounded()
{
    QFETCH(QByteArray, data);
    QFETCH(bool, decodes);
    MachineSnapshot s;
    QString error;
    QCOMPARE(decodeSnapshot(data, &s, &error), decodes);
    if (!decodes)
        QVERIFY2(error.contains(u"more than"_s), qPrintable(error));
}

void tst_SnapshotDecoder::declaredLengthBeyondInput()
{
    // Headers that announce 2^32 entries, or a 2^62-byte string, in a few bytes: refused
    // without allocating what they announce.
    QByteArray data;
    {
        QCborStreamWriter w(&data);
        w.startMap(3);
        w.append(u"v"_s);
        w.append(1);
        w.append(u"machine"_s);
        w.append(7);
        w.append(u"processes"_s);
    }
    QElapsedTimer timer;
    timer.start();
    MachineSnapshot s;
    QString error;
    QVERIFY(!decodeSnapshot(QByteArray(data + QByteArray("\x9b\x00\x00\x00\x01\x00\x00\x00\x00", 9)), &s, &error));
    QVERIFY(!decodeSnapshot(QByteArray(data + QByteArray("\xbb\x00\x00\x00\x01\x00\x00\x00\x00", 9)), &s, &error));
    QByteArray longText = data;
    longText.chop(10);   // replace the "processes" key by a huge text key
    QVERIFY(!decodeSnapshot(QByteArray(longText + QByteArray("\x7b\x40\x00\x00\x00\x00\x00\x00\x00", 9)), &s, &error));
    QVERIFY(!decodeSnapshot(QByteArray(data + QByteArray("\x5b\x40\x00\x00\x00\x00\x00\x00\x00", 9)), &s, &error));
    QVERIFY(timer.elapsed() < 5000);
}

void tst_SnapshotDecoder::deepNestingRefused()
{
    // Deep nesting in an unknown key: skipped values are bounded in depth, so neither the
    // decoder nor Qt's reader recurses without limit.
    QByteArray data;
    {
        QCborStreamWriter w(&data);
        w.startMap(3);
        w.append(u"v"_s);
        w.append(1);
        w.append(u"machine"_s);
        w.append(7);
        w.append(u"unknown"_s);
        for (int i = 0; i < 100000; ++i)
            w.startArray(1);
        w.append(0);
        for (int i = 0; i < 100000; ++i)
            w.endArray();
        w.endMap();
    }
    MachineSnapshot s;
    QString error;
    QVERIFY(!decodeSnapshot(data, &s, &error));
    QVERIFY(!error.isEmpty());
    // Shallow unknown nesting is fine.
    QVERIFY2(decodeSnapshot(cbor(QCborMap{{u"v"_s, 1}, {u"machine"_s, 7},
                                          {u"x"_s, QCborArray{QCborArray{QCborArray{1}}}}}),
                            &s, &error),
             qPrintable(error));
}

void tst_SnapshotDecoder::textsBounded()
{
    MachineSnapshot s;
    QString error;
    const QString atLimit(DecodeLimits::MaxTextBytes, u'h');
    QVERIFY2(decodeSnapshot(withValue({u"host"_s}, atLimit), &s, &error), qPrintable(error));
    QCOMPARE(s.host, atLimit);
    QVERIFY(!decodeSnapshot(withValue({u"host"_s}, QString(atLimit + u'h')), &s, &error));
    QVERIFY(error.contains(u"longer than"_s));
    // Multi-byte characters count in bytes, as on the wire.
    QVERIFY(!decodeSnapshot(withValue({u"host"_s}, QString(DecodeLimits::MaxTextBytes / 2 + 1, u'é')),
                            &s, &error));
    // A chunked (indefinite-length) text is bounded over its chunks.
    QByteArray chunked;
    {
        QCborStreamWriter w(&chunked);
        w.startMap(3);
        w.append(u"v"_s);
        w.append(1);
        w.append(u"machine"_s);
        w.append(7);
        w.append(u"host"_s);
    }
    chunked += '\x7f';
    for (int i = 0; i < 100; ++i)
        chunked += QByteArray("\x6a") + QByteArray(10, 'x');   // 10-byte chunks
    chunked += '\xff';
    QVERIFY(decodeSnapshot(chunked, &s, &error));
    QCOMPARE(s.host.size(), 1000);
    chunked.chop(1);
    for (int i = 0; i < 10; ++i)
        chunked += QByteArray("\x6a") + QByteArray(10, 'x');
    chunked += '\xff';
    QVERIFY(!decodeSnapshot(chunked, &s, &error));
}

void tst_SnapshotDecoder::validTrace()
{
    TraceBatch t;
    QString error;
    QVERIFY2(decodeTrace(cbor(traceBatch()), &t, &error), qPrintable(error));
    QCOMPARE(t.machine, 7u);
    QCOMPARE(t.seq, 4u);
    QCOMPARE(t.intervalMs, 250u);
    QCOMPARE(t.events, 41u);
    QCOMPARE(t.dropped, 2u);
    QCOMPARE(t.aggregates.size(), 2);
    QCOMPARE(t.aggregates.at(0).kind, MessageKind::Call);
    QCOMPARE(t.aggregates.at(0).count, 40u);
    QCOMPARE(t.aggregates.at(0).fromMachine, 0u);
    QCOMPARE(t.aggregates.at(1).fromMachine, 8u);
    QCOMPARE(t.aggregates.at(1).kind, MessageKind::Cluster);
    QCOMPARE(t.samples.size(), 1);
    const TraceSample &s = t.samples.at(0);
    QCOMPARE(s.machine, 7u);
    QCOMPARE(s.from, 101);
    QCOMPARE(s.to, 100);
    QCOMPARE(s.opcode, 0x100u);
    QCOMPARE(s.id, 0xFEDCBA9876543210ull);   // written as a signed integer
    QCOMPARE(s.size, 12u);
    QCOMPARE(s.flags, 3u);
    QCOMPARE(s.data, QByteArray("abc"));

    QVERIFY(!decodeTrace(cbor(QCborMap{{u"v"_s, 1}, {u"machine"_s, 7}, {u"samples"_s, 3}}), &t, &error));
    QVERIFY(!decodeTrace(cbor(QCborMap{{u"v"_s, 1}, {u"seq"_s, 1}}), &t, &error));   // no machine
}

void tst_SnapshotDecoder::traceDataBounded()
{
    TraceBatch t;
    QString error;
    // What a master sends at most (its tracePayloadBytes is capped at 4096): a hostile one
    // cannot make each sample of the monitor's trace ring hold more.
    QCOMPARE(DecodeLimits::MaxSampleDataBytes, 4096);
    QCborMap batch = traceBatch();
    QCborArray samples;
    samples.append(QCborMap{{u"from"_s, 1}, {u"data"_s, QByteArray(DecodeLimits::MaxSampleDataBytes, 'd')}});
    batch.insert(u"samples"_s, samples);
    QVERIFY2(decodeTrace(cbor(batch), &t, &error), qPrintable(error));
    samples[0] = QCborMap{{u"from"_s, 1}, {u"data"_s, QByteArray(DecodeLimits::MaxSampleDataBytes + 1, 'd')}};
    batch.insert(u"samples"_s, samples);
    QVERIFY(!decodeTrace(cbor(batch), &t, &error));
    // Many samples each within the bound, above the total: refused.
    samples = {};
    const int n = int(DecodeLimits::MaxTotalDataBytes / DecodeLimits::MaxSampleDataBytes) + 1;
    for (int i = 0; i < n; ++i)
        samples.append(QCborMap{{u"data"_s, QByteArray(DecodeLimits::MaxSampleDataBytes, 'd')}});
    batch.insert(u"samples"_s, samples);
    QVERIFY(!decodeTrace(cbor(batch), &t, &error));
}

void tst_SnapshotDecoder::controlAnswers()
{
    ControlAnswer a;
    QString error;
    QVERIFY(decodeControlAnswer(cbor(QCborMap{{u"v"_s, 1}, {u"ok"_s, true}}), &a, &error));
    QVERIFY(a.ok);
    QVERIFY(decodeControlAnswer(cbor(QCborMap{{u"v"_s, 1}, {u"ok"_s, false},
                                              {u"error"_s, u"remote control is disabled"_s},
                                              {u"extra"_s, 1}}),
                                &a, &error));
    QVERIFY(!a.ok);
    QCOMPARE(a.error, u"remote control is disabled"_s);
    QVERIFY(!decodeControlAnswer(cbor(QCborMap{{u"v"_s, 1}}), &a, &error));
    QVERIFY(!decodeControlAnswer(cbor(QCborMap{{u"v"_s, 1}, {u"ok"_s, 1}}), &a, &error));
    QVERIFY(!decodeControlAnswer(cbor(QCborMap{{u"v"_s, 1}, {u"ok"_s, false},
                                               {u"error"_s, QString(5000, u'e')}}),
                                 &a, &error));
}

void tst_SnapshotDecoder::usageAndExits()
{
    // Issue 19.7 and 19.9: CPU and RSS per process, the machine's exit history, and the
    // counts of a "send" answer.
    QCborMap m = snapshot();
    QCborArray processes = m.value(u"processes"_s).toArray();
    QCborMap master = processes[0].toMap();
    master.insert(u"cpu"_s, 12.5);
    master.insert(u"rss"_s, qint64(13) << 20);
    processes[0] = master;
    m.insert(u"processes"_s, processes);
    m.insert(u"exits"_s, QCborArray{
            QCborMap{{u"t"_s, qint64(1700000001000)}, {u"pid"_s, 99}, {u"slot"_s, 1},
                     {u"reason"_s, u"crashed"_s}, {u"code"_s, 9}, {u"signaled"_s, true}},
            QCborMap{{u"t"_s, qint64(1700000002000)}, {u"pid"_s, 98}, {u"slot"_s, 0},
                     {u"reason"_s, u"restarted"_s}, {u"code"_s, 0}, {u"signaled"_s, false}},
            QCborMap{{u"pid"_s, 97}, {u"reason"_s, u"vanished"_s}}});
    MachineSnapshot s;
    QString error;
    QVERIFY2(decodeSnapshot(cbor(m), &s, &error), qPrintable(error));
    QCOMPARE(s.processes[0].cpuPercent, 12.5);
    QCOMPARE(s.processes[0].rssBytes, qint64(13) << 20);
    QCOMPARE(s.processes[1].cpuPercent, -1.0);   // not reported: unknown
    QCOMPARE(s.processes[1].rssBytes, qint64(-1));
    QCOMPARE(s.exits.size(), 3);
    QCOMPARE(s.exits[0].pid, 99);
    QCOMPARE(s.exits[0].slot, 1);
    QCOMPARE(s.exits[0].reason, ExitReason::Crashed);
    QCOMPARE(s.exits[0].code, 9);
    QVERIFY(s.exits[0].signaled);
    QCOMPARE(s.exits[0].time, qint64(1700000001000));
    QCOMPARE(s.exits[1].reason, ExitReason::Restarted);
    QVERIFY(!isFailure(s.exits[1].reason));
    QCOMPARE(s.exits[2].reason, ExitReason::Unknown);   // a later version's reason

    ControlAnswer a;
    QVERIFY(decodeControlAnswer(cbor(QCborMap{{u"v"_s, 1}, {u"ok"_s, true}, {u"targets"_s, 3},
                                              {u"handled"_s, 0}}), &a, &error));
    QCOMPARE(a.targets, 3);
    QCOMPARE(a.handled, 0);
    QVERIFY(decodeControlAnswer(cbor(QCborMap{{u"v"_s, 1}, {u"ok"_s, true}}), &a, &error));
    QCOMPARE(a.handled, -1);   // an older master: not reported
    // Unsigned fields read a negative CBOR integer as its 64 bits (docs/MONITOR.md 2): a
    // hostile count is clamped, never negative.
    QVERIFY(decodeControlAnswer(cbor(QCborMap{{u"v"_s, 1}, {u"ok"_s, true}, {u"handled"_s, -1}}),
                                &a, &error));
    QCOMPARE(a.handled, qint64(1) << 30);
}

void tst_SnapshotDecoder::hostileUsageIsUnknown_data()
{
    QTest::addColumn<QCborValue>("cpu");
    QTest::addColumn<QCborValue>("rss");
    QTest::newRow("NaN") << QCborValue(qQNaN()) << QCborValue(-5);
    QTest::newRow("infinity") << QCborValue(qInf()) << QCborValue(std::numeric_limits<qint64>::min());
    QTest::newRow("negative") << QCborValue(-3.0) << QCborValue(-1);
    QTest::newRow("absurd") << QCborValue(1e300) << QCborValue(-2);
}

void tst_SnapshotDecoder::hostileUsageIsUnknown()
{
    QFETCH(QCborValue, cpu);
    QFETCH(QCborValue, rss);
    MachineSnapshot s;
    QString error;
    QVERIFY2(decodeSnapshot(withValue({u"processes"_s, 0, u"cpu"_s}, cpu), &s, &error), qPrintable(error));
    QCOMPARE(s.processes[0].cpuPercent, -1.0);
    QVERIFY2(decodeSnapshot(withValue({u"processes"_s, 0, u"rss"_s}, rss), &s, &error), qPrintable(error));
    QCOMPARE(s.processes[0].rssBytes, qint64(-1));
    // A text where a number belongs is refused, as every other mistyped field.
    QVERIFY(!decodeSnapshot(withValue({u"processes"_s, 0, u"cpu"_s}, u"high"_s), &s, &error));
}

void tst_SnapshotDecoder::requestsEncoded()
{
    QVERIFY(encodeTraceRequest(0).isEmpty());
    QCborMap m = QCborValue::fromCbor(encodeTraceRequest(0x100)).toMap();
    QCOMPARE(m.value(u"opcode"_s).toInteger(), 0x100);
    m = QCborValue::fromCbor(encodeTraceStop()).toMap();
    QCOMPARE(m.value(u"stop"_s).toBool(), true);
    m = QCborValue::fromCbor(encodeRestartRequest(4242)).toMap();
    QCOMPARE(m.value(u"action"_s).toString(), u"restart"_s);
    QCOMPARE(m.value(u"pid"_s).toInteger(), 4242);
    m = QCborValue::fromCbor(encodeSendRequest(0x200, "payload", true)).toMap();
    QCOMPARE(m.value(u"action"_s).toString(), u"send"_s);
    QCOMPARE(m.value(u"opcode"_s).toInteger(), 0x200);
    QCOMPARE(m.value(u"data"_s).toByteArray(), QByteArray("payload"));
    QCOMPARE(m.value(u"broadcast"_s).toBool(), true);
}

QTEST_GUILESS_MAIN(tst_SnapshotDecoder)
#include "tst_snapshotdecoder.moc"
