// SPDX-License-Identifier: MIT
#pragma once

#include <plexus/message.h>
#include <plexus/payload.h>
#include <plexus/workerinfo.h>

#include <QtCore/qobject.h>

#include <functional>
#include <memory>

namespace Plexus {

class NodePrivate;

/*!
    \class Plexus::Node
    The per-process Plexus runtime: its role, its IPC link(s), its workers and counters.

    There is one Node per process. Plexus::exec() creates it in the master and in every
    worker and hands it to the start callback. A Node can also be created directly in an
    existing Qt application: it is then a master with no forked workers, which can still
    spawn() exec'd workers:

    \code
    QCoreApplication app(argc, argv);
    Plexus::Node node;
    if (!node.start())
        qFatal("%s", qPrintable(node.errorString()));
    node.handle(OpPing, &app, [](const Plexus::Message &m) { Plexus::reply(m, {.done = true}); });
    node.spawn(QStringLiteral("/usr/bin/my-helper"), {}, Plexus::WorkerInfo::Restart);
    return app.exec();
    \endcode
*/
class PLEXUS_EXPORT Node : public QObject
{
    Q_OBJECT
    Q_PROPERTY(Role role READ role CONSTANT)
    Q_PROPERTY(qint64 pid READ pid CONSTANT)
    Q_PROPERTY(QString ipcUrl READ ipcUrl)
public:
    enum Role { Master, Worker, Peer };
    Q_ENUM(Role)

    enum Error {
        NoError = 0,
        AlreadyStartedError,
        AddressError,         //!< the IPC URL is invalid or cannot be listened on
        ConnectionError,      //!< a worker could not connect to its master
        HandshakeError,       //!< the master refused us (version or key)
        NotMasterError,       //!< the operation needs the master
        SpawnError,
    };
    Q_ENUM(Error)

    /*! Traffic and security counters of this process. */
    struct Counters {
        quint64 messagesIn = 0;
        quint64 messagesOut = 0;
        quint64 bytesIn = 0;
        quint64 bytesOut = 0;
        quint64 rejectedFrames = 0;      //!< all security rejections
        quint64 lateReplies = 0;         //!< replies for calls already finished
        quint64 unknownOpcodes = 0;
        quint64 backpressureErrors = 0;
        quint64 restarts = 0;
    };

    /*! A master with no forked workers, for use in an existing application. */
    explicit Node(QObject *parent = nullptr);
    ~Node() override;

    /*! The Node of this process, or nullptr. */
    static Node *instance();

    Role role() const;
    bool isMaster() const { return role() == Master; }
    bool isWorker() const { return role() == Worker; }
    qint64 pid() const;
    /*! This worker's slot, -1 on a master. */
    int workerSlot() const;

    /*! The IPC URL, "unix:///path/to/socket". */
    QString ipcUrl() const;
    /*!
        Sets the IPC URL (fio_ipc_url_set). Master only, before start(). A path ending in
        "XXX" or "..." gets that suffix replaced with random characters; an empty URL picks a
        random one in a private directory. Returns false (and sets error()) otherwise.
    */
    bool setIpcUrl(const QString &url);

    /*! Starts listening (master) or connects (worker). Called by Plexus::exec(). */
    bool start();
    bool isRunning() const;
    Error error() const;
    QString errorString() const;

    /*! The workers of this master (empty on workers). */
    QList<WorkerInfo> workers() const;
    /*! Calls \a fn for every worker that is running (mln_fork_iterate). */
    void forEachWorker(const std::function<void(const WorkerInfo &)> &fn) const;
    /*! Sends a typed message to one worker (mln_ipc_master_send_prepare). Master only. */
    bool sendToWorker(const WorkerInfo &worker, quint32 type, const Payload &payload);
    /*! Sends a typed message to the master (mln_ipc_worker_send_prepare). Worker only. */
    bool sendToMaster(quint32 type, const Payload &payload);

    /*!
        Starts \a program as an exec'd worker that joins this master over the IPC URL. The
        secret reaches it through an inherited pipe, never its command line or environment.
        Returns the new slot, or -1.
    */
    int spawn(const QString &program, const QStringList &arguments,
              WorkerInfo::RestartPolicy policy);

    /*!
        Dispatches op-code \a opcode to \a functor on this Node's thread while \a context
        lives. Takes precedence over a registerOpcode() handler for the same op-code in this
        process. \a functor is called with a const Plexus::Message &.
    */
    template <typename Functor>
    void handle(quint32 opcode, const QObject *context, Functor &&functor)
    {
        addOpcodeHandler(opcode, context,
                         std::function<void(const Message &)>(std::forward<Functor>(functor)));
    }
    /*! Removes the handle() handler of \a opcode. */
    void unhandle(quint32 opcode);

    Counters counters() const;
    /*! Frames rejected by this process for \a reason (FrameError::NoError: all of them). */
    quint64 rejectedFrames(FrameError reason) const;

    /*! Crash-loop protection: a slot that crashes \a count times within \a windowMs is not
        restarted again. Default 5 in 10000 ms. */
    void setRestartLimit(int count, int windowMs);

    /*! Asks every worker to stop, waits up to \a timeoutMs, then stops this Node. */
    void shutdown(int timeoutMs = 5000);

Q_SIGNALS:
    void workerStarted(const Plexus::WorkerInfo &worker);
    void workerExited(const Plexus::WorkerInfo &worker, Plexus::WorkerInfo::ExitReason reason);
    void securityEvent(Plexus::FrameError reason, const QString &peer);
    /*! Every worker forked at start has connected (at once on a master without workers). */
    void workersReady();
    /*! This worker lost its master; the process is about to quit. */
    void masterLost();

private:
    friend class NodePrivate;
    friend class Router;
    void addOpcodeHandler(quint32 opcode, const QObject *context,
                          std::function<void(const Message &)> functor);
    Q_DECLARE_PRIVATE(Node)
    std::unique_ptr<NodePrivate> const d_ptr;
};

} // namespace Plexus
