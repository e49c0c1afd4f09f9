// SPDX-License-Identifier: MIT
#include "snapshotdecoder.h"

#include <QtCore/qcbormap.h>
#include <QtCore/qcborstreamreader.h>
#include <QtCore/qcborvalue.h>
#include <QtCore/qvarlengtharray.h>

#include <limits>

using namespace Qt::StringLiterals;

namespace PlexusMonitor {
namespace {

// The answers are read with QCborStreamReader rather than QCborValue::fromCbor(): machine
// ids and counters are unsigned 64-bit integers, which QCborValue cannot hold above
// 2^63 (it turns them into doubles), and a stream reader lets every length be checked
// before anything is allocated.
class Decoder
{
public:
    explicit Decoder(QByteArrayView bytes)
        : m_bytes(QByteArray::fromRawData(bytes.data(), bytes.size())), m_reader(m_bytes)
    { }

    QString error() const { return m_error; }

    // Fails unless the input is one map whose "v" is EncodingVersion. Reads a copy of the
    // stream, so that the version is known before any other key is interpreted: a later
    // version may change what a key holds, and must be reported as such.
    bool checkVersion()
    {
        QCborStreamReader r(m_bytes);
        if (!r.isMap() || !r.enterContainer())
            return fail(u"not a CBOR map"_s);
        qint64 version = -1;
        bool seen = false;
        while (r.hasNext()) {
            if (!r.isString())
                return fail(u"a key is not a text string"_s);
            // Keys are read whole, whatever their chunks; a long one is not "v".
            QString key;
            bool tooLong = false;
            auto chunk = r.readString();
            while (chunk.status == QCborStreamReader::Ok) {
                if (key.size() + chunk.data.size() > MaxKeyBytes)
                    tooLong = true;
                else
                    key += chunk.data;
                chunk = r.readString();
            }
            if (chunk.status != QCborStreamReader::EndOfString)
                break;
            if (!tooLong && key == u"v"_s) {
                if (!r.isUnsignedInteger())
                    return fail(u"\"v\" is not an unsigned integer"_s);
                version = qint64(qMin<quint64>(r.toUnsignedInteger(), quint64(INT64_MAX)));
                seen = true;
            }
            if (!r.next(DecodeLimits::MaxDepth))
                break;
        }
        if (r.lastError() != QCborError::NoError)
            return fail(u"malformed CBOR: "_s + r.lastError().toString());
        if (!seen)
            return fail(u"no encoding version (\"v\")"_s);
        if (version != 1)
            return fail(u"encoding version %1, this monitor reads version 1"_s.arg(version));
        return true;
    }

    // Runs \a body once per key of the map at the reader's position, positioned on the
    // value; \a body consumes the value (or returns false).
    template <typename Body>
    bool forEachKey(const char *what, Body &&body)
    {
        if (!m_reader.isMap())
            return fail(QLatin1StringView(what) + u" is not a map"_s);
        if (!m_reader.enterContainer())
            return readError();
        while (m_reader.hasNext()) {
            QString key;
            if (!readKey(&key))
                return false;
            if (!body(QStringView(key)))
                return false;
        }
        if (m_reader.lastError() != QCborError::NoError)
            return readError();
        if (!m_reader.leaveContainer())
            return readError();
        return true;
    }

    // Runs \a body once per element of the array at the reader's position, at most
    // \a limit times (more is an error).
    template <typename Body>
    bool forEachElement(QStringView what, int limit, Body &&body)
    {
        if (!m_reader.isArray())
            return fail(what.toString() + u" is not an array"_s);
        if (m_reader.isLengthKnown() && m_reader.length() > quint64(limit))
            return fail(what.toString() + u": more than %1 entries"_s.arg(limit));
        if (!m_reader.enterContainer())
            return readError();
        int count = 0;
        while (m_reader.hasNext()) {
            if (++count > limit)
                return fail(what.toString() + u": more than %1 entries"_s.arg(limit));
            if (++m_entries > DecodeLimits::MaxEntries)
                return fail(u"more than %1 list entries in all"_s.arg(DecodeLimits::MaxEntries));
            if (!body())
                return false;
        }
        if (m_reader.lastError() != QCborError::NoError)
            return readError();
        if (!m_reader.leaveContainer())
            return readError();
        return true;
    }

