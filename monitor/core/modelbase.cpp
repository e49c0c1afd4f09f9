// SPDX-License-Identifier: MIT
#include "modelbase.h"

#include "clusterstate.h"

namespace PlexusMonitor {

ModelBase::ModelBase(const ClusterState *state, QObject *parent)
    : QAbstractItemModel(parent), m_state(state)
{ }

ModelBase::~ModelBase() = default;

void ModelBase::setPaused(bool paused)
{
    if (m_paused == paused)
        return;
    m_paused = paused;
    if (!paused)
        invalidate();
}

void ModelBase::refresh()
{
    if (m_paused || m_state->generation() == m_seen)
        return;
    m_seen = m_state->generation();
    if (update())
        Q_EMIT refreshed();
}

QModelIndex ModelBase::index(int row, int column, const QModelIndex &parent) const
{
    if (parent.isValid() || row < 0 || column < 0 || row >= flatRowCount()
        || column >= columnCount())
        return {};
    return createIndex(row, column);
}

QModelIndex ModelBase::parent(const QModelIndex &) const
{
    return {};
}

int ModelBase::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : flatRowCount();
}

bool ModelBase::hasChildren(const QModelIndex &parent) const
{
    return rowCount(parent) > 0;
}

QModelIndex ModelBase::sibling(int row, int column, const QModelIndex &idx) const
{
    return index(row, column, parent(idx));
}

void ModelBase::rowsChanged(int first, int last, const QModelIndex &parent)
{
    const int columns = columnCount(parent);
    if (first > last || columns <= 0)
        return;
    Q_EMIT dataChanged(index(first, 0, parent), index(last, columns - 1, parent));
}

void ModelBase::beginCountedReset()
{
    beginResetModel();
    ++m_resets;
}

Qt::ItemFlags ModelBase::flags(const QModelIndex &index) const
{
    return index.isValid() ? Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemNeverHasChildren
                           : Qt::NoItemFlags;
}

} // namespace PlexusMonitor
