// SPDX-License-Identifier: MIT
#pragma once

#include "ctlformat.h"
#include "ctlterminal.h"
#include "monitorclient.h"

#include <QtCore/qobject.h>
#include <QtCore/qtimer.h>

namespace PlexusCtl {

/*! plexusctl's exit codes (also in --help). */
enum ExitCode {
    ExitOk = 0,
    ExitUsage = 1,        //!< bad command line
    ExitNoSecret = 2,     //!< SECRET unset or empty
    ExitNobody = 3,       //!< no master answered within --timeout
    ExitRefused = 4,      //!< a master refused the control action
    ExitFailure = 5,      //!< anything else (wrong SECRET, a port taken, ...)
    ExitNoSuchTarget = 6, //!< no such machine (--machine), or no process with --pid
    ExitNotHandled = 7,   //!< send: delivered, but no process has a handler for the op-code
    ExitAlarm = 8,        //!< status: printed, and an alarm is active (a health check fails)
};

enum class Command { Status, Top, Trace, Send, Restart, Metrics };

/*! How long a master found gets to answer a snapshot or a control action, at least,
    whatever --timeout says: a master waits up to 2000 ms for its silent workers' parts of
    a snapshot before it answers without them. */
inline constexpr int MinAnswerTimeoutMs = 2500;

/*! Everything the command line says. */
struct CtlOptions
{
    Command command = Command::Status;
    PlexusMonitor::ClientOptions client;
    int timeoutMs = 3000;      //!< to find masters (their answers: MinAnswerTimeoutMs at least)
    bool json = false;
    int iterations = 0;        //!< top: frames before exiting (0: until interrupted)
    int intervalMs = 1000;     //!< top: between frames
    int count = 0;             //!< trace: samples before exiting (0: until interrupted)
    quint32 opcode = 0;        //!< trace filter, send target
    QByteArray data;           //!< send
    bool broadcast = false;    //!< send
    quint64 machine = 0;       //!< send (0: any master), restart (0: the one running pid)
    qint64 pid = 0;            //!< restart
};

/*!
    \class PlexusCtl::CtlCommand
    Runs one plexusctl command on a MonitorClient and ends the event loop with its exit
    code (QCoreApplication::exit()). All waiting is event-driven: --timeout bounds finding
    masters, and a master found gets max(--timeout, MinAnswerTimeoutMs) to answer.
*/
class CtlCommand : public QObject
{
    Q_OBJECT
public:
    explicit CtlCommand(const CtlOptions &options, QObject *parent = nullptr);

    /*! Starts the command; false (with the exit code in \a exitCode) if it cannot start. */
    bool start(int *exitCode);

private:
    void onStateChanged();
    void onTrace();
    void onTimeout();
    void onKey(char key);
    void printTop();
    void drawTop();
    void printStatus();
    bool statusComplete() const;
    void runControl();
    bool findPid(quint64 *machine);
    QString knownMachines() const;
    void sendMessage(quint64 machine);
    void finish(int code);
    static void out(const QByteArray &text);
    static void err(const QString &text);

    CtlOptions m_options;
    PlexusMonitor::MonitorClient m_client;
    QTimer m_timeout;
    QTimer m_frames;
    CtlTerminal m_terminal;
    TableOptions m_table;
    quint64 m_traceNext = 0;
    int m_printed = 0;
    bool m_controlSent = false;
    bool m_refused = false;
    bool m_paused = false;             // top: 'p'
    bool m_done = false;
    bool m_awaitingAnswers = false;   // --timeout is over, snapshots are still on the way
};

} // namespace PlexusCtl
