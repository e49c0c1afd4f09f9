// SPDX-License-Identifier: MIT
#include "ratehistory.h"

#include <algorithm>

namespace PlexusMonitor {

RateHistory::RateHistory(int capacity)
{
    m_ring.resize(qMax(1, capacity));
}

void RateHistory::append(qint64 time, const Rates &rates)
{
    m_ring[m_head] = {time, {float(rates.messagesIn), float(rates.messagesOut),
                             float(rates.bytesIn), float(rates.bytesOut)}};
    m_head = (m_head + 1) % int(m_ring.size());
    m_size = qMin(m_size + 1, int(m_ring.size()));
}

void RateHistory::clear()
{
    m_head = 0;
    m_size = 0;
}

const RateHistory::Stored &RateHistory::at(int i) const
{
    const int cap = int(m_ring.size());
    return m_ring[(m_head - m_size + i + cap) % cap];
}

RatePoint RateHistory::last() const
{
    if (m_size == 0)
        return {};
    const Stored &s = at(m_size - 1);
    return {s.time, {s.values[0], s.values[1], s.values[2], s.values[3]}};
}

QList<RatePoint> RateHistory::points(qint64 rangeMs, int maxPoints) const
{
    QList<RatePoint> out;
    if (m_size == 0 || maxPoints < 1)
        return out;
    const qint64 newest = at(m_size - 1).time;
    const qint64 from = newest - rangeMs;
    // The first point inside the range (times only grow, so binary search).
    int lo = 0, hi = m_size;
    while (lo < hi) {
        const int mid = (lo + hi) / 2;
        if (at(mid).time < from)
            lo = mid + 1;
        else
            hi = mid;
    }
    const int first = lo;
    const int count = m_size - first;
    if (count <= maxPoints) {
        out.reserve(count);
        for (int i = first; i < m_size; ++i) {
            const Stored &s = at(i);
            out.append(RatePoint{s.time, {s.values[0], s.values[1], s.values[2], s.values[3]}});
        }
        return out;
    }
    // Buckets of equal duration over the range; empty ones (a gap) are left out.
    out.reserve(maxPoints);
    const double width = double(qMax<qint64>(1, rangeMs)) / maxPoints;
    int i = first;
    for (int b = 0; b < maxPoints && i < m_size; ++b) {
        const qint64 end = b == maxPoints - 1 ? newest : from + qint64(width * (b + 1));
        double sum[4] = {};
        int n = 0;
        qint64 time = 0;
        for (; i < m_size && at(i).time <= end; ++i, ++n) {
            const Stored &s = at(i);
            for (int k = 0; k < 4; ++k)
                sum[k] += s.values[k];
            time = s.time;
        }
        if (n > 0)
            out.append(RatePoint{time, {sum[0] / n, sum[1] / n, sum[2] / n, sum[3] / n}});
    }
    return out;
}

} // namespace PlexusMonitor
