// SPDX-License-Identifier: MIT
#include "handlers_p.h"
#include "logging_p.h"
#include "threadsync_p.h"

#include <QtCore/qhash.h>

#include <atomic>
#include <memory>

namespace Plexus {

namespace {
struct Side
{
    TypedHandler handler = nullptr;
    void *data = nullptr;
    void *state = nullptr;
};

struct Entry
{
    HandlerId id = 0;
    Side master;
    Side worker;
};

struct Table
{
    Mutex lock;
    QHash<quint32, std::shared_ptr<Entry>> byType;
    std::atomic<HandlerId> nextId{1};
};

Table &table()
{
    static Table t;
    return t;
}

enum class Which { Both, Master, Worker };

HandlerId set(quint32 type, Which which, TypedHandler master, TypedHandler worker,
              void *masterData, void *workerData)
{
    Table &t = table();
    QMutexLocker locker(&t.lock);
    auto entry = std::make_shared<Entry>();
    const auto old = t.byType.value(type);
    if (old && which != Which::Both)
        *entry = *old;   // keep the other side (and its state)
    entry->id = t.nextId.fetch_add(1);
    if (which != Which::Worker)
        entry->master = Side{master, masterData, nullptr};
    if (which != Which::Master)
        entry->worker = Side{worker, workerData, nullptr};
    t.byType.insert(type, entry);
    return entry->id;
}
} // namespace

HandlerId registerHandler(quint32 type, TypedHandler masterHandler, TypedHandler workerHandler,
                          void *masterData, void *workerData)
{
    return set(type, Which::Both, masterHandler, workerHandler, masterData, workerData);
}

HandlerId setMasterHandler(quint32 type, TypedHandler handler, void *data)
{
    return set(type, Which::Master, handler, nullptr, data, nullptr);
}

HandlerId setWorkerHandler(quint32 type, TypedHandler handler, void *data)
{
    return set(type, Which::Worker, nullptr, handler, nullptr, data);
}

bool unregisterHandler(HandlerId id)
{
    Table &t = table();
    QMutexLocker locker(&t.lock);
    for (auto it = t.byType.begin(); it != t.byType.end(); ++it) {
        if (it.value()->id == id) {
            t.byType.erase(it);
            return true;
        }
    }
    return false;
}

bool TypedHandlers::dispatch(bool onWorker, quint32 type, const Message &message,
                             const WorkerInfo &from)
{
    std::shared_ptr<Entry> entry;
    {
        Table &t = table();
        QMutexLocker locker(&t.lock);
        entry = t.byType.value(type);
    }
    if (!entry)
        return false;
    Side &side = onWorker ? entry->worker : entry->master;
    if (!side.handler)
        return false;
    try {
        side.handler(message, from, side.data, &side.state);
    } catch (...) {
        qCWarning(lcIpc) << "typed handler for type" << type << "threw an exception";
    }
    return true;
}

} // namespace Plexus
