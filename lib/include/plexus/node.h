// SPDX-License-Identifier: MIT
#pragma once

#include <plexus/clusteroptions.h>
#include <plexus/introspection.h>
#include <plexus/message.h>
#include <plexus/payload.h>
#include <plexus/peerinfo.h>
#include <plexus/workerinfo.h>

#include <QtCore/qobject.h>

#include <chrono>
#include <functional>
#include <memory>
#include <type_traits>

QT_BEGIN_NAMESPACE
class QUrl;
QT_END_NAMESPACE

namespace Plexus {

class NodePrivate;

/*!
    \class Plexus::Node
    The per-process Plexus runtime: its role, its IPC link(s), its workers and counters.

    There is one Node per process: a second one never starts (start() fails with
    AnotherNodeError). Plexus::exec() creates it in the master and in every
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
    Q_PROPERTY(quint64 machineId READ machineId CONSTANT)
    Q_PROPERTY(QString ipcUrl READ ipcUrl)
public:
    /*! What a process is in a Plexus application. */
    enum Role {
        Master,   //!< owns the IPC socket and the workers, joins the cluster
        Worker,   //!< forked or spawned by a master, connected to it
        Peer,     //!< watches a cluster (a monitor): no workers, never a target
    };
    Q_ENUM(Role)

    /*! Why an operation of the Node failed, grouped by hundreds per layer. */
    enum Error {
        NoError = 0,
        // Starting (1xx)
        AlreadyStartedError = 101,
        AddressError = 102,           //!< the IPC URL is invalid or cannot be listened on
        AddressInUseError = 103,      //!< a live process already serves the IPC URL
        CryptoError = 104,            //!< libsodium cannot be initialised
        NotMasterError = 105,         //!< the operation needs the master
        NotStartedError = 106,        //!< the operation needs start() first
        AnotherNodeError = 107,       //!< another Node already exists in this process
        // Connecting (2xx)
        ConnectionError = 201,        //!< a worker could not connect to its master
        HandshakeError = 202,         //!< the handshake with the master failed (version, key)
        // Workers (3xx)
        SpawnError = 301,             //!< an exec'd worker could not be started
        // Cluster (4xx)
        ClusterSecretError = 401,     //!< no cluster secret (SECRET unset or empty)
        ClusterListenError = 402,     //!< the cluster port cannot be listened on (TCP or UDP), or the NATS engine cannot start (nats.c cannot be loaded)
        ClusterAddressError = 403,    //!< a cluster or peer URL names no engine or is malformed
        NotInClusterError = 404,      //!< the operation needs listenCluster() first
    };
    Q_ENUM(Error)

    /*! Traffic and security counters of this process. */
    struct Counters {
        quint64 messagesIn = 0;          //!< frames received (requests and replies)
        quint64 messagesOut = 0;         //!< frames sent
        quint64 bytesIn = 0;             //!< payload bytes received
        quint64 bytesOut = 0;            //!< payload bytes sent
        quint64 rejectedFrames = 0;      //!< all security rejections
        quint64 lateReplies = 0;         //!< replies for calls already finished
        quint64 droppedReplies = 0;      //!< replies not sent: their caller was gone
        quint64 unknownOpcodes = 0;      //!< requests for an op-code with no handler here
        quint64 backpressureErrors = 0;  //!< sends refused: a link's queue was over its limit
        quint64 restarts = 0;            //!< workers respawned by this master
        quint64 heldMessages = 0;        //!< messages held for a worker that was starting
        /*! Connections closed by their peer before sending a single byte (port scans,
            health checks, clients that gave up): churn, not rejections. */
        quint64 abandonedConnections = 0;
        /*! Cancels received from callers that gave up a call (abort, timeout); those
            for calls that had already ended here, or that no call here matches, count
            only here. */
        quint64 cancelsReceived = 0;
        /*! Requests of this process that their caller cancelled (abort, timeout, or the
            caller of a fan-out this master relays went away) while they were handled:
            they ended without sending their final reply. */
        quint64 canceledCalls = 0;
        /*! Messages from other machines dropped before they were read, because this
            process did not keep up (the NATS engine's receive queue or nats.c's was
            full); the calls waiting on their senders failed with TargetLostError. */
        quint64 droppedIncoming = 0;
    };

