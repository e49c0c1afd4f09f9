// SPDX-License-Identifier: MIT
#include "processview.h"

#include "emptyoverlay.h"
#include "processdetail.h"

#include "format.h"
#include "modelroles.h"
#include "opcodemodel.h"
#include "processtreemodel.h"

#include <QtCore/qdatetime.h>
#include <QtCore/qsortfilterproxymodel.h>
#include <QtWidgets/qboxlayout.h>
#include <QtWidgets/qheaderview.h>
#include <QtWidgets/qlabel.h>
#include <QtWidgets/qlineedit.h>
#include <QtWidgets/qsplitter.h>
#include <QtWidgets/qtoolbar.h>
#include <QtWidgets/qtreeview.h>

#include <utility>

using namespace Qt::StringLiterals;

namespace PlexusMonitor::Gui {

namespace {

QTreeView *makeTable(QWidget *parent)
{
    auto *view = new QTreeView(parent);
    view->setUniformRowHeights(true);
    view->setAlternatingRowColors(true);
    view->setSortingEnabled(true);
    view->setSelectionMode(QAbstractItemView::SingleSelection);
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setAllColumnsShowFocus(true);
    view->header()->setStretchLastSection(false);
    view->header()->setDefaultAlignment(Qt::AlignLeft | Qt::AlignVCenter);
    return view;
}

// Width for \a sample plus the header text and the sort indicator.
int widthFor(const QTreeView *view, int column, const QString &sample)
{
    const QFontMetrics fm = view->fontMetrics();
    const QString header = view->model()->headerData(column, Qt::Horizontal).toString();
    return std::max(fm.horizontalAdvance(sample), fm.horizontalAdvance(header) + 18) + 16;
}

} // namespace

ProcessView::ProcessView(const ClusterState *state, QWidget *parent)
    : ViewPage(u"processes"_s, tr("Processes"), parent), m_state(state)
{
    m_filter = new QLineEdit(toolBar());
    m_filter->setPlaceholderText(tr("Filter (regular expression): worker|master, ^h1, 4242"));
    m_filter->setClearButtonEnabled(true);
    m_filter->setMinimumWidth(280);
    m_filter->setMaximumWidth(360);
    toolBar()->addWidget(m_filter);
    connect(m_filter, &QLineEdit::textChanged, this, &ProcessView::applyFilter);
    toolBar()->addSeparator();
    m_restart = toolBar()->addAction(QIcon(u":/plexus-monitor/restart.svg"_s), tr("Restart worker"));
    m_restart->setToolTip(tr("Ask its master to restart the selected worker "
                             "(needs remote control on that master)"));
    connect(m_restart, &QAction::triggered, this, [this] {
        const ProcessKey key = selectedProcess();
        if (key.pid)
            Q_EMIT restartRequested(key);
    });
    m_send = toolBar()->addAction(QIcon(u":/plexus-monitor/send.svg"_s), tr("Send test message…"));
    m_send->setToolTip(tr("Send a message to an op-code through the selected machine's master"));
    connect(m_send, &QAction::triggered, this, [this] {
        const QModelIndex current = m_opcodeView->currentIndex();
        const quint32 code = current.isValid() ? current.data(OpcodeRole).toUInt() : 0;
        Q_EMIT sendRequested(selectedMachine(), code);
    });
    m_expand = toolBar()->addAction(tr("Expand all"));
    connect(m_expand, &QAction::triggered, this, [this] { m_tree->expandAll(); });
    finishToolBar();

    m_model = new ProcessTreeModel(state, this);
    m_proxy = new QSortFilterProxyModel(this);
    m_proxy->setSourceModel(m_model);
    m_proxy->setSortRole(SortRole);
    m_proxy->setRecursiveFilteringEnabled(true);
    m_proxy->setFilterKeyColumn(-1);
    m_proxy->setAutoAcceptChildRows(true);   // "^h1" shows the machine with its processes
    m_tree = makeTable(this);
    m_tree->setModel(m_proxy);
    m_tree->sortByColumn(ProcessTreeModel::PidColumn, Qt::AscendingOrder);
    new EmptyOverlay(m_tree, tr("<p><b>No processes yet.</b></p><p>They appear as soon as a "
                                "master answers the monitor's snapshot: see the Machines tab "
                                "for who was found, or whether the SECRET was refused.</p>"));
    connect(m_tree->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &ProcessView::selectionChanged);

    m_opcodes = new OpcodeModel(state, this);
    m_opcodeProxy = new QSortFilterProxyModel(this);
    m_opcodeProxy->setSourceModel(m_opcodes);
    m_opcodeProxy->setSortRole(SortRole);
    m_opcodeView = makeTable(this);
    m_opcodeView->setRootIsDecorated(false);
    m_opcodeView->setModel(m_opcodeProxy);
    m_opcodeView->sortByColumn(OpcodeModel::InColumn, Qt::DescendingOrder);
    m_opcodeView->header()->setSectionResizeMode(OpcodeModel::NameColumn, QHeaderView::Stretch);
    new EmptyOverlay(m_opcodeView, tr("Select a master or a worker to see the op-codes it "
                                      "handled and sent."));

    m_detail = new ProcessDetail(this);
    auto *opcodeBox = new QWidget(this);
    auto *opcodeLayout = new QVBoxLayout(opcodeBox);
    opcodeLayout->setContentsMargins(0, 0, 0, 0);
    m_opcodeTitle = new QLabel(tr("<b>Op-codes</b>"), opcodeBox);
    opcodeLayout->addWidget(m_opcodeTitle);
    opcodeLayout->addWidget(m_opcodeView, 1);

    auto *bottom = new QSplitter(Qt::Horizontal, this);
    bottom->addWidget(m_detail);
    bottom->addWidget(opcodeBox);
    bottom->setStretchFactor(0, 2);
    bottom->setStretchFactor(1, 3);
    auto *split = new QSplitter(Qt::Vertical, this);
    split->addWidget(m_tree);
    split->addWidget(bottom);
    split->setStretchFactor(0, 1);
    split->setStretchFactor(1, 1);
    split->setSizes({380, 360});
    split->setChildrenCollapsible(false);
    contentLayout()->addWidget(split, 1);
    updateActions();
}

ProcessKey ProcessView::selectedProcess() const
{
    const QModelIndex current = m_tree->currentIndex();
    if (!current.isValid())
        return {};
    return m_model->processKey(m_proxy->mapToSource(current));
}

quint64 ProcessView::selectedMachine() const
{
    const QModelIndex current = m_tree->currentIndex();
    return current.isValid() ? current.data(MachineIdRole).toULongLong() : 0;
}

void ProcessView::setFilter(const QString &pattern)
{
    m_filter->setText(pattern);
}

void ProcessView::applyFilter()
{
    const QRegularExpression re(m_filter->text(), QRegularExpression::CaseInsensitiveOption);
    if (!re.isValid()) {
        m_filter->setStyleSheet(u"QLineEdit { border: 1px solid #c0392b; }"_s);
        m_filter->setToolTip(re.errorString());
        return;
    }
    m_filter->setStyleSheet(QString());
    m_filter->setToolTip(QString());
    keepSelection([&] { m_proxy->setFilterRegularExpression(re); });
    m_tree->expandAll();
}

QModelIndex ProcessView::viewIndexOf(const Selected &selected) const
{
    if (!selected.machine)
        return {};
    const QModelIndex source = selected.pid ? m_model->indexOf({selected.machine, selected.pid})
                                            : m_model->indexOfMachine(selected.machine);
    return m_proxy->mapFromSource(source);
}

// Rows that go away take the current index with them, and QAbstractItemView then makes a
// neighbour current: after a restart or a filter change, Restart would act on another
// process. So what is selected is the process (machine, pid); after \a change it is
// selected again if it is still shown, and nothing is selected otherwise.
template <typename Change>
void ProcessView::keepSelection(Change &&change)
{
    const bool nested = std::exchange(m_restoring, true);
    change();
    const QModelIndex index = viewIndexOf(m_selected);
    QItemSelectionModel *selection = m_tree->selectionModel();
    const bool lost = m_selected.machine && !index.isValid();
    if (index.isValid()) {
        if (m_tree->currentIndex().siblingAtColumn(0) != index)
            selection->setCurrentIndex(index, QItemSelectionModel::ClearAndSelect
                                                      | QItemSelectionModel::Rows);
    } else if (m_tree->currentIndex().isValid() || selection->hasSelection()) {
        selection->clear();
    }
    m_restoring = nested;
    if (lost && !nested)
        selectionChanged();   // now nothing: the detail, op-codes and actions follow
}

bool ProcessView::selectFirstWorker()
{
    m_tree->expandAll();
    for (int m = 0; m < m_proxy->rowCount(); ++m) {
        const QModelIndex machine = m_proxy->index(m, 0);
        for (int r = 0; r < m_proxy->rowCount(machine); ++r) {
            const QModelIndex master = m_proxy->index(r, 0, machine);
            if (m_proxy->rowCount(master) > 0) {
                m_tree->setCurrentIndex(m_proxy->index(0, 0, master));
                return true;
            }
        }
    }
    return false;
}

void ProcessView::selectionChanged()
{
    if (m_restoring)
        return;
    const QModelIndex current = m_tree->currentIndex();
    m_selected = current.isValid() ? Selected{selectedMachine(), current.data(PidRole).toLongLong()}
                                   : Selected{};
    const ProcessKey key = selectedProcess();
    m_opcodes->setProcess(key.machine, key.pid);
    updateDetail();
    updateActions();
}

void ProcessView::updateDetail()
{
    const QModelIndex current = m_tree->currentIndex();
    const MachineEntry *machine = current.isValid() ? m_state->machine(selectedMachine()) : nullptr;
    const ProcessKey key = selectedProcess();
    const ProcessSnapshot *process = key.pid ? m_state->process(key) : nullptr;
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    if (machine && process) {
        m_detail->showProcess(*machine, *process, m_state->processRates(key),
                              m_state->history(key), now);
        m_opcodeTitle->setText(tr("<b>Op-codes of %1 %2</b>")
                                       .arg(process->isMaster() ? tr("the master") : tr("worker %1").arg(process->slot))
                                       .arg(key.pid));
    } else if (machine) {
        m_detail->showMachine(*machine, m_state->machineHistory(machine->machine), now);
        m_opcodeTitle->setText(tr("<b>Op-codes</b>"));
    } else {
        m_detail->showNothing();
        m_opcodeTitle->setText(tr("<b>Op-codes</b>"));
    }
}

void ProcessView::updateActions()
{
    const ProcessKey key = selectedProcess();
    const ProcessSnapshot *process = key.pid ? m_state->process(key) : nullptr;
    const MachineEntry *machine = process ? m_state->machine(key.machine) : nullptr;
    QString why;   // why Restart is off, for its tool tip
    if (!process || process->role != ProcessRole::Worker)
        why = tr("Select a worker to restart it");
    else if (process->state != ProcessState::Running)
        why = tr("Worker %1 (pid %2) is %3: only a running worker can be restarted")
                      .arg(process->slot).arg(process->pid).arg(processStateName(process->state));
    else if (!machine || !machine->snapshot.remoteControl)
        why = tr("The master of %1 does not allow remote control")
                      .arg(Format::machineId(key.machine));
    m_restart->setEnabled(why.isEmpty());
    m_restart->setToolTip(why.isEmpty() ? tr("Ask the master of %1 to restart worker %2 (pid %3)")
                                                  .arg(Format::machineId(key.machine))
                                                  .arg(process->slot).arg(process->pid)
                                        : why);
    m_send->setEnabled(!m_state->machines().isEmpty());
}

void ProcessView::sizeColumns()
{
    using C = ProcessTreeModel;
    const std::pair<int, QString> samples[] = {
        {C::NameColumn, u"MMMMMMMMMMMMMMMMMMM"_s}, {C::PidColumn, u"4194304"_s},
        {C::RoleColumn, u"master"_s},              {C::SlotColumn, u"12"_s},
        {C::StateColumn, u"running"_s},            {C::UptimeColumn, u"12 min 59 s"_s},
        {C::MessagesInColumn, u"999.9M"_s},        {C::MessagesOutColumn, u"999.9M"_s},
        {C::BytesInColumn, u"999.9 MiB"_s},        {C::BytesOutColumn, u"999.9 MiB"_s},
        {C::RateInColumn, u"99.9k/s"_s},           {C::RateOutColumn, u"99.9k/s"_s},
        {C::BacklogColumn, u"999 KiB"_s},          {C::RestartsColumn, u"99"_s},
        {C::IdleColumn, u"59 min 59 s"_s},
    };
    for (const auto &[column, sample] : samples)
        m_tree->setColumnWidth(column, widthFor(m_tree, column, sample));
    using O = OpcodeModel;
    const std::pair<int, QString> opSamples[] = {
        {O::CodeColumn, u"0x00000000"_s}, {O::InColumn, u"999.9M"_s}, {O::OutColumn, u"999.9M"_s},
        {O::BytesInColumn, u"999.9 MiB"_s}, {O::BytesOutColumn, u"999.9 MiB"_s},
        {O::RateInColumn, u"99.9k/s"_s}, {O::RateOutColumn, u"99.9k/s"_s},
    };
    for (const auto &[column, sample] : opSamples)
        m_opcodeView->setColumnWidth(column, widthFor(m_opcodeView, column, sample));
    m_sized = true;
}

void ProcessView::refreshView()
{
    keepSelection([this] { m_model->refresh(); });
    m_opcodes->refresh();
    if (!m_sized)
        sizeColumns();
    // Machines and masters come in expanded, once: what the user collapsed stays collapsed.
    for (int m = 0; m < m_proxy->rowCount(); ++m) {
        const QModelIndex machine = m_proxy->index(m, 0);
        const quint64 id = machine.data(MachineIdRole).toULongLong();
        if (!m_expanded.contains({id, 0})) {
            m_tree->expand(machine);
            m_expanded.insert({id, 0});
        }
        for (int r = 0; r < m_proxy->rowCount(machine); ++r) {
            const QModelIndex master = m_proxy->index(r, 0, machine);
            const qint64 pid = master.data(PidRole).toLongLong();
            if (m_proxy->rowCount(master) > 0 && !m_expanded.contains({id, pid})) {
                m_tree->expand(master);
                m_expanded.insert({id, pid});
            }
        }
    }
    updateDetail();
    updateActions();
}

} // namespace PlexusMonitor::Gui