    // Unsigned 64-bit fields (ids, counters) are also accepted as negative integers and
    // read back as the same 64 bits: an encoder that goes through QCborValue, which holds
    // qint64, writes values above 2^63 that way.
    bool readUInt(QStringView key, quint64 *out)
    {
        if (m_reader.isNegativeInteger()) {
            qint64 v = 0;
            if (!readInt(key, &v))
                return false;
            *out = quint64(v);
            return true;
        }
        if (!m_reader.isUnsignedInteger())
            return typeError(key, u"an unsigned integer");
        *out = m_reader.toUnsignedInteger();
        return advance();
    }

    bool readUInt32(QStringView key, quint32 *out)
    {
        quint64 v = 0;
        if (!readUInt(key, &v))
            return false;
        if (v > std::numeric_limits<quint32>::max())
            return fail(key.toString() + u": above 32 bits"_s);
        *out = quint32(v);
        return true;
    }

    bool readUInt16(QStringView key, quint16 *out)
    {
        quint64 v = 0;
        if (!readUInt(key, &v))
            return false;
        if (v > std::numeric_limits<quint16>::max())
            return fail(key.toString() + u": above 65535"_s);
        *out = quint16(v);
        return true;
    }

    bool readInt(QStringView key, qint64 *out)
    {
        if (m_reader.isUnsignedInteger()) {
            const quint64 v = m_reader.toUnsignedInteger();
            if (v > quint64(std::numeric_limits<qint64>::max()))
                return fail(key.toString() + u": out of the signed 64-bit range"_s);
            *out = qint64(v);
        } else if (m_reader.isNegativeInteger()) {
            // The value is -magnitude; a magnitude of 0 stands for -2^64.
            const quint64 magnitude = quint64(m_reader.toNegativeInteger());
            if (magnitude == 0 || magnitude > quint64(1) << 63)
                return fail(key.toString() + u": out of the signed 64-bit range"_s);
            *out = qint64(quint64(0) - magnitude);
        } else {
            return typeError(key, u"an integer");
        }
        return advance();
    }

    bool readInt32(QStringView key, int *out)
    {
        qint64 v = 0;
        if (!readInt(key, &v))
            return false;
        if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
            return fail(key.toString() + u": out of the 32-bit range"_s);
        *out = int(v);
        return true;
    }

    bool readMachine(QStringView key, quint64 *out)
    {
        return readUInt(key, out);
    }

    bool readBool(QStringView key, bool *out)
    {
        if (!m_reader.isBool())
            return typeError(key, u"a boolean");
        *out = m_reader.toBool();
        return advance();
    }

    bool readDouble(QStringView key, double *out)
    {
        if (m_reader.isDouble())
            *out = m_reader.toDouble();
        else if (m_reader.isFloat())
            *out = double(m_reader.toFloat());
        else if (m_reader.isFloat16())
            *out = double(float(m_reader.toFloat16()));
        else if (m_reader.isUnsignedInteger())
            *out = double(m_reader.toUnsignedInteger());
        else if (m_reader.isNegativeInteger())
            *out = -double(quint64(m_reader.toNegativeInteger()));
        else
            return typeError(key, u"a number");
        return advance();
    }

