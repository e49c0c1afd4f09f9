// SPDX-License-Identifier: MIT
#pragma once

#include <plexus/payload.h>

namespace Plexus {

/*!
    \struct Plexus::CallArgs
    Named arguments for Plexus::call(), local(), cluster(), broadcast() and newMessage()
    (facil.io's fio_ipc_args_s). Use designated initializers, in declaration order:

    \code
    Plexus::call({.call = onMaster, .onReply = onChunk, .onDone = onFinished,
                  .udata = this, .data = {"request"}});
    Plexus::Reply *r = Plexus::local({.opcode = OpReload, .data = config, .reply = true});
    \endcode

    Replies cost only when they are wanted:
    - \c reply = true: the call returns a Plexus::Reply that emits a signal per reply;
    - \c onReply / \c onDone given: they run on the caller, no QObject is created;
    - neither: fire-and-forget; targets send no reply traffic at all.
*/
struct CallArgs
{
    /*! Function run on each target (local machine only). Ignored when opcode is set. */
    Handler call = nullptr;
    /*! Run on the caller for each reply that is not the last one. */
    Handler onReply = nullptr;
    /*! Run on the caller once every target has sent its final reply (or failed). Its
        message is that last final reply, data included (check isError()); for a call to
        several targets, the other targets' final replies go to onReply. */
    Handler onDone = nullptr;
    /*! Timestamp in ms since the epoch; 0 = now. */
    quint64 timestamp = 0;
    /*! Message id; 0 = random. */
    quint64 id = 0;
    /*! Registered op-code; replaces call when non-zero. Required for cluster traffic. */
    quint32 opcode = 0;
    /*! User flags, carried authenticated and preserved in replies. */
    quint16 flags = 0;
    /*! Send to the masters of the other machines of the cluster. */
    bool cluster = false;
    /*! Send to the master and every worker of this machine. */
    bool workers = false;
    /*! Do not run on the calling process. */
    bool others = false;
    /*! Opaque caller-side pointer, handed back in every reply; never transmitted. */
    void *udata = nullptr;
    /*! The payload, copied synchronously. */
    Payload data = {};
    /*! Milliseconds after which an unfinished call ends with Reply::TimeoutError; 0 = never. */
    int timeout = 0;
    /*! Return a Plexus::Reply for signal-based reply handling. */
    bool reply = false;
};

/*!
    \struct Plexus::ReplyArgs
    Named arguments for Plexus::reply() (fio_ipc_reply_args_s).
*/
struct ReplyArgs
{
    /*! The reply's payload, copied synchronously. */
    Payload data = {};
    /*! 0 = now. */
    quint64 timestamp = 0;
    /*! 0 = the request's id. */
    quint64 id = 0;
    /*! Used when non-zero or when flagsSet is true; otherwise the request's flags. */
    quint16 flags = 0;
    /*! Use \c flags even when it is 0 (to clear the request's flags in the reply). */
    bool flagsSet = false;
    /*! True on the last reply of this target. */
    bool done = false;
};

/*!
    \struct Plexus::OpcodeSpec
    An op-code registration (fio_ipc_opcode_s). \c call = nullptr unregisters.
    \c onReply / \c onDone are used for calls to this op-code that give none of their own;
    \c udata is handed to \c call through Message::udata().
*/
struct OpcodeSpec
{
    /*! The op-code: non-zero and below ReservedOpcodeBase. */
    quint32 opcode = 0;
    /*! Run on the target for every message to this op-code; nullptr unregisters it. */
    Handler call = nullptr;
    /*! Default CallArgs::onReply for calls to this op-code that give none. */
    Handler onReply = nullptr;
    /*! Default CallArgs::onDone for calls to this op-code that give none. */
    Handler onDone = nullptr;
    /*! Handed to \c call as Message::udata(); stays in this process. */
    void *udata = nullptr;
};

} // namespace Plexus
