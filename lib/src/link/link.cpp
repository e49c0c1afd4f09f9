// SPDX-License-Identifier: MIT
#include "link_p.h"
#include "clock_p.h"
#include "logging_p.h"
#include "message_p.h"

#include <QtCore/qdeadlinetimer.h>
#include <QtCore/qtimer.h>

#include <atomic>
#include <cstring>

namespace Plexus {

namespace {
std::atomic<quint64> g_nextLinkId{1};
// Past this much plaintext a batch's record is sealed and sent at once, and the batch goes
// on in a new record: the peer starts on the first part while this side writes the rest.
// Without it a window of pipelined calls travels as one record and the two processes take
// turns (half the throughput; docs/BENCHMARKS.md).
constexpr qsizetype StreamThreshold = 64 * 1024;

constexpr qsizetype ReadChunk = 256 * 1024;
constexpr int ReadRounds = 8;              // per notification, so one busy link cannot starve others
// A link's budget per wake-up: however much input it keeps finding, it goes back to the
// event loop once this much time has passed (checked between read chunks, so a chunk's
// handlers may overrun it), so timers, signals and the other links get their turn. Long
// enough for dozens of sequential round trips, so the busy poll keeps its latency win; the
// price is one pass through the event loop per slice, with input already waiting.
constexpr qint64 BusyPollSliceUs = 1000;
// A payload at least this long is sealed straight from the message into its own records,
// and decrypted straight into the message, instead of going through the batch record.
constexpr qsizetype LargePayload = 64 * 1024;
} // namespace

// ---------------------------------------------------------------------------------------
// Link

Link::Link(LinkHandler *handler, const LinkSetup &setup, QObject *parent)
    : QObject(parent),
      m_handler(handler),
      m_setup(setup),
      m_id(g_nextLinkId.fetch_add(1, std::memory_order_relaxed)),
      m_handshake(std::make_unique<Handshake>(setup.side, setup.localRole, setup.psk)),
      m_frames(Wire::MaxHandshakeLength)
{
    m_lastInputAt = monotonicMs();
    // The Hello is the first frame of this side's stream; it waits in m_early until the
    // handshake lets this side seal.
    Wire::Header h = Authoring::header(Wire::Control, Wire::ControlHello);
    h.originMachine = setup.localMachine;
    h.originPid = setup.localPid;
    h.originSlot = setup.localSlot;
    const QByteArray hello = Handshake::helloPayload(setup.localRole, setup.localIsExec);
    h.length = quint32(hello.size());
    m_early.resize(Wire::HeaderSize);
    Wire::encodeHeader(h, m_early.data());
    m_early.append(hello);
}

Link::~Link()
{
    for (qsizetype i = m_readyHead; i < m_ready.size(); ++i) {
        if (!m_ready[i]->ref.deref())
            delete m_ready[i];
    }
}

void Link::start()
{
    if (m_state != State::Handshaking)
        return;
    if (m_handshake->state() == Handshake::State::Failed) {
        reject(m_handshake->error());
        return;
    }
    if (m_setup.handshakeTimeoutMs > 0) {
        m_deadline = new QTimer(this);
        m_deadline->setSingleShot(true);
        connect(m_deadline, &QTimer::timeout, this, [this] {
            if (!isEstablished())
                reject(FrameError::HandshakeTimeout);
        });
        m_deadline->start(m_setup.handshakeTimeoutMs);
    }
    const QByteArray first = m_handshake->start();
    if (!first.isEmpty()) {
        m_out.reserve(first.size());
        std::memcpy(m_out.end(), first.constData(), size_t(first.size()));
        m_out.grow(first.size());
        writeOut();
    }
}

qsizetype Link::queuedBytes() const noexcept
{
    return m_out.pending() + m_early.size() + transportQueued();
}

// ---- writing ---------------------------------------------------------------------------

void Link::write(const MessagePrivate &frame)
{
    if (m_state == State::Closed || m_finalSent)
        return;
    char header[Wire::HeaderSize];
    Wire::encodeHeader(frame.header, header);
    ++m_counters.framesOut;
    if (!m_handshake->canSend()) {
        m_early.append(header, Wire::HeaderSize);
        m_early.append(frame.payload(), frame.header.length);
        return;   // the handshake flushes it
    }
    appendPlain(header, Wire::HeaderSize);
    if (qsizetype(frame.header.length) >= LargePayload)
        sealLarge(frame.payload(), frame.header.length);
    else
        appendPlain(frame.payload(), frame.header.length);
    m_handler->linkWritten(this);
}

void Link::writeControl(quint32 code, QByteArrayView payload)
{
    Wire::Header h = Authoring::header(Wire::Control, code);
    h.originMachine = m_setup.localMachine;
    h.originPid = m_setup.localPid;
    h.originSlot = m_setup.localSlot;
    QExplicitlySharedDataPointer<MessagePrivate> m(MessagePrivate::create(h, Payload(payload)));
    write(*m);
}

void Link::appendPlain(const char *data, qsizetype size)
{
    while (size > 0) {
        if (m_openRecord < 0) {
            m_out.reserve(Record::PlainOffset + qMin(size, Record::MaxPlain) + Record::ABytes);
            m_openRecord = m_out.size();
            m_out.grow(Record::PlainOffset);
        }
        const qsizetype filled = m_out.size() - m_openRecord - Record::PlainOffset;
        const qsizetype take = qMin(size, Record::MaxPlain - filled);
        m_out.reserve(take + Record::MacSize, &m_openRecord);
        std::memcpy(m_out.end(), data, size_t(take));
        m_out.grow(take);
        data += take;
        size -= take;
        if (filled + take == Record::MaxPlain)
            sealOpenRecord();
    }
    // A long batch goes out in pieces, so that the peer works on the first while this side
    // writes the rest: both processes busy instead of taking turns.
    if (m_openRecord >= 0 && m_out.size() - m_openRecord - Record::PlainOffset >= StreamThreshold) {
        sealOpenRecord();
        writeOut();
    }
}

void Link::sealOpenRecord()
{
    if (m_openRecord < 0)
        return;
    const qsizetype plain = m_out.size() - m_openRecord - Record::PlainOffset;
    if (plain == 0) {
        m_out.grow(-Record::PlainOffset);   // nothing in it: drop the reservation
        m_openRecord = -1;
        return;
    }
    m_out.reserve(Record::MacSize, &m_openRecord);
    m_handshake->sealer().sealInPlace(m_out.at(m_openRecord), plain);
    m_out.grow(Record::MacSize);   // the tag byte is inside PlainOffset
    m_openRecord = -1;
    ++m_counters.recordsOut;
}

void Link::sealLarge(const char *data, qsizetype size)
{
    sealOpenRecord();
    while (size > 0) {
        const qsizetype take = qMin(size, Record::MaxPlain);
        m_out.reserve(Record::Overhead + take);
        m_handshake->sealer().sealFrom(data, take, m_out.end());
        m_out.grow(Record::Overhead + take);
        ++m_counters.recordsOut;
        data += take;
        size -= take;
    }
}

void Link::flush()
{
    if (m_state == State::Closed)
        return;
    if (m_handshake->canSend())
        sealOpenRecord();
    writeOut();
}

void Link::writeOut()
{
    // Only sealed bytes leave: a record being filled stays until it is sealed.
    auto sealedPending = [this] {
        return (m_openRecord >= 0 ? m_openRecord : m_out.size()) - m_out.head();
    };
    while (sealedPending() > 0 && m_state != State::Closed) {
        const qint64 n = transportWrite(m_out.begin(), sealedPending());
        if (n < 0) {
            transportLost();
            return;
        }
        if (n == 0)
            break;
        m_counters.bytesOut += quint64(n);
        m_out.consume(n);
    }
    const bool pending = sealedPending() > 0;
    if (pending != m_writeArmed) {
        m_writeArmed = pending;
        setWriteNotification(pending);
    }
    if (!pending)
        m_out.shrinkIfIdle();
}

void Link::readyWrite()
{
    // The transport can take more. A record being filled may be sealed now: frames may
    // span records, and waiting for the end of the batch would leave the socket idle.
    flush();
}

bool Link::waitForDrain(qsizetype lowWater, int timeoutMs, bool mayRead)
{
    QDeadlineTimer deadline(timeoutMs);
    while (m_state != State::Closed && queuedBytes() > lowWater) {
        flush();
        if (m_state == State::Closed || queuedBytes() <= lowWater)
            break;
        if (!mayRead && !m_handshake->canSend() && m_out.pending() == 0)
            break;   // only what waits for the handshake is left: waiting cannot move it
        const qint64 remaining = deadline.remainingTime();
        if (remaining == 0)
            return false;
        bool readable = false;
        const bool readNow = mayRead && m_handler->linkMayReadWhileWaiting(this);
        const int slice = int(remaining < 0 ? 100 : qMin<qint64>(remaining, 100));
        if (!transportWait(readNow, slice, &readable)) {
            transportLost();
            break;
        }
        if (readable && readNow)
            readyRead();
    }
    return m_state != State::Closed;
}

bool Link::waitForEstablished(int timeoutMs)
{
    QDeadlineTimer deadline(timeoutMs);
    while (m_state == State::Handshaking || m_state == State::AwaitingHello) {
        flush();
        const qint64 remaining = deadline.remainingTime();
        if (remaining == 0)
            return false;
        bool readable = false;
        const int slice = int(remaining < 0 ? 100 : qMin<qint64>(remaining, 100));
        if (!transportWait(true, slice, &readable)) {
            transportLost();
            break;
        }
        if (readable)
            readyRead();
    }
    deliver();   // announces the establishment if the last read did not
    return m_state == State::Established;
}

void Link::closeGracefully(int timeoutMs)
{
    if (m_state == State::Closed)
        return;
    if (m_handshake->canSend() && !m_finalSent) {
        sealOpenRecord();
        m_out.reserve(Record::Overhead);
        m_handshake->sealer().sealFrom(nullptr, 0, m_out.end(), Record::Tag::Final);
        m_out.grow(Record::Overhead);
        ++m_counters.recordsOut;
        m_finalSent = true;
    }
    flushBlocking(timeoutMs);
    close();
}

void Link::close()
{
    if (m_state == State::Closed)
        return;
    m_closedIn = m_state;
    m_state = State::Closed;
    if (m_deadline)
        m_deadline->stop();
    transportClose();
    m_in.clear();
    m_out.clear();
    m_early.clear();
    m_openRecord = -1;
    for (qsizetype i = m_readyHead; i < m_ready.size(); ++i) {
        if (!m_ready[i]->ref.deref())
            delete m_ready[i];
    }
    m_ready.clear();
    m_readyHead = 0;
    // Tell the handler from the event loop, never from inside its own call into us.
    QMetaObject::invokeMethod(this, [this] {
        if (!m_closeNotified) {
            m_closeNotified = true;
            m_handler->linkClosed(this);
        }
    }, Qt::QueuedConnection);
}

void Link::reject(FrameError reason)
{
    if (m_state == State::Closed)
        return;
    m_rejectedFor = reason;
    m_handler->linkRejected(this, reason);
    close();
}

void Link::shed()
{
    if (m_state == State::Closed)
        return;
    if (m_counters.bytesIn == 0 && transportPeerClosed())
        transportLost();
    else
        reject(FrameError::HandshakeTimeout);
}

void Link::transportLost()
{
    if (m_state == State::Closed)
        return;
    m_lostByTransport = true;
    // A stream that ends inside the handshake, a record or a frame was cut short; one that
    // ends between records is a peer that went away (crashed, or closed after its final
    // record).
    const bool cut = m_in.pending() > 0 || m_frames.pendingBytes() > 0
            || (m_state == State::Handshaking && m_counters.bytesIn > 0);
    if (cut)
        reject(FrameError::TruncatedFrame);
    else
        close();
}

// ---- reading ---------------------------------------------------------------------------

void Link::inputReady()
{
    const QDeadlineTimer slice(std::chrono::microseconds(BusyPollSliceUs), Qt::PreciseTimer);
    readyRead(&slice);
    // A request/response peer answers within microseconds, but going back to the event
    // loop and blocking costs a wake-up that this VM class charges tens of microseconds for,
    // on both sides. So look for the answer a little longer first. When that keeps finding
    // nothing (idle, or slow peers), stop for a while: the cost stays bounded.
    const int budgetUs = m_setup.busyPollUs;
    if (budgetUs <= 0 || m_state == State::Closed)
        return;
    if (m_spinPause > 0) {
        --m_spinPause;
        return;
    }
    // Each read that finds input opens a new window of budgetUs for the next one (a
    // request/response exchange), but the whole stay is bounded by the slice.
    QDeadlineTimer until(std::chrono::microseconds(budgetUs), Qt::PreciseTimer);
    bool found = false;
    while (m_state != State::Closed && !slice.hasExpired()) {
        bool readable = false;
        if (!transportWait(true, 0, &readable))
            return;
        if (readable) {
            found = true;
            readyRead(&slice);
            until = QDeadlineTimer(std::chrono::microseconds(budgetUs), Qt::PreciseTimer);
            continue;
        }
        if (until.hasExpired())
            break;
    }
    if (found) {
        m_spinMisses = 0;
    } else if (++m_spinMisses >= 8) {
        m_spinMisses = 0;
        m_spinPause = 64;
    }
}

void Link::readyRead(const QDeadlineTimer *until)
{
    struct Batch {
        Link *link;
        explicit Batch(Link *l) : link(l) { link->m_handler->linkReading(link, true); }
        ~Batch() { link->m_handler->linkReading(link, false); }
    } batch(this);
    for (int round = 0; round < ReadRounds && m_state != State::Closed; ++round) {
        if (m_in.freeSpace() < ReadChunk / 4)
            m_in.reserve(ReadChunk);
        const qsizetype room = m_in.freeSpace();
        const qint64 n = transportRead(m_in.end(), room);
        if (n == 0)
            return;
        if (n < 0) {
            transportLost();
            return;
        }
        m_counters.bytesIn += quint64(n);
        m_lastInputAt = monotonicMs();
        m_in.grow(n);
        process();
        deliver();
        if (n < room)
            return;   // drained the transport for now
        if (until && until->hasExpired())
            return;   // the rest waits for the next turn of the event loop
    }
}

void Link::process()
{
    while (m_state != State::Closed) {
        const bool progressed = m_handshake->state() != Handshake::State::Done
                ? processHandshake()
                : processRecord();
        if (!progressed)
            return;
    }
}

void Link::deliver()
{
    if (m_announceEstablished && m_state == State::Established) {
        m_announceEstablished = false;
        m_handler->linkEstablished(this);
    }
    // Nested calls (a handler that waits for this link, which reads it again) continue
    // with the next frame of the same queue, so frames are handed over in order.
    while (m_readyHead < m_ready.size() && m_state == State::Established) {
        MessagePrivate *frame = m_ready[m_readyHead++];
        if (m_readyHead == m_ready.size()) {
            m_ready.clear();
            m_readyHead = 0;
        }
        m_handler->linkFrame(this, frame);
    }
}

bool Link::processHandshake()
{
    const qsizetype need = m_handshake->bytesNeeded();
    if (need == 0)
        return false;
    if (m_in.pending() < need) {
        const FrameError early = m_handshake->peek(m_in.begin(), m_in.pending());
        if (early != FrameError::NoError)
            reject(early);
        return false;
    }
    QByteArray reply;
    const Handshake::State st = m_handshake->consume(m_in.begin(), &reply);
    m_in.consume(need);
    if (st == Handshake::State::Failed) {
        reject(m_handshake->error());
        return false;
    }
    if (!reply.isEmpty()) {
        m_out.reserve(reply.size());
        std::memcpy(m_out.end(), reply.constData(), size_t(reply.size()));
        m_out.grow(reply.size());
    }
    if (m_handshake->canSend() && !m_early.isEmpty()) {
        // The Hello (and anything written meanwhile) becomes the first record.
        const QByteArray early = std::move(m_early);
        m_early.clear();
        appendPlain(early.constData(), early.size());
        sealOpenRecord();
    }
    writeOut();
    if (st == Handshake::State::Done && m_state == State::Handshaking)
        m_state = State::AwaitingHello;
    return m_state != State::Closed;
}

bool Link::processRecord()
{
    if (m_in.pending() < Record::LengthSize)
        return false;
    qsizetype clen = 0;
    const FrameError lengthError = RecordOpener::checkLength(m_in.begin(), &clen);
    if (lengthError != FrameError::NoError) {
        reject(lengthError);
        return false;
    }
    const qsizetype total = Record::LengthSize + clen;
    if (m_in.pending() < total) {
        // Wait for the rest; make sure the whole record will fit (at most 1 MiB + 21).
        m_in.reserve(total - m_in.pending());
        return false;
    }
    const qsizetype plain = clen - Record::ABytes;
    Record::Tag tag = Record::Tag::Message;
    qsizetype direct = 0;
    char *space = m_frames.directSpace(&direct);
    FrameError error;
    if (space && plain >= LargePayload && direct >= plain) {
        // The record lies inside one large payload: decrypt straight into the message.
        error = m_handshake->opener().openInto(m_in.begin(), clen, space, &tag);
        m_in.consume(total);
        ++m_counters.recordsIn;
        if (error == FrameError::NoError)
            error = m_frames.commitDirect(plain, this);
    } else {
        char *record = m_in.begin();
        error = m_handshake->opener().openInPlace(record, clen, &tag);
        if (error == FrameError::NoError) {
            ++m_counters.recordsIn;
            // Frames are only queued here (the Hello excepted), so nothing reads this
            // link again while its bytes are parsed.
            error = m_frames.append(record + Record::PlainOffset, plain, this);
        }
        if (m_state != State::Closed)
            m_in.consume(total);
    }
    if (error != FrameError::NoError) {
        reject(error);
        return false;
    }
    return m_state != State::Closed;
}

bool Link::frameReady(MessagePrivate *frame)
{
    QExplicitlySharedDataPointer<MessagePrivate> ref(frame, QAdoptSharedDataTag{});
    ++m_counters.framesIn;
    if (m_state == State::AwaitingHello) {
        helloReceived(frame);
        return m_state != State::Closed;
    }
    if (m_state != State::Established)
        return false;
    if ((frame->header.privateFlags & Wire::Control) && frame->header.target == Wire::ControlHello) {
        reject(FrameError::UnexpectedFrame);   // a second handshake on a live link
        return false;
    }
    m_ready.append(ref.take());
    return true;
}

void Link::helloReceived(MessagePrivate *frame)
{
    PeerIdentity peer;
    FrameError error = Handshake::parseHello(frame->header, frame->data(), &peer);
    if (error == FrameError::NoError)
        error = Handshake::admit(m_setup.scope, m_setup.localRole, m_setup.localMachine,
                                 m_setup.side, peer);
    if (error == FrameError::NoError) {
        m_peer = peer;
        error = m_handler->linkHello(this, peer);
    }
    if (error != FrameError::NoError) {
        reject(error);
        return;
    }
    if (m_state == State::Closed)
        return;
    m_state = State::Established;
    m_establishedAt = monotonicMs();
    if (m_deadline)
        m_deadline->stop();
    m_frames.setLimit(m_setup.maxMessageLength);
    // Told from deliver(), once this record is consumed: the handler may write (held
    // traffic) and wait on this link, which reads it again.
    m_announceEstablished = true;
}

} // namespace Plexus
