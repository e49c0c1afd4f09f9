// SPDX-License-Identifier: MIT
#include "processtreemodel.h"

#include "format.h"
#include "modelroles.h"

#include <algorithm>
#include <utility>

using namespace Qt::StringLiterals;

namespace PlexusMonitor {

namespace {

// internalId: the machine's handle and the level of the row (0 machine, 1 master,
// 2 worker). A handle, not a row number, because rows move and persistent indexes keep
// their internalId; not a pointer, because rows are values in lists that reallocate.
enum Level : quintptr { MachineLevel = 0, MasterLevel = 1, WorkerLevel = 2 };
constexpr quintptr makeId(quint32 handle, Level level) { return (quintptr(handle) << 2) | level; }
constexpr quint32 handleOf(quintptr id) { return quint32(id >> 2); }
constexpr Level levelOf(quintptr id) { return Level(id & 3); }

QVariant numeric(bool sort, quint64 value, const QString &text)
{
    return sort ? QVariant(value) : QVariant(text);
}

// CPU and RSS: sorted by value, shown with a unit; unknown (-1) sorts first, shows empty.
QVariant cpuData(double percent, bool sort)
{
    if (sort)
        return percent;
    return percent < 0 ? QVariant() : QVariant(QString::number(percent, 'f', 1));
}

QVariant rssData(qint64 bytes, bool sort)
{
    if (sort)
        return bytes;
    return bytes < 0 ? QVariant() : QVariant(Format::bytes(double(bytes)));
}

} // namespace

ProcessTreeModel::ProcessTreeModel(const ClusterState *state, QObject *parent)
    : ModelBase(state, parent)
{ }

const ProcessTreeModel::MachineRow *ProcessTreeModel::machineRow(quint32 handle, int *row) const
{
    for (qsizetype i = 0; i < m_machines.size(); ++i) {
        if (m_machines.at(i).handle == handle) {
            if (row)
                *row = int(i);
            return &m_machines.at(i);
        }
    }
    return nullptr;
}

ProcessTreeModel::MachineRow *ProcessTreeModel::machineRow(quint32 handle, int *row)
{
    return const_cast<MachineRow *>(std::as_const(*this).machineRow(handle, row));
}

QModelIndex ProcessTreeModel::index(int row, int column, const QModelIndex &parent) const
{
    if (row < 0 || column < 0 || column >= ColumnCount)
        return {};
    if (!parent.isValid()) {
        if (row >= m_machines.size())
            return {};
        return createIndex(row, column, makeId(m_machines.at(row).handle, MachineLevel));
    }
    const MachineRow *m = machineRow(handleOf(parent.internalId()));
    if (!m)
        return {};
    switch (levelOf(parent.internalId())) {
    case MachineLevel:
        return row < m->master.size() ? createIndex(row, column, makeId(m->handle, MasterLevel))
                                      : QModelIndex();
    case MasterLevel:
        return row < m->workers.size() ? createIndex(row, column, makeId(m->handle, WorkerLevel))
                                       : QModelIndex();
    default:
        return {};
    }
}

QModelIndex ProcessTreeModel::parent(const QModelIndex &child) const
{
    if (!child.isValid())
        return {};
    const quint32 handle = handleOf(child.internalId());
    switch (levelOf(child.internalId())) {
    case MasterLevel: {
        int row = -1;
        return machineRow(handle, &row) ? createIndex(row, 0, makeId(handle, MachineLevel))
                                        : QModelIndex();
    }
    case WorkerLevel:
        return createIndex(0, 0, makeId(handle, MasterLevel));
    default:
        return {};
    }
}

int ProcessTreeModel::rowCount(const QModelIndex &parent) const
{
    if (!parent.isValid())
        return int(m_machines.size());
    if (parent.column() > 0)
        return 0;
    const MachineRow *m = machineRow(handleOf(parent.internalId()));
    if (!m)
        return 0;
    switch (levelOf(parent.internalId())) {
    case MachineLevel: return int(m->master.size());
    case MasterLevel: return int(m->workers.size());
    default: return 0;
    }
}

int ProcessTreeModel::columnCount(const QModelIndex &) const
{
    return ColumnCount;
}

const ProcessTreeModel::ProcessRow *ProcessTreeModel::processRow(const QModelIndex &index) const
{
    if (!index.isValid())
        return nullptr;
    const MachineRow *m = machineRow(handleOf(index.internalId()));
    if (!m)
        return nullptr;
    switch (levelOf(index.internalId())) {
    case MasterLevel:
        return index.row() < m->master.size() ? &m->master.at(index.row()) : nullptr;
    case WorkerLevel:
        return index.row() < m->workers.size() ? &m->workers.at(index.row()) : nullptr;
    default:
        return nullptr;
    }
}

ProcessKey ProcessTreeModel::processKey(const QModelIndex &index) const
{
    const ProcessRow *p = processRow(index);
    const MachineRow *m = index.isValid() ? machineRow(handleOf(index.internalId())) : nullptr;
    return p && m ? ProcessKey{m->machine, p->pid} : ProcessKey{};
}

QModelIndex ProcessTreeModel::indexOfMachine(quint64 machine) const
{
    for (qsizetype i = 0; i < m_machines.size(); ++i) {
        if (m_machines.at(i).machine == machine)
            return createIndex(int(i), 0, makeId(m_machines.at(i).handle, MachineLevel));
    }
    return {};
}

QModelIndex ProcessTreeModel::indexOf(const ProcessKey &key) const
{
    const QModelIndex machine = indexOfMachine(key.machine);
    if (!machine.isValid())
        return {};
    const MachineRow &m = m_machines.at(machine.row());
    if (!m.master.isEmpty() && m.master.front().pid == key.pid)
        return createIndex(0, 0, makeId(m.handle, MasterLevel));
    for (qsizetype i = 0; i < m.workers.size(); ++i) {
        if (m.workers.at(i).pid == key.pid)
            return createIndex(int(i), 0, makeId(m.handle, WorkerLevel));
    }
    return {};
}

bool ProcessTreeModel::update()
{
    QList<MachineRow> next;
    next.reserve(state()->machines().size());
    for (const MachineEntry &e : state()->machines()) {
        if (!e.hasSnapshot)
            continue;   // nothing to show under it yet (the machines list has it)
        MachineRow m;
        m.machine = e.machine;
        m.handle = m_handles.value(e.machine);
        if (!m.handle) {
            m.handle = m_nextHandle++;
            m_handles.insert(e.machine, m.handle);
        }
        m.host = e.snapshot.host;
        m.connected = e.connected;
        const QList<ProcessSnapshot> &processes = e.snapshot.processes;
        for (qsizetype i = 0; i < processes.size(); ++i) {
            const ProcessSnapshot &p = processes.at(i);
            ProcessRow row{p.pid, p, i < e.rates.size() ? e.rates.at(i).total : Rates()};
            if (p.isMaster() && m.master.isEmpty()) {
                m.master.append(std::move(row));
            } else if (!p.isMaster()) {
                m.workerRestarts += p.restarts;
                m.workers.append(std::move(row));
            }
        }
        // Workers are shown under their master only; a snapshot without one is malformed
        // and its workers would have no parent row.
        if (m.master.isEmpty())
            m.workers.clear();
        std::stable_sort(m.workers.begin(), m.workers.end(),
                         [](const ProcessRow &a, const ProcessRow &b) {
            return a.process.slot < b.process.slot;
        });
        next.append(std::move(m));
    }

    sync(m_machines, next, [](const MachineRow &m) { return m.machine; },
         [this](int row, MachineRow &existing, MachineRow &fresh) {
             syncMachine(row, existing, fresh);
         });
    // Forget the handles of machines that are gone.
    if (m_handles.size() > m_machines.size()) {
        QSet<quint64> present;
        for (const MachineRow &m : std::as_const(m_machines))
            present.insert(m.machine);
        m_handles.removeIf([&](const auto &it) { return !present.contains(it.key()); });
    }
    if (!m_machines.isEmpty())
        rowsChanged(0, int(m_machines.size()) - 1);
    return true;
}

void ProcessTreeModel::syncMachine(int row, MachineRow &existing, MachineRow &fresh)
{
    existing.host = fresh.host;
    existing.connected = fresh.connected;
    existing.workerRestarts = fresh.workerRestarts;
    const QModelIndex machineIndex = createIndex(row, 0, makeId(existing.handle, MachineLevel));
    const auto pidOf = [](const ProcessRow &p) { return p.pid; };
    // Workers by slot and pid: pids repeat while workers restart (0 until they are
    // running again) and slots are unique per master, while a replacement in the same
    // slot is still a removal and an insertion (its pid differs). A hostile master that
    // repeats both only gets a reset (syncRows refuses repeated keys).
    const auto workerKey = [](const ProcessRow &p) { return std::pair(p.process.slot, p.pid); };
    const auto copy = [](int, ProcessRow &e, ProcessRow &f) { e = std::move(f); };

    // Workers only exist under a master: drop them before their master goes, add them
    // after it came.
    if (fresh.master.isEmpty() && !existing.master.isEmpty()) {
        QList<ProcessRow> none;
        sync(existing.workers, none, workerKey, copy, index(0, 0, machineIndex));
    }
    sync(existing.master, fresh.master, pidOf, copy, machineIndex);
    if (existing.master.isEmpty())
        return;
    const QModelIndex masterIndex = index(0, 0, machineIndex);
    rowsChanged(0, 0, machineIndex);
    sync(existing.workers, fresh.workers, workerKey, copy, masterIndex);
    if (!existing.workers.isEmpty())
        rowsChanged(0, int(existing.workers.size()) - 1, masterIndex);
}

QVariant ProcessTreeModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid())
        return {};
    const MachineRow *m = machineRow(handleOf(index.internalId()));
    if (!m)
        return {};
    switch (role) {
    case MachineIdRole:
        return m->machine;
    case ItemKindRole:
        switch (levelOf(index.internalId())) {
        case MachineLevel: return int(ItemKind::Machine);
        case MasterLevel: return int(ItemKind::Master);
        default: return int(ItemKind::Worker);
        }
    case ConnectedRole:
        return m->connected;
    case Qt::TextAlignmentRole:
        return index.column() == NameColumn || index.column() == RoleColumn
                        || index.column() == StateColumn
                ? QVariant()
                : QVariant(int(Qt::AlignRight | Qt::AlignVCenter));
    default:
        break;
    }
    if (levelOf(index.internalId()) == MachineLevel)
        return machineData(*m, index.column(), role);
    const ProcessRow *p = processRow(index);
    return p ? processData(*p, index.column(), role) : QVariant();
}

