// SPDX-License-Identifier: MIT
/*
    libFuzzer target for UDP discovery (discovery_wire_p.h): DiscoveryWire::parse, what
    anybody on the network can send to a master's discovery port, and the ReplayFilter
    behind it. Datagrams are sealed under the single-message key of fuzz_common.h, so the
    seeds authenticate. Nothing may crash or trip a sanitizer; parse() may accept only a
    well-formed announcement, and the filter must follow its rules, checked against a model
    of what was accepted when:
      - a timestamp outside the window around the clock is refused;
      - a (machine, id) pair never accepted, inside the window, is accepted;
      - a pair accepted before is refused again while it may still be remembered: its
        timestamp has not left the window (by the latest clock seen) and fewer than
        capacity other pairs were accepted since;
      - the filter never remembers more than its capacity.

    Input layout: the start of the clock (8 bytes, ms); the filter's capacity (1 byte: 0 for
    SeenCapacity, else that many pairs, to reach the eviction cheaply); then operations. An
    operation is an op byte, bits 0-2 the kind and bits 3-5 the clock step taken first
    (none, +1, -1, +1000, +WindowMs, -WindowMs, or a signed 16- or 32-bit step that
    follows), then its operands:
      0  datagram   length (2 bytes), bytes: parse(), then check() if it parses
      1  sealed     machine (8), id (8), timestamp offset from the clock (4, signed),
                    version (2), port (2), role (1): sealed by DiscoveryWire::seal, then
                    parsed again, which must give back the fields or the documented error
      2  pair       machine (8), id (8), timestamp offset (4): check() alone
      3  burst      count (2), machine (8), first id (8), timestamp offset (4): check() on
                    count consecutive ids, to fill the seen-set past its capacity
      4  replay     index (1): one of the last datagrams parse() accepted, sent again
      5  re-check   index (1): one of the last pairs given to check(), with its timestamp
    (6 and 7 are 0 and 5.) All numbers little-endian; missing bytes read as zero. The clock
    stays inside [0, MaxClockMs], far from qint64 overflow, as a real clock does.
*/
#include "discovery_wire_p.h"
#include "fuzz_common.h"

#include <cstdint>
#include <cstring>

using namespace Plexus;
using namespace Plexus::DiscoveryWire;

namespace {

constexpr qint64 MaxClockMs = qint64(1) << 50;   // some 35000 years after the epoch
constexpr qsizetype History = 32;                // datagrams and pairs kept for replays

[[noreturn]] void fail(const char *what)
{
    PlexusFuzz::fail("fuzz_discovery", what);
}

class Input
{
public:
    Input(const uint8_t *data, size_t size) : m_p(data), m_n(size) { }
    bool atEnd() const noexcept { return m_n == 0; }

    template <typename T>
    T take()
    {
        T v{};
        const size_t k = qMin(sizeof v, m_n);
        std::memcpy(&v, m_p, k);
        m_p += k, m_n -= k;
        return qFromLittleEndian(v);
    }
    QByteArrayView bytes(size_t length)
    {
        const size_t k = qMin(length, m_n);
        const QByteArrayView out(reinterpret_cast<const char *>(m_p), qsizetype(k));
        m_p += k, m_n -= k;
        return out;
    }

private:
    const uint8_t *m_p;
    size_t m_n;
};

// The filter, and what it was told and answered.
class Checker
{
public:
    explicit Checker(int capacity)
        : m_filter(capacity), m_maxChecks(2 * capacity + 256) // past the capacity twice
    {
        if (m_filter.capacity() != capacity)
            fail("filter: capacity");
    }

    qint64 now = 0;
    QList<QByteArray> datagrams;   // the last ones parse() accepted

    void step(qint64 ms) { now = qBound(qint64(0), now + ms, MaxClockMs); }
    bool exhausted() const noexcept { return m_checks >= m_maxChecks; }

    void recheck(quint8 index)
    {
        if (!m_pairs.isEmpty()) {
            const Pair p = m_pairs.at(index % m_pairs.size());
            check(p.machine, p.id, p.timestamp);
        }
    }

