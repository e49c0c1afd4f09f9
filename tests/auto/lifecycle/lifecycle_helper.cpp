// SPDX-License-Identifier: MIT
/*
    Helper program of tst_lifecycle: a real Plexus application (Plexus::exec, fork server,
    forked and exec'd workers) that runs one scenario and reports what happens as
    machine-checkable lines on stdout ("TAG key=value ..."), one write() per line so that
    the lines of several processes never mix. It ends by itself: a safety timer makes the
    master exit with code 99 (and an alarm kills it outright) if a scenario gets stuck.

        lifecycle_helper <scenario> [arguments for Plexus::exec, e.g. --workers 3]

    Scenarios:
        idle        workers (LIFE_WORKERS, default 4) ping the master and get pinged;
                    runs until a signal or until stdin closes
        serve       idle + every worker calls the master every 50 ms ("ALIVE")
        stuck       idle, but slot 0 ignores SIGTERM and blocks its event loop
        flood       1 worker; the master floods it with LIFE_FLOOD calls answered slowly
                    (LIFE_FLOOD_MODE = sendto | local)
        busyflood   2 workers flood the master for as long as it runs, with pipelined calls
                    (LIFE_WINDOW in flight each) or, with LIFE_FLOOD_MODE=fire, with
                    fire-and-forget calls as fast as backpressure lets them; each costs the
                    master LIFE_WORK_US (default 2 µs), so that its input never runs dry; the
                    master's 250 ms timer reports its lateness ("TICK n= late= maxlate=
                    calls=", ms)
        crashloop   every worker aborts in onStart (LIFE_MAX_RESTARTS, LIFE_WINDOW_MS,
                    LIFE_SET_LIMIT tune the limit)
        norestart   NoRestart policy; slot 0 exits 3, slot 1 exits 0 once connected
        spawn       1 forked worker + this program spawned as an exec'd worker
        execworker  (internal) the exec'd worker of "spawn"
        count       prints the worker count and the arguments (LIFE_WORKERS default 0)
        badworker   serve + slot 0 writes bad bytes on its own link once
                    (LIFE_BADWORKER = garbage | wrongkey1 | wrongkey8; LIFE_MARKER: file
                    that makes it happen in the first incarnation only)
        failstart   the master's onStart calls QCoreApplication::exit(3) (2 workers)
        nodeapi     no exec(): a Node in a plain QCoreApplication, setIpcUrl() checks
        standalone  no exec(): a Node with LIFE_IPC_URL in a plain QCoreApplication, running
                    until stdin closes ("STANDALONE ok=.. err=.. url=..")

    Environment: LIFE_IPC_URL (ExecOptions::ipcUrl), LIFE_TIMEOUT_MS (safety timer),
    LIFE_HANDSHAKE_MS and LIFE_MAX_PENDING (connection limits), LIFE_NOFILE_SLACK (once its
    workers are up, the master takes every descriptor under a low open-file limit, gives
    this many back, and prints "LIMITED"), LIFE_SHOW_SECRET (the run's secret, in hex, goes to
    $LIFE_DIR/secret.hex: the test then looks for the raw bytes in every process).
*/
#include "crypto_p.h"
#include "node_p.h"
#include "frame_p.h"
#include "message_p.h"
#include "record_p.h"

#include <plexus/plexus.h>

#include <QtCore/qcoreapplication.h>
#include <QtCore/qdatetime.h>
#include <QtCore/qdir.h>
#include <QtCore/qelapsedtimer.h>
#include <QtCore/qmetaobject.h>
#include <QtCore/qsocketnotifier.h>
#include <QtCore/qtimer.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <utility>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

using namespace Plexus;