QVariant ProcessTreeModel::machineData(const MachineRow &m, int column, int role) const
{
    if (role == PidRole)
        return qint64(0);
    if (role == Qt::ToolTipRole)
        return u"machine %1%2"_s.arg(Format::machineId(m.machine),
                                     m.connected ? QString() : u" (not connected)"_s);
    if (role != Qt::DisplayRole && role != SortRole)
        return {};
    const bool sort = role == SortRole;
    if (column == NameColumn) {
        const QString id = Format::machineId(m.machine);
        return m.host.isEmpty() ? id : m.host + u" (" + id + u')';
    }
    if (column == RestartsColumn)
        return numeric(sort, m.workerRestarts, QString::number(m.workerRestarts));
    if (column == CpuColumn || column == RssColumn) {
        // The machine's processes together; unknown if none of them is known.
        double cpu = -1;
        qint64 rss = -1;
        for (const QList<ProcessRow> *list : {&m.master, &m.workers}) {
            for (const ProcessRow &r : *list) {
                if (r.process.cpuPercent >= 0)
                    cpu = qMax(0.0, cpu) + r.process.cpuPercent;
                if (r.process.rssBytes >= 0)
                    rss = qMax<qint64>(0, rss) + r.process.rssBytes;
            }
        }
        return column == CpuColumn ? cpuData(cpu, sort) : rssData(rss, sort);
    }
    if (column == PidColumn || column == RoleColumn || column == SlotColumn
        || column == StateColumn || column == IdleColumn || m.master.isEmpty())
        return sort ? QVariant(0) : QVariant();
    // The rest: its master's, which sees all of the machine's traffic.
    return processData(m.master.front(), column, role);
}

