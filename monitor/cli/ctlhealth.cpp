// SPDX-License-Identifier: MIT
#include "ctlhealth.h"

#include "alarms.h"
#include "ctlformat.h"
#include "format.h"
#include "snapshot.h"

#include <QtCore/qjsonobject.h>

using namespace Qt::StringLiterals;
using namespace PlexusMonitor;

namespace PlexusCtl {

QString alarmsText(const AlarmTracker &alarms, int width)
{
    QString out;
    for (const Alarm &a : alarms.active())
        out += elide(u"ALARM since %1  %2"_s.arg(Format::time(a.startedAt), a.text), width) + u'\n';
    if (alarms.suppressed())
        out += u"(%1 more conditions not raised: too many alarms at once)\n"_s.arg(alarms.suppressed());
    return out;
}

QJsonArray alarmsJson(const AlarmTracker &alarms)
{
    QJsonArray out;
    for (const Alarm &a : alarms.active()) {
        out.append(QJsonObject{{u"kind"_s, alarmKindName(a.kind)},
                               {u"machine"_s, QString(u"0x"_s + QString::number(a.machine, 16))},
                               {u"pid"_s, a.pid},
                               {u"slot"_s, a.slot},
                               {u"text"_s, a.text},
                               {u"since"_s, a.startedAt}});
    }
    return out;
}

QString exitsText(const MachineSnapshot &machine, int max, int width)
{
    QString out;
    int shown = 0;
    for (qsizetype i = machine.exits.size() - 1; i >= 0 && shown < max; --i, ++shown) {
        const WorkerExit &x = machine.exits.at(i);
        out += elide(u"  exit %1  slot %2  pid %3  %4"_s.arg(Format::time(x.time)).arg(x.slot)
                             .arg(x.pid).arg(exitDescription(x)),
                     width)
                + u'\n';
    }
    return out;
}

QJsonArray exitsJson(const MachineSnapshot &machine)
{
    QJsonArray out;
    for (const WorkerExit &x : machine.exits) {
        out.append(QJsonObject{{u"time"_s, x.time},
                               {u"pid"_s, x.pid},
                               {u"slot"_s, x.slot},
                               {u"reason"_s, exitReasonName(x.reason)},
                               {u"code"_s, x.code},
                               {u"signaled"_s, x.signaled},
                               {u"failure"_s, isFailure(x.reason)}});
    }
    return out;
}

} // namespace PlexusCtl
