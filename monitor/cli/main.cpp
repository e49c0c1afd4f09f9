// SPDX-License-Identifier: MIT
//
// plexusctl: the Plexus cluster monitor on the command line.
//
//   SECRET=... plexusctl --port 7400 status [--json]
//   SECRET=... plexusctl --peer 10.0.0.2:7400 top --iterations 5
//   SECRET=... plexusctl --port 7400 trace --opcode 0x100 --json --count 100
//   SECRET=... plexusctl --port 7400 send --opcode 0x100 --data hello [--broadcast]
//   SECRET=... plexusctl --port 7400 restart [--machine 0x...] --pid 1234
//   SECRET=... plexusctl --port 7400 metrics > /var/lib/node_exporter/plexus.prom

#include "ctlcommand.h"

#include <QtCore/qcommandlineparser.h>
#include <QtCore/qcoreapplication.h>

#include <cstdio>

using namespace Qt::StringLiterals;
using namespace PlexusCtl;

namespace {

int usageError(const QString &text)
{
    std::fprintf(stderr, "plexusctl: %s\nTry 'plexusctl --help'.\n", qPrintable(text));
    return ExitUsage;
}

// Decimal, or hexadecimal with 0x.
bool parseNumber(const QString &text, quint64 *out)
{
    bool ok = false;
    *out = text.trimmed().toULongLong(&ok, 0);
    return ok;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(u"plexusctl"_s);
    QCoreApplication::setApplicationVersion(QStringLiteral(PLEXUSCTL_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(
            u"Watches a Plexus cluster: joins it as a monitor (a peer with the cluster's "
            "SECRET) and asks every master for its state.\n\n"
            "Commands:\n"
            "  status    the machines and their processes, once (--json for scripts)\n"
            "  top       a table refreshed every --interval ms (--iterations to stop)\n"
            "  trace     message headers as the masters route them (--opcode, --json, --count)\n"
            "  send      asks a master to send a test message (--opcode, --data, --broadcast)\n"
            "  restart   asks a master to restart one of its workers (--pid; --machine, or the\n"
            "            machine that runs that pid)\n"
            "  metrics   the counters and gauges in the Prometheus text format (0.0.4)\n\n"
            "top keys (when stdin is a terminal): s or > next sort column, < previous, r reverse, "
            "p pause, q quit.\n\n"
            "The secret comes from the SECRET environment variable. Masters are found by UDP "
            "discovery on --port, or given with --peer; the masters they are linked to are "
            "found from there. On a cluster that runs on NATS, --nats names its servers.\n\n"
            "Exit codes: 0 success, 1 usage error (also: the --pid to restart runs on several "
            "machines), 2 no SECRET, 3 no master found within "
            "--timeout, 4 the master refused the control action, 5 another failure (a "
            "wrong SECRET, a port in use, ...), 6 no such machine (--machine) or no process "
            "with --pid, 7 send: no process handles the op-code, 8 status: an alarm is active "
            "(a machine lost, a worker slot given up, a backlog above 8 MiB; listed under "
            "ALARM), for health checks."_s);
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(u"command"_s, u"status, top, trace, send, restart or metrics"_s);
    const QCommandLineOption port(u"port"_s, u"UDP discovery port (the masters' cluster port)."_s, u"port"_s);
    const QCommandLineOption peer(u"peer"_s, u"A master at host:port (repeatable)."_s, u"host:port"_s);
    const QCommandLineOption nats(u"nats"_s, u"The cluster runs on NATS: its servers, "
                                             "nats://host:port[,host:port...]."_s, u"url"_s);
    const QCommandLineOption timeout(u"timeout"_s,
                                     u"How long to look for masters, in ms (default 3000). A master "
                                     "found gets at least 2500 ms to answer whatever this is: it "
                                     "waits up to 2000 ms for a silent worker."_s,
                                     u"ms"_s, u"3000"_s);
    const QCommandLineOption json(u"json"_s, u"status, trace: JSON output."_s);
    const QCommandLineOption iterations(u"iterations"_s, u"top: frames before exiting (default: until interrupted)."_s,
                                        u"n"_s, u"0"_s);
    const QCommandLineOption interval(u"interval"_s, u"top: ms between frames (default 1000)."_s,
                                      u"ms"_s, u"1000"_s);
    const QCommandLineOption opcode(u"opcode"_s, u"trace: only this op-code; send: the target op-code."_s,
                                    u"n"_s);
    const QCommandLineOption count(u"count"_s, u"trace: samples before exiting."_s, u"n"_s, u"0"_s);
    const QCommandLineOption data(u"data"_s, u"send: the payload (text)."_s, u"text"_s);
    const QCommandLineOption broadcast(u"broadcast"_s, u"send: to every process of the cluster."_s);
    const QCommandLineOption machine(u"machine"_s, u"send, restart: the master's machine id (hex 0x...); restart without it: "
                                       "the machine that runs --pid."_s,
                                     u"id"_s);
    const QCommandLineOption pid(u"pid"_s, u"restart: the worker's pid."_s, u"pid"_s);
    parser.addOptions({port, peer, nats, timeout, json, iterations, interval, opcode, count, data,
                       broadcast, machine, pid});

    if (!parser.parse(QCoreApplication::arguments()))
        return usageError(parser.errorText());
    if (parser.isSet(u"help"_s))
        parser.showHelp(ExitOk);
    if (parser.isSet(u"version"_s))
        parser.showVersion();

    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 1)
        return usageError(positional.isEmpty() ? u"no command given"_s
                                               : u"one command at a time"_s);
    CtlOptions options;
    const QString command = positional.front();
    if (command == u"status")
        options.command = Command::Status;
    else if (command == u"top")
        options.command = Command::Top;
    else if (command == u"trace")
        options.command = Command::Trace;
    else if (command == u"send")
        options.command = Command::Send;
    else if (command == u"restart")
        options.command = Command::Restart;
    else if (command == u"metrics")
        options.command = Command::Metrics;
    else
        return usageError(u"unknown command \"%1\""_s.arg(command));

    quint64 n = 0;
    if (parser.isSet(port)) {
        if (!parseNumber(parser.value(port), &n) || n == 0 || n > 65535)
            return usageError(u"--port: not a port number"_s);
        options.client.discoveryPort = quint16(n);
    }
    options.client.peers = parser.values(peer);
    options.client.natsUrl = parser.value(nats);
    if (!options.client.natsUrl.isEmpty() && !options.client.natsUrl.startsWith(u"nats://"))
        return usageError(u"--nats: nats://host:port[,host:port...]"_s);
    if (!options.client.discoveryPort && options.client.peers.isEmpty() && options.client.natsUrl.isEmpty())
        return usageError(u"give --port (discovery), --peer host:port or --nats URL"_s);
    if (!parseNumber(parser.value(timeout), &n) || n == 0 || n > 3600 * 1000)
        return usageError(u"--timeout: a duration in ms"_s);
    options.timeoutMs = int(n);
    options.json = parser.isSet(json);
    if (!parseNumber(parser.value(iterations), &n) || n > 1000000000)
        return usageError(u"--iterations: a count"_s);
    options.iterations = int(n);
    if (!parseNumber(parser.value(interval), &n) || n < 50 || n > 3600 * 1000)
        return usageError(u"--interval: at least 50 ms"_s);
    options.intervalMs = int(n);
    if (!parseNumber(parser.value(count), &n) || n > 1000000000)
        return usageError(u"--count: a count"_s);
    options.count = int(n);
    if (parser.isSet(opcode)) {
        if (!parseNumber(parser.value(opcode), &n) || n == 0 || n > 0xFFFFFFFFu)
            return usageError(u"--opcode: a 32-bit op-code other than 0"_s);
        options.opcode = quint32(n);
    }
    if (parser.isSet(machine)) {
        if (!parseNumber(parser.value(machine), &n) || n == 0)
            return usageError(u"--machine: a machine id (as plexusctl status shows it)"_s);
        options.machine = n;
    }
    options.data = parser.value(data).toUtf8();
    options.broadcast = parser.isSet(broadcast);
    if (options.command == Command::Send && !options.opcode)
        return usageError(u"send needs --opcode"_s);
    if (options.command == Command::Restart) {
        if (!parser.isSet(pid) || !parseNumber(parser.value(pid), &n) || n == 0
            || n > quint64(std::numeric_limits<qint64>::max()))
            return usageError(u"restart needs --pid"_s);
        options.pid = qint64(n);
    }

    CtlCommand run(options);
    int code = ExitOk;
    if (!run.start(&code))
        return code;
    return app.exec();
}
