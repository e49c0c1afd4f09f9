// SPDX-License-Identifier: MIT
#include "monitorapplication.h"

#include "guistats.h"

#include <QtCore/qelapsedtimer.h>
#include <QtCore/qthread.h>

namespace PlexusMonitor::Gui {

MonitorApplication::MonitorApplication(int &argc, char **argv) : QApplication(argc, argv) {}

bool MonitorApplication::notify(QObject *receiver, QEvent *event)
{
    // Only the outermost delivery on the GUI thread: nested sends are inside its time.
    if (!m_timing || m_depth > 0 || QThread::currentThread() != thread())
        return QApplication::notify(receiver, event);
    QElapsedTimer timer;
    timer.start();
    ++m_depth;
    const bool result = QApplication::notify(receiver, event);
    --m_depth;
    GuiStats::addBusyNanoseconds(timer.nsecsElapsed());
    return result;
}

} // namespace PlexusMonitor::Gui
