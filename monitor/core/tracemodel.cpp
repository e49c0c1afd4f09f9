// SPDX-License-Identifier: MIT
#include "tracemodel.h"

#include "clusterstate.h"
#include "format.h"
#include "modelroles.h"

#include <QtCore/qiodevice.h>
#include <QtCore/qjsonarray.h>
#include <QtCore/qjsondocument.h>
#include <QtCore/qjsonobject.h>

#include <numeric>

using namespace Qt::StringLiterals;

namespace PlexusMonitor {

namespace {

QString hex64(quint64 v)
{
    return u"0x"_s + QString::number(v, 16);
}

QString target(const TraceSample &s)
{
    if (s.to == 0)
        return s.toMachine ? u"machine "_s + Format::machineId(s.toMachine) : u"another machine"_s;
    if (s.toMachine && s.toMachine != s.machine)
        return QString::number(s.to) + u'@' + Format::machineId(s.toMachine);
    return QString::number(s.to);
}

QString source(const TraceSample &s)
{
    if (s.fromMachine && s.fromMachine != s.machine)
        return QString::number(s.from) + u'@' + Format::machineId(s.fromMachine);
    return QString::number(s.from);
}

// RFC 4180: quotes around fields with a separator, quote or line break.
QByteArray csvField(const QString &text)
{
    QByteArray f = text.toUtf8();
    if (f.contains(',') || f.contains('"') || f.contains('\n') || f.contains('\r'))
        f = '"' + f.replace("\"", "\"\"") + '"';
    return f;
}

} // namespace

TraceModel::TraceModel(const ClusterState *state, QObject *parent)
    : ModelBase(state, parent)
{ }

void TraceModel::setCapacity(int capacity)
{
    m_capacity = qMax(1, capacity);
    trim();
}

void TraceModel::setMaxBytes(qsizetype bytes)
{
    m_maxBytes = qMax<qsizetype>(1, bytes);
    trim();
}

void TraceModel::trim()
{
    qsizetype drop = qMax<qsizetype>(0, m_rows.size() - m_capacity);
    qsizetype bytes = m_bytes;
    for (qsizetype i = 0; i < drop; ++i)
        bytes -= traceSampleCost(m_rows.at(i));
    while (bytes > m_maxBytes && drop < m_rows.size() - 1)
        bytes -= traceSampleCost(m_rows.at(drop++));
    if (drop == 0)
        return;
    beginRemoveRows({}, 0, int(drop) - 1);
    m_rows.remove(0, drop);
    m_bytes = bytes;
    endRemoveRows();
}

void TraceModel::clear()
{
    if (m_rows.isEmpty())
        return;
    beginCountedReset();
    m_rows.clear();
    m_bytes = 0;
    endResetModel();
}

bool TraceModel::update()
{
    quint64 first = 0;
    QList<TraceSample> fresh = state()->traceSamples(m_next, &first);
    if (first > m_next)
        m_missed += first - m_next;
    m_next = state()->traceSequence();
    if (fresh.isEmpty())
        return false;
    // How many of the fresh ones can stay, newest first, within both bounds (the newest
    // one always does).
    qsizetype keep = 0;
    qsizetype freshBytes = 0;
    for (qsizetype i = fresh.size() - 1; i >= 0 && keep < m_capacity; --i) {
        const qsizetype cost = traceSampleCost(fresh.at(i));
        if (keep > 0 && freshBytes + cost > m_maxBytes)
            break;
        freshBytes += cost;
        ++keep;
    }
    // Then how many of the rows shown can stay in front of them.
    qsizetype drop = 0;
    qsizetype bytes = m_bytes;
    if (keep == fresh.size()) {
        drop = qMax<qsizetype>(0, m_rows.size() + keep - m_capacity);
        for (qsizetype i = 0; i < drop; ++i)
            bytes -= traceSampleCost(m_rows.at(i));
        while (drop < m_rows.size() && bytes + freshBytes > m_maxBytes)
            bytes -= traceSampleCost(m_rows.at(drop++));
    } else {
        drop = m_rows.size();
    }
    if (keep < fresh.size())
        fresh.remove(0, fresh.size() - keep);
    if (drop == m_rows.size() && drop > 0) {
        // Everything shown goes: one reset instead of a removal and an insertion.
        beginCountedReset();
        m_rows = std::move(fresh);
        m_bytes = freshBytes;
        endResetModel();
        return true;
    }
    if (drop > 0) {
        beginRemoveRows({}, 0, int(drop) - 1);
        m_rows.remove(0, drop);
        m_bytes = bytes;
        endRemoveRows();
    }
    const int at = int(m_rows.size());
    beginInsertRows({}, at, at + int(fresh.size()) - 1);
    m_rows.append(std::move(fresh));
    m_bytes += freshBytes;
    endInsertRows();
    return true;
}

int TraceModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant TraceModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_rows.size())
        return {};
    const TraceSample &s = m_rows.at(index.row());
    switch (role) {
    case MachineIdRole: return s.machine;
    case PidRole: return s.from;
    case OpcodeRole: return s.opcode;
    case TimeRole: return s.time;
    case MessageKindRole: return int(s.kind);
    case Qt::ToolTipRole:
        return u"%1 %2 from %3 to %4, %5 bytes, id %6, flags %7"_s
                .arg(messageKindName(s.kind),
                     s.opcode ? Format::opcode(s.opcode) : u"(function)"_s, source(s), target(s))
                .arg(s.size)
                .arg(hex64(s.id))
                .arg(s.flags);
    case Qt::TextAlignmentRole:
        return index.column() == SizeColumn ? QVariant(int(Qt::AlignRight | Qt::AlignVCenter))
                                            : QVariant();
    case Qt::DisplayRole:
    case SortRole:
        break;
    default:
        return {};
    }
    const bool sort = role == SortRole;
    switch (Column(index.column())) {
    case TimeColumn: return sort ? QVariant(s.time) : QVariant(Format::time(s.time));
    case MachineColumn: return sort ? QVariant(s.machine) : QVariant(Format::machineId(s.machine));
    case FromColumn: return sort ? QVariant(s.from) : QVariant(source(s));
    case ToColumn: return sort ? QVariant(s.to) : QVariant(target(s));
    case KindColumn: return messageKindName(s.kind);
    case OpcodeColumn:
        if (sort)
            return s.opcode;
        return s.opcode ? Format::opcode(s.opcode) : u"function"_s;
    case SizeColumn: return sort ? QVariant(s.size) : QVariant(QString::number(s.size));
    case IdColumn: return sort ? QVariant(s.id) : QVariant(hex64(s.id));
    case ColumnCount: break;
    }
    return {};
}

