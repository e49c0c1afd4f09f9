// SPDX-License-Identifier: MIT
//
// plexus-cluster-bench: the cluster against baselines measured in the same run.
//
//   plexus-cluster-bench [--quick] [--runs N] [--json FILE] [--only ROW,...]
//   plexus-cluster-bench --scale N [--idle SECONDS]       (N hosts in network namespaces)
//
// Rows (docs/BENCHMARKS.md):
//   tcp_seq         sequential cluster() round trips to one other master over loopback TCP,
//                   each run paired with a raw TCP ping-pong run right before it
//   remote_fast     pipelined 64 B cluster() calls to one other master (window 1000),
//                   against plexus-bench's local fast path ("fast") in the same run
//   cluster_bcast_3 broadcast().others from one master to 3 machines x (master + 2 workers),
//                   against plexus-bench's local broadcast to 2 workers ("bcast_2")
// --scale N starts N hosts (network namespaces on a bridge, as tst_cluster does), each a
// master with one worker, and reports the time to a full mesh, the heartbeat cost per
// link while idle (CPU and memory), and broadcast deliveries/s across all of them.
//
// Every node is this program in "--node" mode (Plexus::exec); node 0 drives the row once
// it sees the full mesh and prints one RESULT line; the others print their idle figures.
#include "bench.h"
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

