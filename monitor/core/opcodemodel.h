// API-STABLE
// SPDX-License-Identifier: MIT
#pragma once

#include "clusterstate.h"
#include "modelbase.h"

namespace PlexusMonitor {

/*!
    \class PlexusMonitor::OpcodeModel
    The op-codes of one process (setProcess()): code, display name, messages and bytes in
    and out, and rates since the previous snapshot. Empty while no process is set or the
    process is unknown.
*/
class OpcodeModel : public ModelBase
{
    Q_OBJECT
public:
    enum Column {
        CodeColumn,        //!< hex
        NameColumn,
        InColumn,
        OutColumn,
        BytesInColumn,
        BytesOutColumn,
        RateInColumn,      //!< messages/s
        RateOutColumn,
        ColumnCount
    };
    Q_ENUM(Column)

    explicit OpcodeModel(const ClusterState *state, QObject *parent = nullptr);

    ProcessKey process() const { return m_process; }
    /*! Shows the op-codes of \a pid on \a machine (refreshes at once). */
    void setProcess(quint64 machine, qint64 pid);

    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

protected:
    bool update() override;
    int flatRowCount() const override { return int(m_rows.size()); }

private:
    struct Row {
        OpcodeStats stats;
        Rates rates;
    };
    ProcessKey m_process;
    QList<Row> m_rows;
};

} // namespace PlexusMonitor
