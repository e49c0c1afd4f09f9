// API-STABLE
// SPDX-License-Identifier: MIT
#pragma once

// Decoders of the introspection answers (docs/MONITOR.md section 2, CBOR version 1), and
// the encoders of the requests a monitor sends. Pure functions, Qt Core only: a master's
// answer is untrusted input, so every decoder bounds what it keeps (DecodeLimits), checks
// every type, and fails with an error text instead of crashing or allocating without
// limit. Unknown keys are skipped; an answer whose "v" is not 1 is refused.

#include "snapshot.h"

#include <QtCore/qbytearrayview.h>

namespace PlexusMonitor {

/*! The bounds of the decoders; an answer above any of them is refused. */
namespace DecodeLimits {
inline constexpr int MaxProcesses = 4096;
inline constexpr int MaxOpcodes = 65536;          //!< per process
inline constexpr int MaxSecurityEntries = 4096;   //!< per process
inline constexpr int MaxLinks = 8192;
inline constexpr int MaxPeers = 4096;
inline constexpr int MaxExits = 1024;             //!< worker exits per snapshot
inline constexpr int MaxAggregates = 65536;       //!< per trace batch
inline constexpr int MaxSamples = 65536;          //!< per trace batch
/*! List entries of all kinds in one answer, so that nested lists stay bounded together. */
inline constexpr int MaxEntries = 262144;
inline constexpr int MaxTextBytes = 1024;         //!< names, hosts, peers, reasons
inline constexpr int MaxErrorTextBytes = 4096;    //!< a control answer's "error"
/*! One sample's "data": what a master sends at most (Introspection::Options'
    tracePayloadBytes is capped there at 4096), so that a hostile master cannot make every
    sample of the trace ring hold more. */
inline constexpr int MaxSampleDataBytes = 4096;
inline constexpr qsizetype MaxTotalDataBytes = 16 * 1024 * 1024;   //!< all samples' data
inline constexpr int MaxDepth = 16;               //!< nesting inside skipped values
} // namespace DecodeLimits

/*! Decodes a snapshot (SnapshotOpcode answer) into \a out. On failure returns false, sets
    \a error (if not null) and leaves \a out unspecified. */
bool decodeSnapshot(QByteArrayView cbor, MachineSnapshot *out, QString *error);
/*! Decodes a trace batch (TraceOpcode streamed answer). Each sample's \c machine is set to
    the batch's machine. */
bool decodeTrace(QByteArrayView cbor, TraceBatch *out, QString *error);
/*! Decodes a control answer (ControlOpcode). A well-formed refusal decodes fine: it gives
    \c ok = false and the master's reason in \c error. */
bool decodeControlAnswer(QByteArrayView cbor, ControlAnswer *out, QString *error);

/*! The body of a TraceOpcode subscription: empty (every op-code) or {"opcode": N}. */
QByteArray encodeTraceRequest(quint32 opcode);
/*! {"stop": true}: ends this monitor's trace subscriptions on a master. */
QByteArray encodeTraceStop();
/*! {"action": "restart", "pid": N}. */
QByteArray encodeRestartRequest(qint64 pid);
/*! {"action": "send", "opcode": N, "data": bytes, "broadcast": bool}. */
QByteArray encodeSendRequest(quint32 opcode, const QByteArray &data, bool broadcast);

} // namespace PlexusMonitor
