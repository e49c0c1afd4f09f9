// SPDX-License-Identifier: MIT
#include "message_p.h"

#include <plexus/message.h>
#include <plexus/peerinfo.h>
#include <plexus/workerinfo.h>

#include <QtCore/qdatetime.h>
#include <QtCore/qmetaobject.h>
#include <QtCore/qvariant.h>
#include <QtTest/QTest>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include <unistd.h>

using namespace Plexus;
using namespace Qt::StringLiterals;

namespace {

void someHandler(const Message &) { }

// A Message as the router would build it after opening a frame. Public creation needs a
// running Node; the shared state is what the value semantics are about.
Message makeMessage(quint16 privateFlags = 0, const Payload &payload = "payload",
                    quint64 target = 0, void *udata = nullptr)
{
    Wire::Header h;
    h.flags = 0x1234;
    h.privateFlags = privateFlags;
    h.timestamp = 1700000000456ull;
    h.id = 0xabcdef0123456789ull;
    h.target = target;
    h.originSlot = 3;
    h.originPid = quint32(::getpid());
    h.originMachine = 0;   // this machine

    MessagePrivate *d = MessagePrivate::create(h, payload);
    d->udata = udata;
    return MessagePrivate::wrap(d);
}

// The one pointer an implicitly shared value holds (its QSharedDataPointer): equal for two
// values that share their data.
template<typename T>
const void *sharedData(const T &value)
{
    static_assert(sizeof(T) == sizeof(void *), "an implicitly shared value is one pointer");
    const void *d = nullptr;
    std::memcpy(&d, &value, sizeof d);
    return d;
}

// The names of the properties of a gadget, in declaration order.
QByteArrayList propertyNames(const QMetaObject &mo)
{
    QByteArrayList names;
    for (int i = mo.propertyOffset(); i < mo.propertyCount(); ++i)
        names.append(mo.property(i).name());
    return names;
}

WorkerInfo someWorker()
{
    WorkerInfo w;
    w.setPid(4242);
    w.setSlot(3);
    w.setArguments({u"/usr/bin/app"_s, u"--worker"_s});
    w.setState(WorkerInfo::Running);
    w.setRestartPolicy(WorkerInfo::NoRestart);
    w.setExec(true);
    w.setRestarts(2);
    w.setExitCode(9);
    w.setStartedAt(1700000000123);
    w.setMachineId(0xabc);
    return w;
}

PeerInfo somePeer()
{
    PeerInfo p;
    p.setMachineId(0xabc);
    p.setAddress(u"tcp://192.0.2.7:7400"_s);
    p.setVersion(u"0.1.0"_s);
    p.setMonitor(true);
    p.setConnectedSince(QDateTime::fromMSecsSinceEpoch(1700000000123, Qt::UTC));
    p.setMessagesIn(10);
    p.setMessagesOut(11);
    p.setBytesIn(1000);
    p.setBytesOut(1100);
    p.setRoundTripMs(0.25);
    return p;
}

} // namespace

class tst_Message : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void defaultIsNull();
    void accessors_data();
    void accessors();
    void sender();
    void senderEqualityIsTransitive();
    void errorCode();
    void copySharesData();
    void assignAndMove();
    void onLastReleaseRunsOnce();
    void onLastReleaseReplaced();
    void onLastReleaseOnNullMessage();
    void onLastReleaseAcrossThreads();
    void variantKeepsMessageAlive();
    void detach();
    void debugOutput();

    void workerInfoDefaults();
    void workerInfoSharing();
    void workerInfoEquality();
    void workerInfoVariant();
    void workerInfoProperties();
    void peerInfoDefaults();
    void peerInfoSharing();
    void peerInfoEquality();
    void peerInfoVariant();
    void peerInfoProperties();
};

