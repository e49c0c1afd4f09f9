// SPDX-License-Identifier: MIT
//
// The NATS engine through the public API of one Node in this process, with a nats-server
// and a cluster_node of the test's own: URLs it refuses, a server that comes late, what
// the engine cannot carry (a server's max_payload), and a master that leaves. The
// multi-machine scenarios are tst_cluster_nats, the hostile ones tst_natsbroker.

#include "helperprocess.h"
#include "liveprocesses.h"
#include "brokerwire_p.h"
#include "natsapi_p.h"
#include "natsrawclient.h"
#include "natsserver.h"

#include <plexus/plexus.h>

#include <QtCore/qdatetime.h>
#include <QtCore/qdeadlinetimer.h>
#include <QtCore/qelapsedtimer.h>
#include <QtCore/qfile.h>
#include <QtCore/qurl.h>
#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>

#include <csignal>
#include <memory>
#include <thread>

using namespace Qt::StringLiterals;

namespace {

constexpr quint32 OpProbe = 0x100;   // cluster_node's handler; ours replies big on demand
constexpr qint64 MaxPayload = 8192;  // the test server's max_payload
const QByteArray Secret = "tst_natsengine secret";

} // namespace

class tst_NatsEngine : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    // First: it needs a process that has not loaded nats.c yet.
    void missingLibraryIsAClearError();
    void refusesBadUrls_data();
    void refusesBadUrls();
    void serverThatComesLate();
    void nothingToDial();
    void tooLongForTheBroker();
    void replyTooLongForTheBroker();
    void masterThatLeavesIsLostAtOnce();
    void killedMasterIsLostAtTheFirstCall();
    void floodIsBoundedAndFailsTheSendersCalls();

private:
    Plexus::ClusterOptions options(const QString &url) const
    {
        Plexus::ClusterOptions o;
        o.url = url;
        o.secret = Secret;
        o.heartbeatIntervalMs = 200;
        o.deadAfterMs = 3000;
        return o;
    }
    bool startNode(const QByteArray &tag = "h1");

    TestSupport::NatsServers m_nats;
    std::unique_ptr<Plexus::Node> m_node;
    TestSupport::HelperProcess *m_peer = nullptr;
    QByteArray m_run;
    quint64 m_peerMachine = 0;
};

void tst_NatsEngine::initTestCase()
{
    ::unsetenv("SECRET");
    m_run = "plxnats-" + QByteArray::number(::getpid());
    m_nats.setMaxPayload(MaxPayload);
    m_node = std::make_unique<Plexus::Node>();
    QVERIFY(m_node->start());
    m_node->handle(OpProbe, m_node.get(), [](const Plexus::Message &m) {
        // "big" asks for a reply the broker cannot carry.
        const QByteArray data = m.data().toByteArray();
        const QByteArray answer = data.startsWith("big") ? QByteArray(2 * MaxPayload, 'r') : "test:ok";
        Plexus::reply(m, {.data = {answer}, .done = true});
    });
}

void tst_NatsEngine::cleanupTestCase()
{
    if (m_peer) {
        m_peer->finish("quit", 10000);
        for (qint64 pid : TestSupport::liveProcesses(m_run))
            ::kill(pid_t(pid), SIGKILL);
    }
    m_node.reset();
    m_nats.stopAll();
    QVERIFY(TestSupport::liveProcesses(m_run).isEmpty());
}

