// SPDX-License-Identifier: MIT
#pragma once

#include "viewpage.h"

QT_BEGIN_NAMESPACE
class QAction;
class QLineEdit;
class QLabel;
class QSortFilterProxyModel;
class QTreeView;
QT_END_NAMESPACE

namespace PlexusMonitor {
class ClusterState;
class MachinesModel;
}

namespace PlexusMonitor::Gui {

/*!
    \class PlexusMonitor::Gui::DiscoveryView
    The machines the monitor found (by discovery, a master's peer list or a typed address)
    with their version and link state; peers that refused the monitor, or that it refused,
    are shown disabled with the reason. A line edit takes a host:port to connect to.
*/
class DiscoveryView : public ViewPage
{
    Q_OBJECT
public:
    explicit DiscoveryView(const ClusterState *state, QWidget *parent = nullptr);

    MachinesModel *model() const { return m_model; }
    QTreeView *view() const { return m_view; }
    /*! The cluster meets on NATS at \a servers (shown without passwords): every master
        appears through the broker, so typing an address is switched off and the hint
        says so. */
    void setBroker(const QString &servers);
    bool addressEnabled() const;

Q_SIGNALS:
    /*! The user asked to connect to \a host : \a port. */
    void connectRequested(const QString &host, quint16 port);

protected:
    void refreshView() override;

private:
    void requestConnect();

    MachinesModel *m_model = nullptr;
    QSortFilterProxyModel *m_proxy = nullptr;
    QTreeView *m_view = nullptr;
    QLineEdit *m_address = nullptr;
    QAction *m_connect = nullptr;
    QLabel *m_empty = nullptr;
    QLabel *m_summary = nullptr;
    bool m_sized = false;
};

} // namespace PlexusMonitor::Gui
