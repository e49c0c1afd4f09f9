// SPDX-License-Identifier: MIT
//
// Cluster-wide broadcast (facil.io's fio_ipc cluster example): cache invalidation reaches
// every process of every machine, a configuration update reaches the masters of the other
// machines only. Start it on two machines that share a secret:
//
//   SECRET=s3cret ./cluster_broadcast                       (machine A: serves)
//   SECRET=s3cret ./cluster_broadcast --send user:42        (machine B)
//
// or twice on one machine, with distinct ports that announce to each other:
//
//   SECRET=s3cret ./cluster_broadcast --port 9001 --announce 127.0.0.1:9002 --no-broadcast
//   SECRET=s3cret ./cluster_broadcast --port 9002 --announce 127.0.0.1:9001 --no-broadcast
//                                     --send user:42        (one line)
//
// The sender waits for its workers and for a peer, then:
//   [41230] Cache invalidate: user:42                  (on all 2 × 3 processes)
//   Cache invalidation of user:42 reached 6 processes on 2 machines
//   [51877] Config update received: v2                 (on the other master only)
//   Config update reached 1 remote master(s)
// and quits; the other one serves until SIGTERM or Ctrl+C.

#include <plexus/plexus.h>

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QSet>
#include <QtCore/QUrl>

#include <cstdio>

namespace {

enum Opcode : quint32 { OpCacheInvalidate = 1, OpConfigUpdate = 2 };

QByteArray errorSuffix(const Plexus::Reply *r)
{
    return r->error() == Plexus::Reply::NoError ? QByteArray()
                                                : " (" + r->errorString().toUtf8() + ')';
}

// Runs on ALL processes on ALL machines.
void onCacheInvalidate(const Plexus::Message &m)
{
    std::printf("[%lld] Cache invalidate: %.*s\n", Plexus::Node::instance()->pid(),
                int(m.length()), m.data().data());
    std::fflush(stdout);
    // cache_remove(m.data()) would go here; the reply tells the sender who it reached.
    Plexus::reply(m, {.data = {QByteArray::number(Plexus::Node::instance()->machineId(), 16)},
                      .done = true});
}

// Runs on the master of every other machine.
void onConfigUpdate(const Plexus::Message &m)
{
    std::printf("[%lld] Config update received: %.*s\n", Plexus::Node::instance()->pid(),
                int(m.length()), m.data().data());
    std::fflush(stdout);
    Plexus::reply(m, {.done = true});   // config_reload() would go here
}

void syncToRemoteMachines(const QByteArray &version)
{
    Plexus::Reply *r = Plexus::cluster({.opcode = OpConfigUpdate, .data = {version},
                                        .timeout = 10000, .reply = true});
    QObject::connect(r, &Plexus::Reply::finished, r, [r] {
        std::printf("Config update reached %d remote master(s)%s\n", r->finishedTargets(),
                    errorSuffix(r).constData());
        std::fflush(stdout);
        QCoreApplication::quit();
    });
}

void invalidateCacheClusterWide(const QByteArray &key)
{
    Plexus::Reply *r = Plexus::broadcast({.opcode = OpCacheInvalidate, .data = {key},
                                          .timeout = 10000, .reply = true});
    auto machines = std::make_shared<QSet<QByteArray>>();
    QObject::connect(r, &Plexus::Reply::replyReceived, r, [machines](const Plexus::Message &m) {
        if (!m.isError())
            machines->insert(m.data().toByteArray());
    });
    QObject::connect(r, &Plexus::Reply::finished, r, [r, key, machines] {
        std::printf("Cache invalidation of %s reached %d processes on %lld machines%s\n",
                    key.constData(), r->finishedTargets(), qint64(machines->size()),
                    errorSuffix(r).constData());
        std::fflush(stdout);
        syncToRemoteMachines("v2");
    });
}

} // namespace

int main(int argc, char **argv)
{
    // Op-codes are registered before start, in every process (fio_ipc_opcode_register).
    Plexus::registerOpcode({.opcode = OpCacheInvalidate, .call = onCacheInvalidate});
    Plexus::registerOpcode({.opcode = OpConfigUpdate, .call = onConfigUpdate});

    return Plexus::exec(argc, argv, {.workers = 2}, [](Plexus::Node &node) {
        if (!node.isMaster())
            return;
        QCommandLineParser parser;
        parser.setApplicationDescription(QStringLiteral("Plexus cluster-wide broadcast"));
        parser.addHelpOption();
        parser.addOptions({
            {QStringLiteral("port"), QStringLiteral("Cluster port (TCP and UDP)."),
             QStringLiteral("port"), QStringLiteral("9000")},
            {QStringLiteral("announce"), QStringLiteral("Also announce to host:port."),
             QStringLiteral("host:port")},
            {QStringLiteral("peer"), QStringLiteral("Connect to tcp://host:port."),
             QStringLiteral("url")},
            {QStringLiteral("no-broadcast"), QStringLiteral("Announce to --announce only.")},
            {QStringLiteral("nats"), QStringLiteral("Meet the other machines on NATS: nats://host:port[,...]."),
             QStringLiteral("url")},
            {QStringLiteral("send"), QStringLiteral("Invalidate <key> once a peer is up, then quit."),
             QStringLiteral("key")},
        });
        parser.process(QCoreApplication::arguments());

        Plexus::ClusterOptions options;
        options.port = quint16(parser.value(QStringLiteral("port")).toUInt());
        options.mesh.broadcast = !parser.isSet(QStringLiteral("no-broadcast"));
        options.url = parser.value(QStringLiteral("nats"));   // empty: the mesh
        for (const QString &a : parser.values(QStringLiteral("announce"))) {
            const qsizetype colon = a.lastIndexOf(u':');
            options.mesh.announceTo.append({QHostAddress(a.left(colon)), quint16(a.mid(colon + 1).toUInt())});
        }
        if (!node.listenCluster(options)) {
            std::fprintf(stderr, "Cluster disabled - set SECRET env var for multi-machine support (%s)\n",
                         qPrintable(node.errorString()));
            QMetaObject::invokeMethod(&node, [] { QCoreApplication::exit(1); }, Qt::QueuedConnection);
            return;
        }
        for (const QString &peer : parser.values(QStringLiteral("peer")))
            node.connectToPeer(QUrl(peer));
        std::printf("Machine %llx in the cluster on port %u\n",
                    static_cast<unsigned long long>(node.machineId()), node.clusterPort());
        std::fflush(stdout);
        QObject::connect(&node, &Plexus::Node::peerConnected, &node, [](const Plexus::PeerInfo &p) {
            std::printf("Peer %llx connected from %s\n",
                        static_cast<unsigned long long>(p.machineId()), qPrintable(p.address()));
            std::fflush(stdout);
        });
        if (!parser.isSet(QStringLiteral("send")))
            return;
        // Send once the workers are up and the first peer is: then every process of both
        // machines is reachable.
        const QByteArray key = parser.value(QStringLiteral("send")).toUtf8();
        auto ready = std::make_shared<int>(0);
        const auto go = [ready, key] {
            if (++*ready == 2)
                invalidateCacheClusterWide(key);
        };
        QObject::connect(&node, &Plexus::Node::workersReady, &node, go);
        QObject::connect(&node, &Plexus::Node::peerConnected, &node,
                         [go, fired = std::make_shared<bool>(false)](const Plexus::PeerInfo &) {
            if (!*fired) {
                *fired = true;
                go();
            }
        });
    });
}
