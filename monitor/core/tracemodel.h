// API-STABLE
// SPDX-License-Identifier: MIT
#pragma once

#include "modelbase.h"
#include "snapshot.h"

QT_BEGIN_NAMESPACE
class QIODevice;
QT_END_NAMESPACE

namespace PlexusMonitor {

/*!
    \class PlexusMonitor::TraceModel
    The live trace: the last capacity() sampled message headers of every master, oldest
    first, fewer when they take more than maxBytes() (traceSampleCost() each: samples
    with payloads). refresh() appends what arrived since the last one and drops the oldest rows
    beyond the capacity (one insert and at most one remove per refresh). While paused
    (setPaused()) it keeps its rows; on resume it catches up with what the state still
    holds. Filter it with a QSortFilterProxyModel.
*/
class TraceModel : public ModelBase
{
    Q_OBJECT
public:
    enum Column {
        TimeColumn,
        MachineColumn,     //!< the master that reported it
        FromColumn,        //!< pid (@machine when another machine)
        ToColumn,          //!< "Seen by / to": pid (a received message: the master's), "another machine", ...
        KindColumn,
        OpcodeColumn,      //!< hex, "function" for 0
        SizeColumn,
        IdColumn,          //!< message id, hex
        ColumnCount
    };
    Q_ENUM(Column)

    static constexpr int DefaultCapacity = 10000;
    static constexpr qsizetype DefaultMaxBytes = 8 * 1024 * 1024;

    explicit TraceModel(const ClusterState *state, QObject *parent = nullptr);

    int capacity() const { return m_capacity; }
    void setCapacity(int capacity);
    qsizetype maxBytes() const { return m_maxBytes; }
    void setMaxBytes(qsizetype bytes);
    /*! What the rows take now. */
    qsizetype bytes() const { return m_bytes; }
    /*! Removes every row (new samples still come in). */
    void clear();
    /*! Samples that left the state before this model could show them. */
    quint64 missed() const { return m_missed; }
    const TraceSample &sample(int row) const { return m_rows.at(row); }

    /*! Writes the rows as CSV (a header line, then one line per sample); false on a write
        error. */
    bool exportCsv(QIODevice *device) const;
    /*! Writes the rows as a JSON array of objects (64-bit ids as hex strings). */
    bool exportJson(QIODevice *device) const;
    /*! The same for the rows \a rows only, in that order (what a filter shows: the rows of
        a proxy mapped to this model); rows out of range are skipped. */
    bool exportCsv(QIODevice *device, const QList<int> &rows) const;
    bool exportJson(QIODevice *device, const QList<int> &rows) const;

    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

protected:
    bool update() override;
    int flatRowCount() const override { return int(m_rows.size()); }

private:
    void trim();
    QList<int> allRows() const;

    QList<TraceSample> m_rows;
    quint64 m_next = 0;        // the state's sequence number of the next sample to take
    quint64 m_missed = 0;
    int m_capacity = DefaultCapacity;
    qsizetype m_maxBytes = DefaultMaxBytes;
    qsizetype m_bytes = 0;
};

} // namespace PlexusMonitor
