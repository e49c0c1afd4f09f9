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

// ---------------------------------------------------------------------------------------
// Driver

QString g_self;
int g_runNumber = 0;   // each run's nodes get a secret of their own (subjects apart on NATS)


// Starts \a nodes nodes (on \a hosts, or loopback), node 0 running \a row; with \a natsUrl
// they join on NATS instead of the mesh.
RunResult runCluster(int nodes, int workers, const QStringList &rowArgs, int idleSeconds,
                     TestHosts *hosts, int timeoutSec, const QString &natsUrl,
                     const PollHook &poll)
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

} // namespace ClusterBench

using namespace ClusterBench;

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
