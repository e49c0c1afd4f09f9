// SPDX-License-Identifier: MIT
/*
    Writes the seed corpus of fuzz_frame_reader into the directory given as argument:
    valid streams sealed under the fuzzer's key (so that mutations start from frames that
    pass every check but the tag), in each input mode, plus a few broken ones.
*/
#include "frame_p.h"

#include <QtCore/qdir.h>
#include <QtCore/qfile.h>

#include <cstdio>

using namespace Plexus;

namespace {

QByteArray frame(quint16 privateFlags, quint64 id, const Payload &payload)
{
    static const CryptoKey key = CryptoKey::derive("plexus fuzz secret", "plexfuzz");
    Wire::Header h;
    h.flags = 0x0101;
    h.privateFlags = privateFlags;
    h.timestamp = 1700000000000ull + id;
    h.id = id;
    Wire::Body b;
    b.target = 42;
    b.token = id ? id * 3 : 0;
    b.targets = 1;
    b.originSlot = int(id % 3) - 1;
    b.originPid = 1000 + quint32(id);
    Frame f = Frame::create(h, b, payload);
    f.seal(key);
    return f.buffer();
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

} // namespace

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <corpus directory>\n", argv[0]);
        return 2;
    }
    const QString dir = QFile::decodeName(argv[1]);
    if (!QDir().mkpath(dir))
        return 1;

    const QByteArray small = frame(Wire::Opcode, 1, "hello");
    const QByteArray empty = frame(Wire::Reply | Wire::Done, 2, QByteArrayView());
    const QByteArray medium = frame(Wire::WantReply | Wire::Workers, 3, fill(300));
    const QByteArray large = frame(Wire::Typed, 4, fill(5000));
    const QByteArray control = frame(Wire::Control, 5, "hello from a worker");
    QByteArray badFlags = frame(0, 6, "flags");
    badFlags[7] = char(0x80);   // unknown private flag
    QByteArray oversized = frame(0, 7, "big");
    oversized[3] = char(0x7f);  // announces ~2 GiB
    const QByteArray preamble = Wire::preamble(1);
    QByteArray otherVersion = preamble;
    otherVersion[6] = 9;

    const QList<QByteArray> seeds = {
        mode(0x00) + small,
        mode(0x00) + small + empty + medium,
        mode(0x08) + control + large,
        mode(0x01) + preamble + small + medium,
        mode(0x05) + preamble + large + empty,
        mode(0xfc) + large + small,
        mode(0x04) + medium + medium.first(100),   // a truncated second frame
        mode(0x00) + small + badFlags,
        mode(0x00) + oversized,
        mode(0x01) + otherVersion + small,
        mode(0x01) + QByteArray("GET / HTTP/1.1\r\n\r\n"),
        // Handshake mode: one frame per append until one authenticates.
        mode(0x09) + preamble + control + medium + large,
        mode(0x2c) + large,                          // too big before authentication
        mode(0x48) + badFlags + small,
        // Round-trip mode: header fields then payload.
        mode(0x02) + QByteArray(48, '\0') + "payload",
        mode(0x07) + QByteArray("\x01\x00\x04\x00", 4) + fill(60) + fill(700),
        mode(0x1e) + QByteArray("\xff\xff\x83\x00", 4) + fill(44) + QByteArray(10, '\0'),
    };
    int i = 0;
    for (const QByteArray &seed : seeds) {
        QFile file(dir + QStringLiteral("/seed-%1").arg(i++, 2, 10, QLatin1Char('0')));
        if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate) || file.write(seed) != seed.size())
            return 1;
    }
    std::printf("%d seeds written to %s\n", i, argv[1]);
    return 0;
}
