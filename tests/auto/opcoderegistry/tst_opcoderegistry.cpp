// SPDX-License-Identifier: MIT
#include "opcoderegistry_p.h"

#include <plexus/opcode.h>

#include <QtCore/qregularexpression.h>
#include <QtTest/QTest>

#include <atomic>
#include <thread>
#include <vector>

using namespace Plexus;

namespace {
void handlerA(const Message &) { }
void handlerB(const Message &) { }
void replyHandler(const Message &) { }
void doneHandler(const Message &) { }

void expectRefusalWarning()
{
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("refusing op-code")));
}
} // namespace

class tst_OpcodeRegistry : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void registerLookupUnregister();
    void unregisterWithNullCall();
    void refusedCodes_data();
    void refusedCodes();
    void highestUserCodeAccepted();
    void reregisterReplaces();
    void unknownLookup();
    void concurrentRegistration();
    void displayNames();

private:
    QList<quint32> m_used;
};

void tst_OpcodeRegistry::init()
{
    QCOMPARE(OpcodeRegistry::instance().count(), 0);
}

void tst_OpcodeRegistry::cleanup()
{
    // The registry is process-wide: leave it empty for the next test.
    for (quint32 code : std::as_const(m_used))
        unregisterOpcode(code);
    m_used.clear();
    QCOMPARE(OpcodeRegistry::instance().count(), 0);
}

void tst_OpcodeRegistry::registerLookupUnregister()
{
    int udata = 0;
    m_used << 7;
    QVERIFY(registerOpcode({.opcode = 7, .call = handlerA, .onReply = replyHandler,
                            .onDone = doneHandler, .udata = &udata}));
    const std::optional<OpcodeSpec> spec = opcode(7);
    QVERIFY(spec.has_value());
    QCOMPARE(spec->opcode, 7u);
    QCOMPARE(quintptr(spec->call), quintptr(&handlerA));
    QCOMPARE(quintptr(spec->onReply), quintptr(&replyHandler));
    QCOMPARE(quintptr(spec->onDone), quintptr(&doneHandler));
    QCOMPARE(spec->udata, static_cast<void *>(&udata));
    QCOMPARE(OpcodeRegistry::instance().count(), 1);

    QVERIFY(!opcode(8).has_value());   // neighbours are not affected

    QVERIFY(unregisterOpcode(7));
    QVERIFY(!opcode(7).has_value());
    QCOMPARE(OpcodeRegistry::instance().count(), 0);
    // Unregistering what is not there is not an error.
    QVERIFY(unregisterOpcode(7));
}

void tst_OpcodeRegistry::unregisterWithNullCall()
{
    m_used << 100;
    QVERIFY(registerOpcode({.opcode = 100, .call = handlerA}));
    QVERIFY(opcode(100).has_value());
    QVERIFY(registerOpcode({.opcode = 100, .call = nullptr, .onReply = replyHandler}));
    QVERIFY(!opcode(100).has_value());
}

void tst_OpcodeRegistry::refusedCodes_data()
{
    QTest::addColumn<quint32>("code");
    QTest::newRow("0") << 0u;
    QTest::newRow("0xFF000000") << 0xFF000000u;
    QTest::newRow("0xFF000001") << 0xFF000001u;
    QTest::newRow("0xFFFFFFFE") << 0xFFFFFFFEu;
    QTest::newRow("0xFFFFFFFF") << 0xFFFFFFFFu;
}

void tst_OpcodeRegistry::refusedCodes()
{
    QFETCH(quint32, code);
    QVERIFY(!OpcodeRegistry::isUserOpcode(code));

    expectRefusalWarning();
    QVERIFY(!registerOpcode({.opcode = code, .call = handlerA}));
    QVERIFY(!opcode(code).has_value());
    QCOMPARE(OpcodeRegistry::instance().count(), 0);

    expectRefusalWarning();
    QVERIFY(!unregisterOpcode(code));
}

void tst_OpcodeRegistry::highestUserCodeAccepted()
{
    QCOMPARE(ReservedOpcodeBase, 0xFF000000u);
    for (quint32 code : {1u, 0xFEFFFFFFu}) {
        m_used << code;
        QVERIFY(OpcodeRegistry::isUserOpcode(code));
        QVERIFY(registerOpcode({.opcode = code, .call = handlerB}));
        QVERIFY(opcode(code).has_value());
        QCOMPARE(quintptr(opcode(code)->call), quintptr(&handlerB));
    }
    QCOMPARE(OpcodeRegistry::instance().count(), 2);
}

void tst_OpcodeRegistry::reregisterReplaces()
{
    int first = 0;
    int second = 0;
    m_used << 42;
    QVERIFY(registerOpcode({.opcode = 42, .call = handlerA, .onReply = replyHandler, .udata = &first}));
    QVERIFY(registerOpcode({.opcode = 42, .call = handlerB, .udata = &second}));
    const auto spec = opcode(42);
    QVERIFY(spec.has_value());
    QCOMPARE(quintptr(spec->call), quintptr(&handlerB));
    QVERIFY(spec->onReply == nullptr);   // replaced as a whole, not merged
    QCOMPARE(spec->udata, static_cast<void *>(&second));
    QCOMPARE(OpcodeRegistry::instance().count(), 1);
}

