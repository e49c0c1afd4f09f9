// SPDX-License-Identifier: MIT
// The Plexus scenarios of plexus-bench. Each runs in a fresh process started by the driver
// ("plexus-bench --scenario NAME ..."), which calls Plexus::exec() so that the workers are
// forked on the real path, before Qt starts. Only the public API is used.
//
// Worker-driven scenarios (seq, pipe, burst): worker slot 0 calls the master and counts
// the replies; when done it sends its figures to the master in one more call, the master
// adds its own memory figures, prints the RESULT line and quits (which stops the workers).
// Master-driven scenarios (bcast, idle): the master measures and prints.
#include "bench.h"

#include <plexus/plexus.h>

#include <QtCore/qcoreapplication.h>
#include <QtCore/qprocess.h>
#include <QtCore/qrandom.h>
#include <QtCore/qtimer.h>
#include <QtCore/qurl.h>

#include <atomic>
#include <cstdio>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

namespace Bench {

namespace {

ScenarioArgs g_args;
QByteArray g_payload;
std::atomic<long long> g_warnings{0};
const char *g_stage = "waiting for workersReady";
constexpr int StallSeconds = 20;

void messageHandler(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    if (type == QtDebugMsg || type == QtInfoMsg)
        return;
    // A flood of identical warnings (e.g. backpressure) must not dominate the run: print
    // the first few, count the rest.
    const long long n = ++g_warnings;
    if (n <= 1 || type == QtFatalMsg)
        std::fprintf(stderr, "  [pid %d] %s: %s\n", int(::getpid()),
                     context.category ? context.category : "default", qPrintable(message));
    if (type == QtFatalMsg)
        std::abort();
}

std::string num(long long v) { return std::to_string(v); }
std::string num(double v)
{
    char b[64];
    std::snprintf(b, sizeof b, "%.6g", v);
    return b;
}

// CPU time and context switches of this process so far: "<prefix>_cpu_s", "<prefix>_vcsw"
// (waited for input), "<prefix>_ivcsw" (preempted).
// This process's CPU time (user + system), in seconds.
double cpuSeconds()
{
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec)
            + double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

void addUsage(Fields &f, const char *prefix)
{
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    const double cpu = double(u.ru_utime.tv_sec + u.ru_stime.tv_sec)
            + double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
    const std::string p = prefix;
    f[p + "_cpu_s"] = num(cpu);
    f[p + "_vcsw"] = num((long long)u.ru_nvcsw);
    f[p + "_ivcsw"] = num((long long)u.ru_nivcsw);
}

void afterTurns(int turns, std::function<void()> fn)
{
    if (turns <= 0) {
        fn();
        return;
    }
    QTimer::singleShot(0, qApp, [turns, fn = std::move(fn)]() mutable {
        afterTurns(turns - 1, std::move(fn));
    });
}

// ---------------------------------------------------------------------------------------
// Master side of the worker-driven scenarios

void masterEcho(const Plexus::Message &m)
{
    const QByteArrayView data = m.data();
    Plexus::reply(m, {.data = data.first(qMin<qsizetype>(data.size(), 64)), .done = true});
}

void masterReport(const Plexus::Message &m)
{
    Fields f = parseFields(std::string(m.data().data(), size_t(m.length())));
    f["master_hwm_kb"] = num(procStatusKb(0, "VmHWM"));
    f["master_rss_kb"] = num(procStatusKb(0, "VmRSS"));
    f["master_warnings"] = num(g_warnings.load());
    addUsage(f, "master");
    emitResult(f);
    QCoreApplication::quit();
}

// ---------------------------------------------------------------------------------------
// Worker side: sequential, pipelined (fast path or Reply objects) and the burst

struct Tracker
{
    std::vector<unsigned char> seen;
    long long total = 0;       // calls to issue, warm-up included
    long long warmup = 0;
    long long issued = 0;
    long long completed = 0;
    long long errors = 0;
    long long duplicates = 0;
    long long outOfRange = 0;
    long long badPayload = 0;
    long long unexpectedReplies = 0;
    long long progressMark = -1;
    int stalledChecks = 0;
    Clock::time_point t0;
    double cpu0 = 0;           // this process's CPU seconds at t0
    bool finished = false;
    void (*issue)() = nullptr;
};
Tracker g_t;
QTimer *g_watchdog = nullptr;
double g_issueSeconds = 0;        // burst: time spent in the issuing loop
long long g_rssAfterIssueKb = 0;  // burst: worker RSS right after the issuing loop

void *tokenFor(long long i) { return reinterpret_cast<void *>(quintptr(i + 1)); }

void finishWorker(const char *error);

void completeOne(void *udata, bool error, qsizetype replyLength)
{
    const quintptr v = quintptr(udata);
    if (v == 0 || qint64(v) > g_t.total) {
        ++g_t.outOfRange;
        return;
    }
    if (g_t.seen[v - 1]) {
        ++g_t.duplicates;
        return;
    }
    g_t.seen[v - 1] = 1;
    if (error)
        ++g_t.errors;
    else if (replyLength != qMin<qsizetype>(g_payload.size(), 64))
        ++g_t.badPayload;
    ++g_t.completed;
    if (g_t.completed == g_t.warmup)
        { g_t.t0 = Clock::now(); g_t.cpu0 = cpuSeconds(); }
    if (g_t.issue && g_t.issued < g_t.total)
        g_t.issue();
    if (g_t.completed == g_t.total)
        finishWorker(nullptr);
}

void onUnexpectedReply(const Plexus::Message &) { ++g_t.unexpectedReplies; }

void onDoneFast(const Plexus::Message &m)
{
    completeOne(m.udata(), m.isError(), m.length());
}

void issueFast()
{
    const long long i = g_t.issued++;
    Plexus::call({.call = masterEcho, .onReply = onUnexpectedReply, .onDone = onDoneFast,
                  .udata = tokenFor(i), .data = g_payload});
}

void issueReplyObject()
{
    const long long i = g_t.issued++;
    Plexus::Reply *r = Plexus::call({.call = masterEcho, .udata = tokenFor(i),
                                     .data = g_payload, .reply = true});
    if (!r) {
        ++g_t.errors;
        return;
    }
    QObject::connect(r, &Plexus::Reply::finished, r, [r] {
        const bool error = r->error() != Plexus::Reply::NoError || r->receivedReplies() != 1;
        // The final reply's payload length is not kept by the Reply: count it as right.
        completeOne(r->udata(), error, qMin<qsizetype>(g_payload.size(), 64));
    });
}

// The floor of a QObject per call in Qt, for the Reply row: the fast path, plus what a
// program that made its own QObject per call would pay for it: construct it, connect one
// lambda (as to Reply::finished), deleteLater() it when the call is done.
std::vector<QObject *> g_callObjects;

void onDoneWithQObject(const Plexus::Message &m)
{
    const quintptr v = quintptr(m.udata());
    if (v >= 1 && v <= g_callObjects.size()) {
        if (QObject *o = std::exchange(g_callObjects[v - 1], nullptr))
            o->deleteLater();
    }
    completeOne(m.udata(), m.isError(), m.length());
}

void issueWithQObject()
{
    const long long i = g_t.issued++;
    auto *o = new QObject;
    QObject::connect(o, &QObject::objectNameChanged, o, [] { ++g_t.unexpectedReplies; });   // never emitted
    g_callObjects[size_t(i)] = o;
    Plexus::call({.call = masterEcho, .onReply = onUnexpectedReply, .onDone = onDoneWithQObject,
                  .udata = tokenFor(i), .data = g_payload});
}

void finishWorker(const char *error)
{
    if (g_t.finished)
        return;
    g_t.finished = true;
    const double dt = secondsSince(g_t.t0);
    if (g_watchdog)
        g_watchdog->stop();
    const long long measured = g_t.total - g_t.warmup;
    Fields f;
    if (error)
        f["error"] = error;
    f["rate"] = num(double(measured) / dt);
    f["seconds"] = num(dt);
    f["count"] = num(measured);
    // The caller's CPU time per measured call (user + system), microseconds.
    f["caller_cpu_us_per_call"] = num((cpuSeconds() - g_t.cpu0) * 1e6 / double(measured));
    f["total"] = num(g_t.total);
    f["issued"] = num(g_t.issued);
    f["completed"] = num(g_t.completed);
    f["lost"] = num(g_t.issued - g_t.completed);
    f["errors"] = num(g_t.errors);
    f["duplicates"] = num(g_t.duplicates);
    f["out_of_range"] = num(g_t.outOfRange);
    f["bad_payload"] = num(g_t.badPayload);
    f["unexpected_replies"] = num(g_t.unexpectedReplies);
    f["worker_hwm_kb"] = num(procStatusKb(0, "VmHWM"));
    f["worker_rss_kb"] = num(procStatusKb(0, "VmRSS"));
    f["worker_warnings"] = num(g_warnings.load());
    addUsage(f, "worker");
    if (g_rssAfterIssueKb) {
        f["issue_seconds"] = num(g_issueSeconds);
        f["worker_rss_after_issue_kb"] = num(g_rssAfterIssueKb);
    }
    const std::string line = formatFields(f);
    Plexus::call({.call = masterReport, .data = QByteArrayView(line.data(), qsizetype(line.size()))});
}

void startWatchdog(const std::function<long long()> &progress,
                   const std::function<void()> &onStall)
{
    if (qEnvironmentVariableIsSet("PLEXUS_BENCH_NO_WATCHDOG"))
        return;
    g_watchdog = new QTimer(qApp);
    g_watchdog->setInterval(1000);
    QObject::connect(g_watchdog, &QTimer::timeout, qApp, [progress, onStall] {
        const long long now = progress();
        if (now != g_t.progressMark) {
            g_t.progressMark = now;
            g_t.stalledChecks = 0;
            return;
        }
        if (++g_t.stalledChecks >= StallSeconds) {
            g_watchdog->stop();
            onStall();
        }
    });
    g_watchdog->start();
}

void startWorkerScenario()
{
    const std::string &s = g_args.name;
    g_t.total = g_args.warmup + g_args.count;
    g_t.warmup = g_args.warmup;
    g_t.seen.assign(size_t(g_t.total), 0);
    startWatchdog([] { return g_t.completed; },
                  [] { finishWorker("stalled: replies missing"); });
    if (s == "burst") {
        // All calls in one go, from one event-loop callback, without waiting.
        g_t.warmup = 0;
        { g_t.t0 = Clock::now(); g_t.cpu0 = cpuSeconds(); }
        g_t.issue = nullptr;
        for (long long i = 0; i < g_t.total; ++i)
            issueFast();
        g_issueSeconds = secondsSince(g_t.t0);
        g_rssAfterIssueKb = procStatusKb(0, "VmRSS");
        return;
    }
    g_t.issue = g_args.replyObjects ? issueReplyObject : issueFast;
    if (g_args.qobjectPerCall) {
        g_callObjects.assign(size_t(g_t.total), nullptr);
        g_t.issue = issueWithQObject;
    }
    if (g_t.warmup == 0)
        { g_t.t0 = Clock::now(); g_t.cpu0 = cpuSeconds(); }
    const long long window = qMax(1LL, s == "seq" ? 1LL : g_args.window);
    for (long long i = 0; i < window && g_t.issued < g_t.total; ++i)
        g_t.issue();
}

// ---------------------------------------------------------------------------------------
// Local broadcast: master -> every worker, fire-and-forget, in batches. After each batch
// the master sends one "sync" local call that wants a reply; at most `depth` syncs are
// outstanding, which bounds what is queued. Workers count deliveries; at the end the master
// collects the counts with one more local call.

long long g_delivered = 0;   // on workers

void workerOnBroadcast(const Plexus::Message &) { ++g_delivered; }
void workerOnSync(const Plexus::Message &m) { Plexus::reply(m, {.done = true}); }
void workerOnReport(const Plexus::Message &m)
{
    Fields f;
    f["delivered"] = num(g_delivered);
    f["hwm_kb"] = num(procStatusKb(0, "VmHWM"));
    f["rss_kb"] = num(procStatusKb(0, "VmRSS"));
    f["warnings"] = num(g_warnings.load());
    const std::string line = formatFields(f);
    Plexus::reply(m, {.data = QByteArrayView(line.data(), qsizetype(line.size())), .done = true});
}

struct Broadcast
{
    long long total = 0;
    long long warmup = 0;
    long long sent = 0;
    long long outstanding = 0;
    long long syncErrors = 0;
    long long coveredAtT0 = -1;
    std::deque<long long> marks;
    Clock::time_point t0;
    double seconds = 0;
    // report
    long long reports = 0;
    long long reportErrors = 0;
    long long delivered = 0;
    long long maxWorkerHwm = 0;
    long long workerWarnings = 0;
    bool finished = false;
};
Broadcast g_b;

void pumpBroadcast();
void finishBroadcast(const char *error);

void masterOnSyncDone(const Plexus::Message &m)
{
    if (m.isError())
        ++g_b.syncErrors;
    --g_b.outstanding;
    const long long covered = g_b.marks.front();
    g_b.marks.pop_front();
    g_t.completed = covered;   // progress for the watchdog
    if (g_b.coveredAtT0 < 0 && covered >= g_b.warmup) {
        g_b.coveredAtT0 = covered;
        g_b.t0 = Clock::now();
    }
    if (g_b.sent >= g_b.total && g_b.outstanding == 0) {
        g_b.seconds = secondsSince(g_b.t0);
        Plexus::local({.call = workerOnReport, .onReply = [](const Plexus::Message &r) {
                           const Fields f = parseFields(std::string(r.data().data(), size_t(r.length())));
                           if (r.isError() || !f.count("delivered")) {
                               ++g_b.reportErrors;
                               return;
                           }
                           ++g_b.reports;
                           g_b.delivered += std::stoll(f.at("delivered"));
                           g_b.maxWorkerHwm = qMax(g_b.maxWorkerHwm, std::stoll(f.at("hwm_kb")));
                           g_b.workerWarnings += std::stoll(f.at("warnings"));
                       },
                       .onDone = [](const Plexus::Message &r) {
                           const Fields f = parseFields(std::string(r.data().data(), size_t(r.length())));
                           if (r.isError() || !f.count("delivered")) {
                               ++g_b.reportErrors;
                           } else {
                               ++g_b.reports;
                               g_b.delivered += std::stoll(f.at("delivered"));
                               g_b.maxWorkerHwm = qMax(g_b.maxWorkerHwm, std::stoll(f.at("hwm_kb")));
                               g_b.workerWarnings += std::stoll(f.at("warnings"));
                           }
                           finishBroadcast(nullptr);
                       },
                       .others = true});
        return;
    }
    pumpBroadcast();
}

void pumpBroadcast()
{
    while (g_b.outstanding < g_args.depth && g_b.sent < g_b.total) {
        const long long n = qMin(g_args.batch, g_b.total - g_b.sent);
        for (long long i = 0; i < n; ++i)
            Plexus::local({.call = workerOnBroadcast, .others = true, .data = g_payload});
        g_b.sent += n;
        Plexus::local({.call = workerOnSync, .onDone = masterOnSyncDone, .others = true});
        g_b.marks.push_back(g_b.sent);
        ++g_b.outstanding;
    }
}

void finishBroadcast(const char *error)
{
    if (g_b.finished)
        return;
    g_b.finished = true;
    if (g_watchdog)
        g_watchdog->stop();
    const long long n = g_args.workers;
    const long long measured = (g_b.total - qMax(0LL, g_b.coveredAtT0)) * n;
    Fields f;
    if (error)
        f["error"] = error;
    f["rate"] = num(double(measured) / g_b.seconds);
    f["seconds"] = num(g_b.seconds);
    f["count"] = num(measured);
    f["broadcasts"] = num(g_b.total);
    f["expected_deliveries"] = num(g_b.total * n);
    f["delivered"] = num(g_b.delivered);
    f["lost"] = num(g_b.total * n - g_b.delivered);
    f["reports"] = num(g_b.reports);
    f["errors"] = num(g_b.syncErrors + g_b.reportErrors);
    f["master_hwm_kb"] = num(procStatusKb(0, "VmHWM"));
    f["master_rss_kb"] = num(procStatusKb(0, "VmRSS"));
    f["worker_hwm_kb"] = num(g_b.maxWorkerHwm);
    f["master_warnings"] = num(g_warnings.load());
    f["worker_warnings"] = num(g_b.workerWarnings);
    if (!error && (g_b.reports != n || g_b.delivered != g_b.total * n))
        f["error"] = "deliveries lost or duplicated";
    emitResult(f);
    QCoreApplication::quit();
}

void startBroadcast()
{
    g_b.total = g_args.warmup + g_args.count;
    g_b.warmup = g_args.warmup;
    if (g_b.warmup == 0) {
        g_b.coveredAtT0 = 0;
        g_b.t0 = Clock::now();
    }
    startWatchdog([] { return g_t.completed; },
                  [] { finishBroadcast("stalled: sync replies missing"); });
    pumpBroadcast();
}

// ---------------------------------------------------------------------------------------
// Idle: master RSS with N workers connected and quiet.

void startIdle(Plexus::Node &node)
{
    // One round trip to every worker (so each has finished starting), then a few more
    // event-loop turns, then read the figures.
    g_stage = "idle: sync sent";
    Plexus::local({.call = workerOnSync, .onDone = [](const Plexus::Message &m) {
                       g_stage = "idle: sync done";
                       if (m.isError())
                           std::fprintf(stderr, "plexus-bench: idle sync failed\n");
                       afterTurns(20, [] {
                           Fields f;
                           f["master_rss_kb"] = num(procStatusKb(0, "VmRSS"));
                           f["master_hwm_kb"] = num(procStatusKb(0, "VmHWM"));
                           f["master_rss_anon_kb"] = num(procStatusKb(0, "RssAnon"));
                           f["master_rss_file_kb"] = num(procStatusKb(0, "RssFile"));
                           long long sum = 0, n = 0, maxRss = 0;
                           for (const Plexus::WorkerInfo &w : Plexus::Node::instance()->workers()) {
                               const long long rss = procStatusKb(w.pid(), "VmRSS");
                               sum += rss;
                               maxRss = qMax(maxRss, rss);
                               ++n;
                           }
                           f["workers"] = num(n);
                           f["worker_rss_kb_max"] = num(maxRss);
                           f["worker_rss_kb_sum"] = num(sum);
                           f["rate"] = f["master_rss_kb"];
                           emitResult(f);
                           QCoreApplication::quit();
                       });
                   },
                   .others = true});
    Q_UNUSED(node);
}

} // namespace

// ---------------------------------------------------------------------------------------
// The master's trace, for the fast-path rows: off, idle (the default) or subscribed by a
// monitor process (this program again, "--scenario trace-subscriber"), which tells the
// master once its first batch has arrived; only then does worker 0 start calling.

constexpr quint32 OpSubscribed = 0x7e;
constexpr quint32 TypeGo = 0x7f;

void setUpTrace(Plexus::Node &node, const char *program)
{
    if (g_args.trace == "off") {
        node.setIntrospection({.trace = false});
        return;
    }
    if (g_args.trace != "subscribed")
        return;
    QByteArray secret(32, Qt::Uninitialized);
    for (char &c : secret)
        c = char('a' + QRandomGenerator::global()->bounded(26));
    Plexus::ClusterOptions options;
    options.secret = secret;
    options.mesh.bindAddress = QHostAddress::LocalHost;
    options.mesh.broadcast = false;
    if (!node.listenCluster(options)) {
        std::fprintf(stderr, "plexus-bench: %s\n", qPrintable(node.errorString()));
        std::exit(1);
    }
    node.handle(OpSubscribed, qApp, [&node](const Plexus::Message &) {
        for (const Plexus::WorkerInfo &w : node.workers()) {
            if (w.slot() == 0)
                node.sendToWorker(w, TypeGo, {});
        }
    });
    auto *monitor = new QProcess(qApp);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("SECRET"), QString::fromLatin1(secret));
    monitor->setProcessEnvironment(env);
    monitor->setProcessChannelMode(QProcess::ForwardedChannels);
    monitor->start(QString::fromLocal8Bit(program),
                   {QStringLiteral("--scenario"), QStringLiteral("trace-subscriber"),
                    QStringLiteral("--port"), QString::number(node.clusterPort())});
    // End the subscriber before the master goes: it is a peer, not a worker, so nothing
    // else stops it, and a QProcess destroyed while running warns and leaves it orphaned.
    QObject::connect(qApp, &QCoreApplication::aboutToQuit, monitor, [monitor] {
        monitor->terminate();
        if (!monitor->waitForFinished(3000)) {
            monitor->kill();
            monitor->waitForFinished(1000);
        }
    });
}

