// SPDX-License-Identifier: MIT
#pragma once

#include <plexus/plexus_export.h>

#include <QtCore/qglobal.h>
#include <QtCore/qobjectdefs.h>

namespace Plexus {
Q_NAMESPACE_EXPORT(PLEXUS_EXPORT)

class Message;

/*!
    Why a frame or a connection was rejected. Carried by Node::securityEvent() and counted
    per reason by Node::rejectedFrames().
*/
enum class FrameError {
    NoError = 0,
    OversizedFrame,        //!< announced length above maxMessageLength()
    MalformedHeader,       //!< unknown flag bits or inconsistent fields
    AuthenticationFailed,  //!< tag mismatch: tampered, truncated inside, or another key
    VersionMismatch,       //!< handshake announced another protocol version
    BadHandshake,          //!< the first bytes were not a Plexus handshake
    ReplayedFrame,         //!< a nonce already seen, or a timestamp outside the window
    TruncatedFrame,        //!< the stream ended inside a frame
    UnexpectedFrame,       //!< a valid frame that makes no sense on this link
};
Q_ENUM_NS(FrameError)

/*!
    The fast-path handler: a plain function pointer. In a forked worker the program image is
    the same as in the master, so the pointer stays valid across processes; it is carried
    inside the encrypted part of a frame and only ever called for authenticated frames.
*/
using Handler = void (*)(const Message &message);

/*!
    Op-codes at or above this value are reserved for Plexus itself (monitor, control).
*/
inline constexpr quint32 ReservedOpcodeBase = 0xFF000000u;

/*!
    The largest message payload, in bytes, that this process creates or accepts.
    Default: 128 MiB (the CMake cache variable PLEXUS_MAX_MESSAGE_LENGTH sets the default at
    build time; ExecOptions::maxMessageLength or setMaxMessageLength() at start).
*/
PLEXUS_EXPORT qsizetype maxMessageLength() noexcept;

/*!
    Sets the maximum payload length for this process. Call it before any message is sent;
    every process of an application must use the same value. Values below 1 are ignored.
*/
PLEXUS_EXPORT void setMaxMessageLength(qsizetype length) noexcept;

/*! The Plexus version, "major.minor.patch". */
PLEXUS_EXPORT const char *version() noexcept;

} // namespace Plexus
