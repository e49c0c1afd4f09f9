// SPDX-License-Identifier: MIT
//
// Dispatcher without a Node: a fake DispatchContext records the error replies and the
// reserved requests it gets and answers workerAt(). Function pointers, Node::handle()
// functors against the process-wide registry, unknown and reserved op-codes, exec'd
// senders, Melon typed handlers by role, exceptions, per op-code statistics.

#include "dispatcher_p.h"
#include "message_p.h"
#include "opcoderegistry_p.h"
#include "stats_p.h"

#include <plexus/opcode.h>
#include <plexus/typedhandler.h>

#include <QtCore/qregularexpression.h>
#include <QtTest/qtest.h>

#include <memory>
#include <stdexcept>

using namespace Plexus;

Q_DECLARE_METATYPE(Plexus::Dispatcher::Result)

namespace {

using MessageRef = QExplicitlySharedDataPointer<MessagePrivate>;

constexpr quint32 OpA = 0x7101, OpB = 0x7102, OpThrow = 0x7103, OpNone = 0x71ff;
constexpr quint32 TypeCount = 0x5001, TypeThrow = 0x5002, TypeNone = 0x50ff;
constexpr quint32 Endpoint = 17;

MessageRef request(quint16 privateFlags, quint64 target, const QByteArray &data = QByteArray())
{
    return MessageRef(MessagePrivate::create(Authoring::header(privateFlags, target), Payload(data)));
}

MessageRef opcodeRequest(quint32 opcode, const QByteArray &data = QByteArray())
{
    return request(Wire::Opcode, opcode, data);
}

// What a handler saw.
struct Seen
{
    const char *who = nullptr;
    MessagePrivate *d = nullptr;
    QByteArray data;
    void *udata = nullptr;
    quint32 opcode = 0;
};

QList<Seen> g_seen;

void record(const char *who, const Message &m)
{
    g_seen.append({who, MessagePrivate::get(m), m.data().toByteArray(), m.udata(), m.opcode()});
}

void functionHandler(const Message &m) { record("function", m); }
void registryHandlerA(const Message &m) { record("registry A", m); }
void registryHandlerB(const Message &m) { record("registry B", m); }
void throwingHandler(const Message &m)
{
    record("throwing", m);
    throw std::runtime_error("handler boom");
}

// Typed handlers: which side ran, with what.
struct TypedCall
{
    const char *side = nullptr;
    QByteArray data;
    int workerSlot = -2;
    qint64 workerPid = 0;
    void *data_ = nullptr;
    void **state = nullptr;
    quintptr count = 0;
};
QList<TypedCall> g_typed;
int g_masterData = 0, g_workerData = 0;

void countingHandler(const char *side, const Message &m, const WorkerInfo &w, void *data,
                     void **state)
{
    auto *count = reinterpret_cast<quintptr *>(state);
    ++*count;
    g_typed.append({side, m.data().toByteArray(), w.slot(), w.pid(), data, state, *count});
}
void typedMaster(const Message &m, const WorkerInfo &w, void *data, void **state)
{
    countingHandler("master", m, w, data, state);
}
void typedWorker(const Message &m, const WorkerInfo &w, void *data, void **state)
{
    countingHandler("worker", m, w, data, state);
}
void typedThrowing(const Message &m, const WorkerInfo &w, void *data, void **state)
{
    countingHandler("throwing", m, w, data, state);
    throw 7;
}

class FakeContext : public DispatchContext
{
public:
    bool worker = false;
    WorkerInfo info;
    bool reservedHandled = false;
    mutable QList<quint32> workerAtCalls;
    QList<QPair<MessagePrivate *, Reply::Error>> errors;
    QList<Message> reserved;

    bool isWorker() const override { return worker; }
    WorkerInfo workerAt(quint32 endpoint) const override
    {
        workerAtCalls.append(endpoint);
        return info;
    }
    void replyError(MessagePrivate *request, Reply::Error error) override
    {
        errors.append({request, error});
    }
    bool dispatchReserved(const Message &request) override
    {
        reserved.append(request);
        return reservedHandled;
    }
};

void expectUnknownWarning(quint32 opcode)
{
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(
            QStringLiteral("no handler for op-code 0x%1 ").arg(opcode, 0, 16)));   // logged in hex
}

} // namespace

