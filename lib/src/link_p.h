// SPDX-License-Identifier: MIT
#pragma once

#include "frame_p.h"

#include <QtCore/qobject.h>
#include <QtCore/qlist.h>

QT_BEGIN_NAMESPACE
class QSocketNotifier;
QT_END_NAMESPACE

namespace Plexus {

class Router;

/*
    One connection to another process, whatever carries it. The router only ever talks to
    a Link: it hands it sealed frames to write and receives sealed frames from it. Backends
    (link_unix.cpp for local stream sockets; the cluster's TCP backend later) map their
    transport errors to FrameError / close in one place.
*/
class Link : public QObject
{
    Q_OBJECT
public:
    enum class PeerRole : quint8 { Unknown = 0, Master = 1, Worker = 2, Peer = 3 };

    struct PeerInfo {
        qint64 pid = 0;
        int slot = -1;
        PeerRole role = PeerRole::Unknown;
        bool isExec = false;    // an exec'd program: op-codes only, no function pointers
    };

    explicit Link(Router *router, QObject *parent = nullptr);
    ~Link() override;

    quint64 id() const noexcept { return m_id; }
    const PeerInfo &peer() const noexcept { return m_peer; }
    void setPeer(const PeerInfo &peer) { m_peer = peer; }
    bool isEstablished() const noexcept { return m_established; }
    // The peer proved the key: lift the handshake size limit.
    void setEstablished();
    bool isOpen() const noexcept { return !m_closed; }

    // Queues a sealed frame (shared buffer; one sealed broadcast goes to many links). When
    // it goes out is the router's choice (Router::linkWritten): at once, or at the end of
    // the batch of work in progress.
    virtual void write(const QByteArray &sealedFrame) = 0;
    // Writes what is queued now, without blocking.
    virtual void flushNow() = 0;
    virtual qsizetype queuedBytes() const noexcept = 0;
    // Writes what is queued, blocking up to timeoutMs (shutdown only).
    virtual bool flushBlocking(int timeoutMs) = 0;
    // Backpressure: writes until at most \a lowWater bytes are queued, reading (and so
    // handing frames to the router) while it waits, so two peers that both wait cannot
    // deadlock. False if the link closed or \a timeoutMs passed.
    virtual bool drainBlocking(qsizetype lowWater, int timeoutMs) = 0;
    // Closes the transport; the router is told through linkClosed() from the event loop.
    virtual void close() = 0;
    virtual QString description() const = 0;

    bool dirty = false;    // queued writes waiting for the router's uncork
    quint64 bytesIn = 0;
    quint64 bytesOut = 0;
    quint64 rejected = 0;
    qint64 lastSecurityLog = 0;

protected:
    virtual void onEstablished() { }
    Router *m_router;
    PeerInfo m_peer;
    bool m_established = false;
    bool m_closed = false;

private:
    quint64 m_id;
};

/*
    A Link over a connected AF_UNIX stream socket, driven by QSocketNotifiers on the raw
    descriptor: reads go straight into the frame reader (large frames are read directly
    into their final buffer), writes are batched with writev() once per event-loop pass.
*/
class UnixLink final : public Link
{
    Q_OBJECT
public:
    // Takes ownership of \a fd (connected, any blocking mode). Writes \a preamble first.
    UnixLink(Router *router, int fd, const QByteArray &preamble, qsizetype maxLength,
             QObject *parent = nullptr);
    ~UnixLink() override;

    void write(const QByteArray &sealedFrame) override;
    void flushNow() override { flush(); }
    qsizetype queuedBytes() const noexcept override { return m_queued; }
    bool flushBlocking(int timeoutMs) override;
    bool drainBlocking(qsizetype lowWater, int timeoutMs) override;
    void close() override;
    QString description() const override;

protected:
    void onEstablished() override { m_reader.setHandshakeMode(false); }

private:
    void onReadable();
    void flush();
    void fail(FrameError error);

    int m_fd;
    QSocketNotifier *m_readNotifier = nullptr;
    QSocketNotifier *m_writeNotifier = nullptr;
    FrameReader m_reader;
    QList<QByteArray> m_queue;
    qsizetype m_queueHead = 0;      // first unsent buffer
    qsizetype m_headOffset = 0;     // bytes of it already sent
    qsizetype m_queued = 0;
    bool m_closeNotified = false;
};

} // namespace Plexus
