// API-STABLE
// SPDX-License-Identifier: MIT
#pragma once

#include "modelbase.h"

namespace PlexusMonitor {

/*!
    \class PlexusMonitor::MachinesModel
    The discovery list: every machine the monitor knows of (linked to it, or named in a
    master's peer list), then the peers its Node refused (wrong SECRET, other protocol
    version), which have IncompatibleRole true and no Qt::ItemIsEnabled flag.
*/
class MachinesModel : public ModelBase
{
    Q_OBJECT
public:
    enum Column {
        MachineColumn,     //!< machine id (hex), or the refused peer
        HostColumn,
        AddressColumn,
        PortColumn,
        VersionColumn,
        RttColumn,
        StatusColumn,      //!< connected, discovered, disconnected, refused: reason
        ProcessesColumn,
        ColumnCount
    };
    Q_ENUM(Column)

    explicit MachinesModel(const ClusterState *state, QObject *parent = nullptr);

    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex &index) const override;

protected:
    bool update() override;
    int flatRowCount() const override { return int(m_rows.size()); }

private:
    struct Row {
        QString key;
        quint64 machine = 0;
        bool refused = false;
        bool incompatible = false;
        bool connected = false;
        QString host, address, version, status;
        quint16 port = 0;
        double rttMs = -1;
        int processes = 0;
        quint64 count = 0;   // refused: how often
    };
    QList<Row> m_rows;
};

} // namespace PlexusMonitor
