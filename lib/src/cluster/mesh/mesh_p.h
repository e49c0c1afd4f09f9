// SPDX-License-Identifier: MIT
#pragma once

#include "clustertransport_p.h"

#include <QtCore/qdatetime.h>
#include <QtCore/qhash.h>
#include <QtCore/qpointer.h>

QT_BEGIN_NAMESPACE
class QHostAddress;
class QTimer;
QT_END_NAMESPACE

namespace Plexus {

class Discovery;

/*
    The one-link-per-pair rule of the mesh, on its own so that it can be tested without a
    network (tst_meshrule). Both sides decide the same way, whoever hears of whom.
*/
namespace MeshRule {
// The canonical link of a pair is the one dialed by the smaller machine id.
constexpr bool isCanonical(quint64 self, quint64 other, bool weDialed) noexcept
{
    return (weDialed ? self : other) < (weDialed ? other : self);
}
// A link to \a other arrives while another one is open: the new one replaces the old unless
// the old is canonical and the new is not (so the pair ends with the canonical link, and a
// reconnect replaces a link not yet found dead).
constexpr bool replaces(bool oldCanonical, bool newCanonical) noexcept
{
    return newCanonical || !oldCanonical;
}
// This side heard of \a other: how long to wait before dialing it. The smaller id dials at
// once; the larger waits a grace period for the canonical dial and then dials itself, so
// that a link comes up even when only one side hears the other (one-way announcements).
constexpr int dialDelayMs(quint64 self, quint64 other, int announceIntervalMs) noexcept
{
    return self < other ? 0 : 2 * announceIntervalMs;
}
} // namespace MeshRule

/*
    The full mesh (docs/CLUSTER.md): a QTcpServer for the links other masters open, UDP
    discovery, and one admitted link per remote machine, with MeshRule deciding which. This
    transport is the handler of its own links: it admits them, answers and sends
    heartbeats, and hands the router only the messages (Router::machineMessage()). Dials
    that fail or links that are lost are retried with jittered exponential backoff.
*/
class MeshTransport final : public ClusterTransport, private LinkHandler
{
    Q_OBJECT
public:
    MeshTransport(const ClusterContext &context, QObject *parent = nullptr);
    ~MeshTransport() override;

    // ClusterTransport
    bool listen(const ClusterOptions &options, QString *error) override;
    quint16 port() const override { return m_port; }
    bool connectToPeer(const QUrl &url, QString *error) override;
    QList<PeerInfo> peers() const override;
    QList<const Link *> links() const override;
    void stop() override;

    // RemoteMachines
    Sent sendToMachine(quint64 machine, MessagePrivate *m) override;
    void sendToMachines(MessagePrivate *m, const QList<quint64> &machines,
                        QList<quint64> *full, QList<quint64> *lost) override;
    void refuse(quint64 machine, FrameError reason) override;
    qsizetype queuedBytes(quint64 machine) const override;

    // Applies a "tcp://[host][:port]" cluster URL to \a options (bind address, port).
    static bool applyUrl(const QUrl &url, ClusterOptions *options, QString *error);

    // Reconnect delay after \a attempts failures: min × 2^attempts capped at max, times a
    // random factor in [0.5, 1.5].
    static int backoffMs(int attempts, int minMs, int maxMs);

private:
    struct Dial {
        QString host;
        quint16 port = 0;
        quint64 machine = 0;        // expected (discovery) or learned (manual); 0: not yet
        QPointer<Link> link;        // the attempt in progress, or the admitted link
        qint64 startedAt = 0;
        qint64 nextAt = 0;
        int attempts = 0;
        bool resolving = false;     // a host name being looked up
    };
    // One machine: the link that carries its traffic, and the router's endpoint for it.
    struct Peer {
        quint64 machine = 0;
        QPointer<Link> link;        // admitted (established once endpoint != 0)
        QPointer<Link> replaced;    // the link it replaces, closed once it is established
        quint32 endpoint = 0;
        bool up = false;            // peerConnected() was emitted
        bool isMonitor = false;
        QDateTime since;
        double roundTripMs = -1;
    };

    // LinkHandler (the mesh's own links)
    FrameError linkHello(Link *link, const PeerIdentity &peer) override;
    void linkEstablished(Link *link) override;
    void linkFrame(Link *link, MessagePrivate *frame) override;
    void linkRejected(Link *link, FrameError reason) override;
    void linkClosed(Link *link) override;
    void linkWritten(Link *link) override;
    void linkReading(Link *link, bool begin) override;
    bool linkMayReadWhileWaiting(Link *link) override;

    LinkSetup linkSetup(Handshake::Side side) const;
    bool listenAsPeer(QString *error);
    void watchDiscovery();
    void startTimers();
    class Server;
    void onNewConnection(int fd);
    void adopt(Link *link);
    void onAnnounced(quint64 machine, const QString &host, quint16 port);
    void tick();
    void startDial(Dial &dial);
    void connectDial(Dial &dial, const QHostAddress &address);
    void dialFailed(Dial &dial);
    void heartbeat();
    void control(Link *link, const MessagePrivate &m);
    bool isConnected(quint64 machine) const;
    Peer *peerOf(const Link *link);
    Dial *dialFor(const Link *link);
    PeerInfo infoOf(const Peer &peer) const;

    ClusterContext m_context;
    Router *m_router;
    ClusterOptions m_options;
    quint16 m_port = 0;
    Server *m_server = nullptr;
    Discovery *m_discovery = nullptr;
    QTimer *m_tickTimer = nullptr;
    QTimer *m_heartbeatTimer = nullptr;
    QList<Dial> m_dials;
    QHash<quint64, Peer> m_peers;            // by machine id
    QHash<quint64, quint16> m_announcedPorts;
    QList<QPointer<Link>> m_links;           // every link of the mesh, open or closing
    QList<QPointer<Link>> m_handshaking;     // accepted links not yet admitted
};

} // namespace Plexus