    /*! A master with no forked workers, for use in an existing application. */
    explicit Node(QObject *parent = nullptr);
    /*!
        A Node in role \a role: Master (as above) or Peer. A Peer runs no workers and has
        no IPC socket; it joins a cluster to watch it, as plexus-monitor does: it dials
        every master it hears of (listenCluster(): ClusterOptions::port is then the UDP
        discovery port to listen on, 0 for none; it never announces itself and listens on
        no TCP port) or is told of (connectToPeer()), and is never a target of the
        masters' cluster() or broadcast(). Worker is not a role a program chooses; it is
        taken as Master.

        \code
        Plexus::Node monitor(Plexus::Node::Peer);
        monitor.start();
        monitor.listenCluster({.port = 7400});   // SECRET from the environment
        \endcode
    */
    explicit Node(Role role, QObject *parent = nullptr);
    ~Node() override;

    /*! The Node of this process, or nullptr. */
    static Node *instance();

    /*! This process's role. */
    Role role() const;
    /*! True in the master. */
    bool isMaster() const { return role() == Master; }
    /*! True in a worker, forked or spawned. */
    bool isWorker() const { return role() == Worker; }
    /*! This process's id. */
    qint64 pid() const;
    /*! A random id drawn when the master starts, the same in all its workers. */
    quint64 machineId() const;
    /*! This worker's slot, -1 on a master. */
    int workerSlot() const;

    /*! The IPC URL, "unix:///path/to/socket". */
    QString ipcUrl() const;
    /*!
        Sets the IPC URL (fio_ipc_url_set). Master only, before start(). The last run of
        three or more 'X' in the file name ("unix:///tmp/app-XXXXXX.sock"), or a "..."
        suffix (12 characters), is replaced with random characters; an empty URL picks a
        random socket in a new private directory. Returns false (and sets error()) if the
        URL is refused.
    */
    bool setIpcUrl(const QString &url);

    /*!
        How long a new connection may take to finish its handshake before it is closed
        (default 5000 ms). Before start().
    */
    void setHandshakeTimeout(int msec);
    /*! \overload */
    void setHandshakeTimeout(std::chrono::milliseconds timeout) { setHandshakeTimeout(int(timeout.count())); }
    /*!
        How many new connections may be inside their handshake at once before the oldest
        is dropped (default 64). Before start().
    */
    void setMaxPendingConnections(int count);
    /*!
        After handling input from a link, keep looking for more for \a usec microseconds
        before going back to the event loop (default 20, at most 1000; 0 disables). A
        request/response exchange then skips the wake-up from idle, which on VMs costs
        tens of microseconds per message on each side: the sequential round-trip rate more
        than doubles. A link whose spins keep finding nothing stops spinning for a while,
        so an idle or slow peer costs next to nothing, and however much input a link keeps
        finding it goes back to the event loop after at most 1 ms of polling, so timers,
        signals and the other links are never starved. For links made after the call.

        Use 0 on a machine with more busy processes than cores (shared CI runners,
        oversubscribed VMs, more CPU-bound workers than cores): there the spin costs the
        peer its core and the scheduler's wake-up preference, and the sequential rate
        halves at twice the CPU per call (docs/BENCHMARKS.md, "The busy poll under load").
    */
    void setBusyPoll(int usec);
    /*! \overload */
    void setBusyPoll(std::chrono::microseconds window) { setBusyPoll(int(window.count())); }
    /*! How long traffic for a worker that is starting waits for it to connect before it
        fails with Reply::TargetLostError (default 10000 ms). */
    void setWorkerStartTimeout(int msec);
    /*! \overload */
    void setWorkerStartTimeout(std::chrono::milliseconds timeout) { setWorkerStartTimeout(int(timeout.count())); }
    /*!
        What carries this process's links, local and to other machines (default: the
        PLEXUS_LINK_BACKEND environment variable, "descriptor" or "qt", else
        LinkBackend::Descriptor). Before start(); workers forked by Plexus::exec() use
        their master's. The Qt backend runs the links over QLocalSocket and QTcpSocket,
        for programs that want Qt's sockets underneath; it is slower
        (docs/ARCHITECTURE.md).
    */
    void setLinkBackend(LinkBackend backend);
    /*! What carries this process's links (setLinkBackend()). */
    LinkBackend linkBackend() const;

