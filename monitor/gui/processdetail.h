// SPDX-License-Identifier: MIT
#pragma once

#include "clusterstate.h"

#include <QtWidgets/qframe.h>

QT_BEGIN_NAMESPACE
class QLabel;
QT_END_NAMESPACE

namespace PlexusMonitor::Gui {

/*!
    \class PlexusMonitor::Gui::ProcessDetail
    The detail pane of the process tree: everything the last snapshot says about the
    selected process (state, uptime, counters, traffic by kind with the kind colours,
    rejected frames), or about the selected machine (version, address, link, trace).
*/
class ProcessDetail : public QFrame
{
    Q_OBJECT
public:
    explicit ProcessDetail(QWidget *parent = nullptr);

    void showNothing();
    void showMachine(const MachineEntry &machine);
    void showProcess(const MachineEntry &machine, const ProcessSnapshot &process,
                     const ProcessRates *rates);

private:
    QLabel *m_text = nullptr;
};

} // namespace PlexusMonitor::Gui
