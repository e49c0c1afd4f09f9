// SPDX-License-Identifier: MIT
#include <plexus/workerinfo.h>

#include <QtCore/qdebug.h>

namespace Plexus {

QDebug operator<<(QDebug debug, const WorkerInfo &info)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "Plexus::WorkerInfo(slot=" << info.slot << ", pid=" << info.pid
                    << ", state=" << info.state << ", restarts=" << info.restarts;
    if (info.isExec)
        debug << ", exec " << info.arguments.value(0);
    debug << ')';
    return debug;
}

} // namespace Plexus