    /*! Starts listening (master) or connects (worker). Called by Plexus::exec(). */
    bool start();
    /*! True between a successful start() and the end of shutdown(). */
    bool isRunning() const;
    /*! The error of the last operation that failed; NoError if none did. */
    Error error() const;
    /*! A readable description of error(), naming what failed. */
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
        link key reaches it through an inherited pipe, never its command line or
        environment. Returns the new slot, or -1.
    */
    int spawn(const QString &program, const QStringList &arguments,
              WorkerInfo::RestartPolicy policy);

    /*!
        Dispatches op-code \a opcode to \a functor on this Node's thread while \a context
        lives (with a null \a context, until unhandle()). Takes precedence over a
        registerOpcode() handler for the same op-code in this process. \a functor is called
        with a const Plexus::Message &.

        \code
        node.handle(OpPing, this, [](const Plexus::Message &m) {
            Plexus::reply(m, {.data = "pong", .done = true});
        });
        \endcode
    */
    template <typename Functor>
    void handle(quint32 opcode, const QObject *context, Functor &&functor)
    {
        constexpr bool callable = std::is_invocable_v<Functor &, const Message &>;
        static_assert(callable, "Node::handle(): the functor must be callable as "
                                "void(const Plexus::Message &)");
        if constexpr (callable)   // nothing more to report than the line above
            addOpcodeHandler(opcode, context,
                             std::function<void(const Message &)>(std::forward<Functor>(functor)));
    }
    /*! Removes the handle() handler of \a opcode. */
    void unhandle(quint32 opcode);

    /*! This process's counters, as of now. */
    Counters counters() const;
    /*! Frames rejected by this process for \a reason (FrameError::NoError: all of them). */
    quint64 rejectedFrames(FrameError reason) const;

    /*! Crash-loop protection: a slot that crashes \a count times within \a windowMs is not
        restarted again. Default 5 in 10000 ms. */
    void setRestartLimit(int count, int windowMs);
    /*! \overload */
    void setRestartLimit(int count, std::chrono::milliseconds window) { setRestartLimit(count, int(window.count())); }

    /*!
        Joins the cluster (master only, after start()): listens for cluster links on TCP
        port \a port and runs UDP discovery on the same port number. The other masters
        that share the secret (the SECRET environment variable) are found and connected
        to; from then on Plexus::cluster() and Plexus::broadcast() reach them. Returns
        false, with error() and errorString() set, when there is no secret, the port is
        taken, or this is not a running master.

        \code
        // SECRET=... ./app
        Plexus::exec(argc, argv, {.workers = 2}, [](Plexus::Node &node) {
            if (node.isMaster() && !node.listenCluster(7400))
                qFatal("%s", qPrintable(node.errorString()));
            node.handle(OpInvalidate, &node, [](const Plexus::Message &m) { drop(m.data()); });
        });
        // anywhere, later:
        Plexus::broadcast({.opcode = OpInvalidate, .data = {key}});
        \endcode
    */
    bool listenCluster(quint16 port);
    /*! Joins the cluster as listenCluster(quint16) does, with every setting of \a options:
        the engine (ClusterOptions::url; the mesh by default), the secret in code, the
        mesh's announce addresses, the intervals. */
    bool listenCluster(const ClusterOptions &options);
    /*! Connects to the master at \a url ("tcp://host:port"), for peers that discovery
        cannot reach (other subnets). Reconnects after a loss, as with discovered peers. */
    bool connectToPeer(const QUrl &url);
    /*! The cluster port (TCP and UDP), 0 before listenCluster(). */
    quint16 clusterPort() const;
    /*! True after a successful listenCluster(), until shutdown. */
    bool isInCluster() const;
    /*! The machines this master has a live link to; monitors are in monitors(). */
    QList<PeerInfo> peers() const;
    /*! The monitors (plexus-monitor, plexusctl: PeerInfo::isMonitor()) linked to this
        master. */
    QList<PeerInfo> monitors() const;