class tst_Dispatcher : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void functionPointer();
    void fromExec_data();
    void fromExec();
    void registryHandlerAndUdata();
    void functorTakesPrecedence_data();
    void functorTakesPrecedence();
    void removeHandlerOfOtherContext();
    void unknownOpcode_data();
    void unknownOpcode();
    void reservedOpcode_data();
    void reservedOpcode();
    void typedByRole_data();
    void typedByRole();
    void typedWithoutHandler();
    void exceptionsContained_data();
    void exceptionsContained();
    void opcodeStatistics();
    void nullContextRunsUntilRemoved();

private:
    Dispatcher::Result dispatch(const MessageRef &m, bool fromExec = false)
    {
        return m_dispatcher->dispatch(m.data(), Endpoint, fromExec);
    }
    void registerOp(quint32 opcode, Handler call, void *udata = nullptr)
    {
        QVERIFY(registerOpcode({.opcode = opcode, .call = call, .udata = udata}));
        m_opcodes.append(opcode);
    }
    void registerTyped(quint32 type, TypedHandler master, TypedHandler worker)
    {
        const HandlerId id = registerHandler(type, master, worker, &g_masterData, &g_workerData);
        QVERIFY(id != 0);
        m_typed.append(id);
    }

    std::unique_ptr<Stats> m_stats;
    std::unique_ptr<FakeContext> m_context;
    std::unique_ptr<Dispatcher> m_dispatcher;
    QList<quint32> m_opcodes;
    QList<HandlerId> m_typed;
};

void tst_Dispatcher::init()
{
    g_seen.clear();
    g_typed.clear();
    m_stats = std::make_unique<Stats>();
    m_context = std::make_unique<FakeContext>();
    m_dispatcher = std::make_unique<Dispatcher>(m_context.get(), m_stats.get());
}

void tst_Dispatcher::cleanup()
{
    // Both tables are process-wide: leave them empty for the next test.
    for (quint32 opcode : std::as_const(m_opcodes))
        unregisterOpcode(opcode);
    m_opcodes.clear();
    for (HandlerId id : std::as_const(m_typed))
        unregisterHandler(id);
    m_typed.clear();
    m_dispatcher.reset();
    m_context.reset();
    m_stats.reset();
}

void tst_Dispatcher::functionPointer()
{
    const MessageRef m = request(0, quintptr(&functionHandler), "payload");
    QCOMPARE(dispatch(m), Dispatcher::Result::Handled);
    QCOMPARE(g_seen.size(), 1);
    QCOMPARE(g_seen[0].who, "function");
    QCOMPARE(g_seen[0].d, m.data());   // the request itself, not a copy
    QCOMPARE(g_seen[0].data, QByteArray("payload"));
    QCOMPARE(g_seen[0].opcode, 0u);
    QVERIFY(m_context->errors.isEmpty());
    QVERIFY(m_context->reserved.isEmpty());
    QCOMPARE(m_stats->process.unknownOpcodes.load(), quint64(0));
    QVERIFY(m_stats->opcodes().isEmpty());   // function pointers are not op-codes
}

void tst_Dispatcher::fromExec_data()
{
    QTest::addColumn<quint16>("flags");
    QTest::addColumn<bool>("fromExec");
    QTest::addColumn<Dispatcher::Result>("result");
    QTest::addColumn<int>("runs");
    QTest::newRow("function pointer, forked") << quint16(0) << false << Dispatcher::Result::Handled << 1;
    QTest::newRow("function pointer, exec'd") << quint16(0) << true << Dispatcher::Result::Refused << 0;
    QTest::newRow("op-code, exec'd") << quint16(Wire::Opcode) << true << Dispatcher::Result::Handled << 1;
    QTest::newRow("typed, exec'd") << quint16(Wire::Typed) << true << Dispatcher::Result::Handled << 1;
}

