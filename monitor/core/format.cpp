// SPDX-License-Identifier: MIT
#include "format.h"

#include <QtCore/qdatetime.h>

using namespace Qt::StringLiterals;

namespace PlexusMonitor::Format {

QString machineId(quint64 id)
{
    return u"0x"_s + QString::number(id, 16).rightJustified(16, u'0');
}

QString opcode(quint32 code)
{
    return u"0x"_s + QString::number(code, 16).rightJustified(8, u'0');
}

QString bytes(double bytes)
{
    static const char16_t *const units[] = {u"B", u"KiB", u"MiB", u"GiB", u"TiB", u"PiB"};
    int unit = 0;
    while (bytes >= 1024 && unit < 5) {
        bytes /= 1024;
        ++unit;
    }
    if (unit == 0)
        return QString::number(qint64(bytes)) + u" B"_s;
    return QString::number(bytes, 'f', bytes < 10 ? 1 : 0) + u' ' + QStringView(units[unit]);
}

QString count(double count)
{
    if (count < 1000)
        return QString::number(qint64(count + 0.5));
    static const char16_t suffixes[] = {u'k', u'M', u'G', u'T', u'P'};
    int s = -1;
    while (count >= 1000 && s < 4) {
        count /= 1000;
        ++s;
    }
    return QString::number(count, 'f', count < 10 ? 1 : 0) + QChar(suffixes[s]);
}

QString rate(double perSecond)
{
    if (perSecond <= 0)
        return u"-"_s;
    if (perSecond < 10)
        return QString::number(perSecond, 'f', 1) + u"/s"_s;
    return count(perSecond) + u"/s"_s;
}

QString duration(qint64 ms)
{
    if (ms < 0)
        return u"-"_s;
    if (ms < 1000)
        return QString::number(ms) + u" ms"_s;
    const qint64 s = ms / 1000;
    if (s < 60)
        return QString::number(s) + u" s"_s;
    if (s < 3600)
        return u"%1 min %2 s"_s.arg(s / 60).arg(s % 60);
    if (s < 86400)
        return u"%1 h %2 min"_s.arg(s / 3600).arg((s % 3600) / 60);
    return u"%1 d %2 h"_s.arg(s / 86400).arg((s % 86400) / 3600);
}

QString time(qint64 msSinceEpoch)
{
    return QDateTime::fromMSecsSinceEpoch(msSinceEpoch).toString(u"HH:mm:ss.zzz"_s);
}

} // namespace PlexusMonitor::Format