void tst_Message::defaultIsNull()
{
    const Message m;
    QVERIFY(m.isNull());
    QCOMPARE(m.length(), 0);
    QVERIFY(m.data().isEmpty());
    QCOMPARE(m.flags(), quint16(0));
    QCOMPARE(m.timestamp(), quint64(0));
    QCOMPARE(m.id(), quint64(0));
    QCOMPARE(m.opcode(), quint32(0));
    QVERIFY(m.call() == nullptr);
    QCOMPARE(m.udata(), nullptr);
    QVERIFY(!m.isReply());
    QVERIFY(!m.isDone());
    QVERIFY(!m.isError());
    QVERIFY(!m.wantsReply());
    QCOMPARE(m.sender().pid(), 0);
    QVERIFY(m.sender().isMaster());
}

void tst_Message::accessors_data()
{
    QTest::addColumn<quint16>("privateFlags");
    QTest::addColumn<quint64>("target");
    QTest::addColumn<quint32>("opcode");
    QTest::addColumn<bool>("hasCall");
    QTest::addColumn<bool>("reply");
    QTest::addColumn<bool>("done");
    QTest::addColumn<bool>("error");
    QTest::addColumn<bool>("wantsReply");

    const quint64 fn = quint64(quintptr(&someHandler));
    QTest::newRow("function request") << quint16(0) << fn << 0u << true << false << false
                                      << false << false;
    QTest::newRow("function request wanting replies")
            << quint16(Wire::WantReply) << fn << 0u << true << false << false << false << true;
    QTest::newRow("opcode request") << quint16(Wire::Opcode) << quint64(77) << 77u << false
                                    << false << false << false << false;
    QTest::newRow("typed") << quint16(Wire::Typed) << quint64(5) << 0u << false << false << false
                           << false << false;
    QTest::newRow("reply") << quint16(Wire::Reply) << fn << 0u << true << true << false << false
                           << false;
    QTest::newRow("final reply") << quint16(Wire::Reply | Wire::Done) << fn << 0u << true << true
                                 << true << false << false;
    QTest::newRow("error reply") << quint16(Wire::Reply | Wire::Done | Wire::Error | Wire::Opcode)
                                 << quint64(9) << 9u << false << true << true << true << false;
}

void tst_Message::accessors()
{
    QFETCH(quint16, privateFlags);
    QFETCH(quint64, target);
    QFETCH(quint32, opcode);
    QFETCH(bool, hasCall);
    QFETCH(bool, reply);
    QFETCH(bool, done);
    QFETCH(bool, error);
    QFETCH(bool, wantsReply);

    int udata = 0;
    const QByteArray payload("with\0zero", 9);
    const Message m = makeMessage(privateFlags, payload, target, &udata);
    QVERIFY(!m.isNull());
    QCOMPARE(m.length(), payload.size());
    QCOMPARE(m.data().toByteArray(), payload);
    QCOMPARE(m.flags(), quint16(0x1234));
    QCOMPARE(m.timestamp(), quint64(1700000000456ull));
    QCOMPARE(m.id(), quint64(0xabcdef0123456789ull));
    QCOMPARE(m.opcode(), opcode);
    QCOMPARE(quintptr(m.call()), hasCall ? quintptr(&someHandler) : quintptr(0));
    QCOMPARE(m.udata(), static_cast<void *>(&udata));
    QCOMPARE(m.isReply(), reply);
    QCOMPARE(m.isDone(), done);
    QCOMPARE(m.isError(), error);
    QCOMPARE(m.wantsReply(), wantsReply);
}

