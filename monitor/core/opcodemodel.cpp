// SPDX-License-Identifier: MIT
#include "opcodemodel.h"

#include "format.h"
#include "modelroles.h"

#include <algorithm>

using namespace Qt::StringLiterals;

namespace PlexusMonitor {

OpcodeModel::OpcodeModel(const ClusterState *state, QObject *parent)
    : ModelBase(state, parent)
{ }

void OpcodeModel::setProcess(quint64 machine, qint64 pid)
{
    if (m_process == ProcessKey{machine, pid})
        return;
    m_process = {machine, pid};
    // Another process's op-codes are other rows altogether.
    beginCountedReset();
    m_rows.clear();
    endResetModel();
    invalidate();
    refresh();
}

int OpcodeModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

bool OpcodeModel::update()
{
    QList<Row> next;
    const ProcessSnapshot *p = state()->process(m_process);
    const ProcessRates *r = state()->processRates(m_process);
    if (p) {
        next.reserve(p->opcodes.size());
        for (qsizetype i = 0; i < p->opcodes.size(); ++i)
            next.append({p->opcodes.at(i), r && i < r->opcodes.size() ? r->opcodes.at(i) : Rates()});
        // A master listing one op-code twice would make the rows ambiguous: keep the
        // first (stable_sort keeps it in front of its repeats).
        std::stable_sort(next.begin(), next.end(),
                         [](const Row &a, const Row &b) { return a.stats.code < b.stats.code; });
        next.erase(std::unique(next.begin(), next.end(),
                               [](const Row &a, const Row &b) { return a.stats.code == b.stats.code; }),
                   next.end());
    }
    sync(m_rows, next, [](const Row &row) { return row.stats.code; },
         [](int, Row &existing, Row &fresh) { existing = std::move(fresh); });
    if (!m_rows.isEmpty())
        rowsChanged(0, int(m_rows.size()) - 1);
    return true;
}

QVariant OpcodeModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_rows.size())
        return {};
    const Row &row = m_rows.at(index.row());
    const OpcodeStats &o = row.stats;
    switch (role) {
    case MachineIdRole:
        return m_process.machine;
    case PidRole:
        return m_process.pid;
    case OpcodeRole:
        return o.code;
    case Qt::TextAlignmentRole:
        return index.column() == NameColumn ? QVariant()
                                            : QVariant(int(Qt::AlignRight | Qt::AlignVCenter));
    case Qt::DisplayRole:
    case SortRole:
        break;
    default:
        return {};
    }
    const bool sort = role == SortRole;
    switch (Column(index.column())) {
    case CodeColumn:
        return sort ? QVariant(o.code) : QVariant(Format::opcode(o.code));
    case NameColumn:
        return o.name;
    case InColumn:
        return sort ? QVariant(o.messagesIn) : QVariant(Format::count(double(o.messagesIn)));
    case OutColumn:
        return sort ? QVariant(o.messagesOut) : QVariant(Format::count(double(o.messagesOut)));
    case BytesInColumn:
        return sort ? QVariant(o.bytesIn) : QVariant(Format::bytes(double(o.bytesIn)));
    case BytesOutColumn:
        return sort ? QVariant(o.bytesOut) : QVariant(Format::bytes(double(o.bytesOut)));
    case RateInColumn:
        return sort ? QVariant(row.rates.messagesIn) : QVariant(Format::rate(row.rates.messagesIn));
    case RateOutColumn:
        return sort ? QVariant(row.rates.messagesOut) : QVariant(Format::rate(row.rates.messagesOut));
    case ColumnCount:
        break;
    }
    return {};
}

QVariant OpcodeModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (Column(section)) {
    case CodeColumn: return u"Op-code"_s;
    case NameColumn: return u"Name"_s;
    case InColumn: return u"In"_s;
    case OutColumn: return u"Out"_s;
    case BytesInColumn: return u"Bytes in"_s;
    case BytesOutColumn: return u"Bytes out"_s;
    case RateInColumn: return u"Rate in"_s;
    case RateOutColumn: return u"Rate out"_s;
    case ColumnCount: break;
    }
    return {};
}

} // namespace PlexusMonitor
