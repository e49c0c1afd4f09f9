// SPDX-License-Identifier: MIT
#include "helperprocess.h"

#include <QtCore/qdeadlinetimer.h>
#include <QtTest/qtest.h>

#include <csignal>

#include <sys/types.h>
#include <unistd.h>

namespace TestSupport {

Line Line::parse(const QString &raw)
{
    Line l;
    l.raw = raw;
    const QStringList parts = raw.split(u' ', Qt::SkipEmptyParts);
    l.tag = parts.value(0);
    for (qsizetype i = 1; i < parts.size(); ++i) {
        const qsizetype eq = parts[i].indexOf(u'=');
        if (eq > 0)
            l.fields.insert(parts[i].left(eq), parts[i].mid(eq + 1));
        else
            l.words.append(parts[i]);
    }
    return l;
}

HelperProcess::HelperProcess(QObject *parent) : QObject(parent)
{
    m_process.setProcessChannelMode(QProcess::SeparateChannels);
    connect(&m_process, &QProcess::readyReadStandardOutput, this, &HelperProcess::readOut);
    connect(&m_process, &QProcess::readyReadStandardError, this, [this] {
        m_stderr += m_process.readAllStandardError();
    });
    connect(&m_process, &QProcess::finished, this, &HelperProcess::readRest);
}

HelperProcess::~HelperProcess()
{
    // No lineReceived() from here on: what listens to it (a subclass, the test's members)
    // may be gone already.
    blockSignals(true);
    stop(1000);
}

void HelperProcess::setForwardStderr(bool forward)
{
    m_forwardStderr = forward;
    m_process.setProcessChannelMode(forward ? QProcess::ForwardedErrorChannel
                                            : QProcess::SeparateChannels);
}

bool HelperProcess::start(const QString &program, const QStringList &arguments, int timeoutMs)
{
    m_process.start(program, arguments);
    if (!m_process.waitForStarted(timeoutMs))
        return false;
    m_pid = m_process.processId();
    return true;
}

void HelperProcess::send(const QByteArray &line)
{
    m_process.write(line + '\n');
}

void HelperProcess::readOut()
{
    m_partial += m_process.readAllStandardOutput();
    qsizetype nl;
    while ((nl = m_partial.indexOf('\n')) >= 0) {
        const QByteArray text = m_partial.left(nl);
        m_partial.remove(0, nl + 1);
        addLine(text);
    }
}

// The helper has ended: what is still in the pipes, and a last line without a newline.
void HelperProcess::readRest()
{
    readOut();
    if (!m_partial.isEmpty())
        addLine(std::exchange(m_partial, {}));
    if (!m_forwardStderr)
        m_stderr += m_process.readAllStandardError();
}

void HelperProcess::addLine(const QByteArray &text)
{
    const Line l = Line::parse(QString::fromLocal8Bit(text));
    m_lines.append(l);
    Q_EMIT lineReceived(l);
}

QString HelperProcess::output() const
{
    QString out;
    for (const Line &l : m_lines)
        out += l.raw + u'\n';
    return out;
}

QList<Line> HelperProcess::find(const QString &tag, const Fields &filter) const
{
    QList<Line> out;
    for (const Line &l : m_lines) {
        if (l.tag != tag)
            continue;
        bool match = true;
        for (const auto &[k, v] : filter)
            match = match && l.fields.value(k) == v;
        if (match)
            out.append(l);
    }
    return out;
}

int HelperProcess::count(const QString &tag, const Fields &filter) const
{
    return int(find(tag, filter).size());
}

Line HelperProcess::first(const QString &tag, const Fields &filter) const
{
    const QList<Line> l = find(tag, filter);
    return l.isEmpty() ? Line() : l.first();
}

Line HelperProcess::last(const QString &tag, const Fields &filter) const
{
    const QList<Line> l = find(tag, filter);
    return l.isEmpty() ? Line() : l.last();
}

bool HelperProcess::waitFor(const std::function<bool()> &condition, int timeoutMs)
{
    return QTest::qWaitFor(condition, timeoutMs);
}

bool HelperProcess::waitForLine(const QString &tag, const Fields &filter, int timeoutMs)
{
    return waitFor([&] { return has(tag, filter); }, timeoutMs);
}

bool HelperProcess::waitForFinished(int timeoutMs)
{
    return waitFor([this] { return !isRunning(); }, timeoutMs);
}

void HelperProcess::stop(int graceMs)
{
    if (!isRunning())
        return;
    if (graceMs > 0) {
        ::kill(pid_t(m_pid), SIGTERM);
        if (m_process.waitForFinished(graceMs))
            return;
    }
    // Its workers too, whatever it left behind: the group, if it made one, and itself.
    ::kill(-pid_t(m_pid), SIGKILL);
    ::kill(pid_t(m_pid), SIGKILL);
    m_process.waitForFinished(5000);
}

bool HelperProcess::finish(const QByteArray &command, int timeoutMs)
{
    if (!isRunning())
        return true;
    if (!command.isEmpty())
        send(command);
    m_process.closeWriteChannel();
    if (waitForFinished(timeoutMs))
        return true;
    stop(0);   // SIGKILL
    return false;
}

QString HelperProcess::dump(const QString &what) const
{
    QString out = what.isEmpty() ? QString() : QStringLiteral("waiting for: ") + what + u'\n';
    out += QStringLiteral("--- stdout of %1 ---\n").arg(m_pid);
    for (const Line &l : m_lines)
        out += l.raw + u'\n';
    if (m_forwardStderr)
        out += QStringLiteral("--- stderr: forwarded to the test's own stderr ---\n");
    else
        out += QStringLiteral("--- stderr ---\n") + QString::fromLocal8Bit(m_stderr);
    return out;
}

} // namespace TestSupport