void tst_Dispatcher::fromExec()
{
    QFETCH(quint16, flags);
    QFETCH(bool, fromExec);
    QFETCH(Dispatcher::Result, result);
    QFETCH(int, runs);

    registerOp(OpA, registryHandlerA);
    registerTyped(TypeCount, typedMaster, typedWorker);
    quint64 target = quintptr(&functionHandler);
    if (flags & Wire::Opcode)
        target = OpA;
    else if (flags & Wire::Typed)
        target = TypeCount;

    const MessageRef m = request(flags, target, "x");
    QCOMPARE(dispatch(m, fromExec), result);
    QCOMPARE(int(g_seen.size() + g_typed.size()), runs);
    if (result == Dispatcher::Result::Refused) {
        QCOMPARE(m_context->errors.size(), 1);
        QCOMPARE(m_context->errors[0].first, m.data());
        QCOMPARE(m_context->errors[0].second, Reply::RemoteError);
    } else {
        QVERIFY(m_context->errors.isEmpty());
    }
}

void tst_Dispatcher::registryHandlerAndUdata()
{
    int udataA = 0;
    registerOp(OpA, registryHandlerA, &udataA);
    registerOp(OpB, registryHandlerB);

    const MessageRef a = opcodeRequest(OpA, "to A");
    const MessageRef b = opcodeRequest(OpB, "to B");
    QCOMPARE(dispatch(a), Dispatcher::Result::Handled);
    QCOMPARE(dispatch(b), Dispatcher::Result::Handled);
    QCOMPARE(g_seen.size(), 2);
    QCOMPARE(g_seen[0].who, "registry A");
    QCOMPARE(g_seen[0].udata, static_cast<void *>(&udataA));
    QCOMPARE(g_seen[0].data, QByteArray("to A"));
    QCOMPARE(g_seen[0].opcode, OpA);
    QCOMPARE(g_seen[1].who, "registry B");
    QCOMPARE(g_seen[1].udata, nullptr);
    QCOMPARE(a->udata, static_cast<void *>(&udataA));
    QVERIFY(m_context->errors.isEmpty());

    // Registration changes take effect for the next message.
    registerOp(OpA, registryHandlerB, nullptr);
    QCOMPARE(dispatch(opcodeRequest(OpA)), Dispatcher::Result::Handled);
    QCOMPARE(g_seen.last().who, "registry B");
    QCOMPARE(g_seen.last().udata, nullptr);
}

void tst_Dispatcher::functorTakesPrecedence_data()
{
    QTest::addColumn<QString>("removal");
    QTest::newRow("removeHandler(opcode, context), as Node does") << u"removeHandler context"_qs;
    QTest::newRow("removeHandler(opcode), unhandle()") << u"removeHandler"_qs;
    QTest::newRow("context destroyed, handler left") << u"destroy"_qs;
}

void tst_Dispatcher::functorTakesPrecedence()
{
    QFETCH(QString, removal);

    int udata = 0;
    registerOp(OpA, registryHandlerA, &udata);
    auto context = std::make_unique<QObject>();
    QList<QByteArray> functorSaw;
    m_dispatcher->setHandler(OpA, context.get(), [&](const Message &m) {
        functorSaw.append(m.data().toByteArray());
    });

    QCOMPARE(dispatch(opcodeRequest(OpA, "first")), Dispatcher::Result::Handled);
    QCOMPARE(functorSaw, QList<QByteArray>{"first"});
    QVERIFY(g_seen.isEmpty());

    if (removal == u"removeHandler context") {
        m_dispatcher->removeHandler(OpA, context.get());
        context.reset();
    } else if (removal == u"removeHandler") {
        m_dispatcher->removeHandler(OpA);
    } else {
        context.reset();
    }

    QCOMPARE(dispatch(opcodeRequest(OpA, "second")), Dispatcher::Result::Handled);
    QCOMPARE(functorSaw.size(), 1);
    QCOMPARE(g_seen.size(), 1);
    QCOMPARE(g_seen[0].who, "registry A");
    QCOMPARE(g_seen[0].data, QByteArray("second"));
    QCOMPARE(g_seen[0].udata, static_cast<void *>(&udata));

    // Without the registry either, the op-code is unknown.
    unregisterOpcode(OpA);
    expectUnknownWarning(OpA);
    QCOMPARE(dispatch(opcodeRequest(OpA)), Dispatcher::Result::Unknown);
    QCOMPARE(functorSaw.size(), 1);
}

