// SPDX-License-Identifier: MIT
#pragma once

#include <nats/nats.h>

#include <QtCore/qstring.h>

#include <memory>

namespace Plexus {

// Every function of nats.c that NatsClient calls.
#define PLEXUS_NATS_FUNCTIONS(X) \
    X(nats_Open) X(nats_GetVersion) X(natsStatus_GetText) \
    X(natsOptions_Create) X(natsOptions_Destroy) X(natsOptions_SetServers) \
    X(natsOptions_SetName) X(natsOptions_SetNoRandomize) X(natsOptions_SetSendAsap) \
    X(natsOptions_UseGlobalMessageDelivery) X(natsOptions_SetNoEcho) \
    X(natsOptions_SetPingInterval) X(natsOptions_SetMaxPingsOut) X(natsOptions_SetTimeout) \
    X(natsOptions_SetAllowReconnect) X(natsOptions_SetMaxReconnect) \
    X(natsOptions_SetReconnectWait) X(natsOptions_SetReconnectJitter) \
    X(natsOptions_SetReconnectBufSize) X(natsOptions_SetRetryOnFailedConnect) \
    X(natsOptions_SetDisconnectedCB) X(natsOptions_SetReconnectedCB) \
    X(natsOptions_SetClosedCB) X(natsOptions_SetErrorHandler) \
    X(natsConnection_Connect) X(natsConnection_Subscribe) X(natsConnection_Publish) \
    X(natsConnection_PublishRequest) X(natsConnection_Buffered) X(natsConnection_Status) \
    X(natsConnection_GetMaxPayload) X(natsConnection_GetConnectedUrl) \
    X(natsConnection_FlushTimeout) X(natsConnection_Close) X(natsConnection_Destroy) \
    X(natsSubscription_SetPendingLimits) X(natsSubscription_SetOnCompleteCB) \
    X(natsSubscription_Destroy) \
    X(natsMsg_IsNoResponders) X(natsMsg_GetSubject) X(natsMsg_GetData) \
    X(natsMsg_GetDataLength) X(natsMsg_Destroy)

/*
    nats.c, loaded when the first NATS engine starts instead of when libplexus is. Linking
    it made every Plexus process (workers too, and programs that never use NATS) map and
    relocate nats.c and the OpenSSL it depends on: about 1.8 MiB of RSS each. Only masters
    and monitors given a nats:// URL load it now.

    The library is the one the build found (its soname, PLEXUS_NATS_SONAME), or the file
    the environment variable PLEXUS_NATS_LIBRARY names. Each member has the type of the
    nats.c function of the same name.
*/
struct NatsApi
{
#define PLEXUS_NATS_MEMBER(name) decltype(&::name) name = nullptr;
    PLEXUS_NATS_FUNCTIONS(PLEXUS_NATS_MEMBER)
#undef PLEXUS_NATS_MEMBER

    // The process's nats.c, loaded on the first call that succeeds (and kept: nats.c
    // cannot be unloaded safely); null with *error set if it cannot be loaded.
    static const NatsApi *get(QString *error);
    // \a path loaded into a table of its own, for tests; null with *error set on failure.
    static std::unique_ptr<NatsApi> load(const QString &path, QString *error);
    // The library get() loads: PLEXUS_NATS_LIBRARY, else the build's soname.
    static QString libraryName();
};

} // namespace Plexus
