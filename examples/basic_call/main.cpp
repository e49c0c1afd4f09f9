// SPDX-License-Identifier: MIT
//
// Basic worker-to-master call with a reply (facil.io's first fio_ipc example).
// Each of the 2 workers calls the master; the master answers "processed".
//
//   Master received: hello from worker
//   Worker received reply: processed
//   Request complete

#include <plexus/plexus.h>

#include <QtCore/QCoreApplication>

#include <cstdio>

namespace {

int finishedWorkers = 0;   // master only

// Runs on the master: a function pointer is valid in every process, which all share one
// program image.
void onMaster(const Plexus::Message &request)
{
    std::printf("Master received: %.*s\n", int(request.length()), request.data().data());
    std::fflush(stdout);
    Plexus::reply(request, {.data = "processed", .done = true});
}

void onWorkerFinished(const Plexus::Message &)
{
    // Quit once every worker has printed its reply; the master's shutdown then stops them.
    if (++finishedWorkers == Plexus::Node::instance()->workers().size())
        QCoreApplication::quit();
}

// Runs on the worker for every reply except the last one; this call gets a single reply,
// so it is only here to show the full set of callbacks.
void onReply(const Plexus::Message &reply)
{
    std::printf("Worker received reply: %.*s\n", int(reply.length()), reply.data().data());
    std::fflush(stdout);
}

// The last reply (done = true) goes to onDone only, with its data.
void onDone(const Plexus::Message &reply)
{
    if (reply.isError()) {
        std::printf("Request failed\n");
    } else {
        if (reply.length() > 0)
            onReply(reply);
        std::printf("Request complete\n");
    }
    std::fflush(stdout);
    Plexus::call({.call = onWorkerFinished});
}

} // namespace

int main(int argc, char **argv)
{
    return Plexus::exec(argc, argv, {.workers = 2}, [](Plexus::Node &node) {
        if (!node.isWorker())
            return;
        Plexus::call({.call = onMaster,
                      .onReply = onReply,
                      .onDone = onDone,
                      .data = "hello from worker"});
    });
}
