// SPDX-License-Identifier: MIT
#include "natsapi_p.h"

#include <QtCore/qmutex.h>

#include <dlfcn.h>

#ifndef PLEXUS_NATS_SONAME
#  error "PLEXUS_NATS_SONAME must name nats.c's shared library (set by lib/CMakeLists.txt)"
#endif

namespace Plexus {

QString NatsApi::libraryName()
{
    const QString path = qEnvironmentVariable("PLEXUS_NATS_LIBRARY");
    return path.isEmpty() ? QStringLiteral(PLEXUS_NATS_SONAME) : path;
}

std::unique_ptr<NatsApi> NatsApi::load(const QString &path, QString *error)
{
    const QByteArray file = path.toLocal8Bit();
    // RTLD_LOCAL: nats.c's symbols (and OpenSSL's) stay out of the program's namespace.
    void *handle = ::dlopen(file.constData(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = ::dlerror();
        *error = QStringLiteral("NATS: cannot load the nats.c library %1 (Debian: the libnats3.4 "
                                "package; PLEXUS_NATS_LIBRARY names another file): %2")
                         .arg(path, QString::fromLocal8Bit(why ? why : "unknown error"));
        return nullptr;
    }
    auto api = std::make_unique<NatsApi>();
    const char *missing = nullptr;
#define PLEXUS_NATS_RESOLVE(name) \
    api->name = reinterpret_cast<decltype(&::name)>(::dlsym(handle, #name)); \
    if (!api->name && !missing) \
        missing = #name;
    PLEXUS_NATS_FUNCTIONS(PLEXUS_NATS_RESOLVE)
#undef PLEXUS_NATS_RESOLVE
    if (missing) {
        *error = QStringLiteral("NATS: %1 is not a usable nats.c library (no %2; 3.4 or later "
                                "is needed)").arg(path, QLatin1StringView(missing));
        ::dlclose(handle);
        return nullptr;
    }
    return api;   // the handle stays open for the life of the process
}

const NatsApi *NatsApi::get(QString *error)
{
    static QBasicMutex lock;
    // Never freed: nats.c's threads may still call through it while the process exits
    // (its callbacks can run after Close, see NatsClient's destructor).
    static const NatsApi *loaded = nullptr;
    QMutexLocker locker(&lock);
    if (!loaded)
        loaded = load(libraryName(), error).release();   // a failure is tried again next time
    return loaded;
}

} // namespace Plexus
