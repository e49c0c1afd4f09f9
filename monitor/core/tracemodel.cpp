// SPDX-License-Identifier: MIT
#include "tracemodel.h"

#include "clusterstate.h"
#include "format.h"
#include "modelroles.h"

#include <QtCore/qiodevice.h>
#include <QtCore/qjsonarray.h>
#include <QtCore/qjsondocument.h>
#include <QtCore/qjsonobject.h>

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
    capacity = qMax(1, capacity);
    m_capacity = capacity;
    if (m_rows.size() > capacity) {
        const int drop = int(m_rows.size()) - capacity;
        beginRemoveRows({}, 0, drop - 1);
        m_rows.remove(0, drop);
        endRemoveRows();
    }
}

void TraceModel::clear()
{
    if (m_rows.isEmpty())
        return;
    beginCountedReset();
    m_rows.clear();
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
    if (fresh.size() >= m_capacity) {
        // Everything shown goes: one reset instead of a removal and an insertion.
        fresh.remove(0, fresh.size() - m_capacity);
        beginCountedReset();
        m_rows = std::move(fresh);
        endResetModel();
        return true;
    }
    const qsizetype overflow = m_rows.size() + fresh.size() - m_capacity;
    if (overflow > 0) {
        beginRemoveRows({}, 0, int(overflow) - 1);
        m_rows.remove(0, overflow);
        endRemoveRows();
    }
    const int at = int(m_rows.size());
    beginInsertRows({}, at, at + int(fresh.size()) - 1);
    m_rows.append(std::move(fresh));
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
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (Column(section)) {
    case TimeColumn: return u"Time"_s;
    case MachineColumn: return u"Machine"_s;
    case FromColumn: return u"From"_s;
    case ToColumn: return u"To"_s;
    case KindColumn: return u"Kind"_s;
    case OpcodeColumn: return u"Op-code"_s;
    case SizeColumn: return u"Size"_s;
    case IdColumn: return u"Id"_s;
    case ColumnCount: break;
    }
    return {};
}

Qt::ItemFlags TraceModel::flags(const QModelIndex &index) const
{
    return index.isValid() ? Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemNeverHasChildren
                           : Qt::NoItemFlags;
}

bool TraceModel::exportCsv(QIODevice *device) const
{
    if (!device || !device->isWritable())
        return false;
    QByteArray out = "time,machine,fromMachine,from,toMachine,to,kind,opcode,size,id,flags\n";
    for (const TraceSample &s : m_rows) {
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

bool TraceModel::exportJson(QIODevice *device) const
{
    if (!device || !device->isWritable())
        return false;
    QJsonArray array;
    for (const TraceSample &s : m_rows) {
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
