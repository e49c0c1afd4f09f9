// SPDX-License-Identifier: MIT
#include "presentation.h"

#include "format.h"

#include <QtCore/qhash.h>

using namespace Qt::StringLiterals;

namespace PlexusMonitor::Gui::Presentation {

QStringList kinds()
{
    return {u"call"_s, u"reply"_s, u"local"_s, u"cluster"_s, u"broadcast"_s, u"typed"_s,
            u"control"_s};
}

QColor kindColor(const QString &kind)
{
    // Tableau 10: distinct for the usual forms of colour blindness, readable on white.
    static const QHash<QString, QColor> colors = {
        {u"call"_s, QColor(0x4e, 0x79, 0xa7)},      {u"reply"_s, QColor(0x59, 0xa1, 0x4f)},
        {u"local"_s, QColor(0xf2, 0x8e, 0x2b)},     {u"cluster"_s, QColor(0xb0, 0x7a, 0xa1)},
        {u"broadcast"_s, QColor(0xe1, 0x57, 0x59)}, {u"typed"_s, QColor(0x76, 0xb7, 0xb2)},
        {u"control"_s, QColor(0x9c, 0x75, 0x5f)},
    };
    return colors.value(kind, QColor(0xba, 0xb0, 0xac));
}

QColor inColor() { return QColor(0x4e, 0x79, 0xa7); }
QColor outColor() { return QColor(0xf2, 0x8e, 0x2b); }

QString count(double value) { return Format::count(value); }
QString bytes(double value) { return Format::bytes(value); }
QString rate(double perSecond) { return Format::rate(perSecond); }
QString byteRate(double bytesPerSecond)
{
    return bytesPerSecond < 0.5 ? u"-"_s : Format::bytes(bytesPerSecond) + u"/s"_s;
}
QString duration(qint64 msec) { return Format::duration(msec); }

QString ago(qint64 msec)
{
    if (msec < 0)
        return u"-"_s;
    if (msec < 1000)
        return u"just now"_s;
    return duration(msec) + u" ago"_s;
}

QString opcode(quint32 code, const QString &name)
{
    const QString hex = u"0x"_s + QString::number(code, 16).rightJustified(code > 0xffff ? 8 : 4, u'0');
    if (code == 0)
        return u"function"_s;
    return name.isEmpty() ? hex : name + u" ("_s + hex + u')';
}

} // namespace PlexusMonitor::Gui::Presentation
