// SPDX-License-Identifier: MIT
#pragma once

#include "message_p.h"
#include "threadsync_p.h"

#include <plexus/workerinfo.h>

#include <QtCore/qhash.h>
#include <QtCore/qpointer.h>

#include <functional>
#include <memory>

namespace Plexus {

class Stats;

// What the dispatcher needs of the process it runs in.
class DispatchContext
{
public:
    virtual ~DispatchContext() = default;
    virtual bool isWorker() const = 0;
    // The worker behind \a endpoint (typed handlers get it), or an invalid WorkerInfo.
    virtual WorkerInfo workerAt(quint32 endpoint) const = 0;
    // Sends the final error reply \a error to \a request's caller, if it wants replies.
    virtual void replyError(MessagePrivate *request, Reply::Error error) = 0;
    // A request for a reserved op-code (>= ReservedOpcodeBase): Plexus's own services.
    // False if there is none for it.
    virtual bool dispatchReserved(const Message &request) = 0;
};

/*
    Request -> handler, on the Node's thread. In order of precedence for an op-code: a
    Node::handle() functor whose context is alive, then the process-wide registry
    (registerOpcode); reserved op-codes go to the runtime; a Melon typed message to the
    typed handler of this process's role; anything else is a function pointer, which only
    a forked process (same image) may send. A request nothing handles is answered with
    Reply::UnknownOpcodeError (when it wants replies) and counted.
*/
class Dispatcher
{
public:
    enum class Result { Handled, Unknown, Refused };

    Dispatcher(DispatchContext *context, Stats *stats);

    // Node::handle(): thread-safe.
    void setHandler(quint32 opcode, const QObject *context,
                    std::function<void(const Message &)> functor);
    void removeHandler(quint32 opcode, const QObject *onlyForContext = nullptr);

    // Runs the handler of \a request (its route is set: it can be answered). Refused: a
    // function pointer from an exec'd program, which runs another image.
    Result dispatch(MessagePrivate *request, quint32 endpoint, bool fromExec);
    // The op-codes with a live handle() handler (thread-safe).
    QList<quint32> handledOpcodes() const;

private:
    struct Functor {
        QPointer<const QObject> context;
        bool tied = false;   // runs only while context lives (false: no context given)
        std::function<void(const Message &)> call;
        bool alive() const { return !tied || context; }
    };
    std::shared_ptr<const Functor> functorFor(quint32 opcode) const;

    DispatchContext *m_context;
    Stats *m_stats;
    mutable Mutex m_lock;
    QHash<quint32, std::shared_ptr<const Functor>> m_functors;
};

} // namespace Plexus
