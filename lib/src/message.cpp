// SPDX-License-Identifier: MIT
#include "message_p.h"
#include "router_p.h"

#include <QtCore/qdebug.h>
#include <QtCore/qcoreapplication.h>

#include <unistd.h>

namespace Plexus {

MessagePrivate::~MessagePrivate()
{
    // A request whose caller waits must get a final reply from this target, even if the
    // handler returned (or the last kept copy was released) without sending one.
    if (linkId && (header.privateFlags & Wire::WantReply) && !(header.privateFlags & Wire::Reply)
        && !doneSent.load(std::memory_order_acquire)) {
        Router::sendAutomaticFinalReply(*this);
    }
    if (onLastRelease)
        onLastRelease();
}

bool Sender::isLocalProcess() const noexcept
{
    return m_pid == qint64(::getpid());
}

Message::Message() noexcept = default;
Message::Message(MessagePrivate *dd) noexcept : d(dd) { }
Message::Message(const Message &other) noexcept = default;
Message &Message::operator=(const Message &other) noexcept = default;
Message::Message(Message &&other) noexcept = default;
Message &Message::operator=(Message &&other) noexcept = default;
Message::~Message() = default;

qsizetype Message::length() const noexcept
{
    return d ? qsizetype(d->header.length) : 0;
}

QByteArrayView Message::data() const noexcept
{
    return d ? d->frame.data() : QByteArrayView();
}

quint16 Message::flags() const noexcept
{
    return d ? d->header.flags : 0;
}

quint64 Message::timestamp() const noexcept
{
    return d ? d->header.timestamp : 0;
}

quint64 Message::id() const noexcept
{
    return d ? d->header.id : 0;
}

quint32 Message::opcode() const noexcept
{
    return d && (d->header.privateFlags & Wire::Opcode) ? quint32(d->body.target) : 0;
}

Handler Message::call() const noexcept
{
    if (!d || (d->header.privateFlags & (Wire::Opcode | Wire::Typed | Wire::Control)))
        return nullptr;
    return reinterpret_cast<Handler>(quintptr(d->body.target));
}

void *Message::udata() const noexcept
{
    return d ? d->udata : nullptr;
}

bool Message::isReply() const noexcept
{
    return d && (d->header.privateFlags & Wire::Reply);
}

bool Message::isDone() const noexcept
{
    return d && (d->header.privateFlags & Wire::Done);
}

bool Message::isError() const noexcept
{
    return d && (d->header.privateFlags & Wire::Error);
}

bool Message::wantsReply() const noexcept
{
    return d && (d->header.privateFlags & Wire::WantReply);
}

Sender Message::sender() const noexcept
{
    return d ? Sender(d->body.originPid, d->body.originSlot) : Sender();
}

void Message::detach() noexcept
{
    if (!d)
        return;
    // Once detached the request can never be answered, so a caller that waits for it gets
    // its empty final reply now instead of never (the destructor's rule needs the link).
    if (d->linkId && (d->header.privateFlags & Wire::WantReply)
        && !(d->header.privateFlags & Wire::Reply)) {
        bool expected = false;
        if (d->doneSent.compare_exchange_strong(expected, true))
            Router::sendAutomaticFinalReply(*d);
    }
    d->linkId = 0;
}

void Message::onLastRelease(std::function<void()> callback)
{
    if (d)
        d->onLastRelease = std::move(callback);
}

QDebug operator<<(QDebug debug, const Sender &sender)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "Plexus::Sender(pid=" << sender.pid() << ", slot=" << sender.slot() << ')';
    return debug;
}

QDebug operator<<(QDebug debug, const Message &message)
{
    QDebugStateSaver saver(debug);
    debug.nospace();
    if (message.isNull())
        return debug << "Plexus::Message()";
    debug << "Plexus::Message(id=" << Qt::hex << message.id() << Qt::dec
          << ", length=" << message.length();
    if (message.opcode())
        debug << ", opcode=" << message.opcode();
    if (message.flags())
        debug << ", flags=" << Qt::hex << message.flags() << Qt::dec;
    if (message.isReply())
        debug << (message.isDone() ? ", final reply" : ", reply");
    if (message.isError())
        debug << ", error";
    debug << ", from=" << message.sender().pid() << ')';
    return debug;
}

} // namespace Plexus
