// SPDX-License-Identifier: MIT
// plexus-bench: measures Plexus on the real fork path against baselines measured in the
// same run (raw AF_UNIX ping-pong and stream, libsodium XChaCha20-Poly1305, QtDBus
// peer-to-peer) and checks the performance targets of docs/BENCHMARKS.md.
//
//   plexus-bench [--quick] [--runs N] [--json FILE] [--only ROW,ROW...]
//
// The driver is a plain process (no QCoreApplication, no threads). Every measurement runs in
// a fresh process: raw baselines are fork()ed, Plexus scenarios re-execute this program with
// "--scenario NAME ..." so that Plexus::exec() forks its workers before Qt starts, and the
// QtDBus baseline runs the helper plexus-bench-dbus from the same directory. A scenario
// prints one "RESULT key=value ..." line that the driver parses.
#include "bench.h"

#include <QtCore/qfile.h>
#include <QtCore/qjsonarray.h>
#include <QtCore/qjsondocument.h>
#include <QtCore/qjsonobject.h>

#include <sodium.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <sstream>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace Bench {

namespace {

// ---------------------------------------------------------------------------------------
// Plan

struct Plan
{
    bool quick = false;
    int runs = 5;
    int timeoutSec = 120;
    long long pingPong = 50000;
    long long dbus = 10000;
    long long qtroSeq = 10000;
    long long qtroPipe = 100000;
    std::vector<long long> sizes = {64, 4096, 65536, 1048576};
    std::vector<long long> streamMessages = {1000000, 200000, 16000, 1000};
    std::vector<long long> cryptoPairs = {2000000, 100000, 6000, 400};
    long long seq = 40000;
    long long fast = 1000000;
    long long fastWindow = 1000;
    long long reply = 500000;
    std::vector<long long> pipeCount = {0, 200000, 20000, 1200};   // by size index
    std::vector<long long> pipeWindow = {0, 1000, 128, 8};
    long long burst = 1000000;
    long long bcast = 1000000;   // broadcasts per run (deliveries = x workers)
    long long bcastBatch = 2000;
    long long bcastDepth = 4;

    void makeQuick()
    {
        quick = true;
        timeoutSec = 30;
        pingPong = 15000;
        dbus = 1000;
        qtroSeq = 1000;
        qtroPipe = 10000;
        streamMessages = {60000, 20000, 2000, 150};
        cryptoPairs = {100000, 10000, 800, 50};
        seq = 6000;
        fast = 80000;
        reply = 40000;
        pipeCount = {0, 15000, 1200, 80};
        burst = 150000;
        bcast = 50000;
    }
};

struct Options
{
    Plan plan;
    std::string jsonPath;
    std::set<std::string> only;
    bool wants(const std::string &row) const { return only.empty() || only.count(row); }
};

// ---------------------------------------------------------------------------------------
// Scenario processes

struct RunOutcome
{
    bool haveResult = false;
    bool timedOut = false;
    int exitStatus = 0;
    Fields fields;
    long long groupPeakKb = 0;   // VmHWM over the process group, read on timeout
};

struct GroupMember
{
    long long pid = 0;
    long long ppid = 0;
    std::string comm;
};

// The processes of process group \a pgid (the scenario and everything it forked).
std::vector<GroupMember> groupMembers(pid_t pgid)
{
    std::vector<GroupMember> out;
    DIR *dir = ::opendir("/proc");
    if (!dir)
        return out;
    while (dirent *e = ::readdir(dir)) {
        const long long pid = std::atoll(e->d_name);
        if (pid <= 0)
            continue;
        std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
        std::string stat;
        std::getline(in, stat);
        const size_t open = stat.find('(');
        const size_t paren = stat.rfind(')');
        if (open == std::string::npos || paren == std::string::npos || paren + 2 > stat.size())
            continue;
        std::istringstream rest(stat.substr(paren + 2));
        std::string state;
        long long ppid = 0, pgrp = 0;
        rest >> state >> ppid >> pgrp;
        if (pgrp == pgid && state != "Z")
            out.push_back({pid, ppid, stat.substr(open + 1, paren - open - 1)});
    }
    ::closedir(dir);
    return out;
}

long long groupPeakKb(pid_t pgid)
{
    long long peak = 0;
    for (const GroupMember &m : groupMembers(pgid))
        peak = std::max(peak, procStatusKb(m.pid, "VmHWM"));
    return peak;
}

// Scenario processes that did not exit within a second of printing their result.
int g_slowExits = 0;
double g_slowestExit = 0;

std::string g_self;

std::string g_dbusHelper;
std::string g_qtroHelper;

// Given to every Plexus scenario (--busy-poll).
std::vector<std::string> g_scenarioExtra;

RunOutcome runScenario(const std::vector<std::string> &arguments, int timeoutSec,
                       const std::string &program = g_self)
{
    RunOutcome out;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        std::perror("pipe2");
        std::exit(2);
    }
    std::vector<std::string> args = {program};
    args.insert(args.end(), arguments.begin(), arguments.end());
    if (program == g_self)
        args.insert(args.end(), g_scenarioExtra.begin(), g_scenarioExtra.end());
    std::vector<char *> argv;
    for (std::string &a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char *> envp;
    for (char **e = environ; *e; ++e) {
        if (std::strncmp(*e, "PLEXUS_WORKERS=", 15) != 0)
            envp.push_back(*e);
    }
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    pid_t pid = 0;
    std::fflush(nullptr);
    const int rc = ::posix_spawn(&pid, program.c_str(), &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(fds[1]);
    if (rc != 0) {
        std::fprintf(stderr, "plexus-bench: posix_spawn: %s\n", std::strerror(rc));
        std::exit(2);
    }

    const Clock::time_point start = Clock::now();
    std::string buffer;
    bool eof = false;
    bool reaped = false;
    bool haveResult = false;
    bool forkServerKilled = false;
    Clock::time_point resultAt;
    while (!eof) {
        if (!reaped) {
            int status = 0;
            if (::waitpid(pid, &status, WNOHANG) == pid) {
                reaped = true;
                out.exitStatus = status;
            }
        }
        if (haveResult) {
            const double since = secondsSince(resultAt);
            // Workaround, see docs/BENCHMARKS.md: a Plexus fork server that has not exited
            // a second after the result is stuck (it would hold the master's shutdown for
            // its whole timeout); kill it so that the run can go on.
            if (since > 1.0 && !forkServerKilled) {
                forkServerKilled = true;
                for (const GroupMember &m : groupMembers(pid)) {
                    if (m.comm == "plexus-forksrv" && m.ppid == pid)   // not its workers
                        ::kill(pid_t(m.pid), SIGKILL);
                }
            }
            if (since > 8.0)
                break;   // something of the group still holds the pipe
        }
        if (!haveResult && secondsSince(start) > timeoutSec) {
            out.timedOut = true;
            out.groupPeakKb = groupPeakKb(pid);
            break;
        }
        pollfd p{fds[0], POLLIN, 0};
        const int ready = ::poll(&p, 1, 20);
        if (ready > 0) {
            char chunk[4096];
            const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
            if (n > 0) {
                buffer.append(chunk, size_t(n));
                if (!haveResult && buffer.find("RESULT ") != std::string::npos
                    && buffer.find('\n', buffer.find("RESULT ")) != std::string::npos) {
                    haveResult = true;
                    resultAt = Clock::now();
                }
            } else if (n == 0) {
                eof = true;
            }
        }
    }
    if (haveResult) {
        const double exitTime = secondsSince(resultAt);
        g_slowestExit = std::max(g_slowestExit, exitTime);
        if (exitTime > 1.0)
            ++g_slowExits;
    }
    ::close(fds[0]);
    ::kill(-pid, SIGKILL);   // leftovers of the group, if any (normally none)
    if (!reaped) {
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) { }
        out.exitStatus = status;
    }

    std::istringstream lines(buffer);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind("RESULT ", 0) == 0) {
            out.fields = parseFields(line.substr(7));
            out.haveResult = true;
        } else if (!line.empty()) {
            std::fprintf(stderr, "  scenario: %s\n", line.c_str());
        }
    }
    return out;
}

