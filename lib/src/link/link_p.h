// SPDX-License-Identifier: MIT
#pragma once

#include "frame_p.h"
#include "handshake_p.h"

#include <QtCore/qobject.h>

#include <memory>

QT_BEGIN_NAMESPACE
class QDeadlineTimer;
class QTimer;
QT_END_NAMESPACE

namespace Plexus {

class Link;
class MessagePrivate;

// Traffic of one link, counted on the Node's thread by the link itself.
struct LinkCounters
{
    quint64 framesIn = 0;
    quint64 framesOut = 0;
    quint64 bytesIn = 0;       // on the wire, records and handshake included
    quint64 bytesOut = 0;
    quint64 recordsIn = 0;
    quint64 recordsOut = 0;
};

/*
    What a Link reports to whoever owns it (the router in a running Node, a test in
    tst_link). Every call comes from the Node's thread; linkClosed() from the event loop,
    never from inside a call into the link.
*/
class LinkHandler
{
public:
    virtual ~LinkHandler() = default;
    // The peer's Hello passed the handshake's own rules: admit it (NoError) or say why not.
    virtual FrameError linkHello(Link *link, const PeerIdentity &peer) = 0;
    // Admitted: the link carries traffic from now on.
    virtual void linkEstablished(Link *link) = 0;
    // An authenticated frame after the Hello. Takes the reference to \a frame.
    virtual void linkFrame(Link *link, MessagePrivate *frame) = 0;
    // The link is being closed because of \a reason (counted and logged by the handler).
    virtual void linkRejected(Link *link, FrameError reason) = 0;
    virtual void linkClosed(Link *link) = 0;
    // Frames were written: flush now or when the current batch of work ends.
    virtual void linkWritten(Link *link) = 0;
    // The link starts (\a begin) or ends handling what it read: replies written meanwhile
    // can leave together when it ends.
    virtual void linkReading(Link *link, bool begin) { Q_UNUSED(link); Q_UNUSED(begin); }
    // Asked on every turn of waitForDrain(): may the waiting link read more now?
    virtual bool linkMayReadWhileWaiting(Link *link) { Q_UNUSED(link); return true; }
};

struct LinkSetup
{
    LinkBackend backend = LinkBackend::Descriptor;
    Handshake::Side side = Handshake::Side::Connector;
    Handshake::Scope scope = Handshake::Scope::Local;
    PeerRole localRole = PeerRole::Master;
    bool localIsExec = false;
    // Who this side says it is in its Hello.
    quint64 localMachine = 0;
    quint32 localPid = 0;
    qint32 localSlot = -1;
    CryptoKey psk;
    qsizetype maxMessageLength = 0;
    int handshakeTimeoutMs = 5000;
    // After handling input, keep looking for more this long before blocking (µs; 0: never).
    int busyPollUs = 20;
};

// A growable byte buffer with a consumed head (input and output queues of a link).
class LinkBuffer
{
public:
    LinkBuffer() = default;
    ~LinkBuffer() { std::free(m_data); }
    LinkBuffer(const LinkBuffer &) = delete;
    LinkBuffer &operator=(const LinkBuffer &) = delete;

    char *begin() noexcept { return m_data + m_head; }
    char *at(qsizetype offset) noexcept { return m_data + offset; }
    char *end() noexcept { return m_data + m_size; }
    qsizetype head() const noexcept { return m_head; }
    qsizetype size() const noexcept { return m_size; }
    qsizetype pending() const noexcept { return m_size - m_head; }
    qsizetype freeSpace() const noexcept { return m_capacity - m_size; }
    // Makes room for \a extra more bytes at the end. Offsets before head() may move: a
    // caller that holds an offset into the buffer passes it as \a keepFrom (or -1).
    void reserve(qsizetype extra, qsizetype *keepFrom = nullptr);
    void grow(qsizetype n) noexcept { m_size += n; }
    void consume(qsizetype n) noexcept;
    void clear() noexcept { m_head = m_size = 0; }
    // Gives memory back after a burst, once nothing is pending.
    void shrinkIfIdle() noexcept;

private:
    char *m_data = nullptr;
    qsizetype m_capacity = 0;
    qsizetype m_head = 0;
    qsizetype m_size = 0;
};

/*
    One connection to another process, whatever carries it (docs/ARCHITECTURE.md). The base
    class owns everything above the bytes: the handshake and its deadline, the record
    streams, the frame reader, the Hello, and the rule that the first bad byte closes the
    link. A backend (link_unix.cpp; the cluster's TCP backend) only moves bytes: it
    implements the transport*() functions and calls readyRead(), readyWrite() and
    transportLost() when its transport says so. Nothing here needs a file descriptor.
*/
class Link : public QObject, private FrameReader::Sink
{
    Q_OBJECT
public:
    enum class State { Handshaking, AwaitingHello, Established, Closed };

    Link(LinkHandler *handler, const LinkSetup &setup, QObject *parent = nullptr);
    ~Link() override;

    quint64 id() const noexcept { return m_id; }
    State state() const noexcept { return m_state; }
    bool isEstablished() const noexcept { return m_state == State::Established; }
    bool isOpen() const noexcept { return m_state != State::Closed; }
    const PeerIdentity &peer() const noexcept { return m_peer; }
    const LinkSetup &setup() const noexcept { return m_setup; }
    const LinkCounters &counters() const noexcept { return m_counters; }
    // Monotonic ms (QDeadlineTimer clock) when the link was established, 0 before.
    qint64 establishedAt() const noexcept { return m_establishedAt; }
    // Monotonic ms of the last bytes received (or of the link's creation): heartbeats.
    qint64 lastInputAt() const noexcept { return m_lastInputAt; }
    // After close(): the state it was closed in, and the reason when it was rejected.
    State closedIn() const noexcept { return m_closedIn; }
    FrameError rejectedFor() const noexcept { return m_rejectedFor; }
    // The transport ended from the other side (end of stream, reset), not by close().
    bool lostByTransport() const noexcept { return m_lostByTransport; }

