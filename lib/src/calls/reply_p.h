// SPDX-License-Identifier: MIT
#pragma once

#include "threadsync_p.h"

#include <plexus/message.h>
#include <plexus/reply.h>

#include <memory>

namespace Plexus {

class PendingCalls;

/*
    The link between a Reply in another thread than the Node's and its call in the Node's
    PendingCalls. Shared by both; the lock guards the two pointers, which each side clears
    when it goes away, so the Node's thread can post to the Reply without racing with its
    destruction. A Reply in the Node's thread needs none of it (ReplyLink::local).
*/
class ReplyChannel
{
public:
    Mutex lock;
    Reply *reply = nullptr;           // null once the Reply is destroyed
    PendingCalls *calls = nullptr;    // null once the call ended or the Node went away
    quint64 token = 0;
};

// How a call reaches its Reply: directly in the Node's thread, else through a channel.
struct ReplyLink
{
    Reply *local = nullptr;
    std::shared_ptr<ReplyChannel> channel;
    explicit operator bool() const noexcept { return local || channel; }
};

// One change to a Reply, applied in the Reply's thread (directly, or posted to it).
struct ReplyUpdate
{
    enum Kind : quint8 { Progress, Received, Failed, Finished };
    Kind kind = Progress;
    Reply::Error error = Reply::NoError;
    int expected = -1;           // -1: unchanged
    int received = -1;
    int finishedTargets = -1;
    bool finishAfter = false;    // Received: the last reply; the call ends with it
    Message message;             // Received
};

class ReplyPrivate
{
    Q_DECLARE_PUBLIC(Reply)
public:
    explicit ReplyPrivate(Reply *q) : q_ptr(q) { }
    static ReplyPrivate *get(Reply *r) { return r->d_func(); }
    // A Reply for a call made in the current thread; \a sameThread: the Node's thread.
    static Reply *create(void *udata, int timeout, bool sameThread);

    // What a call opened for \a reply keeps to reach it.
    static ReplyLink link(Reply *reply);

    // Applies \a update and emits the signals it implies (the one place that changes a
    // Reply's state; PendingCalls decides the updates).
    void apply(ReplyUpdate &&update);
    // The call is over for this Reply: forgets it; returns the PendingCalls it was open
    // in (null if it was no longer open).
    PendingCalls *detachFromCall();
    // From ~Reply: the batch forgets it, an open call is aborted.
    void destroying();

    Reply *q_ptr;
    // In the Node's thread: the open call (set and cleared by PendingCalls, same thread).
    PendingCalls *calls = nullptr;
    quint64 token = 0;
    // In another thread: the shared channel to the call.
    std::shared_ptr<ReplyChannel> channel;
    bool sameThread = true;
    Reply::Error error = Reply::NoError;
    QString errorDetail;          // the rule a refused call broke, for errorString()
    bool finished = false;
    bool autoDelete = true;
    int waiting = 0;              // waitForFinished() nesting: deletion waits for it
    bool deletePending = false;
    int expected = 0;
    int received = 0;
    int finishedTargets = 0;
    int timeout = 0;
    void *udata = nullptr;
    // A Reply in the Node's thread is deleted with the others of its event-loop pass:
    // the batch it waits in, and its place there (set only while it waits).
    PendingCalls *batch = nullptr;
    qsizetype batchIndex = -1;
};

} // namespace Plexus
