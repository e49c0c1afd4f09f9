// API-STABLE
// SPDX-License-Identifier: MIT
#pragma once

// The answers of the introspection op-codes (docs/MONITOR.md section 2) as plain values:
// what snapshotdecoder.h produces and clusterstate.h keeps. Qt Core only, so that the
// decoder and its fuzz target need nothing else.

#include <QtCore/qbytearray.h>
#include <QtCore/qlist.h>
#include <QtCore/qstring.h>

#include <array>

namespace PlexusMonitor {

/*! The kinds of message a master counts ("kinds" of a process, "kind" of a trace entry). */
enum class MessageKind : quint8 {
    Call,
    Reply,
    Local,
    Cluster,
    Broadcast,
    Typed,
    Control,
    Unknown,   //!< a kind this monitor does not know (a later encoding version)
};
/*! The number of known kinds (Unknown excluded): the size of ProcessSnapshot::kinds. */
inline constexpr int MessageKindCount = int(MessageKind::Unknown);

/*! "call", "reply", ...; "?" for Unknown. */
QString messageKindName(MessageKind kind);
/*! The kind named \a name, Unknown for any other text. */
MessageKind messageKindFromName(QStringView name);

enum class ProcessRole : quint8 { Master, Worker, Unknown };
enum class ProcessState : quint8 { Starting, Running, Exited, GivenUp, Unknown };
enum class LinkKind : quint8 { Worker, Machine, Monitor, Unknown };

QString processRoleName(ProcessRole role);
QString processStateName(ProcessState state);
QString linkKindName(LinkKind kind);

/*! The traffic counters of one process ("counters"). */
struct ProcessCounters
{
    quint64 messagesIn = 0;
    quint64 messagesOut = 0;
    quint64 bytesIn = 0;
    quint64 bytesOut = 0;
    quint64 rejected = 0;
    quint64 lateReplies = 0;
    quint64 droppedReplies = 0;
    quint64 unknownOpcodes = 0;
    quint64 backpressureErrors = 0;
    quint64 heldMessages = 0;
    quint64 abandonedConnections = 0;   // closed by their peer before a byte: not rejections
    quint64 cancelsReceived = 0;        // cancels from callers that gave up a call
    quint64 canceledCalls = 0;          // requests that ended cancelled, without a final reply
    quint64 droppedIncoming = 0;        // messages from other machines dropped unread (slow consumer)
};

/*! Messages and bytes of one kind, in and out. */
struct KindCounters
{
    quint64 messagesIn = 0;
    quint64 messagesOut = 0;
    quint64 bytesIn = 0;
    quint64 bytesOut = 0;
};

/*! The traffic of one op-code in one process. */
struct OpcodeStats
{
    quint32 code = 0;
    QString name;              //!< display name given with Plexus::setOpcodeName(), or empty
    quint64 messagesIn = 0;
    quint64 messagesOut = 0;
    quint64 bytesIn = 0;
    quint64 bytesOut = 0;
};

/*! Frames rejected by one process, from one peer, for one reason. */
struct SecurityEntry
{
    QString peer;
    QString reason;            //!< a Plexus::FrameError name ("AuthenticationFailed", ...)
    quint64 count = 0;
};

/*! One master or worker as its master reports it. */
struct ProcessSnapshot
{
    qint64 pid = 0;
    ProcessRole role = ProcessRole::Unknown;
    int slot = -1;             //!< -1: the master
    bool exec = false;         //!< an exec'd (spawned) worker
    ProcessState state = ProcessState::Unknown;
    bool responding = false;   //!< it answered the snapshot itself
    qint64 startedAt = 0;      //!< ms since the epoch, the master's clock
    qint64 uptimeMs = 0;
    quint64 restarts = 0;
    qint64 idleMs = -1;        //!< -1: unknown
    quint64 backlog = 0;       //!< bytes queued towards it
    double cpuPercent = -1;    //!< user + system CPU, % of one core; -1: unknown
    qint64 rssBytes = -1;      //!< resident memory; -1: unknown
    ProcessCounters counters;
    std::array<KindCounters, MessageKindCount> kinds = {};
    QList<OpcodeStats> opcodes;
    QList<SecurityEntry> security;

