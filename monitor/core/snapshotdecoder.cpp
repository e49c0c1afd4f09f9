// SPDX-License-Identifier: MIT
// The answers of docs/MONITOR.md section 2, one reader per answer and per entry kind, on
// the bounded CBOR reader of cborreader.cpp; and the requests a monitor sends.
#include "snapshotdecoder.h"

#include "cborreader.h"

#include <QtCore/qcbormap.h>
#include <QtCore/qcborvalue.h>

using namespace Qt::StringLiterals;

namespace PlexusMonitor {
namespace {

using Internal::CborReader;

bool readCounters(CborReader &d, ProcessCounters *c)
{
    return d.forEachKey("counters", [&](QStringView key) {
        quint64 *field = key == u"messagesIn" ? &c->messagesIn
                : key == u"messagesOut"       ? &c->messagesOut
                : key == u"bytesIn"           ? &c->bytesIn
                : key == u"bytesOut"          ? &c->bytesOut
                : key == u"rejected"          ? &c->rejected
                : key == u"lateReplies"       ? &c->lateReplies
                : key == u"droppedReplies"    ? &c->droppedReplies
                : key == u"unknownOpcodes"    ? &c->unknownOpcodes
                : key == u"backpressureErrors" ? &c->backpressureErrors
                : key == u"heldMessages"      ? &c->heldMessages
                : key == u"abandonedConnections" ? &c->abandonedConnections
                : key == u"cancelsReceived"   ? &c->cancelsReceived
                : key == u"canceledCalls"     ? &c->canceledCalls
                : key == u"droppedIncoming"   ? &c->droppedIncoming
                                              : nullptr;
        return field ? d.readUInt(key, field) : d.skip();
    });
}

bool readKinds(CborReader &d, std::array<KindCounters, MessageKindCount> *kinds)
{
    return d.forEachKey("kinds", [&](QStringView key) {
        const MessageKind kind = messageKindFromName(key);
        if (kind == MessageKind::Unknown)
            return d.skip();
        KindCounters &k = (*kinds)[size_t(kind)];
        quint64 *fields[] = {&k.messagesIn, &k.messagesOut, &k.bytesIn, &k.bytesOut};
        int i = 0;
        if (!d.forEachElement(key, 16, [&] {
                return i < 4 ? d.readUInt(key, fields[i++]) : d.skip();
            }))
            return false;
        return i == 4 ? true : d.fail(u"kinds."_s + key.toString() + u": fewer than 4 counters"_s);
    });
}

bool readOpcode(CborReader &d, OpcodeStats *o)
{
    bool hasCode = false;
    if (!d.forEachKey("an op-code", [&](QStringView key) {
            if (key == u"code") {
                hasCode = true;
                return d.readUInt32(key, &o->code);
            }
            if (key == u"name")
                return d.readText(key, &o->name, DecodeLimits::MaxTextBytes);
            quint64 *field = key == u"in" ? &o->messagesIn
                    : key == u"out"       ? &o->messagesOut
                    : key == u"bytesIn"   ? &o->bytesIn
                    : key == u"bytesOut"  ? &o->bytesOut
                                          : nullptr;
            return field ? d.readUInt(key, field) : d.skip();
        }))
        return false;
    return hasCode || d.fail(u"an op-code has no \"code\""_s);
}

bool readSecurity(CborReader &d, SecurityEntry *s)
{
    return d.forEachKey("a security entry", [&](QStringView key) {
        if (key == u"peer")
            return d.readText(key, &s->peer, DecodeLimits::MaxTextBytes);
        if (key == u"reason")
            return d.readText(key, &s->reason, DecodeLimits::MaxTextBytes);
        if (key == u"count")
            return d.readUInt(key, &s->count);
        return d.skip();
    });
}

bool readEnumText(CborReader &d, QStringView key, QString *text)
{
    return d.readText(key, text, 64);
}

bool readProcess(CborReader &d, ProcessSnapshot *p)
{
    bool hasPid = false;
    if (!d.forEachKey("a process", [&](QStringView key) {
            QString text;
            if (key == u"pid") {
                hasPid = true;
                return d.readInt(key, &p->pid);
            }
            if (key == u"role") {
                if (!readEnumText(d, key, &text))
                    return false;
                p->role = text == u"master" ? ProcessRole::Master
                        : text == u"worker" ? ProcessRole::Worker
                                            : ProcessRole::Unknown;
                return true;
            }
            if (key == u"state") {
                if (!readEnumText(d, key, &text))
                    return false;
                p->state = text == u"starting" ? ProcessState::Starting
                        : text == u"running"   ? ProcessState::Running
                        : text == u"exited"    ? ProcessState::Exited
                        : text == u"givenUp"   ? ProcessState::GivenUp
                                               : ProcessState::Unknown;
                return true;
            }
            if (key == u"slot")
                return d.readInt32(key, &p->slot);
            if (key == u"exec")
                return d.readBool(key, &p->exec);
            if (key == u"responding")
                return d.readBool(key, &p->responding);
            if (key == u"startedAt")
                return d.readInt(key, &p->startedAt);
            if (key == u"uptimeMs")
                return d.readInt(key, &p->uptimeMs);
            if (key == u"restarts")
                return d.readUInt(key, &p->restarts);
            if (key == u"idleMs")
                return d.readInt(key, &p->idleMs);
            if (key == u"backlog")
                return d.readUInt(key, &p->backlog);
            if (key == u"cpu") {
                // NaN, infinities and negatives are "unknown"; more than 1024 cores is
                // not a measurement either.
                if (!d.readDouble(key, &p->cpuPercent))
                    return false;
                if (!(p->cpuPercent >= 0 && p->cpuPercent <= 102400))
                    p->cpuPercent = -1;
                return true;
            }
            if (key == u"rss") {
                if (!d.readInt(key, &p->rssBytes))
                    return false;
                if (p->rssBytes < 0)
                    p->rssBytes = -1;
                return true;
            }
            if (key == u"counters")
                return readCounters(d, &p->counters);
            if (key == u"kinds")
                return readKinds(d, &p->kinds);
            if (key == u"opcodes") {
                p->opcodes.clear();
                return d.forEachElement(key, DecodeLimits::MaxOpcodes, [&] {
                    return readOpcode(d, &p->opcodes.emplace_back());
                });
            }
            if (key == u"security") {
                p->security.clear();
                return d.forEachElement(key, DecodeLimits::MaxSecurityEntries, [&] {
                    return readSecurity(d, &p->security.emplace_back());
                });
            }
            return d.skip();
        }))
        return false;
    return hasPid || d.fail(u"a process has no \"pid\""_s);
}

bool readLink(CborReader &d, LinkSnapshot *l)
{
    return d.forEachKey("a link", [&](QStringView key) {
        if (key == u"peer")
            return d.readText(key, &l->peer, DecodeLimits::MaxTextBytes);
        if (key == u"kind") {
            QString text;
            if (!readEnumText(d, key, &text))
                return false;
            l->kind = text == u"worker"    ? LinkKind::Worker
                    : text == u"machine"   ? LinkKind::Machine
                    : text == u"monitor"   ? LinkKind::Monitor
                                           : LinkKind::Unknown;
            return true;
        }
        if (key == u"pid")
            return d.readInt(key, &l->pid);
        if (key == u"machine")
            return d.readMachine(key, &l->machine);
        if (key == u"idleMs")
            return d.readInt(key, &l->idleMs);
        quint64 *field = key == u"queued" ? &l->queued
                : key == u"framesIn"      ? &l->framesIn
                : key == u"framesOut"     ? &l->framesOut
                : key == u"bytesIn"       ? &l->bytesIn
                : key == u"bytesOut"      ? &l->bytesOut
                                          : nullptr;
        return field ? d.readUInt(key, field) : d.skip();
    });
}

bool readPeer(CborReader &d, PeerSnapshot *p)
{
    return d.forEachKey("a peer", [&](QStringView key) {
        if (key == u"machine")
            return d.readMachine(key, &p->machine);
        if (key == u"address")
            return d.readText(key, &p->address, DecodeLimits::MaxTextBytes);
        if (key == u"port")
            return d.readUInt16(key, &p->port);
        if (key == u"version")
            return d.readText(key, &p->version, DecodeLimits::MaxTextBytes);
        if (key == u"monitor")
            return d.readBool(key, &p->monitor);
        if (key == u"rttMs")
            return d.readDouble(key, &p->rttMs);
        if (key == u"since")
            return d.readInt(key, &p->since);
        return d.skip();
    });
}

bool readExit(CborReader &d, WorkerExit *x)
{
    return d.forEachKey("an exit", [&](QStringView key) {
        if (key == u"t")
            return d.readInt(key, &x->time);
        if (key == u"pid")
            return d.readInt(key, &x->pid);
        if (key == u"slot")
            return d.readInt32(key, &x->slot);
        if (key == u"code")
            return d.readInt32(key, &x->code);
        if (key == u"signaled")
            return d.readBool(key, &x->signaled);
        if (key == u"reason") {
            QString text;
            if (!readEnumText(d, key, &text))
                return false;
            x->reason = text == u"normal"      ? ExitReason::Normal
                      : text == u"error"       ? ExitReason::Error
                      : text == u"crashed"     ? ExitReason::Crashed
                      : text == u"crashLoop"   ? ExitReason::CrashLoop
                      : text == u"stopped"     ? ExitReason::Stopped
                      : text == u"restarted"   ? ExitReason::Restarted
                                               : ExitReason::Unknown;
            return true;
        }
        return d.skip();
    });
}

bool readAggregate(CborReader &d, TraceAggregate *a)
{
    return d.forEachKey("an aggregate", [&](QStringView key) {
        if (key == u"pid")
            return d.readInt(key, &a->pid);
        if (key == u"fromMachine")
            return d.readMachine(key, &a->fromMachine);
        if (key == u"kind") {
            QString text;
            if (!readEnumText(d, key, &text))
                return false;
            a->kind = messageKindFromName(text);
            return true;
        }
        if (key == u"opcode")
            return d.readUInt32(key, &a->opcode);
        if (key == u"count")
            return d.readUInt(key, &a->count);
        if (key == u"bytes")
            return d.readUInt(key, &a->bytes);
        return d.skip();
    });
}

bool readSample(CborReader &d, TraceSample *s)
{
    return d.forEachKey("a sample", [&](QStringView key) {
        if (key == u"t")
            return d.readInt(key, &s->time);
        if (key == u"from")
            return d.readInt(key, &s->from);
        if (key == u"to")
            return d.readInt(key, &s->to);
        if (key == u"fromMachine")
            return d.readMachine(key, &s->fromMachine);
        if (key == u"toMachine")
            return d.readMachine(key, &s->toMachine);
        if (key == u"kind") {
            QString text;
            if (!readEnumText(d, key, &text))
                return false;
            s->kind = messageKindFromName(text);
            return true;
        }
        if (key == u"opcode")
            return d.readUInt32(key, &s->opcode);
        if (key == u"data")
            return d.readBytes(key, &s->data, DecodeLimits::MaxSampleDataBytes);
        quint64 *field = key == u"id" ? &s->id
                : key == u"size"      ? &s->size
                : key == u"flags"     ? &s->flags
                                      : nullptr;
        return field ? d.readUInt(key, field) : d.skip();
    });
}

void setError(QString *error, const QString &text)
{
    if (error)
        *error = text;
}

} // namespace

bool decodeSnapshot(QByteArrayView cbor, MachineSnapshot *out, QString *error)
{
    *out = MachineSnapshot();
    CborReader d(cbor);
    quint64 version = 0;
    const bool ok = d.checkVersion() && d.forEachKey("the snapshot", [&](QStringView key) {
        if (key == u"v")
            return d.readUInt(key, &version);
        if (key == u"machine")
            return d.readMachine(key, &out->machine);
        if (key == u"version")
            return d.readText(key, &out->version, DecodeLimits::MaxTextBytes);
        if (key == u"host")
            return d.readText(key, &out->host, DecodeLimits::MaxTextBytes);
        if (key == u"time")
            return d.readInt(key, &out->time);
        if (key == u"clusterPort")
            return d.readUInt16(key, &out->clusterPort);
        if (key == u"remoteControl")
            return d.readBool(key, &out->remoteControl);
        if (key == u"trace")
            return d.readBool(key, &out->trace);
        if (key == u"traceDropped")
            return d.readUInt(key, &out->traceDropped);
        if (key == u"processes") {
            out->processes.clear();
            return d.forEachElement(key, DecodeLimits::MaxProcesses, [&] {
                return readProcess(d, &out->processes.emplace_back());
            });
        }
        if (key == u"links") {
            out->links.clear();
            return d.forEachElement(key, DecodeLimits::MaxLinks, [&] {
                return readLink(d, &out->links.emplace_back());
            });
        }
        if (key == u"peers") {
            out->peers.clear();
            return d.forEachElement(key, DecodeLimits::MaxPeers, [&] {
                return readPeer(d, &out->peers.emplace_back());
            });
        }
        if (key == u"exits") {
            out->exits.clear();
            return d.forEachElement(key, DecodeLimits::MaxExits, [&] {
                return readExit(d, &out->exits.emplace_back());
            });
        }
        return d.skip();
    }) && d.atEnd() && (out->machine != 0 || d.fail(u"no machine id"_s));
    if (!ok)
        setError(error, d.error());
    return ok;
}

bool decodeTrace(QByteArrayView cbor, TraceBatch *out, QString *error)
{
    *out = TraceBatch();
    CborReader d(cbor);
    quint64 version = 0;
    const bool ok = d.checkVersion() && d.forEachKey("the trace batch", [&](QStringView key) {
        if (key == u"v")
            return d.readUInt(key, &version);
        if (key == u"machine")
            return d.readMachine(key, &out->machine);
        if (key == u"seq")
            return d.readUInt(key, &out->seq);
        if (key == u"time")
            return d.readInt(key, &out->time);
        if (key == u"intervalMs")
            return d.readUInt(key, &out->intervalMs);
        if (key == u"events")
            return d.readUInt(key, &out->events);
        if (key == u"dropped")
            return d.readUInt(key, &out->dropped);
        if (key == u"aggregates") {
            out->aggregates.clear();
            return d.forEachElement(key, DecodeLimits::MaxAggregates, [&] {
                return readAggregate(d, &out->aggregates.emplace_back());
            });
        }
        if (key == u"samples") {
            out->samples.clear();
            return d.forEachElement(key, DecodeLimits::MaxSamples, [&] {
                return readSample(d, &out->samples.emplace_back());
            });
        }
        return d.skip();
    }) && d.atEnd() && (out->machine != 0 || d.fail(u"no machine id"_s));
    if (!ok) {
        setError(error, d.error());
        return false;
    }
    for (TraceSample &s : out->samples)
        s.machine = out->machine;
    return true;
}

bool decodeControlAnswer(QByteArrayView cbor, ControlAnswer *out, QString *error)
{
    *out = ControlAnswer();
    CborReader d(cbor);
    quint64 version = 0;
    bool hasOk = false;
    const bool ok = d.checkVersion() && d.forEachKey("the control answer", [&](QStringView key) {
        if (key == u"v")
            return d.readUInt(key, &version);
        if (key == u"ok") {
            hasOk = true;
            return d.readBool(key, &out->ok);
        }
        if (key == u"error")
            return d.readText(key, &out->error, DecodeLimits::MaxErrorTextBytes);
        if (key == u"targets" || key == u"handled") {
            quint64 n = 0;
            if (!d.readUInt(key, &n))
                return false;
            (key == u"targets" ? out->targets : out->handled) = qint64(qMin<quint64>(n, 1u << 30));
            return true;
        }
        return d.skip();
    }) && d.atEnd() && (hasOk || d.fail(u"no \"ok\""_s));
    if (!ok)
        setError(error, d.error());
    return ok;
}

QByteArray encodeTraceRequest(quint32 opcode)
{
    if (opcode == 0)
        return {};
    QCborMap map;
    map.insert(u"opcode"_s, qint64(opcode));
    return QCborValue(map).toCbor();
}

QByteArray encodeTraceStop()
{
    QCborMap map;
    map.insert(u"stop"_s, true);
    return QCborValue(map).toCbor();
}

QByteArray encodeRestartRequest(qint64 pid)
{
    QCborMap map;
    map.insert(u"action"_s, u"restart"_s);
    map.insert(u"pid"_s, pid);
    return QCborValue(map).toCbor();
}

QByteArray encodeSendRequest(quint32 opcode, const QByteArray &data, bool broadcast)
{
    QCborMap map;
    map.insert(u"action"_s, u"send"_s);
    map.insert(u"opcode"_s, qint64(opcode));
    map.insert(u"data"_s, data);
    map.insert(u"broadcast"_s, broadcast);
    return QCborValue(map).toCbor();
}

} // namespace PlexusMonitor
