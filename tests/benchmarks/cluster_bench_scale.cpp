// SPDX-License-Identifier: MIT
//
// plexus-cluster-bench --scale N --engine mesh|nats: N machines, each a master with one
// worker; time to converge, idle cost, broadcast deliveries/s (docs/CLUSTER.md, "Scale").
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

} // namespace ClusterBench
