// SPDX-License-Identifier: MIT
//
// One message from several buffers (facil.io's FIO_IPC_DATA example). Each of the 2 workers
// sends a binary header followed by a text payload, without building a combined buffer;
// the master splits them again.
//
//   Worker 0 sent 23 bytes                            (from each worker)
//   Type: 1, Seq: 42, Payload: message payload        (Seq 42 from worker 0, 43 from 1)

#include <plexus/plexus.h>

#include <QtCore/QCoreApplication>

#include <cstdio>
#include <cstring>

namespace {

struct Header
{
    quint32 type;
    quint32 sequence;
};

int receivedMessages = 0;   // master only

void onMaster(const Plexus::Message &message)
{
    if (size_t(message.length()) >= sizeof(Header)) {
        // The payload has no alignment guarantee for Header: copy it out.
        Header header;
        std::memcpy(&header, message.data().data(), sizeof header);
        const QByteArrayView payload = message.data().sliced(qsizetype(sizeof header));
        std::printf("Type: %u, Seq: %u, Payload: %.*s\n", header.type, header.sequence,
                    int(payload.size()), payload.data());
        std::fflush(stdout);
    }
    if (++receivedMessages == Plexus::Node::instance()->workers().size())
        QCoreApplication::quit();
}

} // namespace

int main(int argc, char **argv)
{
    return Plexus::exec(argc, argv, {.workers = 2}, [](Plexus::Node &node) {
        if (!node.isWorker())
            return;
        const Header header{.type = 1, .sequence = quint32(42 + node.workerSlot())};
        const char *text = "message payload";
        const Plexus::Payload data{Plexus::bytes(&header, sizeof header), text};
        std::printf("Worker %d sent %lld bytes\n", node.workerSlot(), qlonglong(data.size()));
        std::fflush(stdout);
        // Both pieces are copied into the message before call() returns, so the header may
        // live on the stack.
        Plexus::call({.call = onMaster, .data = data});
    });
}
