// SPDX-License-Identifier: MIT
#pragma once

#include "threadsync_p.h"

#include <plexus/message.h>
#include <plexus/reply.h>

#include <QtCore/qpointer.h>

#include <memory>

namespace Plexus {

class PendingCalls;

/*
    The link between a Reply and its call in the Node's PendingCalls. Shared by both; the
    lock guards the two pointers, which each side clears when it goes away, so the Node's
    thread can post to a Reply in another thread without racing with its destruction.
*/
class ReplyChannel
{
public:
    Mutex lock;
    Reply *reply = nullptr;           // null once the Reply is destroyed
    PendingCalls *calls = nullptr;    // null once the call ended or the Node went away
    quint64 token = 0;
    bool sameThread = true;           // the Reply lives in the Node's thread
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

    // Applies \a update and emits the signals it implies (pendingcalls.cpp: the one place
    // that changes a Reply's state).
    void apply(ReplyUpdate &&update);

    Reply *q_ptr;
    std::shared_ptr<ReplyChannel> channel;
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
    // A Reply in the Node's thread is deleted with the others of its event-loop pass.
    QPointer<PendingCalls> batchDelete;
    qsizetype batchIndex = -1;    // its place in that batch once queued there
};

} // namespace Plexus
