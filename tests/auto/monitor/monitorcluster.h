// SPDX-License-Identifier: MIT
#pragma once

// One machine of the monitor tests' loopback cluster: a monitor_node process (a master
// with two workers, see monitor_node.cpp) and what its lines said. Shared by tst_monitor
// and tst_plexusctl.

#include "helperprocess.h"

#include <QtCore/qlist.h>
#include <QtCore/qprocess.h>
#include <QtCore/qstringlist.h>

namespace MonitorCluster {

struct Node
{
    QByteArray tag;
    TestSupport::HelperProcess *process = nullptr;   // monitor_node, owned by the test
    quint64 machine = 0;                              // from its READY line
    quint16 port = 0;
    QList<qint64> workers;                            // from the last WORKERS line

    // Starts monitor_node on cluster \a port, announcing to \a otherPort, as part of test
    // run \a run (its processes carry that token), with \a secret; \a owner parents the
    // process and receives its lines.
    bool start(QObject *owner, const QByteArray &run, quint16 port, quint16 otherPort,
               bool remoteControl, const QByteArray &secret, const QStringList &extra = {})
    {
        process = new TestSupport::HelperProcess(owner);
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("SECRET"), QString::fromLatin1(secret));
        process->setEnvironment(env);
        process->setForwardStderr(true);
        QObject::connect(process, &TestSupport::HelperProcess::lineReceived, owner,
                         [this](const TestSupport::Line &line) { noteLine(line); });
        QStringList args{QStringLiteral("--tag"), QString::fromLatin1(tag),
                         QStringLiteral("--run"), QString::fromLatin1(run),
                         QStringLiteral("--port"), QString::number(port),
                         QStringLiteral("--announce"), QStringLiteral("127.0.0.1:%1").arg(otherPort),
                         QStringLiteral("-w"), QStringLiteral("2")};
        if (remoteControl)
            args << QStringLiteral("--remote-control");
        args << extra;
        return process->start(QStringLiteral(MONITOR_NODE_PATH), args, 10000);
    }

    // "READY <tag> <machine id> <port>", "WORKERS <tag> <pid>,<pid>,..."
    void noteLine(const TestSupport::Line &line)
    {
        if (line.tag == u"READY") {
            machine = line.word(1).toULongLong(nullptr, 16);
            port = quint16(line.word(2).toUInt());
        } else if (line.tag == u"WORKERS") {
            workers.clear();
            for (const QString &pid : line.word(1).split(u',', Qt::SkipEmptyParts))
                workers.append(pid.toLongLong());
        }
    }

    // The master quits and stops its workers; it is killed if it does not.
    void stop()
    {
        if (process)
            process->finish("quit", 10000);
    }
};

// Two distinct free ports (TCP and UDP), for the two machines; false if none were found.
inline bool twoFreePorts(quint16 (&ports)[2], quint16 (*freePort)())
{
    ports[0] = freePort();
    ports[1] = freePort();
    for (int i = 0; i < 50 && ports[1] == ports[0]; ++i)
        ports[1] = freePort();
    return ports[0] && ports[1] && ports[0] != ports[1];
}

#ifdef PLEXUSCTL_PATH
// Starts plexusctl with \a arguments and \a secret as SECRET (none if empty), parented to
// \a owner; the caller waits for it.
inline TestSupport::HelperProcess *runPlexusctl(QObject *owner, const QStringList &arguments,
                                                 const QByteArray &secret)
{
    auto *p = new TestSupport::HelperProcess(owner);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("SECRET"));
    if (!secret.isEmpty())
        env.insert(QStringLiteral("SECRET"), QString::fromLatin1(secret));
    p->setEnvironment(env);
    p->start(QStringLiteral(PLEXUSCTL_PATH), arguments);
    return p;
}
#endif

} // namespace MonitorCluster
