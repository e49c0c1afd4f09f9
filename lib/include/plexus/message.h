// SPDX-License-Identifier: MIT
#pragma once

#include <plexus/plexusglobal.h>
#include <plexus/reply.h>

#include <QtCore/qbytearrayview.h>
#include <QtCore/qmetatype.h>
#include <QtCore/qobjectdefs.h>
#include <QtCore/qshareddata.h>

#include <functional>

QT_BEGIN_NAMESPACE
class QDebug;
QT_END_NAMESPACE

namespace Plexus {

class MessagePrivate;

/*!
    \class Plexus::Sender
    Which process a message came from: the machine (a random id drawn by each master when
    it starts, shared by its workers), its pid and its worker slot (-1 for a master). A
    machine id of 0 means "this machine".

    \code
    if (message.sender().isLocalMachine())
        qDebug() << "from worker" << message.sender().slot();
    \endcode
*/
class PLEXUS_EXPORT Sender
{
    Q_GADGET
    Q_PROPERTY(quint64 machineId READ machineId)
    Q_PROPERTY(qint64 pid READ pid)
    Q_PROPERTY(int slot READ slot)
    Q_PROPERTY(bool isLocalProcess READ isLocalProcess)
public:
    /*! No process: pid 0, slot -1, this machine. */
    Sender() noexcept = default;
    /*! The process \a pid with worker slot \a slot (-1: the master) on this machine. */
    Sender(qint64 pid, int slot) noexcept : m_pid(pid), m_slot(slot) { }
    /*! The process \a pid with worker slot \a slot on machine \a machineId; pid 0 with
        slot -1 names the master of that machine (Plexus::sendTo()). */
    Sender(quint64 machineId, qint64 pid, int slot) noexcept
        : m_machine(machineId), m_pid(pid), m_slot(slot) { }
    /*! The machine id; 0 means this machine. */
    quint64 machineId() const noexcept { return m_machine; }
    /*! The process id on its machine. */
    qint64 pid() const noexcept { return m_pid; }
    /*! The worker slot, 0..N-1 for forked workers, N.. for spawned ones; -1 for a master. */
    int slot() const noexcept { return m_slot; }
    /*! True if the process is a master (slot -1). */
    bool isMaster() const noexcept { return m_slot < 0; }
    /*! True if the message came from this process. */
    bool isLocalProcess() const noexcept;
    /*! True if the message came from a process of this machine. */
    bool isLocalMachine() const noexcept;

    /*! True if both name the same process: the same pid and slot on the same machine,
        where a machine id of 0 means this machine (so Sender(pid, slot) matches a message
        of this machine's process pid, whichever way its machine was written). */
    bool matches(const Sender &other) const noexcept;

    /*! Field by field: the same machine id (0 is only equal to 0), pid and slot. Use
        matches() to compare processes. */
    friend bool operator==(const Sender &a, const Sender &b) noexcept
    {
        return a.m_machine == b.m_machine && a.m_pid == b.m_pid && a.m_slot == b.m_slot;
    }

private:
    quint64 m_machine = 0;
    qint64 m_pid = 0;
    int m_slot = -1;
};

/*!
    \class Plexus::Message
    An IPC message: an implicitly shared, reference-counted value (facil.io's fio_ipc_s).

    Copying a Message shares it (fio_ipc_dup); destroying the last copy frees it
    (fio_ipc_free) and runs the onLastRelease() callback once. The payload returned by
    data() stays valid while any copy lives.

    A Message received by a handler is linked to the connection it came on, so that
    Plexus::reply() can answer it. A handler that wants to answer later keeps a copy; one that
    does not need to answer can detach() it. When replies were asked for and the last copy of
    a request is released before a final reply was sent, Plexus sends an empty final reply,
    so no caller waits forever.

    \code
    void onMaster(const Plexus::Message &request)
    {
        qDebug() << "got" << request.data() << "from" << request.sender().pid();
        Plexus::reply(request, {.data = "processed", .done = true});
    }
    \endcode
*/
class PLEXUS_EXPORT Message
{
    Q_GADGET
    Q_PROPERTY(qsizetype length READ length)
    Q_PROPERTY(quint16 flags READ flags)
    Q_PROPERTY(quint64 timestamp READ timestamp)
    Q_PROPERTY(quint64 id READ id)
    Q_PROPERTY(quint32 opcode READ opcode)
    Q_PROPERTY(bool isReply READ isReply)
    Q_PROPERTY(bool isDone READ isDone)
public:
    /*! A null message (isNull()). */
    Message() noexcept;
    /*! Shares \a other (fio_ipc_dup): no bytes are copied. */
    Message(const Message &other) noexcept;
    /*! Takes over \a other, which becomes null. */
    Message(Message &&other) noexcept;
    /*! Shares \a other; releases what this message held. */
    Message &operator=(const Message &other) noexcept;
    /*! Takes over \a other. */
    Message &operator=(Message &&other) noexcept;
    /*! Releases this copy; the last one frees the message (fio_ipc_free). */
    ~Message();

