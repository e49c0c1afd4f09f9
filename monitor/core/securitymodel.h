// API-STABLE
// SPDX-License-Identifier: MIT
#pragma once

#include "modelbase.h"

namespace PlexusMonitor {

/*!
    \class PlexusMonitor::SecurityModel
    Rejected frames by process, peer and reason: the "security" lists of every process in
    the snapshots, then what the monitor's own Node refused (machine column "this monitor",
    machine id 0).
*/
class SecurityModel : public ModelBase
{
    Q_OBJECT
public:
    enum Column {
        MachineColumn,
        ProcessColumn,     //!< "master" or "worker N (pid)"
        PeerColumn,
        ReasonColumn,
        CountColumn,
        ColumnCount
    };
    Q_ENUM(Column)

    explicit SecurityModel(const ClusterState *state, QObject *parent = nullptr);

    /*! Rejections in all rows. */
    quint64 total() const { return m_total; }

    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

protected:
    bool update() override;
    int flatRowCount() const override { return int(m_rows.size()); }

private:
    struct Row {
        QString key;
        quint64 machine = 0;
        QString machineText;
        qint64 pid = 0;
        QString process;
        QString peer;
        QString reason;
        quint64 count = 0;
    };
    QList<Row> m_rows;
    quint64 m_total = 0;
};

} // namespace PlexusMonitor
