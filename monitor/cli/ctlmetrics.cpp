// SPDX-License-Identifier: MIT
#include "ctlmetrics.h"

#include "clusterstate.h"

#include <QtCore/qhash.h>
#include <QtCore/qlist.h>
#include <QtCore/qlocale.h>
#include <QtCore/qset.h>

#include <algorithm>
#include <cmath>

using namespace Qt::StringLiterals;
using namespace PlexusMonitor;

namespace PlexusCtl {

QByteArray escapeLabelValue(const QString &value)
{
    QString clean;
    clean.reserve(value.size());
    for (QChar c : value) {
        const char16_t u = c.unicode();
        if (u == u'\\')
            clean += u"\\\\"_s;
        else if (u == u'"')
            clean += u"\\\""_s;
        else if (u == u'\n')
            clean += u"\\n"_s;
        else if (u < 0x20 || u == 0x7f)
            clean += QChar(QChar::ReplacementCharacter);
        else
            clean += c;
    }
    // A lone surrogate (a master's broken UTF-8) becomes U+FFFD here too.
    return clean.toUtf8();
}

namespace {

using Labels = QList<std::pair<const char *, QString>>;

QByteArray number(quint64 v)
{
    return QByteArray::number(v);
}

QByteArray number(double v)
{
    if (std::isnan(v))
        return "NaN";
    if (std::isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    return QString::number(v, 'g', QLocale::FloatingPointShortest).toLatin1();
}

// The families in the order first used, each with its samples, and the series seen.
class Exposition
{
public:
    void add(const char *name, const char *type, const char *help, const Labels &labels,
             const QByteArray &value)
    {
        auto it = m_index.constFind(name);
        if (it == m_index.cend()) {
            it = m_index.insert(name, m_families.size());
            m_families.append({name, type, help, {}, {}});
        }
        Family &f = m_families[*it];
        QByteArray series = name;
        for (qsizetype i = 0; i < labels.size(); ++i) {
            series += i ? ',' : '{';
            series += labels.at(i).first;
            series += "=\"" + escapeLabelValue(labels.at(i).second) + '"';
        }
        if (!labels.isEmpty())
            series += '}';
        if (f.series.contains(series))
            return;   // listed twice by a master: the first one counts
        f.series.insert(series);
        f.samples += series + ' ' + value + '\n';
    }

    QByteArray text() const
    {
        QByteArray out;
        for (const Family &f : m_families) {
            out += "# HELP " + f.name + ' ' + f.help + '\n';
            out += "# TYPE " + f.name + ' ' + f.type + '\n';
            out += f.samples;
        }
        return out;
    }

private:
    struct Family {
        QByteArray name;
        QByteArray type;
        QByteArray help;   // constant texts below: nothing to escape
        QByteArray samples;
        QSet<QByteArray> series;
    };
    QList<Family> m_families;
    QHash<QByteArray, qsizetype> m_index;
};

QString machineLabel(quint64 id)
{
    return u"0x"_s + QString::number(id, 16).rightJustified(16, u'0');
}

void addProcess(Exposition &x, const Labels &machine, const ProcessSnapshot &p)
{
    Labels l = machine;
    l.append({"pid", QString::number(p.pid)});
    l.append({"role", processRoleName(p.role)});
    l.append({"slot", QString::number(p.slot)});

    x.add("plexus_process_up", "gauge",
          "1 while the process runs (state starting or running), 0 once it exited or was given up.",
          l, (p.state == ProcessState::Starting || p.state == ProcessState::Running) ? "1" : "0");
    x.add("plexus_process_responding", "gauge",
          "1 if the process answered the snapshot itself, 0 if only its master reported it.",
          l, p.responding ? "1" : "0");
    x.add("plexus_process_start_time_seconds", "gauge",
          "When the process started, seconds since the epoch (its master's clock).",
          l, number(double(p.startedAt) / 1000.0));
    x.add("plexus_process_restarts_total", "counter",
          "Restarts of the worker in this slot.", l, number(p.restarts));
    // Measured by the master from /proc; absent (rather than -1) when it could not.
    if (p.cpuPercent >= 0)
        x.add("plexus_process_cpu_ratio", "gauge",
              "User and system CPU time per second of wall time (1 = one core busy).", l,
              number(p.cpuPercent / 100.0));
    if (p.rssBytes >= 0)
        x.add("plexus_process_resident_memory_bytes", "gauge", "Resident memory (RSS).", l,
              number(quint64(p.rssBytes)));
    x.add("plexus_process_backlog_bytes", "gauge",
          "Bytes queued on the master's side of the process's link (the master: all its links).",
          l, number(p.backlog));

    for (int k = 0; k < MessageKindCount; ++k) {
        const KindCounters &c = p.kinds.at(size_t(k));
        Labels lk = l;
        lk.append({"kind", messageKindName(MessageKind(k))});
        x.add("plexus_process_received_messages_total", "counter",
              "Messages the process received, by kind.", lk, number(c.messagesIn));
        x.add("plexus_process_sent_messages_total", "counter",
              "Messages the process sent, by kind.", lk, number(c.messagesOut));
        x.add("plexus_process_received_bytes_total", "counter",
              "Bytes (header and payload, as framed) the process received, by kind.", lk,
              number(c.bytesIn));
        x.add("plexus_process_sent_bytes_total", "counter",
              "Bytes (header and payload, as framed) the process sent, by kind.", lk,
              number(c.bytesOut));
    }

    // A master may list the same reason for several peers: one series per reason.
    QList<std::pair<QString, quint64>> reasons;
    for (const SecurityEntry &s : p.security) {
        auto it = std::find_if(reasons.begin(), reasons.end(),
                               [&](const auto &r) { return r.first == s.reason; });
        if (it == reasons.end())
            reasons.append({s.reason, s.count});
        else
            it->second += s.count;
    }
    for (const auto &[reason, count] : std::as_const(reasons)) {
        Labels lr = l;
        lr.append({"reason", reason});
        x.add("plexus_process_rejected_frames_total", "counter",
              "Frames the process rejected, by reason (a Plexus::FrameError name).", lr,
              number(count));
    }

    const ProcessCounters &c = p.counters;
    x.add("plexus_process_late_replies_total", "counter",
          "Replies that arrived after their call had finished.", l, number(c.lateReplies));
    x.add("plexus_process_dropped_replies_total", "counter",
          "Replies dropped.", l, number(c.droppedReplies));
    x.add("plexus_process_unknown_opcodes_total", "counter",
          "Messages for an op-code the process has no handler for.", l, number(c.unknownOpcodes));
    x.add("plexus_process_backpressure_errors_total", "counter",
          "Sends refused because a link's queue was over its limit.", l,
          number(c.backpressureErrors));
    x.add("plexus_process_canceled_calls_total", "counter",
          "Requests that ended cancelled, without a final reply.", l, number(c.canceledCalls));
    x.add("plexus_process_dropped_incoming_total", "counter",
          "Messages from other machines dropped unread: the process did not keep up.", l,
          number(c.droppedIncoming));
}

} // namespace

QByteArray metricsText(const ClusterState &state)
{
    Exposition x;
    int reporting = 0;
    for (const MachineEntry &m : state.machines()) {
        if (!m.hasSnapshot)
            continue;
        ++reporting;
        const MachineSnapshot &s = m.snapshot;
        const Labels machine{{"machine", machineLabel(m.machine)}, {"host", s.host}};
        Labels info = machine;
        info.append({"version", s.version});
        x.add("plexus_machine_info", "gauge",
              "Always 1: the machine's Plexus version as a label.", info, "1");
        int peers = 0;
        for (const PeerSnapshot &p : s.peers)
            peers += p.monitor ? 0 : 1;
        x.add("plexus_machine_peers", "gauge",
              "Machines the master has a cluster link to (monitors not counted).", machine,
              number(quint64(peers)));
        if (m.rttMs >= 0)
            x.add("plexus_machine_rtt_seconds", "gauge",
                  "Round-trip time between this monitor and the master.", machine,
                  number(m.rttMs / 1000.0));
        x.add("plexus_machine_remote_control", "gauge",
              "1 if the master accepts control actions.", machine, s.remoteControl ? "1" : "0");
        x.add("plexus_machine_trace_dropped_batches_total", "counter",
              "Trace batches the master dropped for slow subscribers.", machine,
              number(s.traceDropped));
        for (const ProcessSnapshot &p : s.processes)
            addProcess(x, machine, p);
    }
    x.add("plexus_monitor_reporting_machines", "gauge",
          "Machines whose master answered this monitor's snapshot.", {}, number(quint64(reporting)));
    return x.text();
}

} // namespace PlexusCtl
