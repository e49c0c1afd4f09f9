// SPDX-License-Identifier: MIT
//
// The processes of tst_introspection, public API only.
//
// As a master (the default): 2 forked workers, op-code OpEcho named "echo", a cluster port
// on loopback. The secret comes from SECRET.
//   introspection_node [--remote-control] [--no-trace] [--trace-interval MS]
//                      [--trace-max-queued BYTES] [--trace-samples N] [--trace-payload N]
//                      [--slow-stop MS]   (workers take MS to shut down)
// Prints "READY <machine hex> <port> <worker pids, comma-separated>" once its workers run,
// "EXIT <pid> <ExitReason>" for every worker exit, "PEER <machine hex>" and
// "MONITOR <machine hex>" for peerConnected and monitorConnected, then runs these
// commands from stdin:
//   flood N      every worker sends N OpFlood calls (fire-and-forget) to the master
//   cluster ID   the master calls cluster() with OpEcho; prints "RESULT ID <error> <count>"
//   workers      prints "WORKERS <pids>"
//   peers        prints "PEERS <Node::peers() count> MONITORS <Node::monitors() count>"
// As a monitor that subscribes to a trace and then never reads (the test stops it):
//   introspection_node --subscribe tcp://127.0.0.1:PORT
// Prints "SUBSCRIBED" when the first batch has arrived.

#include <plexus/plexus.h>

#include <QtCore/qcommandlineparser.h>
#include <QtCore/qcoreapplication.h>
#include <QtCore/qmetaobject.h>
#include <QtCore/qsocketnotifier.h>
#include <QtCore/qstringlist.h>
#include <QtCore/qurl.h>

#include <cstdio>
#include <memory>

#include <unistd.h>

using namespace Qt::StringLiterals;

