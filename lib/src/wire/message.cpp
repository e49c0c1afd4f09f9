// SPDX-License-Identifier: MIT
#include "message_p.h"
#include "crypto_p.h"

#include <QtCore/qdatetime.h>

#include <atomic>
#include <cstring>
#include <new>

#include <unistd.h>

namespace Plexus {

namespace {
std::atomic<const LocalIdentity *> g_identity{nullptr};
std::atomic<AutomaticReplyHook> g_automaticReply{nullptr};

void sendAutomaticFinalReply(MessagePrivate &request)
{
    if (const AutomaticReplyHook hook = g_automaticReply.load(std::memory_order_acquire))
        hook(request);
}
} // namespace

// ---------------------------------------------------------------------------------------
// The process's side of every message

LocalIdentity localIdentity() noexcept
{
    if (const LocalIdentity *self = g_identity.load(std::memory_order_acquire))
        return *self;
    LocalIdentity self;
    self.pid = quint32(::getpid());
    return self;
}

void setLocalIdentity(const LocalIdentity *identity) noexcept
{
    g_identity.store(identity, std::memory_order_release);
}

void setAutomaticReplyHook(AutomaticReplyHook hook) noexcept
{
    g_automaticReply.store(hook, std::memory_order_release);
}

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
// Route

void Route::cancel(quint64 token)
{
    QMutexLocker locker(&m_lock);
    if (m_canceled.contains(token))
        return;
    if (m_canceled.size() >= MaxCanceled) {
        // A flood of cancels (or cancels for calls that ended here) costs bounded memory:
        // the oldest mark goes.
        m_canceled.removeFirst();
    } else {
        m_canceledCount.fetch_add(1, std::memory_order_release);
    }
    m_canceled.append(token);
}

void Route::forget(quint64 token)
{
    if (m_canceledCount.load(std::memory_order_acquire) == 0)
        return;
    QMutexLocker locker(&m_lock);
    if (m_canceled.removeOne(token))
        m_canceledCount.fetch_sub(1, std::memory_order_release);
}

bool Route::isCanceled(quint64 token) const
{
    if (m_canceledCount.load(std::memory_order_acquire) == 0)
        return false;
    QMutexLocker locker(&m_lock);
    return m_canceled.contains(token);
}

// ---------------------------------------------------------------------------------------
// Authoring: the header every message starts from

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

// ---------------------------------------------------------------------------------------
// Sender and Message

bool Sender::isLocalProcess() const noexcept
{
    const LocalIdentity self = localIdentity();
    return m_pid == qint64(self.pid) && (m_machine == 0 || m_machine == self.machine);
}

bool Sender::matches(const Sender &other) const noexcept
{
    const quint64 here = localIdentity().machine;
    const quint64 mine = m_machine ? m_machine : here;
    const quint64 theirs = other.m_machine ? other.m_machine : here;
    return mine == theirs && m_pid == other.m_pid && m_slot == other.m_slot;
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

bool Message::isCanceled() const noexcept
{
    if (!d || !d->route || (d->header.privateFlags & (Wire::WantReply | Wire::Reply)) != Wire::WantReply)
        return false;
    return !d->route->open.load(std::memory_order_acquire) || d->route->isCanceled(d->header.token);
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

} // namespace Plexus