void tst_Message::sender()
{
    const Message m = makeMessage();
    const Sender s = m.sender();
    QCOMPARE(s.pid(), qint64(::getpid()));
    QCOMPARE(s.slot(), 3);
    QVERIFY(!s.isMaster());
    QVERIFY(s.isLocalProcess());
    QVERIFY(s == Sender(::getpid(), 3));
    QVERIFY(!(s == Sender(::getpid(), -1)));
    QVERIFY(!Sender(::getpid() + 1, 3).isLocalProcess());
    QVERIFY(Sender(1, -1).isMaster());
    // Machine-addressed: the same pid on another machine is another process.
    QCOMPARE(s.machineId(), quint64(0));
    QVERIFY(s.isLocalMachine());
    const Sender remote(0x99, ::getpid(), 3);
    QCOMPARE(remote.machineId(), quint64(0x99));
    QVERIFY(!remote.isLocalMachine());
    QVERIFY(!remote.isLocalProcess());
    QVERIFY(!(remote == Sender(0x98, ::getpid(), 3)));
    QVERIFY(remote == Sender(0x99, ::getpid(), 3));
    QVERIFY(!remote.matches(Sender(0x98, ::getpid(), 3)));
    QVERIFY(remote.matches(Sender(0x99, ::getpid(), 3)));
}

void tst_Message::senderEqualityIsTransitive()
{
    // Regression (issue 20.5): operator== took machine id 0 as a wildcard, so a == b and
    // b == c did not give a == c. operator== compares fields; matches() compares
    // processes, resolving 0 to this machine's id (here: no Node, so 0).
    const Sender a(0x11, 42, 1), b(0, 42, 1), c(0x22, 42, 1);
    QVERIFY(!(a == b));
    QVERIFY(!(b == c));
    QVERIFY(!(a == c));
    QVERIFY(b == Sender(42, 1));
    QVERIFY(b.matches(Sender(42, 1)));
    QVERIFY(!a.matches(b));     // 0x11 is another machine than this one (0)
    QVERIFY(!b.matches(c));
    QVERIFY(!a.matches(c));
    QVERIFY(a.matches(Sender(0x11, 42, 1)));
    QVERIFY(!a.matches(Sender(0x11, 42, 2)));
}

void tst_Message::errorCode()
{
    // Regression (issue 7): the function-pointer path could not tell errors apart.
    QCOMPARE(makeMessage(Wire::Reply | Wire::Done).error(), Reply::NoError);
    Message lost = makeMessage(Wire::Reply | Wire::Done | Wire::Error, "");
    MessagePrivate::get(lost)->header.status = quint32(Reply::TargetLostError);
    QVERIFY(lost.isError());
    QCOMPARE(lost.error(), Reply::TargetLostError);
    Message unknown = makeMessage(Wire::Reply | Wire::Done | Wire::Error, "");
    MessagePrivate::get(unknown)->header.status = quint32(Reply::UnknownOpcodeError);
    QCOMPARE(unknown.error(), Reply::UnknownOpcodeError);
    // An error reply that names no error is a remote error.
    QCOMPARE(makeMessage(Wire::Reply | Wire::Done | Wire::Error, "").error(), Reply::RemoteError);
    QCOMPARE(Message().error(), Reply::NoError);
}

void tst_Message::copySharesData()
{
    const Message a = makeMessage(0, QByteArray(1000, 'q'));
    const Message b = a;   // fio_ipc_dup
    QCOMPARE(MessagePrivate::get(b), MessagePrivate::get(a));
    QCOMPARE(static_cast<const void *>(b.data().data()), static_cast<const void *>(a.data().data()));
    QCOMPARE(b.length(), 1000);

    Message c;
    c = b;
    QCOMPARE(static_cast<const void *>(c.data().data()), static_cast<const void *>(a.data().data()));
    QCOMPARE(MessagePrivate::get(a)->ref.loadRelaxed(), 3);
}

void tst_Message::assignAndMove()
{
    Message a = makeMessage(0, "first");
    const char *firstData = a.data().data();
    Message b = makeMessage(0, "second");

    Message moved = std::move(a);
    QVERIFY(a.isNull());   // NOLINT(bugprone-use-after-move): documented moved-from state
    QCOMPARE(static_cast<const void *>(moved.data().data()), static_cast<const void *>(firstData));
    QCOMPARE(MessagePrivate::get(moved)->ref.loadRelaxed(), 1);

    moved.swap(b);
    QCOMPARE(b.data().toByteArray(), QByteArray("first"));
    QCOMPARE(moved.data().toByteArray(), QByteArray("second"));

    b = Message();
    QVERIFY(b.isNull());
}

