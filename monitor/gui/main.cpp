// SPDX-License-Identifier: MIT
//
// plexus-monitor: joins a Plexus cluster as a peer and shows it live.
//
//   SECRET=... plexus-monitor [--port N] [--peer host:port]... [--screenshots DIR] [--stats]
//                             [--view ID] [--poll MS]

#include "discoveryview.h"
#include "guistats.h"
#include "mainwindow.h"
#include "monitorapplication.h"
#include "processview.h"
#include "screenshotter.h"
#include "securityview.h"
#include "traceview.h"
#include "viewpage.h"

#include "machinesmodel.h"
#include "monitorclient.h"
#include "opcodemodel.h"
#include "processtreemodel.h"
#include "securitymodel.h"
#include "tracemodel.h"

#include <QtCore/qcommandlineparser.h>
#include <QtCore/qtimer.h>
#include <QtWidgets/qmessagebox.h>

#include <cstdio>

using namespace Qt::StringLiterals;
using namespace PlexusMonitor;
using namespace PlexusMonitor::Gui;

int main(int argc, char **argv)
{
    MonitorApplication app(argc, argv);
    MonitorApplication::setApplicationName(u"plexus-monitor"_s);
    MonitorApplication::setApplicationDisplayName(u"Plexus Monitor"_s);
    MonitorApplication::setApplicationVersion(QString::fromLatin1(PLEXUS_MONITOR_VERSION));
    MonitorApplication::setDesktopFileName(u"plexus-monitor"_s);

    QCommandLineParser parser;
    parser.setApplicationDescription(
            u"Joins a Plexus cluster as a peer and shows its machines, processes and messages "
            "live. The cluster secret comes from the SECRET environment variable."_s);
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption portOption(
            u"port"_s, u"Find masters by UDP discovery on cluster port <port> (0: off)."_s,
            u"port"_s, u"0"_s);
    const QCommandLineOption peerOption(u"peer"_s, u"Connect to the master at <host:port> (repeatable)."_s,
                                        u"host:port"_s);
    const QCommandLineOption natsOption(
            u"nats"_s, u"The cluster runs on NATS: its servers, nats://host:port[,host:port...]."_s,
            u"url"_s);
    const QCommandLineOption intervalOption(u"poll"_s, u"Ask every master for a snapshot every <ms>."_s,
                                            u"ms"_s, u"1000"_s);
    const QCommandLineOption screenshotsOption(
            u"screenshots"_s,
            u"Wait for data, write a PNG of every view into <dir>, print their paths, quit."_s,
            u"dir"_s);
    const QCommandLineOption statsOption(
            u"stats"_s, u"Every 5 s, print the GUI thread's busy share, model updates per "
                        "second and the RSS on stderr."_s);
    const QCommandLineOption viewOption(
            u"view"_s, u"Start on view <id>: machines, processes, rates, flow, trace, security."_s,
            u"id"_s);
    parser.addOptions({portOption, peerOption, natsOption, intervalOption, screenshotsOption, statsOption,
                       viewOption});
    parser.process(app);

    bool ok = false;
    const uint port = parser.value(portOption).toUInt(&ok);
    if (!ok || port > 65535) {
        std::fprintf(stderr, "plexus-monitor: --port: not a port: %s\n",
                     qPrintable(parser.value(portOption)));
        return 2;
    }
    ClientOptions options;
    options.discoveryPort = quint16(port);
    options.peers = parser.values(peerOption);
    options.natsUrl = parser.value(natsOption);
    options.snapshotIntervalMs = std::max(100, parser.value(intervalOption).toInt());
    const bool screenshots = parser.isSet(screenshotsOption);

    MonitorClient client;
    MainWindow window(&client);
    GuiStats stats;
    if (parser.isSet(statsOption)) {
        app.setTimingEnabled(true);
        stats.watch(window.discoveryView()->model());
        stats.watch(window.processView()->model());
        stats.watch(window.processView()->opcodeModel());
        stats.watch(window.traceView()->model());
        stats.watch(window.securityView()->model());
        for (ViewPage *page : window.pages())
            QObject::connect(page, &ViewPage::refreshed, &stats, &GuiStats::countRefresh);
        stats.start(5000);
    }

    if (!client.start(options)) {
        const QString why = client.error() == MonitorClient::NoSecretError
                ? u"no cluster secret: set SECRET to the secret of the cluster's masters"_s
                : client.errorString();
        std::fprintf(stderr, "plexus-monitor: %s\n", qPrintable(why));
        if (screenshots)
            return 1;
        window.show();
        window.showProblem(why);
        QMessageBox::critical(&window, u"Plexus Monitor"_s,
                              u"The monitor cannot join the cluster: %1."_s.arg(why));
        return 1;
    }
    if (!options.natsUrl.isEmpty())
        window.discoveryView()->setBroker(client.brokerServers());
    if (options.peers.isEmpty() && options.discoveryPort == 0 && options.natsUrl.isEmpty())
        window.showProblem(u"no --peer, --port or --nats: type a master's host:port in Machines"_s);

    if (parser.isSet(viewOption)) {
        ViewPage *page = window.page(parser.value(viewOption));
        if (!page) {
            std::fprintf(stderr, "plexus-monitor: --view: no view %s\n",
                         qPrintable(parser.value(viewOption)));
            return 2;
        }
        window.showPage(page);
    }
    window.show();
    if (screenshots) {
        // For the pictures: a window the size of a laptop screen, whatever the display.
        window.resize(1400, 860);
        bool timeoutOk = false;
        const int timeout = qEnvironmentVariableIntValue("PLEXUS_SCREENSHOT_TIMEOUT", &timeoutOk);
        auto *shooter = new Screenshotter(&window, &client, parser.value(screenshotsOption),
                                          int(options.peers.size()),
                                          (timeoutOk && timeout > 0 ? timeout : 20) * 1000, &app);
        QObject::connect(shooter, &Screenshotter::finished, &app, [](int code) {
            QCoreApplication::exit(code);
        });
        shooter->start();
    }
    return app.exec();
}
