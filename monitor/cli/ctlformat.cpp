// SPDX-License-Identifier: MIT
#include "ctlformat.h"
#include "ctlhealth.h"

#include "clusterstate.h"
#include "format.h"

#include <QtCore/qjsonarray.h>

#include <algorithm>

using namespace Qt::StringLiterals;
using namespace PlexusMonitor;

namespace PlexusCtl {

namespace {

QString hex(quint64 v)
{
    return u"0x"_s + QString::number(v, 16);
}

QJsonObject ratesJson(const Rates &r)
{
    return {{u"messagesIn"_s, r.messagesIn}, {u"messagesOut"_s, r.messagesOut},
            {u"bytesIn"_s, r.bytesIn}, {u"bytesOut"_s, r.bytesOut}};
}

// The same keys, null: not measured yet (one snapshot is not a rate, and 0 would be a lie).
QJsonObject unmeasuredJson()
{
    return {{u"messagesIn"_s, QJsonValue::Null}, {u"messagesOut"_s, QJsonValue::Null},
            {u"bytesIn"_s, QJsonValue::Null}, {u"bytesOut"_s, QJsonValue::Null}};
}

QJsonObject processJson(const ProcessSnapshot &p, const ProcessRates *rates, bool measured)
{
    if (!measured)
        rates = nullptr;
    const ProcessCounters &c = p.counters;
    QJsonObject counters{{u"messagesIn"_s, qint64(c.messagesIn)},
                         {u"messagesOut"_s, qint64(c.messagesOut)},
                         {u"bytesIn"_s, qint64(c.bytesIn)},
                         {u"bytesOut"_s, qint64(c.bytesOut)},
                         {u"rejected"_s, qint64(c.rejected)},
                         {u"lateReplies"_s, qint64(c.lateReplies)},
                         {u"droppedReplies"_s, qint64(c.droppedReplies)},
                         {u"unknownOpcodes"_s, qint64(c.unknownOpcodes)},
                         {u"backpressureErrors"_s, qint64(c.backpressureErrors)},
                         {u"heldMessages"_s, qint64(c.heldMessages)},
                         {u"abandonedConnections"_s, qint64(c.abandonedConnections)},
                         {u"cancelsReceived"_s, qint64(c.cancelsReceived)},
                         {u"canceledCalls"_s, qint64(c.canceledCalls)},
                         {u"droppedIncoming"_s, qint64(c.droppedIncoming)}};
    QJsonArray opcodes;
    for (qsizetype i = 0; i < p.opcodes.size(); ++i) {
        const OpcodeStats &o = p.opcodes.at(i);
        QJsonObject j{{u"code"_s, qint64(o.code)}, {u"hex"_s, Format::opcode(o.code)},
                      {u"in"_s, qint64(o.messagesIn)}, {u"out"_s, qint64(o.messagesOut)},
                      {u"bytesIn"_s, qint64(o.bytesIn)}, {u"bytesOut"_s, qint64(o.bytesOut)}};
        if (!o.name.isEmpty())
            j.insert(u"name"_s, o.name);
        j.insert(u"rates"_s, rates && i < rates->opcodes.size() ? ratesJson(rates->opcodes.at(i))
                                                                 : unmeasuredJson());
        opcodes.append(j);
    }
    QJsonArray security;
    for (const SecurityEntry &s : p.security)
        security.append(QJsonObject{{u"peer"_s, s.peer}, {u"reason"_s, s.reason},
                                    {u"count"_s, qint64(s.count)}});
    return {{u"pid"_s, p.pid},
            {u"role"_s, processRoleName(p.role)},
            {u"slot"_s, p.slot},
            {u"exec"_s, p.exec},
            {u"state"_s, processStateName(p.state)},
            {u"responding"_s, p.responding},
            {u"startedAt"_s, p.startedAt},
            {u"uptimeMs"_s, p.uptimeMs},
            {u"restarts"_s, qint64(p.restarts)},
            {u"idleMs"_s, p.idleMs},
            {u"backlog"_s, qint64(p.backlog)},
            {u"cpuPercent"_s, p.cpuPercent < 0 ? QJsonValue(QJsonValue::Null) : QJsonValue(p.cpuPercent)},
            {u"rssBytes"_s, p.rssBytes < 0 ? QJsonValue(QJsonValue::Null) : QJsonValue(p.rssBytes)},
            {u"counters"_s, counters},
            {u"rates"_s, rates ? ratesJson(rates->total) : unmeasuredJson()},
            {u"opcodes"_s, opcodes},
            {u"security"_s, security}};
}

} // namespace

QJsonObject statusJson(const ClusterState &state)
{
    QJsonArray machines;
    for (const MachineEntry &m : state.machines()) {
        if (!m.hasSnapshot)
            continue;
        QJsonArray processes;
        for (qsizetype i = 0; i < m.snapshot.processes.size(); ++i)
            processes.append(processJson(m.snapshot.processes.at(i),
                                         i < m.rates.size() ? &m.rates.at(i) : nullptr,
                                         ratesMeasured(state, m.machine,
                                                       m.snapshot.processes.at(i))));
        QJsonArray peers;
        for (const PeerSnapshot &p : m.snapshot.peers)
            peers.append(QJsonObject{{u"machine"_s, hex(p.machine)}, {u"address"_s, p.address},
                                     {u"port"_s, p.port}, {u"version"_s, p.version},
                                     {u"monitor"_s, p.monitor}, {u"rttMs"_s, p.rttMs}});
        machines.append(QJsonObject{{u"machine"_s, hex(m.machine)},
                                    {u"host"_s, m.snapshot.host},
                                    {u"address"_s, m.address},
                                    {u"port"_s, m.port},
                                    {u"version"_s, m.snapshot.version},
                                    {u"connected"_s, m.connected},
                                    {u"rttMs"_s, m.rttMs},
                                    {u"time"_s, m.snapshot.time},
                                    {u"remoteControl"_s, m.snapshot.remoteControl},
                                    {u"trace"_s, m.snapshot.trace},
                                    {u"processes"_s, processes},
                                    {u"peers"_s, peers},
                                    {u"exits"_s, exitsJson(m.snapshot)}});
    }
    QJsonArray refused;
    for (const RefusedPeer &r : state.refused())
        refused.append(QJsonObject{{u"peer"_s, r.peer}, {u"reason"_s, r.reason},
                                   {u"incompatible"_s, r.incompatible},
                                   {u"count"_s, qint64(r.count)}});
    return {{u"machines"_s, machines}, {u"refused"_s, refused},
            {u"alarms"_s, alarmsJson(state.alarms())}};
}

bool ratesMeasured(const ClusterState &state, quint64 machine, const ProcessSnapshot &process)
{
    // ClusterState appends to a process's history exactly when it computed its rates from
    // two snapshots, and drops the history when the process leaves a snapshot.
    const RateHistory *h = state.history({machine, process.pid});
    return h && !h->isEmpty();
}

QString columnTitle(Column column)
{
    static const char16_t *const titles[ColumnCount] = {
        u"PID", u"ROLE", u"SLOT", u"STATE", u"UPTIME", u"CPU%", u"RSS", u"MSGS IN",
        u"MSGS OUT", u"RATE IN", u"RATE OUT", u"BYTES IN", u"BYTES OUT", u"BACKLOG",
        u"RESTARTS"};
    return QStringView(titles[int(column)]).toString();
}

QString elide(const QString &text, int width)
{
    if (width <= 0 || text.size() <= width)
        return text;
    if (width == 1)
        return u"\u2026"_s;
    // Cut after the last whole word if that keeps most of the room, else mid-word.
    qsizetype cut = width - 1;
    const qsizetype space = text.lastIndexOf(u' ', cut);
    if (space >= (width * 2) / 3)
        cut = space;
    return QStringView(text).left(cut).trimmed().toString() + u'\u2026';
}

QString fitFields(const QStringList &fields, int width)
{
    QString line;
    for (const QString &f : fields) {
        if (f.isEmpty())
            continue;
        if (line.isEmpty()) {
            line = elide(f, width);
            continue;
        }
        if (width > 0 && line.size() + 2 + f.size() > width)
            break;
        line += u"  "_s + f;
    }
    return line;
}

namespace {

struct ColumnSpec
{
    int width;
    bool right;
    int keep;      // the columns with the lowest value are dropped first
    bool numeric;  // sorted biggest first
};

constexpr ColumnSpec Columns[ColumnCount] = {
    {8, false, 100, true},   // PID
    {7, false, 90, false},   // ROLE
    {4, true, 80, true},     // SLOT
    {9, false, 85, false},   // STATE
    {11, false, 50, true},   // UPTIME
    {6, true, 75, true},     // CPU%
    {8, true, 65, true},     // RSS
    {8, true, 60, true},     // MSGS IN
    {8, true, 60, true},     // MSGS OUT
    {9, true, 70, true},     // RATE IN
    {9, true, 70, true},     // RATE OUT
    {9, true, 30, true},     // BYTES IN
    {9, true, 30, true},     // BYTES OUT
    {9, true, 40, true},     // BACKLOG
    {8, true, 45, true},     // RESTARTS
};

struct Row
{
    const ProcessSnapshot *process;
    Rates rates;
    bool measured;
    qsizetype order;   // in the snapshot
};

double sortValue(const Row &r, Column c)
{
    const ProcessSnapshot &p = *r.process;
    switch (c) {
    case Column::Pid: return double(p.pid);
    case Column::Slot: return double(p.slot);
    case Column::Uptime: return double(p.uptimeMs);
    case Column::Cpu: return p.cpuPercent;
    case Column::Rss: return double(p.rssBytes);
    case Column::MessagesIn: return double(p.counters.messagesIn);
    case Column::MessagesOut: return double(p.counters.messagesOut);
    case Column::RateIn: return r.measured ? r.rates.messagesIn : -1;
    case Column::RateOut: return r.measured ? r.rates.messagesOut : -1;
    case Column::BytesIn: return double(p.counters.bytesIn);
    case Column::BytesOut: return double(p.counters.bytesOut);
    case Column::Backlog: return double(p.backlog);
    case Column::Restarts: return double(p.restarts);
    case Column::Role:
    case Column::State:
        break;
    }
    return 0;
}

QString cellText(const Row &r, Column c)
{
    const ProcessSnapshot &p = *r.process;
    switch (c) {
    case Column::Pid: return QString::number(p.pid);
    case Column::Role: return processRoleName(p.role);
    case Column::Slot: return p.slot < 0 ? u"-"_s : QString::number(p.slot);
    case Column::State: return processStateName(p.state);
    case Column::Uptime: return Format::duration(p.uptimeMs);
    case Column::Cpu: return p.cpuPercent < 0 ? u"-"_s : QString::number(p.cpuPercent, 'f', 1);
    case Column::Rss: return p.rssBytes < 0 ? u"-"_s : Format::bytes(double(p.rssBytes));
    case Column::MessagesIn: return Format::count(double(p.counters.messagesIn));
    case Column::MessagesOut: return Format::count(double(p.counters.messagesOut));
    case Column::RateIn: return r.measured ? Format::rate(r.rates.messagesIn) : u"-"_s;
    case Column::RateOut: return r.measured ? Format::rate(r.rates.messagesOut) : u"-"_s;
    case Column::BytesIn: return Format::bytes(double(p.counters.bytesIn));
    case Column::BytesOut: return Format::bytes(double(p.counters.bytesOut));
    case Column::Backlog: return Format::bytes(double(p.backlog));
    case Column::Restarts: return QString::number(p.restarts);
    }
    return {};
}

// A master's text (its host name) on one line: control characters would break the table.
QString printable(const QString &text)
{
    QString out = text;
    for (QChar &c : out) {
        if (c.unicode() < 0x20 || c.unicode() == 0x7f)
            c = QChar(QChar::ReplacementCharacter);
    }
    return out;
}

QString cell(const QString &text, int width, bool right)
{
    const QString t = elide(text, width);
    return right ? t.rightJustified(width) : t.leftJustified(width);
}

// The columns shown within \a width: drop the least important until the table fits.
QList<Column> fittingColumns(int width, Column sortBy)
{
    QList<Column> shown;
    for (int i = 0; i < ColumnCount; ++i)
        shown.append(Column(i));
    const auto lineWidth = [&] {
        int w = 2;   // the indent
        for (Column c : shown)
            w += Columns[int(c)].width + 1;
        return w - 1;
    };
    while (width > 0 && shown.size() > 1 && lineWidth() > width) {
        qsizetype drop = -1;
        for (qsizetype i = 0; i < shown.size(); ++i) {
            if (shown.at(i) == sortBy && shown.size() > 1)
                continue;
            if (drop < 0 || Columns[int(shown.at(i))].keep <= Columns[int(shown.at(drop))].keep)
                drop = i;
        }
        if (drop < 0)
            break;
        shown.removeAt(drop);
    }
    return shown;
}

} // namespace

QString statusTable(const ClusterState &state, const TableOptions &options)
{
    const int width = options.width;
    QString out;
    const auto line = [&](const QString &text) { out += elide(text, width) + u'\n'; };
    const QList<Column> shown = fittingColumns(width, options.sortBy);
    // A single column that is still too wide gets what there is.
    const auto columnWidth = [&](Column c) {
        const int w = Columns[int(c)].width;
        return width > 0 && shown.size() == 1 ? qMax(1, qMin(w, width - 2)) : w;
    };
    for (const MachineEntry &m : state.machines()) {
        if (!m.hasSnapshot)
            continue;
        out += fitFields({u"machine "_s + Format::machineId(m.machine),
                          elide(printable(m.snapshot.host), 32),
                          u"%1:%2"_s.arg(m.address).arg(m.port),
                          u"Plexus "_s + m.snapshot.version,
                          u"rtt "_s + (m.rttMs < 0 ? u"-"_s : QString::number(m.rttMs, 'f', 2) + u" ms"_s),
                          u"remote control "_s + (m.snapshot.remoteControl ? u"on"_s : u"off"_s)},
                         width)
               + u'\n';
        QString header = u"  "_s;
        for (Column c : shown)
            header += cell(columnTitle(c), columnWidth(c), Columns[int(c)].right) + u' ';
        line(header.trimmed().prepend(u"  "_s));

        QList<Row> rows;
        for (qsizetype i = 0; i < m.snapshot.processes.size(); ++i) {
            const ProcessSnapshot &p = m.snapshot.processes.at(i);
            rows.append({&p, i < m.rates.size() ? m.rates.at(i).total : Rates(),
                         ratesMeasured(state, m.machine, p), i});
        }
        const Column by = options.sortBy;
        const bool numeric = Columns[int(by)].numeric;
        std::stable_sort(rows.begin(), rows.end(), [&](const Row &a, const Row &b) {
            if (by == Column::Slot)   // the snapshot's order: the master, then by slot
                return options.reversed ? a.order > b.order : a.order < b.order;
            if (numeric) {
                const double x = sortValue(a, by), y = sortValue(b, by);
                return options.reversed ? x < y : x > y;
            }
            const int cmp = cellText(a, by).compare(cellText(b, by));
            return options.reversed ? cmp > 0 : cmp < 0;
        });
        for (const Row &r : std::as_const(rows)) {
            QString text = u"  "_s;
            for (Column c : shown)
                text += cell(cellText(r, c), columnWidth(c), Columns[int(c)].right) + u' ';
            text.chop(1);
            line(text);
        }
        out += exitsText(m.snapshot, options.exits, width);
        out += u'\n';
    }
    for (const RefusedPeer &r : state.refused())
        line(u"refused %1: %2 (%3 times)"_s.arg(r.peer, r.reason).arg(r.count));
    return out;
}

QString traceLine(const TraceSample &s)
{
    const QString to = s.to == 0 ? u"machine "_s + Format::machineId(s.toMachine)
                                 : QString::number(s.to);
    return u"%1 %2 %3 %4 -> %5 %6 %7 bytes id %8"_s
            .arg(Format::time(s.time), Format::machineId(s.machine),
                 messageKindName(s.kind).leftJustified(9), QString::number(s.from), to,
                 s.opcode ? Format::opcode(s.opcode) : u"function"_s)
            .arg(s.size)
            .arg(hex(s.id));
}

QJsonObject traceJson(const TraceSample &s)
{
    return {{u"time"_s, s.time},
            {u"machine"_s, hex(s.machine)},
            {u"from"_s, s.from},
            {u"fromMachine"_s, hex(s.fromMachine)},
            {u"to"_s, s.to},
            {u"toMachine"_s, hex(s.toMachine)},
            {u"kind"_s, messageKindName(s.kind)},
            {u"opcode"_s, qint64(s.opcode)},
            {u"size"_s, qint64(s.size)},
            {u"id"_s, hex(s.id)},
            {u"flags"_s, qint64(s.flags)}};
}

} // namespace PlexusCtl