void tst_Message::onLastReleaseRunsOnce()
{
    int runs = 0;
    {
        Message a = makeMessage();
        a.onLastRelease([&runs] { ++runs; });
        {
            const Message b = a;
            const Message c = b;
            Message d = c;
            d = Message();
            QCOMPARE(runs, 0);
        }
        QCOMPARE(runs, 0);   // a still lives
        const Message e = a;
        a = Message();
        QCOMPARE(runs, 0);   // e still lives
    }
    QCOMPARE(runs, 1);
}

void tst_Message::onLastReleaseReplaced()
{
    int first = 0;
    int second = 0;
    {
        Message m = makeMessage();
        m.onLastRelease([&first] { ++first; });
        const Message copy = m;
        Message(copy).onLastRelease([&second] { ++second; });   // any copy may set it
    }
    QCOMPARE(first, 0);
    QCOMPARE(second, 1);
}

void tst_Message::onLastReleaseOnNullMessage()
{
    int runs = 0;
    {
        Message m;
        m.onLastRelease([&runs] { ++runs; });   // nothing to attach to: ignored
    }
    QCOMPARE(runs, 0);
}

void tst_Message::onLastReleaseAcrossThreads()
{
    constexpr int Rounds = 200;
    constexpr int Threads = 8;
    for (int round = 0; round < Rounds; ++round) {
        std::atomic<int> runs{0};
        std::vector<std::thread> threads;
        {
            Message m = makeMessage();
            m.onLastRelease([&runs] { runs.fetch_add(1); });
            for (int t = 0; t < Threads; ++t) {
                threads.emplace_back([copy = m]() mutable {
                    for (int i = 0; i < 100; ++i) {
                        Message again = copy;
                        Q_UNUSED(again);
                    }
                    copy = Message();
                });
            }
        }
        for (auto &thread : threads)
            thread.join();
        QCOMPARE(runs.load(), 1);
    }
}

void tst_Message::variantKeepsMessageAlive()
{
    QVERIFY(QMetaType::fromType<Message>().isValid());
    int runs = 0;
    QVariant v;
    const MessagePrivate *d = nullptr;
    {
        Message m = makeMessage(0, "in a variant");
        d = MessagePrivate::get(m);
        m.onLastRelease([&runs] { ++runs; });
        v = QVariant::fromValue(m);
    }
    QCOMPARE(runs, 0);
    const Message back = v.value<Message>();
    QCOMPARE(MessagePrivate::get(back), d);
    QCOMPARE(back.data().toByteArray(), QByteArray("in a variant"));
    v.clear();
    QCOMPARE(runs, 0);   // back still lives
}

void tst_Message::detach()
{
    Message m = makeMessage(Wire::WantReply);
    MessagePrivate *d = MessagePrivate::get(m);
    d->route = RouteRef(new Route(42));   // as if it arrived from endpoint 42
    const Message copy = m;
    m.detach();
    QVERIFY(!d->route);
    QVERIFY(!MessagePrivate::get(copy)->route);   // shared: every copy is detached
    // Detaching drops the link only; the content stays.
    QCOMPARE(copy.data().toByteArray(), QByteArray("payload"));
    QVERIFY(copy.wantsReply());

    Message null;
    null.detach();
    QVERIFY(null.isNull());
}

void tst_Message::debugOutput()
{
    QString text;
    QDebug(&text) << makeMessage(Wire::Opcode | Wire::Reply | Wire::Done, "x", 77);
    QVERIFY2(text.contains(u"Plexus::Message("), qPrintable(text));
    QVERIFY2(text.contains(u"opcode=77"), qPrintable(text));
    QVERIFY2(text.contains(u"final reply"), qPrintable(text));
    QVERIFY2(text.contains(u"length=1"), qPrintable(text));

    text.clear();
    QDebug(&text) << Message();
    QCOMPARE(text.trimmed(), QStringLiteral("Plexus::Message()"));
}