namespace {

enum : quint32 { OpEcho = 0x10, OpSlow = 0x11 };

QByteArray g_scenario;
bool g_isMaster = false;
int g_slot = -1;
int g_aliveCount = 0;
std::deque<Message> g_slowQueue;   // requests kept (no automatic reply) until answered

void say(const char *format, ...) __attribute__((format(printf, 1, 2)));
void say(const char *format, ...)
{
    char buffer[2048];
    va_list ap;
    va_start(ap, format);
    int n = std::vsnprintf(buffer, sizeof buffer - 1, format, ap);
    va_end(ap);
    if (n < 0)
        return;
    n = std::min(n, int(sizeof buffer) - 2);
    buffer[n++] = '\n';
    // One write() per line (below PIPE_BUF): lines of several processes never interleave.
    ssize_t off = 0;
    while (off < n) {
        const ssize_t w = ::write(STDOUT_FILENO, buffer + off, size_t(n - off));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += w;
    }
}

template <typename E>
const char *key(E value)
{
    const char *k = QMetaEnum::fromType<E>().valueToKey(int(value));
    return k ? k : "?";
}

int envInt(const char *name, int fallback)
{
    bool ok = false;
    const int v = qEnvironmentVariableIntValue(name, &ok);
    return ok ? v : fallback;
}

QByteArray pidList(QList<qint64> pids)
{
    std::sort(pids.begin(), pids.end());
    QByteArrayList out;
    for (qint64 p : pids)
        out.append(QByteArray::number(p));
    return out.join(',');
}

// ---- handlers (function pointers: valid in forked workers, same image) -----------------

void onMasterEcho(const Message &m)
{
    reply(m, {.data = {"pong"}, .done = true});
}

void onEchoPid(const Message &m)
{
    reply(m, {.data = QByteArray::number(qint64(::getpid())), .done = true});
}

void onSlowFn(const Message &m)
{
    g_slowQueue.push_back(m);
}

void onCallDone(const Message &m)
{
    say("CALL slot=%d pid=%d err=%d data=%.*s", g_slot, int(::getpid()), m.isError() ? 1 : 0,
        int(m.length()), m.data().data());
}

// busyflood: every answer sends the next call, so each worker keeps its window full.
void onWork(const Message &m);

void onFloodDone(const Message &)
{
    call({.call = onWork, .onDone = onFloodDone, .data = {"flood"}});
}

// busyflood, master: each call costs LIFE_WORK_US of work (default 2 µs), as a real handler
// does, so the master is the bottleneck and its links always have input waiting.
void onWork(const Message &m)
{
    static const int workUs = envInt("LIFE_WORK_US", 2);
    QElapsedTimer t;
    t.start();
    while (t.nsecsElapsed() < workUs * 1000) { }
    if (m.wantsReply())
        reply(m, {.data = {"done"}, .done = true});
}

void startBusyFlood(Node &node)
{
    if (qgetenv("LIFE_FLOOD_MODE") == "fire") {
        // Batches from a zero timer: the worker's own event loop keeps turning.
        auto *timer = new QTimer(&node);
        QObject::connect(timer, &QTimer::timeout, [] {
            for (int i = 0; i < 256; ++i)
                call({.call = onWork, .data = {"flood"}});
        });
        timer->start(0);
    } else {
        for (int i = 0; i < envInt("LIFE_WINDOW", 64); ++i)
            onFloodDone(Message());
    }
    say("BUSYFLOOD slot=%d pid=%d", g_slot, int(::getpid()));
}

// busyflood, master: a precise 250 ms timer that says how late each tick came.
void startLatenessTicks(Node &node)
{
    constexpr qint64 IntervalMs = 250;
    auto *timer = new QTimer(&node);
    timer->setTimerType(Qt::PreciseTimer);
    auto clock = std::make_shared<QElapsedTimer>();
    auto n = std::make_shared<int>(0);
    auto maxLate = std::make_shared<qint64>(0);
    clock->start();
    QObject::connect(timer, &QTimer::timeout, &node, [&node, clock, n, maxLate] {
        const qint64 late = qMax<qint64>(0, clock->restart() - IntervalMs);
        *maxLate = qMax(*maxLate, late);
        say("TICK n=%d late=%lld maxlate=%lld calls=%llu", ++*n, late, *maxLate,
            node.counters().messagesIn);
    });
    timer->start(IntervalMs);
}

void onAliveDone(const Message &m)
{
    if (!m.isError())
        say("ALIVE slot=%d pid=%d n=%d", g_slot, int(::getpid()), ++g_aliveCount);
}

// Answers kept requests a few at a time, so that many calls are in flight at once.
void startSlowResponder(QObject *context)
{
    auto *timer = new QTimer(context);
    QObject::connect(timer, &QTimer::timeout, [] {
        for (int i = 0; i < 10 && !g_slowQueue.empty(); ++i) {
            reply(g_slowQueue.front(), {.data = {"slow"}, .done = true});
            g_slowQueue.pop_front();
        }
    });
    timer->start(5);
}

// ---- master side ----------------------------------------------------------------------

void pingWorker(const WorkerInfo &w)
{
    // Forked workers run the same image: a function pointer. Exec'd ones: an op-code.
    const Message m = w.isExec() ? newMessage({.opcode = OpEcho, .data = {"ping"}, .reply = true})
                               : newMessage({.call = onEchoPid, .data = {"ping"}, .reply = true});
    Reply *r = sendTo(Sender(w.pid(), w.slot()), m);
    const auto from = std::make_shared<qint64>(0);
    QObject::connect(r, &Reply::replyReceived, [from](const Message &reply) {
        *from = reply.data().toByteArray().toLongLong();
    });
    const int slot = w.slot();
    const qint64 pid = w.pid();
    QObject::connect(r, &Reply::finished, [r, from, slot, pid] {
        say("PONG slot=%d pid=%lld err=%d from=%lld", slot, pid, int(r->error()), *from);
    });
    if (w.isExec()) {
        // A function pointer means nothing in another image: refused at the caller.
        Reply *fn = sendTo(w.sender(), newMessage({.call = onEchoPid, .data = {"fn"}, .reply = true}));
        QObject::connect(fn, &Reply::finished, [fn, slot] {
            say("EXECFNSENDTO slot=%d err=%d", slot, int(fn->error()));
        });
    }
}

void localCall(const char *tag, const CallArgs &args)
{
    Reply *r = local(args);
    const auto senders = std::make_shared<QList<qint64>>();
    QObject::connect(r, &Reply::replyReceived, [senders](const Message &m) {
        senders->append(m.sender().pid());
    });
    QObject::connect(r, &Reply::finished, [r, senders, tag] {
        say("%s expected=%d received=%d err=%d senders=%s", tag, r->expectedReplies(),
            r->receivedReplies(), int(r->error()), pidList(*senders).constData());
    });
}

// Once every worker (forked and exec'd) is connected: a local op-code call, which reaches
// them all, and a local function-pointer call, which must skip the exec'd one.
void localCallsOnceAllRun(Node &node)
{
    static bool done = false;
    for (const WorkerInfo &w : node.workers()) {
        if (w.state() != WorkerInfo::Running)
            return;
    }
    if (std::exchange(done, true))
        return;
    localCall("LOCALOP", {.opcode = OpEcho, .data = {"op"}, .reply = true});
    localCall("LOCALFN", {.call = onEchoPid, .data = {"fn"}, .reply = true});
}

void startFlood(const WorkerInfo &w)
{
    const int n = envInt("LIFE_FLOOD", 1500);
    const bool viaLocal = qgetenv("LIFE_FLOOD_MODE") == "local";
    static struct Stats { int issued = 0, finished = 0, ok = 0, lost = 0, other = 0; } stats;
    Stats *s = &stats;
    say("FLOODSTART n=%d mode=%s worker=%lld", n, viaLocal ? "local" : "sendto", w.pid());
    for (int i = 0; i < n; ++i) {
        Reply *r = viaLocal ? local({.opcode = OpSlow, .data = {"x"}, .reply = true})
                            : sendTo(Sender(w.pid(), w.slot()),
                                     newMessage({.call = onSlowFn, .data = {"x"}, .reply = true}));
        ++s->issued;
        QObject::connect(r, &Reply::finished, [r, s, n] {
            ++s->finished;
            if (r->error() == Reply::NoError)
                ++s->ok;
            else if (r->error() == Reply::TargetLostError)
                ++s->lost;
            else
                ++s->other;
            if (s->finished % 50 == 0)
                say("FLOODPROGRESS finished=%d ok=%d lost=%d", s->finished, s->ok, s->lost);
            if (s->finished == n)
                say("FLOODDONE issued=%d finished=%d ok=%d lost=%d other=%d", s->issued,
                    s->finished, s->ok, s->lost, s->other);
        });
    }
}

void quitWhenAllGivenUp(Node &node)
{
    for (const WorkerInfo &w : node.workers()) {
        if (w.state() != WorkerInfo::GivenUp)
            return;
    }
    // Leave time for a (wrong) restart to show up before reporting the final state.
    QTimer::singleShot(500, &node, [&node] {
        QByteArrayList states;
        for (const WorkerInfo &w : node.workers())
            states.append(key(w.state()));
        say("FINAL restarts=%llu states=%s", node.counters().restarts, states.join(',').constData());
        QCoreApplication::quit();
    });
}

void masterStart(Node &node)
{
    g_isMaster = true;
    say("MASTER pid=%lld url=%s machine=%llx", node.pid(), qPrintable(node.ipcUrl()), node.machineId());
    if (g_scenario == "failstart") {
        // The documented way to fail from onStart: exec() returns this code.
        say("FAILSTART");
        QCoreApplication::exit(3);
        return;
    }
    const bool ok = node.setIpcUrl(QStringLiteral("unix:///tmp/never-used.sock"));
    say("MSETURL ok=%d err=%s", ok ? 1 : 0, key(node.error()));

    // stdin closed or "quit": a signal-free way for the test to end a run.
    auto *in = new QSocketNotifier(qintptr(STDIN_FILENO), QSocketNotifier::Read, &node);
    QObject::connect(in, &QSocketNotifier::activated, &node, [in] {
        char buffer[256];
        const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
        if (n <= 0 || std::memchr(buffer, 'q', size_t(n))) {
            in->setEnabled(false);
            QCoreApplication::quit();
        }
    });

    QObject::connect(&node, &Node::workerStarted, &node, [&node](const WorkerInfo &w) {
        say("WORKER slot=%d pid=%lld exec=%d restarts=%d", w.slot(), w.pid(), w.isExec() ? 1 : 0,
            w.restarts());
        if (g_scenario == "count")
            return;
        pingWorker(w);
        if (g_scenario == "flood" && w.restarts() == 0 && w.slot() == 0)
            startFlood(w);
        if (g_scenario == "spawn")
            localCallsOnceAllRun(node);
    });
    QObject::connect(&node, &Node::workerExited, &node,
                     [&node](const WorkerInfo &w, WorkerInfo::ExitReason reason) {
        say("EXITED slot=%d pid=%lld reason=%s code=%d state=%s restarts=%d exec=%d", w.slot(),
            w.pid(), key(reason), w.exitCode(), key(w.state()), w.restarts(), w.isExec() ? 1 : 0);
        if (g_scenario == "crashloop" || g_scenario == "norestart")
            quitWhenAllGivenUp(node);
    });
    QObject::connect(&node, &Node::securityEvent, &node, [&node](FrameError reason, const QString &peer) {
        say("SECURITY reason=%s rejected=%llu peer=%s", key(reason),
            node.counters().rejectedFrames, qPrintable(QString(peer).replace(u' ', u'_')));
    });
    QObject::connect(&node, &Node::workersReady, &node, [&node] {
        if (qEnvironmentVariableIsSet("LIFE_NOFILE_SLACK")) {
            // A low limit, every descriptor under it taken, then LIFE_NOFILE_SLACK given back.
            const int open = int(QDir(QStringLiteral("/proc/self/fd")).entryList(QDir::Files | QDir::System).size());
            rlimit lim{};
            ::getrlimit(RLIMIT_NOFILE, &lim);
            lim.rlim_cur = rlim_t(open + 16);
            ::setrlimit(RLIMIT_NOFILE, &lim);
            QList<int> filler;
            for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;)
                filler.append(fd);
            for (int i = 0; i < envInt("LIFE_NOFILE_SLACK", 0) && !filler.isEmpty(); ++i)
                ::close(filler.takeLast());
            say("LIMITED fds=%d filler=%d", open, int(filler.size()));
        }
        say("READY workers=%d", int(node.workers().size()));
        if (g_scenario == "busyflood")
            startLatenessTicks(node);
        if (g_scenario == "count") {
            QByteArrayList args;
            for (const QString &a : QCoreApplication::arguments())
                args.append(a.toLocal8Bit());
            say("ARGS %s", args.join('|').constData());
            QByteArrayList workerArgs;
            for (const WorkerInfo &w : node.workers())
                workerArgs.append(w.arguments().mid(1).join(u'|').toLocal8Bit());
            say("WORKERARGS %s", workerArgs.join(';').constData());
        }
    });
    QObject::connect(qApp, &QCoreApplication::aboutToQuit, &node, [&node] {
        const Node::Counters c = node.counters();
        say("COUNTERS restarts=%llu rejected=%llu abandoned=%llu", c.restarts, c.rejectedFrames,
            c.abandonedConnections);
    });

