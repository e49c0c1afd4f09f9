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
    /*! The selected process (pid 0 when a machine or nothing is selected). */
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
    void applyFilter();
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
    bool m_sized = false;
    QSet<std::pair<quint64, qint64>> m_expanded;   // (machine, 0) and (machine, master pid)
};

} // namespace PlexusMonitor::Gui