    /*!
        What monitors may see and do on this master (docs/MONITOR.md): snapshots always,
        traces unless \c options.trace is false, control actions (restart a worker, send
        a test message) only with \c options.remoteControl. Master only; may be changed
        at any time.

        \code
        node.setIntrospection({.remoteControl = true});
        \endcode
    */
    void setIntrospection(const Introspection::Options &options);
    /*! What monitors may see and do on this master (setIntrospection()). */
    Introspection::Options introspection() const;

    /*! Asks every worker to stop, waits up to \a timeoutMs, then stops this Node. */
    void shutdown(int timeoutMs = 5000);
    /*! \overload */
    void shutdown(std::chrono::milliseconds timeout) { shutdown(int(timeout.count())); }

Q_SIGNALS:
    /*! The worker of a slot connected to this master (also after a restart). */
    void workerStarted(const Plexus::WorkerInfo &worker, QPrivateSignal);
    /*! The worker \a worker ended, for \a reason; WorkerInfo::state() says whether its
        slot will be restarted. */
    void workerExited(const Plexus::WorkerInfo &worker, Plexus::WorkerInfo::ExitReason reason,
                      QPrivateSignal);
    /*! A frame or a connection from \a peer was rejected for \a reason (counted in
        rejectedFrames()). */
    void securityEvent(Plexus::FrameError reason, const QString &peer, QPrivateSignal);
    /*! Every worker forked at start has connected (at once on a master without workers). */
    void workersReady(QPrivateSignal);
    /*! This worker lost its master; the process is about to quit. */
    void masterLost(QPrivateSignal);
    /*! Another machine can be reached: emitted once when it joins, not again until
        peerDisconnected() said it left (a link that replaces another to the same machine
        is not a new connection). Monitors joining are monitorConnected() instead, so
        code that greets new machines does not greet every \c plexusctl run.

        \code
        connect(&node, &Plexus::Node::peerConnected, &node, [](const Plexus::PeerInfo &p) {
            qInfo() << "machine" << Qt::hex << p.machineId() << "joined from" << p.address();
        });
        \endcode
    */
    void peerConnected(const Plexus::PeerInfo &peer, QPrivateSignal);
    /*! \a peer can no longer be reached (its link closed, or it was silent past
        ClusterOptions::deadAfterMs); once per peerConnected(). Calls waiting on it have
        finished with Reply::TargetLostError. */
    void peerDisconnected(const Plexus::PeerInfo &peer, QPrivateSignal);
    /*! A monitor (PeerInfo::isMonitor()) linked to this master; once per monitor, as
        peerConnected() is per machine. */
    void monitorConnected(const Plexus::PeerInfo &monitor, QPrivateSignal);
    /*! The monitor \a monitor went away; once per monitorConnected(). */
    void monitorDisconnected(const Plexus::PeerInfo &monitor, QPrivateSignal);
    /*! An operation of the Node failed; error() and errorString() say why. */
    void errorOccurred(Plexus::Node::Error error, QPrivateSignal);

private:
    friend class NodePrivate;
    void addOpcodeHandler(quint32 opcode, const QObject *context,
                          std::function<void(const Message &)> functor);
    Q_DECLARE_PRIVATE(Node)
    std::unique_ptr<NodePrivate> const d_ptr;
};

} // namespace Plexus