    // The router's endpoint for this link once admitted (0: none), and whether the router
    // has it on its list of links to flush when the current batch ends.
    quint32 endpoint = 0;
    bool dirty = false;

    // Starts the handshake and its deadline; the backend is connected by now.
    void start();
    // Queues \a frame (header and payload) on the outgoing stream; it is sealed into a
    // record at the next flush(). Frames written before the handshake ends wait for it.
    void write(const MessagePrivate &frame);
    void writeControl(quint32 code, QByteArrayView payload);
    // Seals what was written and hands it to the transport, without blocking.
    void flush();
    // Bytes written and not yet accepted by the transport.
    qsizetype queuedBytes() const noexcept;
    // Backpressure: flushes until at most \a lowWater bytes are queued, reading meanwhile
    // when \a mayRead and the handler agrees at that turn (so two peers that both wait
    // cannot deadlock, and what is read meanwhile stays bounded). False if the link closed
    // or \a timeoutMs passed.
    bool waitForDrain(qsizetype lowWater, int timeoutMs, bool mayRead);
    bool flushBlocking(int timeoutMs) { return waitForDrain(0, timeoutMs, false); }
    // Blocks (reading and writing) until the handshake and the Hello are through. False if
    // the link closed or \a timeoutMs passed.
    bool waitForEstablished(int timeoutMs);
    // Ends the stream with a final record, flushes (bounded) and closes.
    void closeGracefully(int timeoutMs);
    // Closes at once; what is queued is dropped. The handler hears linkClosed() later.
    void close();
    // Reports \a reason to the handler and closes.
    void reject(FrameError reason);
    // Closes a link that has not finished its handshake, to make room for a new one. A peer
    // that already went away without sending a byte is churn, not an attack: such a link is
    // closed as if its transport had ended (an abandoned connection); any other is rejected
    // with HandshakeTimeout.
    void shed();

    virtual QString description() const = 0;
    // A local peer's pid as the kernel reports it (SO_PEERCRED), 0 if unknown or remote.
    virtual qint64 peerCredentialPid() const noexcept { return 0; }
    // The transport was connected at some point (a dial that failed to connect: false).
    virtual bool wasConnected() const noexcept { return true; }

protected:
    // ---- the backend ------------------------------------------------------------------
    // Reads up to \a max bytes: > 0 read, 0 nothing available now, -1 end of stream/error.
    virtual qint64 transportRead(char *data, qint64 max) = 0;
    // Writes up to \a size bytes: >= 0 accepted, -1 the transport failed.
    virtual qint64 transportWrite(const char *data, qint64 size) = 0;
    // Bytes the transport buffers itself (a QTcpSocket's write buffer).
    virtual qint64 transportQueued() const { return 0; }
    // True if the peer has closed its side and nothing is left to read.
    virtual bool transportPeerClosed() const { return false; }
    virtual void transportClose() = 0;
    // Asks for readyWrite() when the transport can take more.
    virtual void setWriteNotification(bool enabled) = 0;
    // Blocks up to \a timeoutMs until the transport is writable (or readable, if
    // \a forRead); sets *readable. False on a transport error.
    virtual bool transportWait(bool forRead, int timeoutMs, bool *readable) = 0;

    // What a backend calls when input is there: readyRead(), then an adaptive busy poll,
    // within a budget of time per wake-up (link.cpp, BusyPollSliceUs).
    void inputReady();
    // Reads and handles what the transport has, up to ReadRounds chunks; with \a until,
    // stops early once it has expired (what is left waits for the next notification).
    void readyRead(const QDeadlineTimer *until = nullptr);
    void readyWrite();
    void transportLost();

private:
    bool frameReady(MessagePrivate *frame) override;
    void process();
    void deliver();
    bool processHandshake();
    bool processRecord();
    void helloReceived(MessagePrivate *frame);
    void appendPlain(const char *data, qsizetype size);
    void sealOpenRecord();
    void sealLarge(const char *data, qsizetype size);
    void writeOut();
    void finishHandshake();

    LinkHandler *m_handler;
    LinkSetup m_setup;
    quint64 m_id;
    State m_state = State::Handshaking;
    State m_closedIn = State::Handshaking;
    FrameError m_rejectedFor = FrameError::NoError;
    bool m_lostByTransport = false;
    PeerIdentity m_peer;
    LinkCounters m_counters;
    qint64 m_establishedAt = 0;
    qint64 m_lastInputAt = 0;

    std::unique_ptr<Handshake> m_handshake;
    FrameReader m_frames;
    LinkBuffer m_in;
    LinkBuffer m_out;
    qsizetype m_openRecord = -1;   // offset in m_out of the record being filled, or -1
    QByteArray m_early;            // plaintext written before this side may seal
    // Frames parsed and not yet handed to the handler. A handler that waits for this link
    // to drain reads it again (nested); the queue keeps delivery in order regardless.
    QList<MessagePrivate *> m_ready;
    qsizetype m_readyHead = 0;
    QTimer *m_deadline = nullptr;
    bool m_finalSent = false;
    bool m_announceEstablished = false;
    // Busy poll: consecutive spins that found nothing, and reads left before trying again.
    int m_spinMisses = 0;
    int m_spinPause = 0;
    bool m_writeArmed = false;
    bool m_closeNotified = false;
};

} // namespace Plexus