void tst_Dispatcher::removeHandlerOfOtherContext()
{
    registerOp(OpA, registryHandlerA);
    auto older = std::make_unique<QObject>();
    auto newer = std::make_unique<QObject>();
    QStringList calls;
    m_dispatcher->setHandler(OpA, older.get(), [&](const Message &) { calls << u"older"_qs; });
    m_dispatcher->setHandler(OpA, newer.get(), [&](const Message &) { calls << u"newer"_qs; });

    QCOMPARE(dispatch(opcodeRequest(OpA)), Dispatcher::Result::Handled);
    QCOMPARE(calls, QStringList{u"newer"_qs});

    // The older context goes away, as Node sees it: its destroyed() removes "its" handler.
    m_dispatcher->removeHandler(OpA, older.get());
    older.reset();
    QCOMPARE(dispatch(opcodeRequest(OpA)), Dispatcher::Result::Handled);
    QCOMPARE(calls, (QStringList{u"newer"_qs, u"newer"_qs}));

    // Nor does a context that never had one.
    QObject stranger;
    m_dispatcher->removeHandler(OpA, &stranger);
    QCOMPARE(dispatch(opcodeRequest(OpA)), Dispatcher::Result::Handled);
    QCOMPARE(calls.size(), 3);
    QVERIFY(g_seen.isEmpty());

    m_dispatcher->removeHandler(OpA, newer.get());
    QCOMPARE(dispatch(opcodeRequest(OpA)), Dispatcher::Result::Handled);
    QCOMPARE(calls.size(), 3);
    QCOMPARE(g_seen.size(), 1);
    QCOMPARE(g_seen[0].who, "registry A");

    // A handler for another op-code is not touched.
    m_dispatcher->setHandler(OpB, newer.get(), [&](const Message &) { calls << u"B"_qs; });
    m_dispatcher->removeHandler(OpA, newer.get());
    QCOMPARE(dispatch(opcodeRequest(OpB)), Dispatcher::Result::Handled);
    QCOMPARE(calls.last(), u"B"_qs);
}

void tst_Dispatcher::unknownOpcode_data()
{
    QTest::addColumn<bool>("wantsReply");
    QTest::newRow("fire and forget") << false;
    QTest::newRow("wants a reply") << true;
}

void tst_Dispatcher::unknownOpcode()
{
    QFETCH(bool, wantsReply);
    registerOp(OpA, registryHandlerA);

    const MessageRef m = request(quint16(Wire::Opcode | (wantsReply ? Wire::WantReply : 0)), OpNone);
    m->header.token = wantsReply ? 77 : 0;
    expectUnknownWarning(OpNone);
    QCOMPARE(dispatch(m), Dispatcher::Result::Unknown);
    QVERIFY(g_seen.isEmpty());
    QCOMPARE(m_stats->process.unknownOpcodes.load(), quint64(1));
    // The context decides whether the caller wants it; the dispatcher always asks.
    QCOMPARE(m_context->errors.size(), 1);
    QCOMPARE(m_context->errors[0].first, m.data());
    QCOMPARE(m_context->errors[0].second, Reply::UnknownOpcodeError);
    QVERIFY(m_context->reserved.isEmpty());

    expectUnknownWarning(OpNone);
    QCOMPARE(dispatch(opcodeRequest(OpNone)), Dispatcher::Result::Unknown);
    QCOMPARE(m_stats->process.unknownOpcodes.load(), quint64(2));
    QCOMPARE(dispatch(opcodeRequest(OpA)), Dispatcher::Result::Handled);
    QCOMPARE(m_stats->process.unknownOpcodes.load(), quint64(2));
    QCOMPARE(m_context->errors.size(), 2);
}

void tst_Dispatcher::reservedOpcode_data()
{
    QTest::addColumn<quint32>("opcode");
    QTest::addColumn<bool>("handled");
    QTest::newRow("base, served") << ReservedOpcodeBase << true;
    QTest::newRow("base, no service") << ReservedOpcodeBase << false;
    QTest::newRow("highest, served") << quint32(0xffffffffu) << true;
    QTest::newRow("highest, no service") << quint32(0xffffffffu) << false;
}

