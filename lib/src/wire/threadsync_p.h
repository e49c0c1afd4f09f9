// SPDX-License-Identifier: MIT
#pragma once

// Hand-offs between threads that ThreadSanitizer can see.
//
// Every send and reply may come from any thread, and a Reply lives in its caller's thread,
// so the library hands data to other threads through Qt: a queued
// QMetaObject::invokeMethod() (a posted event) and QMutex. Debian's Qt is not built with
// TSan, so the mutex inside QCoreApplication::postEvent(), and QMutex's slow path, are
// invisible to it: a value written before a post and read by the receiver looks like a
// race although Qt orders the two. This header is the one place that makes those
// hand-offs visible, so that every report that remains is a real one:
//
//   - Plexus::invokeQueued(context, fn) replaces QMetaObject::invokeMethod(context, fn,
//     Qt::QueuedConnection) wherever the caller may be in another thread than \a context.
//     Under TSan the post is made while holding a mutex striped by the receiving thread,
//     and \a fn first takes and drops that mutex: everything the poster did before the
//     post (the functor's captures included) happens-before \a fn. This mirrors what Qt
//     really does (postEvent() and the receiving thread lock that thread's event-queue
//     mutex).
//   - Plexus::startInPool(pool, fn) does the same for a QThreadPool task (one mutex for
//     all pools: the thread that runs the task is not known when it is started).
//   - Plexus::Mutex is QMutex, or std::mutex (whose pthread calls TSan intercepts) in a
//     TSan build; it is used with QMutexLocker like a QMutex.
//
// In a normal build both are exactly the Qt calls they stand for: no cost.

#include <QtCore/qmutex.h>
#include <QtCore/qobject.h>
#include <QtCore/qthread.h>
#include <QtCore/qthreadpool.h>

#if defined(__SANITIZE_THREAD__)
#  define PLEXUS_TSAN 1
#  include <functional>
#  include <mutex>
#endif

namespace Plexus {

#if defined(PLEXUS_TSAN)
using Mutex = std::mutex;

namespace ThreadSync {
// The event-queue mutex TSan can see: one of a few, chosen by the receiving thread.
// Threads that share a stripe only synchronise more than Qt does, never less. Inline: a
// program that includes this header (a test) has its own stripes, which is enough, as
// both ends of a hand-off are instantiated in the same binary.
inline std::mutex &queueMutex(const QThread *receiver) noexcept
{
    static std::mutex stripes[16];
    return stripes[std::hash<const void *>()(receiver) % 16];
}
// The one for QThreadPool tasks (the thread that runs a task is not known beforehand).
inline std::mutex &poolMutex() noexcept
{
    static std::mutex m;
    return m;
}
} // namespace ThreadSync

template <typename Functor>
void invokeQueued(QObject *context, Functor &&fn)
{
    // The receiver finds the mutex from its own thread, not from a capture: reading a
    // capture before the lock would itself be the unordered read.
    std::lock_guard<std::mutex> posting(ThreadSync::queueMutex(context->thread()));
    QMetaObject::invokeMethod(context, [fn = std::forward<Functor>(fn)]() mutable {
        { std::lock_guard<std::mutex> received(ThreadSync::queueMutex(QThread::currentThread())); }
        fn();
    }, Qt::QueuedConnection);
}

// A task of our own rather than QThreadPool::start(std::function): std::function's call
// reads its own storage before the task could take the mutex; here the first access of
// instrumented code to the task is run()'s body (Qt's pool makes the virtual call).
template <typename Functor>
class HandoffTask final : public QRunnable
{
public:
    explicit HandoffTask(Functor &&fn) : m_fn(std::forward<Functor>(fn)) { }
    void run() override
    {
        { std::lock_guard<std::mutex> started(ThreadSync::poolMutex()); }
        m_fn();
    }

private:
    std::decay_t<Functor> m_fn;
};

template <typename Functor>
void startInPool(QThreadPool *pool, Functor &&fn)
{
    std::lock_guard<std::mutex> starting(ThreadSync::poolMutex());
    pool->start(new HandoffTask<Functor>(std::forward<Functor>(fn)));
}
#else
using Mutex = QMutex;

template <typename Functor>
inline void invokeQueued(QObject *context, Functor &&fn)
{
    QMetaObject::invokeMethod(context, std::forward<Functor>(fn), Qt::QueuedConnection);
}

template <typename Functor>
inline void startInPool(QThreadPool *pool, Functor &&fn)
{
    pool->start(std::forward<Functor>(fn));
}
#endif

} // namespace Plexus
