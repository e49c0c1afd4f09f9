// SPDX-License-Identifier: MIT
#include "screenshotter.h"

#include "mainwindow.h"
#include "processview.h"
#include "viewpage.h"

#include "clusterstate.h"
#include "monitorclient.h"

#include <QtCore/qdir.h>
#include <QtGui/qpixmap.h>

#include <cstdio>

using namespace Qt::StringLiterals;

namespace PlexusMonitor::Gui {

namespace {
// After the data is there: rates need a few snapshots, the flow a few trace intervals.
constexpr qint64 SettleMs = 10000;
// Per view: at least two refreshes and a paint.
constexpr int ViewDelayMs = 2200;
}

Screenshotter::Screenshotter(MainWindow *window, MonitorClient *client, const QString &directory,
                             int expectedMachines, int timeoutMs, QObject *parent)
    : QObject(parent), m_window(window), m_client(client), m_directory(directory),
      m_expectedMachines(std::max(1, expectedMachines)), m_timeoutMs(timeoutMs)
{
    m_poll.setInterval(200);
    connect(&m_poll, &QTimer::timeout, this, &Screenshotter::poll);
}

void Screenshotter::start()
{
    if (!QDir().mkpath(m_directory)) {
        fail(u"cannot create %1"_s.arg(m_directory));
        return;
    }
    m_elapsed.start();
    m_poll.start();
}

bool Screenshotter::hasData() const
{
    const ClusterState *state = m_client->state();
    bool workers = false;
    for (const MachineEntry &m : state->machines())
        workers = workers || (m.hasSnapshot && m.snapshot.processes.size() > 1);
    return workers && state->reportingMachines() >= m_expectedMachines
            && state->traceSequence() > 0;
}

void Screenshotter::poll()
{
    if (m_readyAt < 0) {
        if (hasData()) {
            m_readyAt = m_elapsed.elapsed();
            std::fprintf(stderr, "plexus-monitor: data after %.1f s, settling\n",
                         double(m_readyAt) / 1000.0);
        } else if (m_elapsed.elapsed() > m_timeoutMs) {
            const ClusterState *state = m_client->state();
            fail(u"no data within %1 s (%2 machine(s) known, %3 reporting, %4 trace samples; "
                 "is SECRET right and are the masters up?)"_s
                         .arg(m_timeoutMs / 1000)
                         .arg(state->machines().size())
                         .arg(state->reportingMachines())
                         .arg(state->traceSequence()));
        }
        return;
    }
    if (m_elapsed.elapsed() - m_readyAt >= SettleMs) {
        m_poll.stop();
        next();
    }
}

void Screenshotter::next()
{
    ++m_index;
    const QList<ViewPage *> pages = m_window->pages();
    if (m_index >= pages.size()) {
        Q_EMIT finished(0);
        return;
    }
    ViewPage *page = pages[m_index];
    m_window->showPage(page);
    if (page == m_window->processView())
        m_window->processView()->selectFirstWorker();
    QTimer::singleShot(ViewDelayMs, this, &Screenshotter::take);
}

void Screenshotter::take()
{
    // No refresh here: the page's own timer has refreshed it, and its views have laid out
    // and painted since.
    ViewPage *page = m_window->pages().at(m_index);
    const QPixmap pixmap = m_window->grab();
    const QString path = QDir(m_directory).absoluteFilePath(page->id() + u".png"_s);
    if (!pixmap.save(path)) {
        fail(u"cannot write %1"_s.arg(path));
        return;
    }
    std::printf("%s\n", qPrintable(path));
    std::fflush(stdout);
    next();
}

void Screenshotter::fail(const QString &message)
{
    m_poll.stop();
    std::fprintf(stderr, "plexus-monitor --screenshots: %s\n", qPrintable(message));
    Q_EMIT finished(1);
}

} // namespace PlexusMonitor::Gui
