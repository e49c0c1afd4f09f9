// SPDX-License-Identifier: MIT
//
// The deletion of finished, auto-deleting Replies of the Node's thread: collected per
// event-loop pass, due once control has returned to the event loop, then deleted one
// before each new Reply (their memory comes back from the allocator's per-thread cache)
// or by the next sweep.
#include "pendingcalls_p.h"

#include <utility>

namespace Plexus {

namespace {
// Off every list (they hold it no more), then deleted.
void deleteNow(Reply *reply)
{
    ReplyPrivate *d = ReplyPrivate::get(reply);
    d->batch = nullptr;
    d->batchIndex = -1;
    delete reply;
}
} // namespace

void PendingCalls::deleteReplyLater(Reply *reply)
{
    if (!m_sweepPosted) {
        QMetaObject::invokeMethod(this, &PendingCalls::sweepFinished, Qt::QueuedConnection);
        m_sweepPosted = true;
    }
    // A plain pointer, not a QPointer (which costs an allocation per Reply): a Reply that
    // is deleted before the batch runs takes itself off the list (forgetReply()).
    ReplyPrivate *d = ReplyPrivate::get(reply);
    d->batch = this;
    d->batchIndex = qsizetype(m_finishedReplies.size());
    m_finishedReplies.push_back(reply);
}

void PendingCalls::forgetReply(Reply *reply, qsizetype index)
{
    // The lists keep each Reply's index while it moves between them (swap, pop_back).
    for (std::vector<Reply *> *list : {&m_finishedReplies, &m_expired, &m_deleting}) {
        if (index >= 0 && size_t(index) < list->size() && (*list)[size_t(index)] == reply) {
            (*list)[size_t(index)] = nullptr;
            return;
        }
    }
}

void PendingCalls::deleteReplies(std::vector<Reply *> &list)
{
    // A Reply's destructor may finish, queue or delete others: they are looked up in
    // m_deleting then (forgetReply()) or go to the next sweep.
    m_deleting.swap(list);
    for (size_t i = 0; i < m_deleting.size(); ++i) {
        if (Reply *reply = std::exchange(m_deleting[i], nullptr))
            deleteNow(reply);
    }
    m_deleting.clear();
}

void PendingCalls::sweepFinished()
{
    m_sweepPosted = false;
    // Replies of an earlier pass whose memory no new Reply reused go now.
    deleteReplies(m_expired);
    // Control has returned to the event loop since this pass's Replies finished, so they
    // may be deleted from now on, as deleteLater() would. They are, one before each new
    // Reply made here (reuseFinished()): freed right before an allocation of the same
    // sizes, their memory comes back from the allocator's per-thread cache, where
    // freeing a whole pass at once overflowed that cache into its slow paths. What no
    // new Reply took goes at the next sweep.
    m_expired.swap(m_finishedReplies);
    if (!m_expired.empty()) {
        QMetaObject::invokeMethod(this, &PendingCalls::sweepFinished, Qt::QueuedConnection);
        m_sweepPosted = true;
    }
}

void PendingCalls::reuseFinished()
{
    while (!m_expired.empty()) {
        Reply *reply = m_expired.back();
        m_expired.pop_back();
        if (!reply)
            continue;
        deleteNow(reply);
        return;
    }
}

} // namespace Plexus
