// SPDX-License-Identifier: MIT
#pragma once

#include "crypto_p.h"

#include <plexus/node.h>

#include <QtCore/qhash.h>
#include <QtCore/qpointer.h>

#include <atomic>

QT_BEGIN_NAMESPACE
class QSocketNotifier;
QT_END_NAMESPACE

namespace Plexus {

class Router;
class Link;
class SupervisorClient;

/*
    What Plexus::exec() hands to the Node of each process before Qt starts: role, slot,
    the secret, a listening socket created before fork(), the fork server channel.
*/
struct ProcessSetup
{
    Node::Role role = Node::Master;
    int slot = -1;
    bool isExec = false;
    int initialWorkers = 0;
    QByteArray secret;
    QString ipcUrl;
    QString socketPath;
    QString privateDir;        // created by us, removed on exit
    int listenFd = -1;         // master: created before fork()
    int supervisorFd = -1;     // master: channel to the fork server
    qint64 supervisorPid = 0;
    WorkerInfo::RestartPolicy restartPolicy = WorkerInfo::Restart;
    int maxRestarts = 5;
    int restartWindowMs = 10000;
};

class NodePrivate
{
    Q_DECLARE_PUBLIC(Node)
public:
    explicit NodePrivate(Node *q);
    ~NodePrivate();

    static NodePrivate *get(Node *node) { return node->d_func(); }

    // Set by exec() before constructing the Node of this process.
    static ProcessSetup *pendingSetup;

    static QString pathFromUrl(const QString &url);
    // Resolves setup.ipcUrl (random parts, private directory) into setup.socketPath.
    static bool resolveIpcUrl(ProcessSetup &setup, QString *error);
    // Creates the listening socket (mode 0600); usable before Qt starts.
    static int listenOn(const QString &path, QString *error);

    bool listen();
    bool startExec(int slot);
    bool connectToMaster();
    void onAccept();
    void onHello(Link *link, QByteArrayView data);
    void onLinkClosed(Link *link);
    void onWorkerForked(int slot, qint64 pid);
    void onWorkerReaped(int slot, qint64 pid, int status);
    void restartSlot(int slot);
    void cleanupSocket();
    QByteArray helloPayload() const;
    WorkerInfo workerForLink(const Link *link) const;
    void setError(Node::Error error, const QString &text);
    void countSecurity(FrameError error);

    Node *q_ptr;
    ProcessSetup setup;
    Node::Role role = Node::Master;
    qint64 pid = 0;
    int slot = -1;
    bool running = false;
    bool shuttingDown = false;
    Node::Error error = Node::NoError;
    QString errorString;

    Router *router = nullptr;
    QSocketNotifier *acceptNotifier = nullptr;
    SupervisorClient *supervisor = nullptr;

    QList<WorkerInfo> workers;           // index = slot
    QHash<int, QList<qint64>> crashTimes;  // slot -> recent unexpected exits (ms)
    QHash<int, QObject *> spawned;       // slot -> QProcess for exec'd workers
    int maxRestarts = 5;
    int restartWindowMs = 10000;
    bool workersReadyEmitted = false;

    struct OpcodeHandler {
        QPointer<const QObject> context;
        std::function<void(const Message &)> functor;
    };
    QHash<quint32, OpcodeHandler> opcodeHandlers;

    // Counters are written on the Node's thread and read from any thread.
    struct AtomicCounters {
        std::atomic<quint64> messagesIn{0}, messagesOut{0}, bytesIn{0}, bytesOut{0},
                rejectedFrames{0}, lateReplies{0}, unknownOpcodes{0}, backpressureErrors{0},
                restarts{0};
        std::atomic<quint64> rejectedByReason[16] = {};
    } counters;
};

} // namespace Plexus
