// SPDX-License-Identifier: MIT
#pragma once

#include <plexus/reply.h>

#include <QtCore/qpointer.h>

namespace Plexus {

class Router;

class ReplyPrivate
{
    Q_DECLARE_PUBLIC(Reply)
public:
    explicit ReplyPrivate(Reply *q) : q_ptr(q) { }
    static ReplyPrivate *get(Reply *r) { return r->d_func(); }

    // Sets the first error and emits errorOccurred() for it.
    void setError(Reply::Error e);
    // Emits finished() once, then schedules deletion if autoDelete.
    void finish();

    Reply *q_ptr;
    QPointer<Router> router;
    quint64 token = 0;
    Reply::Error error = Reply::NoError;
    bool finished = false;
    bool autoDelete = true;
    int expected = 0;
    int received = 0;
    int finishedTargets = 0;
    int timeout = 0;
    void *udata = nullptr;
};

} // namespace Plexus