double field(const Fields &f, const char *key, double fallback = 0)
{
    auto it = f.find(key);
    return it == f.end() ? fallback : std::atof(it->second.c_str());
}

// ---------------------------------------------------------------------------------------
// Statistics and rows

struct Stats
{
    double median = NAN, min = NAN, max = NAN;
    std::vector<double> values;
    bool valid() const { return !values.empty(); }
};

Stats stats(std::vector<double> v)
{
    Stats s;
    s.values = v;
    if (v.empty())
        return s;
    std::sort(v.begin(), v.end());
    s.min = v.front();
    s.max = v.back();
    const size_t n = v.size();
    s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return s;
}

struct Ratio
{
    std::string against;
    double value = NAN;
};

struct Row
{
    std::string id;
    std::string title;
    std::string unit;
    Stats stats;
    std::string extra;                 // secondary figure (e.g. MB/s), printed after
    std::vector<Ratio> ratios;
    std::string facil;
    std::string target;
    std::optional<bool> pass;          // empty: no target
    std::string missBy;
    std::string note;
};

Row makeRow(std::string id, std::string title, std::string unit, Stats s)
{
    Row r;
    r.id = std::move(id);
    r.title = std::move(title);
    r.unit = std::move(unit);
    r.stats = std::move(s);
    return r;
}

std::string human(double v)
{
    char b[64];
    if (std::isnan(v))
        return "n/a";
    const double a = std::fabs(v);
    if (a >= 1e6)
        std::snprintf(b, sizeof b, "%.3gM", v / 1e6);
    else if (a >= 1e4)
        std::snprintf(b, sizeof b, "%.3gk", v / 1e3);
    else if (a >= 100)
        std::snprintf(b, sizeof b, "%.0f", v);
    else
        std::snprintf(b, sizeof b, "%.3g", v);
    return b;
}

std::string pct(double r)
{
    char b[32];
    if (std::isnan(r))
        return "n/a";
    std::snprintf(b, sizeof b, "%.0f %%", r * 100);
    return b;
}

std::vector<Row> g_baselines;
std::vector<Row> g_rows;
std::vector<std::string> g_failures;

// Checks a worker-driven run for lost, duplicated, failed or malformed replies.
bool checkRun(const std::string &row, int run, const RunOutcome &o, bool errorsAreFailures)
{
    auto fail = [&](const std::string &why) {
        g_failures.push_back(row + " run " + std::to_string(run + 1) + ": " + why);
        std::fprintf(stderr, "plexus-bench: ERROR %s run %d: %s\n", row.c_str(), run + 1, why.c_str());
        return false;
    };
    if (o.timedOut)
        return fail("timed out (no result; replies lost or deadlock)");
    if (!o.haveResult)
        return fail("the scenario process printed no result (exit status " + std::to_string(o.exitStatus) + ")");
    const Fields &f = o.fields;
    if (f.count("error"))
        return fail("scenario error: " + f.at("error"));
    for (const char *k : {"lost", "duplicates", "out_of_range", "bad_payload", "unexpected_replies"}) {
        if (field(f, k) != 0)
            return fail(std::string(k) + " = " + f.at(k));
    }
    if (errorsAreFailures && field(f, "errors") != 0)
        return fail("calls failed: errors = " + f.at("errors"));
    return true;
}

// ---------------------------------------------------------------------------------------
// Machine description

std::string readFirst(const char *path, const char *key)
{
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(key, 0) == 0) {
            const size_t colon = line.find(':');
            if (colon != std::string::npos) {
                std::string v = line.substr(colon + 1);
                v.erase(0, v.find_first_not_of(" \t"));
                return v;
            }
        }
    }
    return "unknown";
}

