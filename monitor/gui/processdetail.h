// SPDX-License-Identifier: MIT
#pragma once

#include "clusterstate.h"

#include <QtWidgets/qframe.h>

QT_BEGIN_NAMESPACE
class QLabel;
QT_END_NAMESPACE

namespace PlexusMonitor::Gui {

class ProcessChart;

/*!
    \class PlexusMonitor::Gui::ProcessDetail
    The detail pane of the process tree: everything the last snapshot says about the
    selected process (state, uptime, CPU and memory, counters, traffic by kind with the kind
    colours, rejected frames, why the earlier processes of its slot ended), or about the selected machine (version, address, link, trace); below
    it a chart of the process's (a machine: its master's) messages per second.
*/
class ProcessDetail : public QFrame
{
    Q_OBJECT
public:
    explicit ProcessDetail(QWidget *parent = nullptr);

    void showNothing();
    /*! \a history: the rate history of its master (nullptr: none yet); \a now: ms since
        the epoch, where the chart's time axis ends. */
    void showMachine(const MachineEntry &machine, const RateHistory *history, qint64 now);
    void showProcess(const MachineEntry &machine, const ProcessSnapshot &process,
                     const ProcessRates *rates, const RateHistory *history, qint64 now);
    ProcessChart *chart() const { return m_chart; }
    /*! What the pane says, as plain text (tests). */
    QString plainText() const;

    /*! Exits listed in a process's detail, most recent first. */
    static constexpr int MaxExitsShown = 10;
    /*! The exits of \a slot of \a machine (-2: every slot) as an HTML table; empty if none. */
    static QString exitsTable(const MachineSnapshot &machine, int slot);

private:
    QLabel *m_text = nullptr;
    ProcessChart *m_chart = nullptr;
};

} // namespace PlexusMonitor::Gui
