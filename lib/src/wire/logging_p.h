// SPDX-License-Identifier: MIT
#pragma once

#include <plexus/plexusglobal.h>

#include <QtCore/qhash.h>
#include <QtCore/qloggingcategory.h>
#include <QtCore/qmutex.h>
#include <QtCore/qstring.h>

#include <atomic>
#include <exception>

namespace Plexus {
// Every category defaults to warnings; QT_LOGGING_RULES="plexus.*.info=true" shows more.
Q_DECLARE_LOGGING_CATEGORY(lcIpc)
Q_DECLARE_LOGGING_CATEGORY(lcCluster)
Q_DECLARE_LOGGING_CATEGORY(lcSecurity)
Q_DECLARE_LOGGING_CATEGORY(lcWorker)

/*
    The limiter every plexus.security line goes through (docs/SECURITY.md section 6): at
    most one line per peer per PeerIntervalMs and at most one per ProcessIntervalMs for the
    whole process. What is suppressed is counted and reported with the next line that gets
    through, so a flood of bad connections costs a few lines, not one per connection.
    Thread-safe; uses the monotonic clock.
*/
class SecurityLog
{
public:
    static constexpr qint64 PeerIntervalMs = 5000;
    static constexpr qint64 ProcessIntervalMs = 1000;
    static constexpr int MaxPeers = 256;

    // Logs "\a peer: \a text" as a warning unless the limiter holds it back.
    static void warn(const QString &peer, const QString &text);
    // Lines held back so far (for the tests).
    static quint64 suppressed();
};

// Runs application code (a handler, a callback) so that an exception it throws is logged
// instead of unwinding through Plexus and the event loop.
template <typename Fn>
void runUserCode(const char *what, Fn &&fn) noexcept
{
    try {
        fn();
    } catch (const std::exception &e) {
        qCWarning(lcIpc, "%s threw an exception: %s", what, e.what());
    } catch (...) {
        qCWarning(lcIpc, "%s threw an exception", what);
    }
}

// True the first time it is called with \a flag (which it then sets): for the warnings a
// developer should read once, not once per call.
bool firstTime(std::atomic<bool> &flag) noexcept;
} // namespace Plexus
