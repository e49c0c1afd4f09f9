// SPDX-License-Identifier: MIT
#include "dispatcher_p.h"
#include "handlers_p.h"
#include "logging_p.h"
#include "opcoderegistry_p.h"
#include "stats_p.h"

namespace Plexus {

Dispatcher::Dispatcher(DispatchContext *context, Stats *stats)
    : m_context(context), m_stats(stats)
{
}

void Dispatcher::setHandler(quint32 opcode, const QObject *context,
                            std::function<void(const Message &)> functor)
{
    auto f = std::make_shared<Functor>();
    f->context = context;
    f->tied = context != nullptr;
    f->call = std::move(functor);
    QMutexLocker locker(&m_lock);
    m_functors.insert(opcode, std::move(f));
}

void Dispatcher::removeHandler(quint32 opcode, const QObject *onlyForContext)
{
    QMutexLocker locker(&m_lock);
    const auto it = m_functors.find(opcode);
    if (it == m_functors.end())
        return;
    if (onlyForContext && (*it)->context && (*it)->context != onlyForContext)
        return;   // replaced by another context's handler meanwhile
    m_functors.erase(it);
}

std::shared_ptr<const Dispatcher::Functor> Dispatcher::functorFor(quint32 opcode) const
{
    QMutexLocker locker(&m_lock);
    return m_functors.value(opcode);
}

QList<quint32> Dispatcher::handledOpcodes() const
{
    QMutexLocker locker(&m_lock);
    QList<quint32> out;
    for (auto it = m_functors.cbegin(); it != m_functors.cend(); ++it) {
        if ((*it)->alive())
            out.append(it.key());
    }
    return out;
}

Dispatcher::Result Dispatcher::dispatch(MessagePrivate *m, quint32 endpoint, bool fromExec)
{
    const quint16 pf = m->header.privateFlags;
    // The dispatch copy: when the handler keeps none, its release sends the automatic
    // final reply (MessagePrivate's destructor).
    const Message message = MessagePrivate::wrap(m);

    if (pf & Wire::Typed) {
        const WorkerInfo from = m_context->isWorker() ? WorkerInfo() : m_context->workerAt(endpoint);
        if (!TypedHandlers::dispatch(m_context->isWorker(), quint32(m->header.target), message, from))
            qCDebug(lcIpc) << "no typed handler for type" << m->header.target;
        return Result::Handled;
    }
    if (pf & Wire::Opcode) {
        const auto opcode = quint32(m->header.target);
        m_stats->opcodeIn(opcode, m->header.length);
        if (opcode >= ReservedOpcodeBase) {
            if (m_context->dispatchReserved(message))
                return Result::Handled;
        } else if (const auto f = functorFor(opcode); f && f->alive()) {
            runUserCode("op-code handler", [&] { f->call(message); });
            return Result::Handled;
        } else if (const auto spec = OpcodeRegistry::instance().find(opcode)) {
            m->udata = spec->udata;
            runUserCode("op-code handler", [&] { spec->call(message); });
            return Result::Handled;
        }
        Stats::bump(m_stats->process.unknownOpcodes);
        qCWarning(lcIpc, "no handler for op-code %#x from pid %lld", opcode,
                  qint64(m->header.originPid));
        m_context->replyError(m, Reply::UnknownOpcodeError);
        return Result::Unknown;
    }
    if (fromExec) {
        // An exec'd program runs another image: a function pointer from it means nothing.
        m_context->replyError(m, Reply::RemoteError);
        return Result::Refused;
    }
    const auto handler = reinterpret_cast<Handler>(quintptr(m->header.target));
    runUserCode("handler", [&] { handler(message); });
    return Result::Handled;
}

} // namespace Plexus
