// API-STABLE
// SPDX-License-Identifier: MIT
#pragma once

#include "clusterstate.h"
#include "modelbase.h"

namespace PlexusMonitor {

/*!
    \class PlexusMonitor::ProcessTreeModel
    The process tree: machine → master → workers, with the counters and rates of each
    process. A machine row shows its master's traffic (all of its machine's traffic goes
    through the master) and the restarts of its workers.

    Rows are keyed by machine id, and workers by slot and pid (pids repeat while workers
    restart): a refresh with the same processes emits only dataChanged(); a worker that
    exits is removed and its replacement inserted, under their master, without resetting
    the model. SortRole gives numbers for numeric columns, for a
    QSortFilterProxyModel; ItemKindRole, MachineIdRole and PidRole identify rows.
*/
class ProcessTreeModel : public ModelBase
{
    Q_OBJECT
public:
    enum Column {
        NameColumn,        //!< host (machine), "master", "worker N"
        PidColumn,
        RoleColumn,
        SlotColumn,
        StateColumn,
        UptimeColumn,
        CpuColumn,         //!< % of one core (a machine: all its processes)
        RssColumn,         //!< resident memory (a machine: all its processes)
        MessagesInColumn,
        MessagesOutColumn,
        BytesInColumn,
        BytesOutColumn,
        RateInColumn,      //!< messages/s
        RateOutColumn,
        BacklogColumn,
        RestartsColumn,
        IdleColumn,        //!< since its master last heard from it
        ColumnCount
    };
    Q_ENUM(Column)

    explicit ProcessTreeModel(const ClusterState *state, QObject *parent = nullptr);

    /*! The process of a master or worker row (machine 0 for a machine row). */
    ProcessKey processKey(const QModelIndex &index) const;
    /*! The row of a process (column 0), or an invalid index. */
    QModelIndex indexOf(const ProcessKey &key) const;
    /*! The row of a machine (column 0), or an invalid index. */
    QModelIndex indexOfMachine(quint64 machine) const;

    QModelIndex index(int row, int column, const QModelIndex &parent = {}) const override;
    QModelIndex parent(const QModelIndex &child) const override;
    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex &index) const override;

protected:
    bool update() override;

private:
    struct ProcessRow {
        qint64 pid = 0;
        ProcessSnapshot process;   // implicitly shared lists: cheap to copy
        Rates rates;
    };
    struct MachineRow {
        quint64 machine = 0;
        quint32 handle = 0;
        QString host;
        bool connected = false;
        QList<ProcessRow> master;   // none or one
        QList<ProcessRow> workers;
        quint64 workerRestarts = 0;
    };
    const MachineRow *machineRow(quint32 handle, int *row = nullptr) const;
    MachineRow *machineRow(quint32 handle, int *row = nullptr);
    const ProcessRow *processRow(const QModelIndex &index) const;
    QVariant processData(const ProcessRow &p, int column, int role) const;
    QVariant machineData(const MachineRow &m, int column, int role) const;
    void syncMachine(int row, MachineRow &existing, MachineRow &fresh);

    QList<MachineRow> m_machines;
    QHash<quint64, quint32> m_handles;   // machine id -> the handle in internalId
    quint32 m_nextHandle = 1;
};

} // namespace PlexusMonitor
