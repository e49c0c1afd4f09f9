// SPDX-License-Identifier: MIT
#pragma once

// plexusctl top's keyboard: stdin in raw mode (no echo, no line buffering) while `top`
// runs on a terminal, restored on every way out (normal exit, SIGINT, SIGTERM, SIGHUP,
// SIGPIPE, SIGQUIT) and while stopped (SIGTSTP).

#include <QtCore/qobject.h>

class QSocketNotifier;

namespace PlexusCtl {

/*! The width of the terminal on stdout (ioctl TIOCGWINSZ); \a fallback when stdout is not
    a terminal or says nothing. */
int terminalWidth(int fallback);

/*!
    \class PlexusCtl::CtlTerminal
    Reads single keys from stdin when stdin is a terminal. start() puts the terminal in
    raw mode (ICANON and ECHO off; output processing untouched) and installs handlers for
    SIGINT, SIGTERM, SIGHUP, SIGPIPE and SIGQUIT that restore it before the process dies of
    the signal, and for SIGTSTP that restores it while the process is stopped and sets it
    raw again when continued; the destructor (or stop()) restores it too. Not a terminal: start() returns false and
    nothing changes.
*/
class CtlTerminal : public QObject
{
    Q_OBJECT
public:
    explicit CtlTerminal(QObject *parent = nullptr);
    ~CtlTerminal() override;

    bool start();
    void stop();
    bool isActive() const { return m_notifier != nullptr; }

Q_SIGNALS:
    /*! A key was pressed (one byte; escape sequences arrive byte by byte). */
    void keyPressed(char key);
    /*! stdin closed. */
    void inputClosed();

private:
    void readKeys();

    QSocketNotifier *m_notifier = nullptr;
};

} // namespace PlexusCtl
