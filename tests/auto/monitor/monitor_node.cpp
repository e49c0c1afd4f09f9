// SPDX-License-Identifier: MIT
//
// One machine of tst_monitor: a Plexus master with forked workers that joins a cluster on
// loopback, optionally allows remote control, and keeps traffic going: every worker calls
// op-code OpPing on its master every --traffic ms. Public API only, like an application.
//
//   monitor_node --tag T --run TOKEN [--port P] [--announce HOST:PORT]... [--remote-control]
//                [--traffic MS] [--lifetime MS] -w N        (the secret comes from SECRET)
//
// Lines on stdout (one write each):
//   READY <tag> <machine hex> <port>         the master joined the cluster
//   JOINFAIL <tag> <text>                    listenCluster() refused
//   WORKERS <tag> <pid>,<pid>,...            the running workers, on every change
//   SINK <tag> <pid> <data>                  op-code OpSink ran in this process
// Commands on stdin: "quit". The node quits when stdin closes or after --lifetime ms.

#include <plexus/plexus.h>
#include <plexus/introspection.h>

#include <QtCore/qcommandlineparser.h>
#include <QtCore/qcoreapplication.h>
#include <QtCore/qsocketnotifier.h>
#include <QtCore/qtimer.h>

#include <algorithm>

#include <unistd.h>

using namespace Qt::StringLiterals;

namespace {

constexpr quint32 OpPing = 0x100;
constexpr quint32 OpSink = 0x101;

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

void printWorkers(const Plexus::Node &node)
{
    QList<qint64> pids;
    for (const Plexus::WorkerInfo &w : node.workers()) {
        if (w.state() == Plexus::WorkerInfo::Running && w.pid() > 0)
            pids.append(w.pid());
    }
    std::sort(pids.begin(), pids.end());
    QByteArrayList text;
    for (qint64 pid : pids)
        text.append(QByteArray::number(pid));
    out("WORKERS " + g_tag + ' ' + text.join(','));
}

} // namespace

int main(int argc, char **argv)
{
    return Plexus::exec(argc, argv, {.workers = 2}, [](Plexus::Node &node) {
        QCommandLineParser parser;
        parser.addOptions({{u"tag"_s, u"name"_s, u"tag"_s},
                           {u"run"_s, u"a token that names this test run"_s, u"token"_s},
                           {u"port"_s, u"cluster port"_s, u"port"_s, u"0"_s},
                           {u"announce"_s, u"extra announce address"_s, u"host:port"_s},
                           {u"cluster-url"_s, u"the cluster engine's URL (nats://...)"_s, u"url"_s},
                           {u"remote-control"_s, u"allow control actions"_s},
                           {u"traffic"_s, u"ms between a worker's calls"_s, u"ms"_s, u"20"_s},
                           {u"lifetime"_s, u"ms before quitting"_s, u"ms"_s, u"180000"_s}});
        parser.process(QCoreApplication::arguments());
        g_tag = parser.value(u"tag"_s).toUtf8();

        Plexus::setOpcodeName(OpPing, u"test.ping"_s);
        Plexus::setOpcodeName(OpSink, u"test.sink"_s);
        node.handle(OpPing, &node, [](const Plexus::Message &m) {
            Plexus::reply(m, {.data = {"pong"}, .done = true});
        });
        node.handle(OpSink, &node, [](const Plexus::Message &m) {
            out("SINK " + g_tag + ' ' + QByteArray::number(Plexus::Node::instance()->pid()) + ' '
                + m.data().toByteArray());
        });

        if (node.isWorker()) {
            auto *traffic = new QTimer(&node);
            traffic->callOnTimeout(&node, [] {
                Plexus::call({.opcode = OpPing, .data = {"ping"}, .timeout = 5000});
            });
            traffic->start(parser.value(u"traffic"_s).toInt());
            return;
        }

        QTimer::singleShot(parser.value(u"lifetime"_s).toInt(), &node, [] { QCoreApplication::quit(); });
        if (parser.isSet(u"remote-control"_s))
            node.setIntrospection({.remoteControl = true});
        QObject::connect(&node, &Plexus::Node::workerStarted, &node,
                         [&node](const Plexus::WorkerInfo &) { printWorkers(node); });
        QObject::connect(&node, &Plexus::Node::workerExited, &node,
                         [&node](const Plexus::WorkerInfo &, Plexus::WorkerInfo::ExitReason) {
                             printWorkers(node);
                         });

        Plexus::ClusterOptions options;
        options.port = quint16(parser.value(u"port"_s).toUInt());
        options.mesh.broadcast = false;   // loopback: announce to the given ports only
        options.mesh.announceIntervalMs = 500;
        options.heartbeatIntervalMs = 250;
        options.deadAfterMs = 1500;
        options.mesh.reconnectMaxMs = 1000;
        options.url = parser.value(u"cluster-url"_s);   // empty: the mesh
        for (const QString &a : parser.values(u"announce"_s)) {
            const qsizetype colon = a.lastIndexOf(u':');
            options.mesh.announceTo.append({QHostAddress(a.left(colon)), quint16(a.mid(colon + 1).toUInt())});
        }
        if (!node.listenCluster(options)) {
            out("JOINFAIL " + g_tag + ' ' + node.errorString().toUtf8());
            QMetaObject::invokeMethod(&node, [] { QCoreApplication::exit(3); }, Qt::QueuedConnection);
            return;
        }
        auto *input = new QSocketNotifier(STDIN_FILENO, QSocketNotifier::Read, &node);
        QObject::connect(input, &QSocketNotifier::activated, &node, [input] {
            char chunk[256];
            const ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
            if (n <= 0 || QByteArray(chunk, int(n)).contains("quit")) {
                input->setEnabled(false);
                QCoreApplication::quit();
            }
        });
        out("READY " + g_tag + ' ' + QByteArray::number(node.machineId(), 16) + ' '
            + QByteArray::number(node.clusterPort()));
        printWorkers(node);
    });
}