std::string loadAverage()
{
    std::ifstream in("/proc/loadavg");
    std::string a, b, c;
    in >> a >> b >> c;
    return a + " " + b + " " + c;
}

QJsonObject machine()
{
    utsname u{};
    ::uname(&u);
    QJsonObject m;
    m[QStringLiteral("nproc")] = int(::sysconf(_SC_NPROCESSORS_ONLN));
    m[QStringLiteral("cpu")] = QString::fromStdString(readFirst("/proc/cpuinfo", "model name"));
    m[QStringLiteral("kernel")] = QString(QString::fromLatin1(u.sysname) + QLatin1Char(' ') + QString::fromLatin1(u.release));
    m[QStringLiteral("qt")] = QString::fromLatin1(qVersion());
    m[QStringLiteral("libsodium")] = QString::fromLatin1(sodium_version_string());
    m[QStringLiteral("memTotal")] = QString::fromStdString(readFirst("/proc/meminfo", "MemTotal"));
    m[QStringLiteral("loadavgAtStart")] = QString::fromStdString(loadAverage());
    return m;
}

// ---------------------------------------------------------------------------------------
// Measurements

const char *sizeName(long long size)
{
    switch (size) {
    case 64: return "64 B";
    case 4096: return "4 KiB";
    case 65536: return "64 KiB";
    case 1048576: return "1 MiB";
    }
    return "?";
}
std::string sizeId(long long size)
{
    switch (size) {
    case 64: return "64";
    case 4096: return "4k";
    case 65536: return "64k";
    case 1048576: return "1m";
    }
    return std::to_string(size);
}

Clock::time_point g_rowStart;

void progress(const char *what, int run, int runs)
{
    if (run == 0)
        g_rowStart = Clock::now();
    std::fprintf(stderr, "\r  %-40s run %d/%d   ", what, run + 1, runs);
    std::fflush(stderr);
}
void progressDone() { std::fprintf(stderr, " %.1f s\n", secondsSince(g_rowStart)); }

// The calling process's CPU time per call (user + system), median over the runs.
std::string callerCpu(const std::vector<RunOutcome> &outcomes)
{
    std::vector<double> us;
    for (const RunOutcome &o : outcomes) {
        const double v = field(o.fields, "caller_cpu_us_per_call");
        if (v > 0)
            us.push_back(v);
    }
    if (us.empty())
        return "caller CPU -";
    char e[64];
    std::snprintf(e, sizeof e, "caller CPU %.2f us/call", stats(us).median);
    return e;
}

struct Baselines
{
    Stats pingPong;
    Stats dbus;
    Stats qtroSeq, qtroPipe;   // Qt Remote Objects: sequential, pipelined (window as "reply")
    std::map<long long, Stats> stream;   // MB/s
    std::map<long long, Stats> crypto;   // pairs/s
};

Baselines measureBaselines(const Options &opt)
{
    const Plan &p = opt.plan;
    Baselines b;
    std::vector<double> v;
    for (int r = 0; r < p.runs; ++r) {
        progress("baseline: raw AF_UNIX ping-pong 64 B", r, p.runs);
        v.push_back(rawPingPong(p.pingPong, 64));
    }
    progressDone();
    b.pingPong = stats(v);
    g_baselines.push_back(makeRow("raw_pingpong", "raw AF_UNIX ping-pong, 64 B", "round trips/s", b.pingPong));

    for (size_t i = 0; i < p.sizes.size(); ++i) {
        const long long size = p.sizes[i];
        std::vector<double> s;
        const std::string what = std::string("baseline: raw AF_UNIX stream ") + sizeName(size);
        for (int r = 0; r < p.runs; ++r) {
            progress(what.c_str(), r, p.runs);
            s.push_back(rawStream(p.streamMessages[i], size));
        }
        progressDone();
        b.stream[size] = stats(s);
        Row row = makeRow("raw_stream_" + sizeId(size), std::string("raw AF_UNIX stream, ") + sizeName(size), "MB/s", b.stream[size]);
        row.extra = human(b.stream[size].median * 1e6 / double(size)) + " msg/s";
        g_baselines.push_back(row);
    }
    for (size_t i = 0; i < p.sizes.size(); ++i) {
        const long long size = p.sizes[i];
        std::vector<double> s;
        const std::string what = std::string("baseline: XChaCha20-Poly1305 ") + sizeName(size);
        for (int r = 0; r < p.runs; ++r) {
            progress(what.c_str(), r, p.runs);
            s.push_back(cryptoPairs(p.cryptoPairs[i], size));
        }
        progressDone();
        b.crypto[size] = stats(s);
        Row row = makeRow("crypto_" + sizeId(size), std::string("libsodium XChaCha20-Poly1305 encrypt+decrypt, ") + sizeName(size), "pairs/s", b.crypto[size]);
        row.extra = human(b.crypto[size].median * double(size) / 1e6) + " MB/s";
        g_baselines.push_back(row);
    }

    v.clear();
    for (int r = 0; r < p.runs; ++r) {
        progress("baseline: QtDBus peer-to-peer call 64 B", r, p.runs);
        const RunOutcome o = runScenario({"--size", "64", "--count", std::to_string(p.dbus),
                                          "--warmup", std::to_string(p.dbus / 10 + 50)},
                                         p.timeoutSec, g_dbusHelper);
        if (o.haveResult && !o.fields.count("error"))
            v.push_back(field(o.fields, "rate"));
        else
            std::fprintf(stderr, "\nplexus-bench: QtDBus baseline run failed (%s)\n",
                         o.fields.count("error") ? o.fields.at("error").c_str() : "no result");
    }
    progressDone();
    b.dbus = stats(v);
    g_baselines.push_back(makeRow("qtdbus_p2p", "QtDBus peer-to-peer call, 64 B, sequential", "round trips/s", b.dbus));

    // Qt Remote Objects over local:, in a helper process of its own: sequential, then with
    // as many calls in flight as the pipelined Reply row.
    for (const bool pipelined : {false, true}) {
        v.clear();
        std::vector<RunOutcome> outcomes;
        const long long count = pipelined ? p.qtroPipe : p.qtroSeq;
        const char *what = pipelined ? "baseline: Qt Remote Objects pipelined 64 B"
                                     : "baseline: Qt Remote Objects sequential 64 B";
        for (int r = 0; r < p.runs; ++r) {
            progress(what, r, p.runs);
            const RunOutcome o = runScenario({"--size", "64", "--count", std::to_string(count),
                                              "--warmup", std::to_string(count / 10 + 50),
                                              "--window", std::to_string(pipelined ? p.fastWindow : 1)},
                                             p.timeoutSec, g_qtroHelper);
            if (o.haveResult && !o.fields.count("error"))
                v.push_back(field(o.fields, "rate"));
            else
                std::fprintf(stderr, "\nplexus-bench: Qt Remote Objects baseline run failed (%s)\n",
                             o.fields.count("error") ? o.fields.at("error").c_str() : "no result");
            outcomes.push_back(o);
        }
        progressDone();
        Stats &st = pipelined ? b.qtroPipe : b.qtroSeq;
        st = stats(v);
        Row row = makeRow(pipelined ? "qtro_pipe" : "qtro_seq",
                          std::string("Qt Remote Objects over local:, 64 B, ")
                                  + (pipelined ? "pipelined (window " + std::to_string(p.fastWindow) + ")"
                                               : std::string("sequential")),
                          pipelined ? "calls/s" : "round trips/s", st);
        row.extra = callerCpu(outcomes);
        g_baselines.push_back(row);
    }
    return b;
}

