// SPDX-License-Identifier: MIT
#include "ctlcommand.h"

#include "ctlhealth.h"
#include "ctlmetrics.h"
#include "format.h"
#include "snapshotdecoder.h"

#include <plexus/calls.h>
#include <plexus/introspection.h>
#include <plexus/message.h>
#include <plexus/reply.h>

#include <QtCore/qcoreapplication.h>
#include <QtCore/qjsondocument.h>

#include <cstdio>

#include <unistd.h>

using namespace Qt::StringLiterals;
using namespace PlexusMonitor;

namespace PlexusCtl {

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
    if (m_options.command == Command::Top) {
        m_frames.start(m_options.intervalMs);
        // Keys only from a terminal: from a pipe or /dev/null, top runs as before.
        if (m_terminal.start())
            connect(&m_terminal, &CtlTerminal::keyPressed, this, &CtlCommand::onKey);
    }
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
        m_terminal.stop();
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
    case Command::Metrics:
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
    quint64 machine = 0;
    if (m_options.command == Command::Restart && m_options.machine == 0) {
        // restart --pid alone: the machine whose snapshot lists the pid, once every master
        // known has answered.
        if (!statusComplete() || !findPid(&machine))
            return;
    } else {
        for (const MachineEntry &m : m_client.state()->machines()) {
            if (m.connected && (m_options.machine == 0 || m.machine == m_options.machine)) {
                machine = m.machine;
                break;
            }
        }
        if (!machine)
            return;   // not (yet) found: onTimeout() says so when the search is over
    }
    m_controlSent = true;
    m_timeout.stop();   // the client's own timeout bounds the answer
    if (m_options.command == Command::Restart)
        m_client.restartWorker(machine, m_options.pid);
    else
        sendMessage(machine);
}

// False (and the command finished) unless exactly one machine runs the pid.
bool CtlCommand::findPid(quint64 *machine)
{
    QStringList found;
    for (const MachineEntry &m : m_client.state()->machines()) {
        if (!m.hasSnapshot)
            continue;
        for (const ProcessSnapshot &p : m.snapshot.processes) {
            if (p.pid == m_options.pid) {
                *machine = m.machine;
                found.append(Format::machineId(m.machine));
                break;
            }
        }
    }
    if (found.size() == 1)
        return true;
    if (found.isEmpty()) {
        err(u"no process with pid %1 on any machine (known: %2)"_s.arg(m_options.pid)
                    .arg(knownMachines()));
        finish(ExitNoSuchTarget);
    } else {
        err(u"pid %1 runs on more than one machine (%2): say which with --machine"_s
                    .arg(m_options.pid)
                    .arg(found.join(u", "_s)));
        finish(ExitUsage);
    }
    return false;
}

QString CtlCommand::knownMachines() const
{
    QStringList ids;
    for (const MachineEntry &m : m_client.state()->machines()) {
        if (m.connected || m.hasSnapshot)
            ids.append(Format::machineId(m.machine));
    }
    return ids.isEmpty() ? u"none"_s : ids.join(u", "_s);
}

// The control request for "send" goes out here rather than through
// MonitorClient::sendTestMessage(): controlFinished() carries no more than ok and the
// error, and the answer's "targets" and "handled" counts (how many processes got the
// message, and how many of them handle its op-code) are what tells an op-code nobody
// handles. An older master leaves them out (-1 here): then "ok" is all there is to say.
void CtlCommand::sendMessage(quint64 machine)
{
    const int timeout = m_client.options().timeoutMs;
    const Plexus::Message request = Plexus::newMessage(
            {.opcode = Plexus::Introspection::ControlOpcode,
             .data = encodeSendRequest(m_options.opcode, m_options.data, m_options.broadcast),
             .timeout = timeout,
             .reply = true});
    Plexus::Reply *reply = request.isNull() ? nullptr
                                            : Plexus::sendTo(Plexus::Sender(machine, 0, -1), request);
    if (!reply) {
        err(u"control action failed: the request could not be sent"_s);
        finish(ExitFailure);
        return;
    }
    reply->setTimeout(timeout);
    struct Answer {
        bool received = false;
        ControlAnswer answer;
        QString error;            // why it did not decode
    };
    auto answer = std::make_shared<Answer>();
    connect(reply, &Plexus::Reply::replyReceived, this, [answer](const Plexus::Message &m) {
        if (answer->received || m.isError())
            return;
        answer->received = true;
        if (!decodeControlAnswer(m.data(), &answer->answer, &answer->error) && answer->error.isEmpty())
            answer->error = u"?"_s;
    });
    connect(reply, &Plexus::Reply::finished, this, [this, answer, reply, machine] {
        if (!answer->received) {
            err(u"control action failed: "_s + reply->errorString());
            finish(ExitFailure);
        } else if (!answer->error.isEmpty()) {
            err(u"control action failed: unreadable answer: "_s + answer->error);
            finish(ExitFailure);
        } else if (!answer->answer.ok) {
            err(u"refused: "_s + answer->answer.error);
            finish(ExitRefused);
        } else if (answer->answer.handled == 0) {
            err(u"no process handles op-code %1 %2 (delivered to %3 processes)"_s
                        .arg(Format::opcode(m_options.opcode),
                             m_options.broadcast ? u"in the cluster (broadcast from machine %1)"_s
                                                           .arg(Format::machineId(machine))
                                                 : u"on machine "_s + Format::machineId(machine))
                        .arg(qMax(answer->answer.targets, qint64(0))));
            finish(ExitNotHandled);
        } else {
            const ControlAnswer &a = answer->answer;
            if (a.handled > 0)
                out(u"ok: handled by %1 of %2 processes\n"_s.arg(a.handled)
                            .arg(a.targets < 0 ? u"?"_s : QString::number(a.targets))
                            .toLocal8Bit());
            else
                out("ok\n");
            finish(ExitOk);
        }
    });
}