void tst_Dispatcher::reservedOpcode()
{
    QFETCH(quint32, opcode);
    QFETCH(bool, handled);

    // A functor under a reserved code (Node refuses it; the dispatcher must not run it).
    QObject context;
    int functorRuns = 0;
    m_dispatcher->setHandler(opcode, &context, [&](const Message &) { ++functorRuns; });
    m_context->reservedHandled = handled;

    const MessageRef m = opcodeRequest(opcode, "svc");
    if (!handled)
        expectUnknownWarning(opcode);
    QCOMPARE(dispatch(m), handled ? Dispatcher::Result::Handled : Dispatcher::Result::Unknown);
    QCOMPARE(m_context->reserved.size(), 1);
    QCOMPARE(MessagePrivate::get(m_context->reserved[0]), m.data());
    QCOMPARE(m_context->reserved[0].opcode(), opcode);
    QCOMPARE(functorRuns, 0);
    QCOMPARE(m_stats->process.unknownOpcodes.load(), quint64(handled ? 0 : 1));
    if (handled) {
        QVERIFY(m_context->errors.isEmpty());
    } else {
        QCOMPARE(m_context->errors.size(), 1);
        QCOMPARE(m_context->errors[0].second, Reply::UnknownOpcodeError);
    }

    // A user op-code never goes there.
    registerOp(OpA, registryHandlerA);
    dispatch(opcodeRequest(OpA));
    QCOMPARE(m_context->reserved.size(), 1);
}

void tst_Dispatcher::typedByRole_data()
{
    QTest::addColumn<bool>("onWorker");
    QTest::newRow("master") << false;
    QTest::newRow("worker") << true;
}

void tst_Dispatcher::typedByRole()
{
    QFETCH(bool, onWorker);
    registerTyped(TypeCount, typedMaster, typedWorker);
    m_context->worker = onWorker;
    m_context->info.setSlot(3);
    m_context->info.setPid(4321);

    QCOMPARE(dispatch(request(Wire::Typed, TypeCount, "one")), Dispatcher::Result::Handled);
    QCOMPARE(dispatch(request(Wire::Typed, TypeCount, "two")), Dispatcher::Result::Handled);
    QCOMPARE(g_typed.size(), 2);
    for (const TypedCall &c : std::as_const(g_typed)) {
        QCOMPARE(c.side, onWorker ? "worker" : "master");
        QCOMPARE(c.data_, onWorker ? static_cast<void *>(&g_workerData)
                                   : static_cast<void *>(&g_masterData));
        if (onWorker) {
            QCOMPARE(c.workerSlot, -1);   // the sender is the master: no WorkerInfo
        } else {
            QCOMPARE(c.workerSlot, 3);
            QCOMPARE(c.workerPid, qint64(4321));
        }
    }
    QCOMPARE(g_typed[0].data, QByteArray("one"));
    QCOMPARE(g_typed[1].data, QByteArray("two"));
    // The state slot persists between calls.
    QCOMPARE(g_typed[0].state, g_typed[1].state);
    QCOMPARE(g_typed[0].count, quintptr(1));
    QCOMPARE(g_typed[1].count, quintptr(2));

    if (onWorker)
        QVERIFY(m_context->workerAtCalls.isEmpty());
    else
        QCOMPARE(m_context->workerAtCalls, (QList<quint32>{Endpoint, Endpoint}));

    // Not an op-code, not a function pointer.
    QVERIFY(g_seen.isEmpty());
    QVERIFY(m_context->errors.isEmpty());
    QVERIFY(m_stats->opcodes().isEmpty());
    QCOMPARE(m_stats->process.unknownOpcodes.load(), quint64(0));
}

void tst_Dispatcher::typedWithoutHandler()
{
    // Only the master's side is set: a worker ignores the type; an unknown type is ignored.
    registerTyped(TypeCount, typedMaster, nullptr);
    m_context->worker = true;
    QCOMPARE(dispatch(request(Wire::Typed, TypeCount)), Dispatcher::Result::Handled);
    QCOMPARE(dispatch(request(Wire::Typed, TypeNone)), Dispatcher::Result::Handled);
    QVERIFY(g_typed.isEmpty());
    QVERIFY(m_context->errors.isEmpty());

    m_context->worker = false;
    QCOMPARE(dispatch(request(Wire::Typed, TypeCount)), Dispatcher::Result::Handled);
    QCOMPARE(g_typed.size(), 1);
    QCOMPARE(g_typed[0].side, "master");
}

void tst_Dispatcher::exceptionsContained_data()
{
    QTest::addColumn<QString>("kind");
    QTest::newRow("function pointer") << u"function"_qs;
    QTest::newRow("registry") << u"registry"_qs;
    QTest::newRow("functor") << u"functor"_qs;
    QTest::newRow("typed") << u"typed"_qs;
}

