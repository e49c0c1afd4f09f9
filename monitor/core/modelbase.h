// API-STABLE
// SPDX-License-Identifier: MIT
#pragma once

#include "rowsync.h"

#include <QtCore/qabstractitemmodel.h>

namespace PlexusMonitor {

class ClusterState;

/*!
    \class PlexusMonitor::ModelBase
    What every monitor model shares: it reads a ClusterState (which must outlive it) when
    refresh() is called, and only then, so that a front-end refreshes the visible view on
    its own timer and a flood of updates never reaches a view directly. A refresh that
    finds the same rows emits dataChanged() only; rows are inserted and removed one run at
    a time (selections and expanded branches survive); a model reset happens only when
    the rows that stay changed their order. resetCount() counts the resets.

    The flat models (every one but ProcessTreeModel) are tables: index(), parent() and
    rowCount() are those of a list.
*/
class ModelBase : public QAbstractItemModel
{
    Q_OBJECT
public:
    explicit ModelBase(const ClusterState *state, QObject *parent = nullptr);
    ~ModelBase() override;

    const ClusterState *state() const { return m_state; }
    /*! Model resets so far. */
    int resetCount() const { return m_resets; }
    /*! Refreshes refused while paused (front-ends keep calling refresh() on their timer). */
    bool isPaused() const { return m_paused; }
    void setPaused(bool paused);

    /*! Pulls the current state into the model. Cheap when nothing changed. */
    void refresh();

    // A flat table by default.
    QModelIndex index(int row, int column, const QModelIndex &parent = {}) const override;
    QModelIndex parent(const QModelIndex &child) const override;
    int rowCount(const QModelIndex &parent = {}) const override;
    bool hasChildren(const QModelIndex &parent = {}) const override;
    QModelIndex sibling(int row, int column, const QModelIndex &idx) const override;
    // Enabled, selectable, no children: what a row of a flat table is.
    Qt::ItemFlags flags(const QModelIndex &index) const override;

Q_SIGNALS:
    /*! After every refresh() that changed something. */
    void refreshed();

protected:
    /*! Reads the state into the model; returns true if anything changed. Called by
        refresh() when the state's generation moved (or invalidate() was called). */
    virtual bool update() = 0;
    /*! The number of rows of a flat model. */
    virtual int flatRowCount() const { return 0; }
    /*! Forces the next refresh() to call update() even if the generation is unchanged. */
    void invalidate() { m_seen = ~quint64(0); }

    /*! Internal::syncRows() with this model's row signals under \a parent; \a update is
        called as update(int row, Row &existing, Row &fresh) for the rows that stay. */
    template <typename Row, typename KeyOf, typename Update>
    bool sync(QList<Row> &rows, QList<Row> &next, KeyOf keyOf, Update &&update,
              const QModelIndex &parent = {})
    {
        struct Hooks {
            ModelBase *m;
            const QModelIndex &parent;
            Update &updateRow;
            void beginRemove(int first, int last) { m->beginRemoveRows(parent, first, last); }
            void endRemove() { m->endRemoveRows(); }
            void beginInsert(int first, int last) { m->beginInsertRows(parent, first, last); }
            void endInsert() { m->endInsertRows(); }
            void beginReset() { m->beginResetModel(); ++m->m_resets; }
            void endReset() { m->endResetModel(); }
            void update(int row, Row &existing, Row &fresh) { updateRow(row, existing, fresh); }
        } hooks{this, parent, update};
        return Internal::syncRows(rows, next, keyOf, hooks);
    }
    /*! dataChanged() for rows \a first..last, every column, under \a parent. */
    void rowsChanged(int first, int last, const QModelIndex &parent = {});
    /*! A reset of the whole model, counted. */
    void beginCountedReset();

private:
    const ClusterState *m_state;
    quint64 m_seen = ~quint64(0);
    int m_resets = 0;
    bool m_paused = false;
};

} // namespace PlexusMonitor