    if (g_scenario == "crashloop" && qEnvironmentVariableIsSet("LIFE_SET_LIMIT"))
        node.setRestartLimit(envInt("LIFE_SET_LIMIT", 5), 10000);
    if (g_scenario == "spawn") {
        const int slot = node.spawn(QCoreApplication::applicationFilePath(),
                                    {QStringLiteral("execworker")}, WorkerInfo::Restart);
        say("SPAWN slot=%d", slot);
    }
    if (g_scenario == "flood" || g_scenario == "spawn")
        startSlowResponder(&node);
}

// ---- worker side ----------------------------------------------------------------------

// The descriptor of this worker's link: the socket connected to the IPC socket path.
int findLinkFd(const QString &ipcUrl)
{
    const QByteArray path = ipcUrl.mid(7).toLocal8Bit();
    const QStringList fds = QDir(QStringLiteral("/proc/self/fd")).entryList(QDir::Files | QDir::System);
    for (const QString &name : fds) {
        const int fd = name.toInt();
        sockaddr_un addr{};
        socklen_t len = sizeof addr;
        if (::getpeername(fd, reinterpret_cast<sockaddr *>(&addr), &len) == 0
            && addr.sun_family == AF_UNIX && path == addr.sun_path)
            return fd;
    }
    return -1;
}

