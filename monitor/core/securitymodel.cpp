// SPDX-License-Identifier: MIT
#include "securitymodel.h"

#include "clusterstate.h"
#include "format.h"
#include "modelroles.h"

using namespace Qt::StringLiterals;

namespace PlexusMonitor {

SecurityModel::SecurityModel(const ClusterState *state, QObject *parent)
    : ModelBase(state, parent)
{ }

int SecurityModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

bool SecurityModel::update()
{
    QList<Row> next;
    quint64 total = 0;
    for (const MachineEntry &m : state()->machines()) {
        if (!m.hasSnapshot)
            continue;
        const QString machineText = m.snapshot.host.isEmpty()
                ? Format::machineId(m.machine)
                : m.snapshot.host + u" (" + Format::machineId(m.machine) + u')';
        for (const ProcessSnapshot &p : m.snapshot.processes) {
            const QString process = p.isMaster() ? u"master (%1)"_s.arg(p.pid)
                                                 : u"worker %1 (%2)"_s.arg(p.slot).arg(p.pid);
            for (const SecurityEntry &s : p.security) {
                Row r;
                r.key = QString::number(m.machine, 16) + u'/' + QString::number(p.pid) + u'/'
                        + s.peer + u'/' + s.reason;
                r.machine = m.machine;
                r.machineText = machineText;
                r.pid = p.pid;
                r.process = process;
                r.peer = s.peer;
                r.reason = s.reason;
                r.count = s.count;
                total += s.count;
                next.append(std::move(r));
            }
        }
    }
    for (const RefusedPeer &p : state()->refused()) {
        Row r;
        r.key = u"monitor/"_s + p.peer + u'/' + p.reason;
        // What the monitor's own Node refused: a link of its own, or (udp) an announcer
        // elsewhere on the network that it never linked to.
        r.machineText = p.announcer ? u"announcer at "_s + p.address : u"this monitor"_s;
        r.process = p.announcer ? u"discovery"_s : u"monitor"_s;
        r.peer = p.peer;
        r.reason = p.reason;
        r.count = p.count;
        total += p.count;
        next.append(std::move(r));
    }
    // A duplicate key (a master listing one peer and reason twice) would make the rows
    // ambiguous: keep the first.
    QSet<QString> seen;
    next.removeIf([&](const Row &r) {
        if (seen.contains(r.key))
            return true;
        seen.insert(r.key);
        return false;
    });
    m_total = total;
    sync(m_rows, next, [](const Row &r) { return r.key; },
         [](int, Row &existing, Row &fresh) { existing = std::move(fresh); });
    if (!m_rows.isEmpty())
        rowsChanged(0, int(m_rows.size()) - 1);
    return true;
}

QVariant SecurityModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_rows.size())
        return {};
    const Row &r = m_rows.at(index.row());
    switch (role) {
    case MachineIdRole:
        return r.machine;
    case PidRole:
        return r.pid;
    case Qt::TextAlignmentRole:
        return index.column() == CountColumn ? QVariant(int(Qt::AlignRight | Qt::AlignVCenter))
                                             : QVariant();
    case Qt::DisplayRole:
    case SortRole:
        break;
    default:
        return {};
    }
    switch (Column(index.column())) {
    case MachineColumn: return r.machineText;
    case ProcessColumn: return role == SortRole ? QVariant(r.pid) : QVariant(r.process);
    case PeerColumn: return r.peer;
    case ReasonColumn: return r.reason;
    case CountColumn:
        return role == SortRole ? QVariant(r.count) : QVariant(QString::number(r.count));
    case ColumnCount: break;
    }
    return {};
}

QVariant SecurityModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (Column(section)) {
    case MachineColumn: return u"Machine"_s;
    case ProcessColumn: return u"Process"_s;
    case PeerColumn: return u"Peer"_s;
    case ReasonColumn: return u"Reason"_s;
    case CountColumn: return u"Count"_s;
    case ColumnCount: break;
    }
    return {};
}

} // namespace PlexusMonitor
