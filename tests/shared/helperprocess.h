// SPDX-License-Identifier: MIT
#pragma once

// The harness of every multi-process test: a helper program run with QProcess, whose
// stdout lines ("TAG key=value ..." or "TAG word word ...", or any text) are collected and
// can be waited for, and which is ended (the whole process group, if it made one) when the
// HelperProcess goes, also after a failed test.

#include <QtCore/qhash.h>
#include <QtCore/qlist.h>
#include <QtCore/qobject.h>
#include <QtCore/qprocess.h>
#include <QtCore/qstring.h>
#include <QtCore/qstringlist.h>

#include <functional>
#include <utility>

namespace TestSupport {

// One line of a helper's output: its first word is the tag; "key=value" words are fields,
// the others are words (in order).
struct Line
{
    QString tag;
    QHash<QString, QString> fields;
    QStringList words;
    QString raw;

    QString operator[](const QString &key) const { return fields.value(key); }
    qint64 num(const QString &key) const { return fields.value(key).toLongLong(); }
    QString word(qsizetype i) const { return words.value(i); }

    static Line parse(const QString &raw);
};

using Fields = QList<std::pair<QString, QString>>;

class HelperProcess : public QObject
{
    Q_OBJECT
public:
    explicit HelperProcess(QObject *parent = nullptr);
    ~HelperProcess() override;

    // Before start(): the environment (default: this process's) and whether stderr is kept
    // apart (default: standardError(), and in dump()) or forwarded to the test's own stderr.
    void setEnvironment(const QProcessEnvironment &env) { m_process.setProcessEnvironment(env); }
    void setForwardStderr(bool forward);

    bool start(const QString &program, const QStringList &arguments, int timeoutMs = 10000);
    QProcess &process() { return m_process; }
    qint64 pid() const { return m_pid; }
    bool isRunning() const { return m_process.state() != QProcess::NotRunning; }

    // Writes \a line (a newline is added) to the helper's stdin.
    void send(const QByteArray &line);

    // Every line of stdout so far. Once the helper has ended, also the last one if it had no
    // newline: everything it wrote is here by the time isRunning() is false.
    const QList<Line> &lines() const { return m_lines; }
    // The same as text: each line followed by a newline (for helpers that print prose).
    QString output() const;
    QList<Line> find(const QString &tag, const Fields &filter = {}) const;
    int count(const QString &tag, const Fields &filter = {}) const;
    bool has(const QString &tag, const Fields &filter = {}) const { return count(tag, filter) > 0; }
    Line first(const QString &tag, const Fields &filter = {}) const;
    Line last(const QString &tag, const Fields &filter = {}) const;
    QByteArray standardError() const { return m_stderr; }

    // Runs the event loop until \a condition holds or \a timeoutMs passed.
    static bool waitFor(const std::function<bool()> &condition, int timeoutMs);
    bool waitForLine(const QString &tag, const Fields &filter = {}, int timeoutMs = 10000);
    bool waitForFinished(int timeoutMs);

    // SIGTERM (then SIGKILL after \a graceMs) to the helper and its process group. With a
    // \a graceMs of 0, SIGKILL at once.
    void stop(int graceMs = 3000);
    // Asks the helper to end by itself: writes \a command to its stdin (unless empty) and
    // closes it. If it has not ended within \a timeoutMs it is killed (stop(0)). True if it
    // ended by itself (or had already ended).
    bool finish(const QByteArray &command = {}, int timeoutMs = 10000);
    // Everything it said, for a failure message.
    QString dump(const QString &what = {}) const;

Q_SIGNALS:
    void lineReceived(const TestSupport::Line &line);

private:
    void readOut();
    void readRest();
    void addLine(const QByteArray &text);

    QProcess m_process;
    qint64 m_pid = 0;
    bool m_forwardStderr = false;
    QByteArray m_partial;
    QByteArray m_stderr;
    QList<Line> m_lines;
};

} // namespace TestSupport
