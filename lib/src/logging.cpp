// SPDX-License-Identifier: MIT
#include "logging_p.h"

#include <plexus/plexusglobal.h>

#include <atomic>

namespace Plexus {
Q_LOGGING_CATEGORY(lcIpc, "plexus.ipc", QtInfoMsg)
Q_LOGGING_CATEGORY(lcCluster, "plexus.cluster", QtInfoMsg)
Q_LOGGING_CATEGORY(lcSecurity, "plexus.security", QtInfoMsg)
Q_LOGGING_CATEGORY(lcWorker, "plexus.worker", QtInfoMsg)

namespace {
// Largest buffer a QByteArray can hold, less the frame overhead and some slack.
constexpr qsizetype HardMaxMessageLength = qsizetype(1) << 30;
std::atomic<qsizetype> g_maxMessageLength{qsizetype(PLEXUS_DEFAULT_MAX_MESSAGE_LENGTH)};
} // namespace

qsizetype maxMessageLength() noexcept
{
    return g_maxMessageLength.load(std::memory_order_relaxed);
}

void setMaxMessageLength(qsizetype length) noexcept
{
    if (length >= 1)
        g_maxMessageLength.store(qMin(length, HardMaxMessageLength), std::memory_order_relaxed);
}

const char *version() noexcept
{
    return PLEXUS_VERSION_STRING;
}

} // namespace Plexus
