// SPDX-License-Identifier: MIT
#pragma once

#include <QtWidgets/qframe.h>

QT_BEGIN_NAMESPACE
class QLabel;
QT_END_NAMESPACE

namespace PlexusMonitor {
class AlarmTracker;
}

namespace PlexusMonitor::Gui {

/*!
    \class PlexusMonitor::Gui::AlarmBar
    The bar above the views that lists what an operator should act on (AlarmTracker): the
    active alarms with the time each started, then those cleared in the last ten minutes
    with the time they cleared. Hidden when there is nothing to show. However many alarms
    there are, it shows at most MaxLines lines and says how many more (the tool tip lists
    up to MaxTooltip), so that an alarm storm cannot grow the window.
*/
class AlarmBar : public QFrame
{
    Q_OBJECT
public:
    static constexpr int MaxLines = 4;
    static constexpr int MaxTooltip = 20;
    static constexpr qint64 ShowClearedMs = 10 * 60 * 1000;

    explicit AlarmBar(QWidget *parent = nullptr);

    /*! Shows \a alarms as of \a now (ms since the epoch). */
    void showAlarms(const AlarmTracker &alarms, qint64 now);
    /*! The lines shown, as plain text (tests). */
    QString text() const;

private:
    QLabel *m_label = nullptr;
};

} // namespace PlexusMonitor::Gui
