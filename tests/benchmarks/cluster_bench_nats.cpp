// SPDX-License-Identifier: MIT
//
// plexus-cluster-bench's rows on the NATS engine, each run paired with raw nats.c on the same
// server right before it (nats_baseline.cpp), and the failure-detection rows there.
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

} // namespace ClusterBench
