// SPDX-License-Identifier: MIT
#pragma once

#include <plexus/plexusglobal.h>

#include <QtCore/qmetatype.h>
#include <QtCore/qobjectdefs.h>
#include <QtCore/qshareddata.h>
#include <QtCore/qstring.h>

QT_BEGIN_NAMESPACE
class QDateTime;
class QDebug;
QT_END_NAMESPACE

namespace Plexus {

class PeerInfoPrivate;

/*!
    \class Plexus::PeerInfo
    A snapshot of one machine of the cluster as this master sees it: who it is, where, and
    the traffic and round-trip time of the link to it.

    PeerInfo is implicitly shared: copying one is cheap (a reference count), and a setter
    called on a copy detaches it, so the other copies keep their values.

    \code
    for (const Plexus::PeerInfo &p : node.peers())
        qInfo() << p.address() << p.version() << p.roundTripMs() << "ms";   // "tcp://192.0.2.7:7400"
    \endcode
*/
class PLEXUS_EXPORT PeerInfo
{
    Q_GADGET
    Q_MOC_INCLUDE(<QtCore/qdatetime.h>)
    Q_PROPERTY(quint64 machineId READ machineId WRITE setMachineId)
    Q_PROPERTY(QString address READ address WRITE setAddress)
    Q_PROPERTY(QString version READ version WRITE setVersion)
    Q_PROPERTY(bool isMonitor READ isMonitor WRITE setMonitor)
    Q_PROPERTY(QDateTime connectedSince READ connectedSince WRITE setConnectedSince)
    Q_PROPERTY(double roundTripMs READ roundTripMs WRITE setRoundTripMs)
public:
    /*! No machine: every field at its default (isValid() is false, roundTripMs() is -1). */
    PeerInfo();
    /*! Shares \a other: nothing is copied until one of the two is changed. */
    PeerInfo(const PeerInfo &other);
    /*! Takes over \a other, which may then only be assigned to or destroyed. */
    PeerInfo(PeerInfo &&other) noexcept;
    /*! Shares \a other; releases what this PeerInfo held. */
    PeerInfo &operator=(const PeerInfo &other);
    QT_MOVE_ASSIGNMENT_OPERATOR_IMPL_VIA_PURE_SWAP(PeerInfo)
    /*! Releases this copy. */
    ~PeerInfo();

    /*! Swaps this PeerInfo with \a other; never fails. */
    void swap(PeerInfo &other) noexcept { d.swap(other.d); }

    /*! The machine's id (Sender::machineId()); 0 for no machine. */
    quint64 machineId() const noexcept;
    /*! Sets the machine's id to \a machineId. */
    void setMachineId(quint64 machineId);

    /*! Where the machine is, as a URL of its cluster engine: \c "tcp://192.0.2.7:7400" for
        the mesh (its cluster port; without one when it connected to us and never
        announced). */
    QString address() const;
    /*! Sets where the machine is to \a address, a URL of its cluster engine. */
    void setAddress(const QString &address);

    /*! Its Plexus version. */
    QString version() const;
    /*! Sets its Plexus version to \a version. */
    void setVersion(const QString &version);

    /*! True for a monitor (role Peer), false for a master. */
    bool isMonitor() const noexcept;
    /*! Marks the machine as a monitor (\a monitor true) or a master. */
    void setMonitor(bool monitor);

    /*! When the current link's handshake completed. */
    QDateTime connectedSince() const;
    /*! Sets when the current link's handshake completed to \a connectedSince. */
    void setConnectedSince(const QDateTime &connectedSince);

    /*! Frames received on the link. */
    quint64 messagesIn() const noexcept;
    /*! Sets the frames received on the link to \a messagesIn. */
    void setMessagesIn(quint64 messagesIn);

    /*! Frames sent on the link. */
    quint64 messagesOut() const noexcept;
    /*! Sets the frames sent on the link to \a messagesOut. */
    void setMessagesOut(quint64 messagesOut);

    /*! Bytes received on the wire, records and overhead included. */
    quint64 bytesIn() const noexcept;
    /*! Sets the bytes received on the wire to \a bytesIn. */
    void setBytesIn(quint64 bytesIn);

    /*! Bytes sent on the wire, records and overhead included. */
    quint64 bytesOut() const noexcept;
    /*! Sets the bytes sent on the wire to \a bytesOut. */
    void setBytesOut(quint64 bytesOut);

    /*! The round-trip time of the link in milliseconds, from the heartbeats; -1 before the
        first answer. */
    double roundTripMs() const noexcept;
    /*! Sets the round-trip time of the link to \a roundTripMs milliseconds (-1: unknown). */
    void setRoundTripMs(double roundTripMs);

    /*! False for a default-constructed PeerInfo (no machine: machineId() is 0). */
    bool isValid() const noexcept;

    /*! True if \a a and \a b hold the same values in every field. */
    friend bool operator==(const PeerInfo &a, const PeerInfo &b) noexcept
    {
        return a.equals(b);
    }
    /*! True if \a a and \a b differ in at least one field. */
    friend bool operator!=(const PeerInfo &a, const PeerInfo &b) noexcept
    {
        return !a.equals(b);
    }

private:
    bool equals(const PeerInfo &other) const noexcept;

    QSharedDataPointer<PeerInfoPrivate> d;
};

/*! Writes \a peer (machine id, address, version, round trip) to \a debug. */
PLEXUS_EXPORT QDebug operator<<(QDebug debug, const PeerInfo &peer);

} // namespace Plexus

Q_DECLARE_SHARED(Plexus::PeerInfo)
Q_DECLARE_METATYPE(Plexus::PeerInfo)
