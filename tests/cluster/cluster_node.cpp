// SPDX-License-Identifier: MIT
//
// One machine of the multi-host cluster tests: a Plexus master with forked workers that
// joins a cluster and is driven by tst_cluster through its stdin. It uses the public API
// only, as an application would.
//
//   cluster_node --tag T [--port P] [--announce HOST:PORT]... [--peer tcp://HOST:PORT]...
//                [--no-broadcast] [--heartbeat MS] [--dead MS] [--announce-interval MS]
//                [--reconnect-max MS] -w N          (the secret comes from SECRET)
//
// Lines on stdout (one write each, so the processes' lines never interleave):
//   READY <tag> <machine> <port>          the master joined the cluster
//   JOINFAIL <tag> <error> <text>         listenCluster() refused
//   PEERUP <tag> <machine> / PEERDOWN <tag> <machine>
//   SECURITY <tag> <reason> <peer>        something was rejected
//   RECV <tag> <pid> <slot> <call id> <origin machine>    an OpProbe ran here
//   RESULT <id> <tag> <pid> <error> <count> <sorted replies>  a call finished
//   PEERS <tag> <count> <machines>        answer to "peers"
// Commands on the master's stdin: "<verb> <id>" with verb broadcast, others, cluster (run
// by the master), or wbroadcast, wothers, wcluster (run by worker slot 0), each also as
// hold-<verb> (an op-code that every process of host h3 receives and never answers);
// "peers"; "quit".

#include <plexus/plexus.h>

#include <QtCore/qcommandlineparser.h>
#include <QtCore/qcoreapplication.h>
#include <QtCore/qsocketnotifier.h>
#include <QtCore/qtimer.h>
#include <QtCore/qurl.h>

#include <algorithm>
#include <memory>

#include <unistd.h>

using namespace Qt::StringLiterals;

namespace {

constexpr quint32 OpProbe = 0x100;
constexpr quint32 OpHold = 0x101;    // like OpProbe, but host h3 keeps it unanswered
constexpr quint32 TypeCommand = 7;   // master -> worker: run this command

QByteArray g_tag = "?";

void out(const QByteArray &line)
{
    const QByteArray l = line + '\n';
    qsizetype done = 0;
    while (done < l.size()) {
        const ssize_t n = ::write(STDOUT_FILENO, l.constData() + done, size_t(l.size() - done));
        if (n <= 0)
            return;
        done += n;
    }
}

QByteArray num(qint64 v) { return QByteArray::number(v); }
QByteArray hex(quint64 v) { return QByteArray::number(v, 16); }

void onProbe(const Plexus::Message &m)
{
    Plexus::Node *node = Plexus::Node::instance();
    out("RECV " + g_tag + ' ' + num(node->pid()) + ' ' + num(node->workerSlot()) + ' '
        + m.data().toByteArray() + ' ' + hex(m.sender().machineId()));
    Plexus::reply(m, {.data = {g_tag + ':' + num(node->pid())}, .done = true});
}

// Requests that host h3 holds: they are answered only if it lives (it is killed instead).
QList<Plexus::Message> g_held;

void onHold(const Plexus::Message &m)
{
    if (g_tag != "h3") {
        onProbe(m);
        return;
    }
    Plexus::Node *node = Plexus::Node::instance();
    out("RECV " + g_tag + ' ' + num(node->pid()) + ' ' + num(node->workerSlot()) + ' '
        + m.data().toByteArray() + ' ' + hex(m.sender().machineId()));
    g_held.append(m);
}

void runCall(QByteArray verb, const QByteArray &id)
{
    const bool hold = verb.startsWith("hold-");
    if (hold)
        verb = verb.mid(5);
    Plexus::CallArgs args{.opcode = hold ? OpHold : OpProbe, .data = {id}, .timeout = 15000,
                          .reply = true};
    args.others = verb == "others";
    Plexus::Reply *reply = verb == "cluster" ? Plexus::cluster(args) : Plexus::broadcast(args);
    auto got = std::make_shared<QList<QByteArray>>();
    QObject::connect(reply, &Plexus::Reply::replyReceived, reply, [got](const Plexus::Message &m) {
        got->append(m.isError() ? QByteArray("error") : m.data().toByteArray());
    });
    QObject::connect(reply, &Plexus::Reply::finished, reply, [reply, got, id] {
        std::sort(got->begin(), got->end());
        out("RESULT " + id + ' ' + g_tag + ' ' + num(Plexus::Node::instance()->pid()) + ' '
            + num(int(reply->error())) + ' ' + num(got->size()) + ' ' + got->join(','));
    });
}

void onCommand(const Plexus::Message &m, const Plexus::WorkerInfo &, void *, void **)
{
    const QList<QByteArray> parts = m.data().toByteArray().split(' ');
    if (parts.size() == 2)
        runCall(parts[0], parts[1]);
}

void masterCommand(Plexus::Node &node, const QByteArray &line)
{
    const QList<QByteArray> parts = line.trimmed().split(' ');
    const QByteArray verb = parts.value(0);
    if (verb == "quit") {
        QCoreApplication::quit();
    } else if (verb == "peers") {
        QByteArrayList machines;
        for (const Plexus::PeerInfo &p : node.peers())
            machines.append(hex(p.machineId()));
        out("PEERS " + g_tag + ' ' + num(machines.size()) + ' ' + machines.join(','));
    } else if (parts.size() == 2 && verb.startsWith('w')) {
        const QList<Plexus::WorkerInfo> workers = node.workers();
        const auto w = std::find_if(workers.begin(), workers.end(),
                                    [](const Plexus::WorkerInfo &i) { return i.slot() == 0; });
        if (w != workers.end())
            node.sendToWorker(*w, TypeCommand, {verb.mid(1) + ' ' + parts[1]});
    } else if (parts.size() == 2) {
        runCall(verb, parts[1]);
    }
}

} // namespace

