// SPDX-License-Identifier: MIT
#pragma once

#include "clusterstate.h"

#include <QtCore/qelapsedtimer.h>
#include <QtWidgets/qmainwindow.h>

QT_BEGIN_NAMESPACE
class QAction;
class QLabel;
class QTabWidget;
QT_END_NAMESPACE

namespace PlexusMonitor {
class MonitorClient;
}

namespace PlexusMonitor::Gui {

class AlarmBar;
class DiscoveryView;
class FlowView;
class ProcessView;
class RateView;
class SecurityView;
class TraceView;
class ViewPage;

/*!
    \class PlexusMonitor::Gui::MainWindow
    The monitor's window: one tab per view (machines, processes, rates, flow, trace,
    security), a global pause, and a status bar with the link state and the client's
    problems (a refused SECRET, an incompatible master). Only the current tab refreshes.
    The window reads \a client's state and never waits on the network: control actions
    are answered through MonitorClient::controlFinished().
*/
class MainWindow : public QMainWindow
{
    Q_OBJECT
public:
    explicit MainWindow(MonitorClient *client, QWidget *parent = nullptr);
    ~MainWindow() override;

    QList<ViewPage *> pages() const { return m_pages; }
    ViewPage *page(const QString &id) const;
    void showPage(ViewPage *page);
    ViewPage *currentPage() const;

    bool isPaused() const { return m_paused; }
    void setPaused(bool paused);

    DiscoveryView *discoveryView() const { return m_discovery; }
    ProcessView *processView() const { return m_processes; }
    RateView *rateView() const { return m_rates; }
    FlowView *flowView() const { return m_flow; }
    TraceView *traceView() const { return m_trace; }
    SecurityView *securityView() const { return m_security; }

    /*! The window title for \a machines reporting machines: "2 machines — Plexus Monitor".
        It ends with the application's display name, which the platform then does not
        append a second time. */
    static QString titleFor(int machines);

    /*! Shows \a text in the status bar's problem area (red) until the next one. */
    void showProblem(const QString &text);

    /*! The bar of alarms above the views. */
    AlarmBar *alarmBar() const { return m_alarms; }

protected:
    void changeEvent(QEvent *event) override;

private:
    void restartWorker(const ProcessKey &worker);
    void sendTestMessage(quint64 machine, quint32 opcode);
    void connectToPeer(const QString &host, quint16 port);
    void controlFinished(bool ok, const QString &error);
    void updateStatus();

    MonitorClient *m_client;
    QTabWidget *m_tabs = nullptr;
    AlarmBar *m_alarms = nullptr;
    QList<ViewPage *> m_pages;
    DiscoveryView *m_discovery = nullptr;
    ProcessView *m_processes = nullptr;
    RateView *m_rates = nullptr;
    FlowView *m_flow = nullptr;
    TraceView *m_trace = nullptr;
    SecurityView *m_security = nullptr;
    QAction *m_pause = nullptr;
    QLabel *m_linkState = nullptr;
    QLabel *m_status = nullptr;
    QLabel *m_problem = nullptr;
    QString m_pendingControl;   // what the control action in flight was, for its answer
    QElapsedTimer m_started;
    bool m_hinted = false;      // the problem label shows the "nothing linked" hint
    bool m_paused = false;
};

} // namespace PlexusMonitor::Gui
