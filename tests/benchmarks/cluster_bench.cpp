// SPDX-License-Identifier: MIT
//
// plexus-cluster-bench: the cluster against baselines measured in the same run.
//
//   plexus-cluster-bench [--quick] [--runs N] [--json FILE] [--only ROW,...] [--engine mesh|nats]
//   plexus-cluster-bench --scale N [--idle SECONDS] [--engine mesh|nats] [--count N]
//
// Rows (docs/BENCHMARKS.md):
//   tcp_seq         sequential cluster() round trips to one other master over loopback TCP,
//                   each run paired with a raw TCP ping-pong run right before it
//   remote_fast     pipelined 64 B cluster() calls to one other master (window 1000),
//                   against plexus-bench's local fast path ("fast") in the same run
//   cluster_bcast_3 broadcast().others from one master to 3 machines x (master + 2 workers),
//                   against plexus-bench's local broadcast to 2 workers ("bcast_2")
// With --engine nats every master joins with ClusterOptions::url = nats://... on a
// nats-server this program starts itself (TestSupport::NatsServers, loopback), and the
// rows are measured against raw nats.c on the same server (nats_baseline.cpp):
//   nats_seq        sequential cluster() round trips to one other master, paired with a raw
//                   request/reply run (two processes, send-asap) right before each run
//   nats_fast       pipelined 64 B cluster() calls to one other master (window 1000),
//                   paired with a raw pipelined echo (window 1000)
//   nats_bcast_7    broadcast().others from one master to 7 other masters (8 machines,
//                   master only), paired with a raw 1 -> 7 fan-out (7 subscriber processes)
//   raw_pub         raw publish throughput, 64 B, one publisher, one subscriber
//   lost_idle       time from SIGKILL of a master to peerDisconnected on another, no
//                   traffic (heartbeat + dead interval); lost_traffic: the same while the
//                   watcher sends it a message every millisecond
// --scale N starts N hosts (network namespaces on a bridge, as tst_cluster does), each a
// master with one worker, and reports the time to a full mesh, the heartbeat cost per
// link while idle (CPU and memory), and broadcast deliveries/s across all of them.
//
// Every node is this program in "--node" mode (Plexus::exec); node 0 drives the row once
// it sees the full mesh and prints one RESULT line; the others print their idle figures.
#include "bench.h"
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