    /*! Swaps this message with \a other; never fails. */
    void swap(Message &other) noexcept { d.swap(other.d); }

    /*! True for a default-constructed Message, or one whose creation failed. */
    bool isNull() const noexcept { return !d; }

    /*! Number of payload bytes. */
    qsizetype length() const noexcept;
    /*! The payload; valid while any copy of this Message lives. */
    QByteArrayView data() const noexcept;
    /*! User flags, preserved through the call/reply cycle. */
    quint16 flags() const noexcept;
    /*! Milliseconds since the epoch when the message was authored (or as overridden). */
    quint64 timestamp() const noexcept;
    /*! 64-bit message id; replies carry their request's id unless overridden. */
    quint64 id() const noexcept;
    /*! The op-code, or 0 when the message targets a function pointer. */
    quint32 opcode() const noexcept;
    /*! The function the message runs on its target, or nullptr for op-code messages. */
    Handler call() const noexcept;
    /*! Opaque pointer: the caller's udata on replies, the op-code's udata on requests. */
    void *udata() const noexcept;
    /*! True for replies. */
    bool isReply() const noexcept;
    /*! True for the final reply of one target. */
    bool isDone() const noexcept;
    /*! True if the reply reports an error (target gone, unknown op-code, ...). */
    bool isError() const noexcept;
    /*! The error an error reply reports (Reply::TargetLostError, UnknownOpcodeError, ...),
        so that onDone can tell failures apart; Reply::NoError for other messages. */
    Reply::Error error() const noexcept;
    /*! True if the caller asked for replies to this request. */
    bool wantsReply() const noexcept;
    /*!
        True once the caller of this request no longer waits for it: it aborted the call,
        the call timed out, or the caller went away. A handler that works for long, or
        streams replies, checks it and stops; reply() to a cancelled request returns false
        and sends nothing. Always false for messages that are not requests wanting replies.

        \code
        void onMaster(const Plexus::Message &request)
        {
            for (const QByteArray &row : rows) {
                if (request.isCanceled() || !Plexus::reply(request, {.data = {row}}))
                    return;   // nobody listens any more
            }
            Plexus::reply(request, {.done = true});
        }
        \endcode
    */
    bool isCanceled() const noexcept;
    /*! The process that authored this message. */
    Sender sender() const noexcept;

    /*!
        Drops the link to the connection this message arrived on. After this the message
        cannot be replied to, and keeping it does not keep a reply outstanding.
    */
    void detach() noexcept;

    /*!
        Runs \a callback once, when the last copy of this message is released
        (fio_ipc_after_send). A second call replaces the callback.
    */
    void onLastRelease(std::function<void()> callback);

private:
    friend class MessagePrivate;
    explicit Message(MessagePrivate *dd) noexcept;
    QExplicitlySharedDataPointer<MessagePrivate> d;
};

/*! Writes the header of \a message (id, op-code, flags, sender, length) to \a debug;
    never its payload. */
PLEXUS_EXPORT QDebug operator<<(QDebug debug, const Message &message);
/*! Writes \a sender (machine, pid, slot) to \a debug. */
PLEXUS_EXPORT QDebug operator<<(QDebug debug, const Sender &sender);

} // namespace Plexus

Q_DECLARE_SHARED(Plexus::Message)
Q_DECLARE_METATYPE(Plexus::Message)
Q_DECLARE_METATYPE(Plexus::Sender)