QVariant TraceModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return {};
    if (role == Qt::ToolTipRole && section == ToColumn)
        return u"A message a master received: the master that saw it (the master routes it "
               "on). A message the master sent: its destination."_s;
    if (role != Qt::DisplayRole)
        return {};
    switch (Column(section)) {
    case TimeColumn: return u"Time"_s;
    case MachineColumn: return u"Machine"_s;
    case FromColumn: return u"From"_s;
    case ToColumn: return u"Seen by / to"_s;
    case KindColumn: return u"Kind"_s;
    case OpcodeColumn: return u"Op-code"_s;
    case SizeColumn: return u"Size"_s;
    case IdColumn: return u"Id"_s;
    case ColumnCount: break;
    }
    return {};
}

QList<int> TraceModel::allRows() const
{
    QList<int> rows(m_rows.size());
    std::iota(rows.begin(), rows.end(), 0);
    return rows;
}

bool TraceModel::exportCsv(QIODevice *device) const
{
    return exportCsv(device, allRows());
}

bool TraceModel::exportJson(QIODevice *device) const
{
    return exportJson(device, allRows());
}

bool TraceModel::exportCsv(QIODevice *device, const QList<int> &rows) const
{
    if (!device || !device->isWritable())
        return false;
    QByteArray out = "time,machine,fromMachine,from,toMachine,to,kind,opcode,size,id,flags\n";
    for (int row : rows) {
        if (row < 0 || row >= m_rows.size())
            continue;
        const TraceSample &s = m_rows.at(row);
        out += QByteArray::number(s.time) + ',' + hex64(s.machine).toLatin1() + ','
                + hex64(s.fromMachine).toLatin1() + ',' + QByteArray::number(s.from) + ','
                + hex64(s.toMachine).toLatin1() + ',' + QByteArray::number(s.to) + ','
                + csvField(messageKindName(s.kind)) + ',' + QByteArray::number(s.opcode) + ','
                + QByteArray::number(s.size) + ',' + hex64(s.id).toLatin1() + ','
                + QByteArray::number(s.flags) + '\n';
        if (out.size() > 1 << 20) {
            if (device->write(out) != out.size())
                return false;
            out.clear();
        }
    }
    return device->write(out) == out.size();
}

bool TraceModel::exportJson(QIODevice *device, const QList<int> &rows) const
{
    if (!device || !device->isWritable())
        return false;
    QJsonArray array;
    for (int row : rows) {
        if (row < 0 || row >= m_rows.size())
            continue;
        const TraceSample &s = m_rows.at(row);
        QJsonObject o{{u"time"_s, s.time},
                      {u"machine"_s, hex64(s.machine)},
                      {u"fromMachine"_s, hex64(s.fromMachine)},
                      {u"from"_s, s.from},
                      {u"toMachine"_s, hex64(s.toMachine)},
                      {u"to"_s, s.to},
                      {u"kind"_s, messageKindName(s.kind)},
                      {u"opcode"_s, qint64(s.opcode)},
                      {u"size"_s, qint64(qMin<quint64>(s.size, quint64(1) << 53))},
                      {u"id"_s, hex64(s.id)},
                      {u"flags"_s, qint64(qMin<quint64>(s.flags, quint64(1) << 53))}};
        if (!s.data.isEmpty())
            o.insert(u"data"_s, QString::fromLatin1(s.data.toBase64()));
        array.append(o);
    }
    const QByteArray out = QJsonDocument(array).toJson(QJsonDocument::Indented);
    return device->write(out) == out.size();
}

} // namespace PlexusMonitor