struct ScenarioRuns
{
    std::vector<RunOutcome> outcomes;
    std::vector<double> rates;
};

ScenarioRuns runRows(const Options &opt, const std::string &row, const char *what,
                     const std::vector<std::string> &args, bool errorsAreFailures)
{
    const Plan &p = opt.plan;
    ScenarioRuns out;
    for (int r = 0; r < p.runs; ++r) {
        progress(what, r, p.runs);
        RunOutcome o = runScenario(args, p.timeoutSec);
        if (checkRun(row, r, o, errorsAreFailures))
            out.rates.push_back(field(o.fields, "rate"));
        out.outcomes.push_back(std::move(o));
    }
    progressDone();
    return out;
}

std::vector<std::string> scenarioArgs(const char *name, long long size, long long count,
                                      long long warmup, long long window, int workers,
                                      bool replyObjects = false, bool qobjectPerCall = false)
{
    std::vector<std::string> a = {"--scenario", name, "--size", std::to_string(size),
                                  "--count", std::to_string(count), "--warmup",
                                  std::to_string(warmup), "--window", std::to_string(window),
                                  "--workers", std::to_string(workers)};
    if (replyObjects)
        a.push_back("--reply-objects");
    if (qobjectPerCall)
        a.push_back("--qobject-per-call");
    return a;
}

void setPass(Row &row, bool pass, const std::string &missBy)
{
    row.pass = pass;
    if (!pass)
        row.missBy = missBy;
}

std::string missPct(double got, double want)
{
    char b[64];
    std::snprintf(b, sizeof b, "%.0f %% below", (1 - got / want) * 100);
    return b;
}
std::string overPct(double got, double limit)
{
    char b[64];
    std::snprintf(b, sizeof b, "%.0f %% over", (got / limit - 1) * 100);
    return b;
}

// Crypto bound for one call of `size` bytes answered by a small reply: one pair each.
double cryptoBoundCalls(const Baselines &b, long long size)
{
    const double req = b.crypto.at(size).median, rep = b.crypto.at(64).median;
    return 1.0 / (1.0 / req + 1.0 / rep);
}

