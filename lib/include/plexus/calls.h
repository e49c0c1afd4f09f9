// SPDX-License-Identifier: MIT
#pragma once

#include <plexus/callargs.h>
#include <plexus/message.h>

namespace Plexus {

class Reply;

/*!
    \file calls.h
    The facil.io verbs. Every function here may be called from any thread; the work is
    queued to the thread of the process's Node, where handlers run. The payload is copied
    before the function returns.

    Each returns the Reply when CallArgs::reply is true, nullptr otherwise; the Reply lives
    in the calling thread (see Plexus::Reply). Errors (no running Node, payload too long or
    in too many pieces, no target, no cluster) are reported on the Reply when there is one,
    to onDone as an error message when it is given (Message::error() says which), and in
    the plexus.ipc log.

    Messages to a worker that is starting (or being respawned) are held and delivered when
    it connects, so onStart may talk to every process.
*/

/*! Runs on the master only (a worker sends it to its master; the master runs it itself). */
PLEXUS_EXPORT Reply *call(const CallArgs &args);
/*! Runs on the master and every worker of this machine; from a worker it goes through the
    master, which rebroadcasts it. */
PLEXUS_EXPORT Reply *local(const CallArgs &args);
/*! Runs on the master of every other machine of the cluster, never locally. Needs an
    op-code. Fails with Reply::NotInClusterError until the Node has joined a cluster. */
PLEXUS_EXPORT Reply *cluster(const CallArgs &args);
/*! Runs on every process of every machine. Needs an op-code. Fails with
    Reply::NotInClusterError until the Node has joined a cluster. */
PLEXUS_EXPORT Reply *broadcast(const CallArgs &args);

/*! Authors a message without sending it; a null Message if the arguments are invalid. */
PLEXUS_EXPORT Message newMessage(const CallArgs &args);
/*! Sends a message made by newMessage(), routed by its flags. */
PLEXUS_EXPORT Reply *send(const Message &message);

/*! Sends a message to one process only: \a peer as given by Message::sender() or
    WorkerInfo::sender() of this machine. Sender(machineId, 0, -1), pid 0 with another
    machine's id, is the master of that machine, reached over the cluster link (op-codes
    only; how a monitor talks to one master). A process of another machine is not
    reachable directly: Reply::TargetLostError. */
PLEXUS_EXPORT Reply *sendTo(const Sender &peer, const Message &message);

/*!
    Replies to \a request (fio_ipc_reply). May be called many times for a streaming reply;
    set ReplyArgs::done on the last. Returns false if the request cannot be replied to: the
    caller asked for no reply (logged once), it was detached, a final reply was already
    sent, the payload is refused, or the caller is gone (counted in
    Node::Counters::droppedReplies).
*/
PLEXUS_EXPORT bool reply(const Message &request, const ReplyArgs &args);

} // namespace Plexus
