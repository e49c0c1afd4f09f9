// SPDX-License-Identifier: MIT
#pragma once

#include <QtGui/qcolor.h>
#include <QtCore/qstring.h>
#include <QtCore/qstringlist.h>

namespace PlexusMonitor::Gui {

/*!
    How the monitor shows things, in one place so every view agrees: one colour per message
    kind (flow view, charts, trace, legend), and the number and duration formats.
*/
namespace Presentation {

/*! The message kinds of the introspection encoding, in display order. */
QStringList kinds();
/*! The colour of \a kind ("call", "reply", ...); grey for an unknown kind. */
QColor kindColor(const QString &kind);
/*! Colours of the in and out series of the rate charts. */
QColor inColor();
QColor outColor();

/*! The numbers as PlexusMonitor::Format writes them (the models and plexusctl agree). */
QString count(double value);
QString bytes(double value);
QString rate(double perSecond);
QString byteRate(double bytesPerSecond);
QString duration(qint64 msec);
/*! "just now", "4 s ago", "12 min ago"; negative: "-". */
QString ago(qint64 msec);
/*! 0x00000101, or the name and the code: "ping (0x101)". */
QString opcode(quint32 code, const QString &name = {});

} // namespace Presentation
} // namespace PlexusMonitor::Gui