QVariant ProcessTreeModel::processData(const ProcessRow &row, int column, int role) const
{
    const ProcessSnapshot &p = row.process;
    if (role == PidRole)
        return p.pid;
    if (role == Qt::ToolTipRole) {
        return u"pid %1, %2%3, %4 messages in, %5 out"_s
                .arg(p.pid)
                .arg(p.isMaster() ? u"master"_s : u"worker %1"_s.arg(p.slot),
                     p.exec ? u" (exec'd)"_s : QString())
                .arg(p.counters.messagesIn)
                .arg(p.counters.messagesOut);
    }
    if (role != Qt::DisplayRole && role != SortRole)
        return {};
    const bool sort = role == SortRole;
    switch (Column(column)) {
    case NameColumn:
        return p.isMaster() ? u"master"_s : u"worker %1"_s.arg(p.slot);
    case PidColumn:
        return sort ? QVariant(p.pid) : QVariant(QString::number(p.pid));
    case RoleColumn:
        return QString(processRoleName(p.role) + (p.exec ? u" (exec)"_s : QString()));
    case SlotColumn:
        if (sort)
            return p.slot;
        return p.slot < 0 ? QVariant() : QVariant(QString::number(p.slot));
    case StateColumn:
        return QString(processStateName(p.state)
                       + (p.responding || p.isMaster() ? QString() : u" (silent)"_s));
    case UptimeColumn:
        return sort ? QVariant(p.uptimeMs) : QVariant(Format::duration(p.uptimeMs));
    case CpuColumn:
        return cpuData(p.cpuPercent, sort);
    case RssColumn:
        return rssData(p.rssBytes, sort);
    case MessagesInColumn:
        return numeric(sort, p.counters.messagesIn, Format::count(double(p.counters.messagesIn)));
    case MessagesOutColumn:
        return numeric(sort, p.counters.messagesOut, Format::count(double(p.counters.messagesOut)));
    case BytesInColumn:
        return numeric(sort, p.counters.bytesIn, Format::bytes(double(p.counters.bytesIn)));
    case BytesOutColumn:
        return numeric(sort, p.counters.bytesOut, Format::bytes(double(p.counters.bytesOut)));
    case RateInColumn:
        return sort ? QVariant(row.rates.messagesIn) : QVariant(Format::rate(row.rates.messagesIn));
    case RateOutColumn:
        return sort ? QVariant(row.rates.messagesOut) : QVariant(Format::rate(row.rates.messagesOut));
    case BacklogColumn:
        return numeric(sort, p.backlog, Format::bytes(double(p.backlog)));
    case RestartsColumn:
        return numeric(sort, p.restarts, QString::number(p.restarts));
    case IdleColumn:
        return sort ? QVariant(p.idleMs) : QVariant(Format::duration(p.idleMs));
    case ColumnCount:
        break;
    }
    return {};
}

