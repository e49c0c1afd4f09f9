// SPDX-License-Identifier: MIT
#include "snapshot.h"

#include <string.h>   // sigabbrev_np

using namespace Qt::StringLiterals;

namespace PlexusMonitor {

namespace {
constexpr QStringView KindNames[MessageKindCount] = {
    u"call", u"reply", u"local", u"cluster", u"broadcast", u"typed", u"control",
};
} // namespace

QString messageKindName(MessageKind kind)
{
    const int i = int(kind);
    return i >= 0 && i < MessageKindCount ? KindNames[i].toString() : u"?"_s;
}

MessageKind messageKindFromName(QStringView name)
{
    for (int i = 0; i < MessageKindCount; ++i) {
        if (name == KindNames[i])
            return MessageKind(i);
    }
    return MessageKind::Unknown;
}

QString processRoleName(ProcessRole role)
{
    switch (role) {
    case ProcessRole::Master: return u"master"_s;
    case ProcessRole::Worker: return u"worker"_s;
    case ProcessRole::Unknown: break;
    }
    return u"?"_s;
}

QString processStateName(ProcessState state)
{
    switch (state) {
    case ProcessState::Starting: return u"starting"_s;
    case ProcessState::Running: return u"running"_s;
    case ProcessState::Exited: return u"exited"_s;
    case ProcessState::GivenUp: return u"given up"_s;
    case ProcessState::Unknown: break;
    }
    return u"?"_s;
}

QString exitReasonName(ExitReason reason)
{
    switch (reason) {
    case ExitReason::Normal: return u"normal"_s;
    case ExitReason::Error: return u"error"_s;
    case ExitReason::Crashed: return u"crashed"_s;
    case ExitReason::CrashLoop: return u"crashLoop"_s;
    case ExitReason::Stopped: return u"stopped"_s;
    case ExitReason::Restarted: return u"restarted"_s;
    case ExitReason::Unknown: break;
    }
    return u"?"_s;
}

QString exitDescription(const WorkerExit &exit)
{
    QString how;
    if (exit.signaled) {
        const char *name = exit.code > 0 && exit.code < 65 ? sigabbrev_np(exit.code) : nullptr;
        how = name ? u"killed by signal %1 (SIG%2)"_s.arg(exit.code).arg(QLatin1StringView(name))
                   : u"killed by signal %1"_s.arg(exit.code);
    } else {
        how = u"exited with status %1"_s.arg(exit.code);
    }
    switch (exit.reason) {
    case ExitReason::Restarted: return u"restarted on request ("_s + how + u')';
    case ExitReason::Stopped: return u"stopped at shutdown ("_s + how + u')';
    case ExitReason::CrashLoop: return how + u"; crash loop: slot given up"_s;
    case ExitReason::Normal:
    case ExitReason::Error:
    case ExitReason::Crashed:
    case ExitReason::Unknown:
        break;
    }
    return how;
}

bool isFailure(ExitReason reason)
{
    return reason == ExitReason::Error || reason == ExitReason::Crashed
            || reason == ExitReason::CrashLoop;
}

QString linkKindName(LinkKind kind)
{
    switch (kind) {
    case LinkKind::Worker: return u"worker"_s;
    case LinkKind::Machine: return u"machine"_s;
    case LinkKind::Monitor: return u"monitor"_s;
    case LinkKind::Unknown: break;
    }
    return u"?"_s;
}

} // namespace PlexusMonitor
