// SPDX-License-Identifier: MIT
#pragma once

#include <QtWidgets/qapplication.h>

namespace PlexusMonitor::Gui {

/*!
    \class PlexusMonitor::Gui::MonitorApplication
    QApplication that times the outermost event deliveries of the GUI thread (timers, socket
    notifiers, input, paint), for GuiStats. Costs two clock reads per event while enabled,
    nothing when not.
*/
class MonitorApplication : public QApplication
{
    Q_OBJECT
public:
    MonitorApplication(int &argc, char **argv);

    void setTimingEnabled(bool enabled) { m_timing = enabled; }
    bool notify(QObject *receiver, QEvent *event) override;

private:
    bool m_timing = false;
    int m_depth = 0;
};

} // namespace PlexusMonitor::Gui
