// API-STABLE
// SPDX-License-Identifier: MIT
#pragma once

#include <QtCore/qnamespace.h>

namespace PlexusMonitor {

/*!
    The item data roles the monitor's models provide besides Qt::DisplayRole (text),
    Qt::ToolTipRole and Qt::TextAlignmentRole.
*/
enum ModelRole {
    /*! The value to sort by: a number for numeric columns (counts, rates, pids, ids),
        the text otherwise. Set it as a QSortFilterProxyModel's sortRole. */
    SortRole = Qt::UserRole + 1,
    MachineIdRole,      //!< quint64, on every row that belongs to a machine
    PidRole,            //!< qint64, on process, op-code and trace rows (0: none)
    ItemKindRole,       //!< ItemKind (int), on the process tree
    IncompatibleRole,   //!< bool: a machine the monitor cannot use (disable it)
    ConnectedRole,      //!< bool: the monitor has a live link to it
    OpcodeRole,         //!< quint32, on op-code and trace rows
    TimeRole,           //!< qint64 ms since the epoch, on trace rows
    MessageKindRole,    //!< int (MessageKind), on trace rows
};

/*! What a row of the process tree stands for. */
enum class ItemKind { Machine, Master, Worker };

} // namespace PlexusMonitor
