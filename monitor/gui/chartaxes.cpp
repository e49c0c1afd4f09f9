// SPDX-License-Identifier: MIT
#include "chartaxes.h"

#include <QtCharts/qcategoryaxis.h>
#include <QtCore/qdatetime.h>

#include <cmath>

using namespace Qt::StringLiterals;

namespace PlexusMonitor::Gui::ChartAxes {

QList<Tick> timeTicks(qint64 now, qint64 rangeMs)
{
    static constexpr qint64 steps[] = {5'000,   10'000,  15'000,  30'000,    60'000,   120'000,
                                       300'000, 600'000, 900'000, 1'800'000, 3'600'000};
    qint64 step = steps[std::size(steps) - 1];
    for (qint64 s : steps) {
        if (rangeMs / s <= 6) {
            step = s;
            break;
        }
    }
    // Round moments of the local clock (time zones are whole quarter hours from UTC).
    const qint64 offset = qint64(QDateTime::fromMSecsSinceEpoch(now).offsetFromUtc()) * 1000;
    const qint64 first = now - rangeMs;
    qint64 local = first + offset;
    local = (local / step + (local % step ? 1 : 0)) * step;
    const QString format = step < 60'000 ? u"HH:mm:ss"_s : u"HH:mm"_s;
    QList<Tick> ticks;
    for (qint64 t = local - offset; t <= now; t += step)
        ticks.append({double(t), QDateTime::fromMSecsSinceEpoch(t).toString(format)});
    return ticks;
}

QList<Tick> rateTicks(double max, bool bytes)
{
    const double base = bytes ? 1024.0 : 1000.0;
    static const char16_t *const prefixes[] = {u"", u"k", u"M", u"G"};
    static const char16_t *const byteUnits[] = {u"B", u"KiB", u"MiB", u"GiB"};
    if (!(max > 0) || !std::isfinite(max))
        max = 5;   // nothing yet: a 0..5/s axis rather than a degenerate one
    int unit = 0;
    while (max / std::pow(base, unit) >= base && unit < 3)
        ++unit;
    const double scale = std::pow(base, unit);
    const double top = max / scale;
    // About five steps of 1, 2 or 5 times a power of ten, in the unit.
    const double raw = top / 5;
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    const double norm = raw / magnitude;
    const double step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * magnitude;
    const int decimals = step >= 1 ? 0 : int(std::ceil(-std::log10(step) - 1e-9));
    const int count = int(std::ceil(top / step - 1e-9));
    QList<Tick> ticks;
    for (int i = 0; i <= std::max(count, 1); ++i) {
        const double v = i * step;
        QString label;
        if (i == 0)
            label = u"0"_s;
        else if (bytes)
            label = QString::number(v, 'f', decimals) + u' ' + QStringView(byteUnits[unit]) + u"/s"_s;
        else
            label = QString::number(v, 'f', decimals) + QStringView(prefixes[unit]) + u"/s"_s;
        ticks.append({v * scale, label});
    }
    return ticks;
}

void apply(QCategoryAxis *axis, const QList<Tick> &ticks, double min, double max)
{
    bool same = axis->count() == ticks.size();
    const QStringList labels = axis->categoriesLabels();
    for (qsizetype i = 0; same && i < ticks.size(); ++i)
        same = labels.at(i) == ticks.at(i).label && axis->endValue(labels.at(i)) == ticks.at(i).value;
    if (!same) {
        for (const QString &label : labels)
            axis->remove(label);
        // A category ends where its label is; the first may sit on the axis' start (the
        // "0" of a rate axis), so the start is just below it.
        const double start = ticks.isEmpty() ? min : std::min(min, ticks.front().value);
        axis->setStartValue(start - std::max(1e-9, (max - min) * 1e-6));
        for (const Tick &t : ticks)
            axis->append(t.label, t.value);
    }
    axis->setRange(min, max);
}

QCategoryAxis *makeAxis()
{
    auto *axis = new QCategoryAxis;
    axis->setLabelsPosition(QCategoryAxis::AxisLabelsPositionOnValue);
    axis->setGridLineVisible(true);
    return axis;
}

} // namespace PlexusMonitor::Gui::ChartAxes
