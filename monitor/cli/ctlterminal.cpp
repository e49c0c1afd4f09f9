// SPDX-License-Identifier: MIT
#include "ctlterminal.h"

#include <QtCore/qsocketnotifier.h>

#include <csignal>

#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

namespace PlexusCtl {

namespace {

// The terminal's settings before raw mode, for the signal handlers: plain globals, since a
// handler may only touch those (and call async-signal-safe functions like tcsetattr).
termios g_saved{};
volatile sig_atomic_t g_raw = 0;
constexpr int HandledSignals[] = {SIGINT, SIGTERM, SIGHUP};
struct sigaction g_previous[3]{};

void restoreTerminal()
{
    if (g_raw) {
        ::tcsetattr(STDIN_FILENO, TCSANOW, &g_saved);
        g_raw = 0;
    }
}

void onSignal(int signal)
{
    restoreTerminal();
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
    for (int i = 0; i < 3; ++i)
        ::sigaction(HandledSignals[i], &action, &g_previous[i]);
    termios raw = g_saved;
    raw.c_lflag &= ~tcflag_t(ICANON | ECHO);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (::tcsetattr(STDIN_FILENO, TCSANOW, &raw) != 0) {
        for (int i = 0; i < 3; ++i)
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
    for (int i = 0; i < 3; ++i)
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