void measurePlexus(const Options &opt, const Baselines &b)
{
    const Plan &p = opt.plan;
    double fastMedian = NAN;
    double seqMedian = NAN;
    double floorMedian = NAN;

    if (opt.wants("seq") || opt.wants("seq_reply")) {
        // Round-trip latency on a VM depends a lot on how the scheduler places the two
        // processes at that moment, so each Plexus run is paired with a raw ping-pong run
        // right before it, and the target is checked on the median of the paired ratios.
        std::vector<double> rates, raws, ratios;
        std::vector<RunOutcome> outcomes;
        for (int r = 0; r < p.runs; ++r) {
            progress("plexus: sequential call 64 B (+ paired raw)", r, p.runs);
            const double raw = rawPingPong(p.pingPong, 64);
            const RunOutcome o = runScenario(scenarioArgs("seq", 64, p.seq, p.seq / 10 + 100, 1, 1), p.timeoutSec);
            if (checkRun("seq", r, o, true)) {
                rates.push_back(field(o.fields, "rate"));
                raws.push_back(raw);
                ratios.push_back(rates.back() / raw);
            }
            outcomes.push_back(o);
        }
        progressDone();
        Row row = makeRow("seq", "sequential call + final reply, 1 outstanding (64 B)", "round trips/s", stats(rates));
        const Stats pairedRaw = stats(raws), pairedRatio = stats(ratios);
        char e[160];
        std::snprintf(e, sizeof e, "paired raw ping-pong %s rt/s; paired ratios %s - %s; ",
                      human(pairedRaw.median).c_str(), pct(pairedRatio.min).c_str(), pct(pairedRatio.max).c_str());
        row.extra = e + callerCpu(outcomes);
        seqMedian = row.stats.median;
        row.ratios = {{"raw ping-pong (median of paired ratios)", pairedRatio.median},
                      {"raw ping-pong (baseline section)", row.stats.median / b.pingPong.median},
                      {"QtDBus p2p", row.stats.median / b.dbus.median}};
        row.facil = "15.1k rt/s (72 % of raw 20.9k)";
        row.target = ">= 85 % of raw ping-pong";
        if (row.stats.valid())
            setPass(row, row.ratios[0].value >= 0.85, missPct(row.ratios[0].value, 0.85) + " (ratio " + pct(row.ratios[0].value) + ")");
        g_rows.push_back(row);
    }

    if (opt.wants("fast") || opt.wants("reply") || opt.wants("trace")) {
        const ScenarioRuns s = runRows(opt, "fast", "plexus: pipelined fast path 64 B",
                                       scenarioArgs("pipe", 64, p.fast, p.fast / 10, p.fastWindow, 1), true);
        Row row = makeRow("fast", "pipelined calls, fast path (function pointers), 64 B, window " + std::to_string(p.fastWindow), "calls/s", stats(s.rates));
        fastMedian = row.stats.median;
        row.extra = human(row.stats.median * 64 / 1e6) + " MB/s; " + callerCpu(s.outcomes);
        row.ratios = {{"raw stream 64 B (MB/s)", row.stats.median * 64 / 1e6 / b.stream.at(64).median},
                      {"crypto bound, 1 core (pairs/2)", row.stats.median / cryptoBoundCalls(b, 64)},
                      {"crypto bound, 2 cores (pairs)", row.stats.median / (2 * cryptoBoundCalls(b, 64))}};
        row.facil = "640k calls/s (<= 1000 in flight)";
        row.target = ">= 1.3M calls/s";
        if (row.stats.valid())
            setPass(row, row.stats.median >= 1.3e6, missPct(row.stats.median, 1.3e6));
        g_rows.push_back(row);
    }

    if (opt.wants("trace")) {
        // The fast path above runs with tracing enabled and nobody subscribed (the default).
        for (const char *mode : {"off", "subscribed"}) {
            const std::string id = std::string("fast_trace_") + mode;
            std::vector<std::string> args = scenarioArgs("pipe", 64, p.fast, p.fast / 10, p.fastWindow, 1);
            args.insert(args.end(), {"--trace", mode});
            const ScenarioRuns s = runRows(opt, id, ("plexus: fast path, trace " + std::string(mode)).c_str(), args, true);
            Row row = makeRow(id, std::string("pipelined fast path, 64 B, master's trace ") + mode
                                      + (std::string(mode) == "off" ? " (disabled)" : " (a monitor streams it)"),
                              "calls/s", stats(s.rates));
            row.ratios = {{"fast path (trace on, no subscriber)", row.stats.median / fastMedian}};
            row.facil = "-";
            g_rows.push_back(row);
        }
    }

    if (opt.wants("reply")) {
        // What one QObject per call costs in Qt alone, measured in the same run: the fast
        // path plus a bare QObject made, connected and deleteLater()'d per call.
        const ScenarioRuns f = runRows(opt, "reply_floor", "plexus: fast path + a QObject per call",
                                       scenarioArgs("pipe", 64, p.reply, p.reply / 10, p.fastWindow, 1, false, true), true);
        Row floor = makeRow("reply_floor", "fast path + one bare QObject per call (connect, deleteLater), 64 B, window "
                                               + std::to_string(p.fastWindow), "calls/s", stats(f.rates));
        floor.extra = callerCpu(f.outcomes);
        floor.ratios = {{"fast path", floor.stats.median / fastMedian}};
        floor.facil = "-";
        g_rows.push_back(floor);
        floorMedian = floor.stats.median;
    }

    if (opt.wants("reply")) {
        const ScenarioRuns s = runRows(opt, "reply", "plexus: pipelined Reply objects 64 B",
                                       scenarioArgs("pipe", 64, p.reply, p.reply / 10, p.fastWindow, 1, true), true);
        Row row = makeRow("reply", "pipelined calls with Plexus::Reply objects, 64 B, window " + std::to_string(p.fastWindow), "calls/s", stats(s.rates));
        row.extra = callerCpu(s.outcomes);
        row.ratios = {{"fast path", row.stats.median / fastMedian},
                      {"Qt Remote Objects pipelined (target >= 500 %)", row.stats.median / b.qtroPipe.median},
                      {"fast path + a bare QObject per call (same run)", row.stats.median / floorMedian}};
        row.facil = "-";
        row.target = ">= 60 % of the fast path";
        if (row.stats.valid())
            setPass(row, row.ratios[0].value >= 0.6, missPct(row.ratios[0].value, 0.6) + " (ratio " + pct(row.ratios[0].value) + ")");
        g_rows.push_back(row);
    }

    if (opt.wants("seq_reply")) {
        // Sequential round trips with a Reply object per call, against the function-pointer
        // sequential row of the same run; and stable: the slowest run at least half the median.
        const ScenarioRuns s = runRows(opt, "seq_reply", "plexus: sequential Reply objects 64 B",
                                       scenarioArgs("seq", 64, p.seq, p.seq / 10 + 100, 1, 1, true), true);
        Row row = makeRow("seq_reply", "sequential call + final reply with Plexus::Reply objects (64 B)",
                          "round trips/s", stats(s.rates));
        row.extra = callerCpu(s.outcomes);
        row.ratios = {{"sequential fast path (seq)", row.stats.median / seqMedian},
                      {"slowest run / median", row.stats.min / row.stats.median},
                      {"Qt Remote Objects sequential (target >= 400 %)", row.stats.median / b.qtroSeq.median}};
        row.facil = "-";
        row.target = ">= 90 % of seq, slowest >= 50 % of the median";
        if (row.stats.valid() && std::isfinite(seqMedian))
            setPass(row, row.ratios[0].value >= 0.9 && row.ratios[1].value >= 0.5,
                    missPct(row.ratios[0].value, 0.9) + " (ratio " + pct(row.ratios[0].value)
                            + ", slowest " + pct(row.ratios[1].value) + ")");
        g_rows.push_back(row);
    }

    const struct { long long size; const char *facil; double targetMBs; } sizes[] = {
        {4096, "71k calls/s (290 MB/s)", 900},
        {65536, "5.2k calls/s (338 MB/s)", 1000},
        {1048576, "336 calls/s (352 MB/s)", 1000},
    };
    for (size_t i = 0; i < 3; ++i) {
        const long long size = sizes[i].size;
        const std::string id = "pipe_" + sizeId(size);
        if (!opt.wants(id))
            continue;
        const long long count = p.pipeCount[i + 1];
        const std::string what = std::string("plexus: pipelined ") + sizeName(size);
        const ScenarioRuns s = runRows(opt, id, what.c_str(),
                                       scenarioArgs("pipe", size, count, count / 10, p.pipeWindow[i + 1], 1), true);
        std::vector<double> mbs;
        for (double r : s.rates)
            mbs.push_back(r * double(size) / 1e6);
        Row row = makeRow(id, std::string("pipelined calls, ") + sizeName(size) + ", window " + std::to_string(p.pipeWindow[i + 1]), "MB/s", stats(mbs));
        row.extra = human(row.stats.median * 1e6 / double(size)) + " calls/s";
        row.ratios = {{std::string("raw stream ") + sizeName(size), row.stats.median / b.stream.at(size).median},
                      {"crypto bound, 1 core (req+reply pairs)", row.stats.median * 1e6 / double(size) / cryptoBoundCalls(b, size)},
                      {"crypto bound, 2 cores", row.stats.median * 1e6 / double(size) / (2 * cryptoBoundCalls(b, size))}};
        row.facil = sizes[i].facil;
        char t[64];
        std::snprintf(t, sizeof t, ">= %.0f MB/s", sizes[i].targetMBs);
        row.target = t;
        if (row.stats.valid())
            setPass(row, row.stats.median >= sizes[i].targetMBs, missPct(row.stats.median, sizes[i].targetMBs));
        g_rows.push_back(row);
    }

    if (opt.wants("burst")) {
        std::vector<double> seconds, peaks;
        int completed = 0, clean = 0;
        long long maxErrors = 0;
        const Plan &pl = opt.plan;
        for (int r = 0; r < pl.runs; ++r) {
            const std::string what = "plexus: " + std::to_string(pl.burst / 1000) + "k-call burst 64 B";
            progress(what.c_str(), r, pl.runs);
            const RunOutcome o = runScenario(scenarioArgs("burst", 64, pl.burst, 0, 1, 1), pl.timeoutSec);
            const bool ok = checkRun("burst", r, o, false);
            if (ok) {
                ++completed;
                seconds.push_back(field(o.fields, "seconds"));
                const long long errors = (long long)field(o.fields, "errors");
                maxErrors = std::max(maxErrors, errors);
                if (errors == 0)
                    ++clean;
            }
            double peakKb = std::max(field(o.fields, "master_hwm_kb"), field(o.fields, "worker_hwm_kb"));
            if (o.timedOut)
                peakKb = double(o.groupPeakKb);
            if (peakKb > 0)
                peaks.push_back(peakKb / 1024.0);
        }
        progressDone();
        Row row = makeRow("burst", "1,000,000-call burst issued in one go (fast path, 64 B)", "s to complete", stats(seconds));
        if (pl.burst != 1000000)
            row.title = std::to_string(pl.burst) + "-call burst issued in one go (fast path, 64 B; --quick: the target is for 1,000,000)";
        char e[160];
        std::snprintf(e, sizeof e, "%d/%d runs completed, %d/%d with every call succeeding (max %lld failed calls)",
                      completed, pl.runs, clean, pl.runs, maxErrors);
        row.extra = e;
        if (!seconds.empty())
            row.extra += ", " + human(double(pl.burst) / row.stats.median) + " calls/s";
        row.facil = "deadlocks with a 100k burst";
        row.target = "completes";
        if (pl.burst == 1000000)
            setPass(row, clean == pl.runs, std::string("calls failed or lost: ") + e);
        else
            row.note = "no verdict: the target is for a 1,000,000-call burst";
        g_rows.push_back(row);

        Row rss = makeRow("burst_peak_rss", "peak RSS of any process during the burst", "MiB", stats(peaks));
        rss.facil = "644 MiB - 1 GiB";
        rss.target = "<= 48 MiB";
        if (pl.burst != 1000000)
            rss.note = "no verdict: the target is for a 1,000,000-call burst";
        else if (rss.stats.valid())
            setPass(rss, rss.stats.median <= 48, overPct(rss.stats.median, 48));
        g_rows.push_back(rss);
    }

    for (int workers : {1, 2, 4}) {
        const std::string id = "bcast_" + std::to_string(workers);
        if (!opt.wants(id) && !(workers == 2 && opt.wants("bcast")))
            continue;
        std::vector<std::string> args = scenarioArgs("bcast", 64, p.bcast, p.bcast / 10, 1, workers);
        args.insert(args.end(), {"--batch", std::to_string(p.bcastBatch), "--depth", std::to_string(p.bcastDepth)});
        const std::string what = "plexus: local broadcast -> " + std::to_string(workers) + " workers";
        const ScenarioRuns s = runRows(opt, id, what.c_str(), args, true);
        Row row = makeRow(id, "local broadcast master -> " + std::to_string(workers) + " worker(s), 64 B, fire-and-forget", "deliveries/s", stats(s.rates));
        row.ratios = {{"crypto pairs/s 64 B", row.stats.median / b.crypto.at(64).median}};
        std::vector<double> masterMiB;
        for (const RunOutcome &o : s.outcomes)
            if (o.haveResult)
                masterMiB.push_back(field(o.fields, "master_hwm_kb") / 1024.0);
        if (workers == 2) {
            row.facil = "1.06M deliveries/s";
            row.target = ">= 2M deliveries/s";
            if (row.stats.valid())
                setPass(row, row.stats.median >= 2e6, missPct(row.stats.median, 2e6));
        } else {
            row.facil = "-";
            row.target = "-";
        }
        const Stats ms = stats(masterMiB);
        if (ms.valid()) {
            char e[96];
            std::snprintf(e, sizeof e, "master peak RSS %.1f MiB", ms.median);
            row.extra = e;
        }
        g_rows.push_back(row);
        if (workers == 2) {
            Row rss = makeRow("bcast_2_master_rss", "master peak RSS during local broadcast -> 2 workers", "MiB", ms);
            rss.facil = "37 MiB";
            rss.target = "<= 16 MiB";
            if (rss.stats.valid())
                setPass(rss, rss.stats.median <= 16, overPct(rss.stats.median, 16));
            g_rows.push_back(rss);
        }
    }

    if (opt.wants("idle")) {
        std::vector<double> rss, workerRss, anon;
        const Plan &pl = opt.plan;
        for (int r = 0; r < pl.runs; ++r) {
            progress("plexus: master RSS, 4 idle workers", r, pl.runs);
            const RunOutcome o = runScenario(scenarioArgs("idle", 64, 0, 0, 1, 4), pl.timeoutSec);
            if (!o.haveResult || o.fields.count("error") || field(o.fields, "workers") != 4) {
                g_failures.push_back("idle run " + std::to_string(r + 1) + ": no result or wrong worker count");
                continue;
            }
            rss.push_back(field(o.fields, "master_rss_kb") / 1024.0);
            anon.push_back(field(o.fields, "master_rss_anon_kb") / 1024.0);
            workerRss.push_back(field(o.fields, "worker_rss_kb_max") / 1024.0);
        }
        progressDone();
        Row row = makeRow("idle_rss", "master RSS, 4 idle workers", "MiB", stats(rss));
        const Stats w = stats(workerRss);
        if (w.valid()) {
            char e[160];
            std::snprintf(e, sizeof e, "of which anonymous %.1f MiB (the rest: shared library pages); largest worker RSS %.1f MiB",
                          stats(anon).median, w.median);
            row.extra = e;
        }
        row.facil = "3.4 MiB";
        row.target = "<= 12 MiB";
        if (row.stats.valid())
            setPass(row, row.stats.median <= 12, overPct(row.stats.median, 12));
        g_rows.push_back(row);
    }
}

