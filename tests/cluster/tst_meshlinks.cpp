// SPDX-License-Identifier: MIT
//
// How the mesh links machines that hear of each other in odd ways, on loopback (several
// nodes on one host, told apart by port): only one side announcing to the other, a ring of
// one-way announcements, two masters dialing each other at the same moment. Each node is
// cluster_node (master only) run through the shared helper-process harness.

#include "helperprocess.h"
#include "testhosts.h"

#include <QtCore/qset.h>
#include <QtCore/quuid.h>
#include <QtTest/qtest.h>

#include <memory>

using namespace Qt::StringLiterals;
using TestSupport::HelperProcess;

namespace {
constexpr int LinkTimeoutMs = 15000;
const QByteArray Secret = "tst_meshlinks secret";
} // namespace

class tst_MeshLinks : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void oneWayAnnouncementLinks_data();
    void oneWayAnnouncementLinks();
    void ringOfOneWayAnnouncementsLinksEveryPair();
    void simultaneousDialsSignalOncePerMachine();

private:
    struct Node {
        std::unique_ptr<HelperProcess> process;
        QString tag;
        quint16 port = 0;
        quint64 machine = 0;
    };
    // Starts cluster_node "tag" on \a port with the extra arguments; waits for READY.
    Node *startNode(const QString &tag, quint16 port, const QStringList &extra);
    static int linesOf(const Node *n, const QString &tag);
    static bool linkedTo(const Node *n, const Node *other);
    QString dumpAll() const;

    std::vector<std::unique_ptr<Node>> m_nodes;
};

void tst_MeshLinks::init()
{
    m_nodes.clear();
}

void tst_MeshLinks::cleanup()
{
    m_nodes.clear();   // every helper is stopped (SIGTERM, then SIGKILL) by its destructor
}

tst_MeshLinks::Node *tst_MeshLinks::startNode(const QString &tag, quint16 port, const QStringList &extra)
{
    auto node = std::make_unique<Node>();
    node->tag = tag;
    node->port = port;
    node->process = std::make_unique<HelperProcess>();
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(u"SECRET"_s, QString::fromLatin1(Secret));
    node->process->setEnvironment(env);
    const QStringList args = QStringList{u"--tag"_s, tag, u"--port"_s, QString::number(port),
                                         u"--no-broadcast"_s, u"-w"_s, u"0"_s,
                                         u"--announce-interval"_s, u"200"_s,
                                         u"--heartbeat"_s, u"250"_s, u"--dead"_s, u"1500"_s,
                                         u"--reconnect-max"_s, u"1000"_s}
            + extra;
    if (!node->process->start(QStringLiteral(CLUSTER_NODE_PATH), args)
        || !node->process->waitForLine(u"READY"_s, {}, 10000)) {
        qWarning("%s", qPrintable(node->process->dump(u"READY"_s)));
        return nullptr;
    }
    node->machine = node->process->first(u"READY"_s).word(1).toULongLong(nullptr, 16);
    m_nodes.push_back(std::move(node));
    return m_nodes.back().get();
}

int tst_MeshLinks::linesOf(const Node *n, const QString &tag)
{
    return n->process->count(tag);
}

bool tst_MeshLinks::linkedTo(const Node *n, const Node *other)
{
    const QString id = QString::number(other->machine, 16);
    for (const TestSupport::Line &l : n->process->find(u"PEERUP"_s)) {
        if (l.word(1) == id)
            return true;
    }
    return false;
}

QString tst_MeshLinks::dumpAll() const
{
    QString out;
    for (const auto &n : m_nodes)
        out += u"[%1, machine %2]\n"_s.arg(n->tag).arg(n->machine, 0, 16) + n->process->dump();
    return out;
}

void tst_MeshLinks::oneWayAnnouncementLinks_data()
{
    QTest::addColumn<bool>("hearerLarger");
    // Only the larger id hears the smaller one: before the fix it waited for a dial that
    // never came (4 links in 6 tries).
    QTest::newRow("the larger id hears the smaller") << true;
    QTest::newRow("the smaller id hears the larger") << false;
}

