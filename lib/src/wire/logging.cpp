// SPDX-License-Identifier: MIT
#include "logging_p.h"

#include <QtCore/qelapsedtimer.h>

#include <atomic>

namespace Plexus {
Q_LOGGING_CATEGORY(lcIpc, "plexus.ipc", QtWarningMsg)
Q_LOGGING_CATEGORY(lcCluster, "plexus.cluster", QtWarningMsg)
Q_LOGGING_CATEGORY(lcSecurity, "plexus.security", QtWarningMsg)
Q_LOGGING_CATEGORY(lcWorker, "plexus.worker", QtWarningMsg)

namespace {
// Largest buffer a QByteArray can hold, less the frame overhead and some slack.
constexpr qsizetype HardMaxMessageLength = qsizetype(1) << 30;
std::atomic<qsizetype> g_maxMessageLength{qsizetype(PLEXUS_DEFAULT_MAX_MESSAGE_LENGTH)};

struct SecurityLogState
{
    QMutex lock;
    QElapsedTimer clock;
    qint64 lastLine = -SecurityLog::ProcessIntervalMs;
    QHash<QString, qint64> lastByPeer;
    quint64 heldBack = 0;        // since the last line that got through
    std::atomic<quint64> suppressedTotal{0};
};

SecurityLogState &securityLogState()
{
    static SecurityLogState state;
    return state;
}
} // namespace

void SecurityLog::warn(const QString &peer, const QString &text)
{
    if (!lcSecurity().isWarningEnabled())
        return;
    SecurityLogState &s = securityLogState();
    quint64 heldBack = 0;
    {
        QMutexLocker locker(&s.lock);
        if (!s.clock.isValid())
            s.clock.start();
        const qint64 now = s.clock.elapsed();
        const auto it = s.lastByPeer.constFind(peer);
        if (now - s.lastLine < ProcessIntervalMs
            || (it != s.lastByPeer.cend() && now - *it < PeerIntervalMs)) {
            ++s.heldBack;
            s.suppressedTotal.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        if (s.lastByPeer.size() >= MaxPeers) {
            // Forget peers that have been quiet for a whole interval; if none, start over.
            for (auto i = s.lastByPeer.begin(); i != s.lastByPeer.end();)
                i = now - *i >= PeerIntervalMs ? s.lastByPeer.erase(i) : std::next(i);
            if (s.lastByPeer.size() >= MaxPeers)
                s.lastByPeer.clear();
        }
        s.lastByPeer.insert(peer, now);
        s.lastLine = now;
        heldBack = s.heldBack;
        s.heldBack = 0;
    }
    if (heldBack)
        qCWarning(lcSecurity).noquote() << peer << ':' << text << "(" << heldBack
                                        << "similar lines held back)";
    else
        qCWarning(lcSecurity).noquote() << peer << ':' << text;
}

quint64 SecurityLog::suppressed()
{
    return securityLogState().suppressedTotal.load(std::memory_order_relaxed);
}

bool firstTime(std::atomic<bool> &flag) noexcept
{
    return !flag.exchange(true, std::memory_order_relaxed);
}

qsizetype maxMessageLength() noexcept
{
    return g_maxMessageLength.load(std::memory_order_relaxed);
}

void setMaxMessageLength(qsizetype length) noexcept
{
    if (length >= 1)
        g_maxMessageLength.store(qMin(length, HardMaxMessageLength), std::memory_order_relaxed);
}

const char *version() noexcept
{
    return PLEXUS_VERSION_STRING;
}

} // namespace Plexus
