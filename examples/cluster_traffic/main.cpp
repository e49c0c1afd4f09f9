// SPDX-License-Identifier: MIT
//
// A machine of a cluster that keeps some traffic going, for watching it in plexus-monitor
// or plexusctl (scripts/demo.sh starts two of these).
//
//   SECRET=s3cret plexus-cluster-traffic --port 7401 --peer tcp://127.0.0.1:7402 -w 2
//
// Every worker calls the master ("work", a streamed answer in 3 parts) and tells its
// siblings about a config change ("config", a local broadcast); the master tells every
// machine to drop a cache entry ("invalidate", a cluster broadcast) and pings the other
// masters ("ping"). Each op-code has a display name, which the monitor shows. With
// --remote-control the monitor may restart workers and send test messages.
//
// Options: --port N (cluster port, 0 = any), --peer tcp://host:port (repeatable),
// --announce host:port (repeatable), --rate N (calls per second per worker, default 20;
// 0 = flood: as fast as replies come back), --remote-control, --workers/-w N.
// Prints "READY <machine id in hex> <port>" once it has joined the cluster.

#include <plexus/plexus.h>

#include <QtCore/qcommandlineparser.h>
#include <QtCore/qcoreapplication.h>
#include <QtCore/qrandom.h>
#include <QtCore/qtimer.h>
#include <QtCore/qurl.h>

#include <cstdio>

using namespace Qt::StringLiterals;

namespace {

enum : quint32 { OpWork = 0x10, OpConfig = 0x11, OpInvalidate = 0x12, OpPing = 0x13 };

void onWork(const Plexus::Message &m)
{
    // A streamed answer: two partial replies, then the final one.
    Plexus::reply(m, {.data = {"part 1 of "_ba, m.data()}});
    Plexus::reply(m, {.data = {"part 2 of "_ba, m.data()}});
    Plexus::reply(m, {.data = {"done: "_ba, m.data()}, .done = true});
}

void onConfig(const Plexus::Message &) { }
void onInvalidate(const Plexus::Message &) { }

void onPing(const Plexus::Message &m)
{
    Plexus::reply(m, {.data = {"pong"}, .done = true});
}

// A worker's load: calls to the master at a steady rate, or back to back with --rate 0.
class WorkerLoad : public QObject
{
public:
    WorkerLoad(int rate, QObject *parent) : QObject(parent), m_rate(rate)
    {
        auto *timer = new QTimer(this);
        timer->setInterval(rate > 0 ? qMax(1, 1000 / rate) : 0);
        connect(timer, &QTimer::timeout, this, &WorkerLoad::tick);
        timer->start();
    }

private:
    void tick()
    {
        if (m_rate == 0 && m_inFlight > 64)
            return;   // flooding, but no faster than the answers come back
        const QByteArray n = QByteArray::number(++m_sent);
        ++m_inFlight;
        Plexus::Reply *r = Plexus::call({.opcode = OpWork, .data = {"job "_ba, n}, .timeout = 10000,
                                         .reply = true});
        connect(r, &Plexus::Reply::finished, this, [this] { --m_inFlight; });
        if (m_sent % 10 == 0)
            Plexus::local({.opcode = OpConfig, .others = true, .data = {"key=value "_ba, n}});
    }

    int m_rate;
    int m_inFlight = 0;
    quint64 m_sent = 0;
};

void addOptions(QCommandLineParser &parser)
{
    parser.setApplicationDescription(
            u"A master with 2 workers that keeps cluster traffic going, for the monitor. "
            "The cluster secret comes from SECRET."_s);
    parser.addOptions({{u"port"_s, u"cluster port"_s, u"port"_s, u"0"_s},
                       {u"peer"_s, u"a master to connect to"_s, u"tcp://host:port"_s},
                       {u"announce"_s, u"extra discovery target"_s, u"host:port"_s},
                       {u"nats"_s, u"meet the other machines on NATS"_s, u"nats://host:port[,...]"_s},
                       {u"rate"_s, u"calls per second per worker (0: flood)"_s, u"n"_s, u"20"_s},
                       {u"remote-control"_s, u"let monitors restart workers and send"_s}});
}

} // namespace

int main(int argc, char **argv)
{
    // --help before anything starts: it needs no SECRET and forks no worker.
    for (int i = 1; i < argc; ++i) {
        if (qstrcmp(argv[i], "--help") == 0 || qstrcmp(argv[i], "-h") == 0) {
            QCommandLineParser parser;
            addOptions(parser);
            parser.addHelpOption();
            std::printf("Usage: plexus-cluster-traffic [options]\n%s",
                        qPrintable(parser.helpText().section(u'\n', 1)));
            return 0;
        }
    }
    return Plexus::exec(argc, argv, {.workers = 2}, [](Plexus::Node &node) {
        Plexus::setOpcodeName(OpWork, u"work"_s);
        Plexus::setOpcodeName(OpConfig, u"config"_s);
        Plexus::setOpcodeName(OpInvalidate, u"invalidate"_s);
        Plexus::setOpcodeName(OpPing, u"ping"_s);
        node.handle(OpWork, &node, onWork);
        node.handle(OpConfig, &node, onConfig);
        node.handle(OpInvalidate, &node, onInvalidate);
        node.handle(OpPing, &node, onPing);

        QCommandLineParser parser;
        addOptions(parser);
        parser.parse(QCoreApplication::arguments());
        const int rate = parser.value(u"rate"_s).toInt();

        if (node.isWorker()) {
            new WorkerLoad(rate, &node);
            return;
        }
        node.setIntrospection({.remoteControl = parser.isSet(u"remote-control"_s)});
        Plexus::ClusterOptions options;
        options.port = quint16(parser.value(u"port"_s).toUInt());
        options.url = parser.value(u"nats"_s);   // empty: the mesh
        for (const QString &a : parser.values(u"announce"_s)) {
            const qsizetype colon = a.lastIndexOf(u':');
            options.mesh.announceTo.append({QHostAddress(a.left(colon)), quint16(a.mid(colon + 1).toUInt())});
        }
        if (!node.listenCluster(options)) {
            std::fprintf(stderr, "plexus-cluster-traffic: %s\n", qPrintable(node.errorString()));
            QMetaObject::invokeMethod(&node, [] { QCoreApplication::exit(2); }, Qt::QueuedConnection);
            return;
        }
        for (const QString &peer : parser.values(u"peer"_s))
            node.connectToPeer(QUrl(peer));
        std::printf("READY %llx %u\n", static_cast<unsigned long long>(node.machineId()),
                    unsigned(node.clusterPort()));
        std::fflush(stdout);

        // The master's own traffic: a cluster-wide invalidation and a ping of the other
        // masters, a few times a second.
        auto *timer = new QTimer(&node);
        timer->setInterval(250);
        QObject::connect(timer, &QTimer::timeout, &node, [] {
            const QByteArray key = "user:" + QByteArray::number(QRandomGenerator::global()->bounded(1000));
            Plexus::broadcast({.opcode = OpInvalidate, .others = true, .data = {key}});
            Plexus::cluster({.onDone = [](const Plexus::Message &) { }, .opcode = OpPing});
        });
        timer->start();
    });
}