void tst_Dispatcher::exceptionsContained()
{
    QFETCH(QString, kind);

    QObject context;
    MessageRef m;
    if (kind == u"function") {
        m = request(0, quintptr(&throwingHandler), "f");
        QTest::ignoreMessage(QtWarningMsg,
                             QRegularExpression(QStringLiteral("^handler threw an exception: handler boom")));
    } else if (kind == u"registry") {
        registerOp(OpThrow, throwingHandler);
        m = opcodeRequest(OpThrow, "r");
        QTest::ignoreMessage(QtWarningMsg,
                             QRegularExpression(QStringLiteral("op-code handler threw an exception: handler boom")));
    } else if (kind == u"functor") {
        m_dispatcher->setHandler(OpThrow, &context, [](const Message &m) {
            record("functor", m);
            throw 1;
        });
        m = opcodeRequest(OpThrow, "c");
        QTest::ignoreMessage(QtWarningMsg,
                             QRegularExpression(QStringLiteral("op-code handler threw an exception$")));
    } else {
        registerTyped(TypeThrow, typedThrowing, typedThrowing);
        m = request(Wire::Typed, TypeThrow, "t");
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression(
                QStringLiteral("typed handler for type %1 threw an exception").arg(TypeThrow)));
    }

    QCOMPARE(dispatch(m), Dispatcher::Result::Handled);
    QCOMPARE(int(g_seen.size() + g_typed.size()), 1);
    QVERIFY(m_context->errors.isEmpty());

    // The dispatcher goes on as before.
    registerOp(OpA, registryHandlerA);
    QCOMPARE(dispatch(opcodeRequest(OpA, "next")), Dispatcher::Result::Handled);
    QCOMPARE(g_seen.last().who, "registry A");
    QCOMPARE(g_seen.last().data, QByteArray("next"));
}

void tst_Dispatcher::opcodeStatistics()
{
    registerOp(OpA, registryHandlerA);
    registerOp(OpB, registryHandlerB);
    QObject context;
    m_dispatcher->setHandler(OpB, &context, [](const Message &) { });

    dispatch(opcodeRequest(OpA, "abc"));
    dispatch(opcodeRequest(OpA, "defg"));
    dispatch(opcodeRequest(OpA, QByteArray()));
    dispatch(opcodeRequest(OpB, "12345"));   // through the functor: counted all the same
    expectUnknownWarning(OpNone);
    dispatch(opcodeRequest(OpNone, "xy"));   // unknown ones are traffic too
    dispatch(request(0, quintptr(&functionHandler), "not an op-code"));
    dispatch(request(Wire::Typed, TypeNone, "nor this"));

    const QHash<quint32, OpcodeCounters> counts = m_stats->opcodes();
    QCOMPARE(counts.size(), 3);
    QCOMPARE(counts.value(OpA).messagesIn, quint64(3));
    QCOMPARE(counts.value(OpA).bytesIn, quint64(7));
    QCOMPARE(counts.value(OpB).messagesIn, quint64(1));
    QCOMPARE(counts.value(OpB).bytesIn, quint64(5));
    QCOMPARE(counts.value(OpNone).messagesIn, quint64(1));
    QCOMPARE(counts.value(OpNone).bytesIn, quint64(2));
    QCOMPARE(counts.value(OpA).messagesOut, quint64(0));
    QCOMPARE(counts.value(OpA).bytesOut, quint64(0));
}

void tst_Dispatcher::nullContextRunsUntilRemoved()
{
    // Regression: Node::handle(op, nullptr, fn) stored a functor that never ran.
    registerOp(OpA, registryHandlerA);
    int runs = 0;
    m_dispatcher->setHandler(OpA, nullptr, [&](const Message &) { ++runs; });
    QCOMPARE(dispatch(opcodeRequest(OpA)), Dispatcher::Result::Handled);
    QCOMPARE(dispatch(opcodeRequest(OpA)), Dispatcher::Result::Handled);
    QCOMPARE(runs, 2);
    m_dispatcher->removeHandler(OpA);
    QCOMPARE(dispatch(opcodeRequest(OpA)), Dispatcher::Result::Handled);   // the registry's
    QCOMPARE(runs, 2);
}

QTEST_GUILESS_MAIN(tst_Dispatcher)
#include "tst_dispatcher.moc"
