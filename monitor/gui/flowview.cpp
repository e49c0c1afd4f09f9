// SPDX-License-Identifier: MIT
#include "flowview.h"

#include "flowwidget.h"
#include "presentation.h"

#include "clusterstate.h"
#include "format.h"

#include <QtCore/qdatetime.h>
#include <QtWidgets/qboxlayout.h>
#include <QtWidgets/qcombobox.h>
#include <QtWidgets/qlabel.h>
#include <QtWidgets/qscrollarea.h>
#include <QtWidgets/qtoolbar.h>

using namespace Qt::StringLiterals;

namespace PlexusMonitor::Gui {

namespace {
// Sampled marks drawn at most: beyond this the aggregated bars tell the story anyway.
constexpr int MaxMarks = 3000;
}

FlowView::FlowView(const ClusterState *state, QWidget *parent)
    : ViewPage(u"flow"_s, tr("Flow"), parent), m_state(state)
{
    toolBar()->addWidget(new QLabel(tr("Window "), toolBar()));
    m_window = new QComboBox(toolBar());
    m_window->addItem(tr("15 s"), 15'000);
    m_window->addItem(tr("30 s"), 30'000);
    m_window->addItem(tr("1 min"), 60'000);
    m_window->addItem(tr("5 min"), 300'000);
    m_window->setCurrentIndex(1);
    toolBar()->addWidget(m_window);
    connect(m_window, &QComboBox::currentIndexChanged, this, [this] {
        m_flow->setWindowMs(m_window->currentData().toLongLong());
        refreshNow();
    });
    finishToolBar();
    setRefreshInterval(500);

    auto *scroll = new QScrollArea(this);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::StyledPanel);
    m_flow = new FlowWidget(scroll);
    scroll->setWidget(m_flow);
    contentLayout()->addWidget(scroll, 1);
    m_summary = new QLabel(this);
    m_summary->setForegroundRole(QPalette::PlaceholderText);
    m_summary->setText(tr("Bars: what each process sent per trace interval, by kind. "
                          "Triangles: sampled messages. Hover for details."));
    contentLayout()->addWidget(m_summary);
}

void FlowView::refreshView()
{
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const qint64 since = now - m_flow->windowMs();
    const QList<FlowLane> lanes = m_state->flow().lanes(since);

    // Sampled headers of the window, by sender.
    QHash<std::pair<quint64, qint64>, QList<FlowViewMark>> marks;
    const quint64 next = m_state->traceSequence();
    quint64 first = 0;
    const QList<TraceSample> samples = m_state->traceSamples(next > MaxMarks ? next - MaxMarks : 0, &first);
    QHash<quint32, QString> names;
    for (qsizetype i = 0; i < samples.size(); ++i) {
        const TraceSample &s = samples.at(i);
        if (s.time < since)
            continue;
        // The widget draws a mark once, when its sequence number is new (counted from 1).
        marks[{s.fromMachine ? s.fromMachine : s.machine, s.from}].append(
                {s.time, s.kind, s.opcode, QString(), s.size, s.to, first + quint64(i) + 1});
    }

    QList<FlowViewLane> view;
    view.reserve(lanes.size());
    for (const FlowLane &lane : lanes) {
        FlowViewLane v;
        v.pid = lane.pid;
        const MachineEntry *machine = m_state->machine(lane.machine);
        const QString host = machine && !machine->snapshot.host.isEmpty() ? machine->snapshot.host
                                                                          : Format::machineId(lane.machine);
        v.group = host + u"  ·  "_s + Format::machineId(lane.machine);
        const ProcessSnapshot *p = m_state->process({lane.machine, lane.pid});
        if (!p)
            v.label = tr("pid %1 (gone)").arg(lane.pid);
        else if (p->isMaster())
            v.label = tr("master · %1").arg(lane.pid);
        else
            v.label = tr("worker %1 · %2").arg(p->slot).arg(lane.pid);
        if (p)
            for (const OpcodeStats &o : p->opcodes)
                if (!o.name.isEmpty())
                    names.insert(o.code, o.name);
        v.bars.reserve(lane.buckets.size());
        for (const FlowBucket &b : lane.buckets) {
            FlowViewBar &bar = v.bars.emplace_back();
            bar.endTime = b.time;
            bar.intervalMs = b.intervalMs;
            bar.entries = b.entries;
            for (const FlowEntry &e : b.entries)
                bar.add(e.kind, e.count, e.bytes);
        }
        v.marks = marks.value({lane.machine, lane.pid});
        view.append(v);
    }
    for (FlowViewLane &lane : view)
        for (FlowViewMark &m : lane.marks)
            m.opcodeName = names.value(m.opcode);
    m_flow->setOpcodeNames(names);
    m_flow->setLanes(view, now);
}

} // namespace PlexusMonitor::Gui
