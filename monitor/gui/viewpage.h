// SPDX-License-Identifier: MIT
#pragma once

#include <QtCore/qtimer.h>
#include <QtWidgets/qwidget.h>

QT_BEGIN_NAMESPACE
class QComboBox;
class QToolBar;
class QVBoxLayout;
QT_END_NAMESPACE

namespace PlexusMonitor::Gui {

/*!
    \class PlexusMonitor::Gui::ViewPage
    One view of the monitor (a tab): a tool bar with the view's own actions and its refresh
    interval, and the content below it. The page refreshes its models on its own timer,
    which runs only while the page is visible and not paused: a hidden view costs nothing.
    refreshView() only reads what monitor/core already holds; it never waits on the network.
*/
class ViewPage : public QWidget
{
    Q_OBJECT
public:
    /*! \a id names the view in file names and on the command line ("processes"). */
    ViewPage(const QString &id, const QString &title, QWidget *parent = nullptr);
    ~ViewPage() override;

    QString id() const { return m_id; }
    QString title() const { return m_title; }

    int refreshInterval() const;
    void setRefreshInterval(int msec);
    /*! The main window's global pause. */
    void setPaused(bool paused);
    bool isPaused() const { return m_paused; }
    /*! The window is minimised: a minimised window's children stay "visible" to Qt, so the
        main window tells its pages. */
    void setWindowMinimized(bool minimized);
    /*! The timer is running: visible and not paused. */
    bool isRefreshing() const { return m_timer.isActive(); }
    /*! How often refreshView() ran, for tests and --stats. */
    quint64 refreshCount() const { return m_refreshCount; }

    /*! Refreshes at once (also while paused: the user asked for it). */
    void refreshNow();

Q_SIGNALS:
    void refreshed();

protected:
    /*! Pulls the current state into the view's models; called on the timer. */
    virtual void refreshView() = 0;

    QToolBar *toolBar() const { return m_toolBar; }
    /*! Where subclasses put their content (below the tool bar). */
    QVBoxLayout *contentLayout() const { return m_content; }
    /*! Adds the refresh-interval selector; subclasses call it after their own actions. */
    void finishToolBar();

    void showEvent(QShowEvent *event) override;
    void hideEvent(QHideEvent *event) override;

private:
    void updateTimer();

    QString m_id;
    QString m_title;
    QToolBar *m_toolBar = nullptr;
    QVBoxLayout *m_content = nullptr;
    QComboBox *m_intervalBox = nullptr;
    QTimer m_timer;
    bool m_paused = false;
    bool m_minimized = false;
    quint64 m_refreshCount = 0;
};

} // namespace PlexusMonitor::Gui
