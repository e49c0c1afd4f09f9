// SPDX-License-Identifier: MIT
#pragma once

#include "viewpage.h"

QT_BEGIN_NAMESPACE
class QLabel;
class QTreeView;
QT_END_NAMESPACE

namespace PlexusMonitor {
class ClusterState;
class SecurityModel;
}

namespace PlexusMonitor::Gui {

/*!
    \class PlexusMonitor::Gui::SecurityView
    Rejected frames by machine, process, peer and reason (what every master and worker
    counted, and what the monitor's own Node refused), largest counts first.
*/
class SecurityView : public ViewPage
{
    Q_OBJECT
public:
    explicit SecurityView(const ClusterState *state, QWidget *parent = nullptr);

    SecurityModel *model() const { return m_model; }

protected:
    void refreshView() override;

private:
    SecurityModel *m_model = nullptr;
    QTreeView *m_view = nullptr;
    QLabel *m_summary = nullptr;
    bool m_sized = false;
};

} // namespace PlexusMonitor::Gui
