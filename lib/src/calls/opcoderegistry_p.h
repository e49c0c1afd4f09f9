// SPDX-License-Identifier: MIT
#pragma once

#include <plexus/opcode.h>

#include <QtCore/qhash.h>

#include <mutex>
#include <shared_mutex>

namespace Plexus {

/*
    The process-wide op-code table (fio_ipc_opcode_register). Readers (dispatch) take a
    shared lock; registration takes the exclusive lock, so registering from any thread while
    messages are dispatched is safe.
*/
class OpcodeRegistry
{
public:
    static OpcodeRegistry &instance();

    bool add(const OpcodeSpec &spec);
    bool remove(quint32 opcode);
    std::optional<OpcodeSpec> find(quint32 opcode) const;
    qsizetype count() const;
    QList<quint32> opcodes() const;
    // Display names (setOpcodeName), kept apart from the handlers.
    bool setName(quint32 opcode, const QString &name);
    QString name(quint32 opcode) const;
    QHash<quint32, QString> names() const;

    static bool isUserOpcode(quint32 opcode) noexcept
    {
        return opcode != 0 && opcode < ReservedOpcodeBase;
    }

private:
    // std::shared_mutex rather than QReadWriteLock: the same cost, and ThreadSanitizer sees
    // it (Debian's Qt is not instrumented).
    mutable std::shared_mutex m_lock;
    QHash<quint32, OpcodeSpec> m_specs;
    QHash<quint32, QString> m_names;
};

} // namespace Plexus
