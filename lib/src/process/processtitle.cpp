// SPDX-License-Identifier: MIT
#include "processtitle_p.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <sys/prctl.h>

namespace Plexus {

namespace {
char *g_area = nullptr;       // the original argument strings, which /proc/pid/cmdline shows
size_t g_areaSize = 0;
char g_program[64] = "plexus";
} // namespace

void ProcessTitle::init(int argc, char **argv) noexcept
{
    if (g_area || argc < 1 || !argv || !argv[0])
        return;
    const char *base = std::strrchr(argv[0], '/');
    std::snprintf(g_program, sizeof g_program, "%s", base ? base + 1 : argv[0]);
    // The strings are normally laid out back to back; use as much of that run as there is.
    char *end = argv[0] + std::strlen(argv[0]) + 1;
    for (int i = 1; i < argc && argv[i] == end; ++i)
        end = argv[i] + std::strlen(argv[i]) + 1;
    g_area = argv[0];
    g_areaSize = size_t(end - argv[0]);
    for (int i = 0; i < argc; ++i) {
        if (char *copy = ::strdup(argv[i]))
            argv[i] = copy;   // kept for the life of the process
    }
}

void ProcessTitle::set(const char *what, const char *shortWhat) noexcept
{
    const char *tag = shortWhat ? shortWhat : what;
    char comm[16];
    const int room = int(sizeof comm) - 2 - int(std::strlen(tag));
    if (room > 0)
        std::snprintf(comm, sizeof comm, "%.*s:%s", room, g_program, tag);
    else
        std::snprintf(comm, sizeof comm, "%s", tag);
    ::prctl(PR_SET_NAME, comm);
    if (g_area && g_areaSize > 1) {
        std::memset(g_area, 0, g_areaSize);
        std::snprintf(g_area, g_areaSize, "%s: %s", g_program, what);
    }
}

} // namespace Plexus
