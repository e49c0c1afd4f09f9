// SPDX-License-Identifier: MIT
//
// The ThreadSanitizer canary (built only with PLEXUS_SANITIZE_THREAD): a real race across
// a hand-off that threadsync_p.h makes visible. A value is written *after* it was posted
// to another thread and read there; TSan must report it. If it does not, the zero reports
// of the threaded tests would prove nothing (TSan off, the annotations hiding too much, or
// options that ignore our code), so CTest expects the report in this program's output.

#include "threadsync_p.h"

#include <QtCore/qcoreapplication.h>
#include <QtCore/qthread.h>

#include <cstdio>
#include <future>

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QThread thread;
    QObject context;
    context.moveToThread(&thread);
    thread.start();

    int shared = 0;
    std::promise<int> seen;
    std::future<int> result = seen.get_future();
    Plexus::invokeQueued(&context, [&shared, &seen] {
        const int read = shared;   // the read (here, not inside set_value(): that runs
        seen.set_value(read);      // under std::call_once, whose callbacks TSan ignores
    });                            // with ignore_noninstrumented_modules)
    // The write, after the post: unordered with the read whichever runs first, so TSan
    // reports it in every run, not only when the two happen to overlap.
    shared = 42;
    std::printf("canary read %d\n", result.get());

    thread.quit();
    thread.wait();
    return 0;
}
