// SPDX-License-Identifier: MIT
#pragma once

#include <plexus/plexusglobal.h>

QT_BEGIN_NAMESPACE
class QDebug;
QT_END_NAMESPACE

namespace Plexus {

/*!
    \namespace Plexus::Introspection
    The runtime's own services, answered by every master (and, for snapshots, by every
    worker to its master): what plexus-monitor and plexusctl ask for. They use reserved
    op-codes, so no application handler can take them over. A monitor is a Node in role
    Peer that joins the cluster and sends them with Plexus::cluster():

    \code
    Plexus::Node monitor(Plexus::Node::Peer);
    monitor.start();
    monitor.listenCluster(options);            // discovery, or connectToPeer()
    // ... once peerConnected() was emitted:
    Plexus::Reply *r = Plexus::cluster({.opcode = Plexus::Introspection::SnapshotOpcode,
                                        .reply = true});
    QObject::connect(r, &Plexus::Reply::replyReceived, [](const Plexus::Message &m) {
        const QCborValue snapshot = QCborValue::fromCbor(m.data().toByteArray());
        // ...
    });
    \endcode

    Every answer is a CBOR map with the key "v" (the encoding version, SnapshotVersion).
    The keys of each answer are listed in docs/MONITOR.md.
*/
namespace Introspection {

/*! The state of one machine: master, workers, links, op-codes, security counters. Sent
    with reply wanted; the master gathers its workers' parts and answers once (done). */
inline constexpr quint32 SnapshotOpcode = 0xFF000001u;
/*! Subscribes to the message headers this master routes: streaming replies, one batch per
    interval (aggregated counts plus a bounded sample), until the subscriber goes away or
    sends {"stop": true}. The request may carry {"opcode": N} to sample one op-code only. */
inline constexpr quint32 TraceOpcode = 0xFF000002u;
/*! A control action: {"action": "restart", "pid": N} or {"action": "send", "opcode": N,
    "data": bytes, "broadcast": bool}. Refused ({"ok": false, "error": ...}) unless the
    master enabled remote control (Options::remoteControl). */
inline constexpr quint32 ControlOpcode = 0xFF000003u;

/*! The version of the CBOR encoding of every answer (key "v"). */
inline constexpr int EncodingVersion = 1;

/*! True for the op-codes above: the only reserved op-codes a program may send. */
constexpr bool isIntrospectionOpcode(quint32 opcode) noexcept
{
    return opcode >= SnapshotOpcode && opcode <= ControlOpcode;
}

/*!
    \struct Plexus::Introspection::Options
    What a master lets monitors see and do (Node::setIntrospection()). The defaults answer
    snapshots and traces, never show payload bytes, and refuse control actions.
*/
struct Options
{
    /*! Answer TraceOpcode subscriptions. Off: they are refused, and the router's trace
        hook is not even installed. */
    bool trace = true;
    /*! Let monitors restart workers and send test messages (ControlOpcode). */
    bool remoteControl = false;
    /*! Trace samples carry up to this many payload bytes (0: never any payload). */
    int tracePayloadBytes = 0;
    /*! One trace batch per subscriber this often. */
    int traceIntervalMs = 250;
    /*! Headers sampled per batch and subscriber; the rest only count in the aggregates. */
    int traceSamples = 64;
    /*! A subscriber whose link has more than this queued loses the batch (counted in
        "dropped"), so a monitor that stops reading cannot grow the master's memory. */
    int traceMaxQueuedBytes = 256 * 1024;
};

/*! Writes \a options to \a debug. */
PLEXUS_EXPORT QDebug operator<<(QDebug debug, const Options &options);

} // namespace Introspection
} // namespace Plexus