namespace {

constexpr quint32 OpEcho = 0x100;
constexpr quint32 OpFlood = 0x101;   // fire-and-forget, never answered
constexpr quint32 TypeFlood = 9;   // master -> worker: send N echo calls

// Takes a while to destroy (--slow-stop).
class SlowCleanup : public QObject
{
public:
    SlowCleanup(int ms, QObject *parent) : QObject(parent), m_ms(ms) { }
    ~SlowCleanup() override { ::usleep(useconds_t(m_ms) * 1000); }

private:
    int m_ms;
};

void out(const QByteArray &line)
{
    const QByteArray l = line + '\n';
    std::fputs(l.constData(), stdout);
    std::fflush(stdout);
}

void onEcho(const Plexus::Message &m)
{
    Plexus::reply(m, {.data = {m.data()}, .done = true});
}

void onFlood(const Plexus::Message &m, const Plexus::WorkerInfo &, void *, void **)
{
    const int n = m.data().toByteArray().toInt();
    for (int i = 0; i < n; ++i)
        Plexus::call({.opcode = OpFlood, .data = {"flood"}});
}

QByteArray workerPids(const Plexus::Node &node)
{
    QByteArrayList pids;
    for (const Plexus::WorkerInfo &w : node.workers()) {
        if (w.state() == Plexus::WorkerInfo::Running)
            pids.append(QByteArray::number(w.pid()));
    }
    return pids.join(',');
}

void command(Plexus::Node &node, const QByteArray &line)
{
    const QList<QByteArray> parts = line.trimmed().split(' ');
    if (parts.value(0) == "flood") {
        for (const Plexus::WorkerInfo &w : node.workers())
            node.sendToWorker(w, TypeFlood, {parts.value(1)});
    } else if (parts.value(0) == "workers") {
        out("WORKERS " + workerPids(node));
    } else if (parts.value(0) == "peers") {
        out("PEERS " + QByteArray::number(node.peers().size()) + " MONITORS "
            + QByteArray::number(node.monitors().size()));
    } else if (parts.value(0) == "cluster") {
        const QByteArray id = parts.value(1);
        Plexus::Reply *r = Plexus::cluster({.opcode = OpEcho, .data = {id}, .timeout = 5000, .reply = true});
        auto count = std::make_shared<int>(0);
        QObject::connect(r, &Plexus::Reply::replyReceived, r, [count] { ++*count; });
        QObject::connect(r, &Plexus::Reply::finished, r, [r, id, count] {
            out("RESULT " + id + ' ' + QByteArray::number(int(r->error())) + ' '
                + QByteArray::number(*count));
        });
    }
}

void readCommands(Plexus::Node &node)
{
    auto *input = new QSocketNotifier(STDIN_FILENO, QSocketNotifier::Read, &node);
    auto buffer = std::make_shared<QByteArray>();
    QObject::connect(input, &QSocketNotifier::activated, &node, [&node, input, buffer] {
        char chunk[1024];
        const ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
        if (n <= 0) {   // the test went away
            input->setEnabled(false);
            QCoreApplication::quit();
            return;
        }
        buffer->append(chunk, n);
        qsizetype nl;
        while ((nl = buffer->indexOf('\n')) >= 0) {
            command(node, buffer->left(nl));
            buffer->remove(0, nl + 1);
        }
    });
}

int runSubscriber(int argc, char **argv, const QUrl &master)
{
    QCoreApplication app(argc, argv);
    Plexus::Node node(Plexus::Node::Peer);
    if (!node.start() || !node.listenCluster(Plexus::ClusterOptions{}) || !node.connectToPeer(master)) {
        std::fprintf(stderr, "%s\n", qPrintable(node.errorString()));
        return 2;
    }
    QObject::connect(&node, &Plexus::Node::peerConnected, &node, [](const Plexus::PeerInfo &p) {
        const Plexus::Message request = Plexus::newMessage(
                {.opcode = Plexus::Introspection::TraceOpcode, .reply = true});
        Plexus::Reply *r = Plexus::sendTo(Plexus::Sender(p.machineId(), 0, -1), request);
        r->setAutoDelete(false);
        QObject::connect(r, &Plexus::Reply::replyReceived, r, [r] {
            out("SUBSCRIBED");
            QObject::disconnect(r, &Plexus::Reply::replyReceived, nullptr, nullptr);
        });
    });
    return app.exec();
}

} // namespace

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; ++i) {
        if (qstrcmp(argv[i], "--subscribe") == 0)
            return runSubscriber(argc, argv, QUrl(QString::fromLocal8Bit(argv[i + 1])));
    }
    return Plexus::exec(argc, argv, {.workers = 2}, [](Plexus::Node &node) {
        Plexus::setOpcodeName(OpEcho, u"echo"_s);
        Plexus::setOpcodeName(OpFlood, u"flood"_s);
        node.handle(OpEcho, &node, onEcho);
        node.handle(OpFlood, &node, [](const Plexus::Message &) { });
        if (node.isWorker()) {
            Plexus::setWorkerHandler(TypeFlood, onFlood, nullptr);
            // --slow-stop MS: a worker whose shutdown takes that long after its Node (and
            // so its link) is gone, as a program's own cleanup can: an object of the
            // application's that takes MS to destroy.
            const QStringList args = QCoreApplication::arguments();
            const qsizetype slow = args.indexOf(u"--slow-stop"_s);
            if (slow >= 0 && slow + 1 < args.size())
                new SlowCleanup(args.at(slow + 1).toInt(), qApp);
            return;
        }
        QCommandLineParser parser;
        parser.addOptions({{u"remote-control"_s, u"allow control actions"_s},
                           {u"no-trace"_s, u"refuse trace subscriptions"_s},
                           {u"trace-interval"_s, u"ms"_s, u"ms"_s, u"250"_s},
                           {u"trace-max-queued"_s, u"bytes"_s, u"bytes"_s, u"262144"_s},
                           {u"trace-samples"_s, u"n"_s, u"n"_s, u"64"_s},
                           {u"trace-payload"_s, u"bytes"_s, u"bytes"_s, u"0"_s},
                           {u"slow-stop"_s, u"a worker's shutdown takes this long"_s, u"ms"_s, u"0"_s}});
        parser.process(QCoreApplication::arguments());
        node.setIntrospection({.trace = !parser.isSet(u"no-trace"_s),
                               .remoteControl = parser.isSet(u"remote-control"_s),
                               .tracePayloadBytes = parser.value(u"trace-payload"_s).toInt(),
                               .traceIntervalMs = parser.value(u"trace-interval"_s).toInt(),
                               .traceSamples = parser.value(u"trace-samples"_s).toInt(),
                               .traceMaxQueuedBytes = parser.value(u"trace-max-queued"_s).toInt()});
        Plexus::ClusterOptions options;
        options.mesh.bindAddress = QHostAddress::LocalHost;
        options.mesh.broadcast = false;
        if (!node.listenCluster(options)) {
            std::fprintf(stderr, "%s\n", qPrintable(node.errorString()));
            QMetaObject::invokeMethod(&node, [] { QCoreApplication::exit(2); }, Qt::QueuedConnection);
            return;
        }
        QObject::connect(&node, &Plexus::Node::workerExited, &node,
                         [](const Plexus::WorkerInfo &w, Plexus::WorkerInfo::ExitReason reason) {
            out("EXIT " + QByteArray::number(w.pid()) + ' '
                + QMetaEnum::fromType<Plexus::WorkerInfo::ExitReason>().valueToKey(reason));
        });
        QObject::connect(&node, &Plexus::Node::peerConnected, &node, [](const Plexus::PeerInfo &p) {
            out("PEER " + QByteArray::number(p.machineId(), 16));
        });
        QObject::connect(&node, &Plexus::Node::monitorConnected, &node, [](const Plexus::PeerInfo &p) {
            out("MONITOR " + QByteArray::number(p.machineId(), 16));
        });
        QObject::connect(&node, &Plexus::Node::workersReady, &node, [&node] {
            out("READY " + QByteArray::number(node.machineId(), 16) + ' '
                + QByteArray::number(node.clusterPort()) + ' ' + workerPids(node));
        });
        readCommands(node);
    });
}
