// SPDX-License-Identifier: MIT
#pragma once

#include "procsampler_p.h"
#include "tracer_p.h"

#include <plexus/introspection.h>
#include <plexus/message.h>
#include <plexus/node.h>

#include <QtCore/qcborvalue.h>
#include <QtCore/qobject.h>

namespace Plexus {

class ClusterTransport;
class Link;
class Stats;

// One worker exit, as a master remembers it for its monitors (the "exits" of a snapshot).
struct WorkerExit
{
    qint64 time = 0;   // ms since the epoch
    qint64 pid = 0;
    int slot = -1;
    WorkerInfo::ExitReason reason = WorkerInfo::NormalExit;
    int code = 0;        // exit status, or the signal number when signaled
    bool signaled = false;
};

/*
    What the introspection service needs of the Node it reports on (NodePrivate implements
    it): the parts of the process that live above this layer.
*/
class IntrospectionHost
{
public:
    virtual Node::Role nodeRole() const = 0;
    virtual LocalIdentity nodeIdentity() const = 0;
    virtual bool isExecWorker() const = 0;
    virtual Router *nodeRouter() const = 0;
    virtual const Stats &nodeStats() const = 0;
    // A master's workers (also those not running); false on a worker or a peer.
    virtual bool hasWorkerTable() const = 0;
    virtual QList<WorkerInfo> workerList() const = 0;
    // The master's most recent worker exits, oldest first (bounded).
    virtual QList<WorkerExit> workerExits() const = 0;
    // Stops the running worker \a pid so that its slot restarts; its exit is reported as
    // WorkerInfo::Restarted. False if no running worker has that pid.
    virtual bool restartWorker(qint64 pid) = 0;
    // The cluster transport after listenCluster(), or nullptr.
    virtual const ClusterTransport *clusterTransport() const = 0;

protected:
    ~IntrospectionHost() = default;
};

/*
    The runtime's answers to the introspection op-codes (docs/MONITOR.md): snapshots of
    this machine, trace subscriptions and control actions. On a master, a snapshot is put
    together from its own counters and its workers' answers, which it gathers with an
    ordinary local() call; a worker answers only the snapshot of its own process. Tracing
    is the Tracer's; this class only admits subscriptions.
*/
class IntrospectionService : public QObject
{
    Q_OBJECT
public:
    explicit IntrospectionService(IntrospectionHost *node, QObject *parent = nullptr);
    ~IntrospectionService() override;

    void setOptions(const Introspection::Options &options);
    Introspection::Options options() const { return m_options; }

    // A request for a reserved op-code; false if it is not one of ours (the caller then
    // answers "unknown op-code").
    bool dispatch(const Message &request);

    // This process alone, as a snapshot's "process" entry (docs/MONITOR.md 2.1).
    QCborMap processRecord() const;

private:
    void snapshot(const Message &request);
    void finishSnapshot(const Message &request, QCborMap master,
                        const QHash<qint64, QCborMap> &answers);
    QCborArray linkRecords() const;
    QCborArray peerRecords() const;
    void trace(const Message &request);
    void control(const Message &request);
    static void answer(const Message &request, const QCborMap &body);

    IntrospectionHost *m_node;
    Introspection::Options m_options;
    Tracer *m_tracer = nullptr;   // master with options.trace
    qint64 m_startedAt = 0;       // ms since the epoch
    int m_gathering = 0;          // snapshots waiting for their workers' parts
    ProcessSampler m_sampler;     // CPU and RSS of this machine's processes
};

} // namespace Plexus