// ---- WorkerInfo and PeerInfo: implicitly shared values with accessors ----------------------

void tst_Message::workerInfoDefaults()
{
    const WorkerInfo w;
    QVERIFY(!w.isValid());
    QCOMPARE(w.pid(), 0);
    QCOMPARE(w.slot(), -1);
    QVERIFY(w.arguments().isEmpty());
    QCOMPARE(w.state(), WorkerInfo::Starting);
    QCOMPARE(w.restartPolicy(), WorkerInfo::Restart);
    QVERIFY(!w.isExec());
    QCOMPARE(w.restarts(), 0);
    QCOMPARE(w.exitCode(), 0);
    QCOMPARE(w.startedAt(), 0);
    QCOMPARE(w.machineId(), 0u);
    QCOMPARE(w.sender(), Sender(0, 0, -1));

    const WorkerInfo full = someWorker();
    QVERIFY(full.isValid());
    QCOMPARE(full.pid(), 4242);
    QCOMPARE(full.slot(), 3);
    QCOMPARE(full.arguments(), QStringList({u"/usr/bin/app"_s, u"--worker"_s}));
    QCOMPARE(full.state(), WorkerInfo::Running);
    QCOMPARE(full.restartPolicy(), WorkerInfo::NoRestart);
    QVERIFY(full.isExec());
    QCOMPARE(full.restarts(), 2);
    QCOMPARE(full.exitCode(), 9);
    QCOMPARE(full.startedAt(), 1700000000123);
    QCOMPARE(full.machineId(), 0xabcu);
    QCOMPARE(full.sender(), Sender(0xabc, 4242, 3));

    // A setter on a default-constructed value leaves the other default values alone.
    WorkerInfo a;
    a.setSlot(0);
    QVERIFY(a.isValid());
    QCOMPARE(WorkerInfo().slot(), -1);
}

void tst_Message::workerInfoSharing()
{
    const WorkerInfo original = someWorker();
    WorkerInfo copy = original;
    QCOMPARE(sharedData(copy), sharedData(original));   // a copy shares

    copy.setRestarts(copy.restarts() + 1);               // a setter detaches the copy ...
    QVERIFY(sharedData(copy) != sharedData(original));
    QCOMPARE(copy.restarts(), 3);
    QCOMPARE(original.restarts(), 2);                    // ... and the original keeps its value
    QCOMPARE(copy.pid(), original.pid());

    WorkerInfo assigned;
    assigned = original;
    QCOMPARE(sharedData(assigned), sharedData(original));
    assigned.setState(WorkerInfo::GivenUp);
    QCOMPARE(original.state(), WorkerInfo::Running);

    WorkerInfo moved = std::move(assigned);
    QCOMPARE(moved.state(), WorkerInfo::GivenUp);
    WorkerInfo other;
    other.swap(moved);
    QCOMPARE(other.state(), WorkerInfo::GivenUp);
    QVERIFY(!moved.isValid());
}

void tst_Message::workerInfoEquality()
{
    QVERIFY(WorkerInfo() == WorkerInfo());
    QVERIFY(someWorker() == someWorker());   // equal values, not shared
    QVERIFY(!(someWorker() != someWorker()));
    QVERIFY(someWorker() != WorkerInfo());

    // Every field counts.
    const auto differs = [](void (*change)(WorkerInfo &)) {
        WorkerInfo w = someWorker();
        change(w);
        return w != someWorker() && !(w == someWorker());
    };
    QVERIFY(differs([](WorkerInfo &w) { w.setPid(1); }));
    QVERIFY(differs([](WorkerInfo &w) { w.setSlot(1); }));
    QVERIFY(differs([](WorkerInfo &w) { w.setArguments({}); }));
    QVERIFY(differs([](WorkerInfo &w) { w.setState(WorkerInfo::Exited); }));
    QVERIFY(differs([](WorkerInfo &w) { w.setRestartPolicy(WorkerInfo::Restart); }));
    QVERIFY(differs([](WorkerInfo &w) { w.setExec(false); }));
    QVERIFY(differs([](WorkerInfo &w) { w.setRestarts(0); }));
    QVERIFY(differs([](WorkerInfo &w) { w.setExitCode(0); }));
    QVERIFY(differs([](WorkerInfo &w) { w.setStartedAt(0); }));
    QVERIFY(differs([](WorkerInfo &w) { w.setMachineId(0); }));
}

