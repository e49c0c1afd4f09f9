// SPDX-License-Identifier: MIT
//
// Raw nats.c baselines for plexus-cluster-bench (nats_baseline.h). Plain C API, no Qt.
#include "nats_baseline.h"
#include "bench.h"

#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

namespace Bench {

namespace {

struct RawArgs {
    std::string role, url, prefix;
    long long count = 10000, warmup = 1000, window = 1, receivers = 1, batch = 2000, depth = 4;
    int size = 64;
};

std::atomic<long long> g_asyncErrors{0};

void onAsyncError(natsConnection *, natsSubscription *, natsStatus err, void *)
{
    ++g_asyncErrors;
    std::fprintf(stderr, "nats-raw: async error: %s\n", natsStatus_GetText(err));
}

double cpuSelf()
{
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec)
            + double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

natsConnection *connect(const RawArgs &a, const char *name)
{
    natsOptions *o = nullptr;
    natsConnection *nc = nullptr;
    natsStatus s = natsOptions_Create(&o);
    if (s == NATS_OK) s = natsOptions_SetURL(o, a.url.c_str());
    if (s == NATS_OK) s = natsOptions_SetName(o, name);
    // As NatsClient: every publish written at once, no copy of our own publications.
    if (s == NATS_OK) s = natsOptions_SetSendAsap(o, true);
    if (s == NATS_OK) s = natsOptions_SetNoEcho(o, true);
    if (s == NATS_OK) s = natsOptions_SetErrorHandler(o, onAsyncError, nullptr);
    if (s == NATS_OK) s = natsConnection_Connect(&nc, o);
    natsOptions_Destroy(o);
    if (s != NATS_OK) {
        std::fprintf(stderr, "nats-raw %s: cannot connect to %s: %s\n", name, a.url.c_str(),
                     natsStatus_GetText(s));
        return nullptr;
    }
    return nc;
}

natsSubscription *subscribe(natsConnection *nc, const std::string &subject, natsMsgHandler cb,
                            void *closure)
{
    natsSubscription *sub = nullptr;
    if (natsConnection_Subscribe(&sub, nc, subject.c_str(), cb, closure) != NATS_OK)
        return nullptr;
    // Never the limit: a drop would be a measuring error, not a figure.
    natsSubscription_SetPendingLimits(sub, 1 << 24, 1 << 30);
    return sub;
}

// Waits until the subscriptions are known to the server, then says so.
int ready(natsConnection *nc)
{
    if (natsConnection_Flush(nc) != NATS_OK)
        return 1;
    std::printf("READY\n");
    std::fflush(stdout);
    return 0;
}

// Helpers: run until killed (the driver ends them with SIGTERM).
[[noreturn]] void idleForever()
{
    for (;;)
        ::pause();
}

// --- echo -------------------------------------------------------------------------------

void echoMessage(natsConnection *nc, natsSubscription *, natsMsg *msg, void *)
{
    if (const char *reply = natsMsg_GetReply(msg))
        natsConnection_Publish(nc, reply, natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
    natsMsg_Destroy(msg);
}

// --- sink -------------------------------------------------------------------------------

std::atomic<long long> g_sinkCount{0};

void sinkMessage(natsConnection *nc, natsSubscription *, natsMsg *msg, void *)
{
    if (const char *reply = natsMsg_GetReply(msg)) {
        const std::string n = std::to_string(g_sinkCount.load());
        natsConnection_Publish(nc, reply, n.data(), int(n.size()));
    } else {
        ++g_sinkCount;
    }
    natsMsg_Destroy(msg);
}

// --- rr (sequential or pipelined echo) ---------------------------------------------------

struct Rr {
    natsConnection *nc = nullptr;
    std::string subject, inbox;
    std::vector<char> payload;
    long long total = 0, warmup = 0;
    std::atomic<long long> issued{0};
    long long completed = 0, badReplies = 0;
    Clock::time_point t0;
    double seconds = 0, cpu0 = 0, cpu = 0;
    std::mutex m;
    std::condition_variable cv;
    bool done = false;

    void issue()
    {
        if (issued.fetch_add(1) < total)
            natsConnection_PublishRequest(nc, subject.c_str(), inbox.c_str(), payload.data(),
                                          int(payload.size()));
    }
};

void rrReply(natsConnection *, natsSubscription *, natsMsg *msg, void *closure)
{
    auto *s = static_cast<Rr *>(closure);
    if (natsMsg_GetDataLength(msg) != int(s->payload.size()))
        ++s->badReplies;
    natsMsg_Destroy(msg);
    // One subscription: its callbacks run one at a time on its delivery thread.
    const long long n = ++s->completed;
    if (n == s->warmup) {
        s->t0 = Clock::now();
        s->cpu0 = cpuSelf();
    }
    if (n == s->total) {
        std::lock_guard lock(s->m);
        s->seconds = secondsSince(s->t0);
        s->cpu = cpuSelf() - s->cpu0;
        s->done = true;
        s->cv.notify_all();
        return;
    }
    s->issue();
}

int runRr(const RawArgs &a)
{
    Rr s;
    s.nc = connect(a, "raw-rr");
    if (!s.nc)
        return 1;
    s.subject = a.prefix + ".echo";
    s.inbox = a.prefix + ".inbox";
    s.payload.assign(size_t(a.size), 'x');
    s.total = a.warmup + a.count;
    s.warmup = a.warmup;
    if (!subscribe(s.nc, s.inbox, rrReply, &s) || natsConnection_Flush(s.nc) != NATS_OK)
        return 1;
    s.t0 = Clock::now();
    s.cpu0 = cpuSelf();
    for (long long i = 0; i < a.window; ++i)
        s.issue();
    std::unique_lock lock(s.m);
    if (!s.cv.wait_for(lock, std::chrono::seconds(120), [&] { return s.done; })) {
        std::fprintf(stderr, "nats-raw rr: timed out after %lld of %lld replies\n", s.completed, s.total);
        return 1;
    }
    emitResult({{"rate", std::to_string(double(a.count) / s.seconds)},
                {"seconds", std::to_string(s.seconds)},
                {"cpu_us_per_msg", std::to_string(s.cpu / double(a.count) * 1e6)},
                {"errors", std::to_string(s.badReplies + g_asyncErrors.load())}});
    // Leave without closing: the process ends, the server notices.
    std::_Exit(0);
}

// --- fan ---------------------------------------------------------------------------------

struct Fan {
    long long receivers = 1, warmup = 0;
    std::vector<long long> covered;   // per sync: messages published before it
    std::vector<int> answers;         // per sync
    long long lastSum = 0;            // the counts the final sync's answers carry
    long long syncsDone = 0, outstanding = 0, coveredAtT0 = -1;
    Clock::time_point t0, t1;
    double cpu0 = 0, cpu1 = 0;
    std::mutex m;
    std::condition_variable cv;
};

void fanAnswer(natsConnection *, natsSubscription *, natsMsg *msg, void *closure)
{
    auto *s = static_cast<Fan *>(closure);
    const char *subject = natsMsg_GetSubject(msg);
    const char *dot = std::strrchr(subject, '.');
    const size_t k = size_t(std::strtoll(dot ? dot + 1 : "0", nullptr, 10));
    const long long count = std::strtoll(std::string(natsMsg_GetData(msg), size_t(natsMsg_GetDataLength(msg))).c_str(),
                                         nullptr, 10);
    natsMsg_Destroy(msg);
    std::lock_guard lock(s->m);
    if (k >= s->answers.size())
        return;
    if (k + 1 == s->answers.size())
        s->lastSum += count;
    if (++s->answers[k] == s->receivers) {
        --s->outstanding;
        ++s->syncsDone;
        if (s->coveredAtT0 < 0 && s->covered[k] >= s->warmup) {
            s->coveredAtT0 = s->covered[k];
            s->t0 = Clock::now();
            s->cpu0 = cpuSelf();
        }
        if (s->syncsDone == static_cast<long long>(s->answers.size())) {
            s->t1 = Clock::now();
            s->cpu1 = cpuSelf();
        }
        s->cv.notify_all();
    }
}

int runFan(const RawArgs &a)
{
    natsConnection *nc = connect(a, "raw-fan");
    if (!nc)
        return 1;
    Fan s;
    s.receivers = a.receivers;
    s.warmup = a.warmup;
    const long long total = a.warmup + a.count;
    const long long syncs = (total + a.batch - 1) / a.batch;
    s.answers.assign(size_t(syncs), 0);
    const std::string subject = a.prefix + ".fan", inbox = a.prefix + ".inbox";
    if (!subscribe(nc, inbox + ".*", fanAnswer, &s) || natsConnection_Flush(nc) != NATS_OK)
        return 1;
    const std::vector<char> payload(size_t(a.size), 'x');
    if (a.warmup == 0) {
        s.coveredAtT0 = 0;
        s.t0 = Clock::now();
        s.cpu0 = cpuSelf();
    }
    long long sent = 0;
    for (long long k = 0; k < syncs; ++k) {
        long long n = 0;
        {
            std::unique_lock lock(s.m);
            if (!s.cv.wait_for(lock, std::chrono::seconds(60), [&] { return s.outstanding < a.depth; })) {
                std::fprintf(stderr, "nats-raw fan: a sync was not answered by %lld sinks in 60 s\n",
                             a.receivers);
                return 1;
            }
            n = std::min(a.batch, total - sent);
            sent += n;
            s.covered.push_back(sent);
            ++s.outstanding;
        }
        for (long long i = 0; i < n; ++i)
            natsConnection_Publish(nc, subject.c_str(), payload.data(), int(payload.size()));
        const std::string reply = inbox + '.' + std::to_string(k);
        natsConnection_PublishRequest(nc, subject.c_str(), reply.c_str(), nullptr, 0);
    }
    std::unique_lock lock(s.m);
    if (!s.cv.wait_for(lock, std::chrono::seconds(60), [&] { return s.syncsDone == syncs; })) {
        std::fprintf(stderr, "nats-raw fan: the last syncs were not answered\n");
        return 1;
    }
    const double seconds = std::chrono::duration<double>(s.t1 - s.t0).count();
    const long long measured = (total - s.coveredAtT0) * a.receivers;
    const long long expected = total * a.receivers;
    emitResult({{"rate", std::to_string(double(measured) / seconds)},
                {"seconds", std::to_string(seconds)},
                {"receivers", std::to_string(a.receivers)},
                {"cpu_us_per_msg", std::to_string((s.cpu1 - s.cpu0) / double(total - s.coveredAtT0) * 1e6)},
                {"delivered", std::to_string(s.lastSum)},
                {"lost", std::to_string(expected - s.lastSum)},
                {"errors", std::to_string(g_asyncErrors.load())}});
    std::_Exit(0);
}

// --- pub ---------------------------------------------------------------------------------

struct Pub {
    std::mutex m;
    std::condition_variable cv;
    long long count = -1;
};

void pubAnswer(natsConnection *, natsSubscription *, natsMsg *msg, void *closure)
{
    auto *s = static_cast<Pub *>(closure);
    const long long n = std::strtoll(std::string(natsMsg_GetData(msg), size_t(natsMsg_GetDataLength(msg))).c_str(),
                                     nullptr, 10);
    natsMsg_Destroy(msg);
    std::lock_guard lock(s->m);
    s->count = n;
    s->cv.notify_all();
}

int runPub(const RawArgs &a)
{
    natsConnection *nc = connect(a, "raw-pub");
    if (!nc)
        return 1;
    Pub s;
    const std::string subject = a.prefix + ".fan", inbox = a.prefix + ".inbox";
    if (!subscribe(nc, inbox, pubAnswer, &s) || natsConnection_Flush(nc) != NATS_OK)
        return 1;
    const std::vector<char> payload(size_t(a.size), 'x');
    const auto sync = [&](long long expect) {
        {
            std::lock_guard lock(s.m);
            s.count = -1;
        }
        natsConnection_PublishRequest(nc, subject.c_str(), inbox.c_str(), nullptr, 0);
        std::unique_lock lock(s.m);
        return s.cv.wait_for(lock, std::chrono::seconds(60), [&] { return s.count >= 0; })
                && s.count == expect;
    };
    for (long long i = 0; i < a.warmup; ++i)
        natsConnection_Publish(nc, subject.c_str(), payload.data(), int(payload.size()));
    if (!sync(a.warmup)) {
        std::fprintf(stderr, "nats-raw pub: the sink did not count the warm-up (%lld)\n", s.count);
        return 1;
    }
    const Clock::time_point t0 = Clock::now();
    const double cpu0 = cpuSelf();
    for (long long i = 0; i < a.count; ++i)
        natsConnection_Publish(nc, subject.c_str(), payload.data(), int(payload.size()));
    const double published = secondsSince(t0);
    const double cpu = cpuSelf() - cpu0;
    const bool all = sync(a.warmup + a.count);
    const double seconds = secondsSince(t0);
    emitResult({{"rate", std::to_string(double(a.count) / seconds)},
                {"publish_rate", std::to_string(double(a.count) / published)},
                {"cpu_us_per_msg", std::to_string(cpu / double(a.count) * 1e6)},
                {"seconds", std::to_string(seconds)},
                {"lost", std::to_string(all ? 0 : a.warmup + a.count - s.count)},
                {"errors", std::to_string(g_asyncErrors.load())}});
    std::_Exit(0);
}

} // namespace

int natsRawMain(int argc, char **argv)
{
    RawArgs a;
    for (int i = 1; i + 1 < argc; ++i) {
        const std::string k = argv[i];
        const char *v = argv[i + 1];
        if (k == "--nats-raw") a.role = v;
        else if (k == "--url") a.url = v;
        else if (k == "--prefix") a.prefix = v;
        else if (k == "--count") a.count = std::atoll(v);
        else if (k == "--warmup") a.warmup = std::atoll(v);
        else if (k == "--window") a.window = std::atoll(v);
        else if (k == "--receivers") a.receivers = std::atoll(v);
        else if (k == "--batch") a.batch = std::atoll(v);
        else if (k == "--depth") a.depth = std::atoll(v);
        else if (k == "--size") a.size = std::atoi(v);
        else continue;
        ++i;
    }
    if (a.url.empty() || a.prefix.empty()) {
        std::fprintf(stderr, "nats-raw: --url and --prefix are needed\n");
        return 2;
    }
    if (a.role == "echo" || a.role == "sink") {
        natsConnection *nc = connect(a, a.role == "echo" ? "raw-echo" : "raw-sink");
        if (!nc)
            return 1;
        const bool echo = a.role == "echo";
        if (!subscribe(nc, a.prefix + (echo ? ".echo" : ".fan"), echo ? echoMessage : sinkMessage, nullptr)
            || ready(nc) != 0)
            return 1;
        idleForever();
    }
    if (a.role == "rr")
        return runRr(a);
    if (a.role == "fan")
        return runFan(a);
    if (a.role == "pub")
        return runPub(a);
    std::fprintf(stderr, "nats-raw: unknown role %s\n", a.role.c_str());
    return 2;
}

} // namespace Bench
