// SPDX-License-Identifier: MIT
#include "message_p.h"
#include "logging_p.h"
#include "opcoderegistry_p.h"
#include "router_p.h"

#include <plexus/introspection.h>

#include <QtCore/qdatetime.h>
#include <QtCore/qdebug.h>

#include <cstring>
#include <new>

namespace Plexus {

// ---------------------------------------------------------------------------------------
// MessagePrivate

MessagePrivate *MessagePrivate::create(const Wire::Header &header)
{
    void *memory = ::operator new(size_t(MessagePayloadOffset) + header.length);
    auto *m = new (memory) MessagePrivate;
    m->header = header;
    return m;
}

MessagePrivate *MessagePrivate::create(Wire::Header header, const Payload &data)
{
    header.length = quint32(data.size());
    MessagePrivate *m = create(header);
    data.copyTo(m->payload());
    return m;
}

MessagePrivate *MessagePrivate::copy(const MessagePrivate &other)
{
    MessagePrivate *m = create(other.header);
    if (other.header.length)
        std::memcpy(m->payload(), other.payload(), other.header.length);
    return m;
}

MessagePrivate::~MessagePrivate()
{
    // A request whose caller waits must get a final reply from this target, even if the
    // handler returned (or the last kept copy was released) without sending one.
    if (owesFinalReply())
        sendAutomaticFinalReply(*this);
    if (onLastRelease && *onLastRelease)
        (*onLastRelease)();
}

// ---------------------------------------------------------------------------------------
// Authoring

Wire::Header Authoring::header(quint16 privateFlags, quint64 target, quint64 timestamp, quint64 id)
{
    const LocalIdentity self = localIdentity();
    Wire::Header h;
    h.privateFlags = privateFlags;
    h.target = target;
    h.timestamp = timestamp ? timestamp : quint64(QDateTime::currentMSecsSinceEpoch());
    h.id = id ? id : Crypto::nextId();
    h.originMachine = self.machine;
    h.originPid = self.pid;
    h.originSlot = self.slot;
    return h;
}

Reply::Error Authoring::checkPayload(const Payload &data) noexcept
{
    if (data.hasOverflowed())
        return Reply::TooManyPiecesError;
    if (data.size() > maxMessageLength())
        return Reply::MessageTooLongError;
    return Reply::NoError;
}

MessagePrivate *Authoring::request(const CallArgs &args, quint16 routingFlags, Reply::Error *error)
{
    *error = Reply::NoError;
    const quint32 opcode = args.opcode;
    // Of the reserved op-codes, only the runtime's introspection services may be sent.
    if (opcode && !OpcodeRegistry::isUserOpcode(opcode)
        && !Introspection::isIntrospectionOpcode(opcode)) {
        *error = Reply::InvalidArgumentsError;
        return nullptr;
    }
    if (!opcode && (!args.call || (routingFlags & Wire::Cluster))) {
        *error = Reply::InvalidArgumentsError;
        return nullptr;
    }
    if ((*error = checkPayload(args.data)) != Reply::NoError)
        return nullptr;

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
    m->onReply = onReply;
    m->onDone = onDone;
    m->udata = args.udata;
    m->timeout = args.timeout;
    m->wantReplyObject = args.reply;
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

// ---------------------------------------------------------------------------------------
// Sender and Message

bool Sender::isLocalProcess() const noexcept
{
    const LocalIdentity self = localIdentity();
    return m_pid == qint64(self.pid) && (m_machine == 0 || m_machine == self.machine);
}

bool Sender::isLocalMachine() const noexcept
{
    return m_machine == 0 || m_machine == localIdentity().machine;
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
    return d ? d->data() : QByteArrayView();
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
    return d && (d->header.privateFlags & Wire::Opcode) ? quint32(d->header.target) : 0;
}

Handler Message::call() const noexcept
{
    if (!d || (d->header.privateFlags & (Wire::Opcode | Wire::Typed | Wire::Control)))
        return nullptr;
    return reinterpret_cast<Handler>(quintptr(d->header.target));
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

Reply::Error Message::error() const noexcept
{
    return d ? errorOf(d->header) : Reply::NoError;
}

bool Message::wantsReply() const noexcept
{
    return d && (d->header.privateFlags & Wire::WantReply);
}

Sender Message::sender() const noexcept
{
    return d ? Sender(d->header.originMachine, d->header.originPid, d->header.originSlot)
             : Sender();
}

void Message::detach() noexcept
{
    if (!d)
        return;
    // Once detached the request can never be answered, so a caller that waits for it gets
    // its empty final reply now instead of never (the destructor's rule needs the route).
    if (d->owesFinalReply()) {
        bool expected = false;
        if (d->doneSent.compare_exchange_strong(expected, true))
            sendAutomaticFinalReply(*d);
    }
    d->route.reset();
}

void Message::onLastRelease(std::function<void()> callback)
{
    if (d)
        d->onLastRelease = std::make_unique<std::function<void()>>(std::move(callback));
}

QDebug operator<<(QDebug debug, const Sender &sender)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "Plexus::Sender(machine=" << Qt::hex << sender.machineId() << Qt::dec
                    << ", pid=" << sender.pid() << ", slot=" << sender.slot() << ')';
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
        debug << ", error=" << message.error();
    debug << ", from=" << message.sender().pid() << ')';
    return debug;
}

} // namespace Plexus