    void check(quint64 machine, quint64 id, quint64 timestampMs)
    {
        ++m_checks;
        m_latest = qMax(m_latest, now);
        if (m_pairs.size() == History)
            m_pairs.removeFirst();
        m_pairs.append({machine, id, timestampMs});
        const FrameError e = m_filter.check(machine, id, timestampMs, now);
        if (e != FrameError::NoError && e != FrameError::ReplayedFrame)
            fail("check: unexpected error");
        if (m_filter.size() > m_filter.capacity())
            fail("check: more pairs remembered than the capacity");

        const qint64 ts = qint64(timestampMs);
        const QPair<quint64, quint64> key{machine, id};
        if (ts < now - WindowMs || ts > now + WindowMs) {
            if (e == FrameError::NoError)
                fail("check: timestamp outside the window accepted");
            return;
        }
        const auto seen = m_accepted.constFind(key);
        if (seen == m_accepted.cend()) {
            if (e != FrameError::NoError)
                fail("check: new pair inside the window refused");
        } else if (e == FrameError::NoError) {
            // The first may be forgotten once its timestamp has left the window (any clock
            // seen since then may have evicted it), or pushed out by newer pairs.
            const bool expired = m_latest > seen->timestamp + WindowMs;
            const bool pushedOut = m_count - seen->order - 1 >= m_filter.capacity();
            if (!expired && !pushedOut)
                fail("check: replay inside the window accepted");
        }
        if (e == FrameError::NoError) {
            m_accepted.insert(key, {m_count++, ts});
            if (m_filter.size() < 1)
                fail("check: accepted pair not remembered");
        }
    }

private:
    struct Seen { qint64 order; qint64 timestamp; };
    struct Pair { quint64 machine; quint64 id; quint64 timestamp; };
    ReplayFilter m_filter;
    QHash<QPair<quint64, quint64>, Seen> m_accepted;   // the latest acceptance of each pair
    QList<Pair> m_pairs;                               // the last ones checked
    qint64 m_count = 0;
    qint64 m_latest = 0;
    int m_checks = 0;
    int m_maxChecks;
};

bool validRole(quint8 role)
{
    return role == 1 || role == 3;
}

// parse() on anything: only a well-formed announcement under our key gets through.
void datagram(Checker &checker, QByteArrayView bytes)
{
    Announcement a;
    Wire::Header h;
    const FrameError e = parse(bytes, PlexusFuzz::frameKey(), &a, &h);
    switch (e) {
    case FrameError::NoError:
        break;
    case FrameError::TruncatedFrame:
    case FrameError::OversizedFrame:
    case FrameError::MalformedHeader:
    case FrameError::AuthenticationFailed:
    case FrameError::VersionMismatch:
        return;
    default:
        fail("parse: unexpected error");
    }
    if (a.machine == 0 || a.port == 0 || a.version != Wire::ProtocolVersion || !validRole(a.role))
        fail("parse: accepted an invalid announcement");
    if (h.privateFlags != Wire::Control || h.target != Wire::ControlAnnounce
        || h.originMachine != a.machine || h.length != PayloadSize
        || bytes.size() != Wire::SealedOverhead + PayloadSize)
        fail("parse: accepted something else than an announcement");
    Announcement other;
    if (parse(bytes, PlexusFuzz::handshakePsk(), &other, nullptr) != FrameError::AuthenticationFailed)
        fail("parse: a datagram opens under another key");
    if (parse(bytes, PlexusFuzz::frameKey(), &other, nullptr) != FrameError::NoError
        || other.machine != a.machine || other.port != a.port || other.role != a.role)
        fail("parse: not the same answer twice");
    if (checker.datagrams.size() == History)
        checker.datagrams.removeFirst();
    checker.datagrams.append(bytes.toByteArray());
    checker.check(a.machine, h.id, h.timestamp);
}

// DiscoveryWire::seal, then parse(): the fields back, or the error the rules give.
void sealed(Checker &checker, Input &in)
{
    Announcement a;
    a.machine = in.take<quint64>();
    const quint64 id = in.take<quint64>();
    const quint64 ts = quint64(checker.now + in.take<qint32>());
    a.version = in.take<quint16>();
    a.port = in.take<quint16>();
    a.role = in.take<quint8>();
    const QByteArray bytes = seal(PlexusFuzz::frameKey(), a, ts, id);
    if (bytes.size() != Wire::SealedOverhead + PayloadSize)
        fail("seal: size");

    const FrameError expected = a.machine == 0                     ? FrameError::MalformedHeader
            : a.version != Wire::ProtocolVersion                  ? FrameError::VersionMismatch
            : a.port == 0 || !validRole(a.role)                   ? FrameError::MalformedHeader
                                                                  : FrameError::NoError;
    Announcement out;
    Wire::Header h;
    if (parse(bytes, PlexusFuzz::frameKey(), &out, &h) != expected)
        fail("parse: own sealed announcement judged wrongly");
    if (expected == FrameError::NoError || expected == FrameError::VersionMismatch) {
        if (out.machine != a.machine || out.version != a.version || out.port != a.port
            || out.role != a.role || h.timestamp != ts || h.id != id)
            fail("parse: fields changed on the way");
    }
    if (expected == FrameError::NoError)
        datagram(checker, bytes);
}

qint64 clockStep(quint8 op, Input &in)
{
    switch ((op >> 3) & 7) {
    case 0: return 0;
    case 1: return 1;
    case 2: return -1;
    case 3: return 1000;
    case 4: return WindowMs;
    case 5: return -WindowMs;
    case 6: return in.take<qint16>();
    default: return in.take<qint32>();
    }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    if (!Crypto::initialize() || !PlexusFuzz::frameKey().isValid()
        || !PlexusFuzz::handshakePsk().isValid())
        fail("libsodium");
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    Input in(data, size);
    const qint64 start = in.take<qint64>();
    const quint8 capacity = in.take<quint8>();
    Checker checker(capacity == 0 ? SeenCapacity : int(capacity));
    checker.now = qBound(qint64(0), start, MaxClockMs);
    while (!in.atEnd() && !checker.exhausted()) {
        const quint8 op = in.take<quint8>();
        checker.step(clockStep(op, in));
        switch (op & 7) {
        case 0:
        case 6:
            datagram(checker, in.bytes(in.take<quint16>()));
            break;
        case 1:
            sealed(checker, in);
            break;
        case 2: {
            const quint64 machine = in.take<quint64>();
            const quint64 id = in.take<quint64>();
            checker.check(machine, id, quint64(checker.now + in.take<qint32>()));
            break;
        }
        case 3: {
            const quint16 count = in.take<quint16>();
            const quint64 machine = in.take<quint64>();
            const quint64 first = in.take<quint64>();
            const quint64 ts = quint64(checker.now + in.take<qint32>());
            for (quint16 i = 0; i < count && !checker.exhausted(); ++i)
                checker.check(machine, first + i, ts);
            break;
        }
        case 4: {
            const quint8 index = in.take<quint8>();
            if (!checker.datagrams.isEmpty()) {
                const QByteArray d = checker.datagrams.at(index % checker.datagrams.size());
                datagram(checker, d);
            }
            break;
        }
        default:
            checker.recheck(in.take<quint8>());
            break;
        }
    }
    return 0;
}
