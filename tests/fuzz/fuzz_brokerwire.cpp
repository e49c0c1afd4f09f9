// SPDX-License-Identifier: MIT
/*
    libFuzzer target for the NATS engine's envelope (brokerwire_p.h): what any client of
    the broker can publish on a cluster's subjects. Envelopes are sealed under the fixed key
    of fuzz_common.h, so the seeds authenticate. Nothing may crash or trip a sanitizer, and:
      - open() accepts only an envelope of the right size whose body is the input's bytes
        past the header, less the tag; what it accepts opens again once sealed anew;
      - parseFrames() accepts only a body whose frames and target list add up, hands out
        payloads of exactly their headers' lengths, and nothing of a body it refuses;
      - the sequence window agrees with a model: a number is new iff it was never accepted
        and lies above the highest or less than SequenceWindow::Span below it.

    Input layout: a subject index (1 byte: inbox, all, presence, or another inbox), the
    envelope (length 2 bytes, bytes), then sequence numbers for the window (8 bytes each,
    little-endian; each is an offset below or above the last, by its top bit).
*/
#include "brokerwire_p.h"
#include "fuzz_common.h"

#include <QtCore/qendian.h>
#include <QtCore/qset.h>

#include <cstdint>
#include <cstring>

using namespace Plexus;
using namespace Plexus::BrokerWire;

namespace {

[[noreturn]] void fail(const char *what)
{
    PlexusFuzz::fail("fuzz_brokerwire", what);
}

const QByteArray Subjects[4] = {"plx.00112233aabbccdd.m.1", "plx.00112233aabbccdd.all",
                                "plx.00112233aabbccdd.presence", "plx.00112233aabbccdd.m.2"};

void checkEnvelope(QByteArrayView sealed, const QByteArray &subject)
{
    Envelope env;
    QByteArray body;
    const FrameError e = open(sealed, PlexusFuzz::frameKey(), subject, PlexusFuzz::MaxLength, &env, &body);
    if (e != FrameError::NoError) {
        if (!body.isEmpty())
            fail("a refused envelope left a body");
        return;
    }
    if (body.size() != sealed.size() - Overhead)
        fail("the body is not the envelope less its header and tag");
    const QByteArray again = seal(PlexusFuzz::frameKey(), env, subject, {body});
    Envelope env2;
    QByteArray body2;
    if (open(again, PlexusFuzz::frameKey(), subject, PlexusFuzz::MaxLength, &env2, &body2) != FrameError::NoError
        || body2 != body || env2.sequence != env.sequence || env2.sender != env.sender)
        fail("an accepted envelope does not open again once resealed");
    if (env.channel == Channel::Presence) {
        Presence p;
        parsePresence(body, &p);
        return;
    }
    QList<FrameView> frames;
    bool forUs = false;
    if (parseFrames(body, env.channel, PlexusFuzz::MaxLength, 1, &forUs, &frames) == FrameError::NoError) {
        // The frames and the target list must account for every byte of the body.
        qsizetype total = 0;
        for (const FrameView &f : frames) {
            if (f.payload.size() != qsizetype(f.header.length))
                fail("a payload is not its header's length");
            total += Wire::HeaderSize + f.payload.size();
        }
        if (frames.isEmpty())
            fail("a body without frames was accepted");
        const qsizetype list = env.channel == Channel::All
                ? 4 + 8 * qsizetype(qFromLittleEndian<quint32>(body.constData())) : 0;
        if (list + total != body.size())
            fail("frames and target list do not add up to the body");
        if (env.channel == Channel::Direct && !forUs)
            fail("a direct body is not for us");
    } else if (!frames.isEmpty()) {
        fail("a refused body handed out frames");
    }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    if (!Crypto::initialize())
        fail("libsodium");
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    const QByteArray &subject = Subjects[data[0] % 4];
    const size_t length = qMin<size_t>(size - 3, size_t(data[1]) | size_t(data[2]) << 8);
    checkEnvelope(QByteArrayView(reinterpret_cast<const char *>(data + 3), qsizetype(length)), subject);

    // The sequence window against its model.
    SequenceWindow window;
    QSet<quint64> accepted;
    quint64 highest = 0, last = 0;
    for (size_t at = 3 + length; at + 8 <= size; at += 8) {
        quint64 step;
        std::memcpy(&step, data + at, 8);
        const bool down = step >> 63;
        step &= (quint64(1) << 20) - 1;   // steps of up to a million, up or down
        const quint64 s = down ? (last > step ? last - step : 0) : last + step;
        last = s;
        const bool fresh = s != 0 && !accepted.contains(s)
                && (s > highest || highest - s < SequenceWindow::Span);
        if (window.accept(s) != fresh)
            fail("the sequence window disagrees with its model");
        if (fresh) {
            accepted.insert(s);
            highest = qMax(highest, s);
        }
        if (window.highest() != highest)
            fail("the window's highest number is wrong");
    }
    return 0;
}
