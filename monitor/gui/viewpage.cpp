// SPDX-License-Identifier: MIT
#include "viewpage.h"

#include <QtWidgets/qboxlayout.h>
#include <QtWidgets/qcombobox.h>
#include <QtWidgets/qlabel.h>
#include <QtWidgets/qtoolbar.h>

using namespace Qt::StringLiterals;

namespace PlexusMonitor::Gui {

ViewPage::ViewPage(const QString &id, const QString &title, QWidget *parent)
    : QWidget(parent), m_id(id), m_title(title)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    m_toolBar = new QToolBar(this);
    m_toolBar->setIconSize(QSize(18, 18));
    m_toolBar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    layout->addWidget(m_toolBar);
    m_content = new QVBoxLayout;
    m_content->setContentsMargins(6, 4, 6, 6);
    m_content->setSpacing(4);
    layout->addLayout(m_content, 1);

    m_intervalBox = new QComboBox(this);
    m_intervalBox->setToolTip(tr("How often this view refreshes while it is shown"));
    const std::pair<int, QString> choices[] = {
        {250, tr("250 ms")}, {500, tr("0.5 s")}, {1000, tr("1 s")},
        {2000, tr("2 s")},   {5000, tr("5 s")},
    };
    for (const auto &[msec, text] : choices)
        m_intervalBox->addItem(text, msec);
    m_intervalBox->setCurrentIndex(2);
    connect(m_intervalBox, &QComboBox::currentIndexChanged, this, [this] {
        m_timer.setInterval(m_intervalBox->currentData().toInt());
    });
    m_timer.setInterval(1000);
    m_timer.setTimerType(Qt::CoarseTimer);
    connect(&m_timer, &QTimer::timeout, this, &ViewPage::refreshNow);
}

ViewPage::~ViewPage() = default;

void ViewPage::finishToolBar()
{
    auto *spacer = new QWidget(m_toolBar);
    spacer->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    m_toolBar->addWidget(spacer);
    auto *label = new QLabel(tr("Refresh every "), m_toolBar);
    m_toolBar->addWidget(label);
    m_toolBar->addWidget(m_intervalBox);
}

int ViewPage::refreshInterval() const
{
    return m_timer.interval();
}

void ViewPage::setRefreshInterval(int msec)
{
    const int index = m_intervalBox->findData(msec);
    if (index >= 0)
        m_intervalBox->setCurrentIndex(index);
    m_timer.setInterval(msec);
}

void ViewPage::setPaused(bool paused)
{
    m_paused = paused;
    updateTimer();
}

void ViewPage::setWindowMinimized(bool minimized)
{
    const bool wasMinimized = m_minimized;
    m_minimized = minimized;
    updateTimer();
    if (wasMinimized && !minimized && isRefreshing())
        refreshNow();
}

void ViewPage::refreshNow()
{
    ++m_refreshCount;
    refreshView();
    Q_EMIT refreshed();
}

void ViewPage::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    updateTimer();
    if (!m_paused)
        refreshNow();   // what it shows is current the moment it appears
}

void ViewPage::hideEvent(QHideEvent *event)
{
    QWidget::hideEvent(event);
    updateTimer();
}

void ViewPage::updateTimer()
{
    const bool run = isVisible() && !m_paused && !m_minimized;
    if (run && !m_timer.isActive())
        m_timer.start();
    else if (!run)
        m_timer.stop();
}

} // namespace PlexusMonitor::Gui