void CtlCommand::printStatus()
{
    if (m_options.command == Command::Metrics) {
        out(metricsText(*m_client.state()));
        finish(ExitOk);
        return;
    }
    const ClusterState &state = *m_client.state();
    if (m_options.json) {
        out(QJsonDocument(statusJson(state)).toJson(QJsonDocument::Indented));
    } else {
        out((alarmsText(state.alarms(), 0) + statusTable(state, {})).toLocal8Bit());
    }
    finish(state.alarms().activeCount() > 0 ? ExitAlarm : ExitOk);
}

void CtlCommand::printTop()
{
    if (m_done || m_paused || m_client.state()->reportingMachines() == 0)
        return;
    m_timeout.stop();
    drawTop();
    if (m_options.iterations > 0 && ++m_printed >= m_options.iterations)
        finish(ExitOk);
    else if (m_options.iterations <= 0)
        ++m_printed;
}

void CtlCommand::drawTop()
{
    QByteArray frame;
    const bool tty = ::isatty(STDOUT_FILENO);
    if (tty)
        frame += "\x1b[H\x1b[2J";   // home, clear screen
    else if (m_printed > 0)
        frame += '\n';
    m_table.width = terminalWidth(80);
    QStringList title{u"plexusctl top"_s, Format::time(QDateTime::currentMSecsSinceEpoch()),
                      u"every %1 ms"_s.arg(m_options.intervalMs),
                      u"sort: "_s + columnTitle(m_table.sortBy) + (m_table.reversed ? u" (reversed)"_s
                                                                                   : QString())};
    if (m_paused)
        title.append(u"PAUSED"_s);
    frame += (fitFields(title, m_table.width) + u'\n').toLocal8Bit();
    if (m_terminal.isActive())
        frame += fitFields({u"keys:"_s, u"s or > next sort column"_s, u"< previous"_s,
                            u"r reverse"_s, u"p pause"_s, u"q quit"_s},
                           m_table.width).toLocal8Bit() + '\n';
    frame += '\n';
    frame += alarmsText(m_client.state()->alarms(), m_table.width).toLocal8Bit();
    frame += statusTable(*m_client.state(), m_table).toLocal8Bit();
    out(frame);
}

void CtlCommand::onKey(char key)
{
    if (m_done)
        return;
    switch (key) {
    case 'q':
    case 'Q':
        finish(ExitOk);
        return;
    case 'p':
    case 'P':
        m_paused = !m_paused;
        m_client.setPaused(m_paused);
        break;
    case 's':
    case '>':
        m_table.sortBy = Column((int(m_table.sortBy) + 1) % ColumnCount);
        break;
    case '<':
        m_table.sortBy = Column((int(m_table.sortBy) + ColumnCount - 1) % ColumnCount);
        break;
    case 'r':
    case 'R':
        m_table.reversed = !m_table.reversed;
        break;
    default:
        return;
    }
    if (m_client.state()->reportingMachines() > 0)
        drawTop();   // at once, without counting a frame
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
    const bool snapshots = m_options.command == Command::Status
            || m_options.command == Command::Metrics || m_options.command == Command::Top
            || (m_options.command == Command::Restart && m_options.machine == 0);
    if (snapshots && !m_awaitingAnswers && m_client.pendingSnapshots() > 0) {
        // Masters were found in time and are answering: give them the answer timeout (the
        // client fails the snapshots after it), once.
        m_awaitingAnswers = true;
        m_timeout.start(m_client.options().timeoutMs);
        return;
    }
    if ((m_options.command == Command::Send || m_options.command == Command::Restart)
        && (m_client.connectedMachines() > 0 || state->reportingMachines() > 0)) {
        // Masters were found, but not the one asked for (or, for --pid alone, not every
        // master answered in time: decide from those that did).
        if (m_options.machine == 0 && m_options.command == Command::Restart) {
            quint64 machine = 0;
            if (findPid(&machine)) {
                m_controlSent = true;
                m_client.restartWorker(machine, m_options.pid);
            }
            return;
        }
        const MachineEntry *m = state->machine(m_options.machine);
        if (m && !m->connected)
            err(u"machine %1 is known (from another master's peers) but not reachable"_s
                        .arg(Format::machineId(m_options.machine)));
        else
            err(u"no such machine %1 (known: %2)"_s.arg(Format::machineId(m_options.machine),
                                                        knownMachines()));
        finish(m ? ExitFailure : ExitNoSuchTarget);
        return;
    }
    if ((m_options.command == Command::Status || m_options.command == Command::Metrics)
        && state->reportingMachines() > 0) {
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
