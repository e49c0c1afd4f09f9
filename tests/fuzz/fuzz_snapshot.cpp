// SPDX-License-Identifier: MIT
/*
    libFuzzer target for the monitor's decoders (monitor/core/snapshotdecoder.cpp): what a
    master, or anything that got a monitor's link, answers to the introspection op-codes.
    Each input is decoded as a snapshot, a trace batch and a control answer. Nothing may
    crash, hang or trip a sanitizer, and whatever decodes must stay inside DecodeLimits:
    list sizes, text lengths, sample payloads. A successful decode must also be
    deterministic (decoding the same bytes again gives the same result).

    Seeds: valid answers of each kind are built in-process on the first call (QCborValue),
    so the fuzzer starts from inputs that pass every type check.
*/
#include "snapshotdecoder.h"

#include <QtCore/qcborarray.h>
#include <QtCore/qcbormap.h>
#include <QtCore/qcborvalue.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

using namespace PlexusMonitor;

namespace {

void check(bool condition)
{
    if (!condition)
        std::abort();
}

void checkText(const QString &text, qsizetype maxBytes)
{
    // UTF-8 bytes >= UTF-16 code units, so this bounds what was read.
    check(text.size() <= maxBytes);
}

void checkSnapshot(const MachineSnapshot &s)
{
    check(s.machine != 0);
    check(s.processes.size() <= DecodeLimits::MaxProcesses);
    check(s.links.size() <= DecodeLimits::MaxLinks);
    check(s.peers.size() <= DecodeLimits::MaxPeers);
    checkText(s.host, DecodeLimits::MaxTextBytes);
    checkText(s.version, DecodeLimits::MaxTextBytes);
    check(s.exits.size() <= DecodeLimits::MaxExits);
    qsizetype entries = s.processes.size() + s.links.size() + s.peers.size() + s.exits.size();
    for (const ProcessSnapshot &p : s.processes) {
        // Usage is a measurement or unknown (-1), never NaN, infinite or negative.
        check(p.cpuPercent == -1 || (p.cpuPercent >= 0 && p.cpuPercent <= 102400));
        check(p.rssBytes >= -1);
        check(p.opcodes.size() <= DecodeLimits::MaxOpcodes);
        check(p.security.size() <= DecodeLimits::MaxSecurityEntries);
        entries += p.opcodes.size() + p.security.size();
        for (const OpcodeStats &o : p.opcodes)
            checkText(o.name, DecodeLimits::MaxTextBytes);
        for (const SecurityEntry &e : p.security) {
            checkText(e.peer, DecodeLimits::MaxTextBytes);
            checkText(e.reason, DecodeLimits::MaxTextBytes);
        }
    }
    check(entries <= DecodeLimits::MaxEntries);
}

void checkTrace(const TraceBatch &t)
{
    check(t.machine != 0);
    check(t.aggregates.size() <= DecodeLimits::MaxAggregates);
    check(t.samples.size() <= DecodeLimits::MaxSamples);
    qsizetype data = 0;
    for (const TraceSample &s : t.samples) {
        check(s.machine == t.machine);
        check(s.data.size() <= DecodeLimits::MaxSampleDataBytes);
        data += s.data.size();
    }
    check(data <= DecodeLimits::MaxTotalDataBytes);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
    const QByteArrayView input(reinterpret_cast<const char *>(bytes), qsizetype(size));
    QString error;

    MachineSnapshot snapshot;
    if (decodeSnapshot(input, &snapshot, &error)) {
        checkSnapshot(snapshot);
        MachineSnapshot again;
        check(decodeSnapshot(input, &again, nullptr));
        check(again.machine == snapshot.machine && again.processes.size() == snapshot.processes.size());
    } else {
        check(!error.isEmpty());
    }

    TraceBatch trace;
    error.clear();
    if (decodeTrace(input, &trace, &error))
        checkTrace(trace);
    else
        check(!error.isEmpty());

    ControlAnswer answer;
    error.clear();
    if (decodeControlAnswer(input, &answer, &error)) {
        checkText(answer.error, DecodeLimits::MaxErrorTextBytes);
        check(answer.targets >= -1 && answer.handled >= -1);
    }
    else
        check(!error.isEmpty());
    return 0;
}

// Seeds for an empty corpus: libFuzzer calls this for every mutation when defined; it
// only rewrites a few of them into valid answers, so that deep paths are reached early.
extern "C" size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t maxSize,
                                          unsigned int seed);
