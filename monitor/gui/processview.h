// SPDX-License-Identifier: MIT
#pragma once

#include "viewpage.h"

#include "clusterstate.h"

#include <QtCore/qset.h>

QT_BEGIN_NAMESPACE
class QAction;
class QLabel;
class QLineEdit;
class QSortFilterProxyModel;
class QTreeView;
QT_END_NAMESPACE

namespace PlexusMonitor {
class OpcodeModel;
class ProcessTreeModel;
}

namespace PlexusMonitor::Gui {

class ProcessDetail;

/*!
    \class PlexusMonitor::Gui::ProcessView
    The process tree (machine → master → workers) with its counters and rates, sortable by
    any column (numerically) and filtered by a regular expression that keeps the parents of
    matching rows; below it the detail pane and the op-code table of the selected process.
    Its tool bar has the control actions: restart the selected worker, send a test message.
*/
class ProcessView : public ViewPage
{
    Q_OBJECT
public:
    explicit ProcessView(const ClusterState *state, QWidget *parent = nullptr);

    ProcessTreeModel *model() const { return m_model; }
    OpcodeModel *opcodeModel() const { return m_opcodes; }
    QTreeView *treeView() const { return m_tree; }
    QTreeView *opcodeView() const { return m_opcodeView; }
    QAction *restartAction() const { return m_restart; }
    ProcessDetail *detail() const { return m_detail; }
    /*! The selected process (pid 0 when a machine or nothing is selected). The selection
        follows the process, not the row: when the process leaves the view (a restarted
        worker has a new pid, the filter hides it) nothing is selected any more. */
    ProcessKey selectedProcess() const;
    /*! The machine of the selected row, 0 for none. */
    quint64 selectedMachine() const;
    /*! Selects the first worker of the cluster (for screenshots); false if there is none. */
    bool selectFirstWorker();
    void setFilter(const QString &pattern);

Q_SIGNALS:
    void restartRequested(const PlexusMonitor::ProcessKey &worker);
    /*! Send a test message through the master of \a machine (0: any). */
    void sendRequested(quint64 machine, quint32 opcode);

protected:
    void refreshView() override;

private:
    // What is selected: a process, or a machine row (pid 0); machine 0 for nothing.
    struct Selected {
        quint64 machine = 0;
        qint64 pid = 0;
    };
    void applyFilter();
    template <typename Change> void keepSelection(Change &&change);
    QModelIndex viewIndexOf(const Selected &selected) const;
    void selectionChanged();
    void updateDetail();
    void updateActions();
    void sizeColumns();

    const ClusterState *m_state;
    ProcessTreeModel *m_model = nullptr;
    QSortFilterProxyModel *m_proxy = nullptr;
    OpcodeModel *m_opcodes = nullptr;
    QSortFilterProxyModel *m_opcodeProxy = nullptr;
    QTreeView *m_tree = nullptr;
    QTreeView *m_opcodeView = nullptr;
    ProcessDetail *m_detail = nullptr;
    QLineEdit *m_filter = nullptr;
    QLabel *m_opcodeTitle = nullptr;
    QAction *m_restart = nullptr;
    QAction *m_send = nullptr;
    QAction *m_expand = nullptr;
    Selected m_selected;
    bool m_restoring = false;   // a model or filter change moves the current row, not the user
    bool m_sized = false;
    QSet<std::pair<quint64, qint64>> m_expanded;   // (machine, 0) and (machine, master pid)
};

} // namespace PlexusMonitor::Gui