void tst_NatsEngine::missingLibraryIsAClearError()
{
    // nats.c is loaded when the first NATS engine starts, not with libplexus: a machine
    // without it runs everything else, and a nats:// URL there fails with what to install.
    QString error;
    QVERIFY(!Plexus::NatsApi::load(u"/nonexistent/libnats-plexus-test.so"_s, &error));
    // It names the file and what to install.
    QVERIFY2(error.contains(u"/nonexistent/libnats-plexus-test.so"_s) && error.contains(u"libnats3.4"_s),
             qPrintable(error));
    // A library that loads but is not nats.c.
    QVERIFY(!Plexus::NatsApi::load(u"libc.so.6"_s, &error));
    QVERIFY2(error.contains(u"not a usable nats.c library (no nats_Open"_s), qPrintable(error));
    // The real one resolves every function the engine calls.
    const std::unique_ptr<Plexus::NatsApi> real = Plexus::NatsApi::load(Plexus::NatsApi::libraryName(), &error);
    QVERIFY2(real && real->natsConnection_Publish && real->natsMsg_Destroy, qPrintable(error));

    // Through the API: listenCluster() refuses, says why, and the node stays usable.
    qputenv("PLEXUS_NATS_LIBRARY", "/nonexistent/libnats-plexus-test.so");
    const bool joined = m_node->listenCluster(options(u"nats://127.0.0.1:4999"_s));
    qunsetenv("PLEXUS_NATS_LIBRARY");
    if (joined)
        QFAIL("nats.c was loaded before this test: it must run first");
    QCOMPARE(m_node->error(), Plexus::Node::ClusterListenError);
    QVERIFY2(m_node->errorString().contains(u"cannot load the nats.c library"_s),
             qPrintable(m_node->errorString()));
    QVERIFY(!m_node->isInCluster());
}

void tst_NatsEngine::refusesBadUrls_data()
{
    QTest::addColumn<QString>("url");
    QTest::newRow("no server") << u"nats://"_s;
    QTest::newRow("empty entry") << u"nats://127.0.0.1:4333,,127.0.0.1:4334"_s;
    QTest::newRow("path") << u"nats://127.0.0.1:4333/x"_s;
    QTest::newRow("query") << u"nats://127.0.0.1:4333?a=b"_s;
    QTest::newRow("no host") << u"nats://:4333"_s;
    QTest::newRow("other scheme") << u"amqp://127.0.0.1:5672"_s;
    // The password never appears in the error text (applications log it).
    QTest::newRow("password, path") << u"nats://user:hunter2@127.0.0.1:4333/x"_s;
    QTest::newRow("password, other scheme") << u"amqp://user:hunter2@127.0.0.1:5672"_s;
    QTest::newRow("password, second server") << u"nats://127.0.0.1:4333,user:hunter2@:4334"_s;
}

void tst_NatsEngine::refusesBadUrls()
{
    QFETCH(QString, url);
    QVERIFY(!m_node->listenCluster(options(url)));
    QCOMPARE(m_node->error(), Plexus::Node::ClusterAddressError);
    QVERIFY2(m_node->errorString().contains(u"nats://"_s), qPrintable(m_node->errorString()));
    QVERIFY2(!m_node->errorString().contains(u"hunter2"_s), qPrintable(m_node->errorString()));
    QVERIFY(!m_node->isInCluster());
}

void tst_NatsEngine::serverThatComesLate()
{
    // listenCluster() does not wait for a server: the first connect is retried in the
    // background, and the node joins when one answers.
    QVERIFY(TestSupport::NatsServers::available());
    QString why;
    QVERIFY2(m_nats.start(1, &why), qPrintable(why));
    const QString url = m_nats.url(0);
    m_nats.kill(0);
    QElapsedTimer timer;
    timer.start();
    QVERIFY2(m_node->listenCluster(options(url)), qPrintable(m_node->errorString()));
    QVERIFY2(timer.elapsed() < 1000, "listenCluster() waited for the server");
    QVERIFY(m_node->isInCluster());
    QCOMPARE(m_node->clusterPort(), quint16(0));   // the broker's engine has no port of its own

    QVERIFY2(m_nats.restart(0, &why), qPrintable(why));
    QVERIFY(startNode());
    QSignalSpy up(m_node.get(), &Plexus::Node::peerConnected);
    QTRY_VERIFY2_WITH_TIMEOUT(m_node->peers().size() == 1, qPrintable(m_peer->dump()), 15000);
    m_peerMachine = m_node->peers().first().machineId();
    QCOMPARE(m_node->peers().first().address(), url);   // the server this side uses
    Plexus::Reply *r = Plexus::cluster({.opcode = OpProbe, .data = {"c1"}, .timeout = 10000, .reply = true});
    r->setAutoDelete(false);
    QTRY_VERIFY_WITH_TIMEOUT(r->isFinished(), 10000);
    QCOMPARE(r->error(), Plexus::Reply::NoError);
    QCOMPARE(r->receivedReplies(), 1);
    delete r;
}

