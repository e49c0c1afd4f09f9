// SPDX-License-Identifier: MIT
//
// Authoring: the messages this process sends, from CallArgs and ReplyArgs (the header
// every message starts from is wire/message.cpp's Authoring::header()).
#include "authoring_p.h"
#include "opcoderegistry_p.h"

#include <plexus/introspection.h>

namespace Plexus {

Reply::Error Authoring::checkPayload(const Payload &data) noexcept
{
    if (data.hasOverflowed())
        return Reply::TooManyPiecesError;
    if (data.size() > maxMessageLength())
        return Reply::MessageTooLongError;
    return Reply::NoError;
}

QString Authoring::whyRefused(const Payload &data, Reply::Error error)
{
    if (error == Reply::TooManyPiecesError)
        return QStringLiteral("CallArgs::data has more than %1 pieces").arg(Payload::MaxPieces);
    if (error == Reply::MessageTooLongError)
        return QStringLiteral("CallArgs::data is %1 bytes, above maxMessageLength() (%2)")
                .arg(data.size()).arg(maxMessageLength());
    return QString();
}

MessagePrivate *Authoring::request(const CallArgs &args, quint16 routingFlags, Reply::Error *error,
                                   QString *why)
{
    *error = Reply::NoError;
    const quint32 opcode = args.opcode;
    // Of the reserved op-codes, only the runtime's introspection services may be sent.
    if (opcode && !OpcodeRegistry::isUserOpcode(opcode)
        && !Introspection::isIntrospectionOpcode(opcode)) {
        *error = Reply::InvalidArgumentsError;
        if (why)
            *why = QStringLiteral("CallArgs::opcode %1 is reserved (0 and codes from 0xFF000000)")
                           .arg(QLatin1String("0x") + QString::number(opcode, 16));
        return nullptr;
    }
    if (!opcode && (!args.call || (routingFlags & Wire::Cluster))) {
        *error = Reply::InvalidArgumentsError;
        if (why)
            *why = (routingFlags & Wire::Cluster)
                    ? QStringLiteral("cluster() and broadcast() need CallArgs::opcode (a function "
                                     "pointer does not cross machines)")
                    : QStringLiteral("neither CallArgs::call nor CallArgs::opcode is set");
        return nullptr;
    }
    if ((*error = checkPayload(args.data)) != Reply::NoError) {
        if (why)
            *why = whyRefused(args.data, *error);
        return nullptr;
    }

    Handler onReply = args.onReply;
    Handler onDone = args.onDone;
    if (opcode && !onReply && !onDone) {
        if (auto spec = OpcodeRegistry::instance().find(opcode)) {
            onReply = spec->onReply;
            onDone = spec->onDone;
        }
    }
    const bool wantReply = args.reply || onReply || onDone;
    Wire::Header h = header(
            quint16((routingFlags & (Wire::Workers | Wire::Cluster | Wire::Others))
                    | (opcode ? Wire::Opcode : 0) | (wantReply ? Wire::WantReply : 0)),
            opcode ? quint64(opcode) : quint64(quintptr(args.call)), args.timestamp, args.id);
    h.flags = args.flags;
    MessagePrivate *m = MessagePrivate::create(h, args.data);
    static_cast<CallerContext &>(*m) = {onReply, onDone, args.udata, args.timeout, args.reply};
    return m;
}

MessagePrivate *Authoring::reply(const MessagePrivate &request, const ReplyArgs &args,
                                 quint16 extraFlags, quint32 status)
{
    const Wire::Header &rq = request.header;
    Wire::Header h = header(quint16(Wire::Reply | (args.done ? Wire::Done : 0) | extraFlags
                                    | (rq.privateFlags & Wire::Opcode)),
                            rq.target, args.timestamp, args.id ? args.id : rq.id);
    h.flags = (args.flagsSet || args.flags) ? args.flags : rq.flags;
    h.token = rq.token;
    h.status = status;
    return MessagePrivate::create(h, args.data);
}

MessagePrivate *Authoring::errorReply(const MessagePrivate &request, Reply::Error error)
{
    return reply(request, ReplyArgs{.done = true}, Wire::Error, quint32(error));
}

MessagePrivate *Authoring::syntheticFinal(quint64 target, quint16 userFlags, void *udata,
                                          Reply::Error error)
{
    Wire::Header h = header(quint16(Wire::Reply | Wire::Done
                                    | (error != Reply::NoError ? Wire::Error : 0)),
                            target);
    h.flags = userFlags;
    h.status = quint32(error);
    MessagePrivate *m = MessagePrivate::create(h);
    m->udata = udata;
    return m;
}

} // namespace Plexus
