// SPDX-License-Identifier: MIT
#include "link_tcp_p.h"
#include "link_iodevice_p.h"

#include <QtNetwork/qtcpsocket.h>

#include <cerrno>
#include <cstring>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace Plexus {

namespace {
bool toSockaddr(const QHostAddress &address, quint16 port, sockaddr_storage *out, socklen_t *len)
{
    *out = sockaddr_storage{};
    bool ipv4 = false;
    const quint32 v4 = address.toIPv4Address(&ipv4);
    if (ipv4) {
        auto *in = reinterpret_cast<sockaddr_in *>(out);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        in->sin_addr.s_addr = htonl(v4);
        *len = sizeof(sockaddr_in);
        return true;
    }
    if (address.protocol() != QAbstractSocket::IPv6Protocol)
        return false;
    auto *in6 = reinterpret_cast<sockaddr_in6 *>(out);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    const Q_IPV6ADDR a = address.toIPv6Address();
    std::memcpy(&in6->sin6_addr, &a, sizeof a);
    in6->sin6_scope_id = address.scopeId().toUInt();
    *len = sizeof(sockaddr_in6);
    return true;
}
} // namespace

TcpLink::TcpLink(LinkHandler *handler, const LinkSetup &setup, int fd, QObject *parent)
    : SocketLink(handler, setup, fd, false, parent)
{
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    if (::getpeername(fd, reinterpret_cast<sockaddr *>(&peer), &len) == 0) {
        m_address.setAddress(reinterpret_cast<sockaddr *>(&peer));
        m_port = quint16(ntohs(peer.ss_family == AF_INET6
                                       ? reinterpret_cast<sockaddr_in6 *>(&peer)->sin6_port
                                       : reinterpret_cast<sockaddr_in *>(&peer)->sin_port));
    }
    configure();
}

TcpLink::TcpLink(LinkHandler *handler, const LinkSetup &setup, int fd,
                 const QHostAddress &address, quint16 port)
    : SocketLink(handler, setup, fd, true, nullptr), m_address(address), m_port(port)
{
}

TcpLink::~TcpLink() = default;

TcpLink *TcpLink::connectTo(LinkHandler *handler, const LinkSetup &setup,
                            const QHostAddress &address, quint16 port, QString *error)
{
    sockaddr_storage addr;
    socklen_t len = 0;
    if (!toSockaddr(address, port, &addr, &len)) {
        *error = QStringLiteral("not an IP address: %1").arg(address.toString());
        return nullptr;
    }
    const int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *error = QString::fromLocal8Bit(std::strerror(errno));
        return nullptr;
    }
    int r;
    do
        r = ::connect(fd, reinterpret_cast<sockaddr *>(&addr), len);
    while (r < 0 && errno == EINTR);
    if (r < 0 && errno != EINPROGRESS) {
        *error = QString::fromLocal8Bit(std::strerror(errno));
        ::close(fd);
        return nullptr;
    }
    // Also when connect() completed at once (loopback): the write notifier says so next.
    return new TcpLink(handler, setup, fd, address, port);
}

void TcpLink::configure()
{
    const int one = 1;
    ::setsockopt(descriptor(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void TcpLink::transportConnected()
{
    configure();
}

Link *makeTcpLink(LinkHandler *handler, const LinkSetup &setup, int fd)
{
    if (setup.backend == LinkBackend::Descriptor)
        return new TcpLink(handler, setup, fd);
    auto *socket = new QTcpSocket;
    socket->setSocketDescriptor(qintptr(fd));
    socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    return new IoDeviceLink(handler, setup, socket);
}

Link *dialTcp(LinkHandler *handler, const LinkSetup &setup, const QHostAddress &address,
              quint16 port, QString *error)
{
    if (setup.backend == LinkBackend::Descriptor)
        return TcpLink::connectTo(handler, setup, address, port, error);
    auto *socket = new QTcpSocket;
    socket->connectToHost(address, port);
    socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    // The handshake starts once the socket is connected; a failure closes the link.
    return new IoDeviceLink(handler, setup, socket);
}

bool tcpPeerOf(const Link *link, QHostAddress *address, quint16 *port)
{
    if (const auto *tcp = qobject_cast<const TcpLink *>(link)) {
        *address = tcp->peerAddress();
        *port = tcp->peerPort();
        return true;
    }
    if (const auto *qt = qobject_cast<const IoDeviceLink *>(link)) {
        if (const auto *socket = qobject_cast<const QAbstractSocket *>(qt->device())) {
            *address = socket->peerAddress();
            *port = socket->peerPort();
            return true;
        }
    }
    return false;
}

QString TcpLink::description() const
{
    return QStringLiteral("tcp:%1").arg(m_address.toString());
}

} // namespace Plexus
