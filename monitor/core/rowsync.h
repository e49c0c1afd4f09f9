// SPDX-License-Identifier: MIT
#pragma once

// Internal to the models: brings a list of rows to a new list with the fewest structural
// signals, so that views keep their selection, scroll position and expanded branches.

#include <QtCore/qlist.h>
#include <QtCore/qset.h>

#include <type_traits>

namespace PlexusMonitor::Internal {

/*!
    Turns \a rows into \a next, both lists of rows identified by \a keyOf(row). Rows whose
    key is gone are removed (one beginRemove/endRemove per run of adjacent rows), new keys
    are inserted where \a next has them (one beginInsert/endInsert per run), and every
    remaining row gets the fresh data through \a hooks.update(row, existing, fresh). If the
    rows that stay changed their order, there is no such minimal edit: the whole list is
    replaced inside hooks.beginReset()/endReset() instead. So is it when keys repeat in
    either list (a hostile or confused master): a minimal edit needs unique keys.

    \a hooks provides beginRemove(first, last), endRemove(), beginInsert(first, last),
    endInsert(), beginReset(), endReset() and update(int row, Row &existing, Row &fresh).
    Returns true if rows were removed, inserted or reset.
*/
template <typename Row, typename KeyOf, typename Hooks>
bool syncRows(QList<Row> &rows, QList<Row> &next, KeyOf keyOf, Hooks &hooks)
{
    using Key = std::decay_t<decltype(keyOf(rows.front()))>;
    const auto reset = [&] {
        hooks.beginReset();
        rows = std::move(next);
        hooks.endReset();
        return true;
    };
    QSet<Key> nextKeys;
    nextKeys.reserve(next.size());
    for (const Row &r : std::as_const(next))
        nextKeys.insert(keyOf(r));
    QSet<Key> oldKeys;
    oldKeys.reserve(rows.size());
    for (const Row &r : std::as_const(rows))
        oldKeys.insert(keyOf(r));
    // Everything below pairs the rows up by key: a repeated key would pair two rows with
    // one and leave the lists of different lengths.
    if (nextKeys.size() != next.size() || oldKeys.size() != rows.size())
        return reset();

    // The rows that stay must keep their order, or no minimal edit exists.
    {
        qsizetype j = 0;
        for (const Row &r : std::as_const(next)) {
            if (!oldKeys.contains(keyOf(r)))
                continue;
            while (j < rows.size() && !nextKeys.contains(keyOf(rows.at(j))))
                ++j;
            if (j >= rows.size() || keyOf(rows.at(j)) != keyOf(r))
                return reset();
            ++j;
        }
    }

    bool changed = false;
    // Removals, from the back so that earlier row numbers stay valid.
    for (qsizetype last = rows.size() - 1; last >= 0;) {
        if (nextKeys.contains(keyOf(rows.at(last)))) {
            --last;
            continue;
        }
        qsizetype first = last;
        while (first > 0 && !nextKeys.contains(keyOf(rows.at(first - 1))))
            --first;
        hooks.beginRemove(int(first), int(last));
        rows.remove(first, last - first + 1);
        hooks.endRemove();
        changed = true;
        last = first - 1;
    }
    // Insertions, in the order of next.
    for (qsizetype i = 0; i < next.size();) {
        if (oldKeys.contains(keyOf(next.at(i)))) {
            ++i;
            continue;
        }
        qsizetype end = i;
        while (end < next.size() && !oldKeys.contains(keyOf(next.at(end))))
            ++end;
        hooks.beginInsert(int(i), int(end - 1));
        for (qsizetype k = i; k < end; ++k)
            rows.insert(k, std::move(next[k]));
        hooks.endInsert();
        changed = true;
        i = end;
    }
    // Fresh data for the rows that stayed (inserted ones are already fresh). With unique
    // keys and the order kept, rows now holds next's keys in next's order.
    Q_ASSERT(rows.size() == next.size());
    for (qsizetype i = 0; i < rows.size(); ++i) {
        if (oldKeys.contains(keyOf(rows.at(i))))
            hooks.update(int(i), rows[i], next[i]);
    }
    return changed;
}

} // namespace PlexusMonitor::Internal
