// SPDX-License-Identifier: MIT
#pragma once

// Blocking hand-offs for the threaded tests that ThreadSanitizer can follow
// (scripts/sanitize.sh --thread): Qt::BlockingQueuedConnection waits on a QSemaphore
// inside Debian's uninstrumented Qt, so TSan would see neither direction of it.

#include "threadsync_p.h"

#include <future>

// Runs \a fn in \a context's thread and returns once it ran (BlockingQueuedConnection).
template <typename Functor>
void invokeBlocking(QObject *context, Functor &&fn)
{
    std::promise<void> ran;
    std::future<void> done = ran.get_future();
    Plexus::invokeQueued(context, [&] {
        fn();
        ran.set_value();
    });
    done.wait();
}
