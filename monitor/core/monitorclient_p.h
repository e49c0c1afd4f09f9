// SPDX-License-Identifier: MIT
#pragma once

// Internal to MonitorClient: its private part, shared by monitorclient.cpp (the client's
// life: start, stop, link events, control actions, problems and status) and
// masterpolling.cpp (what it asks every master: snapshots, the trace subscription, and
// the masters named in the answers).

#include "followedpeers.h"
#include "monitorclient.h"

#include <plexus/node.h>
#include <plexus/reply.h>

#include <QtCore/qdatetime.h>
#include <QtCore/qelapsedtimer.h>
#include <QtCore/qhash.h>
#include <QtCore/qpointer.h>
#include <QtCore/qtimer.h>

#include <functional>
#include <memory>

namespace PlexusMonitor {

namespace Internal {

inline constexpr int TraceRetryMs = 5000;          // after a subscription ended or was refused
inline constexpr qint64 ForgetAfterMs = 60000;     // machines and followed addresses unnamed
inline constexpr qint64 ProblemRepeatMs = 60000;   // the same problem, reported again
// How long stop() lets the links drain (the trace stops) before the Node goes; it waits
// only while a socket's buffer is full.
inline constexpr int StopFlushMs = 200;

inline qint64 now()
{
    return QDateTime::currentMSecsSinceEpoch();
}

QString replyErrorText(Plexus::Reply::Error error);

// Emits at most once per interval: at once if the last emission is old enough, else when
// the interval is over (KDToolBox's KDSignalThrottler, leading edge).
class Throttle
{
public:
    Throttle(QObject *parent, std::function<void()> fire) : m_fire(std::move(fire))
    {
        m_timer.setSingleShot(true);
        m_timer.callOnTimeout(parent, [this] { emitNow(); });
    }
    void setInterval(int msec) { m_interval = qMax(0, msec); }
    void trigger()
    {
        if (m_timer.isActive())
            return;
        const qint64 since = m_last.isValid() ? m_last.elapsed() : m_interval;
        if (since >= m_interval)
            emitNow();
        else
            m_timer.start(int(m_interval - since));
    }
    void cancel() { m_timer.stop(); }

private:
    void emitNow()
    {
        m_last.start();
        m_fire();
    }
    QTimer m_timer;
    QElapsedTimer m_last;
    std::function<void()> m_fire;
    int m_interval = 250;
};

} // namespace Internal

struct MasterLink
{
    Plexus::PeerInfo info;
    QPointer<Plexus::Reply> snapshot;
    QPointer<Plexus::Reply> trace;
    qint64 traceRetryAt = 0;
    bool appeared = false;   // machineAppeared() was emitted
};

class MonitorClientPrivate
{
public:
    explicit MonitorClientPrivate(MonitorClient *q)
        : q(q),
          stateThrottle(q, [q] { Q_EMIT q->stateChanged(); }),
          traceThrottle(q, [q] { Q_EMIT q->traceReceived(); })
    { }

    bool fail(MonitorClient::Error e, const QString &text)
    {
        error = e;
        errorString = text;
        node.reset();
        return false;
    }

    // monitorclient.cpp
    void onPeerConnected(const Plexus::PeerInfo &peer);
    void onPeerDisconnected(const Plexus::PeerInfo &peer);
    void onSecurityEvent(Plexus::FrameError reason, const QString &peer);
    void sendControl(quint64 machine, const QByteArray &request);
    void report(const QString &key, const QString &text);
    void changed();
    void updateStatus();
    static QString brokerServersOf(const ClientOptions &options);

    // masterpolling.cpp
    void poll();
    void requestSnapshot(quint64 machine, MasterLink &link);
    void onSnapshot(quint64 machine, const Plexus::Message &answer);
    void subscribeTrace(quint64 machine, MasterLink &link);
    void onTraceBatch(quint64 machine, const Plexus::Message &answer);
    void stopTraces();
    void followPeers(const MachineSnapshot &snapshot);
    Plexus::Reply *sendToMaster(quint64 machine, quint32 opcode, const QByteArray &data, int timeout);

    MonitorClient *q;
    ClientOptions options;
    std::unique_ptr<Plexus::Node> node;
    ClusterState state;
    QHash<quint64, MasterLink> masters;
    QHash<QString, qint64> reported;   // problem key -> when last reported
    Internal::FollowedPeers followed;  // addresses dialed from a peer list
    QTimer pollTimer;
    Internal::Throttle stateThrottle;
    Internal::Throttle traceThrottle;
    QString status;
    MonitorClient::Error error = MonitorClient::NoError;
    QString errorString;
    bool paused = false;
};

} // namespace PlexusMonitor
