// API-STABLE
// SPDX-License-Identifier: MIT
#pragma once

#include "clusterstate.h"

#include <QtCore/qobject.h>
#include <QtCore/qstringlist.h>

#include <memory>

namespace PlexusMonitor {

class MonitorClientPrivate;

/*! How a MonitorClient joins the cluster and what it asks for. */
struct ClientOptions
{
    /*! The cluster secret; empty: the SECRET environment variable. */
    QByteArray secret;
    /*! The UDP discovery port to listen on (the masters' cluster port); 0: none. */
    quint16 discoveryPort = 0;
    /*! Masters to connect to by address: "host:port" or "tcp://host:port". */
    QStringList peers;
    /*! The cluster runs on NATS: its servers, "nats://host:port[,host:port...]". The
        monitor then meets every master through the broker (no discovery, no peers). */
    QString natsUrl;
    /*! Also connect to the masters that the connected ones are linked to (from their peer
        lists): one address is enough to see the whole cluster. */
    bool followPeers = true;
    /*! A snapshot of every master this often (never more than one outstanding each). */
    int snapshotIntervalMs = 1000;
    /*! Subscribe to every master's trace. */
    bool trace = true;
    /*! Trace samples of this op-code only (0: every op-code). */
    quint32 traceOpcode = 0;
    /*! How long a snapshot or a control action may take before it counts as failed. */
    int timeoutMs = 3000;
    /*! stateChanged() and traceReceived() at most this often. */
    int updateIntervalMs = 250;
};

/*!
    \class PlexusMonitor::MonitorClient
    A monitor's connection to the cluster: a Plexus::Node in role Peer that finds the
    masters (UDP discovery and/or given addresses), polls each for a snapshot, subscribes to
    each one's trace, and keeps the result in a ClusterState that the models read.

    Everything is asynchronous: nothing here blocks the calling thread on the network.
    stateChanged() and traceReceived() are coalesced: whatever the input rate, they are
    emitted at most once per ClientOptions::updateIntervalMs each. There is one Node per
    process, so there can be one started MonitorClient per process at a time.

    \code
    PlexusMonitor::MonitorClient client;
    if (!client.start({.discoveryPort = 7400}))
        qFatal("%s", qPrintable(client.errorString()));
    PlexusMonitor::ProcessTreeModel tree(client.state());
    QObject::connect(&client, &PlexusMonitor::MonitorClient::stateChanged,
                     &tree, &PlexusMonitor::ProcessTreeModel::refresh);
    \endcode
*/
class MonitorClient : public QObject
{
    Q_OBJECT
public:
    enum Error {
        NoError = 0,
        NoSecretError,         //!< no secret given and SECRET unset or empty
        NodeError,             //!< the Node could not start or join (errorString() says why)
        AddressError,          //!< a peer address is not "host:port"
        AlreadyStartedError,
    };
    Q_ENUM(Error)

    explicit MonitorClient(QObject *parent = nullptr);
    ~MonitorClient() override;

    /*! Starts the Node and joins the cluster. Returns false with error() and errorString()
        set if it cannot (no SECRET, a bad peer address, the discovery port taken). */
    bool start(const ClientOptions &options);
    /*! Stops polling and tracing and closes the Node's links. Destroys the Node: do not
        call it from a slot directly connected to this client's signals (they are emitted
        from inside the Node's link callbacks); queue the call instead. */
    void stop();
    bool isRunning() const;
    Error error() const;
    QString errorString() const;
    ClientOptions options() const;
    /*! ClientOptions::natsUrl without user names or passwords, for display. */
    QString brokerServers() const;

    const ClusterState *state() const;

    /*! Paused: no polls, and trace batches are not kept (the subscriptions stay, so that
        resuming is immediate). */
    bool isPaused() const;
    void setPaused(bool paused);

    /*! Masters linked to the monitor now. */
    int connectedMachines() const;
    /*! Snapshots still awaited. */
    int pendingSnapshots() const;
    /*! Polls every master at once (without waiting for the interval). */
    void pollNow();
    /*! Changes the poll interval. */
    void setSnapshotInterval(int msec);

    /*! Asks the master of \a machine to restart its worker \a pid; controlFinished() gives
        the answer. Refused by masters without remote control. */
    void restartWorker(quint64 machine, qint64 pid);
    /*! Asks the master of \a machine (0: the connected master with the lowest id) to send
        a test message with \a data to \a opcode: to every process of its machine
        (Plexus::local) or, with \a broadcast, of the cluster (Plexus::broadcast);
        controlFinished() gives the answer. */
    void sendTestMessage(quint32 opcode, const QByteArray &data, bool broadcast, quint64 machine);

Q_SIGNALS:
    /*! The state changed (coalesced). */
    void stateChanged();
    /*! New trace samples or aggregates are in the state (coalesced). */
    void traceReceived();
    /*! A short human-readable line on what the client is doing ("3 machines, 12
        processes", "waiting for masters..."). */
    void statusChanged(const QString &status);
    /*! Something an operator should know: a handshake refused (wrong SECRET?), an
        incompatible version, a master's answer that did not decode. Each distinct problem
        is reported once per minute at most. */
    void problem(const QString &text);
    /*! The first snapshot of a master arrived. */
    void machineAppeared(quint64 machine);
    /*! A master's link went away. */
    void machineLost(quint64 machine);
    /*! The answer to restartWorker() or sendTestMessage(), in the order they complete:
        \a ok, or why not (the master's refusal, a timeout, no master connected). */
    void controlFinished(bool ok, const QString &error);
    /*! Emitted just before controlFinished(false, ...) when the master itself refused the
        action (remote control disabled, no such worker, ...), rather than the request
        failing on the way. */
    void controlRefused(const QString &error);

private:
    friend class MonitorClientPrivate;
    Q_DECLARE_PRIVATE(MonitorClient)
    std::unique_ptr<MonitorClientPrivate> const d_ptr;
};

} // namespace PlexusMonitor
