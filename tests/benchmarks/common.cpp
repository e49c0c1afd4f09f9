// SPDX-License-Identifier: MIT
// Helpers shared by plexus-bench and plexus-bench-dbus.
#include "bench.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <unistd.h>

namespace Bench {

long long procStatusKb(long long pid, const char *field)
{
    const std::string path = pid ? "/proc/" + std::to_string(pid) + "/status" : "/proc/self/status";
    std::ifstream in(path);
    std::string line;
    const size_t n = std::strlen(field);
    while (std::getline(in, line)) {
        if (line.compare(0, n, field) == 0 && line.size() > n && line[n] == ':')
            return std::atoll(line.c_str() + n + 1);
    }
    return 0;
}

std::string formatFields(const Fields &fields)
{
    std::string out;
    for (const auto &[k, v] : fields) {
        if (!out.empty())
            out += ' ';
        out += k;
        out += '=';
        for (char c : v)
            out += (c == ' ' || c == '\n') ? '_' : c;
    }
    return out;
}

Fields parseFields(const std::string &line)
{
    Fields out;
    std::istringstream in(line);
    std::string token;
    while (in >> token) {
        const size_t eq = token.find('=');
        if (eq != std::string::npos)
            out[token.substr(0, eq)] = token.substr(eq + 1);
    }
    return out;
}

int forkClientWhenReady(int ready[2], const std::function<int()> &client, int closeInChild)
{
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) {
        std::perror("fork");
        return -1;
    }
    if (pid == 0) {
        ::close(ready[1]);
        if (closeInChild >= 0)
            ::close(closeInChild);
        char c;
        if (::read(ready[0], &c, 1) != 1)
            ::_exit(1);
        ::close(ready[0]);
        const int rc = client();
        std::fflush(nullptr);
        ::_exit(rc);
    }
    ::close(ready[0]);
    return int(pid);
}

ScenarioArgs parseScenarioArgs(int argc, char **argv, const char *name)
{
    ScenarioArgs a;
    a.name = name;
    for (int j = 1; j < argc; ++j) {
        const std::string k = argv[j];
        const char *v = j + 1 < argc ? argv[j + 1] : "";
        if (k == "--scenario") a.name = v;
        else if (k == "--size") a.size = std::atoll(v);
        else if (k == "--count") a.count = std::atoll(v);
        else if (k == "--warmup") a.warmup = std::atoll(v);
        else if (k == "--window") a.window = std::atoll(v);
        else if (k == "--workers") a.workers = std::atoi(v);
        else if (k == "--batch") a.batch = std::atoll(v);
        else if (k == "--depth") a.depth = std::atoll(v);
        else if (k == "--reply-objects") a.replyObjects = true;
        else if (k == "--qobject-per-call") a.qobjectPerCall = true;
        else if (k == "--trace") a.trace = v;
        else if (k == "--port") a.port = std::atoi(v);
        else if (k == "--busy-poll") a.busyPollUs = std::atoi(v);
    }
    return a;
}

void emitResult(const Fields &fields)
{
    const std::string line = "RESULT " + formatFields(fields) + "\n";
    size_t off = 0;
    while (off < line.size()) {
        const ssize_t w = ::write(STDOUT_FILENO, line.data() + off, line.size() - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += size_t(w);
    }
}

} // namespace Bench
