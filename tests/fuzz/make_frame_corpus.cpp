// SPDX-License-Identifier: MIT
/*
    Writes the seed corpus of one fuzzer into a directory:

        make_frame_corpus frame_reader|record_reader|handshake|discovery|brokerwire <directory>

    The seeds are valid inputs under the fuzzers' fixed keys (fuzz_common.h), so that
    mutations start from inputs that pass every check but the MAC, plus a few broken ones.
*/
#include "brokerwire_p.h"
#include "discovery_wire_p.h"
#include "fuzz_common.h"
#include "handshake_p.h"

#include <QtCore/qdir.h>
#include <QtCore/qfile.h>

#include <sodium.h>

#include <cstring>

using namespace Plexus;

namespace {

constexpr quint64 OtherMachine = 0x6f746865726d6163ull;

Wire::Header header(quint16 privateFlags, quint64 id)
{
    return {.flags = 0x0101, .privateFlags = privateFlags, .timestamp = 1700000000000ull + id,
            .id = id, .target = 42, .token = id * 3, .targets = 1, .status = 0,
            .originMachine = PlexusFuzz::LocalMachine, .originPid = 1000 + quint32(id),
            .originSlot = int(id % 3) - 1};
}

// A plaintext frame: header, then payload.
QByteArray frame(Wire::Header h, QByteArrayView payload)
{
    h.length = quint32(payload.size());
    QByteArray out(Wire::HeaderSize, Qt::Uninitialized);
    Wire::encodeHeader(h, out.data());
    return out + payload.toByteArray();
}

QByteArray helloFrame(PeerRole role, quint64 machine, quint32 pid, qint32 slot)
{
    const Wire::Header h{.privateFlags = Wire::Control, .timestamp = 1700000000000ull, .id = 1,
                         .target = Wire::ControlHello, .originMachine = machine,
                         .originPid = pid, .originSlot = slot};
    return frame(h, Handshake::helloPayload(role, false));
}

QByteArray fill(qsizetype size)
{
    QByteArray out(size, Qt::Uninitialized);
    for (qsizetype i = 0; i < size; ++i)
        out[i] = char(i * 7 + 1);
    return out;
}

QByteArray mode(quint8 m)
{
    return QByteArray(1, char(m));
}

QList<QByteArray> frameReaderSeeds()
{
    const QByteArray hello = helloFrame(PeerRole::Worker, PlexusFuzz::LocalMachine, 4242, 0);
    const QByteArray small = frame(header(Wire::Opcode, 2), "hello");
    const QByteArray empty = frame(header(Wire::Reply | Wire::Done, 3), {});
    const QByteArray medium = frame(header(Wire::WantReply | Wire::Workers, 4), fill(300));
    const QByteArray large = frame(header(Wire::Typed, 5), fill(5000));
    QByteArray badFlags = frame(header(0, 6), "flags");
    badFlags[7] = char(0x80);   // unknown private flag
    QByteArray oversized = frame(header(0, 7), "big");
    oversized[3] = char(0x7f);  // announces ~2 GiB
    const auto sealed = [](quint16 flags, quint64 id, QByteArrayView payload) {
        return Wire::sealMessage(header(flags, id), payload, PlexusFuzz::frameKey());
    };
    QByteArray sealedBadFlags = sealed(Wire::Opcode, 8, "x");
    sealedBadFlags[7] = char(0x10);
    QByteArray fields;   // round-trip mode: the header fields, then the payload
    for (int i = 0; i < 60; ++i)
        fields += char(i == 2 ? Wire::Opcode : i * 5);

    return {
        // Stream mode: plaintext frames.
        mode(0x00) + small,
        mode(0x00) + hello + small + empty + medium,
        mode(0x10) + small + empty + empty + large,
        mode(0x22) + medium + large + small,         // direct
        mode(0x04) + hello + large + medium,         // capped until the Hello
        mode(0x04) + large,                          // too big before the Hello
        mode(0x36) + hello + large.first(3000),      // direct, capped, truncated
        mode(0x00) + small + badFlags + small,
        mode(0x00) + oversized,
        mode(0xf2) + medium + medium.first(100),
        // Stream mode: single sealed messages for openMessage.
        mode(0x00) + sealed(Wire::Opcode, 9, "sealed message"),
        mode(0x00) + sealed(Wire::Reply | Wire::Done, 10, {}),
        mode(0x00) + sealed(Wire::Typed | Wire::Cluster, 11, fill(700)),
        mode(0x00) + sealedBadFlags,
        mode(0x00) + Wire::preamble(2) + small,
        // Round-trip mode.
        mode(0x01) + fields + "payload",
        mode(0x03) + fields + fill(900),
        mode(0x05) + fields + fill(5000),
        mode(0x17) + QByteArray(60, '\0'),
        mode(0x41) + QByteArray("\x01\x00\x83\x00", 4) + fill(56) + fill(40),
    };
}

QList<QByteArray> recordReaderSeeds()
{
    // One stream: the header, then each piece of plaintext as one record.
    const auto stream = [](const QList<QByteArray> &records, Record::Tag lastTag = Record::Tag::Message) {
        RecordSealer sealer;
        QByteArray out(Record::HeaderBytes, Qt::Uninitialized);
        sealer.init(PlexusFuzz::recordKey(), reinterpret_cast<unsigned char *>(out.data()));
        for (qsizetype i = 0; i < records.size(); ++i) {
            const QByteArray &plain = records.at(i);
            QByteArray record(Record::Overhead + plain.size(), Qt::Uninitialized);
            sealer.sealFrom(plain.constData(), plain.size(), record.data(),
                            i + 1 == records.size() ? lastTag : Record::Tag::Message);
            out += record;
        }
        return out;
    };
    const QByteArray hello = helloFrame(PeerRole::Worker, PlexusFuzz::LocalMachine, 4242, 0);
    const QByteArray small = frame(header(Wire::Opcode, 2), "hello");
    const QByteArray medium = frame(header(Wire::WantReply | Wire::Workers, 3), fill(300));
    const QByteArray big = frame(header(Wire::Opcode, 4), fill(20000));   // over the cap
    QByteArray badFlags = frame(header(0, 5), "flags");
    badFlags[6] = char(Wire::Done);   // Done without Reply
    QList<QByteArray> pieces{hello};   // the big frame in records of every size
    for (qsizetype at = 0, n = 1; at < big.size(); at += n, n = n * 3 + 1)
        pieces.append(big.sliced(at, qMin(n, big.size() - at)));

    QByteArray shortLength = stream({hello});
    shortLength += QByteArray("\x05\x00\x00\x00", 4) + QByteArray(5, 'x');   // clen < 17
    QByteArray hugeLength = stream({hello});
    hugeLength += QByteArray("\xff\xff\xff\x7f", 4);
    return {
        stream({hello}),
        stream({hello + small + medium}),
        stream({hello, small, medium, small}),
        stream({hello + medium.first(10), medium.sliced(10, 100), medium.sliced(110) + small}),
        stream(pieces),
        stream({hello + big}),
        stream({hello, small}, Record::Tag::Final),
        stream({hello, small, small}, Record::Tag::Rekey),
        stream({hello, badFlags}),
        stream({small, hello}),          // no Hello first: closed
        stream({hello, small + hello}),  // a second Hello: closed
        stream({hello, medium}).chopped(7),
        stream({}),
        shortLength,
        hugeLength,
    };
}

QList<QByteArray> handshakeSeeds()
{
    const CryptoKey &psk = PlexusFuzz::handshakePsk();
    const auto connector = [&psk](PeerRole role) {
        Handshake hs(Handshake::Side::Connector, role, psk);
        return hs.start();
    };
    // A connector message with the MAC computed by hand, for chosen key bytes.
    const auto withMac = [&psk](PeerRole role, QByteArray key) {
        unsigned char macKey[32], mac[32];
        crypto_generichash(macKey, sizeof macKey, reinterpret_cast<const unsigned char *>("plexus-mac"), 10,
                           psk.bytes(), CryptoKey::KeySize);
        QByteArray m = Wire::preamble(quint8(role)) + key;
        crypto_generichash_state s;
        crypto_generichash_init(&s, macKey, sizeof macKey, sizeof mac);
        crypto_generichash_update(&s, reinterpret_cast<const unsigned char *>("plexus-c"), 8);
        crypto_generichash_update(&s, reinterpret_cast<const unsigned char *>(m.constData()), size_t(m.size()));
        crypto_generichash_final(&s, mac, sizeof mac);
        return m + QByteArray(reinterpret_cast<const char *>(mac), sizeof mac);
    };
    const QByteArray worker = connector(PeerRole::Worker);
    const QByteArray streamHeader = fill(Record::HeaderBytes);
    const QByteArray localHello = helloFrame(PeerRole::Worker, PlexusFuzz::LocalMachine, 4242, 0);
    const QByteArray clusterHello = helloFrame(PeerRole::Master, OtherMachine, 777, -1);
    QByteArray badMac = worker;
    badMac[Handshake::ConnectorMessageSize - 1] = char(badMac.back() ^ 1);
    QByteArray otherVersion = worker;
    otherVersion[6] = 9;
    return {
        worker + streamHeader + localHello,
        connector(PeerRole::Master) + streamHeader + clusterHello,
        connector(PeerRole::Peer) + streamHeader + helloFrame(PeerRole::Peer, OtherMachine, 1, -1),
        worker + streamHeader + frame(header(Wire::Opcode, 2), "not a hello"),
        worker + streamHeader,
        worker,
        worker.first(40),
        withMac(PeerRole::Worker, QByteArray(Handshake::KeySize, '\0')) + streamHeader + localHello,   // low-order key
        withMac(PeerRole::Unknown, fill(Handshake::KeySize)) + streamHeader,                         // role 0
        badMac + streamHeader + localHello,
        otherVersion + streamHeader,
        QByteArray("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        localHello,
    };
}

// fuzz_discovery's input: the clock, the filter's capacity, then operations (see there).
// Most seeds use a small seen-set, which is cheap to fill; 0 is the real SeenCapacity.
class DiscoveryInput
{
public:
    static constexpr quint64 Clock = 1700000000000ull;
    static constexpr quint8 Small = 16;
    explicit DiscoveryInput(quint64 clock = Clock, quint8 capacity = Small)
    {
        put(clock);
        put(capacity);
    }
    QByteArray bytes;

    DiscoveryInput &datagram(qint32 step, QByteArrayView d)
    {
        op(0, step);
        put(quint16(d.size()));
        bytes += d.toByteArray();
        return *this;
    }
    DiscoveryInput &sealed(qint32 step, const DiscoveryWire::Announcement &a, quint64 id, qint32 offset)
    {
        op(1, step);
        put(a.machine), put(id), put(offset), put(a.version), put(a.port), put(a.role);
        return *this;
    }
    DiscoveryInput &pair(qint32 step, quint64 machine, quint64 id, qint32 offset)
    {
        op(2, step);
        put(machine), put(id), put(offset);
        return *this;
    }
    DiscoveryInput &burst(qint32 step, quint16 count, quint64 machine, quint64 first, qint32 offset)
    {
        op(3, step);
        put(count), put(machine), put(first), put(offset);
        return *this;
    }
    DiscoveryInput &replay(qint32 step, quint8 index)
    {
        op(4, step);
        put(index);
        return *this;
    }
    DiscoveryInput &recheck(qint32 step, quint8 index)
    {
        op(5, step);
        put(index);
        return *this;
    }

private:
    template <typename T>
    void put(T v)
    {
        char b[sizeof v];
        qToLittleEndian(v, b);
        bytes += QByteArrayView(b, sizeof b);
    }
    // The clock step: one of the op byte's shorthands, or 32 bits after it.
    void op(quint8 kind, qint32 step)
    {
        constexpr qint32 window = qint32(DiscoveryWire::WindowMs);
        const quint8 shorthand = step == 0 ? 0 : step == 1 ? 1 : step == -1 ? 2 : step == 1000 ? 3
                : step == window ? 4 : step == -window ? 5 : 7;
        put(quint8(kind | shorthand << 3));
        if (shorthand == 7)
            put(step);
    }
};

QList<QByteArray> discoverySeeds()
{
    using DiscoveryWire::Announcement;
    constexpr quint64 T = DiscoveryInput::Clock;
    const Announcement master{.machine = OtherMachine, .version = Wire::ProtocolVersion,
                              .port = 4950, .role = quint8(PeerRole::Master)};
    const Announcement peer{.machine = PlexusFuzz::LocalMachine, .version = Wire::ProtocolVersion,
                            .port = 4951, .role = quint8(PeerRole::Peer)};
    const auto datagram = [](const Announcement &a, quint64 ts, quint64 id) {
        return DiscoveryWire::seal(PlexusFuzz::frameKey(), a, ts, id);
    };
    const QByteArray valid = datagram(master, T, 1);
    Announcement oldVersion = master, newVersion = master, noPort = master, worker = master;
    oldVersion.version = 1;
    newVersion.version = Wire::ProtocolVersion + 1;
    noPort.port = 0;
    worker.role = quint8(PeerRole::Worker);
    // Sealed by hand: another control code, and a non-zero padding byte.
    Wire::Header hello{.privateFlags = Wire::Control, .timestamp = T, .id = 9,
                       .target = Wire::ControlHello, .originMachine = OtherMachine};
    QByteArray padding(DiscoveryWire::PayloadSize, '\0');   // version 2, port 1, master, 1
    padding[0] = char(Wire::ProtocolVersion);
    padding[2] = 1;
    padding[4] = char(PeerRole::Master);
    padding[7] = 1;
    Wire::Header announce = hello;
    announce.target = Wire::ControlAnnounce;
    QByteArray tampered = valid;
    tampered[Wire::HeaderSize + CryptoKey::NonceSize] ^= 1;

    return {
        // Valid, and the replay pair (once, again a second later).
        DiscoveryInput().datagram(0, valid).bytes,
        DiscoveryInput().datagram(0, valid).datagram(1000, valid).bytes,
        DiscoveryInput().datagram(0, valid).datagram(0, datagram(peer, T + 5, 2))
                .datagram(20000, datagram(master, T + 20000, 3)).datagram(9000, valid).bytes,
        // Wrong version, bad port or role, wrong kind, bad padding, tampered, truncated.
        DiscoveryInput().datagram(0, datagram(oldVersion, T, 4)).datagram(0, datagram(newVersion, T, 5)).bytes,
        DiscoveryInput().datagram(0, datagram(noPort, T, 6)).datagram(0, datagram(worker, T, 7)).bytes,
        DiscoveryInput().datagram(0, Wire::sealMessage(hello, padding, PlexusFuzz::frameKey()))
                .datagram(0, Wire::sealMessage(announce, padding, PlexusFuzz::frameKey())).bytes,
        DiscoveryInput().datagram(0, tampered).datagram(0, valid.first(70))
                .datagram(0, DiscoveryWire::seal(PlexusFuzz::handshakePsk(), master, T, 8)).bytes,
        // Stale and future timestamps; a datagram that ages out of the window.
        DiscoveryInput().datagram(0, datagram(master, T - 40000, 10)).datagram(0, datagram(master, T + 40000, 11)).bytes,
        DiscoveryInput().datagram(0, valid).datagram(29999, valid).datagram(2, valid).bytes,
        DiscoveryInput(T - 40000).datagram(40000, valid).datagram(-30000, valid).bytes,
        // Sealed by the fuzzer from fields; the filter alone; the seen-set overflowing.
        DiscoveryInput().sealed(0, master, 12, 0).sealed(100, master, 12, -100).sealed(0, oldVersion, 13, 0)
                .sealed(0, noPort, 14, 0).bytes,
        DiscoveryInput().pair(0, OtherMachine, 1, 0).pair(0, OtherMachine, 1, 0).pair(31000, OtherMachine, 1, 0)
                .pair(0, OtherMachine, 2, -30000).pair(0, OtherMachine, 3, 30001).bytes,
        DiscoveryInput(DiscoveryInput::Clock, 0).burst(0, DiscoveryWire::SeenCapacity + 100, OtherMachine, 100, 0)
                .pair(0, OtherMachine, 100, 0).pair(0, OtherMachine, DiscoveryWire::SeenCapacity + 150, 0).bytes,
        DiscoveryInput(DiscoveryInput::Clock, 0).burst(0, 2000, OtherMachine, 1, -29000)
                .burst(1500, 2000, OtherMachine, 5000, 0).datagram(1000, valid).bytes,
        DiscoveryInput().burst(0, 20, OtherMachine, 1, -29000).burst(1500, 20, OtherMachine, 50, 0)
                .datagram(1000, valid).recheck(0, 3).bytes,
        DiscoveryInput(DiscoveryInput::Clock, 8).burst(0, 12, OtherMachine, 1, 0).recheck(0, 0).recheck(0, 11)
                .pair(1000, OtherMachine, 1, -1000).bytes,
        // The seen-set full: a replay of its oldest pair is refused, a new pair pushes it out.
        DiscoveryInput(DiscoveryInput::Clock, 8).burst(0, 8, OtherMachine, 1, 0).recheck(0, 0)
                .pair(0, OtherMachine, 9, 0).recheck(0, 0).bytes,
        // Replays of what went through, by the datagram and by the pair, as the clock goes.
        DiscoveryInput().datagram(0, valid).replay(1000, 0).replay(-1000, 0).replay(-1, 0).bytes,
        DiscoveryInput().pair(0, OtherMachine, 7, -20000).recheck(1000, 0).recheck(-1, 0).recheck(-30000, 0).bytes,
        // A replay exactly WindowMs after its timestamp: still inside the window, still refused
        // (it was accepted while an entry expired one millisecond early).
        DiscoveryInput().datagram(0, valid).replay(qint32(DiscoveryWire::WindowMs), 0).bytes,
        DiscoveryInput().pair(0, OtherMachine, 1, 0).recheck(qint32(DiscoveryWire::WindowMs), 0)
                .recheck(1, 0).bytes,
    };
}

} // namespace

// fuzz_brokerwire's input: a subject index, one sealed envelope, then sequence steps.
QList<QByteArray> brokerwireSeeds()
{
    using namespace BrokerWire;
    const QByteArray subjects[3] = {"plx.00112233aabbccdd.m.1", "plx.00112233aabbccdd.all",
                                    "plx.00112233aabbccdd.presence"};
    Wire::Header h;
    h.privateFlags = Wire::Opcode;
    h.target = 0x100;
    h.length = 5;
    h.originMachine = 7;
    QByteArray frame(Wire::HeaderSize, Qt::Uninitialized);
    Wire::encodeHeader(h, frame.data());
    frame += "hello";
    QList<QByteArray> seeds;
    for (int i = 0; i < 3; ++i) {
        Envelope env;
        env.channel = Channel(i + 1);
        env.role = 1;
        env.sender = 7;
        env.epoch = 9;
        env.sequence = quint64(i) + 1;
        env.timestampMs = 1'700'000'000'000;
        QByteArray body = frame + frame;   // two frames of one turn
        if (env.channel == Channel::All)
            body = targetList({1, 2, 3}) + frame;
        else if (env.channel == Channel::Presence)
            body = presenceBody(Presence());
        const QByteArray sealed = seal(PlexusFuzz::frameKey(), env, subjects[i], {body});
        QByteArray seed;
        seed.append(char(i));
        seed.append(char(sealed.size() & 0xff));
        seed.append(char(sealed.size() >> 8));
        seed += sealed;
        for (quint64 step : {quint64(5), quint64(3) | quint64(1) << 63, quint64(4096), quint64(1)})
            seed.append(reinterpret_cast<const char *>(&step), 8);
        seeds.append(seed);
    }
    return seeds;
}

int main(int argc, char **argv)
{
    const QByteArray kind = argc == 3 ? QByteArray(argv[1]) : QByteArray();
    if (kind != "frame_reader" && kind != "record_reader" && kind != "handshake" && kind != "discovery"
        && kind != "brokerwire") {
        std::fprintf(stderr, "usage: %s frame_reader|record_reader|handshake|discovery|brokerwire <corpus directory>\n",
                     argv[0]);
        return 2;
    }
    if (!Crypto::initialize())
        return 1;
    const QString dir = QFile::decodeName(argv[2]);
    if (!QDir().mkpath(dir))
        return 1;
    const QList<QByteArray> seeds = kind == "frame_reader" ? frameReaderSeeds()
            : kind == "record_reader"                      ? recordReaderSeeds()
            : kind == "handshake"                          ? handshakeSeeds()
            : kind == "brokerwire"                         ? brokerwireSeeds()
                                                           : discoverySeeds();
    int i = 0;
    for (const QByteArray &seed : seeds) {
        QFile file(dir + QStringLiteral("/seed-%1").arg(i++, 2, 10, QLatin1Char('0')));
        if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate) || file.write(seed) != seed.size())
            return 1;
    }
    std::printf("%d %s seeds written to %s\n", i, kind.constData(), argv[2]);
    return 0;
}
