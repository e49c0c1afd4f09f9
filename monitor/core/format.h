// API-STABLE
// SPDX-License-Identifier: MIT
#pragma once

// The texts the models and plexusctl show for numbers: one place, so that the GUI and the
// terminal agree.

#include <QtCore/qstring.h>

namespace PlexusMonitor::Format {

/*! "0x1a2b3c4d5e6f7a8b": a machine id, always 16 hex digits. */
QString machineId(quint64 id);
/*! "0x00000100": an op-code, always 8 hex digits. */
QString opcode(quint32 code);
/*! "512 B", "1.5 KiB", "3.2 MiB", ... */
QString bytes(double bytes);
/*! "950", "12.3k", "4.1M". */
QString count(double count);
/*! "12/s", "3.4k/s"; "-" for 0. */
QString rate(double perSecond);
/*! "850 ms", "12 s", "4 min 3 s", "2 h 5 min", "3 d 4 h"; "-" for a negative duration. */
QString duration(qint64 ms);
/*! "14:03:07.123" in local time. */
QString time(qint64 msSinceEpoch);

} // namespace PlexusMonitor::Format