void tst_Message::workerInfoVariant()
{
    QVERIFY(QMetaType::fromType<WorkerInfo>().isValid());
    const WorkerInfo w = someWorker();
    const QVariant v = QVariant::fromValue(w);
    QCOMPARE(v.metaType(), QMetaType::fromType<WorkerInfo>());
    QVERIFY(v.canConvert<WorkerInfo>());
    const WorkerInfo back = v.value<WorkerInfo>();
    QCOMPARE(back, w);
    QCOMPARE(sharedData(back), sharedData(w));   // the variant holds a shared copy
    QCOMPARE(v, QVariant::fromValue(someWorker()));   // operator== through the meta-type
}

void tst_Message::workerInfoProperties()
{
    const QMetaObject &mo = WorkerInfo::staticMetaObject;
    // The property names are what QML and meta-object users read: they stay as they were.
    QCOMPARE(propertyNames(mo),
             QByteArrayList({"pid", "slot", "arguments", "state", "restartPolicy", "isExec",
                             "restarts", "machineId"}));

    WorkerInfo w = someWorker();
    const auto read = [&mo, &w](const char *name) {
        const int index = mo.indexOfProperty(name);
        return index < 0 ? QVariant() : mo.property(index).readOnGadget(&w);
    };
    QCOMPARE(read("pid"), QVariant(qint64(4242)));
    QCOMPARE(read("slot"), QVariant(3));
    QCOMPARE(read("arguments").toStringList(), w.arguments());
    QCOMPARE(read("state").value<WorkerInfo::State>(), WorkerInfo::Running);
    QCOMPARE(read("restartPolicy").value<WorkerInfo::RestartPolicy>(), WorkerInfo::NoRestart);
    QCOMPARE(read("isExec"), QVariant(true));
    QCOMPARE(read("restarts"), QVariant(2));
    QCOMPARE(read("machineId"), QVariant(quint64(0xabc)));

    // Writable too; writing detaches like a setter.
    const WorkerInfo before = w;
    QVERIFY(mo.property(mo.indexOfProperty("slot")).writeOnGadget(&w, 7));
    QVERIFY(mo.property(mo.indexOfProperty("state"))
                    .writeOnGadget(&w, QVariant::fromValue(WorkerInfo::Exited)));
    QCOMPARE(w.slot(), 7);
    QCOMPARE(w.state(), WorkerInfo::Exited);
    QCOMPARE(before.slot(), 3);
    QCOMPARE(before.state(), WorkerInfo::Running);
}

void tst_Message::peerInfoDefaults()
{
    const PeerInfo p;
    QVERIFY(!p.isValid());
    QCOMPARE(p.machineId(), 0u);
    QVERIFY(p.address().isEmpty());
    QVERIFY(p.version().isEmpty());
    QVERIFY(!p.isMonitor());
    QVERIFY(!p.connectedSince().isValid());
    QCOMPARE(p.messagesIn(), 0u);
    QCOMPARE(p.messagesOut(), 0u);
    QCOMPARE(p.bytesIn(), 0u);
    QCOMPARE(p.bytesOut(), 0u);
    QCOMPARE(p.roundTripMs(), -1.0);

    const PeerInfo full = somePeer();
    QVERIFY(full.isValid());
    QCOMPARE(full.machineId(), 0xabcu);
    QCOMPARE(full.address(), u"tcp://192.0.2.7:7400"_s);
    QCOMPARE(full.version(), u"0.1.0"_s);
    QVERIFY(full.isMonitor());
    QCOMPARE(full.connectedSince().toMSecsSinceEpoch(), 1700000000123);
    QCOMPARE(full.messagesIn(), 10u);
    QCOMPARE(full.messagesOut(), 11u);
    QCOMPARE(full.bytesIn(), 1000u);
    QCOMPARE(full.bytesOut(), 1100u);
    QCOMPARE(full.roundTripMs(), 0.25);
}