struct Driver {
    Clock::time_point t0;
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
    if (++g_d.completed == g_n.warmup)
        g_d.t0 = Clock::now();
    if (g_d.completed == g_d.total) {
        const double dt = secondsSince(g_d.t0);
        finishRow({{"rate", std::to_string(double(g_d.total - g_n.warmup) / dt)},
                   {"seconds", std::to_string(dt)},
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
    }
    if (g_d.sent < g_d.total || g_d.outstanding > 0) {
        pumpBroadcast();
        return;
    }
    g_d.seconds = secondsSince(g_d.t0);
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


struct RunResult {
    bool ok = false;
    Fields result;                // node 0's RESULT
    std::vector<double> meshMs;   // per node, from its own listenCluster()
    double allMeshedMs = NAN;     // from the first node's start to the last node's mesh
    std::vector<double> idleCpuMs, idleRssKb;
    std::string error;
};

// Starts \a nodes nodes (on \a hosts, or loopback), node 0 running \a row.
RunResult runCluster(int nodes, int workers, const QStringList &rowArgs, int idleSeconds,
                     TestHosts *hosts, int timeoutSec)
{
    RunResult out;
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
        if (!ns) {
            for (int j = 0; j < nodes; ++j)
                if (j != i)
                    args << u"--announce"_s << u"127.0.0.1:%1"_s.arg(ports[size_t(j)]);
        }
        if (i == 0)
            args << rowArgs;
        auto *p = new QProcess;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(u"SECRET"_s, u"plexus-cluster-bench"_s);
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
        if (rowArgs.isEmpty())
            p->terminate();
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

struct Row {
    std::string id, title, unit, against, target;
    std::vector<double> values, ratios;
    double threshold = 0;
    std::string extra;
};

int runScale(int hostsWanted, int idleSeconds, const std::string &jsonPath)
{
    TestHosts hosts;
    hosts.setUp(hostsWanted);
    if (hosts.mode() != TestHosts::Mode::Namespaces) {
        std::fprintf(stderr, "--scale needs network namespaces (root, iproute2): %s\n",
                     qPrintable(hosts.reason()));
        return 2;
    }
    // One node alone first: the memory of a node with no links.
    TestHosts alone;
    alone.setUp(1);
    const RunResult single = runCluster(1, 1, {}, 3, &alone, 60);
    alone.tearDown();
    const RunResult r = runCluster(hostsWanted, 1,
                                   {u"--row"_s, u"bcast"_s, u"--count"_s, u"100000"_s,
                                    u"--warmup"_s, u"10000"_s},
                                   idleSeconds, &hosts, 300);
    hosts.tearDown();
    if (!r.ok || !r.error.empty()) {
        std::fprintf(stderr, "scale run failed: %s\n", r.error.c_str());
        return 1;
    }
    const double links = hostsWanted - 1;
    const double meshMs = *std::max_element(r.meshMs.begin(), r.meshMs.end());
    const double cpuPerLinkPct = median(r.idleCpuMs) / (idleSeconds * 1000.0) / links * 100;
    const double rssPerLinkKb = (median(r.idleRssKb) - median(single.idleRssKb)) / links;
    const double rate = std::stod(r.result.at("rate"));
    std::printf("scale: %d hosts (network namespaces), one master + 1 worker each\n", hostsWanted);
    std::printf("  full mesh after            %.0f ms from the first start (slowest node %.0f ms "
                "from its own; %d links in all)\n", r.allMeshedMs, meshMs,
                hostsWanted * (hostsWanted - 1) / 2);
    std::printf("  idle heartbeat CPU         %.4f %% of a core per link (median node, %d s)\n",
                cpuPerLinkPct, idleSeconds);
    std::printf("  memory per link            %.0f KiB (median node RSS %.0f KiB vs %.0f KiB alone)\n",
                rssPerLinkKb, median(r.idleRssKb), median(single.idleRssKb));
    std::printf("  broadcast .others          %s deliveries/s to %s processes\n", human(rate).c_str(),
                r.result.at("receivers").c_str());
    if (!jsonPath.empty()) {
        QJsonObject o{{u"hosts"_s, hostsWanted}, {u"meshMs"_s, r.allMeshedMs},
                      {u"slowestNodeMeshMs"_s, meshMs},
                      {u"idleCpuPctPerLink"_s, cpuPerLinkPct}, {u"rssKiBPerLink"_s, rssPerLinkKb},
                      {u"broadcastDeliveriesPerSec"_s, rate},
                      {u"receivers"_s, QString::fromStdString(r.result.at("receivers"))}};
        QFile f(QString::fromStdString(jsonPath));
        if (f.open(QIODevice::WriteOnly))
            f.write(QJsonDocument(o).toJson());
    }
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; ++i) {
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
    std::string jsonPath;
    std::set<std::string> only;
    const QStringList a = app.arguments();
    for (qsizetype i = 1; i < a.size(); ++i) {
        if (a[i] == u"--quick") quick = true;
        else if (a[i] == u"--runs" && i + 1 < a.size()) runs = qMax(1, a[++i].toInt());
        else if (a[i] == u"--json" && i + 1 < a.size()) jsonPath = a[++i].toStdString();
        else if (a[i] == u"--scale" && i + 1 < a.size()) scale = a[++i].toInt();
        else if (a[i] == u"--idle" && i + 1 < a.size()) idle = a[++i].toInt();
        else if (a[i] == u"--only" && i + 1 < a.size()) {
            for (const QString &r : a[++i].split(u','))
                only.insert(r.toStdString());
        } else {
            std::printf("usage: plexus-cluster-bench [--quick] [--runs N] [--json FILE] "
                        "[--only tcp_seq,remote_fast,cluster_bcast_3]\n"
                        "       plexus-cluster-bench --scale N [--idle SECONDS] [--json FILE]\n");
            return a[i] == u"--help" ? 0 : 2;
        }
    }
    if (scale > 0)
        return runScale(scale, idle, jsonPath);
    if (quick)
        runs = qMin(runs, 3);
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
    QJsonArray jsonRows;
    for (const Row &row : rows) {
        const double m = median(row.values), ratio = median(row.ratios);
        const bool pass = ratio >= row.threshold;
        std::printf("%-16s %-14s %s  [%s]\n  %s\n  ratio to %s: %.0f %%  target %s  %s\n",
                    row.id.c_str(), human(m).c_str(), row.unit.c_str(), row.extra.c_str(),
                    row.title.c_str(), row.against.c_str(), ratio * 100, row.target.c_str(),
                    std::isnan(ratio) ? "n/a" : pass ? "PASS" : "MISS");
        QJsonArray values;
        for (double v : row.values)
            values.append(v);
        jsonRows.append(QJsonObject{{u"id"_s, QString::fromStdString(row.id)},
                                    {u"median"_s, m}, {u"ratio"_s, ratio},
                                    {u"values"_s, values}, {u"unit"_s, QString::fromStdString(row.unit)},
                                    {u"against"_s, QString::fromStdString(row.against)},
                                    {u"target"_s, QString::fromStdString(row.target)},
                                    {u"pass"_s, pass}});
    }
    for (const std::string &f : failures)
        std::fprintf(stderr, "plexus-cluster-bench: ERROR %s\n", f.c_str());
    if (!jsonPath.empty()) {
        QFile f(QString::fromStdString(jsonPath));
        if (f.open(QIODevice::WriteOnly))
            f.write(QJsonDocument(QJsonObject{{u"rows"_s, jsonRows}}).toJson());
    }
    return failures.empty() ? 0 : 1;
}
