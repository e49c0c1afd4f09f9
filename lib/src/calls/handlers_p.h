// SPDX-License-Identifier: MIT
#pragma once

#include <plexus/typedhandler.h>

namespace Plexus {

/*
    The process-wide table of Melon typed handlers. Each type has a master side and a
    worker side, each with its user data and a persistent state slot. Entries are shared
    pointers, so a handler running while its type is re-registered keeps a valid state.
*/
namespace TypedHandlers {
// Runs the handler of \a type for this process's role; false if there is none.
bool dispatch(bool onWorker, quint32 type, const Message &message, const WorkerInfo &from);
} // namespace TypedHandlers

} // namespace Plexus
