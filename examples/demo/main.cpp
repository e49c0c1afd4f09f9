// SPDX-License-Identifier: MIT
//
// The Plexus demo: a master and 4 forked workers talk over encrypted IPC.
//   1. every worker calls the master, which streams its answer back in parts;
//   2. the master broadcasts to every process and counts the replies;
//   3. a worker broadcasts to all the others;
//   4. the master asks every worker for its status by op-code;
//   5. the master prints its traffic counters and quits, stopping the workers.
// Each step starts when the previous one has finished: the master chains them on
// Plexus::Reply::finished. Run it with --workers N for another number of workers.

#include <plexus/plexus.h>

#include <QtCore/QCoreApplication>

#include <cstdarg>
#include <cstdio>

namespace {

enum : quint32 { OpStatus = 1 };
constexpr int StreamParts = 3;

// Prints one line, prefixed with who prints it. Flushed at once: the processes share the
// terminal, and a worker's unflushed output would be lost when it is stopped.
void say(const char *format, ...)
{
    const Plexus::Node *node = Plexus::Node::instance();
    if (node->isMaster())
        std::printf("  master    %7lld | ", node->pid());
    else
        std::printf("  worker %d  %7lld | ", node->workerSlot(), node->pid());
    va_list args;
    va_start(args, format);
    std::vprintf(format, args);
    va_end(args);
    std::printf("\n");
    std::fflush(stdout);
}

void heading(const char *title)
{
    std::printf("\n%s\n", title);
    std::fflush(stdout);
}

// --- Step 1: worker -> master call, streamed reply ------------------------------------------

void streamReport(const Plexus::Message &request)   // on the master
{
    say("streams %d parts to worker %d", StreamParts, request.sender().slot());
    for (int part = 1; part <= StreamParts; ++part) {
        const QByteArray data = "part " + QByteArray::number(part) + " of "
                + QByteArray::number(StreamParts);
        Plexus::reply(request, {.data = data, .done = part == StreamParts});
    }
}

void callTheMaster(const Plexus::Message &request)   // on each worker
{
    say("calls the master");
    Plexus::Reply *reply = Plexus::call({.call = streamReport, .reply = true});
    QObject::connect(reply, &Plexus::Reply::replyReceived, reply, [](const Plexus::Message &m) {
        say("  received \"%.*s\"%s", int(m.length()), m.data().data(), m.isDone() ? " (final)" : "");
    });
    // Keeping a copy of the request keeps it open: the master's step ends when we reply.
    QObject::connect(reply, &Plexus::Reply::finished, reply, [request] {
        Plexus::reply(request, {.done = true});
    });
}

// --- Step 2 and 3: broadcasts -----------------------------------------------------------------

void applyConfig(const Plexus::Message &m)   // everywhere
{
    say("applies \"%.*s\"", int(m.length()), m.data().data());
}

void hear(const Plexus::Message &m)   // everywhere but the announcing worker
{
    say("heard \"%.*s\" from worker %d", int(m.length()), m.data().data(), m.sender().slot());
}

void announce(const Plexus::Message &request)   // on one worker
{
    say("broadcasts to the others (.others = true)");
    Plexus::Reply *reply = Plexus::local(
            {.call = hear, .others = true, .data = "hello from a worker", .reply = true});
    QObject::connect(reply, &Plexus::Reply::finished, reply, [request, reply] {
        say("%d of %d processes heard it", reply->finishedTargets(), reply->expectedReplies());
        Plexus::reply(request, {.done = true});
    });
}

// --- The master's script ----------------------------------------------------------------------

void finish(Plexus::Node &node)
{
    heading("5. Traffic of the master (Node::counters)");
    const Plexus::Node::Counters c = node.counters();
    say("messages in %llu, out %llu", c.messagesIn, c.messagesOut);
    say("bytes    in %llu, out %llu", c.bytesIn, c.bytesOut);
    say("rejected frames %llu, late replies %llu", c.rejectedFrames, c.lateReplies);
    say("done: stopping the workers");
    QCoreApplication::quit();
}

void askStatus(Plexus::Node &node)
{
    heading("4. The master calls op-code OpStatus on every worker");
    Plexus::Reply *reply = Plexus::local({.opcode = OpStatus, .others = true, .reply = true});
    QObject::connect(reply, &Plexus::Reply::replyReceived, reply, [](const Plexus::Message &m) {
        say("worker %d status: %.*s", m.sender().slot(), int(m.length()), m.data().data());
    });
    QObject::connect(reply, &Plexus::Reply::finished, &node, [&node] { finish(node); });
}

void workerBroadcast(Plexus::Node &node)
{
    heading("3. A worker broadcasts to all the other processes");
    // sendTo() reaches one process; its Reply finishes when that worker's broadcast has.
    const Plexus::WorkerInfo last = node.workers().constLast();
    Plexus::Reply *reply = Plexus::sendTo(Plexus::Sender(last.pid(), last.slot()),
                                          Plexus::newMessage({.call = announce, .reply = true}));
    QObject::connect(reply, &Plexus::Reply::finished, &node, [&node] { askStatus(node); });
}

void masterBroadcast(Plexus::Node &node)
{
    heading("2. The master broadcasts to every process, itself included");
    Plexus::Reply *reply = Plexus::local({.call = applyConfig, .data = "config v2", .reply = true});
    QObject::connect(reply, &Plexus::Reply::finished, &node, [&node, reply] {
        say("broadcast finished: %d replies expected, %d received, %s", reply->expectedReplies(),
            reply->receivedReplies(),
            reply->error() == Plexus::Reply::NoError ? "no error" : qPrintable(reply->errorString()));
        workerBroadcast(node);
    });
}

void workersCall(Plexus::Node &node)
{
    heading("1. Every worker calls the master, which streams its reply");
    // Only a worker can make its own call: the master asks all of them, and each answers
    // once its call is over, which tells the master when the step is done.
    Plexus::Reply *reply = Plexus::local({.call = callTheMaster, .others = true, .reply = true});
    QObject::connect(reply, &Plexus::Reply::finished, &node, [&node, reply] {
        say("%d workers got their stream", reply->finishedTargets());
        masterBroadcast(node);
    });
}

} // namespace

int main(int argc, char **argv)
{
    return Plexus::exec(argc, argv, {.workers = 4}, [](Plexus::Node &node) {
        if (node.isWorker()) {
            // An op-code, unlike a function pointer, also works across program images
            // (workers started with Node::spawn()).
            node.handle(OpStatus, &node, [&node](const Plexus::Message &request) {
                const Plexus::Node::Counters c = node.counters();
                const QByteArray status = QByteArray::number(c.messagesIn) + " messages in, "
                        + QByteArray::number(c.messagesOut) + " out";
                Plexus::reply(request, {.data = status, .done = true});
            });
            return;
        }
        std::printf("Plexus %s demo: one master, %d workers\n\n  %-10s%7s | %s\n",
                    Plexus::version(), int(node.workers().size()), "who", "pid", "what");
        say("started");
        QObject::connect(&node, &Plexus::Node::workerStarted, &node,
                         [](const Plexus::WorkerInfo &w) {
                             say("worker %d started, pid %lld", w.slot(), w.pid());
                         });
        QObject::connect(&node, &Plexus::Node::workersReady, &node, [&node] {
            say("all %d workers ready", int(node.workers().size()));
            if (node.workers().isEmpty())
                finish(node);
            else
                workersCall(node);
        });
    });
}
