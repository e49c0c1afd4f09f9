// SPDX-License-Identifier: MIT
//
// QDebug output of the public message types. Here, not in wire/, because it names a
// Reply::Error by its key, which needs Reply's meta-object.
#include <plexus/message.h>

#include <QtCore/qdebug.h>

namespace Plexus {

QDebug operator<<(QDebug debug, const Sender &sender)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "Plexus::Sender(machine=" << Qt::hex << sender.machineId() << Qt::dec
                    << ", pid=" << sender.pid() << ", slot=" << sender.slot() << ')';
    return debug;
}

QDebug operator<<(QDebug debug, const Message &message)
{
    QDebugStateSaver saver(debug);
    debug.nospace();
    if (message.isNull())
        return debug << "Plexus::Message()";
    debug << "Plexus::Message(id=" << Qt::hex << message.id() << Qt::dec
          << ", length=" << message.length();
    if (message.opcode())
        debug << ", opcode=" << message.opcode();
    if (message.flags())
        debug << ", flags=" << Qt::hex << message.flags() << Qt::dec;
    if (message.isReply())
        debug << (message.isDone() ? ", final reply" : ", reply");
    if (message.isError())
        debug << ", error=" << message.error();
    debug << ", from=" << message.sender().pid() << ')';
    return debug;
}

} // namespace Plexus
