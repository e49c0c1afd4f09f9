// SPDX-License-Identifier: MIT
#pragma once

#include "frame_p.h"

#include <plexus/message.h>

#include <atomic>
#include <functional>

namespace Plexus {

/*
    The shared state of a Message: the plain frame (header, body prefix and payload in one
    buffer, so the payload is never copied again after authoring or decryption) plus the
    caller-side and receiver-side context that never goes on the wire.
*/
class MessagePrivate : public QSharedData
{
public:
    MessagePrivate() = default;
    MessagePrivate(const MessagePrivate &) = delete;
    ~MessagePrivate();

    static Message wrap(MessagePrivate *d) { return Message(d); }
    static MessagePrivate *get(const Message &m) { return m.d.data(); }

    Frame frame;              // plain
    Wire::Header header;      // decoded copies, host order
    Wire::Body body;

    // Caller side (authored by newMessage()): what the reply machinery needs.
    Handler onReply = nullptr;
    Handler onDone = nullptr;
    void *udata = nullptr;
    int timeout = 0;
    bool wantReplyObject = false;

    // Receiver side: the link to answer on. linkId 0 means "not linked".
    quint64 linkId = 0;
    std::atomic<bool> doneSent{false};

    std::function<void()> onLastRelease;
};

} // namespace Plexus
