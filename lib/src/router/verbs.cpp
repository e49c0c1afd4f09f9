// SPDX-License-Identifier: MIT
//
// The public verbs: author the message, hand it to the running Node's router.
#include "authoring_p.h"
#include "logging_p.h"
#include "router_p.h"

#include <plexus/calls.h>

namespace Plexus {

namespace {
Reply *dispatch(const CallArgs &args, quint16 routingFlags)
{
    Router *router = Router::current();
    if (!router)
        return Router::failedReply(nullptr, Reply::NotRunningError, args);
    Reply::Error error;
    QString why;
    MessagePrivate *m = Authoring::request(args, routingFlags, &error, &why);
    if (!m)
        return Router::failedReply(router, error, args, why);
    return router->submit(m);
}

quint16 flagsOf(const CallArgs &args)
{
    return quint16((args.workers ? Wire::Workers : 0) | (args.cluster ? Wire::Cluster : 0)
                   | (args.others ? Wire::Others : 0));
}

Reply *sendMessage(const Message &message, const Sender *only)
{
    const MessagePrivate *src = MessagePrivate::get(message);
    if (!src || (src->header.privateFlags & (Wire::Reply | Wire::Control | Wire::Typed))) {
        CallArgs none;
        none.reply = src && src->wantReplyObject;
        return Router::failedReply(Router::current(), Reply::InvalidArgumentsError, none,
                                   src ? QStringLiteral("send()/sendTo() take a request made by newMessage(), not a reply")
                                       : QStringLiteral("a null Message"));
    }
    CallArgs args;
    args.reply = src->wantReplyObject;
    args.udata = src->udata;
    args.onDone = src->onDone;
    Router *router = Router::current();
    if (!router)
        return Router::failedReply(nullptr, Reply::NotRunningError, args);
    // The caller may keep and resend its Message: route a copy of it, with its context.
    MessagePrivate *m = MessagePrivate::copy(*src);
    static_cast<CallerContext &>(*m) = *src;
    return router->submit(m, only);
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
    // A null Message is the only answer the caller gets: the reason goes to the log.
    Reply::Error error;
    QString why;
    MessagePrivate *m = Authoring::request(args, flagsOf(args), &error, &why);
    if (!m)
        qCWarning(lcIpc).noquote() << "newMessage() refused:" << why;
    return m ? MessagePrivate::wrap(m) : Message();
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
