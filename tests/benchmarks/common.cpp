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