// ---------------------------------------------------------------------------------------
// Output

std::string fmtStats(const Stats &s)
{
    if (!s.valid())
        return "no valid run";
    return human(s.median) + "  [" + human(s.min) + " - " + human(s.max) + "]";
}

void printReport(const Options &opt, const QJsonObject &m, const std::string &command)
{
    std::printf("\nplexus-bench %s   (%s, %d runs per figure; median [min - max])\n",
                opt.plan.quick ? "--quick" : "(full)", command.c_str(), opt.plan.runs);
    std::printf("machine: %d CPUs, %s, %s, Qt %s, libsodium %s\n\n",
                m.value(QStringLiteral("nproc")).toInt(),
                qPrintable(m.value(QStringLiteral("cpu")).toString()),
                qPrintable(m.value(QStringLiteral("kernel")).toString()),
                qPrintable(m.value(QStringLiteral("qt")).toString()),
                qPrintable(m.value(QStringLiteral("libsodium")).toString()));
    std::printf("load average (1/5/15 min) at start: %s, at end: %s\n\n",
                qPrintable(m.value(QStringLiteral("loadavgAtStart")).toString()),
                loadAverage().c_str());
    std::printf("Baselines\n");
    for (const Row &r : g_baselines) {
        std::printf("  %-58s %-30s %s%s%s\n", r.title.c_str(), fmtStats(r.stats).c_str(),
                    r.unit.c_str(), r.extra.empty() ? "" : "  = ", r.extra.c_str());
    }
    std::printf("\nPlexus\n");
    for (const Row &r : g_rows) {
        std::printf("  %s\n", r.title.c_str());
        std::printf("      %-30s %s%s%s\n", fmtStats(r.stats).c_str(), r.unit.c_str(),
                    r.extra.empty() ? "" : "   ", r.extra.c_str());
        for (const Ratio &x : r.ratios)
            std::printf("      vs %-34s %s\n", x.against.c_str(), pct(x.value).c_str());
        if (!r.target.empty() && r.target != "-") {
            std::printf("      facil.io: %-32s target: %-26s %s%s%s\n", r.facil.c_str(),
                        r.target.c_str(), !r.pass ? "n/a" : (*r.pass ? "PASS" : "MISS"),
                        r.missBy.empty() ? "" : " - ", r.missBy.c_str());
        }
        if (!r.note.empty())
            std::printf("      note: %s\n", r.note.c_str());
    }
    int pass = 0, miss = 0;
    for (const Row &r : g_rows) {
        if (r.pass)
            (*r.pass ? pass : miss)++;
    }
    std::printf("\nTargets: %d PASS, %d MISS\n", pass, miss);
    if (g_slowExits) {
        std::printf("\nNOTE: %d scenario process group(s) had not exited 1 s after printing their result\n"
                    "      (slowest %.1f s); their stuck plexus-forksrv was killed by the driver.\n",
                    g_slowExits, g_slowestExit);
    }
    if (!g_failures.empty()) {
        std::printf("\nCORRECTNESS FAILURES (%zu):\n", g_failures.size());
        for (const std::string &f : g_failures)
            std::printf("  %s\n", f.c_str());
    }
    std::fflush(stdout);
}

