// SPDX-License-Identifier: MIT
#include "discoveryview.h"

#include "emptyoverlay.h"

#include "clusterstate.h"
#include "machinesmodel.h"
#include "modelroles.h"

#include <QtCore/qsortfilterproxymodel.h>
#include <QtWidgets/qboxlayout.h>
#include <QtWidgets/qheaderview.h>
#include <QtWidgets/qlabel.h>
#include <QtWidgets/qlineedit.h>
#include <QtWidgets/qpushbutton.h>
#include <QtWidgets/qtoolbar.h>
#include <QtWidgets/qtreeview.h>

using namespace Qt::StringLiterals;

namespace PlexusMonitor::Gui {

DiscoveryView::DiscoveryView(const ClusterState *state, QWidget *parent)
    : ViewPage(u"machines"_s, tr("Machines"), parent)
{
    m_address = new QLineEdit(toolBar());
    m_address->setPlaceholderText(tr("host:port of a master"));
    m_address->setClearButtonEnabled(true);
    m_address->setMaximumWidth(260);
    m_address->setToolTip(tr("Machines on other subnets are not found by discovery: "
                             "type the address of their master's cluster port"));
    toolBar()->addWidget(m_address);
    m_connect = toolBar()->addAction(QIcon(u":/plexus-monitor/connect.svg"_s), tr("Connect"));
    connect(m_connect, &QAction::triggered, this, &DiscoveryView::requestConnect);
    connect(m_address, &QLineEdit::returnPressed, this, &DiscoveryView::requestConnect);
    finishToolBar();

    m_model = new MachinesModel(state, this);
    m_proxy = new QSortFilterProxyModel(this);
    m_proxy->setSourceModel(m_model);
    m_proxy->setSortRole(SortRole);
    m_view = new QTreeView(this);
    m_view->setRootIsDecorated(false);
    m_view->setUniformRowHeights(true);
    m_view->setAlternatingRowColors(true);
    m_view->setSortingEnabled(true);
    m_view->sortByColumn(MachinesModel::HostColumn, Qt::AscendingOrder);
    m_view->setModel(m_proxy);
    m_view->header()->setStretchLastSection(false);
    m_view->header()->setSectionResizeMode(MachinesModel::StatusColumn, QHeaderView::Stretch);
    contentLayout()->addWidget(m_view, 1);
    m_empty = new EmptyOverlay(m_view, tr("<p><b>No machine found yet.</b></p>"
                                "<p>Masters on this subnet that run <code>listenCluster()</code> "
                                "with the same <code>SECRET</code> appear here by themselves "
                                "within a few seconds.</p><p>Elsewhere: type "
                                "<code>host:port</code> above and press Connect, or start "
                                "plexus-monitor with <code>--peer host:port</code>.</p>"));

    m_summary = new QLabel(this);
    m_summary->setForegroundRole(QPalette::PlaceholderText);
    contentLayout()->addWidget(m_summary);
}

void DiscoveryView::setBroker(const QString &servers)
{
    const QString why = tr("This cluster meets on NATS (%1): every master appears through the "
                           "broker, there is no address to type").arg(servers.toHtmlEscaped());
    m_address->setEnabled(false);
    m_address->setPlaceholderText(tr("masters come through NATS"));
    m_address->setToolTip(why);
    m_connect->setEnabled(false);
    m_connect->setToolTip(why);
    m_empty->setText(tr("<p><b>No machine found yet.</b></p><p>Masters that joined the cluster "
                        "on NATS (%1) with the same <code>SECRET</code> appear here by "
                        "themselves within a heartbeat.</p>").arg(servers.toHtmlEscaped()));
}

bool DiscoveryView::addressEnabled() const
{
    return m_address->isEnabled() && m_connect->isEnabled();
}

void DiscoveryView::requestConnect()
{
    const QString text = m_address->text().trimmed();
    const qsizetype colon = text.lastIndexOf(u':');
    bool ok = false;
    const uint port = colon > 0 ? text.mid(colon + 1).toUInt(&ok) : 0;
    if (!ok || port == 0 || port > 65535) {
        m_address->setStyleSheet(u"QLineEdit { border: 1px solid #c0392b; }"_s);
        m_address->setToolTip(tr("Expected host:port, for example 192.0.2.10:7400"));
        return;
    }
    m_address->setStyleSheet(QString());
    QString host = text.left(colon);
    if (host.startsWith(u'[') && host.endsWith(u']'))   // [::1]:7400
        host = host.mid(1, host.size() - 2);
    Q_EMIT connectRequested(host, quint16(port));
    m_address->clear();
}

void DiscoveryView::refreshView()
{
    m_model->refresh();
    if (!m_sized && m_model->rowCount() > 0) {
        for (int c = 0; c < m_model->columnCount(); ++c)
            if (c != MachinesModel::StatusColumn)
                m_view->resizeColumnToContents(c);
        m_sized = true;
    }
    const ClusterState *state = m_model->state();
    int connected = 0;
    for (const MachineEntry &m : state->machines())
        connected += m.connected ? 1 : 0;
    m_summary->setText(tr("%n machine(s) known, %1 linked to this monitor, %2 reporting; "
                          "%3 refused peer(s)", nullptr, int(state->machines().size()))
                               .arg(connected)
                               .arg(state->reportingMachines())
                               .arg(state->refused().size()));
}

} // namespace PlexusMonitor::Gui
