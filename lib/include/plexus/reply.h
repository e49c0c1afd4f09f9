// SPDX-License-Identifier: MIT
#pragma once

#include <plexus/message.h>

#include <QtCore/qobject.h>

#include <memory>

namespace Plexus {

class ReplyPrivate;
class Router;

/*!
    \class Plexus::Reply
    Signal-based handling of the replies to one call (like QNetworkReply).

    Returned by the call functions when CallArgs::reply is true. replyReceived() is emitted
    for every reply, the final one of each target included; finished() is emitted exactly
    once, after every target has sent its final reply or failed, and never from inside the
    call that created the Reply. A call to several targets (Plexus::local()) finishes when
    all of them have.

    Ownership: the Reply belongs to Plexus and deletes itself (deleteLater()) after
    finished(), unless setAutoDelete(false) was called, in which case the caller deletes it.
    It lives in the thread of the Node, whatever thread made the call.

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
    enum Error {
        NoError = 0,
        // Errors of the call itself (1xx)
        InvalidArgumentsError = 101,   //!< no call nor op-code, cluster without op-code, ...
        MessageTooLongError = 102,     //!< payload above maxMessageLength()
        NotRunningError = 103,         //!< no Node, or its IPC is not connected
        // Errors of a target (2xx)
        TargetLostError = 201,         //!< the target process or its link went away
        UnknownOpcodeError = 202,      //!< the target has no handler for the op-code
        RemoteError = 203,             //!< the target reported another failure
        // Errors of the caller (3xx)
        TimeoutError = 301,
        OperationCanceledError = 302,  //!< abort() was called
        BackpressureError = 303,       //!< the link's send queue is above its limit
    };
    Q_ENUM(Error)

    ~Reply() override;

    bool isFinished() const;
    Error error() const;
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
    int timeout() const;

    bool autoDelete() const;
    void setAutoDelete(bool autoDelete);

Q_SIGNALS:
    void replyReceived(const Plexus::Message &message);
    void errorOccurred(Plexus::Reply::Error error);
    void finished();

private:
    friend class Router;
    friend class ReplyPrivate;
    explicit Reply(QObject *parent = nullptr);
    Q_DECLARE_PRIVATE(Reply)
    std::unique_ptr<ReplyPrivate> const d_ptr;
};

} // namespace Plexus
