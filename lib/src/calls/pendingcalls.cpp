// SPDX-License-Identifier: MIT
#include "pendingcalls_p.h"
#include "authoring_p.h"
#include "clock_p.h"
#include "logging_p.h"
#include "stats_p.h"

#include <QtCore/qcoreapplication.h>
#include <QtCore/qdeadlinetimer.h>
#include <QtCore/qpointer.h>
#include <QtCore/qtimer.h>

namespace Plexus {

// ---------------------------------------------------------------------------------------
// PendingCalls

PendingCalls::PendingCalls(Stats *stats, CallRelay *relay, QObject *parent)
    : QObject(parent), m_stats(stats), m_relay(relay)
{
    m_timer = new QTimer(this);
    m_timer->setSingleShot(true);
    m_timer->setTimerType(Qt::PreciseTimer);
    connect(m_timer, &QTimer::timeout, this, &PendingCalls::onTimer);
}

PendingCalls::~PendingCalls()
{
    // Calls still waiting end now: their targets are unreachable without a Node. onDone
    // runs once for them too, as finish() promises, with the error.
    for (quint32 i = 0; i < m_slots.size(); ++i) {
        Slot &slot = m_slots[i];
        if (!slot.used)
            continue;
        if (slot.call.onDone && !slot.call.originEndpoint) {
            QExplicitlySharedDataPointer<MessagePrivate> m(Authoring::syntheticFinal(
                    slot.call.target, slot.call.userFlags, slot.call.udata, Reply::NotRunningError));
            const Handler onDone = slot.call.onDone;
            const Message message = MessagePrivate::wrap(m.data());
            runUserCode("onDone", [&] { onDone(message); });
        }
        if (slot.call.reply) {
            ReplyUpdate failed;
            failed.kind = ReplyUpdate::Failed;
            failed.error = Reply::NotRunningError;
            update(slot.call, std::move(failed));
            ReplyUpdate done;
            done.kind = ReplyUpdate::Finished;
            update(slot.call, std::move(done));
            detachReply(slot.call);
        }
    }
    deleteReplies(m_expired);
    deleteReplies(m_finishedReplies);
}

PendingCalls::Call *PendingCalls::find(quint64 token)
{
    const quint32 index = quint32(token) - 1;
    if (index >= m_slots.size())
        return nullptr;
    Slot &slot = m_slots[index];
    return slot.used && slot.generation == quint32(token >> 32) ? &slot.call : nullptr;
}

const PendingCalls::Call *PendingCalls::find(quint64 token) const
{
    return const_cast<PendingCalls *>(this)->find(token);
}

quint64 PendingCalls::allocate(Call **call)
{
    quint32 index;
    if (!m_free.empty()) {
        index = m_free.back();
        m_free.pop_back();
    } else {
        index = quint32(m_slots.size());
        m_slots.emplace_back();
    }
    Slot &slot = m_slots[index];
    slot.used = true;
    ++m_live;
    *call = &slot.call;
    return (quint64(slot.generation) << 32) | (index + 1);
}

void PendingCalls::release(quint64 token)
{
    const quint32 index = quint32(token) - 1;
    Slot &slot = m_slots[index];
    if (slot.call.deadline)
        dropDeadline(token, slot.call.deadline);
    slot.call = Call();
    slot.used = false;
    if (++slot.generation == 0)
        slot.generation = 1;
    m_free.push_back(index);
    --m_live;
}

quint64 PendingCalls::open(const Spec &spec)
{
    Call *c;
    const quint64 token = allocate(&c);
    static_cast<CallerContext &>(*c) = spec;
    c->target = spec.target;
    c->userFlags = spec.userFlags;
    c->reply = spec.reply;
    if (Reply *local = c->reply.local) {
        ReplyPrivate *d = ReplyPrivate::get(local);
        d->calls = this;
        d->token = token;
    } else if (ReplyChannel *ch = c->reply.channel.get()) {
        QMutexLocker locker(&ch->lock);
        ch->calls = this;
        ch->token = token;
    }
    if (spec.timeout > 0)
        setTimeout(token, spec.timeout);
    return token;
}

quint64 PendingCalls::openRelay(quint32 originEndpoint, quint64 originToken, quint16 userFlags)
{
    Call *c;
    const quint64 token = allocate(&c);
    c->originEndpoint = originEndpoint;
    c->originToken = originToken;
    c->userFlags = userFlags;
    return token;
}

void PendingCalls::addTarget(quint64 token, quint32 endpoint, int expected, bool known)
{
    if (Call *c = find(token)) {
        c->targets.append({endpoint, qint32(expected), 0, known});
        if (c->reply) {
            ReplyUpdate u;
            u.expected = total(*c);
            update(*c, std::move(u));
        }
    }
}

int PendingCalls::total(const Call &c)
{
    int n = 0;
    for (const Target &t : c.targets)
        n += t.expected;
    return n;
}

int PendingCalls::expectedTotal(quint64 token) const
{
    const Call *c = find(token);
    return c ? total(*c) : 0;
}

int PendingCalls::finishedCount(const Call &c)
{
    int n = 0;
    for (const Target &t : c.targets)
        n += t.done;
    return n;
}

bool PendingCalls::allKnown(const Call &c)
{
    for (const Target &t : c.targets) {
        if (!t.known)
            return false;
    }
    return true;
}

bool PendingCalls::complete(const Call &c)
{
    for (const Target &t : c.targets) {
        if (!t.known || t.done < t.expected)
            return false;
    }
    return true;
}

void PendingCalls::update(Call &c, ReplyUpdate &&u)
{
    if (!c.reply)
        return;   // released meanwhile (a slot aborted or deleted the Reply)
    if (Reply *local = c.reply.local) {
        ReplyPrivate::get(local)->apply(std::move(u));
        return;
    }
    // The Reply lives in another thread: post, under the lock that its destructor takes
    // before it can go away. Qt drops what is posted to an object that is deleted.
    ReplyChannel &ch = *c.reply.channel;
    QMutexLocker locker(&ch.lock);
    if (Reply *r = ch.reply) {
        invokeQueued(r, [r, update = std::move(u)]() mutable {
            ReplyPrivate::get(r)->apply(std::move(update));
        });
    }
}

void PendingCalls::detachReply(Call &c)
{
    if (Reply *local = c.reply.local) {
        ReplyPrivate *d = ReplyPrivate::get(local);
        d->calls = nullptr;
        d->token = 0;
    } else if (ReplyChannel *ch = c.reply.channel.get()) {
        QMutexLocker locker(&ch->lock);
        ch->calls = nullptr;
        ch->token = 0;
    }
}

void PendingCalls::handleReply(MessagePrivate *m, quint32 endpoint)
{
    const quint64 token = m->header.token;
    Call *c = find(token);
    Target *target = nullptr;
    if (c) {
        for (Target &t : c->targets) {
            if (t.endpoint == endpoint) {
                target = &t;
                break;
            }
        }
    }
    // A target that has already sent all its final replies has nothing more to say.
    if (!target || (target->known && target->done >= target->expected)) {
        Stats::bump(m_stats->process.lateReplies);
        return;
    }
    const quint16 pf = m->header.privateFlags;
    if (pf & Wire::Fanout) {
        // A master relaying a fan-out says how many final replies come through it, and
        // whether that number is final yet.
        target->expected = qint32(m->header.targets);
        target->known = !(pf & Wire::Pending);
        if (c->reply) {
            ReplyUpdate u;
            u.expected = total(*c);
            update(*c, std::move(u));
        }
        if (m->header.targets == 0 && target->known) {   // nobody to wait for there
            targetDone(token, endpoint, nullptr);
            return;
        }
    }
    if (c->originEndpoint) {
        m_relay->relayReply(c->originEndpoint, c->originToken, total(*c), allKnown(*c), m);
        if (pf & Wire::Done)
            targetDone(token, endpoint, nullptr);
        return;
    }

    ++c->received;
    m->udata = c->udata;
    const Reply::Error error = errorOf(m->header);
    if (error != Reply::NoError && c->error == Reply::NoError)
        c->error = error;
    if (c->reply) {
        ReplyUpdate u;
        u.kind = ReplyUpdate::Received;
        u.received = c->received;
        u.error = error;
        u.message = MessagePrivate::wrap(m);
        if (pf & Wire::Done) {
            // A target's final reply: the Reply hears of it, of the finished count and, if
            // it was the last one, of the end of the call, in one update.
            targetDone(token, endpoint, m, &u);
            return;
        }
        update(*c, std::move(u));
        c = find(token);   // a slot may have aborted the call
        if (!c)
            return;
    }
    if (pf & Wire::Done) {
        targetDone(token, endpoint, m);
        return;
    }
    if (Handler onReply = c->onReply) {
        const Message message = MessagePrivate::wrap(m);
        runUserCode("onReply", [&] { onReply(message); });
    }
}

void PendingCalls::targetDone(quint64 token, quint32 endpoint, MessagePrivate *finalReply,
                              ReplyUpdate *received)
{
    Call *c = find(token);
    if (!c)
        return;
    int finished = 0;
    for (Target &t : c->targets) {
        if (t.endpoint == endpoint && t.done < t.expected)
            ++t.done;
        finished += t.done;
    }
    if (c->reply) {
        if (received) {
            received->finishedTargets = finished;
        } else {
            ReplyUpdate u;
            u.finishedTargets = finished;
            update(*c, std::move(u));
        }
    }
    if (complete(*c)) {
        finish(token, finalReply, received);
        return;
    }
    if (received) {
        update(*c, std::move(*received));
        c = find(token);   // a slot may have aborted the call
        if (!c)
            return;
    }
    // Not the last target: its final reply is one more reply for the caller.
    if (finalReply && c->onReply && !c->originEndpoint) {
        const Handler onReply = c->onReply;
        const Message message = MessagePrivate::wrap(finalReply);
        runUserCode("onReply", [&] { onReply(message); });
    }
}

void PendingCalls::finish(quint64 token, MessagePrivate *last, ReplyUpdate *received)
{
    Call *slotCall = find(token);
    if (!slotCall)
        return;
    Call c = std::move(*slotCall);
    release(token);
    armTimer();
    if (received && !c.onDone) {
        // The last reply ends the call: one update, one pass through the Reply.
        received->finishAfter = true;
        update(c, std::move(*received));
        return;
    }
    // User code runs below before the Reply hears that the call ended (its replyReceived
    // slots, onDone). The call is released, so a Reply of this thread deleted meanwhile
    // cannot clear its link to it: a guard (only for a call with both) finds it out.
    QPointer<Reply> localReply;
    if (c.reply.local && c.onDone)
        localReply = c.reply.local;
    if (received)
        update(c, std::move(*received));   // replies come before onDone and finished()

    QExplicitlySharedDataPointer<MessagePrivate> synthetic;
    if (!last && c.onDone) {
        // No final reply to hand over (targets lost, timeout, nobody to wait for): onDone
        // still runs once, with an empty final message that carries the error, if any.
        synthetic.reset(Authoring::syntheticFinal(c.target, c.userFlags, c.udata, c.error));
        last = synthetic.data();
    }
    if (c.onDone && last) {
        const Handler onDone = c.onDone;
        const Message message = MessagePrivate::wrap(last);
        runUserCode("onDone", [&] { onDone(message); });
    }
    if (c.reply && (!c.reply.local || !c.onDone || localReply)) {
        ReplyUpdate done;
        done.kind = ReplyUpdate::Finished;
        done.error = c.error;
        update(c, std::move(done));
    }
}

void PendingCalls::fail(quint64 token, const QVarLengthArray<quint32, 4> &endpoints,
                        Reply::Error error)
{
    Call *c = find(token);
    if (!c)
        return;
    int missing = 0;
    for (Target &t : c->targets) {
        if (!endpoints.contains(t.endpoint))
            continue;
        if (!t.known)
            t.expected = qMax(t.expected, t.done + 1);
        missing += t.expected - t.done;
        t.known = true;
        t.done = t.expected;
    }
    if (c->originEndpoint) {
        if (missing)
            m_relay->relayError(c->originEndpoint, c->originToken, total(*c), allKnown(*c),
                                c->userFlags, error, missing);
        if (complete(*c)) {
            release(token);
            armTimer();
        }
        return;
    }
    if (missing == 0)
        return;   // those targets had already finished
    if (c->error == Reply::NoError)
        c->error = error;
    if (c->reply) {
        ReplyUpdate u;
        u.kind = ReplyUpdate::Failed;
        u.error = error;
        u.finishedTargets = finishedCount(*c);
        update(*c, std::move(u));
        c = find(token);
        if (!c)
            return;
    }
    if (complete(*c))
        finish(token, nullptr);
}

void PendingCalls::failLater(quint64 token, const QVarLengthArray<quint32, 4> &endpoints,
                             Reply::Error error)
{
    invokeQueued(this, [this, token, endpoints, error] {
        fail(token, endpoints, error);
    });
}

void PendingCalls::failEndpoint(quint32 endpoint, Reply::Error error)
{
    QList<quint64> affected;
    for (quint32 i = 0; i < m_slots.size(); ++i) {
        const Slot &slot = m_slots[i];
        if (!slot.used)
            continue;
        bool hit = slot.call.originEndpoint == endpoint;
        for (const Target &t : slot.call.targets)
            hit = hit || (t.endpoint == endpoint && (!t.known || t.done < t.expected));
        if (hit)
            affected.append((quint64(slot.generation) << 32) | (i + 1));
    }
    const QVarLengthArray<quint32, 4> gone{endpoint};
    for (quint64 token : std::as_const(affected)) {
        Call *c = find(token);
        if (!c)
            continue;
        if (c->originEndpoint == endpoint) {
            cancelTargets(*c, token);   // the caller itself is gone: nobody waits
            release(token);
            continue;
        }
        fail(token, gone, error);
    }
    armTimer();
}

void PendingCalls::finishLater(quint64 token, Reply::Error error)
{
    invokeQueued(this, [this, token, error] {
        Call *c = find(token);
        if (!c)
            return;
        if (c->error == Reply::NoError)
            c->error = error;
        finish(token, nullptr);
    });
}

void PendingCalls::cancelTargets(const Call &c, quint64 token)
{
    for (const Target &t : c.targets) {
        if (!t.known || t.done < t.expected)
            m_relay->cancelTarget(t.endpoint, token);
    }
}

bool PendingCalls::cancelRelay(quint32 originEndpoint, quint64 originToken)
{
    for (quint32 i = 0; i < m_slots.size(); ++i) {
        const Slot &slot = m_slots[i];
        if (!slot.used || slot.call.originEndpoint != originEndpoint
            || slot.call.originToken != originToken)
            continue;
        const quint64 token = (quint64(slot.generation) << 32) | (i + 1);
        cancelTargets(slot.call, token);
        release(token);
        armTimer();
        return true;
    }
    return false;
}

void PendingCalls::abort(quint64 token)
{
    // For Reply::abort() and ~Reply, which finish (or no longer need) the Reply themselves:
    // the call is dropped without a word to it, and its targets are told to stop.
    Call *c = find(token);
    if (!c)
        return;
    cancelTargets(*c, token);
    detachReply(*c);
    release(token);
    armTimer();
}

void PendingCalls::setTimeout(quint64 token, int msec)
{
    Call *c = find(token);
    if (!c)
        return;
    if (c->deadline) {
        dropDeadline(token, c->deadline);
        c->deadline = 0;
    }
    if (msec > 0) {
        c->deadline = monotonicMs() + msec;
        m_deadlines.emplace(c->deadline, token);
    }
    armTimer();
}

void PendingCalls::dropDeadline(quint64 token, qint64 deadline)
{
    // Only this call's entry: others may share the instant.
    auto [from, to] = m_deadlines.equal_range(deadline);
    for (auto it = from; it != to; ++it) {
        if (it->second == token) {
            m_deadlines.erase(it);
            return;
        }
    }
}

void PendingCalls::armTimer()
{
    if (m_deadlines.empty()) {
        m_timer->stop();
        return;
    }
    const qint64 wait = qMax<qint64>(0, m_deadlines.begin()->first - monotonicMs());
    m_timer->start(int(qMin<qint64>(wait, 24 * 3600 * 1000)));
}

void PendingCalls::onTimer()
{
    const qint64 now = monotonicMs();
    while (!m_deadlines.empty() && m_deadlines.begin()->first <= now) {
        const auto [deadline, token] = *m_deadlines.begin();
        m_deadlines.erase(m_deadlines.begin());
        Call *c = find(token);
        if (!c || c->deadline != deadline)
            continue;
        c->deadline = 0;
        cancelTargets(*c, token);   // timed out: nobody waits for the targets any more
        if (c->originEndpoint) {
            release(token);
            continue;
        }
        c->error = Reply::TimeoutError;
        if (c->reply) {
            ReplyUpdate u;
            u.kind = ReplyUpdate::Failed;
            u.error = Reply::TimeoutError;
            update(*c, std::move(u));
            if (!find(token))
                continue;
        }
        finish(token, nullptr);
    }
    armTimer();
}

} // namespace Plexus
