// SPDX-License-Identifier: MIT
#pragma once

#include <plexus/plexusglobal.h>

#include <QtCore/qdatetime.h>
#include <QtCore/qmetatype.h>
#include <QtCore/qobjectdefs.h>
#include <QtCore/qstring.h>

QT_BEGIN_NAMESPACE
class QDebug;
QT_END_NAMESPACE

namespace Plexus {

/*!
    \class Plexus::PeerInfo
    A snapshot of one machine of the cluster as this master sees it: who it is, where, and
    the traffic and round-trip time of the link to it.

    \code
    for (const Plexus::PeerInfo &p : node.peers())
        qInfo() << p.address << p.version << p.roundTripMs << "ms";   // "tcp://192.0.2.7:7400"
    \endcode
*/
class PLEXUS_EXPORT PeerInfo
{
    Q_GADGET
    Q_PROPERTY(quint64 machineId MEMBER machineId)
    Q_PROPERTY(QString address MEMBER address)
    Q_PROPERTY(QString version MEMBER version)
    Q_PROPERTY(bool isMonitor MEMBER isMonitor)
    Q_PROPERTY(QDateTime connectedSince MEMBER connectedSince)
    Q_PROPERTY(double roundTripMs MEMBER roundTripMs)
public:
    quint64 machineId = 0;        //!< the machine's id (Sender::machineId())
    /*! Where the machine is, as a URL of its cluster engine: \c "tcp://192.0.2.7:7400" for
        the mesh (its cluster port; without one when it connected to us and never
        announced). */
    QString address;
    QString version;              //!< its Plexus version
    bool isMonitor = false;       //!< a monitor (role Peer), not a master
    QDateTime connectedSince;     //!< when the current link's handshake completed
    quint64 messagesIn = 0;       //!< frames received on the link
    quint64 messagesOut = 0;      //!< frames sent on the link
    quint64 bytesIn = 0;          //!< received on the wire, records and overhead included
    quint64 bytesOut = 0;         //!< sent on the wire, records and overhead included
    double roundTripMs = -1;      //!< from the heartbeats; -1 before the first answer

    /*! False for a default-constructed PeerInfo (no machine). */
    bool isValid() const noexcept { return machineId != 0; }
};

/*! Writes \a peer (machine id, address, port, version, round trip) to \a debug. */
PLEXUS_EXPORT QDebug operator<<(QDebug debug, const PeerInfo &peer);

} // namespace Plexus

Q_DECLARE_METATYPE(Plexus::PeerInfo)
