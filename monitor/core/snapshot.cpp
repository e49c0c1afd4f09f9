// SPDX-License-Identifier: MIT
#include "snapshot.h"

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
