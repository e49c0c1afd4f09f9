// SPDX-License-Identifier: MIT
//
// A one-file Plexus program built with nothing but `pkg-config --cflags --libs plexus`:
// one worker calls the master, prints the reply, and the program ends.

#include <plexus/plexus.h>

#include <QtCore/QCoreApplication>

#include <cstdio>

static void onMaster(const Plexus::Message &request)
{
    Plexus::reply(request, {.data = {"pong:", request.data()}, .done = true});
}

static void quitMaster(const Plexus::Message &)
{
    QCoreApplication::quit();
}

static void onDone(const Plexus::Message &reply)
{
    std::printf("reply %.*s error=%d\n", int(reply.length()), reply.data().data(),
                int(reply.isError()));
    std::fflush(stdout);
    Plexus::call({.call = quitMaster});
}

int main(int argc, char **argv)
{
    return Plexus::exec(argc, argv, {.workers = 1}, [](Plexus::Node &node) {
        if (node.isWorker())
            Plexus::call({.call = onMaster, .onDone = onDone, .data = "ping"});
    });
}