int runTraceSubscriber(int &argc, char **argv, int port)
{
    QCoreApplication app(argc, argv);
    Plexus::Node node(Plexus::Node::Peer);
    if (!node.start() || !node.listenCluster(Plexus::ClusterOptions{})
        || !node.connectToPeer(QUrl(QStringLiteral("tcp://127.0.0.1:%1").arg(port)))) {
        std::fprintf(stderr, "plexus-bench trace-subscriber: %s\n", qPrintable(node.errorString()));
        return 1;
    }
    long long batches = 0;
    QObject::connect(&node, &Plexus::Node::peerConnected, &app, [&batches](const Plexus::PeerInfo &p) {
        const Plexus::Sender master(p.machineId(), 0, -1);
        Plexus::Reply *r = Plexus::sendTo(master, Plexus::newMessage(
                {.opcode = Plexus::Introspection::TraceOpcode, .reply = true}));
        QObject::connect(r, &Plexus::Reply::replyReceived, qApp, [&batches, master] {
            if (batches++ == 0)
                Plexus::sendTo(master, Plexus::newMessage({.opcode = OpSubscribed}));
        });
    });
    QObject::connect(&node, &Plexus::Node::peerDisconnected, &app, &QCoreApplication::quit);
    return app.exec();
}

int runPlexusScenario(int &argc, char **argv, const ScenarioArgs &args)
{
    if (args.name == "trace-subscriber")
        return runTraceSubscriber(argc, argv, args.port);
    g_args = args;
    g_payload = QByteArray(qsizetype(args.size), 'x');
    if (qEnvironmentVariableIsEmpty("PLEXUS_BENCH_VERBOSE"))
        qInstallMessageHandler(messageHandler);
    const std::string name = args.name;
    Plexus::ExecOptions options;
    options.workers = args.workers;
    options.restartPolicy = Plexus::WorkerInfo::NoRestart;
    if (args.busyPollUs >= 0)
        options.busyPollUs = args.busyPollUs;
    const char *program = argv[0];
    return Plexus::exec(argc, argv, options, [name, program](Plexus::Node &node) {
        if (name == "seq" || name == "pipe" || name == "burst") {
            if (node.isMaster())
                setUpTrace(node, program);
            if (node.isWorker() && node.workerSlot() == 0) {
                if (g_args.trace == "subscribed")
                    Plexus::setWorkerHandler(TypeGo, [](const Plexus::Message &, const Plexus::WorkerInfo &, void *, void **) {
                        QTimer::singleShot(0, qApp, startWorkerScenario);
                    }, nullptr);
                else
                    QTimer::singleShot(0, qApp, startWorkerScenario);
            }
            return;
        }
        if (node.isMaster()) {
            // Diagnostics for a scenario that never gets going.
            auto *diag = new QTimer(qApp);
            diag->setSingleShot(true);
            QObject::connect(diag, &QTimer::timeout, qApp, [&node] {
                std::fprintf(stderr, "  [master %d] no progress after 15 s: stage %s\n",
                             int(::getpid()), g_stage);
                for (const Plexus::WorkerInfo &w : node.workers())
                    std::fprintf(stderr, "    worker slot %d pid %lld state %d\n", w.slot(),
                                 w.pid(), int(w.state()));
            });
            diag->start(15000);
            QObject::connect(&node, &Plexus::Node::workersReady, qApp, [&node, name, diag] {
                g_stage = "workersReady received";
                diag->start(15000);
                if (name == "bcast")
                    afterTurns(5, startBroadcast);
                else if (name == "idle")
                    startIdle(node);
            }, Qt::SingleShotConnection);
        }
    });
}

} // namespace Bench
