// SPDX-License-Identifier: MIT
#include "router_p.h"

#include <plexus/calls.h>

namespace Plexus {

namespace {
Reply *dispatch(const CallArgs &args, quint16 routingFlags)
{
    Router *router = Router::current();
    if (!router)
        return Router::failedReply(Reply::NotRunningError, args);
    Reply::Error error;
    MessagePrivate *m = Router::author(args, routingFlags, &error);
    if (!m)
        return Router::failedReply(error, args);
    return router->submit(m);
}

quint16 flagsOf(const CallArgs &args)
{
    return quint16((args.workers ? Wire::Workers : 0) | (args.cluster ? Wire::Cluster : 0)
                   | (args.others ? Wire::Others : 0));
}
} // namespace

Reply *call(const CallArgs &args)
{
    return dispatch(args, flagsOf(args));
}

Reply *local(const CallArgs &args)
{
    return dispatch(args, flagsOf(args) | Wire::Workers);
}

Reply *cluster(const CallArgs &args)
{
    return dispatch(args, flagsOf(args) | Wire::Cluster);
}

Reply *broadcast(const CallArgs &args)
{
    return dispatch(args, flagsOf(args) | Wire::Workers | Wire::Cluster);
}

Message newMessage(const CallArgs &args)
{
    Reply::Error error;
    MessagePrivate *m = Router::author(args, flagsOf(args), &error);
    return m ? MessagePrivate::wrap(m) : Message();
}

static Reply *sendMessage(const Message &message, const Sender *only)
{
    const MessagePrivate *src = MessagePrivate::get(message);
    if (!src || (src->header.privateFlags & (Wire::Reply | Wire::Control))) {
        CallArgs none;
        return Router::failedReply(Reply::InvalidArgumentsError, none);
    }
    CallArgs args;
    args.reply = src->wantReplyObject;
    args.udata = src->udata;
    args.onDone = src->onDone;
    Router *router = Router::current();
    if (!router)
        return Router::failedReply(Reply::NotRunningError, args);
    // The caller may keep and resend its Message: route a private copy that shares the
    // payload buffer (copied on write only if the token must change).
    auto *m = new MessagePrivate;
    m->frame = src->frame;
    m->header = src->header;
    m->body = src->body;
    m->onReply = src->onReply;
    m->onDone = src->onDone;
    m->udata = src->udata;
    m->timeout = src->timeout;
    m->wantReplyObject = src->wantReplyObject;
    return router->submit(m, only);
}

Reply *send(const Message &message)
{
    return sendMessage(message, nullptr);
}

Reply *sendTo(const Sender &peer, const Message &message)
{
    return sendMessage(message, &peer);
}

bool reply(const Message &request, const ReplyArgs &args)
{
    Router *router = Router::current();
    return router && router->submitReply(request, args);
}

} // namespace Plexus
