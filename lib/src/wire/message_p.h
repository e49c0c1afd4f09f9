// SPDX-License-Identifier: MIT
#pragma once

#include "frame_p.h"

#include <plexus/message.h>
#include <plexus/payload.h>
#include <plexus/reply.h>

#include <QtCore/qlist.h>
#include <QtCore/qmutex.h>

#include <atomic>
#include <functional>

namespace Plexus {

/*
    Where a received message came from, for its replies: the endpoint id of the process on
    the other side, whether that endpoint still exists, and which of its calls its caller
    has cancelled. Shared by the endpoint and every message received from it, so that
    Plexus::reply() and Message::isCanceled() on any thread can tell at once that a caller
    is gone or gave up. The cancelled set is touched only when there are cancels: a call
    that was not cancelled costs one atomic load.
*/
class Route : public QSharedData
{
public:
    explicit Route(quint32 endpoint) noexcept : endpoint(endpoint) { }
    const quint32 endpoint;
    std::atomic<bool> open{true};

    // Marks kept at most; the oldest goes first.
    static constexpr qsizetype MaxCanceled = 1024;
    // Call \a token from this endpoint was cancelled by its caller / is answered for good.
    void cancel(quint64 token);
    void forget(quint64 token);
    bool isCanceled(quint64 token) const;

private:
    mutable QMutex m_lock;
    QList<quint64> m_canceled;            // few at a time: calls cancelled and still running
    std::atomic<int> m_canceledCount{0};
};
using RouteRef = QExplicitlySharedDataPointer<Route>;

// Who this process is, as it signs the messages it authors.
struct LocalIdentity
{
    quint64 machine = 0;
    quint32 pid = 0;
    qint32 slot = -1;
};
// The identity of this process's Node (pid only, machine 0, before a Node exists).
LocalIdentity localIdentity() noexcept;
// The Node publishes where its identity lives while it runs (nullptr when it ends); the
// struct is filled in before it is published.
void setLocalIdentity(const LocalIdentity *identity) noexcept;

class MessagePrivate;
// Sends the empty final reply a request owes its caller (see MessagePrivate::owesFinalReply).
// Installed by the router of the running Node; without one (the fuzzers, unit tests of the
// codec) nothing is ever owed, since only a router gives a message a route.
using AutomaticReplyHook = void (*)(MessagePrivate &request);
void setAutomaticReplyHook(AutomaticReplyHook hook) noexcept;

/*
    What the caller of a request asks of its replies: defined once, carried by the request
    from newMessage()/call() until the router opens the call, and then by the call itself
    in the pending-call table (PendingCalls::Spec and Call derive from it), so that the
    hand-over is one assignment, not a list of fields kept in step in four places.
*/
struct CallerContext
{
    Handler onReply = nullptr;
    Handler onDone = nullptr;
    void *udata = nullptr;        // on a received request: the op-code's registered udata
    int timeout = 0;              // ms, 0 = none
    bool wantReplyObject = false; // a Plexus::Reply is returned for it
};

/*
    The shared state of a Message: its decoded header, the payload (stored inline, right
    after the object: one allocation per message), the caller's context (CallerContext)
    and the receiver-side context, none of which goes on the wire.
*/
class MessagePrivate : public QSharedData, public CallerContext
{
public:
    // A message with \a header and header.length uninitialised payload bytes. The length
    // must have been checked against maxMessageLength() by the caller.
    static MessagePrivate *create(const Wire::Header &header);
    // A message with \a header whose payload is a copy of \a data (header.length is set).
    static MessagePrivate *create(Wire::Header header, const Payload &data);
    // The same header and payload, none of the context.
    static MessagePrivate *copy(const MessagePrivate &other);

    MessagePrivate(const MessagePrivate &) = delete;
    MessagePrivate &operator=(const MessagePrivate &) = delete;
    ~MessagePrivate();
    static void operator delete(void *p) noexcept { ::operator delete(p); }

    static Message wrap(MessagePrivate *d) noexcept { return Message(d); }
    static MessagePrivate *get(const Message &m) noexcept { return m.d.data(); }

    inline char *payload() noexcept;
    inline const char *payload() const noexcept;
    QByteArrayView data() const noexcept { return QByteArrayView(payload(), header.length); }
    quint16 privateFlags() const noexcept { return header.privateFlags; }
    // A request whose caller waits for replies and that was not answered with a final one.
    bool owesFinalReply() const noexcept
    {
        return route && (header.privateFlags & (Wire::WantReply | Wire::Reply)) == Wire::WantReply
                && !doneSent.load(std::memory_order_acquire);
    }

    Wire::Header header;

    // Receiver side: the endpoint to answer. Null means "cannot be answered".
    RouteRef route;
    std::atomic<bool> doneSent{false};

    std::unique_ptr<std::function<void()>> onLastRelease;

private:
    MessagePrivate() = default;
};

// The payload starts at the first 16-byte boundary after the object.
inline constexpr qsizetype MessagePayloadOffset = (qsizetype(sizeof(MessagePrivate)) + 15) & ~qsizetype(15);

char *MessagePrivate::payload() noexcept
{
    return reinterpret_cast<char *>(this) + MessagePayloadOffset;
}

const char *MessagePrivate::payload() const noexcept
{
    return reinterpret_cast<const char *>(this) + MessagePayloadOffset;
}

// The error an error reply carries (RemoteError if it names none), NoError otherwise.
inline Reply::Error errorOf(const Wire::Header &h) noexcept
{
    if (!(h.privateFlags & Wire::Error))
        return Reply::NoError;
    return h.status ? Reply::Error(h.status) : Reply::RemoteError;
}

/*
    Authoring: how every message this process sends gets its header (the messages built
    from CallArgs and ReplyArgs are calls/authoring_p.h's). Used on any thread.
*/
namespace Authoring {
// Header fields every authored message starts from: identity, timestamp, id.
Wire::Header header(quint16 privateFlags, quint64 target, quint64 timestamp = 0, quint64 id = 0);
} // namespace Authoring

} // namespace Plexus
