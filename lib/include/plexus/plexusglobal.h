// SPDX-License-Identifier: MIT
#pragma once

#include <plexus/plexus_export.h>

#include <QtCore/qglobal.h>
#include <QtCore/qobjectdefs.h>

/*!
    \namespace Plexus
    Encrypted messaging between the processes of one application and the machines of a
    cluster: the free functions that send calls and replies, and the classes around them.
    Start with Plexus::exec() and Plexus::Node.
*/
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
    AuthenticationFailed,  //!< MAC or tag mismatch: tampered, replayed, reordered, another key
    VersionMismatch,       //!< handshake announced another protocol version
    BadHandshake,          //!< not a Plexus handshake, or a Hello the receiver does not admit
    ReplayedFrame,         //!< a single message already seen, or outside the time window
    TruncatedFrame,        //!< the stream ended inside a handshake, record or frame
    UnexpectedFrame,       //!< an authenticated frame that makes no sense on this link
    HandshakeTimeout,      //!< the handshake did not finish in time, or a silent link was shed
};
Q_ENUM_NS(FrameError)

/*!
    What carries a process's links (ExecOptions::linkBackend, Node::setLinkBackend(), or
    PLEXUS_LINK_BACKEND=descriptor|qt). Both speak the same protocol and interoperate; see
    docs/ARCHITECTURE.md, "Qt sockets and where Plexus goes below them", for their speed.
*/
enum class LinkBackend {
    Descriptor,   //!< plain system calls on the socket descriptors (the default: fastest)
    QtSocket,     //!< Qt's own sockets: QLocalSocket between processes, QTcpSocket between machines
};
Q_ENUM_NS(LinkBackend)

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
