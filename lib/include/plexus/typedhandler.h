// SPDX-License-Identifier: MIT
#pragma once

#include <plexus/message.h>
#include <plexus/workerinfo.h>

namespace Plexus {

/*!
    A Melon-style typed handler (mln_ipc handler). \a worker is the sending worker on the
    master, an invalid WorkerInfo on a worker (the sender is its master). \a data is the
    data given at registration; \a state points to a per-handler slot that Plexus keeps
    between calls and never initialises or frees.
*/
using TypedHandler = void (*)(const Message &message, const WorkerInfo &worker, void *data,
                              void **state);

/*! Identifies a registration; 0 means failure. */
using HandlerId = quint64;

/*!
    Registers the handlers of message \a type for both roles (mln_ipc_handler_register).
    Re-registering a type replaces its handlers (and starts with a fresh state). Either
    handler may be nullptr. May be called before or after start, from any thread.

    \code
    static void countOnMaster(const Plexus::Message &m, const Plexus::WorkerInfo &w,
                              void *, void **state)
    {
        auto *count = reinterpret_cast<quintptr *>(state);
        ++*count;
        qDebug() << "worker" << w.slot() << "sent" << m.data() << "total" << *count;
    }
    Plexus::registerHandler(MsgHello, countOnMaster, nullptr, nullptr, nullptr);
    \endcode
*/
PLEXUS_EXPORT HandlerId registerHandler(quint32 type, TypedHandler masterHandler,
                                        TypedHandler workerHandler, void *masterData,
                                        void *workerData);
/*! Removes a registration (mln_ipc_handler_unregister); false if it was not current. */
PLEXUS_EXPORT bool unregisterHandler(HandlerId id);
/*! Sets only the master's handler of \a type (mln_fork_master_ipc_handler_set). */
PLEXUS_EXPORT HandlerId setMasterHandler(quint32 type, TypedHandler handler, void *data);
/*! Sets only the worker's handler of \a type (mln_fork_worker_ipc_handler_set). */
PLEXUS_EXPORT HandlerId setWorkerHandler(quint32 type, TypedHandler handler, void *data);

} // namespace Plexus
