// SPDX-License-Identifier: MIT
#include <plexus/workerinfo.h>

#include <QtCore/qdebug.h>

namespace Plexus {

// The fields of a WorkerInfo, shared between its copies. Not installed: a field added here
// keeps the size and layout of WorkerInfo.
class WorkerInfoPrivate : public QSharedData
{
public:
    qint64 pid = 0;
    int slot = -1;
    QStringList arguments;
    WorkerInfo::State state = WorkerInfo::Starting;
    WorkerInfo::RestartPolicy restartPolicy = WorkerInfo::Restart;
    bool isExec = false;
    int restarts = 0;
    int exitCode = 0;
    qint64 startedAt = 0;
    quint64 machineId = 0;
};

namespace {

// One default value shared by every default-constructed WorkerInfo, so that making an
// invalid one (the dispatcher does, for every message on a worker) allocates nothing. It
// holds a reference of its own and is never freed; a setter detaches from it.
WorkerInfoPrivate *sharedDefault()
{
    static WorkerInfoPrivate *const shared = [] {
        auto *d = new WorkerInfoPrivate;
        d->ref.ref();
        return d;
    }();
    return shared;
}

} // namespace

WorkerInfo::WorkerInfo() : d(sharedDefault()) { }
WorkerInfo::WorkerInfo(const WorkerInfo &other) = default;
WorkerInfo::WorkerInfo(WorkerInfo &&other) noexcept = default;
WorkerInfo &WorkerInfo::operator=(const WorkerInfo &other) = default;
WorkerInfo::~WorkerInfo() = default;

qint64 WorkerInfo::pid() const noexcept { return d->pid; }
void WorkerInfo::setPid(qint64 pid) { d->pid = pid; }

int WorkerInfo::slot() const noexcept { return d->slot; }
void WorkerInfo::setSlot(int slot) { d->slot = slot; }

QStringList WorkerInfo::arguments() const { return d->arguments; }
void WorkerInfo::setArguments(const QStringList &arguments) { d->arguments = arguments; }

WorkerInfo::State WorkerInfo::state() const noexcept { return d->state; }
void WorkerInfo::setState(State state) { d->state = state; }

WorkerInfo::RestartPolicy WorkerInfo::restartPolicy() const noexcept { return d->restartPolicy; }
void WorkerInfo::setRestartPolicy(RestartPolicy policy) { d->restartPolicy = policy; }

bool WorkerInfo::isExec() const noexcept { return d->isExec; }
void WorkerInfo::setExec(bool exec) { d->isExec = exec; }

int WorkerInfo::restarts() const noexcept { return d->restarts; }
void WorkerInfo::setRestarts(int restarts) { d->restarts = restarts; }

int WorkerInfo::exitCode() const noexcept { return d->exitCode; }
void WorkerInfo::setExitCode(int exitCode) { d->exitCode = exitCode; }

qint64 WorkerInfo::startedAt() const noexcept { return d->startedAt; }
void WorkerInfo::setStartedAt(qint64 startedAt) { d->startedAt = startedAt; }

quint64 WorkerInfo::machineId() const noexcept { return d->machineId; }
void WorkerInfo::setMachineId(quint64 machineId) { d->machineId = machineId; }

bool WorkerInfo::isValid() const noexcept { return d->slot >= 0; }

Sender WorkerInfo::sender() const noexcept { return Sender(d->machineId, d->pid, d->slot); }

bool WorkerInfo::equals(const WorkerInfo &other) const noexcept
{
    if (d == other.d)
        return true;
    const WorkerInfoPrivate &a = *d;
    const WorkerInfoPrivate &b = *other.d;
    return a.pid == b.pid && a.slot == b.slot && a.arguments == b.arguments
        && a.state == b.state && a.restartPolicy == b.restartPolicy && a.isExec == b.isExec
        && a.restarts == b.restarts && a.exitCode == b.exitCode && a.startedAt == b.startedAt
        && a.machineId == b.machineId;
}

QDebug operator<<(QDebug debug, const WorkerInfo &info)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "Plexus::WorkerInfo(slot=" << info.slot() << ", pid=" << info.pid()
                    << ", state=" << info.state() << ", restarts=" << info.restarts();
    if (info.isExec())
        debug << ", exec " << info.arguments().value(0);
    debug << ')';
    return debug;
}

} // namespace Plexus
