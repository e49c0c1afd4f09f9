// SPDX-License-Identifier: MIT
//
// The cluster API of one Node, from the outside: every refusal has its error code and a
// text that says what to do, and the accessors tell the truth before, during and after.
// The test functions run in order on one Node (one per process).

#include <plexus/plexus.h>

#include <QtCore/qurl.h>
#include <QtNetwork/qtcpserver.h>
#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>

#include <cstdlib>

using namespace Qt::StringLiterals;

class tst_ClusterApi : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void beforeStart();
    void withoutSecret_data();
    void withoutSecret();
    void connectBeforeJoining();
    void portInUse();
    void joins();
    void joinsOnce();
    void badPeerUrls_data();
    void badPeerUrls();
    void peerInfoDebug();
    void shutdownLeaves();

private:
    static Plexus::ClusterOptions options(quint16 port = 0)
    {
        Plexus::ClusterOptions o;
        o.port = port;
        o.secret = "tst_clusterapi";
        o.mesh.broadcast = false;   // nothing leaves this machine
        o.mesh.bindAddress = QHostAddress::LocalHost;
        return o;
    }

    std::unique_ptr<Plexus::Node> m_node;
};

void tst_ClusterApi::initTestCase()
{
    ::unsetenv("SECRET");
    m_node = std::make_unique<Plexus::Node>();
    QCOMPARE(m_node->clusterPort(), quint16(0));
    QVERIFY(!m_node->isInCluster());
    QVERIFY(m_node->peers().isEmpty());
}

void tst_ClusterApi::beforeStart()
{
    QSignalSpy errors(m_node.get(), &Plexus::Node::errorOccurred);
    QVERIFY(!m_node->listenCluster(options()));
    QCOMPARE(m_node->error(), Plexus::Node::NotStartedError);
    QVERIFY2(m_node->errorString().contains(u"Start the node"_s), qPrintable(m_node->errorString()));
    QCOMPARE(errors.size(), 1);
    QVERIFY(m_node->start());
}

void tst_ClusterApi::withoutSecret_data()
{
    QTest::addColumn<QByteArray>("environment");
    QTest::newRow("SECRET unset") << QByteArray();
    QTest::newRow("SECRET empty") << QByteArray("");
}

void tst_ClusterApi::withoutSecret()
{
    QFETCH(QByteArray, environment);
    if (environment.isNull())
        ::unsetenv("SECRET");
    else
        ::setenv("SECRET", environment.constData(), 1);
    Plexus::ClusterOptions o = options();
    o.secret.clear();
    QVERIFY(!m_node->listenCluster(o));
    QCOMPARE(m_node->error(), Plexus::Node::ClusterSecretError);
    QVERIFY2(m_node->errorString().contains(u"SECRET"_s), qPrintable(m_node->errorString()));
    QVERIFY(!m_node->isInCluster());
    QCOMPARE(m_node->clusterPort(), quint16(0));
    ::unsetenv("SECRET");
}

void tst_ClusterApi::connectBeforeJoining()
{
    QVERIFY(!m_node->connectToPeer(QUrl(u"tcp://127.0.0.1:7400"_s)));
    QCOMPARE(m_node->error(), Plexus::Node::NotInClusterError);
}

void tst_ClusterApi::portInUse()
{
    QTcpServer taken;
    QVERIFY(taken.listen(QHostAddress::LocalHost, 0));
    QVERIFY(!m_node->listenCluster(options(taken.serverPort())));
    QCOMPARE(m_node->error(), Plexus::Node::ClusterListenError);
    QVERIFY2(m_node->errorString().contains(QString::number(taken.serverPort())),
             qPrintable(m_node->errorString()));
    QVERIFY(!m_node->isInCluster());
}

void tst_ClusterApi::joins()
{
    QVERIFY2(m_node->listenCluster(options()), qPrintable(m_node->errorString()));
    QCOMPARE(m_node->error(), Plexus::Node::NoError);
    QVERIFY(m_node->isInCluster());
    QVERIFY(m_node->clusterPort() != 0);
    QVERIFY(m_node->peers().isEmpty());
    // In a cluster of one, cluster() has nobody to reach and broadcast() reaches this
    // process only: both finish without error.
    const quint32 op = 0x4242;
    m_node->handle(op, m_node.get(), [](const Plexus::Message &m) { Plexus::reply(m, {.done = true}); });
    Plexus::Reply *c = Plexus::cluster({.opcode = op, .reply = true});
    Plexus::Reply *b = Plexus::broadcast({.opcode = op, .reply = true});
    c->setAutoDelete(false);
    b->setAutoDelete(false);
    QTRY_VERIFY(c->isFinished() && b->isFinished());
    QCOMPARE(c->error(), Plexus::Reply::NoError);
    QCOMPARE(c->expectedReplies(), 0);
    QCOMPARE(b->error(), Plexus::Reply::NoError);
    QCOMPARE(b->receivedReplies(), 1);
    delete c;
    delete b;
}

void tst_ClusterApi::joinsOnce()
{
    const quint16 port = m_node->clusterPort();
    QVERIFY(!m_node->listenCluster(options()));
    QCOMPARE(m_node->error(), Plexus::Node::AlreadyStartedError);
    QVERIFY2(m_node->errorString().contains(QString::number(port)), qPrintable(m_node->errorString()));
    QCOMPARE(m_node->clusterPort(), port);   // still in the first one
}

void tst_ClusterApi::badPeerUrls_data()
{
    QTest::addColumn<QString>("url");
    QTest::newRow("another scheme") << u"http://127.0.0.1:7400"_s;
    QTest::newRow("no port") << u"tcp://127.0.0.1"_s;
    QTest::newRow("no host") << u"tcp://:7400"_s;
    QTest::newRow("a path") << u"tcp://127.0.0.1:7400/x"_s;
    QTest::newRow("a query") << u"tcp://127.0.0.1:7400?a=b"_s;
    QTest::newRow("not a URL") << u"127.0.0.1:7400"_s;
    QTest::newRow("empty") << QString();
}

void tst_ClusterApi::badPeerUrls()
{
    QFETCH(QString, url);
    QVERIFY(!m_node->connectToPeer(QUrl(url)));
    QCOMPARE(m_node->error(), Plexus::Node::ClusterAddressError);
    QVERIFY2(m_node->errorString().contains(u"tcp://host:port"_s), qPrintable(m_node->errorString()));
}

void tst_ClusterApi::peerInfoDebug()
{
    Plexus::PeerInfo p;
    QVERIFY(!p.isValid());
    p.setMachineId(0xabc);
    p.setAddress(u"tcp://10.77.0.2:7400"_s);
    p.setVersion(u"0.1.0"_s);
    p.setRoundTripMs(0.25);
    QVERIFY(p.isValid());
    QString text;
    QDebug(&text) << p;
    QCOMPARE(text, u"PeerInfo(abc, \"tcp://10.77.0.2:7400\", v\"0.1.0\", rtt 0.25 ms) "_s);
}

void tst_ClusterApi::shutdownLeaves()
{
    m_node->shutdown(1000);
    QVERIFY(!m_node->isInCluster());
    QCOMPARE(m_node->clusterPort(), quint16(0));
    Plexus::Reply *c = Plexus::cluster({.opcode = 0x4242, .reply = true});
    c->setAutoDelete(false);
    QTRY_VERIFY(c->isFinished());
    QVERIFY(c->error() != Plexus::Reply::NoError);
    delete c;
}

QTEST_GUILESS_MAIN(tst_ClusterApi)
#include "tst_clusterapi.moc"
