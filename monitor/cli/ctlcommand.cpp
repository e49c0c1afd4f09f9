// SPDX-License-Identifier: MIT
#include "ctlcommand.h"

#include "ctlformat.h"
#include "format.h"

#include <QtCore/qcoreapplication.h>
#include <QtCore/qjsondocument.h>

#include <cstdio>

#include <sys/ioctl.h>
#include <unistd.h>

using namespace Qt::StringLiterals;
using namespace PlexusMonitor;

namespace PlexusCtl {

namespace {

int terminalWidth()
{
    winsize ws{};
    if (::isatty(STDOUT_FILENO) && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 0;
}

} // namespace

CtlCommand::CtlCommand(const CtlOptions &options, QObject *parent)
    : QObject(parent), m_options(options)
{
    m_timeout.setSingleShot(true);
    m_timeout.callOnTimeout(this, &CtlCommand::onTimeout);
    m_frames.callOnTimeout(this, &CtlCommand::printTop);
    connect(&m_client, &MonitorClient::stateChanged, this, &CtlCommand::onStateChanged);
    connect(&m_client, &MonitorClient::traceReceived, this, &CtlCommand::onTrace);
    connect(&m_client, &MonitorClient::problem, this, [](const QString &text) { err(text); });
    connect(&m_client, &MonitorClient::controlRefused, this, [this](const QString &why) {
        m_refused = true;
        err(u"refused: "_s + why);
    });
    connect(&m_client, &MonitorClient::controlFinished, this, [this](bool ok, const QString &why) {
        if (ok) {
            out("ok\n");
            finish(ExitOk);
        } else {
            if (!m_refused)
                err(u"control action failed: "_s + why);
            finish(m_refused ? ExitRefused : ExitFailure);
        }
    });
}

bool CtlCommand::start(int *exitCode)
{
    ClientOptions client = m_options.client;
    // --timeout bounds finding masters; what they are asked gets at least the time a
    // master takes to answer without a silent worker.
    client.timeoutMs = qMax(m_options.timeoutMs, MinAnswerTimeoutMs);
    client.trace = m_options.command == Command::Trace;
    client.traceOpcode = m_options.opcode;
    if (m_options.command == Command::Top)
        client.snapshotIntervalMs = m_options.intervalMs;
    if (!m_client.start(client)) {
        err(m_client.errorString());
        *exitCode = m_client.error() == MonitorClient::NoSecretError ? ExitNoSecret
                  : m_client.error() == MonitorClient::AddressError  ? ExitUsage
                                                                     : ExitFailure;
        return false;
    }
    m_timeout.start(m_options.timeoutMs);
    if (m_options.command == Command::Top)
        m_frames.start(m_options.intervalMs);
    return true;
}

void CtlCommand::out(const QByteArray &text)
{
    std::fwrite(text.constData(), 1, size_t(text.size()), stdout);
    std::fflush(stdout);
}

void CtlCommand::err(const QString &text)
{
    const QByteArray line = "plexusctl: " + text.toLocal8Bit() + '\n';
    std::fwrite(line.constData(), 1, size_t(line.size()), stderr);
}

void CtlCommand::finish(int code)
{
    if (m_done)
        return;
    m_done = true;
    // Usually called from a signal of the client, that is from inside its Node's link
    // callbacks: the Node must not be destroyed under them. Stop from the event loop.
    QMetaObject::invokeMethod(this, [this, code] {
        m_client.stop();
        QCoreApplication::exit(code);
    }, Qt::QueuedConnection);
}

bool CtlCommand::statusComplete() const
{
    const ClusterState *state = m_client.state();
    if (state->reportingMachines() == 0)
        return false;
    // Every master the monitor is linked to, or that another master names, has answered.
    for (const MachineEntry &m : state->machines()) {
        if (!m.hasSnapshot && (m.connected || m.discoveredOnly))
            return false;
    }
    return true;
}

void CtlCommand::onStateChanged()
{
    if (m_done)
        return;
    switch (m_options.command) {
    case Command::Status:
        if (statusComplete())
            printStatus();
        break;
    case Command::Top:
        if (m_printed == 0 && m_client.state()->reportingMachines() > 0) {
            printTop();
            m_frames.start(m_options.intervalMs);   // the next frame one interval later
        }
        break;
    case Command::Send:
    case Command::Restart:
        runControl();
        break;
    case Command::Trace:
        if (m_client.connectedMachines() > 0)
            m_timeout.stop();   // found: the trace runs until --count or an interrupt
        break;
    }
}

void CtlCommand::runControl()
{
    if (m_controlSent)
        return;
    const ClusterState *state = m_client.state();
    const MachineEntry *target = nullptr;
    for (const MachineEntry &m : state->machines()) {
        if (m.connected && (m_options.machine == 0 || m.machine == m_options.machine)) {
            target = &m;
            break;
        }
    }
    if (!target)
        return;
    m_controlSent = true;
    m_timeout.stop();   // the client's own timeout bounds the answer
    if (m_options.command == Command::Restart)
        m_client.restartWorker(target->machine, m_options.pid);
    else
        m_client.sendTestMessage(m_options.opcode, m_options.data, m_options.broadcast,
                                 m_options.machine);
}

void CtlCommand::printStatus()
{
    if (m_options.json) {
        out(QJsonDocument(statusJson(*m_client.state())).toJson(QJsonDocument::Indented));
    } else {
        out(statusTable(*m_client.state(), 0).toLocal8Bit());
    }
    finish(ExitOk);
}

void CtlCommand::printTop()
{
    if (m_done || m_client.state()->reportingMachines() == 0)
        return;
    m_timeout.stop();
    QByteArray frame;
    const bool tty = ::isatty(STDOUT_FILENO);
    if (tty)
        frame += "\x1b[H\x1b[2J";   // home, clear screen
    else if (m_printed > 0)
        frame += '\n';
    frame += (u"plexusctl top  %1  (every %2 ms)\n\n"_s
                      .arg(Format::time(QDateTime::currentMSecsSinceEpoch()))
                      .arg(m_options.intervalMs))
                     .toLocal8Bit();
    frame += statusTable(*m_client.state(), terminalWidth()).toLocal8Bit();
    out(frame);
    if (m_options.iterations > 0 && ++m_printed >= m_options.iterations)
        finish(ExitOk);
    else if (m_options.iterations <= 0)
        ++m_printed;
}

void CtlCommand::onTrace()
{
    if (m_done)
        return;
    quint64 first = 0;
    const QList<TraceSample> samples = m_client.state()->traceSamples(m_traceNext, &first);
    m_traceNext = m_client.state()->traceSequence();
    QByteArray text;
    for (const TraceSample &s : samples) {
        if (m_options.opcode && s.opcode != m_options.opcode)
            continue;
        text += m_options.json ? QJsonDocument(traceJson(s)).toJson(QJsonDocument::Compact)
                               : traceLine(s).toLocal8Bit();
        text += '\n';
        if (m_options.count > 0 && ++m_printed >= m_options.count)
            break;
    }
    out(text);
    if (m_options.count > 0 && m_printed >= m_options.count)
        finish(ExitOk);
}

void CtlCommand::onTimeout()
{
    if (m_done)
        return;
    const ClusterState *state = m_client.state();
    if ((m_options.command == Command::Status || m_options.command == Command::Top)
        && !m_awaitingAnswers && m_client.pendingSnapshots() > 0) {
        // Masters were found in time and are answering: give them the answer timeout (the
        // client fails the snapshots after it), once.
        m_awaitingAnswers = true;
        m_timeout.start(m_client.options().timeoutMs);
        return;
    }
    if (m_options.command == Command::Status && state->reportingMachines() > 0) {
        // Some answered in time: show them, and say who did not.
        for (const MachineEntry &m : state->machines()) {
            if (!m.hasSnapshot && (m.connected || m.discoveredOnly))
                err(u"machine %1 (%2:%3) did not answer in time"_s
                            .arg(Format::machineId(m.machine), m.address)
                            .arg(m.port));
        }
        printStatus();
        return;
    }
    if (!state->refused().isEmpty()) {
        const RefusedPeer &r = state->refused().front();
        err(u"no master accepted this monitor within %1 ms; %2 refused the handshake (%3): "
            "wrong SECRET?"_s.arg(m_options.timeoutMs).arg(r.peer, r.reason));
        finish(ExitFailure);
        return;
    }
    err(u"no master found within %1 ms"_s.arg(m_options.timeoutMs));
    finish(ExitNobody);
}

} // namespace PlexusCtl
