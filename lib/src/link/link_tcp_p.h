// SPDX-License-Identifier: MIT
#pragma once

#include "link_socket_p.h"

#include <QtNetwork/qhostaddress.h>

namespace Plexus {

// The cluster's TCP links, with the backend that \a setup names (a TcpLink, or an
// IoDeviceLink over a QTcpSocket). An accepted connection (takes over \a fd):
Link *makeTcpLink(LinkHandler *handler, const LinkSetup &setup, int fd);
// A dial to \a address:\a port; nullptr (with *error) if it fails at once.
Link *dialTcp(LinkHandler *handler, const LinkSetup &setup, const QHostAddress &address,
              quint16 port, QString *error);
// The address and port of the other end of a cluster link, whichever backend carries it.
bool tcpPeerOf(const Link *link, QHostAddress *address, quint16 *port);

/*
    A Link over TCP: the cluster's links between the masters of two machines. The socket is
    a plain descriptor (SocketLink), with Nagle's algorithm off; a dialed link connects
    without blocking and starts its handshake once connected.
*/
class TcpLink final : public SocketLink
{
    Q_OBJECT
public:
    // An accepted connection; takes ownership of \a fd.
    TcpLink(LinkHandler *handler, const LinkSetup &setup, int fd, QObject *parent = nullptr);
    ~TcpLink() override;

    // Starts connecting to \a address:\a port; nullptr (with *error) if that fails at once
    // (no route, no descriptor left).
    static TcpLink *connectTo(LinkHandler *handler, const LinkSetup &setup,
                              const QHostAddress &address, quint16 port, QString *error);

    QString description() const override;
    QHostAddress peerAddress() const { return m_address; }
    quint16 peerPort() const { return m_port; }

protected:
    void transportConnected() override;

private:
    TcpLink(LinkHandler *handler, const LinkSetup &setup, int fd, const QHostAddress &address,
            quint16 port);
    void configure();

    QHostAddress m_address;
    quint16 m_port = 0;
};

} // namespace Plexus
