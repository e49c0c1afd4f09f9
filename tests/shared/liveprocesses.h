// SPDX-License-Identifier: MIT
#pragma once

// Shared by the multi-process tests (tst_calls, tst_cluster).

#include <QtCore/qbytearray.h>
#include <QtCore/qdir.h>
#include <QtCore/qfile.h>
#include <QtCore/qlist.h>

namespace TestSupport {

// Processes whose command line carries \a token (a test run's marker) and that still run.
// Zombies count as gone.
inline QList<qint64> liveProcesses(const QByteArray &token)
{
    QList<qint64> out;
    const QStringList entries = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &entry : entries) {
        bool ok = false;
        const qint64 pid = entry.toLongLong(&ok);
        if (!ok)
            continue;
        QFile cmdline(QStringLiteral("/proc/") + entry + QStringLiteral("/cmdline"));
        if (!cmdline.open(QIODevice::ReadOnly) || !cmdline.readAll().contains(token))
            continue;
        QFile stat(QStringLiteral("/proc/") + entry + QStringLiteral("/stat"));
        if (!stat.open(QIODevice::ReadOnly))
            continue;
        const QByteArray s = stat.readAll();
        const qsizetype paren = s.lastIndexOf(')');
        if (paren < 0 || paren + 2 >= s.size() || s.at(paren + 2) != 'Z')
            out.append(pid);
    }
    return out;
}

} // namespace TestSupport