void tst_OpcodeRegistry::unknownLookup()
{
    QVERIFY(!opcode(12345).has_value());
    QVERIFY(!opcode(0).has_value());
    QVERIFY(!opcode(0xFFFFFFFFu).has_value());
}

void tst_OpcodeRegistry::concurrentRegistration()
{
    // Eight threads register, look up, replace and unregister overlapping ranges while the
    // others do the same; afterwards the table holds exactly what the last writes say.
    constexpr int Threads = 8;
    constexpr quint32 PerThread = 2000;
    constexpr quint32 Shared = 64;   // codes every thread writes
    std::atomic<int> lookupFailures{0};
    std::atomic<bool> go{false};

    std::vector<std::thread> threads;
    for (int t = 0; t < Threads; ++t) {
        threads.emplace_back([&, t] {
            while (!go.load())
                std::this_thread::yield();
            const quint32 base = 1000 + quint32(t) * PerThread;
            for (quint32 i = 0; i < PerThread; ++i) {
                const quint32 code = base + i;
                if (!registerOpcode({.opcode = code, .call = handlerA,
                                     .udata = reinterpret_cast<void *>(quintptr(code))}))
                    lookupFailures.fetch_add(1);
                const auto spec = opcode(code);
                if (!spec || spec->udata != reinterpret_cast<void *>(quintptr(code)))
                    lookupFailures.fetch_add(1);
                // Odd codes are removed again; even ones stay.
                if (code % 2 && !unregisterOpcode(code))
                    lookupFailures.fetch_add(1);
                // Contended codes: last writer wins, readers always see a whole entry.
                const quint32 shared = 1 + (i % Shared);
                registerOpcode({.opcode = shared, .call = (t % 2) ? handlerA : handlerB,
                                .udata = reinterpret_cast<void *>(quintptr(t))});
                const auto seen = opcode(shared);
                if (!seen || (seen->call != handlerA && seen->call != handlerB)
                    || quintptr(seen->udata) >= quintptr(Threads))
                    lookupFailures.fetch_add(1);
            }
        });
    }
    go.store(true);
    for (auto &thread : threads)
        thread.join();

    QCOMPARE(lookupFailures.load(), 0);
    for (quint32 code = 1; code <= Shared; ++code) {
        m_used << code;
        QVERIFY(opcode(code).has_value());
    }
    for (int t = 0; t < Threads; ++t) {
        const quint32 base = 1000 + quint32(t) * PerThread;
        for (quint32 i = 0; i < PerThread; ++i) {
            const quint32 code = base + i;
            m_used << code;
            const auto spec = opcode(code);
            if (code % 2) {
                QVERIFY(!spec.has_value());
            } else {
                QVERIFY(spec.has_value());
                QCOMPARE(spec->udata, reinterpret_cast<void *>(quintptr(code)));
            }
        }
    }
    QCOMPARE(OpcodeRegistry::instance().count(), qsizetype(Shared + Threads * PerThread / 2));
}

void tst_OpcodeRegistry::displayNames()
{
    // Names are kept apart from handlers: an op-code handled by Node::handle() (not in the
    // registry) can have one, and unregistering a handler keeps the name.
    QCOMPARE(opcodeName(7), QString());
    QVERIFY(setOpcodeName(7, QStringLiteral("cache.invalidate")));
    QCOMPARE(opcodeName(7), QStringLiteral("cache.invalidate"));
    QCOMPARE(OpcodeRegistry::instance().count(), 0);
    QVERIFY(registerOpcode({.opcode = 7, .call = handlerA}));
    m_used.append(7);
    QVERIFY(unregisterOpcode(7));
    QCOMPARE(opcodeName(7), QStringLiteral("cache.invalidate"));
    QVERIFY(setOpcodeName(7, QStringLiteral("renamed")));
    QCOMPARE(opcodeName(7), QStringLiteral("renamed"));
    QCOMPARE(OpcodeRegistry::instance().names().size(), 1);
    QVERIFY(setOpcodeName(7, QString()));   // an empty name removes it
    QCOMPARE(opcodeName(7), QString());
    QVERIFY(OpcodeRegistry::instance().names().isEmpty());
    for (quint32 reserved : {0u, ReservedOpcodeBase, 0xFFFFFFFFu}) {
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("refusing a name")));
        QVERIFY(!setOpcodeName(reserved, QStringLiteral("x")));
        QCOMPARE(opcodeName(reserved), QString());
    }
}

QTEST_GUILESS_MAIN(tst_OpcodeRegistry)
#include "tst_opcoderegistry.moc"
