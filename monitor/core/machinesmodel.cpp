// SPDX-License-Identifier: MIT
#include "machinesmodel.h"

#include "clusterstate.h"
#include "format.h"
#include "modelroles.h"

using namespace Qt::StringLiterals;

namespace PlexusMonitor {

MachinesModel::MachinesModel(const ClusterState *state, QObject *parent)
    : ModelBase(state, parent)
{ }

int MachinesModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

bool MachinesModel::update()
{
    QList<Row> next;
    for (const MachineEntry &m : state()->machines()) {
        Row r;
        r.key = u"m"_s + QString::number(m.machine, 16);
        r.machine = m.machine;
        r.connected = m.connected;
        r.host = m.snapshot.host;
        r.address = m.address;
        r.port = m.port;
        r.version = m.version;
        r.rttMs = m.rttMs;
        r.processes = m.hasSnapshot ? int(m.snapshot.processes.size()) : 0;
        r.status = m.connected ? (m.hasSnapshot ? u"connected"_s : u"connecting"_s)
                 : m.discoveredOnly ? u"discovered"_s
                                    : u"disconnected"_s;
        if (!m.lastError.isEmpty() && m.badAnswers > 0 && m.connected)
            r.status += u" (bad answers: %1)"_s.arg(m.badAnswers);
        next.append(std::move(r));
    }
    for (const RefusedPeer &p : state()->refused()) {
        Row r;
        r.key = u"r"_s + p.peer + u'\n' + p.reason;
        r.refused = true;
        r.incompatible = true;   // unusable either way: disabled in the list
        r.address = p.address;   // the Node reports no port of a refused peer
        r.port = 0;
        r.status = p.incompatible ? u"incompatible: "_s + p.reason
                 : p.announcer    ? u"announcements refused: "_s + p.reason
                                  : u"refused: "_s + p.reason;
        r.count = p.count;
        next.append(std::move(r));
    }
    const int before = int(m_rows.size());
    const bool structural = sync(m_rows, next, [](const Row &r) { return r.key; },
                                 [](int, Row &existing, Row &fresh) { existing = fresh; });
    if (!m_rows.isEmpty())
        rowsChanged(0, int(m_rows.size()) - 1);
    return structural || before > 0 || !m_rows.isEmpty();
}

QVariant MachinesModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_rows.size())
        return {};
    const Row &r = m_rows.at(index.row());
    switch (role) {
    case MachineIdRole:
        return r.machine;
    case IncompatibleRole:
        return r.incompatible;
    case ConnectedRole:
        return r.connected;
    case Qt::ToolTipRole:
        if (r.refused)
            return u"%1 refused %2 times: %3"_s.arg(r.address).arg(r.count).arg(r.status);
        return u"machine %1 (%2)"_s.arg(Format::machineId(r.machine), r.status);
    case Qt::TextAlignmentRole:
        if (index.column() == PortColumn || index.column() == RttColumn
            || index.column() == ProcessesColumn)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    case Qt::DisplayRole:
    case SortRole:
        break;
    default:
        return {};
    }
    const bool sort = role == SortRole;
    switch (Column(index.column())) {
    case MachineColumn:
        if (r.refused)   // no machine id: the handshake or the announcement did not open
            return QString(u"? ("_s + r.address + u')');
        return sort ? QVariant(r.machine) : QVariant(Format::machineId(r.machine));
    case HostColumn:
        return r.host;
    case AddressColumn:
        return r.address;
    case PortColumn:
        return sort ? QVariant(r.port) : r.port ? QVariant(QString::number(r.port)) : QVariant();
    case VersionColumn:
        return r.version;
    case RttColumn:
        if (sort)
            return r.rttMs;
        return r.rttMs < 0 ? u"-"_s : QString::number(r.rttMs, 'f', r.rttMs < 10 ? 2 : 0) + u" ms"_s;
    case StatusColumn:
        return r.status;
    case ProcessesColumn:
        return sort ? QVariant(r.processes) : r.refused ? QVariant() : QVariant(r.processes);
    case ColumnCount:
        break;
    }
    return {};
}

QVariant MachinesModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (Column(section)) {
    case MachineColumn: return u"Machine"_s;
    case HostColumn: return u"Host"_s;
    case AddressColumn: return u"Address"_s;
    case PortColumn: return u"Port"_s;
    case VersionColumn: return u"Version"_s;
    case RttColumn: return u"RTT"_s;
    case StatusColumn: return u"Status"_s;
    case ProcessesColumn: return u"Processes"_s;
    case ColumnCount: break;
    }
    return {};
}

Qt::ItemFlags MachinesModel::flags(const QModelIndex &index) const
{
    if (!index.isValid() || index.row() >= m_rows.size())
        return Qt::NoItemFlags;
    if (m_rows.at(index.row()).incompatible)
        return Qt::ItemNeverHasChildren;   // shown, but neither enabled nor selectable
    return Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemNeverHasChildren;
}

} // namespace PlexusMonitor
