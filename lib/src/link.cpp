// SPDX-License-Identifier: MIT
#include "link_p.h"
#include "router_p.h"

#include <atomic>

namespace Plexus {

namespace {
std::atomic<quint64> g_nextLinkId{16};   // ids below 16 are reserved (loopback = 1)
}

Link::Link(Router *router, QObject *parent)
    : QObject(parent), m_router(router), m_id(g_nextLinkId.fetch_add(1))
{
}

Link::~Link() = default;

void Link::setEstablished()
{
    m_established = true;
    onEstablished();
    m_router->linksChanged();
}

} // namespace Plexus
