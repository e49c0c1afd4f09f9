// SPDX-License-Identifier: MIT
#pragma once
//
// What the parts of plexus-cluster-bench share: the node processes it starts (node mode,
// cluster_bench_node.cpp), running a row on them (cluster_bench.cpp), the rows on NATS
// with their raw nats.c baselines (cluster_bench_nats.cpp) and --scale
// (cluster_bench_scale.cpp). The command line and the rows: cluster_bench.cpp.

#include "bench.h"

#include <QtCore/qlist.h>
#include <QtCore/qstring.h>
#include <QtCore/qstringlist.h>

#include <cmath>
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

QT_BEGIN_NAMESPACE
class QJsonArray;
class QProcess;
QT_END_NAMESPACE
class TestHosts;

namespace ClusterBench {

using Bench::Fields;

extern QString g_self;     // this program, run again as nodes and raw clients
extern int g_runNumber;    // each run's nodes get a secret of their own (subjects apart on NATS)

// Node mode: one master of a run (--node ...).
int runNode(int argc, char **argv, const QStringList &args);
long long steadyNs();

// What a run of nodes reported.
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

// Starts \a nodes nodes (on \a hosts, or loopback), node 0 running \a rowArgs; with
// \a natsUrl they join on NATS instead of the mesh.
RunResult runCluster(int nodes, int workers, const QStringList &rowArgs, int idleSeconds,
                     TestHosts *hosts, int timeoutSec, const QString &natsUrl = {},
                     const PollHook &poll = {});

// A row as printed: its values, its ratios to the baseline and the target.
struct Row {
    Row(std::string id, std::string title, std::string unit, std::string against, std::string target)
        : id(std::move(id)), title(std::move(title)), unit(std::move(unit)),
          against(std::move(against)), target(std::move(target)) { }
    std::string id, title, unit, against, target;
    std::vector<double> values, ratios;
    double threshold = 0;
    std::string extra;
};
void printRows(const std::vector<Row> &rows, QJsonArray *jsonRows);

// Failure detection: SIGKILL of a master until the other's peerDisconnected.
struct KillFigures {
    std::vector<double> idleMs, trafficMs;
};
PollHook killNodeOne();
KillFigures measureLoss(int runs, const QString &natsUrl, std::vector<std::string> *failures);
void printLoss(const char *engine, const KillFigures &k, QJsonArray *json);

double median(std::vector<double> v);
std::string human(double v);
std::string spread(const std::vector<double> &v);
std::string us(double v);
// CPU seconds (user + system) a process used so far, from /proc; NAN if it is gone.
double procCpuSeconds(qint64 pid);

// cluster_bench_nats.cpp
Fields runRaw(const QString &url, qint64 serverPid, const QString &helperRole, int helpers,
              const QString &role, const QStringList &args, std::string *error);
int runNatsRows(bool quick, int runs, const std::set<std::string> &only, const std::string &jsonPath);

// cluster_bench_scale.cpp
int runScale(int hostsWanted, int idleSeconds, const std::string &jsonPath, bool onNats, long long count);

} // namespace ClusterBench
