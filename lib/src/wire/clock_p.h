// SPDX-License-Identifier: MIT
#pragma once

#include <QtCore/qdeadlinetimer.h>

namespace Plexus {

// Milliseconds on the monotonic clock (QDeadlineTimer's), for deadlines, timeouts and
// "last heard from" stamps: never the wall clock, which can jump.
inline qint64 monotonicMs() noexcept
{
    return QDeadlineTimer::current().deadline();
}

} // namespace Plexus
