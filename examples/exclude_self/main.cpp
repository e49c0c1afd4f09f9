// SPDX-License-Identifier: MIT
//
// Excluding the sender from a local broadcast (facil.io's "Excluding Self" example).
// Once its 3 workers are connected, the master asks worker 0 to notify everyone else, which
// it does twice: with Plexus::local({.others = true}), then by authoring the message with
// Plexus::newMessage() and sending it with Plexus::send(). Every process except worker 0
// prints each notification.
//
//   worker 0 notifying the others
//   [master   pid 41230] Notification: method 1 (.others = true)
//   [worker 1 pid 41233] Notification: method 1 (.others = true)
//   [worker 2 pid 41234] Notification: method 1 (.others = true)
//   ... the same three for "method 2 (newMessage + send)"
//   All notified

#include <plexus/plexus.h>

#include <QtCore/QCoreApplication>

#include <cstdio>

namespace {

void notifyHandler(const Plexus::Message &message)
{
    const Plexus::Node *node = Plexus::Node::instance();
    if (node->isMaster())
        std::printf("[master   pid %lld]", node->pid());
    else
        std::printf("[worker %d pid %lld]", node->workerSlot(), node->pid());
    std::printf(" Notification: %.*s\n", int(message.length()), message.data().data());
    std::fflush(stdout);
}

void onAllNotified(const Plexus::Message &)
{
    std::printf("All notified\n");
    std::fflush(stdout);
    QCoreApplication::quit();
}

// onDone runs once, after every target of the broadcast has run the handler.
void onMethod2Done(const Plexus::Message &)
{
    Plexus::call({.call = onAllNotified});
}

// Method 2: author the message first, send it later (fio_ipc_new + fio_ipc_send). Where
// facil.io marks an authored message with FIO_IPC_EXCLUDE_SELF, Plexus takes .others up
// front.
void onMethod1Done(const Plexus::Message &)
{
    const Plexus::Message message = Plexus::newMessage({.call = notifyHandler,
                                                        .onDone = onMethod2Done,
                                                        .workers = true,
                                                        .others = true,
                                                        .data = "method 2 (newMessage + send)"});
    Plexus::send(message);
}

// Runs on worker 0. Method 1: a local broadcast that leaves the caller out.
void notifyOthers(const Plexus::Message &)
{
    std::printf("worker %d notifying the others\n", Plexus::Node::instance()->workerSlot());
    std::fflush(stdout);
    Plexus::local({.call = notifyHandler,
                   .onDone = onMethod1Done,
                   .others = true,
                   .data = "method 1 (.others = true)"});
}

} // namespace

int main(int argc, char **argv)
{
    return Plexus::exec(argc, argv, {.workers = 3}, [](Plexus::Node &node) {
        if (!node.isMaster())
            return;
        // A worker cannot know when its siblings are connected; the master can.
        QObject::connect(&node, &Plexus::Node::workersReady, &node, [&node] {
            if (node.workers().isEmpty()) {   // started with --workers 0
                QCoreApplication::quit();
                return;
            }
            const Plexus::WorkerInfo first = node.workers().constFirst();
            Plexus::sendTo(Plexus::Sender(first.pid(), first.slot()),
                           Plexus::newMessage({.call = notifyOthers}));
        });
    });
}
