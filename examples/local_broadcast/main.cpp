// SPDX-License-Identifier: MIT
//
// Local broadcast to the master and all its workers (facil.io's fio_ipc_local example).
// Once the 4 workers are connected, the master sends "config_update" to every process of
// this machine, itself included; each prints its pid and the data.
//
//   Process 41230 received: config_update        (5 times: master + 4 workers)
//   Broadcast finished: 5 of 5 processes handled it

#include <plexus/plexus.h>

#include <QtCore/QCoreApplication>

#include <cstdio>

namespace {

void onLocal(const Plexus::Message &message)
{
    std::printf("Process %lld received: %.*s\n", Plexus::Node::instance()->pid(),
                int(message.length()), message.data().data());
    std::fflush(stdout);
}

} // namespace

int main(int argc, char **argv)
{
    return Plexus::exec(argc, argv, {.workers = 4}, [](Plexus::Node &node) {
        if (!node.isMaster())
            return;
        // facil.io waits 100 ms and hopes the workers are connected; workersReady says so.
        QObject::connect(&node, &Plexus::Node::workersReady, &node, [] {
            // Asking for a Reply is how the master learns that every process has run the
            // handler; without it the broadcast is fire-and-forget and costs no reply traffic.
            Plexus::Reply *reply = Plexus::local({.call = onLocal,
                                                  .data = "config_update",
                                                  .reply = true});
            QObject::connect(reply, &Plexus::Reply::finished, reply, [reply] {
                std::printf("Broadcast finished: %d of %d processes handled it%s\n",
                            reply->finishedTargets(), reply->expectedReplies(),
                            reply->error() == Plexus::Reply::NoError ? "" : " (with errors)");
                std::fflush(stdout);
                QCoreApplication::quit();
            });
        });
    });
}