namespace {

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

// ---------------------------------------------------------------------------------------
// Driver

QString g_self;
int g_runNumber = 0;   // each run's nodes get a secret of their own (subjects apart on NATS)


struct RunResult {
    bool ok = false;
    Fields result;                // node 0's RESULT
    std::vector<double> meshMs;   // per node, from its own listenCluster()
    double allMeshedMs = NAN;     // from the first node's start to the last node's mesh
    std::vector<double> idleCpuMs, idleRssKb;
    std::string error;
    Fields extra;   // what a poll hook adds
};

// Called on every turn of runCluster()'s loop with the node processes.
using PollHook = std::function<void(const QList<QProcess *> &, RunResult &)>;

// Starts \a nodes nodes (on \a hosts, or loopback), node 0 running \a row; with \a natsUrl
// they join on NATS instead of the mesh.
RunResult runCluster(int nodes, int workers, const QStringList &rowArgs, int idleSeconds,
                     TestHosts *hosts, int timeoutSec, const QString &natsUrl = {},
                     const PollHook &poll = {})
{
    RunResult out;
    const QString secret = u"plexus-cluster-bench-%1-%2"_s.arg(::getpid()).arg(++g_runNumber);
    std::vector<quint16> ports;
    const bool ns = hosts && hosts->mode() == TestHosts::Mode::Namespaces;
    for (int i = 0; i < nodes; ++i)
        ports.push_back(ns ? 7400 : TestHosts::freePort());
    QList<QProcess *> procs;
    QDeadlineTimer deadline{std::chrono::seconds{timeoutSec}};
    const Clock::time_point spawned = Clock::now();
    for (int i = 0; i < nodes; ++i) {
        QStringList args{u"--node"_s, u"--index"_s, QString::number(i), u"--nodes"_s,
                         QString::number(nodes), u"--workers"_s, QString::number(workers),
                         u"--port"_s, QString::number(ports[size_t(i)]), u"--idle"_s,
                         QString::number(idleSeconds), u"--broadcast"_s, ns ? u"1"_s : u"0"_s};
        if (!natsUrl.isEmpty())
            args << u"--url"_s << natsUrl;
        else if (!ns) {
            for (int j = 0; j < nodes; ++j)
                if (j != i)
                    args << u"--announce"_s << u"127.0.0.1:%1"_s.arg(ports[size_t(j)]);
        }
        if (i == 0)
            args << rowArgs;
        auto *p = new QProcess;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(u"SECRET"_s, secret);
        p->setProcessEnvironment(env);
        p->setProcessChannelMode(QProcess::ForwardedErrorChannel);
        QString program = g_self;
        if (hosts)
            hosts->wrap(i + 1, g_self, args, &program, &args);
        p->start(program, args);
        procs.append(p);
    }
    std::vector<QByteArray> buffers(static_cast<size_t>(nodes));
    while (!deadline.hasExpired() && !out.ok && out.error.empty()) {
        QCoreApplication::processEvents();   // a nats-server's output keeps being read
        if (poll)
            poll(procs, out);
        for (int i = 0; i < nodes; ++i) {
            QProcess *p = procs[i];
            p->waitForReadyRead(i == 0 ? 50 : 1);
            buffers[size_t(i)] += p->readAllStandardOutput();
            qsizetype nl;
            while ((nl = buffers[size_t(i)].indexOf('\n')) >= 0) {
                const std::string line = buffers[size_t(i)].left(nl).toStdString();
                buffers[size_t(i)].remove(0, nl + 1);
                if (line.rfind("MESH ", 0) == 0) {
                    const Fields f = parseFields("RESULT " + line.substr(5));
                    out.meshMs.push_back(std::stod(f.at("ms")));
                    if (int(out.meshMs.size()) == nodes)
                        out.allMeshedMs = secondsSince(spawned) * 1000;
                } else if (line.rfind("IDLE ", 0) == 0) {
                    const Fields f = parseFields("RESULT " + line.substr(5));
                    out.idleCpuMs.push_back(std::stod(f.at("cpu_ms")));
                    out.idleRssKb.push_back(std::stod(f.at("rss_kb")));
                } else if (line.rfind("RESULT ", 0) == 0 && i == 0) {
                    out.result = parseFields(line);
                    out.ok = true;
                }
            }
            if (i == 0 && p->state() == QProcess::NotRunning && !out.ok)
                out.error = "node 0 exited without a result";
        }
        if (rowArgs.isEmpty() && int(out.idleCpuMs.size()) == nodes)
            out.ok = true;
    }
    if (!out.ok && out.error.empty())
        out.error = "timed out";
    for (QProcess *p : procs) {
        // A run that failed or timed out sends no quit: end every node, not one by one.
        if (rowArgs.isEmpty() || !out.ok)
            p->terminate();
    }
    for (QProcess *p : procs) {
        if (!p->waitForFinished(10000)) {
            p->kill();
            p->waitForFinished(5000);
        }
        delete p;
    }
    if (out.ok && out.result.count("lost") && std::stoll(out.result.at("lost")) != 0)
        out.error = "deliveries lost: " + out.result.at("lost");
    if (out.ok && out.result.count("errors") && std::stoll(out.result.at("errors")) != 0)
        out.error = "calls failed: " + out.result.at("errors");
    return out;
}

double median(std::vector<double> v)
{
    if (v.empty())
        return NAN;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string human(double v)
{
    char b[64];
    if (std::isnan(v))
        return "n/a";
    if (std::fabs(v) >= 1e6)
        std::snprintf(b, sizeof b, "%.3gM", v / 1e6);
    else if (std::fabs(v) >= 1e4)
        std::snprintf(b, sizeof b, "%.3gk", v / 1e3);
    else
        std::snprintf(b, sizeof b, "%.3g", v);
    return b;
}

// The local rows this compares against, measured by plexus-bench in this same run.
std::map<std::string, double> localBaselines(bool quick, int runs)
{
    std::map<std::string, double> out;
    const QString bench = g_self.left(g_self.lastIndexOf(u'/') + 1) + u"plexus-bench"_s;
    const QString json = u"/tmp/plexus-cluster-bench-%1.json"_s.arg(::getpid());
    QStringList args{u"--only"_s, u"fast,bcast_2"_s, u"--runs"_s, QString::number(runs),
                     u"--json"_s, json};
    if (quick)
        args.prepend(u"--quick"_s);
    QProcess p;
    p.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    p.start(bench, args);
    p.waitForFinished(-1);
    QFile f(json);
    if (f.open(QIODevice::ReadOnly)) {
        const QJsonArray rows = QJsonDocument::fromJson(f.readAll()).object().value(u"rows"_s).toArray();
        for (const QJsonValue &r : rows)
            out[r[u"id"_s].toString().toStdString()] = r[u"median"_s].toDouble(NAN);
        f.remove();
    }
    return out;
}

// CPU seconds (user + system) a process used so far, from /proc/<pid>/stat; NAN if gone.
double procCpuSeconds(qint64 pid)
{
    QFile f(u"/proc/%1/stat"_s.arg(pid));
    if (!f.open(QIODevice::ReadOnly))
        return NAN;
    const QByteArray stat = f.readAll();
    // The fields after the command (which may hold spaces) start after its last ')'.
    const QList<QByteArray> fields = stat.mid(stat.lastIndexOf(')') + 2).split(' ');
    if (fields.size() < 13)
        return NAN;
    return double(fields[11].toLongLong() + fields[12].toLongLong()) / double(::sysconf(_SC_CLK_TCK));
}

// One raw nats.c measurement (nats_baseline.cpp): \a helpers processes in role \a helperRole
// (each says READY once subscribed), then the measuring process in role \a role; its
// RESULT, with the nats-server's CPU over the whole run added as server_cpu_s.
Fields runRaw(const QString &url, qint64 serverPid, const QString &helperRole, int helpers,
              const QString &role, const QStringList &args, std::string *error)
{
    const QString prefix = u"bench.%1.%2"_s.arg(::getpid()).arg(++g_runNumber);
    const QStringList common{u"--url"_s, url, u"--prefix"_s, prefix};
    const double server0 = procCpuSeconds(serverPid);
    std::vector<std::unique_ptr<QProcess>> procs;
    const auto start = [&](const QString &r, const QStringList &more) {
        auto p = std::make_unique<QProcess>();
        p->setProcessChannelMode(QProcess::ForwardedErrorChannel);
        p->start(g_self, QStringList{u"--nats-raw"_s, r} << common << more);
        procs.push_back(std::move(p));
        return procs.back().get();
    };
    Fields out;
    const auto finish = [&] {
        for (auto &p : procs) {
            if (p->state() != QProcess::NotRunning) {
                p->terminate();
                if (!p->waitForFinished(3000)) {
                    p->kill();
                    p->waitForFinished(3000);
                }
            }
        }
        return out;
    };
    for (int i = 0; i < helpers; ++i) {
        QProcess *h = start(helperRole, {});
        QByteArray seen;
        QDeadlineTimer deadline(10000);
        while (!seen.contains("READY\n") && !deadline.hasExpired() && h->state() != QProcess::NotRunning) {
            h->waitForReadyRead(100);
            seen += h->readAllStandardOutput();
        }
        if (!seen.contains("READY\n")) {
            *error = "raw " + role.toStdString() + ": helper " + helperRole.toStdString() + " not ready";
            return finish();
        }
    }
    QProcess *client = start(role, args);
    QByteArray text;
    QDeadlineTimer deadline(180000);
    while (!deadline.hasExpired() && client->state() != QProcess::NotRunning)
        client->waitForFinished(100);
    text = client->readAllStandardOutput();
    const qsizetype at = text.indexOf("RESULT ");
    if (at < 0) {
        *error = "raw " + role.toStdString() + ": no result";
        return finish();
    }
    out = parseFields(text.mid(at, text.indexOf('\n', at) - at).toStdString());
    out["server_cpu_s"] = std::to_string(procCpuSeconds(serverPid) - server0);
    if (out.count("lost") && std::stoll(out.at("lost")) != 0)
        *error = "raw " + role.toStdString() + ": deliveries lost: " + out.at("lost");
    else if (out.count("errors") && std::stoll(out.at("errors")) != 0)
        *error = "raw " + role.toStdString() + ": errors: " + out.at("errors");
    return finish();
}

struct Row {
    std::string id, title, unit, against, target;
    std::vector<double> values, ratios;
    double threshold = 0;
    std::string extra;
};

// A poll hook that SIGKILLs node 1 at a random moment 0.5-1.5 s after every node has
// the full cluster (a random phase against the heartbeat), and notes when in kill_ns.
PollHook killNodeOne()
{
    auto at = std::make_shared<long long>(0);
    return [at](const QList<QProcess *> &procs, RunResult &out) {
        if (out.extra.count("kill_ns") || out.meshMs.size() < size_t(procs.size()))
            return;
        if (*at == 0) {
            static std::mt19937 rng{std::random_device{}()};
            *at = steadyNs() + 500'000'000LL + (long long)(rng() % 1'000'000'000U);
            return;
        }
        if (steadyNs() >= *at) {
            procs[1]->kill();
            out.extra["kill_ns"] = std::to_string(steadyNs());
        }
    };
}

struct KillFigures {
    std::vector<double> idleMs, trafficMs;
};

// Time from SIGKILL of a master to peerDisconnected on the other, \a runs times each.
KillFigures measureLoss(int runs, const QString &natsUrl, std::vector<std::string> *failures)
{
    KillFigures k;
    for (int traffic = 0; traffic < 2; ++traffic) {
        for (int r = 0; r < runs; ++r) {
            const RunResult o = runCluster(2, 0,
                                           {u"--row"_s, u"watch"_s, u"--traffic"_s, QString::number(traffic)},
                                           0, nullptr, 60, natsUrl, killNodeOne());
            if (!o.ok || !o.error.empty() || !o.extra.count("kill_ns") || !o.result.count("lost_ns")) {
                failures->push_back(std::string(traffic ? "lost_traffic" : "lost_idle") + ": "
                                    + (o.error.empty() ? "no kill or no loss seen" : o.error));
                continue;
            }
            const double ms = double(std::stoll(o.result.at("lost_ns")) - std::stoll(o.extra.at("kill_ns"))) / 1e6;
            (traffic ? k.trafficMs : k.idleMs).push_back(ms);
        }
    }
    return k;
}

std::string spread(const std::vector<double> &v)
{
    if (v.empty())
        return "n/a";
    return human(median(v)) + " [" + human(*std::min_element(v.begin(), v.end())) + " - "
            + human(*std::max_element(v.begin(), v.end())) + "]";
}

void printLoss(const char *engine, const KillFigures &k, QJsonArray *json)
{
    std::printf("%-16s %s ms  [%zu runs]\n  %s: SIGKILL of a master -> peerDisconnected on the other, "
                "no traffic (heartbeat + dead interval)\n",
                "lost_idle", spread(k.idleMs).c_str(), k.idleMs.size(), engine);
    std::printf("%-16s %s ms  [%zu runs]\n  %s: the same while the watcher sends it a message every "
                "millisecond\n",
                "lost_traffic", spread(k.trafficMs).c_str(), k.trafficMs.size(), engine);
    for (int i = 0; i < 2; ++i) {
        const std::vector<double> &v = i ? k.trafficMs : k.idleMs;
        QJsonArray values;
        for (double x : v)
            values.append(x);
        json->append(QJsonObject{{u"id"_s, i ? u"lost_traffic"_s : u"lost_idle"_s},
                                 {u"median"_s, median(v)}, {u"values"_s, values}, {u"unit"_s, u"ms"_s}});
    }
}

int runScale(int hostsWanted, int idleSeconds, const std::string &jsonPath, bool onNats, long long count)
{
    TestHosts hosts;
    TestSupport::NatsServers server;
    QString url;
    qint64 serverPid = 0;
    if (onNats) {
        QString why;
        if (!TestSupport::NatsServers::available() || !server.start(1, &why)) {
            std::fprintf(stderr, "--engine nats needs nats-server: %s\n", qPrintable(why));
            return 2;
        }
        url = server.url(0);
        serverPid = server.pid(0);
    } else {
        // The kernel's ARP table is one for all network namespaces (gc_thresh3 entries,
        // 1024 by default, settable only from the initial namespace). A full mesh of N
        // namespaces needs N * (N - 1) entries; past the limit new neighbours are refused
        // ("neighbor table overflow" in dmesg), SYNs are never sent and the mesh never
        // completes (64 hosts need 4032). Say so instead of timing out.
        QFile thresh(u"/proc/sys/net/ipv4/neigh/default/gc_thresh3"_s);
        const long long needed = (long long)hostsWanted * (hostsWanted - 1);
        if (thresh.open(QIODevice::ReadOnly)) {
            const long long limit = thresh.readAll().trimmed().toLongLong();
            if (limit > 0 && limit < needed) {
                std::fprintf(stderr,
                             "--scale %d on the mesh needs %lld ARP entries across the namespaces, "
                             "the kernel allows %lld (net.ipv4.neigh.default.gc_thresh3, shared by "
                             "all namespaces); raise it first, e.g.\n  sysctl -w "
                             "net.ipv4.neigh.default.gc_thresh2=%lld net.ipv4.neigh.default.gc_thresh3=%lld\n",
                             hostsWanted, needed, limit, needed + 512, 2 * needed);
                return 2;
            }
        }
        hosts.setUp(hostsWanted);
        if (hosts.mode() != TestHosts::Mode::Namespaces) {
            std::fprintf(stderr, "--scale needs network namespaces (root, iproute2): %s\n",
                         qPrintable(hosts.reason()));
            return 2;
        }
    }
    // One node alone first: the memory of a node with no links.
    TestHosts alone;
    if (!onNats)
        alone.setUp(1);
    const RunResult single = runCluster(1, 1, {}, 3, onNats ? nullptr : &alone, 60, url);
    alone.tearDown();
    if (count <= 0)
        count = qMin<long long>(100000, 1600000 / hostsWanted);
    // The nats-server's CPU and memory while every machine idles: from the moment all
    // have the full cluster to the moment the last one reports its idle figures.
    auto serverIdle = std::make_shared<std::pair<double, double>>(NAN, NAN);
    auto serverClock = std::make_shared<std::pair<long long, long long>>(0, 0);
    auto serverRssKb = std::make_shared<long long>(0);
    PollHook hook;
    if (onNats) {
        hook = [=](const QList<QProcess *> &procs, RunResult &out) {
            if (std::isnan(serverIdle->first) && out.meshMs.size() == size_t(procs.size())) {
                serverIdle->first = procCpuSeconds(serverPid);
                serverClock->first = steadyNs();
            }
            if (std::isnan(serverIdle->second) && out.idleCpuMs.size() == size_t(procs.size())) {
                serverIdle->second = procCpuSeconds(serverPid);
                serverClock->second = steadyNs();
                *serverRssKb = procStatusKb(serverPid, "VmRSS");
            }
        };
    }
    const double serverCpu0 = onNats ? procCpuSeconds(serverPid) : NAN;
    const RunResult r = runCluster(hostsWanted, 1,
                                   {u"--row"_s, u"bcast"_s, u"--count"_s, QString::number(count),
                                    u"--warmup"_s, QString::number(count / 10)},
                                   idleSeconds, onNats ? nullptr : &hosts, 180, url, hook);
    const double serverCpuRun = onNats ? procCpuSeconds(serverPid) - serverCpu0 : NAN;
    hosts.tearDown();
    if (!r.ok || !r.error.empty()) {
        std::fprintf(stderr, "scale run failed: %s (%zu of %d nodes had the full cluster, %zu idle reports)\n",
                     r.error.c_str(), r.meshMs.size(), hostsWanted, r.idleCpuMs.size());
        return 1;
    }
    const double links = hostsWanted - 1;
    const double meshMs = *std::max_element(r.meshMs.begin(), r.meshMs.end());
    const double cpuPerMachinePct = median(r.idleCpuMs) / (idleSeconds * 1000.0) * 100;
    const double cpuPerLinkPct = cpuPerMachinePct / links;
    const double rssPerLinkKb = (median(r.idleRssKb) - median(single.idleRssKb)) / links;
    const double rate = std::stod(r.result.at("rate"));
    const double senderUs = std::stod(r.result.at("cpu_us_per_op"));
    std::printf("scale: %d hosts (%s), one master + 1 worker each, engine %s\n", hostsWanted,
                onNats ? "loopback, one nats-server" : "network namespaces", onNats ? "nats" : "mesh");
    std::printf("  full cluster after         %.0f ms from the first start (slowest node %.0f ms "
                "from its own)\n", r.allMeshedMs, meshMs);
    std::printf("  idle CPU per machine       %.3f %% of a core (median master, %d s; %.4f %% per other machine)\n",
                cpuPerMachinePct, idleSeconds, cpuPerLinkPct);
    std::printf("  memory per machine         %.0f KiB master RSS (median; %.0f KiB alone, +%.1f KiB per other machine)\n",
                median(r.idleRssKb), median(single.idleRssKb), rssPerLinkKb);
    double serverIdlePct = NAN;
    if (onNats) {
        serverIdlePct = (serverIdle->second - serverIdle->first)
                / (double(serverClock->second - serverClock->first) / 1e9) * 100;
        std::printf("  nats-server while idle     %.3f %% of a core, RSS %lld KiB\n", serverIdlePct,
                    *serverRssKb);
    }
    std::printf("  broadcast .others          %s deliveries/s to %s processes (%lld broadcasts + %lld warm-up)\n",
                human(rate).c_str(), r.result.at("receivers").c_str(), count, count / 10);
    std::printf("  sender CPU per broadcast   %.2f us (master of node 0, user + system, all threads)\n", senderUs);
    if (onNats)
        std::printf("  nats-server CPU, whole run %.2f s\n", serverCpuRun);
    if (!jsonPath.empty()) {
        QJsonObject o{{u"engine"_s, onNats ? u"nats"_s : u"mesh"_s},
                      {u"hosts"_s, hostsWanted}, {u"meshMs"_s, r.allMeshedMs},
                      {u"slowestNodeMeshMs"_s, meshMs},
                      {u"idleCpuPctPerMachine"_s, cpuPerMachinePct},
                      {u"idleCpuPctPerLink"_s, cpuPerLinkPct}, {u"rssKiBPerLink"_s, rssPerLinkKb},
                      {u"rssKiBMedianMaster"_s, median(r.idleRssKb)},
                      {u"broadcastDeliveriesPerSec"_s, rate},
                      {u"senderCpuUsPerBroadcast"_s, senderUs},
                      {u"serverIdleCpuPct"_s, serverIdlePct},
                      {u"receivers"_s, QString::fromStdString(r.result.at("receivers"))}};
        QFile f(QString::fromStdString(jsonPath));
        if (f.open(QIODevice::WriteOnly))
            f.write(QJsonDocument(o).toJson());
    }
    return 0;
}

void printRows(const std::vector<Row> &rows, QJsonArray *jsonRows)
{
    for (const Row &row : rows) {
        const double m = median(row.values), ratio = median(row.ratios);
        const bool pass = ratio >= row.threshold;
        std::printf("%-16s %-14s %s  [%s]\n  %s\n  ratio to %s: %.0f %%  target %s  %s\n",
                    row.id.c_str(), human(m).c_str(), row.unit.c_str(), row.extra.c_str(),
                    row.title.c_str(), row.against.c_str(), ratio * 100, row.target.c_str(),
                    std::isnan(ratio) ? "n/a" : pass ? "PASS" : "MISS");
        QJsonArray values, ratios;
        for (double v : row.values)
            values.append(v);
        for (double v : row.ratios)
            ratios.append(v);
        jsonRows->append(QJsonObject{{u"id"_s, QString::fromStdString(row.id)},
                                     {u"median"_s, m}, {u"ratio"_s, ratio},
                                     {u"values"_s, values}, {u"ratios"_s, ratios},
                                     {u"unit"_s, QString::fromStdString(row.unit)},
                                     {u"against"_s, QString::fromStdString(row.against)},
                                     {u"target"_s, QString::fromStdString(row.target)},
                                     {u"extra"_s, QString::fromStdString(row.extra)},
                                     {u"pass"_s, pass}});
    }
}

std::string us(double v)
{
    char b[32];
    std::snprintf(b, sizeof b, "%.2f", v);
    return b;
}

// The rows on the NATS engine, each run paired with its raw nats.c baseline on the same
// server right before it.
int runNatsRows(bool quick, int runs, const std::set<std::string> &only, const std::string &jsonPath)
{
    const auto wants = [&](const char *id) { return only.empty() || only.count(id); };
    TestSupport::NatsServers server;
    QString why;
    if (!TestSupport::NatsServers::available() || !server.start(1, &why)) {
        std::fprintf(stderr, "--engine nats needs nats-server: %s\n", qPrintable(why));
        return 2;
    }
    const QString url = server.url(0);
    const qint64 spid = server.pid(0);
    std::printf("nats-server %s (pid %lld), one server on loopback; %d runs per row\n",
                qPrintable(url), spid, runs);
    std::fflush(stdout);
    std::vector<Row> rows;
    std::vector<std::string> failures;
    const long long seq = quick ? 5000 : 20000, fast = quick ? 50000 : 200000,
                    bcast = quick ? 20000 : 100000, pub = quick ? 200000 : 1000000;
    struct Paired {
        std::vector<double> raw, senderUs, rawSenderUs, serverUs, rawServerUs;
    };
    // One row: per run, the raw baseline, then the Plexus cluster.
    const auto measure = [&](Row &row, Paired &p, int nodes, const QStringList &nodeArgs,
                             long long ops, const QString &helperRole, int helpers,
                             const QString &rawRole, const QStringList &rawArgs) {
        for (int r = 0; r < runs; ++r) {
            std::string error;
            const Fields raw = runRaw(url, spid, helperRole, helpers, rawRole, rawArgs, &error);
            if (!error.empty()) {
                failures.push_back(row.id + " baseline: " + error);
                continue;
            }
            const double server0 = procCpuSeconds(spid);
            const RunResult o = runCluster(nodes, 0, nodeArgs, 0, nullptr, 180, url);
            const double serverCpu = procCpuSeconds(spid) - server0;
            if (!o.ok || !o.error.empty()) {
                failures.push_back(row.id + ": " + o.error);
                continue;
            }
            const double base = std::stod(raw.at("rate"));
            row.values.push_back(std::stod(o.result.at("rate")));
            row.ratios.push_back(row.values.back() / base);
            p.raw.push_back(base);
            p.senderUs.push_back(std::stod(o.result.at("cpu_us_per_op")));
            p.rawSenderUs.push_back(std::stod(raw.at("cpu_us_per_msg")));
            p.serverUs.push_back(serverCpu / double(ops) * 1e6);
            p.rawServerUs.push_back(std::stod(raw.at("server_cpu_s")) / double(ops) * 1e6);
        }
        row.extra = "paired raw " + human(median(p.raw)) + "; CPU per op, Plexus (raw): sender "
                + us(median(p.senderUs)) + " us (" + us(median(p.rawSenderUs)) + "), nats-server "
                + us(median(p.serverUs)) + " us (" + us(median(p.rawServerUs)) + ")";
    };
    const auto nodeArgs = [](const char *row, long long count) {
        return QStringList{u"--row"_s, QString::fromLatin1(row), u"--count"_s,
                           QString::number(count), u"--warmup"_s, QString::number(count / 10)};
    };
    const auto rawArgs = [](long long count) {
        return QStringList{u"--count"_s, QString::number(count), u"--warmup"_s, QString::number(count / 10)};
    };
    if (wants("nats_seq")) {
        Row row{"nats_seq", "sequential cluster() call + reply to one other master on NATS, 64 B",
                "round trips/s", "raw nats.c request/reply, 2 processes, send-asap (median of paired ratios)",
                ">= 70 %"};
        row.threshold = 0.7;
        Paired p;
        measure(row, p, 2, nodeArgs("seq", seq), seq + seq / 10, u"echo"_s, 1, u"rr"_s, rawArgs(seq));
        rows.push_back(row);
    }
    if (wants("nats_fast")) {
        Row row{"nats_fast", "pipelined cluster() calls to another master on NATS, 64 B, window 1000",
                "calls/s", "raw nats.c pipelined echo, window 1000 (median of paired ratios)", ">= 50 %"};
        row.threshold = 0.5;
        Paired p;
        measure(row, p, 2, nodeArgs("pipe", fast) << u"--window"_s << u"1000"_s, fast + fast / 10,
                u"echo"_s, 1, u"rr"_s, rawArgs(fast) << u"--window"_s << u"1000"_s);
        rows.push_back(row);
    }
    if (wants("nats_bcast_7")) {
        Row row{"nats_bcast_7",
                "broadcast().others from one master to 7 machines on NATS (8 masters, no workers), 64 B, "
                "batches of 2000 + a sync, <= 4 outstanding",
                "deliveries/s", "raw nats.c 1 -> 7 fan-out, 7 subscriber processes, same batches and syncs "
                "(median of paired ratios)", ">= 60 %"};
        row.threshold = 0.6;
        Paired p;
        measure(row, p, 8, nodeArgs("bcast", bcast), bcast + bcast / 10, u"sink"_s, 7, u"fan"_s,
                rawArgs(bcast) << u"--receivers"_s << u"7"_s);
        rows.push_back(row);
    }
    std::vector<double> pubRates, publishRates, pubServerUs;
    if (wants("raw_pub")) {
        for (int r = 0; r < runs; ++r) {
            std::string error;
            const Fields f = runRaw(url, spid, u"sink"_s, 1, u"pub"_s, rawArgs(pub), &error);
            if (!error.empty()) {
                failures.push_back("raw_pub: " + error);
                continue;
            }
            pubRates.push_back(std::stod(f.at("rate")));
            publishRates.push_back(std::stod(f.at("publish_rate")));
            pubServerUs.push_back(std::stod(f.at("server_cpu_s")) / double(pub + pub / 10) * 1e6);
        }
    }
    KillFigures loss;
    if (wants("lost_idle") || wants("lost_traffic"))
        loss = measureLoss(quick ? 2 : 3, url, &failures);

    QJsonArray jsonRows;
    printRows(rows, &jsonRows);
    if (!pubRates.empty()) {
        std::printf("%-16s %s msgs/s delivered to 1 subscriber  [publish() returns at %s/s; nats-server "
                    "%s us per message]\n  raw nats.c publish throughput, 64 B, send-asap, one publisher, "
                    "one subscriber process\n",
                    "raw_pub", spread(pubRates).c_str(), human(median(publishRates)).c_str(),
                    us(median(pubServerUs)).c_str());
        QJsonArray values;
        for (double v : pubRates)
            values.append(v);
        jsonRows.append(QJsonObject{{u"id"_s, u"raw_pub"_s}, {u"median"_s, median(pubRates)},
                                    {u"values"_s, values}, {u"publishRate"_s, median(publishRates)},
                                    {u"unit"_s, u"messages/s"_s}});
    }
    if (wants("lost_idle") || wants("lost_traffic"))
        printLoss("nats", loss, &jsonRows);
    for (const std::string &f : failures)
        std::fprintf(stderr, "plexus-cluster-bench: ERROR %s\n", f.c_str());
    if (!jsonPath.empty()) {
        QFile f(QString::fromStdString(jsonPath));
        if (f.open(QIODevice::WriteOnly))
            f.write(QJsonDocument(QJsonObject{{u"engine"_s, u"nats"_s}, {u"rows"_s, jsonRows}}).toJson());
    }
    return failures.empty() ? 0 : 1;
}

} // namespace

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--nats-raw") == 0)
            return natsRawMain(argc, argv);
        if (std::strcmp(argv[i], "--node") == 0) {
            QStringList args;
            for (int j = 1; j < argc; ++j)
                args.append(QString::fromLocal8Bit(argv[j]));
            int qargc = 1;
            return runNode(qargc, argv, args);
        }
    }
    QCoreApplication app(argc, argv);
    g_self = QCoreApplication::applicationFilePath();
    bool quick = false;
    int runs = 5, scale = 0, idle = 10;
    long long scaleCount = 0;
    QString engine = u"mesh"_s;
    std::string jsonPath;
    std::set<std::string> only;
    const QStringList a = app.arguments();
    for (qsizetype i = 1; i < a.size(); ++i) {
        if (a[i] == u"--quick") quick = true;
        else if (a[i] == u"--runs" && i + 1 < a.size()) runs = qMax(1, a[++i].toInt());
        else if (a[i] == u"--json" && i + 1 < a.size()) jsonPath = a[++i].toStdString();
        else if (a[i] == u"--scale" && i + 1 < a.size()) scale = a[++i].toInt();
        else if (a[i] == u"--idle" && i + 1 < a.size()) idle = a[++i].toInt();
        else if (a[i] == u"--count" && i + 1 < a.size()) scaleCount = a[++i].toLongLong();
        else if (a[i] == u"--engine" && i + 1 < a.size() && (a[i + 1] == u"mesh" || a[i + 1] == u"nats"))
            engine = a[++i];
        else if (a[i] == u"--only" && i + 1 < a.size()) {
            for (const QString &r : a[++i].split(u','))
                only.insert(r.toStdString());
        } else {
            std::printf("usage: plexus-cluster-bench [--quick] [--runs N] [--json FILE] "
                        "[--only tcp_seq,remote_fast,cluster_bcast_3,lost_idle,lost_traffic]\n"
                        "       plexus-cluster-bench --engine nats [--quick] [--runs N] [--json FILE] "
                        "[--only nats_seq,nats_fast,nats_bcast_7,raw_pub,lost_idle,lost_traffic]\n"
                        "       plexus-cluster-bench --scale N [--engine mesh|nats] [--idle SECONDS] "
                        "[--count BROADCASTS] [--json FILE]\n");
            return a[i] == u"--help" ? 0 : 2;
        }
    }
    if (scale > 0)
        return runScale(scale, idle, jsonPath, engine == u"nats", scaleCount);
    if (quick)
        runs = qMin(runs, 3);
    if (engine == u"nats")
        return runNatsRows(quick, runs, only, jsonPath);
    const auto wants = [&](const char *id) { return only.empty() || only.count(id); };
    const long long seq = quick ? 5000 : 20000, fast = quick ? 100000 : 500000,
                    bcast = quick ? 20000 : 200000;
    std::vector<Row> rows;
    std::vector<std::string> failures;
    const std::map<std::string, double> local =
            wants("remote_fast") || wants("cluster_bcast_3") ? localBaselines(quick, runs)
                                                             : std::map<std::string, double>();
    // Runs a row's cluster \a runs times. Each good run adds its rate, and its ratio to the
    // baseline that \a baseline() measures (or looks up) right before it; that baseline is
    // kept in *bases. Returns the last good run's result.
    const auto measure = [&](Row &row, int nodes, int workers, const QStringList &args,
                             int timeoutSec, const std::function<double()> &baseline,
                             std::vector<double> *bases = nullptr) {
        Fields last;
        for (int r = 0; r < runs; ++r) {
            const double base = baseline();
            const RunResult o = runCluster(nodes, workers, args, 0, nullptr, timeoutSec);
            if (!o.ok || !o.error.empty()) {
                failures.push_back(row.id + ": " + o.error);
                continue;
            }
            row.values.push_back(std::stod(o.result.at("rate")));
            row.ratios.push_back(row.values.back() / base);
            if (bases)
                bases->push_back(base);
            last = o.result;
        }
        return last;
    };
    const auto callArgs = [](const char *row, long long count) {
        return QStringList{u"--row"_s, QString::fromLatin1(row), u"--count"_s,
                           QString::number(count), u"--warmup"_s, QString::number(count / 10)};
    };
    if (wants("tcp_seq")) {
        Row row{"tcp_seq", "sequential cluster() call + reply over loopback TCP, 64 B",
                "round trips/s", "raw TCP ping-pong (median of paired ratios)", ">= 80 %"};
        row.threshold = 0.8;
        std::vector<double> raws;
        measure(row, 2, 0, callArgs("seq", seq), 120,
                [&] { return rawTcpPingPong(quick ? 10000 : 40000, 64); }, &raws);
        row.extra = "paired raw TCP ping-pong " + human(median(raws)) + " rt/s";
        rows.push_back(row);
    }
    if (wants("remote_fast")) {
        Row row{"remote_fast", "pipelined cluster() calls to another master, 64 B, window 1000",
                "calls/s", "local fast path (plexus-bench fast, same run)", ">= 60 %"};
        row.threshold = 0.6;
        measure(row, 2, 0, callArgs("pipe", fast) << u"--window"_s << u"1000"_s, 120,
                [&] { return local.at("fast"); });
        row.extra = "local fast path " + human(local.at("fast")) + " calls/s";
        rows.push_back(row);
    }
    if (wants("cluster_bcast_3")) {
        Row row{"cluster_bcast_3", "broadcast().others from one master to 3 machines x (master + 2 workers), 64 B",
                "deliveries/s", "local broadcast -> 2 workers (plexus-bench bcast_2, same run)", ">= 50 %"};
        row.threshold = 0.5;
        const Fields last = measure(row, 3, 2, callArgs("bcast", bcast), 180,
                                    [&] { return local.at("bcast_2"); });
        if (last.count("receivers"))
            row.extra = last.at("receivers") + " receivers per broadcast";
        row.extra += "; local broadcast " + human(local.at("bcast_2")) + " deliveries/s";
        rows.push_back(row);
    }
    // The loss rows only when asked for on the mesh (--only lost_idle,lost_traffic).
    KillFigures loss;
    if (only.count("lost_idle") || only.count("lost_traffic"))
        loss = measureLoss(quick ? 2 : 3, {}, &failures);
    QJsonArray jsonRows;
    printRows(rows, &jsonRows);
    if (only.count("lost_idle") || only.count("lost_traffic"))
        printLoss("mesh", loss, &jsonRows);
    for (const std::string &f : failures)
        std::fprintf(stderr, "plexus-cluster-bench: ERROR %s\n", f.c_str());
    if (!jsonPath.empty()) {
        QFile f(QString::fromStdString(jsonPath));
        if (f.open(QIODevice::WriteOnly))
            f.write(QJsonDocument(QJsonObject{{u"rows"_s, jsonRows}}).toJson());
    }
    return failures.empty() ? 0 : 1;
}
