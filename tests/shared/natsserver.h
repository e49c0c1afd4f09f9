// SPDX-License-Identifier: MIT
#pragma once

// Real nats-server processes for the tests that need a NATS server: one server, or a
// cluster ("plexus-test") whose members have routes to each other, all on loopback. Each
// server listens on ports picked at run time (below the kernel's ephemeral range, never
// 4222/6222/8222, which the distribution's own service may hold) and has its own
// configuration file in a temporary directory, gone with the fixture. The servers are
// ended when the fixture goes (also when a test fails and returns early), and none
// outlives the test process, even one killed with SIGKILL.
//
// Routes up do not mean that a subscription made on one server is known on the others
// yet: that travels over the routes a moment later. A test that subscribes on one server
// and publishes on another waits for that (publishes until delivered, or uses a request
// that is retried).
//
//     if (!TestSupport::NatsServers::available())
//         QSKIP("nats-server is not installed");
//     TestSupport::NatsServers nats;
//     QString error;
//     QVERIFY2(nats.start(3, &error), qPrintable(error));
//     engine.connectTo(nats.urls());
//     ...
//     QVERIFY2(condition, qPrintable(nats.dump()));
//
// Every function blocks (with bounded waits) and must be called from the thread that
// started the servers: the kernel ends a server when the thread that forked it ends
// (PR_SET_PDEATHSIG), not only when the process does.

#include <QtCore/qglobal.h>
#include <QtCore/qstring.h>

#include <memory>
#include <vector>

class QTemporaryDir;

namespace TestSupport {

class NatsServers
{
public:
    NatsServers();
    // stopAll().
    ~NatsServers();
    Q_DISABLE_COPY_MOVE(NatsServers)

    // The nats-server program: from PATH, else /usr/sbin or /usr/bin; empty if none.
    static QString program();
    // Whether program() found one: tests QSKIP without it.
    static bool available() { return !program().isEmpty(); }

    // Before start(): the max_payload of every server (default 1 MB; nats-server refuses
    // more than its max_pending, 64 MB, and warns above 8 MB), and text appended to every
    // server's configuration at top level (e.g. "authorization { user: u, password: p }"
    // or "ping_interval: \"1s\"").
    void setMaxPayload(qint64 bytes) { m_maxPayload = bytes; }
    void setExtraConfig(const QString &text) { m_extraConfig = text; }

    // Ends what runs already (stopAll()), then starts \a count servers: one stands alone;
    // two or more form the cluster "plexus-test", each with a route to every other (started
    // one after the other, each once the one before listens for routes). Returns
    // when every server answers a client connection with its INFO and, in a cluster, when
    // every one lists every member's client address in its INFO's connect_urls (it has a
    // route to each; see waitReady()), or false with the reason (and dump()) in \a error
    // after 10 s. If a picked port was taken in between, it tries twice more with new ones.
    bool start(int count = 1, QString *error = nullptr);

    int count() const { return int(m_servers.size()); }
    // "nats://127.0.0.1:PORT" of server \a i, and all of them comma-separated, in order.
    QString url(int i) const;
    QString urls() const;
    quint16 port(int i) const;          // client port
    quint16 clusterPort(int i) const;   // route port; 0 for a single server
    // The process id of server \a i, also after it ended (the last one it ran as).
    qint64 pid(int i) const;
    // Whether server \a i runs (stopped with stop() counts as running).
    bool isRunning(int i) const;

    // SIGKILL to server \a i; returns once it has ended (its ports refuse connections).
    void kill(int i);
    // SIGSTOP / SIGCONT to server \a i; each returns once /proc shows the process stopped /
    // no longer stopped. A stopped server's ports still accept connections (the kernel's
    // backlog) but it answers nothing.
    void stop(int i);
    void resume(int i);
    // Starts server \a i again, killing it first if it still runs, with the same ports and
    // configuration file, and waits as start() does: it answers, and in a cluster the
    // routes between it and every other server that runs and is not stopped are up.
    bool restart(int i, QString *error = nullptr);

    // Waits until every server that should run (not killed, not stopped) answers with its
    // INFO and, in a cluster, lists all of them in its connect_urls. start() and restart()
    // end with it; useful after resume().
    bool waitReady(int timeoutMs = 10000, QString *error = nullptr);

    // Ends every server: SIGCONT to a stopped one, SIGTERM to all, SIGKILL to any still
    // running 3 s later. The servers stay listed (port(), pid(), dump() still answer).
    void stopAll();

    // For a failure message: per server its ports, state and the last few KB of what it
    // wrote (stdout and stderr, merged; across restarts).
    QString dump() const;

private:
    struct Server;

    bool launch(int i, QString *error);
    QString config(int i) const;
    bool isMember(int i) const;

    std::vector<std::unique_ptr<Server>> m_servers;
    std::unique_ptr<QTemporaryDir> m_dir;
    qint64 m_maxPayload = 1024 * 1024;
    QString m_extraConfig;
};

} // namespace TestSupport
