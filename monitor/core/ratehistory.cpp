// SPDX-License-Identifier: MIT
#include "ratehistory.h"

#include <algorithm>

namespace PlexusMonitor {

namespace {

qint64 secondOf(qint64 time)
{
    // Floor division: times before the epoch (a test's, a broken clock's) stay ordered.
    return time >= 0 ? time / RateHistory::PointMs
                     : -((-time + RateHistory::PointMs - 1) / RateHistory::PointMs);
}

} // namespace

RateHistory::RateHistory(int capacity)
    : m_capacity(qMax(1, capacity))
{
    // Nothing up front: a machine can have many processes, most of them short-lived.
}

void RateHistory::append(qint64 time, const Rates &rates)
{
    const float values[4] = {float(rates.messagesIn), float(rates.messagesOut),
                             float(rates.bytesIn), float(rates.bytesOut)};
    if (m_size > 0) {
        Stored &last = newest();
        const qint64 second = secondOf(time);
        const qint64 lastSecond = secondOf(last.time);
        if (second == lastSecond) {
            // The same second: the running average of what came in it.
            const quint32 n = last.count;
            for (int k = 0; k < 4; ++k)
                last.values[k] = float((double(last.values[k]) * n + values[k]) / (n + 1));
            last.count = n + 1;
            last.time = qMax(last.time, time);
            return;
        }
        if (second < lastSecond)
            clear();   // the monitor's clock went back: the times would no longer be sorted
    }
    const Stored point{time, {values[0], values[1], values[2], values[3]}, 1};
    if (m_ring.size() < m_capacity) {
        // Still growing: the ring is the list, oldest first, and m_head is its end.
        m_ring.append(point);
    } else {
        m_ring[m_head] = point;
    }
    m_head = (m_head + 1) % m_capacity;
    m_size = qMin(m_size + 1, m_capacity);
}

void RateHistory::clear()
{
    m_ring = {};   // gives the memory back
    m_head = 0;
    m_size = 0;
}

const RateHistory::Stored &RateHistory::at(int i) const
{
    const int cap = int(m_ring.size());
    return m_ring[(m_head - m_size + i + cap) % cap];
}

RateHistory::Stored &RateHistory::newest()
{
    const int cap = int(m_ring.size());
    return m_ring[(m_head - 1 + cap) % cap];
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