bool tst_NatsEngine::startNode(const QByteArray &tag)
{
    m_peer = new TestSupport::HelperProcess(this);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(u"SECRET"_s, QString::fromLatin1(Secret));
    m_peer->setEnvironment(env);
    m_peer->setForwardStderr(true);
    return m_peer->start(QStringLiteral(CLUSTER_NODE_PATH),
                         {u"--tag"_s, QString::fromLatin1(tag), u"--run"_s, QString::fromLatin1(m_run),
                          u"--heartbeat"_s, u"200"_s, u"--dead"_s, u"3000"_s, u"-w"_s, u"0"_s,
                          u"--cluster-url"_s, m_nats.url(0)}, 10000);
}

void tst_NatsEngine::nothingToDial()
{
    QVERIFY(!m_node->connectToPeer(QUrl(u"tcp://127.0.0.1:7400"_s)));
    QCOMPARE(m_node->error(), Plexus::Node::ClusterAddressError);
    QVERIFY2(m_node->errorString().contains(u"NATS"_s), qPrintable(m_node->errorString()));
}

void tst_NatsEngine::tooLongForTheBroker()
{
    QVERIFY(m_peerMachine);
    // Too long for the server's max_payload: the machine's part fails with
    // MessageTooLongError at once, nothing is sent; a message that fits still goes.
    Plexus::Reply *r = Plexus::cluster({.opcode = OpProbe, .data = {QByteArray(MaxPayload, 'x')},
                                        .timeout = 10000, .reply = true});
    r->setAutoDelete(false);
    QTRY_VERIFY_WITH_TIMEOUT(r->isFinished(), 10000);
    QCOMPARE(r->error(), Plexus::Reply::MessageTooLongError);
    delete r;
    const int received = int(m_peer->find(u"RECV"_s).size());
    QCOMPARE(received, 1);   // only c1 of the previous test ran there
    // The largest payload that fits: the server's limit less the envelope and a target
    // list naming every known machine, here one (PROTOCOL 10.5).
    const qsizetype fits = MaxPayload - 80 - 64 - 4 - 8;
    r = Plexus::sendTo(Plexus::Sender(m_peerMachine, 0, -1),
                       Plexus::newMessage({.opcode = OpProbe, .data = {QByteArray(fits, 'y')},
                                           .timeout = 10000, .reply = true}));
    r->setAutoDelete(false);
    QTRY_VERIFY_WITH_TIMEOUT(r->isFinished(), 10000);
    QCOMPARE(r->error(), Plexus::Reply::NoError);
    delete r;
}

void tst_NatsEngine::replyTooLongForTheBroker()
{
    // Our handler answers cluster_node's call with more than the broker carries: the
    // caller gets MessageTooLongError instead of waiting for its timeout.
    m_peer->send("cluster big1");
    QVERIFY(TestSupport::HelperProcess::waitFor([this] {
        return !m_peer->find(u"RESULT"_s).isEmpty();
    }, 10000));
    const TestSupport::Line result = m_peer->find(u"RESULT"_s).last();
    QCOMPARE(result.word(0), u"big1"_s);
    QCOMPARE(result.word(3).toInt(), int(Plexus::Reply::MessageTooLongError));
}

