// SPDX-License-Identifier: MIT
#pragma once

// Internal to MonitorClient: the masters' addresses it dialed because another master's
// peer list named them (ClientOptions::followPeers).

#include <QtCore/qhash.h>
#include <QtCore/qstring.h>

namespace PlexusMonitor::Internal {

/*!
    The addresses dialed from peer lists, keyed by address rather than by machine id: a
    master draws a new machine id every time it starts, while its address stays, and the
    Node keeps redialing an address it was given (Node::connectToPeer() reconnects after
    a loss, and ignores an address it already dials). An address that no peer list has
    named for a while is forgotten, so that the bound of MaxEntries only ever counts the
    addresses of the cluster of the last minutes, however long the monitor runs; if it is
    named again it is dialed again, which costs the Node nothing.
*/
class FollowedPeers
{
public:
    static constexpr int MaxEntries = 256;

    /*! Notes that a peer list named \a host:\a port at \a now. Returns true if the
        address is new (and there is room for it): the caller dials it. */
    bool mention(const QString &host, quint16 port, qint64 now)
    {
        const QString key = host.toLower() + u':' + QString::number(port);
        auto it = m_lastMentioned.find(key);
        if (it != m_lastMentioned.end()) {
            *it = qMax(*it, now);
            return false;
        }
        if (m_lastMentioned.size() >= MaxEntries)
            return false;
        m_lastMentioned.insert(key, now);
        return true;
    }

    /*! Forgets the addresses not named since \a olderThanMs before \a now. */
    void prune(qint64 now, qint64 olderThanMs)
    {
        m_lastMentioned.removeIf([&](const auto &it) { return it.value() < now - olderThanMs; });
    }

    int size() const { return int(m_lastMentioned.size()); }
    void clear() { m_lastMentioned.clear(); }

private:
    QHash<QString, qint64> m_lastMentioned;   // "host:port" -> when last named
};

} // namespace PlexusMonitor::Internal
