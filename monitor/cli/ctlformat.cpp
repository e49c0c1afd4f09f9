// SPDX-License-Identifier: MIT
#include "ctlformat.h"

#include "clusterstate.h"
#include "format.h"

#include <QtCore/qjsonarray.h>

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

QJsonObject processJson(const ProcessSnapshot &p, const ProcessRates *rates)
{
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
                         {u"canceledCalls"_s, qint64(c.canceledCalls)}};
    QJsonArray opcodes;
    for (qsizetype i = 0; i < p.opcodes.size(); ++i) {
        const OpcodeStats &o = p.opcodes.at(i);
        QJsonObject j{{u"code"_s, qint64(o.code)}, {u"hex"_s, Format::opcode(o.code)},
                      {u"in"_s, qint64(o.messagesIn)}, {u"out"_s, qint64(o.messagesOut)},
                      {u"bytesIn"_s, qint64(o.bytesIn)}, {u"bytesOut"_s, qint64(o.bytesOut)}};
        if (!o.name.isEmpty())
            j.insert(u"name"_s, o.name);
        if (rates && i < rates->opcodes.size())
            j.insert(u"rates"_s, ratesJson(rates->opcodes.at(i)));
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
            {u"counters"_s, counters},
            {u"rates"_s, ratesJson(rates ? rates->total : Rates())},
            {u"opcodes"_s, opcodes},
            {u"security"_s, security}};
}

QString cell(const QString &text, int width, bool right = false)
{
    const QString t = text.size() > width ? text.left(width) : text;
    return right ? t.rightJustified(width) : t.leftJustified(width);
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
                                         i < m.rates.size() ? &m.rates.at(i) : nullptr));
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
                                    {u"peers"_s, peers}});
    }
    QJsonArray refused;
    for (const RefusedPeer &r : state.refused())
        refused.append(QJsonObject{{u"peer"_s, r.peer}, {u"reason"_s, r.reason},
                                   {u"incompatible"_s, r.incompatible},
                                   {u"count"_s, qint64(r.count)}});
    return {{u"machines"_s, machines}, {u"refused"_s, refused}};
}

QString statusTable(const ClusterState &state, int width)
{
    QString out;
    const auto line = [&](const QString &text) {
        out += (width > 0 && text.size() > width ? text.left(width) : text) + u'\n';
    };
    for (const MachineEntry &m : state.machines()) {
        if (!m.hasSnapshot)
            continue;
        line(u"machine %1  %2  %3:%4  Plexus %5  rtt %6  remote control %7"_s
                     .arg(Format::machineId(m.machine), m.snapshot.host, m.address)
                     .arg(m.port)
                     .arg(m.snapshot.version,
                          m.rttMs < 0 ? u"-"_s : QString::number(m.rttMs, 'f', 2) + u" ms"_s,
                          m.snapshot.remoteControl ? u"on"_s : u"off"_s));
        line(u"  "_s + cell(u"PID"_s, 8) + u' ' + cell(u"ROLE"_s, 7) + u' ' + cell(u"SLOT"_s, 4, true)
             + u' ' + cell(u"STATE"_s, 9) + u' ' + cell(u"UPTIME"_s, 11) + u' '
             + cell(u"MSGS IN"_s, 8, true) + u' ' + cell(u"MSGS OUT"_s, 8, true) + u' '
             + cell(u"RATE IN"_s, 9, true) + u' ' + cell(u"RATE OUT"_s, 9, true) + u' '
             + cell(u"BYTES IN"_s, 9, true) + u' ' + cell(u"BYTES OUT"_s, 9, true) + u' '
             + cell(u"BACKLOG"_s, 9, true) + u' ' + cell(u"RESTARTS"_s, 8, true));
        for (qsizetype i = 0; i < m.snapshot.processes.size(); ++i) {
            const ProcessSnapshot &p = m.snapshot.processes.at(i);
            const Rates r = i < m.rates.size() ? m.rates.at(i).total : Rates();
            line(u"  "_s + cell(QString::number(p.pid), 8) + u' ' + cell(processRoleName(p.role), 7)
                 + u' ' + cell(p.slot < 0 ? u"-"_s : QString::number(p.slot), 4, true) + u' '
                 + cell(processStateName(p.state), 9) + u' ' + cell(Format::duration(p.uptimeMs), 11)
                 + u' ' + cell(Format::count(double(p.counters.messagesIn)), 8, true) + u' '
                 + cell(Format::count(double(p.counters.messagesOut)), 8, true) + u' '
                 + cell(Format::rate(r.messagesIn), 9, true) + u' '
                 + cell(Format::rate(r.messagesOut), 9, true) + u' '
                 + cell(Format::bytes(double(p.counters.bytesIn)), 9, true) + u' '
                 + cell(Format::bytes(double(p.counters.bytesOut)), 9, true) + u' '
                 + cell(Format::bytes(double(p.backlog)), 9, true) + u' '
                 + cell(QString::number(p.restarts), 8, true));
        }
        line({});
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
