// SPDX-License-Identifier: MIT
#include "ctlterminal.h"

#include <QtCore/qsocketnotifier.h>

#include <csignal>
#include <iterator>

#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

namespace PlexusCtl {

namespace {

// The terminal's settings before raw mode, for the signal handlers: plain globals, since a
// handler may only touch those (and call async-signal-safe functions like tcsetattr).
termios g_saved{};
termios g_rawSettings{};
volatile sig_atomic_t g_raw = 0;
// Every way the process can end or stop by a signal while the terminal is raw: ^C, kill,
// a closed terminal, a closed pipe (plexusctl top | head), ^\ and ^Z.
constexpr int HandledSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT, SIGTSTP};
constexpr int HandledCount = int(std::size(HandledSignals));
struct sigaction g_previous[HandledCount]{};

void restoreTerminal()
{
    if (g_raw) {
        ::tcsetattr(STDIN_FILENO, TCSANOW, &g_saved);
        g_raw = 0;
    }
}

void onSignal(int signal)
{
    const bool wasRaw = g_raw;
    restoreTerminal();
    if (signal == SIGTSTP) {
        // Stop with the shell's terminal settings back (SIGSTOP cannot be blocked, unlike
        // SIGTSTP inside its own handler); raw again when continued (fg).
        ::kill(::getpid(), SIGSTOP);
        if (wasRaw && ::tcsetattr(STDIN_FILENO, TCSANOW, &g_rawSettings) == 0)
            g_raw = 1;
        return;
    }
    // Die of the signal as if it had not been caught, so the shell sees the same status.
    ::signal(signal, SIG_DFL);
    ::raise(signal);
}

} // namespace

int terminalWidth(int fallback)
{
    winsize ws{};
    if (::isatty(STDOUT_FILENO) && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return fallback;
}

CtlTerminal::CtlTerminal(QObject *parent) : QObject(parent) { }

CtlTerminal::~CtlTerminal()
{
    stop();
}

bool CtlTerminal::start()
{
    if (m_notifier || !::isatty(STDIN_FILENO) || ::tcgetattr(STDIN_FILENO, &g_saved) != 0)
        return false;
    struct sigaction action{};
    action.sa_handler = onSignal;
    sigemptyset(&action.sa_mask);
    termios raw = g_saved;
    raw.c_lflag &= ~tcflag_t(ICANON | ECHO);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    g_rawSettings = raw;   // before the handlers exist: they read it
    for (int i = 0; i < HandledCount; ++i)
        ::sigaction(HandledSignals[i], &action, &g_previous[i]);
    if (::tcsetattr(STDIN_FILENO, TCSANOW, &raw) != 0) {
        for (int i = 0; i < HandledCount; ++i)
            ::sigaction(HandledSignals[i], &g_previous[i], nullptr);
        return false;
    }
    g_raw = 1;
    m_notifier = new QSocketNotifier(STDIN_FILENO, QSocketNotifier::Read, this);
    connect(m_notifier, &QSocketNotifier::activated, this, &CtlTerminal::readKeys);
    return true;
}

void CtlTerminal::stop()
{
    if (!m_notifier)
        return;
    delete m_notifier;
    m_notifier = nullptr;
    restoreTerminal();
    for (int i = 0; i < HandledCount; ++i)
        ::sigaction(HandledSignals[i], &g_previous[i], nullptr);
}

void CtlTerminal::readKeys()
{
    char keys[64];
    const ssize_t n = ::read(STDIN_FILENO, keys, sizeof keys);
    if (n <= 0) {
        m_notifier->setEnabled(false);
        Q_EMIT inputClosed();
        return;
    }
    for (ssize_t i = 0; i < n && m_notifier; ++i)
        Q_EMIT keyPressed(keys[i]);
}

} // namespace PlexusCtl
