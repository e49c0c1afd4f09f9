// SPDX-License-Identifier: MIT
#pragma once

#include <plexus/callargs.h>

#include <QtCore/qstring.h>

#include <optional>

namespace Plexus {

/*!
    Registers an op-code handler for this process (fio_ipc_opcode_register); a spec with
    \c call = nullptr unregisters the op-code. Returns false for op-code 0 and for reserved
    codes (>= ReservedOpcodeBase). Thread-safe; registering after start takes effect for
    messages dispatched afterwards.

    \code
    enum : quint32 { OpInvalidate = 1 };
    Plexus::registerOpcode({.opcode = OpInvalidate, .call = onInvalidate});
    \endcode
*/
PLEXUS_EXPORT bool registerOpcode(const OpcodeSpec &spec);

/*! Unregisters \a opcode; same as registerOpcode({.opcode = opcode}). */
PLEXUS_EXPORT bool unregisterOpcode(quint32 opcode);

/*! The registration of \a opcode, or std::nullopt (fio_ipc_opcode). */
PLEXUS_EXPORT std::optional<OpcodeSpec> opcode(quint32 opcode);

/*!
    Gives \a opcode a human-readable name for tools that show traffic (the monitor,
    plexusctl); an empty \a name removes it. Names are per process, independent of whether
    (or how: registerOpcode() or Node::handle()) the op-code is handled, and never travel
    in messages. Returns false for op-code 0 and reserved codes. Thread-safe.

    \code
    Plexus::setOpcodeName(OpInvalidate, QStringLiteral("cache.invalidate"));
    \endcode
*/
PLEXUS_EXPORT bool setOpcodeName(quint32 opcode, const QString &name);

/*! The name given to \a opcode with setOpcodeName(), or an empty string. */
PLEXUS_EXPORT QString opcodeName(quint32 opcode);

} // namespace Plexus
