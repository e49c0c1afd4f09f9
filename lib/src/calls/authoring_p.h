// SPDX-License-Identifier: MIT
#pragma once

#include "message_p.h"

#include <plexus/callargs.h>

namespace Plexus {

/*
    Authoring: the messages this process sends, built from the verbs' arguments. Used by the
    verbs on any thread; nothing here touches the runtime. (The header every message starts
    from: Authoring::header(), wire/message_p.h.)
*/
namespace Authoring {
// A request from CallArgs; nullptr with *error set if the arguments are refused, and *why
// naming the rule that was broken (which field, which limit).
MessagePrivate *request(const CallArgs &args, quint16 routingFlags, Reply::Error *error,
                        QString *why = nullptr);
// Why \a data was refused with \a error (checkPayload()), naming the field and the limit.
QString whyRefused(const Payload &data, Reply::Error error);
// A reply to \a request (inherits target, token, id and flags unless overridden).
MessagePrivate *reply(const MessagePrivate &request, const ReplyArgs &args, quint16 extraFlags,
                      quint32 status);
// A final error reply with no payload, as a target that cannot answer sends.
MessagePrivate *errorReply(const MessagePrivate &request, Reply::Error error);
// The message handed to onDone when a call ends without a final reply from a target.
MessagePrivate *syntheticFinal(quint64 target, quint16 userFlags, void *udata, Reply::Error error);
// Why a payload is refused (too many pieces, too long), or NoError.
Reply::Error checkPayload(const Payload &data) noexcept;
} // namespace Authoring

} // namespace Plexus