    bool readText(QStringView key, QString *out, qsizetype maxBytes)
    {
        if (!m_reader.isString())
            return typeError(key, u"a text string");
        out->clear();
        qsizetype total = 0;
        for (;;) {
            const qsizetype chunk = m_reader.currentStringChunkSize();
            if (chunk > maxBytes - total)
                return fail(key.toString() + u": longer than %1 bytes"_s.arg(maxBytes));
            const auto r = m_reader.readString();
            if (r.status == QCborStreamReader::EndOfString)
                return true;
            if (r.status != QCborStreamReader::Ok)
                return readError();
            total += chunk < 0 ? 0 : chunk;
            out->append(r.data);
        }
    }

    bool readBytes(QStringView key, QByteArray *out, qsizetype maxBytes)
    {
        if (!m_reader.isByteArray())
            return typeError(key, u"a byte string");
        out->clear();
        for (;;) {
            const qsizetype chunk = m_reader.currentStringChunkSize();
            if (chunk > maxBytes - out->size() || chunk > m_dataBudget)
                return fail(key.toString() + u": longer than %1 bytes"_s.arg(qMin<qsizetype>(maxBytes, m_dataBudget)));
            const auto r = m_reader.readByteArray();
            if (r.status == QCborStreamReader::EndOfString)
                return true;
            if (r.status != QCborStreamReader::Ok)
                return readError();
            m_dataBudget -= r.data.size();
            out->append(r.data);
        }
    }

    bool skip()
    {
        if (!m_reader.next(DecodeLimits::MaxDepth))
            return readError();
        return true;
    }

    bool atEnd()
    {
        if (m_reader.lastError() != QCborError::NoError)
            return readError();
        if (m_reader.currentOffset() != m_bytes.size())
            return fail(u"trailing data after the answer"_s);
        return true;
    }

    bool fail(const QString &why)
    {
        if (m_error.isEmpty())
            m_error = why;
        return false;
    }

private:
    static constexpr qsizetype MaxKeyBytes = 64;

    bool readKey(QString *key)
    {
        if (!m_reader.isString())
            return fail(u"a map key is not a text string"_s);
        // Unknown keys are skipped, but a key long enough to matter is not one of ours.
        return readText(u"key", key, 256);
    }

    bool advance()
    {
        if (!m_reader.next())
            return readError();
        return true;
    }

    bool typeError(QStringView key, QStringView expected)
    {
        return fail(u"\""_s + key.toString() + u"\" is not "_s + expected.toString());
    }

    bool readError()
    {
        const QCborError e = m_reader.lastError();
        return fail(e == QCborError::NoError ? u"malformed CBOR"_s
                                             : u"malformed CBOR: "_s + e.toString());
    }

    QByteArray m_bytes;
    QCborStreamReader m_reader;
    QString m_error;
    int m_entries = 0;
    qsizetype m_dataBudget = DecodeLimits::MaxTotalDataBytes;
};

bool readCounters(Decoder &d, ProcessCounters *c)
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
                                              : nullptr;
        return field ? d.readUInt(key, field) : d.skip();
    });
}

bool readKinds(Decoder &d, std::array<KindCounters, MessageKindCount> *kinds)
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

bool readOpcode(Decoder &d, OpcodeStats *o)
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

bool readSecurity(Decoder &d, SecurityEntry *s)
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

bool readEnumText(Decoder &d, QStringView key, QString *text)
{
    return d.readText(key, text, 64);
}

bool readProcess(Decoder &d, ProcessSnapshot *p)
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

bool readLink(Decoder &d, LinkSnapshot *l)
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

bool readPeer(Decoder &d, PeerSnapshot *p)
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

bool readAggregate(Decoder &d, TraceAggregate *a)
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

bool readSample(Decoder &d, TraceSample *s)
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
    Decoder d(cbor);
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
        return d.skip();
    }) && d.atEnd() && (out->machine != 0 || d.fail(u"no machine id"_s));
    if (!ok)
        setError(error, d.error());
    return ok;
}

bool decodeTrace(QByteArrayView cbor, TraceBatch *out, QString *error)
{
    *out = TraceBatch();
    Decoder d(cbor);
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
    Decoder d(cbor);
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