int main(int argc, char **argv)
{
    return Plexus::exec(argc, argv, {.workers = 2}, [](Plexus::Node &node) {
        QCommandLineParser parser;
        parser.addOptions({{u"tag"_s, u"name"_s, u"tag"_s},
                           {u"port"_s, u"port"_s, u"port"_s, u"0"_s},
                           {u"announce"_s, u"extra announce address"_s, u"host:port"_s},
                           {u"peer"_s, u"manual peer"_s, u"url"_s},
                           {u"no-broadcast"_s, u"announce to --announce only"_s},
                           {u"heartbeat"_s, u"ms"_s, u"ms"_s, u"1000"_s},
                           {u"dead"_s, u"ms"_s, u"ms"_s, u"4000"_s},
                           {u"announce-interval"_s, u"ms"_s, u"ms"_s, u"2000"_s},
                           {u"reconnect-max"_s, u"ms"_s, u"ms"_s, u"30000"_s},
                           {u"run"_s, u"a token that names this test run"_s, u"token"_s},
                           {u"cluster-url"_s, u"the cluster engine's URL"_s, u"url"_s}});
        parser.process(QCoreApplication::arguments());
        g_tag = parser.value(u"tag"_s).toUtf8();
        node.handle(OpProbe, &node, onProbe);
        node.handle(OpHold, &node, onHold);
        if (!node.isMaster()) {
            Plexus::setWorkerHandler(TypeCommand, onCommand, nullptr);
            return;
        }
        Plexus::ClusterOptions options;
        options.port = quint16(parser.value(u"port"_s).toUInt());
        options.url = parser.value(u"cluster-url"_s);
        options.mesh.broadcast = !parser.isSet(u"no-broadcast"_s);
        options.heartbeatIntervalMs = parser.value(u"heartbeat"_s).toInt();
        options.deadAfterMs = parser.value(u"dead"_s).toInt();
        options.mesh.announceIntervalMs = parser.value(u"announce-interval"_s).toInt();
        options.mesh.reconnectMaxMs = parser.value(u"reconnect-max"_s).toInt();
        for (const QString &a : parser.values(u"announce"_s)) {
            const qsizetype colon = a.lastIndexOf(u':');
            options.mesh.announceTo.append({QHostAddress(a.left(colon)), quint16(a.mid(colon + 1).toUInt())});
        }
        QObject::connect(&node, &Plexus::Node::peerConnected, &node, [](const Plexus::PeerInfo &p) {
            out("PEERUP " + g_tag + ' ' + hex(p.machineId()));
        });
        QObject::connect(&node, &Plexus::Node::peerDisconnected, &node, [](const Plexus::PeerInfo &p) {
            out("PEERDOWN " + g_tag + ' ' + hex(p.machineId()));
        });
        QObject::connect(&node, &Plexus::Node::securityEvent, &node,
                         [](Plexus::FrameError reason, const QString &peer) {
            out("SECURITY " + g_tag + ' ' + num(int(reason)) + ' ' + peer.toUtf8());
        });
        if (!node.listenCluster(options)) {
            out("JOINFAIL " + g_tag + ' ' + num(node.error()) + ' ' + node.errorString().toUtf8());
            QMetaObject::invokeMethod(&node, [] { QCoreApplication::exit(3); }, Qt::QueuedConnection);
            return;
        }
        for (const QString &peer : parser.values(u"peer"_s))
            node.connectToPeer(QUrl(peer));
        auto *input = new QSocketNotifier(STDIN_FILENO, QSocketNotifier::Read, &node);
        auto buffer = std::make_shared<QByteArray>();
        QObject::connect(input, &QSocketNotifier::activated, &node, [&node, input, buffer] {
            char chunk[4096];
            const ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
            if (n <= 0) {   // the test went away: stop
                input->setEnabled(false);
                QCoreApplication::quit();
                return;
            }
            buffer->append(chunk, n);
            qsizetype nl;
            while ((nl = buffer->indexOf('\n')) >= 0) {
                const QByteArray line = buffer->left(nl);
                buffer->remove(0, nl + 1);
                masterCommand(node, line);
            }
        });
        out("READY " + g_tag + ' ' + hex(node.machineId()) + ' ' + num(node.clusterPort()));
    });
}
