// SPDX-License-Identifier: MIT
//
// A streaming reply (facil.io's streaming replies example). Each of the 2 workers asks the
// master for a stream; the master answers with five replies, the last one marked done.
//
//   Master streaming to worker 0
//   Worker 0 received chunk: chunk_1        ... chunk_5, in order
//   Worker 0: Stream complete

#include <plexus/plexus.h>

#include <QtCore/QCoreApplication>

#include <cstdio>

namespace {

constexpr int ChunkCount = 5;
int finishedWorkers = 0;   // master only

void streamHandler(const Plexus::Message &request)
{
    std::printf("Master streaming to worker %d\n", request.sender().slot());
    std::fflush(stdout);
    for (int i = 1; i <= ChunkCount; ++i) {
        char chunk[16];
        const int length = std::snprintf(chunk, sizeof chunk, "chunk_%d", i);
        // Replies leave in order on one link, so the worker sees them in order too.
        Plexus::reply(request, {.data = Plexus::bytes(chunk, length), .done = i == ChunkCount});
    }
}

void onStreamConsumed(const Plexus::Message &)
{
    if (++finishedWorkers == Plexus::Node::instance()->workers().size())
        QCoreApplication::quit();
}

void onChunk(const Plexus::Message &reply)
{
    std::printf("Worker %d received chunk: %.*s\n", Plexus::Node::instance()->workerSlot(),
                int(reply.length()), reply.data().data());
    std::fflush(stdout);
}

// The final reply carries the last chunk and runs onDone instead of onChunk.
void onStreamDone(const Plexus::Message &reply)
{
    if (!reply.isError() && reply.length() > 0)
        onChunk(reply);
    std::printf("Worker %d: Stream %s\n", Plexus::Node::instance()->workerSlot(),
                reply.isError() ? "failed" : "complete");
    std::fflush(stdout);
    // Tell the master this worker is done, so it knows when to quit.
    Plexus::call({.call = onStreamConsumed});
}

} // namespace

int main(int argc, char **argv)
{
    return Plexus::exec(argc, argv, {.workers = 2}, [](Plexus::Node &node) {
        if (!node.isWorker())
            return;
        Plexus::call({.call = streamHandler,
                      .onReply = onChunk,
                      .onDone = onStreamDone,
                      .data = "start_stream"});
    });
}
