// SPDX-License-Identifier: MIT
#pragma once

#include "viewpage.h"

QT_BEGIN_NAMESPACE
class QComboBox;
class QLabel;
QT_END_NAMESPACE

namespace PlexusMonitor {
class ClusterState;
}

namespace PlexusMonitor::Gui {

class FlowWidget;

/*!
    \class PlexusMonitor::Gui::FlowView
    The message-flow page: a FlowWidget fed from the trace aggregates (bars) and the trace
    samples (marks) of the ClusterState, with the time window in its tool bar.
*/
class FlowView : public ViewPage
{
    Q_OBJECT
public:
    explicit FlowView(const ClusterState *state, QWidget *parent = nullptr);

    FlowWidget *flowWidget() const { return m_flow; }

protected:
    void refreshView() override;

private:
    const ClusterState *m_state;
    FlowWidget *m_flow = nullptr;
    QComboBox *m_window = nullptr;
    QLabel *m_summary = nullptr;
};

} // namespace PlexusMonitor::Gui
