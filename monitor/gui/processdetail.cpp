// SPDX-License-Identifier: MIT
#include "processdetail.h"

#include "presentation.h"
#include "processchart.h"

#include "format.h"

#include <QtCore/qdatetime.h>
#include <QtGui/qtextdocument.h>
#include <QtWidgets/qboxlayout.h>
#include <QtWidgets/qlabel.h>
#include <QtWidgets/qscrollarea.h>

using namespace Qt::StringLiterals;

namespace PlexusMonitor::Gui {

namespace {

QString row(const QString &name, const QString &value)
{
    return u"<tr><td style='color:palette(placeholder-text); padding-right:10px'>"_s + name
            + u"</td><td>"_s + value + u"</td></tr>"_s;
}

QString heading(const QString &text)
{
    return u"<tr><td colspan=5 style='padding-top:8px'><b>"_s + text + u"</b></td></tr>"_s;
}

} // namespace

ProcessDetail::ProcessDetail(QWidget *parent) : QFrame(parent)
{
    setFrameShape(QFrame::StyledPanel);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    auto *scroll = new QScrollArea(this);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setWidgetResizable(true);
    m_text = new QLabel(scroll);
    m_text->setTextFormat(Qt::RichText);
    m_text->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    m_text->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_text->setMargin(8);
    m_text->setWordWrap(true);
    scroll->setWidget(m_text);
    layout->addWidget(scroll, 1);
    m_chart = new ProcessChart(this);
    m_chart->setMaximumHeight(190);
    layout->addWidget(m_chart);
    setMinimumWidth(260);
    showNothing();
}

void ProcessDetail::showNothing()
{
    m_chart->hide();
    m_text->setText(tr("<p style='color:gray'>Select a machine or a process to see its "
                       "details here, and its op-codes on the right.</p>"));
}

void ProcessDetail::showMachine(const MachineEntry &m, const RateHistory *history, qint64 now)
{
    m_chart->setHistory(history, now);
    m_chart->show();
    const MachineSnapshot &s = m.snapshot;
    QString html = u"<h3 style='margin:0'>"_s + (s.host.isEmpty() ? m.address : s.host).toHtmlEscaped()
            + u"</h3><table>"_s;
    html += row(tr("Machine"), Format::machineId(m.machine));
    html += row(tr("Version"), (m.version.isEmpty() ? s.version : m.version).toHtmlEscaped());
    html += row(tr("Address"), m.address.toHtmlEscaped() + u':' + QString::number(m.port));
    html += row(tr("Link"), m.connected ? tr("connected %1").arg(Presentation::ago(
                                                  QDateTime::currentMSecsSinceEpoch() - m.connectedSince))
                                        : m.discoveredOnly ? tr("seen in a peer list only")
                                                           : tr("disconnected"));
    if (m.rttMs >= 0)
        html += row(tr("Round trip"), QString::number(m.rttMs, 'f', 2) + u" ms"_s);
    html += row(tr("Processes"), QString::number(s.processes.size()));
    html += row(tr("Remote control"), s.remoteControl ? tr("allowed") : tr("refused by the master"));
    html += row(tr("Trace"), s.trace ? tr("%1 batches, %2 messages, %3 dropped")
                                               .arg(Presentation::count(double(m.traceBatches)),
                                                    Presentation::count(double(m.traceEvents)))
                                               .arg(m.traceDropped)
                                     : tr("refused by the master"));
    if (m.badAnswers)
        html += row(tr("Bad answers"), u"<span style='color:#c0392b'>%1: %2</span>"_s
                                               .arg(m.badAnswers).arg(m.lastError.toHtmlEscaped()));
    html += heading(tr("Cluster links"));
    for (const PeerSnapshot &p : s.peers)
        html += row(p.monitor ? tr("monitor") : Format::machineId(p.machine),
                    p.address.toHtmlEscaped() + u':' + QString::number(p.port) + u"  "_s
                            + (p.rttMs >= 0 ? QString::number(p.rttMs, 'f', 2) + u" ms"_s : QString()));
    html += u"</table>"_s;
    html += exitsTable(s, -2);   // the machine's exit history (Observer's exit reasons)
    m_text->setText(html);
}

void ProcessDetail::showProcess(const MachineEntry &m, const ProcessSnapshot &p,
                                const ProcessRates *rates, const RateHistory *history, qint64 now)
{
    m_chart->setHistory(history, now);
    m_chart->show();
    const QString title = p.isMaster() ? tr("master") : tr("worker %1").arg(p.slot);
    QString html = u"<h3 style='margin:0'>"_s + title + u" · pid "_s + QString::number(p.pid)
            + u"</h3><div style='color:gray'>"_s + m.snapshot.host.toHtmlEscaped() + u" · "_s
            + Format::machineId(m.machine) + u"</div><table>"_s;
    html += row(tr("State"), processStateName(p.state)
                                     + (p.responding ? QString() : tr(" (not answering: master's view)")));
    if (p.exec)
        html += row(tr("Started as"), tr("exec'd program"));
    html += row(tr("Uptime"), Presentation::duration(p.uptimeMs));
    html += row(tr("Started"), Format::time(p.startedAt));
    html += row(tr("Restarts"), QString::number(p.restarts));
    html += row(tr("Last activity"), Presentation::ago(p.idleMs));
    html += row(tr("Backlog"), Presentation::bytes(double(p.backlog)));
    html += row(tr("CPU"), p.cpuPercent < 0 ? tr("unknown") : tr("%1 % of a core").arg(p.cpuPercent, 0, 'f', 1));
    html += row(tr("Memory (RSS)"), p.rssBytes < 0 ? tr("unknown") : Presentation::bytes(double(p.rssBytes)));
    if (rates)
        html += row(tr("Rate"), tr("%1 in, %2 out (%3 / %4)")
                                        .arg(Presentation::rate(rates->total.messagesIn),
                                             Presentation::rate(rates->total.messagesOut),
                                             Presentation::byteRate(rates->total.bytesIn),
                                             Presentation::byteRate(rates->total.bytesOut)));

    const ProcessCounters &c = p.counters;
    html += heading(tr("Counters"));
    html += row(tr("Messages"), tr("%1 in, %2 out").arg(Presentation::count(double(c.messagesIn)),
                                                      Presentation::count(double(c.messagesOut))));
    html += row(tr("Bytes"), tr("%1 in, %2 out").arg(Presentation::bytes(double(c.bytesIn)),
                                                   Presentation::bytes(double(c.bytesOut))));
    const auto problem = [](quint64 v) {
        return v ? u"<span style='color:#c0392b'>%1</span>"_s.arg(v) : u"0"_s;
    };
    html += row(tr("Rejected frames"), problem(c.rejected));
    html += row(tr("Unknown op-codes"), problem(c.unknownOpcodes));
    html += row(tr("Late / dropped replies"), QString::number(c.lateReplies) + u" / "_s
                                                      + QString::number(c.droppedReplies));
    html += row(tr("Back-pressure errors"), problem(c.backpressureErrors));
    html += row(tr("Held messages"), QString::number(c.heldMessages));
    html += row(tr("Abandoned connections"), QString::number(c.abandonedConnections));
    html += u"</table>"_s;

    html += u"<p style='margin-top:8px'><b>"_s + tr("By kind") + u"</b></p><table cellspacing=0>"_s
            + u"<tr style='color:gray'><td></td><td align=right>&nbsp;in&nbsp;</td>"
              "<td align=right>&nbsp;out&nbsp;</td><td align=right>&nbsp;bytes in&nbsp;</td>"
              "<td align=right>&nbsp;bytes out</td></tr>"_s;
    for (int k = 0; k < MessageKindCount; ++k) {
        const KindCounters &kc = p.kinds[size_t(k)];
        if (!kc.messagesIn && !kc.messagesOut)
            continue;
        const QString name = messageKindName(MessageKind(k));
        html += u"<tr><td><span style='color:%1'>■</span> %2</td><td align=right>%3</td>"
                "<td align=right>%4</td><td align=right>%5</td><td align=right>%6</td></tr>"_s
                        .arg(Presentation::kindColor(name).name(), name,
                             Presentation::count(double(kc.messagesIn)),
                             Presentation::count(double(kc.messagesOut)),
                             Presentation::bytes(double(kc.bytesIn)),
                             Presentation::bytes(double(kc.bytesOut)));
    }
    html += u"</table>"_s;
    if (!p.security.isEmpty()) {
        html += u"<p style='margin-top:8px'><b>"_s + tr("Rejected frames") + u"</b></p><table>"_s;
        for (const SecurityEntry &e : p.security)
            html += row(e.reason.toHtmlEscaped(), tr("%1 × from %2").arg(e.count).arg(e.peer.toHtmlEscaped()));
        html += u"</table>"_s;
    }
    // Why the earlier processes of this slot ended (a master: every slot of its machine).
    html += exitsTable(m.snapshot, p.isMaster() ? -2 : p.slot);
    m_text->setText(html);
}

QString ProcessDetail::plainText() const
{
    QTextDocument doc;
    doc.setHtml(m_text->text());
    return doc.toPlainText();
}

QString ProcessDetail::exitsTable(const MachineSnapshot &s, int slot)
{
    QString rows;
    int shown = 0;
    for (qsizetype i = s.exits.size() - 1; i >= 0 && shown < MaxExitsShown; --i) {
        const WorkerExit &x = s.exits.at(i);
        if (slot != -2 && x.slot != slot)
            continue;
        ++shown;
        const QString color = isFailure(x.reason) ? u"#c0392b"_s : u"gray"_s;
        rows += u"<tr><td>%1&nbsp;</td><td>%2&nbsp;</td><td>pid %3&nbsp;</td>"
                "<td style='color:%4'>%5</td></tr>"_s
                        .arg(Format::time(x.time), slot == -2 ? tr("worker %1").arg(x.slot) : QString())
                        .arg(x.pid)
                        .arg(color, exitDescription(x).toHtmlEscaped());
    }
    if (rows.isEmpty())
        return {};
    return u"<p style='margin-top:8px'><b>"_s + tr("Exits") + u"</b></p><table cellspacing=0>"_s
            + rows + u"</table>"_s;
}

} // namespace PlexusMonitor::Gui
