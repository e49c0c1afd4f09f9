// SPDX-License-Identifier: MIT
#include "reply_p.h"
#include "logging_p.h"
#include "pendingcalls_p.h"

#include <QtCore/qabstracteventdispatcher.h>
#include <QtCore/qeventloop.h>
#include <QtCore/qthread.h>
#include <QtCore/qtimer.h>

#include <functional>

namespace Plexus {

namespace {
// Once per thread: a thread that makes many Replies without an event loop hears of it once.
thread_local bool t_warnedNoEventLoop = false;

// True in a thread whose Replies can never get their signals from an event loop: a thread
// Qt does not know (std::thread, no event dispatcher), or a QThreadPool thread (QRunnable,
// QtConcurrent) that is not running a local event loop right now. Pool threads have an
// event dispatcher but never run its loop between tasks.
bool threadRunsNoEventLoop()
{
    if (!QAbstractEventDispatcher::instance())
        return true;
    QThread *thread = QThread::currentThread();
    return thread->loopLevel() == 0
            && qstrcmp(thread->metaObject()->className(), "QThreadPoolThread") == 0;
}

// Runs \a fn with the call's PendingCalls on the Node's thread: at once from that thread,
// queued from another. Nothing happens when the call already ended.
void toCalls(ReplyPrivate *d, std::function<void(PendingCalls *, quint64)> fn)
{
    if (d->sameThread) {
        if (d->calls && d->token)
            fn(d->calls, d->token);
        return;
    }
    const std::shared_ptr<ReplyChannel> &channel = d->channel;
    QMutexLocker locker(&channel->lock);
    PendingCalls *calls = channel->calls;
    const quint64 token = channel->token;
    if (!calls || !token)
        return;
    // The lock keeps PendingCalls alive while we post: it clears channel->calls under the
    // same lock before it is destroyed.
    invokeQueued(calls, [channel, fn = std::move(fn), token] {
        PendingCalls *c;
        {
            QMutexLocker l(&channel->lock);
            c = channel->calls;
        }
        if (c)
            fn(c, token);
    });
}

// Where ReplyPrivate starts in the allocation that holds a Reply and its private state:
// one allocation instead of two, and the two objects share cache lines.
constexpr size_t PrivateOffset = (sizeof(Reply) + alignof(ReplyPrivate) - 1) & ~(alignof(ReplyPrivate) - 1);
static_assert(alignof(ReplyPrivate) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__
              && alignof(Reply) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
} // namespace

Reply *ReplyPrivate::create(void *udata, int timeout, bool sameThread)
{
    void *block = ::operator new(PrivateOffset + sizeof(ReplyPrivate));
    auto *d = new (static_cast<char *>(block) + PrivateOffset) ReplyPrivate(nullptr);
    auto *reply = new (block) Reply(*d);
    d->udata = udata;
    d->timeout = timeout;
    d->sameThread = sameThread;
    if (sameThread)
        return reply;
    d->channel = std::make_shared<ReplyChannel>();
    d->channel->reply = reply;
    if (!t_warnedNoEventLoop && threadRunsNoEventLoop()) {
        t_warnedNoEventLoop = true;
        qCWarning(lcIpc, "A Plexus::Reply was made in a thread without an event loop (%s): "
                         "its signals arrive only while that thread waits in "
                         "Reply::waitForFinished() (or runs an event loop). Use the "
                         "onReply/onDone callbacks there.",
                  QAbstractEventDispatcher::instance() ? "a QThreadPool task" : "no Qt event dispatcher");
    }
    return reply;
}

ReplyLink ReplyPrivate::link(Reply *reply)
{
    ReplyPrivate *d = get(reply);
    return d->sameThread ? ReplyLink{reply, nullptr} : ReplyLink{nullptr, d->channel};
}

PendingCalls *ReplyPrivate::detachFromCall()
{
    if (sameThread) {
        token = 0;
        return std::exchange(calls, nullptr);
    }
    if (!channel)
        return nullptr;
    QMutexLocker locker(&channel->lock);
    channel->token = 0;
    return std::exchange(channel->calls, nullptr);
}

Reply::Reply(ReplyPrivate &dd) : QObject(nullptr), d_ptr(&dd)
{
    dd.q_ptr = this;
}

void Reply::operator delete(void *p) noexcept
{
    ::operator delete(p);   // the block of ReplyPrivate::create()
}

Reply::~Reply()
{
    Q_D(Reply);
    d->destroying();
    d->~ReplyPrivate();   // its memory is the Reply's, freed by Reply::operator delete
}

void ReplyPrivate::destroying()
{
    Q_Q(Reply);
    if (batch)
        batch->forgetReply(q, batchIndex);
    if (sameThread) {
        // Deleted by its owner before finishing: the call stops; later replies are dropped.
        if (!finished && calls && token)
            calls->abort(token);
        return;
    }
    if (!channel)
        return;
    bool abortCall = false;
    {
        QMutexLocker locker(&channel->lock);
        channel->reply = nullptr;
        abortCall = !finished && channel->calls;
    }
    if (abortCall)
        toCalls(this, [](PendingCalls *calls, quint64 token) { calls->abort(token); });
}

bool Reply::isFinished() const
{
    return d_func()->finished;
}

Reply::Error Reply::error() const
{
    return d_func()->error;
}

QString Reply::errorString() const
{
    Q_D(const Reply);
    if (!d->errorDetail.isEmpty())
        return d->errorDetail;
    switch (d->error) {
    case NoError: return QString();
    case InvalidArgumentsError:
        return tr("Invalid call: a call needs a function or an op-code, cluster traffic an op-code");
    case MessageTooLongError: return tr("The payload is longer than the maximum message length");
    case NotRunningError: return tr("Plexus is not running in this process");
    case TooManyPiecesError:
        return tr("The payload has more than %1 pieces").arg(Payload::MaxPieces);
    case NotInClusterError: return tr("This node has not joined a cluster");
    case TargetLostError: return tr("A target process went away before it finished");
    case UnknownOpcodeError: return tr("A target has no handler for this op-code");
    case RemoteError: return tr("A target reported an error");
    case TimeoutError: return tr("The call timed out");
    case OperationCanceledError: return tr("The call was aborted");
    case BackpressureError: return tr("The link's send queue is full");
    }
    return tr("Unknown error");
}

int Reply::expectedReplies() const
{
    return d_func()->expected;
}

int Reply::receivedReplies() const
{
    return d_func()->received;
}

int Reply::finishedTargets() const
{
    return d_func()->finishedTargets;
}

void *Reply::udata() const
{
    return d_func()->udata;
}

void Reply::abort()
{
    Q_D(Reply);
    if (d->finished)
        return;
    toCalls(d, [](PendingCalls *calls, quint64 token) { calls->abort(token); });
    ReplyUpdate failed;
    failed.kind = ReplyUpdate::Failed;
    failed.error = OperationCanceledError;
    d->apply(std::move(failed));
    ReplyUpdate done;
    done.kind = ReplyUpdate::Finished;
    d->apply(std::move(done));
}

void Reply::setTimeout(int msec)
{
    Q_D(Reply);
    d->timeout = msec;
    if (!d->finished) {
        toCalls(d, [msec](PendingCalls *calls, quint64 token) {
            calls->setTimeout(token, msec);
        });
    }
}

int Reply::timeout() const
{
    return d_func()->timeout;
}

bool Reply::autoDelete() const
{
    return d_func()->autoDelete;
}

void Reply::setAutoDelete(bool autoDelete)
{
    d_func()->autoDelete = autoDelete;
}

bool Reply::waitForFinished(int timeoutMs)
{
    Q_D(Reply);
    if (d->finished)
        return true;
    QEventLoop loop;
    connect(this, &Reply::finished, &loop, &QEventLoop::quit);
    QTimer timer;
    if (timeoutMs >= 0) {
        timer.setSingleShot(true);
        connect(&timer, &QTimer::timeout, &loop, &QEventLoop::quit);
        timer.start(timeoutMs);
    }
    ++d->waiting;
    loop.exec();
    --d->waiting;
    const bool done = d->finished;
    if (d->deletePending && d->waiting == 0) {
        d->deletePending = false;
        deleteLater();   // at the caller's level, not inside the loop above
    }
    return done;
}

// ---------------------------------------------------------------------------------------
// ReplyPrivate::apply: every change to a Reply's state, in the Reply's thread.

void ReplyPrivate::apply(ReplyUpdate &&u)
{
    Q_Q(Reply);
    if (finished)
        return;   // aborted meanwhile: whatever was still on its way is dropped
    if (u.expected >= 0)
        expected = u.expected;
    if (u.received >= 0)
        received = u.received;
    if (u.finishedTargets >= 0)
        finishedTargets = u.finishedTargets;
    if (u.error != Reply::NoError && error == Reply::NoError) {
        error = u.error;
        Q_EMIT q->errorOccurred(error, Reply::QPrivateSignal());
        if (finished)
            return;   // a slot aborted it
    }
    switch (u.kind) {
    case ReplyUpdate::Progress:
    case ReplyUpdate::Failed:
        return;
    case ReplyUpdate::Received:
        Q_EMIT q->replyReceived(u.message, Reply::QPrivateSignal());
        if (!u.finishAfter || finished)
            return;   // more to come, or a slot aborted it
        break;
    case ReplyUpdate::Finished:
        break;
    }
    finished = true;
    PendingCalls *openIn = detachFromCall();
    Q_EMIT q->finished(Reply::QPrivateSignal());
    if (!autoDelete)
        return;
    if (waiting) {
        deletePending = true;   // waitForFinished() deletes it once it returns
    } else if (openIn && sameThread) {
        // Its call was still open, so the Node's PendingCalls lives, in this thread.
        openIn->deleteReplyLater(q);
    } else {
        q->deleteLater();
    }
}

} // namespace Plexus