void tst_MeshLinks::oneWayAnnouncementLinks()
{
    // Regression (issue 17.5): A only announces to B (B hears A, A never hears B). Whoever
    // learns of a peer first makes sure a link comes up.
    QFETCH(bool, hearerLarger);
    for (int attempt = 0; attempt < 3; ++attempt) {
        // Machine ids are random: B (the hearer) is restarted until its id is in the middle
        // of the range, then A (the announcer) until the order is the one this row tests.
        const quint64 quarter = quint64(1) << 62;
        const quint16 portB = TestHosts::freePort();
        Node *b = nullptr;
        for (int tries = 0; tries < 64 && !b; ++tries) {
            b = startNode(u"B%1"_s.arg(attempt), portB, {});
            QVERIFY(b);
            if (b->machine < quarter || b->machine >= 3 * quarter) {
                m_nodes.pop_back();
                b = nullptr;
            }
        }
        QVERIFY(b);
        Node *a = nullptr;
        for (int tries = 0; tries < 64 && !a; ++tries) {
            a = startNode(u"A%1"_s.arg(attempt), TestHosts::freePort(),
                          {u"--announce"_s, u"127.0.0.1:%1"_s.arg(portB)});
            QVERIFY(a);
            if ((b->machine > a->machine) != hearerLarger) {
                m_nodes.pop_back();
                a = nullptr;
            }
        }
        QVERIFY(a);
        if (!HelperProcess::waitFor([&] { return linkedTo(a, b) && linkedTo(b, a); }, LinkTimeoutMs))
            QFAIL(qPrintable(u"no link between A and B:\n"_s + dumpAll()));
        QCOMPARE(linesOf(a, u"PEERUP"_s), 1);
        // B may have linked to an A that was restarted meanwhile: count this A only.
        const QString idA = QString::number(a->machine, 16);
        int upToA = 0;
        for (const TestSupport::Line &l : b->process->find(u"PEERUP"_s))
            upToA += l.word(1) == idA;
        QCOMPARE(upToA, 1);
        m_nodes.clear();
    }
}

void tst_MeshLinks::ringOfOneWayAnnouncementsLinksEveryPair()
{
    // Regression (issue 17.5): A announces to B, B to C, C to A: each hears one other
    // node, and A-C stayed unlinked. Every pair links.
    const quint16 ports[3] = {TestHosts::freePort(), TestHosts::freePort(), TestHosts::freePort()};
    QVERIFY(ports[0] && ports[1] && ports[2]);
    Node *nodes[3];
    for (int i = 0; i < 3; ++i) {
        nodes[i] = startNode(QString(QChar(u'A' + i)), ports[i],
                             {u"--announce"_s, u"127.0.0.1:%1"_s.arg(ports[(i + 1) % 3])});
        QVERIFY(nodes[i]);
    }
    const auto allLinked = [&] {
        for (int i = 0; i < 3; ++i) {
            for (int j = 0; j < 3; ++j) {
                if (i != j && !linkedTo(nodes[i], nodes[j]))
                    return false;
            }
        }
        return true;
    };
    if (!HelperProcess::waitFor(allLinked, LinkTimeoutMs))
        QFAIL(qPrintable(u"the ring did not link every pair:\n"_s + dumpAll()));
    for (Node *n : nodes)
        QCOMPARE(linesOf(n, u"PEERUP"_s), 2);
}

void tst_MeshLinks::simultaneousDialsSignalOncePerMachine()
{
    // Regression (issue 17.5): two masters that dial each other within milliseconds
    // (connectToPeer both ways, no discovery) ended with one link, but the larger id
    // emitted peerConnected twice with nothing between, and later one peerDisconnected:
    // an application counting signals believed the peer was still there. The signals are
    // per machine, whatever happens to the links under them.
    for (int attempt = 0; attempt < 5; ++attempt) {
        const quint16 portA = TestHosts::freePort();
        const quint16 portB = TestHosts::freePort();
        QVERIFY(portA && portB && portA != portB);
        Node *a = startNode(u"A%1"_s.arg(attempt), portA, {u"--peer"_s, u"tcp://127.0.0.1:%1"_s.arg(portB)});
        Node *b = startNode(u"B%1"_s.arg(attempt), portB, {u"--peer"_s, u"tcp://127.0.0.1:%1"_s.arg(portA)});
        QVERIFY(a && b);
        if (!HelperProcess::waitFor([&] { return linkedTo(a, b) && linkedTo(b, a); }, LinkTimeoutMs))
            QFAIL(qPrintable(u"no link:\n"_s + dumpAll()));
        // A call each way: both dials have been through their handshakes by the time the
        // answers are back, so a second connection would have been reported.
        a->process->send("cluster a" + QByteArray::number(attempt));
        b->process->send("cluster b" + QByteArray::number(attempt));
        QVERIFY2(HelperProcess::waitFor([&] {
            return a->process->has(u"RESULT"_s) && b->process->has(u"RESULT"_s);
        }, LinkTimeoutMs), qPrintable(dumpAll()));
        QCOMPARE(a->process->first(u"RESULT"_s).word(3), u"0"_s);   // NoError
        QCOMPARE(b->process->first(u"RESULT"_s).word(3), u"0"_s);
        QVERIFY2(linesOf(a, u"PEERUP"_s) == 1 && linesOf(b, u"PEERUP"_s) == 1, qPrintable(dumpAll()));
        QVERIFY2(linesOf(a, u"PEERDOWN"_s) == 0 && linesOf(b, u"PEERDOWN"_s) == 0, qPrintable(dumpAll()));
        // B goes: A says so exactly once.
        b->process->stop();
        QVERIFY2(a->process->waitForLine(u"PEERDOWN"_s, {}, LinkTimeoutMs), qPrintable(dumpAll()));
        QCOMPARE(linesOf(a, u"PEERUP"_s), 1);
        QCOMPARE(linesOf(a, u"PEERDOWN"_s), 1);
        m_nodes.clear();
    }
}

QTEST_GUILESS_MAIN(tst_MeshLinks)
#include "tst_meshlinks.moc"
