// SPDX-License-Identifier: MIT
#include "message_p.h"

#include <plexus/message.h>

#include <QtCore/qvariant.h>
#include <QtTest/QTest>

#include <atomic>
#include <thread>
#include <vector>

#include <unistd.h>

using namespace Plexus;

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

QTEST_GUILESS_MAIN(tst_Message)
#include "tst_message.moc"