void tst_NatsEngine::masterThatLeavesIsLostAtOnce()
{
    // A master that quits says bye: it is lost at once, not after the dead interval.
    QSignalSpy down(m_node.get(), &Plexus::Node::peerDisconnected);
    QElapsedTimer timer;
    timer.start();
    m_peer->finish("quit", 10000);
    QTRY_COMPARE_WITH_TIMEOUT(down.size(), 1, 2500);
    qInfo("a master that left was lost after %lld ms (dead interval 3000 ms)", timer.elapsed());
    QVERIFY(m_node->peers().isEmpty());
}

void tst_NatsEngine::killedMasterIsLostAtTheFirstCall()
{
    // A master killed says no bye, and the dead interval (3 s here) has not passed: the
    // first message to it finds no subscriber for its inbox, the server says so ("no
    // responders"), and the machine is lost at once, with the call's part failed.
    QVERIFY(startNode("h2"));
    QTRY_VERIFY_WITH_TIMEOUT(m_node->peers().size() == 1, 15000);
    const quint64 machine = m_node->peers().first().machineId();
    QSignalSpy down(m_node.get(), &Plexus::Node::peerDisconnected);
    QCOMPARE(::kill(pid_t(m_peer->pid()), SIGKILL), 0);
    QVERIFY(m_peer->waitForFinished(5000));
    QElapsedTimer timer;
    timer.start();
    // The server learns of the closed connection a moment later; until then a message is
    // still delivered to nobody. Send until the notice comes, well inside the dead interval.
    Plexus::Reply::Error error = Plexus::Reply::NoError;
    while (down.isEmpty() && timer.elapsed() < 2000) {
        Plexus::Reply *r = Plexus::sendTo(Plexus::Sender(machine, 0, -1),
                                          Plexus::newMessage({.opcode = OpProbe, .data = {"late"},
                                                              .timeout = 2000, .reply = true}));
        r->setAutoDelete(false);
        QTRY_VERIFY_WITH_TIMEOUT(r->isFinished() || !down.isEmpty(), 2500);
        QTRY_VERIFY_WITH_TIMEOUT(r->isFinished(), 2500);
        error = r->error();
        delete r;
    }
    QCOMPARE(down.size(), 1);
    QVERIFY2(timer.elapsed() < 2000, "lost by the dead interval, not by the notice");
    QCOMPARE(error, Plexus::Reply::TargetLostError);
    qInfo("a killed master was lost %lld ms after it died (dead interval 3000 ms)", timer.elapsed());
    for (qint64 pid : TestSupport::liveProcesses(m_run))
        ::kill(pid_t(pid), SIGKILL);
}

namespace {

// This process's resident memory, from /proc.
qint64 residentBytes()
{
    QFile f(u"/proc/self/statm"_s);
    if (!f.open(QIODevice::ReadOnly))
        return 0;
    const QList<QByteArray> fields = f.readAll().split(' ');
    return fields.size() > 1 ? fields[1].toLongLong() * 4096 : 0;
}

} // namespace

