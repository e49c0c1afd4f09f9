// API-STABLE
// SPDX-License-Identifier: MIT
#pragma once

#include <QtCore/qlist.h>

namespace PlexusMonitor {

/*! Messages and bytes per second, in and out. */
struct Rates
{
    double messagesIn = 0;
    double messagesOut = 0;
    double bytesIn = 0;
    double bytesOut = 0;

    Rates &operator+=(const Rates &o)
    {
        messagesIn += o.messagesIn;
        messagesOut += o.messagesOut;
        bytesIn += o.bytesIn;
        bytesOut += o.bytesOut;
        return *this;
    }
};

/*! Rates at one moment (ms since the epoch, the monitor's clock). */
struct RatePoint
{
    qint64 time = 0;
    Rates rates;
};

/*!
    \class PlexusMonitor::RateHistory
    A ring of rate points: by default an hour of one point per second. points() averages
    them down for the wider chart ranges (10 min, 1 h), so that a chart never draws more
    points than it has pixels.
*/
class RateHistory
{
public:
    static constexpr int DefaultCapacity = 3600;

    explicit RateHistory(int capacity = DefaultCapacity);

    void append(qint64 time, const Rates &rates);
    void clear();
    int size() const { return m_size; }
    bool isEmpty() const { return m_size == 0; }
    int capacity() const { return int(m_ring.size()); }
    /*! The newest point; a default RatePoint when empty. */
    RatePoint last() const;

    /*!
        The points of the \a rangeMs milliseconds up to the newest one, oldest first. When
        there are more than \a maxPoints, consecutive points are averaged into maxPoints
        buckets of equal duration (each stamped with the time of its last point).
    */
    QList<RatePoint> points(qint64 rangeMs, int maxPoints) const;

private:
    // Stored as floats: a chart needs no more, and a point costs 24 bytes instead of 40.
    struct Stored {
        qint64 time;
        float values[4];
    };
    const Stored &at(int i) const;   // 0 = oldest

    QList<Stored> m_ring;
    int m_head = 0;   // where the next point goes
    int m_size = 0;
};

} // namespace PlexusMonitor
