// SPDX-License-Identifier: MIT
#include "mainwindow.h"

#include "alarmbar.h"

#include "discoveryview.h"
#include "flowview.h"
#include "processview.h"
#include "rateview.h"
#include "securityview.h"
#include "sendmessagedialog.h"
#include "traceview.h"

#include "format.h"
#include "monitorclient.h"

#include <plexus/node.h>

#include <QtCore/qdatetime.h>
#include <QtCore/qtimer.h>
#include <QtCore/qurl.h>
#include <QtGui/qaction.h>
#include <QtGui/qevent.h>
#include <QtGui/qguiapplication.h>
#include <QtGui/qkeysequence.h>
#include <QtWidgets/qboxlayout.h>
#include <QtWidgets/qlabel.h>
#include <QtWidgets/qmessagebox.h>
#include <QtWidgets/qstatusbar.h>
#include <QtWidgets/qtabwidget.h>
#include <QtWidgets/qtoolbar.h>

#include <map>

using namespace Qt::StringLiterals;

// Q_INIT_RESOURCE must be used outside of any namespace; the resources live in the static
// PlexusMonitorGui library, whose initialiser the linker would otherwise drop.
static void initResources()
{
    Q_INIT_RESOURCE(plexus_monitor);
}

namespace PlexusMonitor::Gui {

MainWindow::MainWindow(MonitorClient *client, QWidget *parent)
    : QMainWindow(parent), m_client(client)
{
    initResources();
    setWindowIcon(QIcon(u":/plexus-monitor/plexus-monitor.svg"_s));
    const ClusterState *state = client->state();

    QToolBar *main = addToolBar(tr("Monitor"));
    main->setObjectName(u"mainToolBar"_s);
    main->setMovable(false);
    main->setIconSize(QSize(20, 20));
    main->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    m_pause = main->addAction(QIcon(u":/plexus-monitor/pause.svg"_s), tr("Pause all"));
    m_pause->setCheckable(true);
    m_pause->setShortcut(QKeySequence(Qt::Key_Space));
    m_pause->setToolTip(tr("Freeze every view and stop polling the masters (Space)"));
    connect(m_pause, &QAction::toggled, this, &MainWindow::setPaused);
    QAction *refresh = main->addAction(QIcon(u":/plexus-monitor/refresh.svg"_s), tr("Refresh"));
    refresh->setShortcut(QKeySequence::Refresh);
    refresh->setToolTip(tr("Poll every master now and refresh the current view (F5)"));
    connect(refresh, &QAction::triggered, this, [this] {
        m_client->pollNow();
        if (ViewPage *p = currentPage())
            p->refreshNow();
    });

    m_tabs = new QTabWidget(this);
    m_tabs->setDocumentMode(true);
    m_discovery = new DiscoveryView(state, m_tabs);
    m_processes = new ProcessView(state, m_tabs);
    m_rates = new RateView(state, m_tabs);
    m_flow = new FlowView(state, m_tabs);
    m_trace = new TraceView(state, m_tabs);
    m_security = new SecurityView(state, m_tabs);
    m_pages = {m_discovery, m_processes, m_rates, m_flow, m_trace, m_security};
    for (int i = 0; i < m_pages.size(); ++i) {
        ViewPage *p = m_pages[i];
        m_tabs->addTab(p, p->title());
        QAction *go = new QAction(this);
        go->setShortcut(QKeySequence(Qt::ALT | Qt::Key(Qt::Key_1 + i)));
        connect(go, &QAction::triggered, this, [this, p] { showPage(p); });
        addAction(go);
    }
    // The alarms above the views, visible whichever view is shown.
    m_alarms = new AlarmBar(this);
    auto *central = new QWidget(this);
    auto *column = new QVBoxLayout(central);
    column->setContentsMargins(0, 0, 0, 0);
    column->setSpacing(0);
    column->addWidget(m_alarms);
    column->addWidget(m_tabs, 1);
    setCentralWidget(central);

    connect(m_discovery, &DiscoveryView::connectRequested, this, &MainWindow::connectToPeer);
    connect(m_processes, &ProcessView::restartRequested, this, &MainWindow::restartWorker);
    connect(m_processes, &ProcessView::sendRequested, this, &MainWindow::sendTestMessage);
    connect(client, &MonitorClient::controlFinished, this, &MainWindow::controlFinished);
    connect(client, &MonitorClient::problem, this, &MainWindow::showProblem);
    connect(client, &MonitorClient::statusChanged, this, [this](const QString &s) {
        m_status->setText(s);
    });
    // Coalesced by the client (a few times a second at most): cheap label updates only.
    connect(client, &MonitorClient::stateChanged, this, &MainWindow::updateStatus);

    m_linkState = new QLabel(this);
    m_status = new QLabel(this);
    m_problem = new QLabel(this);
    m_problem->setStyleSheet(u"color: #c0392b; font-weight: bold;"_s);
    m_problem->setTextInteractionFlags(Qt::TextSelectableByMouse);
    statusBar()->addWidget(m_linkState);
    statusBar()->addWidget(m_status, 1);
    statusBar()->addPermanentWidget(m_problem);
    // The monitor's side of a refused handshake may be just a closed link: if nothing links
    // up for a while, say what usually causes it.
    m_started.start();
    auto *watchdog = new QTimer(this);
    connect(watchdog, &QTimer::timeout, this, [this] {
        const bool linked = m_client->connectedMachines() > 0;
        if (linked && m_hinted) {
            m_problem->clear();
            m_hinted = false;
        } else if (!linked && !m_hinted && m_problem->text().isEmpty() && m_client->isRunning()) {
            showProblem(tr("No master linked after %1 s: wrong SECRET, or nothing listening at the "
                           "given address?").arg(m_started.elapsed() / 1000));
            m_hinted = true;
        }
    });
    watchdog->start(8000);
    updateStatus();
    resize(1280, 800);
    m_tabs->setCurrentWidget(m_processes);
}

MainWindow::~MainWindow() = default;

ViewPage *MainWindow::page(const QString &id) const
{
    for (ViewPage *p : m_pages)
        if (p->id() == id)
            return p;
    return nullptr;
}

void MainWindow::showPage(ViewPage *page)
{
    m_tabs->setCurrentWidget(page);
}

ViewPage *MainWindow::currentPage() const
{
    return qobject_cast<ViewPage *>(m_tabs->currentWidget());
}

void MainWindow::setPaused(bool paused)
{
    m_paused = paused;
    if (m_pause->isChecked() != paused)
        m_pause->setChecked(paused);
    m_pause->setText(paused ? tr("Resume") : tr("Pause all"));
    for (ViewPage *p : m_pages)
        p->setPaused(paused);
    m_client->setPaused(paused);
    updateStatus();
}

void MainWindow::changeEvent(QEvent *event)
{
    QMainWindow::changeEvent(event);
    if (event->type() == QEvent::WindowStateChange)
        for (ViewPage *p : m_pages)
            p->setWindowMinimized(isMinimized());
}

void MainWindow::showProblem(const QString &text)
{
    m_problem->setText(u"⚠ "_s + text);
    m_problem->setToolTip(tr("%1 at %2").arg(text, QTime::currentTime().toString()));
}

void MainWindow::updateStatus()
{
    m_alarms->showAlarms(m_client->state()->alarms(), QDateTime::currentMSecsSinceEpoch());
    const int linked = m_client->connectedMachines();
    const QString dot = linked ? u"<span style='color:#59a14f'>●</span> "_s
                               : u"<span style='color:#c0392b'>●</span> "_s;
    QString text = m_paused ? tr("paused") : linked ? tr("linked to %n master(s)", nullptr, linked)
                                                    : tr("not linked to any master");
    m_linkState->setText(dot + text + u"  "_s);
    setWindowTitle(titleFor(m_client->state()->reportingMachines()));
}

QString MainWindow::titleFor(int machines)
{
    // The platform (xcb, Wayland, Windows) appends " — " and the application's display name
    // to every window title that does not already end with it: ending with it ourselves
    // names the application once, on every platform.
    const QString application = QGuiApplication::applicationDisplayName();
    if (machines <= 0)
        return application;
    const QString count = machines == 1 ? tr("1 machine") : tr("%1 machines").arg(machines);
    return count + u" — "_s + application;
}

void MainWindow::connectToPeer(const QString &host, quint16 port)
{
    // MonitorClient takes its peers at start(); later ones go straight to its Node (the one
    // Node of this process), whose peerConnected() the client follows like any other.
    Plexus::Node *node = Plexus::Node::instance();
    QUrl url;
    url.setScheme(u"tcp"_s);
    url.setHost(host);
    url.setPort(port);
    if (!node || !node->connectToPeer(url)) {
        showProblem(tr("Cannot connect to %1:%2: %3").arg(host).arg(port)
                            .arg(node ? node->errorString() : tr("the monitor is not running")));
        return;
    }
    statusBar()->showMessage(tr("Connecting to %1:%2…").arg(host).arg(port), 5000);
}

void MainWindow::restartWorker(const ProcessKey &worker)
{
    const ProcessSnapshot *p = m_client->state()->process(worker);
    const MachineEntry *m = m_client->state()->machine(worker.machine);
    if (!p || !m)
        return;
    // The target in full, so that the operator sees which process the click acts on.
    const QString host = m->snapshot.host.isEmpty() ? m->address : m->snapshot.host;
    auto *box = new QMessageBox(QMessageBox::Question, tr("Restart worker"),
                                tr("Restart worker %1 (pid %2, slot %1) on machine %3 (%4)?")
                                        .arg(p->slot).arg(p->pid)
                                        .arg(Format::machineId(worker.machine), host),
                                QMessageBox::Yes | QMessageBox::Cancel, this);
    box->setTextFormat(Qt::PlainText);
    box->setDefaultButton(QMessageBox::Cancel);
    box->setInformativeText(m->snapshot.remoteControl
                                    ? tr("The worker is stopped and its master starts a new one "
                                         "in the same slot.")
                                    : tr("This master does not allow remote control: it will "
                                         "refuse."));
    box->setAttribute(Qt::WA_DeleteOnClose);
    connect(box, &QMessageBox::accepted, this, [this, worker, slot = p->slot] {
        m_pendingControl = tr("Restart of worker %1 (pid %2) on %3")
                                   .arg(slot).arg(worker.pid).arg(Format::machineId(worker.machine));
        statusBar()->showMessage(m_pendingControl + tr(": asked…"));
        m_client->restartWorker(worker.machine, worker.pid);
    });
    box->open();   // not exec(): the event loop and the network go on
}

void MainWindow::sendTestMessage(quint64 machine, quint32 opcode)
{
    auto *dialog = new SendMessageDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    std::map<quint32, QString> known;
    for (const MachineEntry &m : m_client->state()->machines())
        for (const ProcessSnapshot &p : m.snapshot.processes)
            for (const OpcodeStats &o : p.opcodes)
                if (o.code && (known[o.code].isEmpty()))
                    known[o.code] = o.name;
    QList<std::pair<quint32, QString>> list(known.begin(), known.end());
    dialog->setKnownOpcodes(list);
    if (opcode)
        dialog->setOpcode(opcode);
    const MachineEntry *m = machine ? m_client->state()->machine(machine) : nullptr;
    dialog->setTarget(m ? tr("Through the master of <b>%1</b> (%2).").arg(m->snapshot.host,
                                                                        Format::machineId(machine))
                        : tr("Through the first master the monitor is linked to."));
    connect(dialog, &QDialog::accepted, this, [this, dialog, machine] {
        m_pendingControl = tr("Test message to %1").arg(Format::opcode(dialog->opcode()));
        statusBar()->showMessage(m_pendingControl + tr(": sent…"));
        m_client->sendTestMessage(dialog->opcode(), dialog->data(), dialog->isBroadcast(), machine);
    });
    dialog->open();
}

void MainWindow::controlFinished(bool ok, const QString &error)
{
    const QString what = m_pendingControl.isEmpty() ? tr("Control action") : m_pendingControl;
    m_pendingControl.clear();
    if (ok) {
        statusBar()->showMessage(what + tr(": done"), 8000);
        m_client->pollNow();
        return;
    }
    showProblem(what + tr(" refused: ") + error);
    auto *box = new QMessageBox(QMessageBox::Warning, tr("Refused"),
                                tr("%1 was refused by the master.").arg(what),
                                QMessageBox::Ok, this);
    box->setInformativeText(error + tr("\n\nA master accepts control actions only when its "
                                       "program enabled remote control "
                                       "(Introspection::Options::remoteControl)."));
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

} // namespace PlexusMonitor::Gui