QJsonValue num(double v)
{
    return std::isnan(v) ? QJsonValue() : QJsonValue(v);
}

QJsonObject rowJson(const Row &r)
{
    QJsonObject o;
    o[QStringLiteral("id")] = QString::fromStdString(r.id);
    o[QStringLiteral("title")] = QString::fromStdString(r.title);
    o[QStringLiteral("unit")] = QString::fromStdString(r.unit);
    o[QStringLiteral("median")] = num(r.stats.median);
    o[QStringLiteral("min")] = num(r.stats.min);
    o[QStringLiteral("max")] = num(r.stats.max);
    QJsonArray runs;
    for (double v : r.stats.values)
        runs.append(v);
    o[QStringLiteral("runs")] = runs;
    if (!r.extra.empty())
        o[QStringLiteral("extra")] = QString::fromStdString(r.extra);
    QJsonArray ratios;
    for (const Ratio &x : r.ratios) {
        QJsonObject ro;
        ro[QStringLiteral("against")] = QString::fromStdString(x.against);
        ro[QStringLiteral("ratio")] = num(x.value);
        ratios.append(ro);
    }
    if (!ratios.isEmpty()) {
        o[QStringLiteral("ratios")] = ratios;
        o[QStringLiteral("ratio")] = num(r.ratios.front().value);
    }
    if (!r.facil.empty())
        o[QStringLiteral("facil")] = QString::fromStdString(r.facil);
    if (!r.target.empty())
        o[QStringLiteral("target")] = QString::fromStdString(r.target);
    o[QStringLiteral("pass")] = r.pass ? QJsonValue(*r.pass) : QJsonValue();
    if (!r.missBy.empty())
        o[QStringLiteral("missBy")] = QString::fromStdString(r.missBy);
    if (!r.note.empty())
        o[QStringLiteral("note")] = QString::fromStdString(r.note);
    return o;
}

