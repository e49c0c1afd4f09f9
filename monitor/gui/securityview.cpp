// SPDX-License-Identifier: MIT
#include "securityview.h"

#include "emptyoverlay.h"

#include "modelroles.h"
#include "securitymodel.h"

#include <QtCore/qsortfilterproxymodel.h>
#include <QtWidgets/qboxlayout.h>
#include <QtWidgets/qheaderview.h>
#include <QtWidgets/qlabel.h>
#include <QtWidgets/qtreeview.h>

using namespace Qt::StringLiterals;

namespace PlexusMonitor::Gui {

SecurityView::SecurityView(const ClusterState *state, QWidget *parent)
    : ViewPage(u"security"_s, tr("Security"), parent)
{
    finishToolBar();
    setRefreshInterval(2000);
    m_model = new SecurityModel(state, this);
    auto *proxy = new QSortFilterProxyModel(this);
    proxy->setSourceModel(m_model);
    proxy->setSortRole(SortRole);
    m_view = new QTreeView(this);
    m_view->setRootIsDecorated(false);
    m_view->setUniformRowHeights(true);
    m_view->setAlternatingRowColors(true);
    m_view->setSortingEnabled(true);
    m_view->setModel(proxy);
    m_view->sortByColumn(SecurityModel::CountColumn, Qt::DescendingOrder);
    m_view->header()->setStretchLastSection(false);
    m_view->header()->setSectionResizeMode(SecurityModel::ReasonColumn, QHeaderView::Stretch);
    contentLayout()->addWidget(m_view, 1);
    new EmptyOverlay(m_view, tr("<p><b>No rejected frames.</b></p><p>A frame that fails "
                                "authentication, is replayed, oversized or malformed closes its "
                                "link and is counted here, by the process that refused it, the "
                                "peer it came from and the reason. A monitor with the wrong "
                                "SECRET shows up on the masters' side of this list.</p>"));
    m_summary = new QLabel(this);
    m_summary->setForegroundRole(QPalette::PlaceholderText);
    contentLayout()->addWidget(m_summary);
}

void SecurityView::refreshView()
{
    m_model->refresh();
    if (!m_sized && m_model->rowCount() > 0) {
        for (int c = 0; c < m_model->columnCount(); ++c)
            m_view->resizeColumnToContents(c);
        m_sized = true;
    }
    m_summary->setText(m_model->total()
                               ? tr("%1 rejected frame(s) in %n row(s)", nullptr, m_model->rowCount())
                                         .arg(m_model->total())
                               : tr("Nothing rejected."));
}

} // namespace PlexusMonitor::Gui
