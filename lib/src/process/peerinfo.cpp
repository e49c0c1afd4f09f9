// SPDX-License-Identifier: MIT
#include <plexus/peerinfo.h>

#include <QtCore/qdatetime.h>
#include <QtCore/qdebug.h>

namespace Plexus {

// The fields of a PeerInfo, shared between its copies. Not installed: a field added here
// keeps the size and layout of PeerInfo.
class PeerInfoPrivate : public QSharedData
{
public:
    quint64 machineId = 0;
    QString address;
    QString version;
    bool isMonitor = false;
    QDateTime connectedSince;
    quint64 messagesIn = 0;
    quint64 messagesOut = 0;
    quint64 bytesIn = 0;
    quint64 bytesOut = 0;
    double roundTripMs = -1;
};

namespace {

// One default value shared by every default-constructed PeerInfo: making an invalid one
// allocates nothing. It holds a reference of its own and is never freed; a setter detaches.
PeerInfoPrivate *sharedDefault()
{
    static PeerInfoPrivate *const shared = [] {
        auto *d = new PeerInfoPrivate;
        d->ref.ref();
        return d;
    }();
    return shared;
}

} // namespace

PeerInfo::PeerInfo() : d(sharedDefault()) { }
PeerInfo::PeerInfo(const PeerInfo &other) = default;
PeerInfo::PeerInfo(PeerInfo &&other) noexcept = default;
PeerInfo &PeerInfo::operator=(const PeerInfo &other) = default;
PeerInfo::~PeerInfo() = default;

quint64 PeerInfo::machineId() const noexcept { return d->machineId; }
void PeerInfo::setMachineId(quint64 machineId) { d->machineId = machineId; }

QString PeerInfo::address() const { return d->address; }
void PeerInfo::setAddress(const QString &address) { d->address = address; }

QString PeerInfo::version() const { return d->version; }
void PeerInfo::setVersion(const QString &version) { d->version = version; }

bool PeerInfo::isMonitor() const noexcept { return d->isMonitor; }
void PeerInfo::setMonitor(bool monitor) { d->isMonitor = monitor; }

QDateTime PeerInfo::connectedSince() const { return d->connectedSince; }
void PeerInfo::setConnectedSince(const QDateTime &connectedSince)
{
    d->connectedSince = connectedSince;
}

quint64 PeerInfo::messagesIn() const noexcept { return d->messagesIn; }
void PeerInfo::setMessagesIn(quint64 messagesIn) { d->messagesIn = messagesIn; }

quint64 PeerInfo::messagesOut() const noexcept { return d->messagesOut; }
void PeerInfo::setMessagesOut(quint64 messagesOut) { d->messagesOut = messagesOut; }

quint64 PeerInfo::bytesIn() const noexcept { return d->bytesIn; }
void PeerInfo::setBytesIn(quint64 bytesIn) { d->bytesIn = bytesIn; }

quint64 PeerInfo::bytesOut() const noexcept { return d->bytesOut; }
void PeerInfo::setBytesOut(quint64 bytesOut) { d->bytesOut = bytesOut; }

double PeerInfo::roundTripMs() const noexcept { return d->roundTripMs; }
void PeerInfo::setRoundTripMs(double roundTripMs) { d->roundTripMs = roundTripMs; }

bool PeerInfo::isValid() const noexcept { return d->machineId != 0; }

bool PeerInfo::equals(const PeerInfo &other) const noexcept
{
    if (d == other.d)
        return true;
    const PeerInfoPrivate &a = *d;
    const PeerInfoPrivate &b = *other.d;
    return a.machineId == b.machineId && a.address == b.address && a.version == b.version
        && a.isMonitor == b.isMonitor && a.connectedSince == b.connectedSince
        && a.messagesIn == b.messagesIn && a.messagesOut == b.messagesOut
        && a.bytesIn == b.bytesIn && a.bytesOut == b.bytesOut
        && a.roundTripMs == b.roundTripMs;
}

QDebug operator<<(QDebug debug, const PeerInfo &p)
{
    const QDebugStateSaver saver(debug);
    debug.nospace() << "PeerInfo(" << Qt::hex << p.machineId() << Qt::dec << ", "
                    << p.address() << ", v" << p.version();
    if (p.isMonitor())
        debug << ", monitor";
    if (p.roundTripMs() >= 0)
        debug << ", rtt " << p.roundTripMs() << " ms";
    debug << ')';
    return debug;
}

} // namespace Plexus