void tst_Message::peerInfoSharing()
{
    const PeerInfo original = somePeer();
    PeerInfo copy = original;
    QCOMPARE(sharedData(copy), sharedData(original));
    copy.setRoundTripMs(3.5);
    QVERIFY(sharedData(copy) != sharedData(original));
    QCOMPARE(copy.roundTripMs(), 3.5);
    QCOMPARE(original.roundTripMs(), 0.25);
    QCOMPARE(copy.address(), original.address());
}

void tst_Message::peerInfoEquality()
{
    QVERIFY(PeerInfo() == PeerInfo());
    QVERIFY(somePeer() == somePeer());
    QVERIFY(somePeer() != PeerInfo());

    const auto differs = [](void (*change)(PeerInfo &)) {
        PeerInfo p = somePeer();
        change(p);
        return p != somePeer() && !(p == somePeer());
    };
    QVERIFY(differs([](PeerInfo &p) { p.setMachineId(1); }));
    QVERIFY(differs([](PeerInfo &p) { p.setAddress(u"tcp://192.0.2.8:7400"_s); }));
    QVERIFY(differs([](PeerInfo &p) { p.setVersion(u"0.2.0"_s); }));
    QVERIFY(differs([](PeerInfo &p) { p.setMonitor(false); }));
    QVERIFY(differs([](PeerInfo &p) { p.setConnectedSince({}); }));
    QVERIFY(differs([](PeerInfo &p) { p.setMessagesIn(0); }));
    QVERIFY(differs([](PeerInfo &p) { p.setMessagesOut(0); }));
    QVERIFY(differs([](PeerInfo &p) { p.setBytesIn(0); }));
    QVERIFY(differs([](PeerInfo &p) { p.setBytesOut(0); }));
    QVERIFY(differs([](PeerInfo &p) { p.setRoundTripMs(-1); }));
}

void tst_Message::peerInfoVariant()
{
    QVERIFY(QMetaType::fromType<PeerInfo>().isValid());
    const PeerInfo p = somePeer();
    const QVariant v = QVariant::fromValue(p);
    QCOMPARE(v.metaType(), QMetaType::fromType<PeerInfo>());
    const PeerInfo back = v.value<PeerInfo>();
    QCOMPARE(back, p);
    QCOMPARE(sharedData(back), sharedData(p));
}

void tst_Message::peerInfoProperties()
{
    const QMetaObject &mo = PeerInfo::staticMetaObject;
    QCOMPARE(propertyNames(mo),
             QByteArrayList({"machineId", "address", "version", "isMonitor", "connectedSince",
                             "roundTripMs"}));
    PeerInfo p = somePeer();
    const auto read = [&mo, &p](const char *name) {
        const int index = mo.indexOfProperty(name);
        return index < 0 ? QVariant() : mo.property(index).readOnGadget(&p);
    };
    QCOMPARE(read("machineId"), QVariant(quint64(0xabc)));
    QCOMPARE(read("address"), QVariant(u"tcp://192.0.2.7:7400"_s));
    QCOMPARE(read("version"), QVariant(u"0.1.0"_s));
    QCOMPARE(read("isMonitor"), QVariant(true));
    QCOMPARE(read("connectedSince").toDateTime(), p.connectedSince());
    QCOMPARE(read("roundTripMs"), QVariant(0.25));

    QVERIFY(mo.property(mo.indexOfProperty("roundTripMs")).writeOnGadget(&p, 1.5));
    QCOMPARE(p.roundTripMs(), 1.5);
}

QTEST_GUILESS_MAIN(tst_Message)
#include "tst_message.moc"