    bool isMaster() const { return role == ProcessRole::Master; }
};

/*! One link of a master. */
struct LinkSnapshot
{
    QString peer;
    LinkKind kind = LinkKind::Unknown;
    qint64 pid = 0;
    quint64 machine = 0;
    quint64 queued = 0;
    quint64 framesIn = 0;
    quint64 framesOut = 0;
    quint64 bytesIn = 0;
    quint64 bytesOut = 0;
    qint64 idleMs = -1;
};

/*! Why a worker ended (Plexus::WorkerInfo::ExitReason). */
enum class ExitReason : quint8 { Normal, Error, Crashed, CrashLoop, Stopped, Restarted, Unknown };
/*! "normal", "error", "crashed", "crashLoop", "stopped", "restarted"; "?" for Unknown. */
QString exitReasonName(ExitReason reason);
/*! True for the reasons an operator should look at (a crash, a crash loop, an error exit). */
bool isFailure(ExitReason reason);
struct WorkerExit;
/*! What an exit was, for a person: "killed by signal 9 (SIGKILL)", "exited with status 3",
    "restarted on request", "stopped at shutdown"; a crash loop adds "slot given up". */
QString exitDescription(const WorkerExit &exit);

/*! One worker exit of a machine's history ("exits"). */
struct WorkerExit
{
    qint64 time = 0;           //!< ms since the epoch, the master's clock
    qint64 pid = 0;
    int slot = -1;
    ExitReason reason = ExitReason::Unknown;
    int code = 0;              //!< exit status, or the signal number if signaled
    bool signaled = false;
};

/*! A machine (or monitor) a master has a cluster link to. */
struct PeerSnapshot
{
    quint64 machine = 0;
    QString address;
    quint16 port = 0;
    QString version;
    bool monitor = false;
    double rttMs = -1;         //!< -1: not measured yet
    qint64 since = 0;          //!< ms since the epoch
};

/*! The answer to SnapshotOpcode: the state of one machine. */
struct MachineSnapshot
{
    quint64 machine = 0;
    QString version;
    QString host;
    qint64 time = 0;           //!< when it was taken, ms since the epoch (master's clock)
    quint16 clusterPort = 0;
    bool remoteControl = false;
    bool trace = false;
    quint64 traceDropped = 0;
    QList<ProcessSnapshot> processes;   //!< the master first, then the workers by slot
    QList<LinkSnapshot> links;
    QList<PeerSnapshot> peers;
    QList<WorkerExit> exits;   //!< the most recent worker exits, oldest first
};

/*! Messages of one sender, kind and op-code in one trace interval. */
struct TraceAggregate
{
    qint64 pid = 0;            //!< the sender
    quint64 fromMachine = 0;   //!< the sender's machine, 0: the batch's machine
    MessageKind kind = MessageKind::Unknown;
    quint32 opcode = 0;        //!< 0: a function pointer
    quint64 count = 0;
    quint64 bytes = 0;
};

/*! The header of one routed message, as sampled by a master. */
struct TraceSample
{
    qint64 time = 0;           //!< ms since the epoch
    qint64 from = 0;           //!< sender pid
    quint64 fromMachine = 0;
    qint64 to = 0;             //!< target pid, 0: another machine
    quint64 toMachine = 0;
    MessageKind kind = MessageKind::Unknown;
    quint32 opcode = 0;
    quint64 id = 0;
    quint64 size = 0;
    quint64 flags = 0;
    QByteArray data;           //!< payload bytes, only if the master allows them
    quint64 machine = 0;       //!< the master that reported it (from the batch)
};

/*! One streamed answer to TraceOpcode. */
struct TraceBatch
{
    quint64 machine = 0;
    quint64 seq = 0;
    qint64 time = 0;           //!< end of the interval
    quint64 intervalMs = 0;
    quint64 events = 0;        //!< messages seen in the interval
    quint64 dropped = 0;       //!< batches dropped for this subscriber so far
    QList<TraceAggregate> aggregates;
    QList<TraceSample> samples;
};

/*! The answer to ControlOpcode. */
struct ControlAnswer
{
    bool ok = false;
    QString error;
    qint64 targets = -1;       //!< "send": processes it reached; -1: not reported
    qint64 handled = -1;       //!< "send": how many of them handle the op-code; -1: not reported
};

} // namespace PlexusMonitor
