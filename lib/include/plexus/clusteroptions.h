// SPDX-License-Identifier: MIT
#pragma once

#include <plexus/plexusglobal.h>

#include <QtCore/qbytearray.h>
#include <QtCore/qlist.h>
#include <QtCore/qstring.h>
#include <QtNetwork/qhostaddress.h>

namespace Plexus {

/*!
    \struct Plexus::MeshOptions
    Settings of the embedded full mesh, the cluster engine of \c tcp:// URLs: UDP discovery
    and one TCP link per pair of machines (docs/CLUSTER.md). Part of ClusterOptions.
*/
struct MeshOptions
{
    /*! The address the TCP server binds to. The discovery socket always binds to any
        IPv4 address: a socket bound to one address does not receive broadcasts. */
    QHostAddress bindAddress = QHostAddress::AnyIPv4;
    /*! Announce by UDP broadcast on every IPv4 interface (and 255.255.255.255). */
    bool broadcast = true;
    /*! Announcements also go to these addresses (port 0: the cluster port). For routed
        networks, and for several nodes on one host. */
    QList<QPair<QHostAddress, quint16>> announceTo;
    /*! How often this master announces itself. */
    int announceIntervalMs = 2000;
    /*! Reconnect delays: min × 2^attempt, capped at reconnectMaxMs, each multiplied by a
        random factor in [0.5, 1.5]. */
    int reconnectMinMs = 500;
    /*! The longest delay between two reconnect attempts (see reconnectMinMs). */
    int reconnectMaxMs = 30000;
    /*! At most this many cluster links may be inside their handshake at once; past it the
        oldest is shed. */
    int maxPendingConnections = 256;
};

/*!
    \struct Plexus::NatsOptions
    Settings of the NATS engine, the cluster engine of \c nats:// URLs: the machines meet
    on subjects of a NATS server (or a cluster of them) that routes sealed messages it
    cannot read (docs/CLUSTER.md, "NATS"). Part of ClusterOptions; the servers are in
    ClusterOptions::url.
*/
struct NatsOptions
{
    /*! How often the client pings its server; two unanswered pings and the connection is
        taken for dead and another server of the URL is tried. */
    int pingIntervalMs = 2000;
    /*! The wait between two attempts to reach a server (jittered by half of it). */
    int reconnectWaitMs = 250;
    /*! How long one attempt to reach a server may take. */
    int connectTimeoutMs = 2000;
    /*! What may be held while the server is out of reach (then sends fail with
        Reply::BackpressureError). Kept small: a call waits for a reply, not for a backlog. */
    int reconnectBufferBytes = 1 << 20;
};

/*!
    \struct Plexus::ClusterOptions
    How a master joins a cluster (Node::listenCluster()). Every field has a working default;
    only the port (or the URL) is usually set. The design and the wire format are in
    docs/CLUSTER.md and docs/PROTOCOL.md section 9.

    \code
    Plexus::ClusterOptions options;
    options.port = 7400;
    options.mesh.announceTo = {{QHostAddress("192.0.2.10"), 7400}};   // a routed subnet
    if (!node.listenCluster(options))
        qFatal("%s", qPrintable(node.errorString()));
    \endcode
*/
struct ClusterOptions
{
    /*! The mesh's TCP port for cluster links and UDP port for discovery. 0 picks a free
        TCP port and uses the same number for UDP. A port in \c url takes precedence. */
    quint16 port = 0;
    /*! The cluster secret. Empty: the SECRET environment variable, which Plexus::exec()
        reads (and removes from the environment) before it forks. Never logged; only keys
        derived from it are kept. */
    QByteArray secret;
    /*! The engine and where it listens, by the URL's scheme: empty or
        \c "tcp://[host][:port]" for the embedded mesh (a host sets
        MeshOptions::bindAddress, a port the port);
        \c "nats://host:port[,host:port...]" for NATS, every server of a NATS cluster the
        client may use (\c user:password@ before a host if the server asks for it).
        Another scheme is refused with Node::ClusterAddressError. Application code does
        not change between the engines.

        \code
        options.url = "nats://10.0.0.5:4222,10.0.0.6:4222";   // the machines meet on NATS
        \endcode */
    QString url;
    /*! A heartbeat goes out to every other machine this often... */
    int heartbeatIntervalMs = 1000;
    /*! ...and a machine not heard from for this long is declared lost. */
    int deadAfterMs = 4000;
    /*! A connection to another machine whose handshake is not through after this long is
        closed. */
    int handshakeTimeoutMs = 5000;
    /*! The settings of the mesh engine (tcp://). */
    MeshOptions mesh = {};
    /*! The settings of the NATS engine (nats://). */
    NatsOptions nats = {};
};

} // namespace Plexus
