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
    A ring of rate points, one per second of the monitor's clock: by default the last hour.
    Rates appended within the same second are averaged into that second's point (stamped
    with the time of the latest), so that the ranges mean what they say whatever the poll
    interval. The ring grows as points come, up to capacity(). points() averages them down
    for the wider chart ranges (10 min, 1 h), so that a chart never draws more points than
    it has pixels.
*/
class RateHistory
{
public:
    static constexpr int DefaultCapacity = 3600;
    static constexpr qint64 PointMs = 1000;   //!< the duration of one point

    explicit RateHistory(int capacity = DefaultCapacity);

    /*! Adds \a rates at \a time (ms since the epoch): into the point of that second if
        there is one, else as a new point. A time before the newest point's second (the
        clock went back) starts the history over. */
    void append(qint64 time, const Rates &rates);
    void clear();
    int size() const { return m_size; }
    bool isEmpty() const { return m_size == 0; }
    int capacity() const { return m_capacity; }
    /*! The points memory is held for now (grows with size(), up to about capacity()). */
    int allocated() const { return int(m_ring.capacity()); }
    /*! The newest point; a default RatePoint when empty. */
    RatePoint last() const;

    /*!
        The points of the \a rangeMs milliseconds up to the newest one, oldest first. When
        there are more than \a maxPoints, consecutive points are averaged into maxPoints
        buckets of equal duration (each stamped with the time of its last point).
    */
    QList<RatePoint> points(qint64 rangeMs, int maxPoints) const;

private:
    // Stored as floats: a chart needs no more.
    struct Stored {
        qint64 time;        // the latest rates' time within the point's second
        float values[4];
        quint32 count;      // rates averaged into it
    };
    const Stored &at(int i) const;   // 0 = oldest
    Stored &newest();

    QList<Stored> m_ring;   // grows up to m_capacity, then wraps
    int m_capacity = DefaultCapacity;
    int m_head = 0;         // where the next point goes
    int m_size = 0;
};

} // namespace PlexusMonitor