bool writeJson(const std::string &path, const Options &opt, const QJsonObject &m,
               const std::string &command)
{
    QJsonObject root;
    root[QStringLiteral("command")] = QString::fromStdString(command);
    root[QStringLiteral("mode")] = opt.plan.quick ? QStringLiteral("quick") : QStringLiteral("full");
    root[QStringLiteral("runs")] = opt.plan.runs;
    QJsonObject mm = m;
    mm[QStringLiteral("loadavgAtEnd")] = QString::fromStdString(loadAverage());
    root[QStringLiteral("machine")] = mm;
    root[QStringLiteral("slowExits")] = g_slowExits;
    QJsonArray baselines, rows, failures;
    for (const Row &r : g_baselines)
        baselines.append(rowJson(r));
    for (const Row &r : g_rows)
        rows.append(rowJson(r));
    for (const std::string &f : g_failures)
        failures.append(QString::fromStdString(f));
    root[QStringLiteral("baselines")] = baselines;
    root[QStringLiteral("rows")] = rows;
    root[QStringLiteral("failures")] = failures;
    QFile file(QString::fromStdString(path));
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return false;
    file.write(QJsonDocument(root).toJson());
    return true;
}

void usage()
{
    std::printf("usage: plexus-bench [--quick] [--runs N] [--json FILE] [--only ROW,...] [--busy-poll US]\n"
                "rows: seq seq_reply fast reply trace pipe_4k pipe_64k pipe_1m burst bcast_1 bcast_2 bcast_4 idle\n"
                "(baselines always run; --runs below 5 is for profiling only)\n");
}

} // namespace
} // namespace Bench

int main(int argc, char **argv)
{
    using namespace Bench;
    // Scenario mode: a child process started by the driver.
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--scenario") != 0)
            continue;
        const ScenarioArgs a = parseScenarioArgs(argc, argv);
        // Plexus::exec() and QCoreApplication only need the program name.
        int qargc = 1;
        return runPlexusScenario(qargc, argv, a);
    }

    Options opt;
    std::string command = "plexus-bench";
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        command += ' ';
        command += a;
        if (a == "--quick") {
            opt.plan.makeQuick();
        } else if (a == "--json" && i + 1 < argc) {
            opt.jsonPath = argv[++i];
            command += std::string(" ") + argv[i];
        } else if (a == "--busy-poll" && i + 1 < argc) {
            g_scenarioExtra = {"--busy-poll", argv[++i]};
            command += std::string(" ") + argv[i];
        } else if (a == "--runs" && i + 1 < argc) {
            opt.plan.runs = std::max(1, std::atoi(argv[++i]));
            command += std::string(" ") + argv[i];
        } else if (a == "--only" && i + 1 < argc) {
            std::stringstream ss(argv[++i]);
            command += std::string(" ") + argv[i];
            std::string item;
            while (std::getline(ss, item, ','))
                opt.only.insert(item);
        } else if (a == "--help" || a == "-h") {
            usage();
            return 0;
        } else {
            std::fprintf(stderr, "plexus-bench: unknown argument %s\n", a.c_str());
            usage();
            return 2;
        }
    }
    char self[4096];
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        std::perror("readlink /proc/self/exe");
        return 2;
    }
    self[n] = '\0';
    g_self = self;
    // The QtDBus baseline is a separate program, so that the Plexus scenario processes do
    // not load QtDBus and libdbus (their RSS is measured).
    g_dbusHelper = g_self.substr(0, g_self.rfind('/') + 1) + "plexus-bench-dbus";
    g_qtroHelper = g_self.substr(0, g_self.rfind('/') + 1) + "plexus-bench-qtro";
    ::signal(SIGPIPE, SIG_IGN);

    const Clock::time_point start = Clock::now();
    const QJsonObject m = machine();
    const Baselines b = measureBaselines(opt);
    measurePlexus(opt, b);
    printReport(opt, m, command);
    std::printf("total time %.1f s\n", secondsSince(start));
    if (!opt.jsonPath.empty() && !writeJson(opt.jsonPath, opt, m, command)) {
        std::fprintf(stderr, "plexus-bench: cannot write %s\n", opt.jsonPath.c_str());
        return 2;
    }
    if (!g_failures.empty()) {
        std::fprintf(stderr, "plexus-bench: %zu correctness failure(s): replies lost, duplicated or failed\n",
                     g_failures.size());
        return 1;
    }
    return 0;
}
