// SPDX-License-Identifier: MIT
#include "reply_p.h"
#include "router_p.h"

namespace Plexus {

void ReplyPrivate::setError(Reply::Error e)
{
    Q_Q(Reply);
    if (e == Reply::NoError || error != Reply::NoError)
        return;
    error = e;
    Q_EMIT q->errorOccurred(e);
}

void ReplyPrivate::finish()
{
    Q_Q(Reply);
    if (finished)
        return;
    finished = true;
    token = 0;
    Q_EMIT q->finished();
    if (autoDelete) {
        if (router)
            router->deleteLater(q);   // one posted event for all Replies of a batch
        else
            q->deleteLater();
    }
}

Reply::Reply(QObject *parent) : QObject(parent), d_ptr(new ReplyPrivate(this)) { }

Reply::~Reply()
{
    Q_D(Reply);
    // A Reply deleted by its owner before finishing stops waiting: late replies are dropped.
    if (!d->finished && d->token && d->router)
        d->router->abortCall(d->token);
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
    switch (d_func()->error) {
    case NoError: return QString();
    case InvalidArgumentsError:
        return tr("Invalid call: a call needs a function or an op-code, cluster traffic an op-code");
    case MessageTooLongError: return tr("The payload is longer than the maximum message length");
    case NotRunningError: return tr("Plexus is not running in this process");
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
    const quint64 token = d->token;
    d->setError(OperationCanceledError);
    if (token && d->router)
        d->router->abortCall(token);
    d->finish();
}

void Reply::setTimeout(int msec)
{
    Q_D(Reply);
    d->timeout = msec;
    if (!d->finished && d->token && d->router)
        d->router->setCallTimeout(d->token, msec);
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

} // namespace Plexus