extern "C" size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t maxSize);

namespace {

QByteArray seed(unsigned int which)
{
    const QCborMap counters{{QStringLiteral("messagesIn"), 10}, {QStringLiteral("bytesOut"), 99}};
    const QCborMap process{
            {QStringLiteral("pid"), 100}, {QStringLiteral("role"), QStringLiteral("master")},
            {QStringLiteral("slot"), -1}, {QStringLiteral("state"), QStringLiteral("running")},
            {QStringLiteral("cpu"), 12.5}, {QStringLiteral("rss"), 4096},
            {QStringLiteral("counters"), counters},
            {QStringLiteral("kinds"), QCborMap{{QStringLiteral("call"), QCborArray{1, 2, 3, 4}}}},
            {QStringLiteral("opcodes"), QCborArray{QCborMap{{QStringLiteral("code"), 256},
                                                            {QStringLiteral("name"), QStringLiteral("n")}}}},
            {QStringLiteral("security"), QCborArray{QCborMap{{QStringLiteral("peer"), QStringLiteral("p")},
                                                             {QStringLiteral("count"), 1}}}}};
    switch (which % 3) {
    case 0:
        return QCborValue(QCborMap{{QStringLiteral("v"), 1}, {QStringLiteral("machine"), -5},
                                   {QStringLiteral("host"), QStringLiteral("h")},
                                   {QStringLiteral("processes"), QCborArray{process, process}},
                                   {QStringLiteral("links"), QCborArray{QCborMap{{QStringLiteral("pid"), 1}}}},
                                   {QStringLiteral("peers"), QCborArray{QCborMap{{QStringLiteral("rttMs"), 0.5}}}},
                                   {QStringLiteral("exits"), QCborArray{QCborMap{
                                            {QStringLiteral("t"), 1}, {QStringLiteral("pid"), 2},
                                            {QStringLiteral("slot"), 0}, {QStringLiteral("code"), 9},
                                            {QStringLiteral("reason"), QStringLiteral("crashed")},
                                            {QStringLiteral("signaled"), true}}}}})
                .toCbor();
    case 1:
        return QCborValue(QCborMap{
                {QStringLiteral("v"), 1}, {QStringLiteral("machine"), 7}, {QStringLiteral("seq"), 1},
                {QStringLiteral("aggregates"), QCborArray{QCborMap{{QStringLiteral("pid"), 1},
                                                                   {QStringLiteral("kind"), QStringLiteral("call")}}}},
                {QStringLiteral("samples"), QCborArray{QCborMap{{QStringLiteral("id"), -1},
                                                                {QStringLiteral("data"), QByteArray("ab")}}}}})
                .toCbor();
    default:
        return QCborValue(QCborMap{{QStringLiteral("v"), 1}, {QStringLiteral("ok"), false},
                                   {QStringLiteral("error"), QStringLiteral("refused")},
                                   {QStringLiteral("targets"), 3}, {QStringLiteral("handled"), 0}})
                .toCbor();
    }
}

} // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t maxSize,
                                          unsigned int seedValue)
{
    if (seedValue % 64 == 0) {
        const QByteArray s = seed(seedValue / 64);
        if (size_t(s.size()) <= maxSize) {
            memcpy(data, s.constData(), size_t(s.size()));
            return size_t(s.size());
        }
    }
    return LLVMFuzzerMutate(data, size, maxSize);
}