void writeAll(int fd, const QByteArray &bytes)
{
    qsizetype off = 0;
    while (off < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.constData() + off, size_t(bytes.size() - off));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return;
        off += n;
    }
}

// A well-formed record holding a frame, sealed in a stream whose key is not the link's.
QByteArray wrongKeyRecord()
{
    Wire::Header h = Authoring::header(0, quint64(quintptr(&onMasterEcho)));
    h.length = 6;
    QByteArray plain(Wire::HeaderSize, '\0');
    Wire::encodeHeader(h, plain.data());
    plain += "forged";
    RecordSealer sealer;
    const QByteArray key = Crypto::randomBytes(Record::KeyBytes);
    unsigned char header[Record::HeaderBytes];
    sealer.init(reinterpret_cast<const unsigned char *>(key.constData()), header);
    QByteArray record(Record::Overhead + plain.size(), Qt::Uninitialized);
    sealer.sealFrom(plain.constData(), plain.size(), record.data());
    return record;
}

void misbehaveOnce(Node &node)
{
    const QByteArray marker = qgetenv("LIFE_MARKER");
    const int m = ::open(marker.constData(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (m < 0)
        return;   // an earlier incarnation did it
    ::close(m);
    const int fd = findLinkFd(node.ipcUrl());
    const QByteArray mode = qgetenv("LIFE_BADWORKER");
    QByteArray bytes;
    if (mode == "garbage") {
        bytes = QByteArray(256, char(0xAB));
    } else {
        const int count = mode == "wrongkey8" ? 8 : 1;
        for (int i = 0; i < count; ++i)
            bytes += wrongKeyRecord();
    }
    say("MISBEHAVE slot=%d pid=%d fd=%d mode=%s bytes=%d", g_slot, int(::getpid()), fd,
        mode.constData(), int(bytes.size()));
    if (fd >= 0)
        writeAll(fd, bytes);
}

void workerStart(Node &node)
{
    g_slot = node.workerSlot();
    say("WSTART slot=%d pid=%lld", g_slot, node.pid());
    if (g_scenario == "crashloop")
        ::abort();
    if (g_scenario == "count") {
        say("WARGS slot=%d args=%s", g_slot,
            QCoreApplication::arguments().join(u'|').toLocal8Bit().constData());
        return;
    }
    const bool ok = node.setIpcUrl(QStringLiteral("unix:///tmp/never-used.sock"));
    say("WSETURL slot=%d ok=%d err=%s", g_slot, ok ? 1 : 0, key(node.error()));
    if (g_scenario == "norestart") {
        // Exit once connected (the call went through), so the master saw it running.
        call({.call = onMasterEcho, .onDone = [](const Message &) {
                  QCoreApplication::exit(g_slot == 0 ? 3 : 0);
              }, .data = {"bye"}});
        return;
    }
    call({.call = onMasterEcho, .onDone = onCallDone, .data = {"hello"}});
    if (g_scenario == "stuck" && g_slot == 0) {
        call({.call = onMasterEcho, .onDone = [](const Message &) {
                  // Deaf to SIGTERM and to the master's stop request: only SIGKILL ends it.
                  ::signal(SIGTERM, SIG_IGN);
                  ::signal(SIGINT, SIG_IGN);
                  say("STUCK slot=%d pid=%d", g_slot, int(::getpid()));
                  for (;;)
                      ::sleep(1);
              }, .data = {"stuck"}});
    }
    if (g_scenario == "flood" || g_scenario == "spawn")
        startSlowResponder(&node);
    if (g_scenario == "busyflood")
        startBusyFlood(node);
    if (g_scenario == "serve" || g_scenario == "badworker") {
        auto *timer = new QTimer(&node);
        QObject::connect(timer, &QTimer::timeout, [] {
            call({.call = onMasterEcho, .onDone = onAliveDone, .data = {"alive"}});
        });
        timer->start(50);
    }
    if (g_scenario == "badworker" && g_slot == 0) {
        call({.call = onMasterEcho, .onDone = [](const Message &) {
                  // Our hello is through and nothing else is queued: the bytes start a frame.
                  misbehaveOnce(*Node::instance());
              }, .data = {"first"}});
    }
}

// ---- exec'd worker --------------------------------------------------------------------

unsigned long g_secretPipeInode = 0;

bool secretPipeStillOpen()
{
    const QString target = QStringLiteral("pipe:[%1]").arg(g_secretPipeInode);
    const QStringList fds = QDir(QStringLiteral("/proc/self/fd")).entryList(QDir::Files | QDir::System);
    for (const QString &name : fds) {
        char link[256] = {};
        const QByteArray p = QByteArray("/proc/self/fd/") + name.toLatin1();
        if (::readlink(p.constData(), link, sizeof link - 1) > 0 && target.toLatin1() == link)
            return true;
    }
    return false;
}

void execWorkerStart(Node &node)
{
    g_slot = node.workerSlot();
    say("EXECSTART slot=%d pid=%lld worker=%d secretpipe=%d", g_slot, node.pid(),
        node.isWorker() ? 1 : 0, secretPipeStillOpen() ? 1 : 0);
    node.handle(OpEcho, &node, onEchoPid);
    node.handle(OpSlow, &node, [](const Message &m) { g_slowQueue.push_back(m); });
    // Function pointers mean nothing in another image: the master must refuse this.
    Reply *r = call({.call = onMasterEcho, .data = {"fn"}, .reply = true});
    QObject::connect(r, &Reply::finished, [r] { say("EXECFNCALL err=%d", int(r->error())); });
    Reply *op = call({.opcode = OpEcho, .data = {"op"}, .reply = true});
    QObject::connect(op, &Reply::finished, [op] { say("EXECOPCALL err=%d", int(op->error())); });
}

// ---- standalone: a Node with a fixed URL, without exec() --------------------------------

int runStandalone(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    Node node;
    node.setIpcUrl(qEnvironmentVariable("LIFE_IPC_URL"));
    const bool ok = node.start();
    say("STANDALONE pid=%d ok=%d err=%s url=%s", int(::getpid()), ok ? 1 : 0, key(node.error()),
        qPrintable(node.ipcUrl()));
    if (!ok)
        return 1;
    auto *in = new QSocketNotifier(qintptr(STDIN_FILENO), QSocketNotifier::Read, &app);
    QObject::connect(in, &QSocketNotifier::activated, &app, [in] {
        char buffer[256];
        [[maybe_unused]] const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
        in->setEnabled(false);
        QCoreApplication::quit();
    });
    QTimer::singleShot(envInt("LIFE_TIMEOUT_MS", 20000), &app, [] {
        say("TIMEOUT");
        QCoreApplication::exit(99);
    });
    return app.exec();
}

void writeSecretHex(const unsigned char *secret, qsizetype size)
{
    // Hex, not the bytes themselves, and from a stack buffer that is wiped afterwards: the
    // test must find no copy of the raw secret that Plexus did not make.
    char hex[129] = {};
    static const char digits[] = "0123456789abcdef";
    for (qsizetype i = 0; i < size && i < 64; ++i) {
        hex[2 * i] = digits[secret[i] >> 4];
        hex[2 * i + 1] = digits[secret[i] & 15];
    }
    const QByteArray path = qgetenv("LIFE_DIR") + "/secret.hex";
    const int fd = ::open(path.constData(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
    if (fd >= 0) {
        [[maybe_unused]] const ssize_t n = ::write(fd, hex, size_t(2 * size));
        ::close(fd);
    }
    Crypto::wipe(hex, sizeof hex);
}

// ---- nodeapi: a Node without exec() ----------------------------------------------------

int runNodeApi(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QString dir = qEnvironmentVariable("LIFE_DIR");
    Node node;
    int errorSignals = 0;
    QObject::connect(&node, &Node::errorOccurred, &node, [&errorSignals](Node::Error) { ++errorSignals; });
    bool ok = node.setIpcUrl(QStringLiteral("tcp://127.0.0.1:4000"));
    say("API tcp ok=%d err=%s", ok ? 1 : 0, key(node.error()));
    ok = node.setIpcUrl(QStringLiteral("http://example.org/x"));
    say("API http ok=%d err=%s", ok ? 1 : 0, key(node.error()));
    ok = node.setIpcUrl(QStringLiteral("unix://") + dir + QLatin1Char('/') + QString(200, u'a'));
    say("API long ok=%d err=%s", ok ? 1 : 0, key(node.error()));
    ok = node.start();
    say("API longstart ok=%d err=%s", ok ? 1 : 0, key(node.error()));
    ok = node.setIpcUrl(QStringLiteral("unix://") + dir + QStringLiteral("/apiXXXXXX"));
    say("API xxx ok=%d err=%s", ok ? 1 : 0, key(node.error()));
    ok = node.start();
    say("API start ok=%d err=%s url=%s", ok ? 1 : 0, key(node.error()), qPrintable(node.ipcUrl()));
    ok = node.setIpcUrl(QStringLiteral("unix://") + dir + QStringLiteral("/other.sock"));
    say("API after ok=%d err=%s url=%s", ok ? 1 : 0, key(node.error()), qPrintable(node.ipcUrl()));
    ok = node.start();
    say("API restart ok=%d err=%s", ok ? 1 : 0, key(node.error()));
    {
        // One Node per process: a second one is refused, and the first is untouched.
        Node second;
        ok = second.start();
        say("API second ok=%d err=%s instance=%d", ok ? 1 : 0, key(second.error()),
            Node::instance() == &node ? 1 : 0);
    }
    say("API signals n=%d", errorSignals);

    auto *in = new QSocketNotifier(qintptr(STDIN_FILENO), QSocketNotifier::Read, &app);
    QObject::connect(in, &QSocketNotifier::activated, &app, [in] {
        char buffer[256];
        [[maybe_unused]] const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
        in->setEnabled(false);
        QCoreApplication::quit();
    });
    QTimer::singleShot(envInt("LIFE_TIMEOUT_MS", 20000), &app, [] {
        say("TIMEOUT");
        QCoreApplication::exit(99);
    });
    const int rc = app.exec();
    return rc;
}

} // namespace

int main(int argc, char **argv)
{
    g_scenario = argc > 1 ? QByteArray(argv[1]) : QByteArray("idle");
    const int timeoutMs = envInt("LIFE_TIMEOUT_MS", 20000);
    // Crashing workers must not leave core files around or slow the crash loop down.
    const rlimit noCore{0, 0};
    ::setrlimit(RLIMIT_CORE, &noCore);

    if (g_scenario == "execworker") {
        // Before exec() reads it: remember which pipe carries the secret.
        struct stat st{};
        if (::fstat(3, &st) == 0 && S_ISFIFO(st.st_mode))
            g_secretPipeInode = (unsigned long)st.st_ino;
        say("EXECPRE pid=%d fd3pipe=%lu", int(::getpid()), g_secretPipeInode);
    }
    if (g_scenario == "nodeapi") {
        ::alarm(unsigned(timeoutMs / 1000 + 10));
        return runNodeApi(argc, argv);
    }
    if (g_scenario == "standalone") {
        ::alarm(unsigned(timeoutMs / 1000 + 10));
        return runStandalone(argc, argv);
    }
    if (qEnvironmentVariableIsSet("LIFE_SHOW_SECRET"))
        Plexus::Testing::secretDrawn = &writeSecretHex;

    ExecOptions options;
    options.workers = envInt("LIFE_WORKERS", g_scenario == "count" ? 0 : 4);
    if (g_scenario == "flood" || g_scenario == "badworker" || g_scenario == "serve")
        options.workers = envInt("LIFE_WORKERS", 1);
    if (g_scenario == "spawn" || g_scenario == "crashloop")
        options.workers = 1;
    if (g_scenario == "busyflood" || g_scenario == "failstart")
        options.workers = envInt("LIFE_WORKERS", 2);
    if (g_scenario == "norestart") {
        options.workers = 2;
        options.restartPolicy = WorkerInfo::NoRestart;
    }
    options.ipcUrl = qEnvironmentVariable("LIFE_IPC_URL");
    options.maxRestarts = envInt("LIFE_MAX_RESTARTS", options.maxRestarts);
    options.handshakeTimeoutMs = envInt("LIFE_HANDSHAKE_MS", options.handshakeTimeoutMs);
    options.maxPendingConnections = envInt("LIFE_MAX_PENDING", options.maxPendingConnections);
    options.restartWindowMs = envInt("LIFE_WINDOW_MS", options.restartWindowMs);

    // A hard backstop in the master only (alarms are not inherited by fork()).
    if (g_scenario != "execworker")
        ::alarm(unsigned(timeoutMs / 1000 + 10));

    const int rc = exec(argc, argv, options, [timeoutMs](Node &node) {
        if (node.isMaster()) {
            QTimer::singleShot(timeoutMs, &node, [] {
                say("TIMEOUT");
                QCoreApplication::exit(99);
            });
            node.handle(OpEcho, &node, onEchoPid);
            node.handle(OpSlow, &node, [](const Message &m) { g_slowQueue.push_back(m); });
            masterStart(node);
        } else if (g_scenario == "execworker") {
            execWorkerStart(node);
        } else {
            node.handle(OpEcho, &node, onEchoPid);
            node.handle(OpSlow, &node, [](const Message &m) { g_slowQueue.push_back(m); });
            workerStart(node);
        }
    });
    if (g_isMaster)
        say("END rc=%d", rc);
    return rc;
}
