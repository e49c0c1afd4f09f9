// SPDX-License-Identifier: MIT
#pragma once

// plexus-bench: shared declarations of the driver, the baselines and the scenarios.

#include <QtCore/qbytearray.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace Bench {

using Clock = std::chrono::steady_clock;

inline double secondsSince(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Reads a "VmRSS"/"VmHWM"-style field (kB) from /proc/<pid>/status; 0 pid = self.
long long procStatusKb(long long pid, const char *field);

// One result line from a scenario process: "RESULT key=value key=value ...".
using Fields = std::map<std::string, std::string>;
std::string formatFields(const Fields &fields);
Fields parseFields(const std::string &line);
// Writes "RESULT <fields>\n" to stdout with one write() (atomic on a pipe).
void emitResult(const Fields &fields);

// Arguments of a scenario process (plexus-bench --scenario NAME ...).
struct ScenarioArgs
{
    std::string name;
    long long size = 64;
    long long count = 0;
    long long warmup = 0;
    long long window = 1;
    long long batch = 1000;
    long long depth = 2;
    int workers = 1;
    bool replyObjects = false;
    bool qobjectPerCall = false;   // fast path + one bare QObject per call (the Qt floor)
    // The master's trace (docs/MONITOR.md): "off" (disabled), "idle" (enabled, nobody
    // subscribed: the default) or "subscribed" (a monitor process subscribes first).
    std::string trace = "idle";
    int port = 0;   // trace-subscriber: the master's cluster port
    int busyPollUs = -1;   // ExecOptions::busyPollUs; -1: the library's default
};

// Forks a client that waits for one byte on ready[0] (the server says it is listening),
// then runs \a client and exits with its code; \a closeInChild (if >= 0) is an fd the
// child must not hold. Returns the child's pid (ready[0] closed in the parent), or -1
// after printing why.
int forkClientWhenReady(int ready[2], const std::function<int()> &client, int closeInChild = -1);

// A scenario's arguments as the driver passes them ("--size N --count M ..."), for
// plexus-bench's own scenario processes and its baseline helpers alike; \a name unless
// "--scenario NAME" says otherwise.
ScenarioArgs parseScenarioArgs(int argc, char **argv, const char *name = "");

// Plexus scenarios (fork path via Plexus::exec). Returns the process exit code.
int runPlexusScenario(int &argc, char **argv, const ScenarioArgs &args);

// Baselines measured directly by the driver (a plain process; fork() only, no Qt).
double rawPingPong(long long roundTrips, int payload);                    // round trips/s
double rawTcpPingPong(long long roundTrips, int payload);                 // loopback TCP
double rawStream(long long messages, long long size);                     // MB/s (1e6)
double cryptoPairs(long long pairs, long long size);                      // pairs/s

} // namespace Bench