void tst_NatsEngine::floodIsBoundedAndFailsTheSendersCalls()
{
    // A machine (played by this test with the cluster's key, as only a member can) floods
    // this node while the node's thread is busy: nats.c's thread keeps receiving, the
    // queue to the node's thread stops at its bound (64 MiB), the rest is dropped and
    // counted, and the call waiting on the flooding machine fails with TargetLostError
    // instead of waiting for a reply that may have been dropped.
    using namespace Plexus::BrokerWire;
    const Plexus::CryptoKey key = Plexus::CryptoKey::derive(Secret, "plexbrk1");
    const Plexus::CryptoKey idKey = Plexus::CryptoKey::derive(Secret, "plexbrk1", 2);
    const QByteArray prefix = "plx." + QByteArray(reinterpret_cast<const char *>(idKey.bytes()), 8).toHex() + '.';
    const quint64 flooder = 0xf100df100df100dull;
    const QByteArray inbox = prefix + "m." + QByteArray::number(m_node->machineId(), 16);
    Envelope env;
    env.role = 1;
    env.sender = flooder;
    env.epoch = 77;
    quint64 presenceSequence = 0, directSequence = 0;
    const auto envelopeFor = [&](Channel channel, quint64 *sequence) {
        env.channel = channel;
        env.sequence = ++*sequence;
        env.timestampMs = quint64(QDateTime::currentMSecsSinceEpoch());
        return env;
    };

    TestSupport::NatsRawClient raw;
    // Subscribed to the flooder's inbox: it sees the node's call arrive.
    QVERIFY2(raw.open(m_nats.port(0), prefix + "m." + QByteArray::number(flooder, 16)),
             raw.errors().constData());
    QSignalSpy up(m_node.get(), &Plexus::Node::peerConnected);
    const QByteArray presence = prefix + "presence";
    raw.publish(presence, seal(key, envelopeFor(Channel::Presence, &presenceSequence), presence,
                               {presenceBody(Presence{PresenceKind::Hello})}));
    QTRY_VERIFY_WITH_TIMEOUT(!up.isEmpty(), 5000);
    QCOMPARE(up.first().first().value<Plexus::PeerInfo>().machineId(), flooder);

    Plexus::Reply *waiting = Plexus::sendTo(Plexus::Sender(flooder, 0, -1),
                                            Plexus::newMessage({.opcode = OpProbe, .data = {"never answered"},
                                                                .timeout = 60000, .reply = true}));
    waiting->setAutoDelete(false);
    QTRY_VERIFY_WITH_TIMEOUT(!raw.messages().isEmpty(), 5000);   // the call reached the flooder

    // 40000 requests of 4 KiB to an op-code nobody handles (about 165 MB), sent while this
    // thread does not return to its event loop.
    const quint64 droppedBefore = m_node->counters().droppedIncoming;
    const qint64 rssBefore = residentBytes();
    Plexus::Wire::Header h;
    h.privateFlags = Plexus::Wire::Opcode;
    h.target = 0x7777;
    h.originMachine = flooder;
    const QByteArray payload(4096, 'f');
    QByteArray body;
    appendFrame(&body, h, payload);
    QElapsedTimer timer;
    timer.start();
    for (int i = 0; i < 40000; ++i)
        QVERIFY(raw.publishBlocking(inbox, seal(key, envelopeFor(Channel::Direct, &directSequence), inbox, {body})));
    // Until the drop is counted (nats.c's thread fills the queue meanwhile), not a moment
    // longer; still without the event loop.
    QDeadlineTimer deadline(30000);
    while (m_node->counters().droppedIncoming == droppedBefore && !deadline.hasExpired())
        std::this_thread::yield();
    const qint64 rssFlooded = residentBytes();
    qInfo("flood of 40000 x 4 KiB sent in %lld ms; %llu dropped so far; RSS +%lld MiB", timer.elapsed(),
          m_node->counters().droppedIncoming - droppedBefore, (rssFlooded - rssBefore) >> 20);
    QVERIFY(m_node->counters().droppedIncoming > droppedBefore);
    // The queue holds at most 64 MiB: the 165 MB sent do not stay in memory. (Not checked
    // under the sanitizers, whose shadow memory grows with what is allocated.)
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    QVERIFY2(rssFlooded - rssBefore < qint64(128) << 20, qPrintable(QString::number((rssFlooded - rssBefore) >> 20)));
#endif

    QTRY_VERIFY_WITH_TIMEOUT(waiting->isFinished(), 30000);
    QCOMPARE(waiting->error(), Plexus::Reply::TargetLostError);
    delete waiting;
    // The node still works: its own op-codes run as before.
    Plexus::Reply *self = Plexus::local({.opcode = OpProbe, .data = {"after"}, .timeout = 5000, .reply = true});
    self->setAutoDelete(false);
    QTRY_VERIFY(self->isFinished());
    QCOMPARE(self->error(), Plexus::Reply::NoError);
    delete self;
}

QTEST_GUILESS_MAIN(tst_NatsEngine)
#include "tst_natsengine.moc"
