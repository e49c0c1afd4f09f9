// SPDX-License-Identifier: MIT
//
// plexus-cluster-bench's node mode: one master of a run (Plexus::exec), which node 0 of the
// run drives through a row once it sees the whole cluster (cluster_bench.h).
#include "cluster_bench.h"
#include "nats_baseline.h"
#include "natsserver.h"
#include "../cluster/testhosts.h"

#include <plexus/plexus.h>

#include <QtCore/qcoreapplication.h>
#include <QtCore/qdeadlinetimer.h>
#include <QtCore/qfile.h>
#include <QtCore/qjsonarray.h>
#include <QtCore/qjsondocument.h>
#include <QtCore/qjsonobject.h>
#include <QtCore/qprocess.h>
#include <QtCore/qtimer.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <deque>
#include <functional>
#include <random>
#include <set>

#include <sys/resource.h>
#include <unistd.h>

using namespace Bench;
using namespace Qt::StringLiterals;

namespace ClusterBench {

enum : quint32 { OpEcho = 0x10, OpFlood = 0x11, OpSync = 0x12, OpCount = 0x13, OpQuit = 0x14 };

// ---------------------------------------------------------------------------------------
// Node mode

struct NodeArgs {
    int index = 0;
    int nodes = 2;
    QString row;
    long long count = 0;
    long long warmup = 0;
    long long window = 1;
    long long batch = 2000;
    long long depth = 4;
    int idleSeconds = 0;
    bool traffic = false;   // row "watch": send the other master a message every ms
};
NodeArgs g_n;
QByteArray g_payload(64, 'x');
long long g_delivered = 0;

double cpuSeconds()
{
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec)
            + double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

void onEcho(const Plexus::Message &m) { Plexus::reply(m, {.data = {m.data()}, .done = true}); }
void onFlood(const Plexus::Message &) { ++g_delivered; }
void onSync(const Plexus::Message &m) { Plexus::reply(m, {.done = true}); }
void onCount(const Plexus::Message &m)
{
    Plexus::reply(m, {.data = {QByteArray::number(g_delivered)}, .done = true});
}
void onQuit(const Plexus::Message &)
{
    QTimer::singleShot(0, qApp, [] { QCoreApplication::quit(); });
}

long long steadyNs()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

struct Driver {
    Clock::time_point t0;
    double cpu0 = 0;
    long long total = 0, issued = 0, completed = 0, errors = 0;
    // broadcast
    long long sent = 0, outstanding = 0;
    std::deque<long long> marks;
    long long coveredAtT0 = -1;
    double seconds = 0;
    long long counted = 0, reports = 0;
};
Driver g_d;

void finishRow(Fields f)
{
    f["errors"] = std::to_string(g_d.errors);
    f["rss_kb"] = std::to_string(procStatusKb(0, "VmRSS"));
    emitResult(f);
    // Everyone else stops too; our own shutdown flushes the message out.
    Plexus::cluster({.opcode = OpQuit});
    QTimer::singleShot(0, qApp, [] { QCoreApplication::quit(); });
}

void callDone(const Plexus::Message &m);

void issueCall()
{
    ++g_d.issued;
    Plexus::cluster({.onDone = callDone, .opcode = OpEcho, .data = {g_payload}});
}

void callDone(const Plexus::Message &m)
{
    if (m.isError())
        ++g_d.errors;
    if (++g_d.completed == g_n.warmup) {
        g_d.t0 = Clock::now();
        g_d.cpu0 = cpuSeconds();
    }
    if (g_d.completed == g_d.total) {
        const double dt = secondsSince(g_d.t0);
        const double calls = double(g_d.total - g_n.warmup);
        finishRow({{"rate", std::to_string(calls / dt)},
                   {"seconds", std::to_string(dt)},
                   {"cpu_us_per_op", std::to_string((cpuSeconds() - g_d.cpu0) / calls * 1e6)},
                   {"lost", std::to_string(g_d.issued - g_d.completed)}});
        return;
    }
    if (g_d.issued < g_d.total)
        issueCall();
}

void pumpBroadcast();

void syncDone(const Plexus::Message &m)
{
    if (m.isError())
        ++g_d.errors;
    --g_d.outstanding;
    const long long covered = g_d.marks.front();
    g_d.marks.pop_front();
    if (g_d.coveredAtT0 < 0 && covered >= g_n.warmup) {
        g_d.coveredAtT0 = covered;
        g_d.t0 = Clock::now();
        g_d.cpu0 = cpuSeconds();
    }
    if (g_d.sent < g_d.total || g_d.outstanding > 0) {
        pumpBroadcast();
        return;
    }
    g_d.seconds = secondsSince(g_d.t0);
    g_d.cpu0 = (cpuSeconds() - g_d.cpu0) / double(g_d.total - g_d.coveredAtT0) * 1e6;
    // Every process says how many it received.
    Plexus::broadcast({.onReply = [](const Plexus::Message &r) {
                           g_d.counted += r.data().toByteArray().toLongLong();
                           ++g_d.reports;
                       },
                       .onDone = [](const Plexus::Message &r) {
                           g_d.counted += r.data().toByteArray().toLongLong();
                           ++g_d.reports;
                           const long long receivers = g_d.reports;
                           const long long measured = (g_d.total - g_d.coveredAtT0) * receivers;
                           finishRow({{"rate", std::to_string(double(measured) / g_d.seconds)},
                                      {"seconds", std::to_string(g_d.seconds)},
                                      {"cpu_us_per_op", std::to_string(g_d.cpu0)},
                                      {"receivers", std::to_string(receivers)},
                                      {"expected_deliveries", std::to_string(g_d.total * receivers)},
                                      {"delivered", std::to_string(g_d.counted)},
                                      {"lost", std::to_string(g_d.total * receivers - g_d.counted)}});
                       },
                       .opcode = OpCount, .others = true});
}

void pumpBroadcast()
{
    while (g_d.outstanding < g_n.depth && g_d.sent < g_d.total) {
        const long long n = qMin(g_n.batch, g_d.total - g_d.sent);
        for (long long i = 0; i < n; ++i)
            Plexus::broadcast({.opcode = OpFlood, .others = true, .data = {g_payload}});
        g_d.sent += n;
        Plexus::broadcast({.onDone = syncDone, .opcode = OpSync, .others = true});
        g_d.marks.push_back(g_d.sent);
        ++g_d.outstanding;
    }
}

void startRow()
{
    g_d.total = g_n.warmup + g_n.count;
    g_d.t0 = Clock::now();
    g_d.cpu0 = cpuSeconds();
    if (g_n.row == QLatin1String("watch")) {
        // Waits for the other master to be lost (the driver kills it); with traffic, a
        // fire-and-forget message to it every millisecond meanwhile.
        std::printf("WATCHING index=%d\n", g_n.index);
        std::fflush(stdout);
        if (g_n.traffic) {
            auto *timer = new QTimer(qApp);
            QObject::connect(timer, &QTimer::timeout, qApp, [] {
                Plexus::cluster({.opcode = OpFlood, .data = {g_payload}});
            });
            timer->start(1);
        }
        return;
    }
    if (g_n.row == QLatin1String("bcast")) {
        if (g_n.warmup == 0)
            g_d.coveredAtT0 = 0;
        pumpBroadcast();
        return;
    }
    for (long long i = 0; i < g_n.window && g_d.issued < g_d.total; ++i)
        issueCall();
}

// Once the mesh is complete: idle for a while (scale runs), then node 0 runs the row.
void meshComplete(qint64 sinceStartMs)
{
    std::printf("MESH index=%d ms=%lld\n", g_n.index, sinceStartMs);
    std::fflush(stdout);
    const double cpu0 = cpuSeconds();
    QTimer::singleShot(g_n.idleSeconds * 1000, qApp, [cpu0] {
        if (g_n.idleSeconds > 0) {
            std::printf("IDLE index=%d cpu_ms=%.3f rss_kb=%lld\n", g_n.index,
                        (cpuSeconds() - cpu0) * 1000, procStatusKb(0, "VmRSS"));
            std::fflush(stdout);
        }
        if (g_n.index == 0 && !g_n.row.isEmpty())
            startRow();
    });
}

int runNode(int argc, char **argv, const QStringList &args)
{
    Plexus::ClusterOptions options;
    int workers = 0;
    for (qsizetype i = 0; i + 1 < args.size(); ++i) {
        const QString &k = args[i];
        const QString v = args[i + 1];
        if (k == u"--index") g_n.index = v.toInt();
        else if (k == u"--nodes") g_n.nodes = v.toInt();
        else if (k == u"--row") g_n.row = v;
        else if (k == u"--count") g_n.count = v.toLongLong();
        else if (k == u"--warmup") g_n.warmup = v.toLongLong();
        else if (k == u"--window") g_n.window = v.toLongLong();
        else if (k == u"--idle") g_n.idleSeconds = v.toInt();
        else if (k == u"--workers") workers = v.toInt();
        else if (k == u"--url") options.url = v;
        else if (k == u"--traffic") g_n.traffic = v == u"1";
        else if (k == u"--port") options.port = quint16(v.toUInt());
        else if (k == u"--broadcast") options.mesh.broadcast = v == u"1";
        else if (k == u"--announce") {
            const qsizetype colon = v.lastIndexOf(u':');
            options.mesh.announceTo.append({QHostAddress(v.left(colon)), quint16(v.mid(colon + 1).toUInt())});
        }
    }
    options.mesh.announceIntervalMs = 500;
    Plexus::registerOpcode({.opcode = OpEcho, .call = onEcho});
    Plexus::registerOpcode({.opcode = OpFlood, .call = onFlood});
    Plexus::registerOpcode({.opcode = OpSync, .call = onSync});
    Plexus::registerOpcode({.opcode = OpCount, .call = onCount});
    Plexus::registerOpcode({.opcode = OpQuit, .call = onQuit});
    Plexus::ExecOptions exec;
    exec.workers = workers;
    exec.restartPolicy = Plexus::WorkerInfo::NoRestart;
    return Plexus::exec(argc, argv, exec, [options](Plexus::Node &node) {
        if (!node.isMaster())
            return;
        const QDeadlineTimer started = QDeadlineTimer::current();
        if (!node.listenCluster(options)) {
            std::fprintf(stderr, "node %d: %s\n", g_n.index, qPrintable(node.errorString()));
            QMetaObject::invokeMethod(qApp, [] { QCoreApplication::exit(1); }, Qt::QueuedConnection);
            return;
        }
        auto state = std::make_shared<int>(0);   // bit 0: workers ready, bit 1: mesh
        const auto check = [state, started, &node] {
            if (!(*state & 2) && node.peers().size() == g_n.nodes - 1) {
                *state |= 2;
                if (*state & 1)
                    meshComplete(QDeadlineTimer::current().deadline() - started.deadline());
            }
        };
        QObject::connect(&node, &Plexus::Node::peerConnected, &node, check);
        QObject::connect(&node, &Plexus::Node::peerDisconnected, &node, [] {
            if (g_n.index == 0 && g_n.row == QLatin1String("watch"))
                finishRow({{"lost_ns", std::to_string(steadyNs())}});
        });
        QObject::connect(&node, &Plexus::Node::workersReady, &node, [state, check, started] {
            *state |= 1;
            if (*state & 2)
                meshComplete(QDeadlineTimer::current().deadline() - started.deadline());
            else
                check();
        });
    });
}

} // namespace ClusterBench
