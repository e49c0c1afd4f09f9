// SPDX-License-Identifier: MIT
/*
    libFuzzer target for the record layer of a stream link, as Link::processRecord reads
    it: RecordOpener::checkLength on each length field, then openInPlace() or openInto()
    (into a separate buffer, or straight into the payload of the frame under way, as a link
    does for large payloads), and the plaintext of every record that authenticates into a
    FrameReader. The reader starts at the handshake cap and is raised once the first frame
    is a Hello (Handshake::parseHello), as Link does; a non-Hello first frame or a second
    Hello closes the "link". Nothing may crash, trip a sanitizer or allocate beyond the
    limit in force.

    Input layout: the 24-byte secretstream header of the stream, then records
    (u32 LE clen | tag + ciphertext | MAC). The opener is initialised from the input's
    header under a fixed key (fuzz_common.h), so that make_frame_corpus can write seeds
    whose records authenticate: a RecordSealer under the same key writes the header.
*/
#include "fuzz_common.h"
#include "handshake_p.h"
#include "message_p.h"

#include <cstdint>
#include <cstring>

using namespace Plexus;
using PlexusFuzz::MaxLength;

namespace {

// Link reads a record straight into the message when its plaintext lies inside one large
// payload; the fuzzer does so for smaller records too, to reach that path with small inputs.
constexpr qsizetype DirectThreshold = 64;

[[noreturn]] void fail(const char *what)
{
    PlexusFuzz::fail("fuzz_record_reader", what);
}

class Sink : public FrameReader::Sink
{
public:
    explicit Sink(FrameReader &reader) : m_reader(reader) { }
    int frames = 0;
    bool closed = false;

    bool frameReady(MessagePrivate *frame) override
    {
        QExplicitlySharedDataPointer<MessagePrivate> ref(frame, QAdoptSharedDataTag{});
        if (qsizetype(frame->header.length) > m_reader.limit())
            fail("frame over the limit handed over");
        if (!Wire::flagsConsistent(frame->header.privateFlags))
            fail("frame with inconsistent flags handed over");
        const bool hello = (frame->header.privateFlags & Wire::Control)
                && frame->header.target == Wire::ControlHello;
        PeerIdentity peer;
        if (frames++ == 0) {
            if (Handshake::parseHello(frame->header, frame->data(), &peer) != FrameError::NoError) {
                closed = true;   // the link rejects a peer whose first frame is no Hello
                return false;
            }
            if (peer.pid != qint64(frame->header.originPid) || peer.slot != frame->header.originSlot)
                fail("Hello identity differs from its header");
            m_reader.setLimit(MaxLength);   // admitted: the full limit from the next header on
            return true;
        }
        if (hello) {
            closed = true;   // a second handshake on a live link
            return false;
        }
        // Read the payload, as a handler would.
        volatile quint8 sum = 0;
        for (char c : frame->data())
            sum = sum + quint8(c);
        return true;
    }

private:
    FrameReader &m_reader;
};

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    setMaxMessageLength(MaxLength);
    if (!Crypto::initialize())
        fail("libsodium");
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < size_t(Record::HeaderBytes) || size > size_t(4 * MaxLength))
        return 0;
    RecordOpener opener;
    if (!opener.init(PlexusFuzz::recordKey(), data))
        return 0;
    FrameReader frames(Wire::MaxHandshakeLength);
    Sink sink(frames);

    const char *in = reinterpret_cast<const char *>(data);
    qsizetype off = Record::HeaderBytes;
    for (int index = 0; !sink.closed; ++index) {
        if (qsizetype(size) - off < Record::LengthSize)
            break;   // a partial length field: the link waits (TruncatedFrame at the end)
        qsizetype clen = -1;
        const FrameError lengthError = RecordOpener::checkLength(in + off, &clen);
        const quint32 n = qFromLittleEndian<quint32>(in + off);
        if (lengthError != FrameError::NoError) {
            if (lengthError != (n < quint32(Record::ABytes) ? FrameError::MalformedHeader
                                                             : FrameError::OversizedFrame)
                || (n >= quint32(Record::ABytes) && qsizetype(n) <= Record::MaxPlain + Record::ABytes))
                fail("checkLength: wrong verdict");
            break;
        }
        if (clen != qsizetype(n))
            fail("checkLength: wrong length");
        const qsizetype total = Record::LengthSize + clen;
        if (qsizetype(size) - off < total)
            break;   // the rest of the record never came
        const qsizetype plain = clen - Record::ABytes;
        // The record in a buffer of exactly its size: ASan catches any read past it.
        QByteArray record(in + off, total);
        off += total;

        const quint64 before = opener.records();
        const bool wasFinished = opener.finished();
        Record::Tag tag = Record::Tag::Message;
        qsizetype direct = 0;
        char *space = frames.directSpace(&direct);
        FrameError error;
        if (space && plain >= DirectThreshold && direct >= plain) {
            error = opener.openInto(record.constData(), clen, space, &tag);
            if (error == FrameError::NoError)
                error = frames.commitDirect(plain, &sink);
        } else if (index % 2) {
            QByteArray text(plain, '\0');
            error = opener.openInto(record.constData(), clen, text.data(), &tag);
            if (error == FrameError::NoError)
                error = frames.append(text.constData(), plain, &sink);
        } else {
            error = opener.openInPlace(record.data(), clen, &tag);
            if (error == FrameError::NoError)
                error = frames.append(record.constData() + Record::PlainOffset, plain, &sink);
        }

        // The record layer's own rules: nothing after a final record; a record that does
        // not authenticate leaves the stream where it was.
        if (wasFinished && (error != FrameError::UnexpectedFrame || opener.records() != before))
            fail("a record after the final one was opened");
        if (!wasFinished && error == FrameError::AuthenticationFailed && opener.records() != before)
            fail("a failed record moved the stream on");
        if (opener.records() == before + 1 && tag == Record::Tag::Final && !opener.finished())
            fail("final tag not remembered");
        if (error != FrameError::NoError) {
            if (frames.error() != FrameError::NoError && frames.error() != error)
                fail("reader error and record error disagree");
            break;
        }
        if (frames.pendingBytes() < 0 || frames.pendingBytes() > Wire::HeaderSize + MaxLength)
            fail("pendingBytes out of range");
    }
    return 0;
}