QVariant ProcessTreeModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (Column(section)) {
    case NameColumn: return u"Process"_s;
    case PidColumn: return u"PID"_s;
    case RoleColumn: return u"Role"_s;
    case SlotColumn: return u"Slot"_s;
    case StateColumn: return u"State"_s;
    case UptimeColumn: return u"Uptime"_s;
    case CpuColumn: return u"CPU %"_s;
    case RssColumn: return u"RSS"_s;
    case MessagesInColumn: return u"Msgs in"_s;
    case MessagesOutColumn: return u"Msgs out"_s;
    case BytesInColumn: return u"Bytes in"_s;
    case BytesOutColumn: return u"Bytes out"_s;
    case RateInColumn: return u"Rate in"_s;
    case RateOutColumn: return u"Rate out"_s;
    case BacklogColumn: return u"Backlog"_s;
    case RestartsColumn: return u"Restarts"_s;
    case IdleColumn: return u"Idle"_s;
    case ColumnCount: break;
    }
    return {};
}

Qt::ItemFlags ProcessTreeModel::flags(const QModelIndex &index) const
{
    if (!index.isValid())
        return Qt::NoItemFlags;
    Qt::ItemFlags f = Qt::ItemIsEnabled | Qt::ItemIsSelectable;
    if (levelOf(index.internalId()) == WorkerLevel)
        f |= Qt::ItemNeverHasChildren;
    return f;
}

} // namespace PlexusMonitor
