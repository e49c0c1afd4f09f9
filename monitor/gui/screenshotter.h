// SPDX-License-Identifier: MIT
#pragma once

#include <QtCore/qelapsedtimer.h>
#include <QtCore/qobject.h>
#include <QtCore/qtimer.h>

namespace PlexusMonitor {
class MonitorClient;
}

namespace PlexusMonitor::Gui {

class MainWindow;

/*!
    \class PlexusMonitor::Gui::Screenshotter
    --screenshots DIR: waits until real data has arrived (a machine with workers, the
    expected number of reporting machines, trace samples and a few seconds of rates), then
    shows each view in turn, lets it refresh and paint, grabs the main window to
    DIR/<view>.png and prints the path. finished(0) at the end; finished(1) with a message
    on stderr if no data arrives within the timeout or a file cannot be written.
*/
class Screenshotter : public QObject
{
    Q_OBJECT
public:
    Screenshotter(MainWindow *window, MonitorClient *client, const QString &directory,
                  int expectedMachines, int timeoutMs, QObject *parent = nullptr);

    void start();

Q_SIGNALS:
    void finished(int exitCode);

private:
    bool hasData() const;
    void poll();
    void next();
    void take();
    void fail(const QString &message);

    MainWindow *m_window;
    MonitorClient *m_client;
    QString m_directory;
    int m_expectedMachines;
    int m_timeoutMs;
    QTimer m_poll;
    QElapsedTimer m_elapsed;
    qint64 m_readyAt = -1;
    int m_index = -1;
};

} // namespace PlexusMonitor::Gui
