// SPDX-License-Identifier: MIT
#pragma once

#include <plexus/plexusglobal.h>

#include <QtCore/qobject.h>

#include <chrono>

Q_MOC_INCLUDE(<plexus/message.h>)

namespace Plexus {

class Message;
class ReplyPrivate;

/*!
    \class Plexus::Reply
    Signal-based handling of the replies to one call (like QNetworkReply).

    Returned by the call functions when CallArgs::reply is true. replyReceived() is emitted
    for every reply, the final one of each target included; finished() is emitted exactly
    once, after every target has sent its final reply or failed, and never from inside the
    call that created the Reply. A call to several targets (Plexus::local()) finishes when
    all of them have.

    Ownership: the Reply belongs to Plexus and deletes itself after finished(), as
    deleteLater() would (never before control has returned to its thread's event loop;
    Plexus may do it then, also from inside a later call made in that thread), unless
    setAutoDelete(false) was called, in which case the caller deletes it.

    Threads: the Reply lives in the thread that made the call and emits its signals there,
    as a QNetworkReply does; it is safe to connect to until that thread's event loop runs
    again. A thread that runs no event loop (a QThreadPool task, a std::thread) receives
    the signals only while it waits in waitForFinished(); Plexus warns when a Reply is
    made in such a thread (once per thread). Prefer the onReply/onDone callbacks there.

    \code
    auto *reply = Plexus::call({.call = onMaster, .data = {"work"}, .reply = true});
    connect(reply, &Plexus::Reply::replyReceived, this, [](const Plexus::Message &m) {
        qDebug() << m.data();
    });
    connect(reply, &Plexus::Reply::finished, this, [reply] {
        if (reply->error() != Plexus::Reply::NoError)
            qWarning() << reply->errorString();
    });
    \endcode
*/
class PLEXUS_EXPORT Reply : public QObject
{
    Q_OBJECT
public:
    /*! Why a call failed, grouped by hundreds: the call itself, a target, the caller. */
    enum Error {
        /*! The call succeeded. */
        NoError = 0,
        // Errors of the call itself (1xx)
        InvalidArgumentsError = 101,   //!< no call nor op-code, cluster without op-code, ...
        MessageTooLongError = 102,     //!< payload above maxMessageLength()
        NotRunningError = 103,         //!< no Node, or its IPC is not connected
        TooManyPiecesError = 104,      //!< a Payload of more than Payload::MaxPieces ranges
        NotInClusterError = 105,       //!< cluster()/broadcast() before the Node joined a cluster
        // Errors of a target (2xx)
        TargetLostError = 201,         //!< the target process or its link went away
        UnknownOpcodeError = 202,      //!< the target has no handler for the op-code
        RemoteError = 203,             //!< the target reported another failure
        // Errors of the caller (3xx)
        TimeoutError = 301,            //!< the timeout passed before every target finished
        OperationCanceledError = 302,  //!< abort() was called
        BackpressureError = 303,       //!< the link's send queue is above its limit
    };
    Q_ENUM(Error)

    ~Reply() override;

    /*! True once finished() was emitted (or is about to be, from the event loop). */
    bool isFinished() const;
    /*! The call's error: its own, or the first target's that failed; NoError if none. */
    Error error() const;
    /*! A readable description of error(). */
    QString errorString() const;

    /*! Number of targets (processes) whose final reply is awaited; for a worker's
        local() it becomes known with the first reply relayed by the master. */
    int expectedReplies() const;
    /*! Number of replies received so far, streamed and final ones (so it can exceed
        expectedReplies()). */
    int receivedReplies() const;
    /*! Number of targets that have finished so far. */
    int finishedTargets() const;
    /*! The caller's udata from CallArgs. */
    void *udata() const;

    /*! Ends the call with OperationCanceledError; later replies are dropped. */
    void abort();
    /*! Ends the call with TimeoutError \a msec from now unless finished by then; 0 = never. */
    void setTimeout(int msec);
    /*! \overload */
    void setTimeout(std::chrono::milliseconds timeout) { setTimeout(int(timeout.count())); }
    /*! The timeout in milliseconds (CallArgs::timeout or setTimeout()); 0 = none. */
    int timeout() const;

    /*! True (the default) if the Reply deletes itself after finished(). */
    bool autoDelete() const;
    /*! With \a autoDelete false, the caller deletes the Reply (it may do so at any time;
        the call is then aborted). */
    void setAutoDelete(bool autoDelete);

    /*!
        Blocks until the Reply finished or \a timeoutMs passed (default 30 s, as Qt's own
        blocking waits; -1: no limit), delivering its signals meanwhile; true if it
        finished, false on timeout (the call goes on). Meant for threads without an event
        loop; in the Node's own thread it runs a nested event loop. An auto-deleting Reply
        stays valid until the thread's event loop runs again (or the thread ends).
    */
    bool waitForFinished(int timeoutMs = 30000);
    /*! \overload */
    bool waitForFinished(std::chrono::milliseconds timeout) { return waitForFinished(int(timeout.count())); }

Q_SIGNALS:
    /*! A reply arrived: \a message is one streamed reply or a target's final one
        (Message::isDone()). Error replies of lost targets come here too (Message::isError()). */
    void replyReceived(const Plexus::Message &message, QPrivateSignal);
    /*! The call failed with \a error; emitted before finished(). */
    void errorOccurred(Plexus::Reply::Error error, QPrivateSignal);
    /*! Every target has finished or failed; emitted exactly once. */
    void finished(QPrivateSignal);

public:
    /*! A Reply and its private state are one allocation: \c delete frees both. */
    static void operator delete(void *p) noexcept;

private:
    friend class ReplyPrivate;
    explicit Reply(ReplyPrivate &dd);
    Q_DECLARE_PRIVATE(Reply)
    ReplyPrivate *const d_ptr;   // right after the Reply, in the same allocation
};

} // namespace Plexus
