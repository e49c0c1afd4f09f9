// SPDX-License-Identifier: MIT
#pragma once

#include <plexus/plexusglobal.h>

#include <QtCore/qbytearray.h>
#include <QtCore/qbytearrayview.h>

#include <initializer_list>

namespace Plexus {

/*!
    A byte range for a Payload: \a data and \a length, without copying (FIO_BUF_INFO2).
*/
inline QByteArrayView bytes(const void *data, qsizetype length) noexcept
{
    return QByteArrayView(static_cast<const char *>(data), length);
}

/*!
    \class Plexus::Payload
    One or more byte ranges that become the data of a message, concatenated directly into
    the message buffer without an intermediate copy (FIO_IPC_DATA).

    A Payload only refers to its ranges. The bytes are copied synchronously by the call that
    takes the payload, so the sources may be freed as soon as that call returns:

    \code
    Header header{1, 42};
    Plexus::call({.call = onMaster,
                  .data = {Plexus::bytes(&header, sizeof header), "payload", someByteArray}});
    \endcode

    A Payload holds at most MaxPieces ranges; build a QByteArray for more.
*/
class PLEXUS_EXPORT Payload
{
public:
    /*! The largest number of ranges a Payload holds. */
    static constexpr int MaxPieces = 8;

    /*! An empty payload. */
    Payload() noexcept = default;
    /*! One range, \a piece; its bytes must live until the call that takes it returns. */
    Payload(QByteArrayView piece) noexcept { append(piece); }
    /*! The bytes of \a piece (not a copy of the QByteArray: it must outlive the call). */
    Payload(const QByteArray &piece) noexcept { append(QByteArrayView(piece)); }
    /*! A NUL-terminated \a string, without its terminator (a literal: \c {"text"}). */
    Payload(const char *string) noexcept { append(QByteArrayView(string)); }
    /*! Several ranges, concatenated in order: \c {{header, "text", array}}. */
    Payload(std::initializer_list<QByteArrayView> pieces) noexcept;

    /*! Total number of bytes over all ranges. */
    qsizetype size() const noexcept { return m_size; }
    /*! True when the payload has no bytes (it may still have empty ranges). */
    bool isEmpty() const noexcept { return m_size == 0; }
    /*! The number of ranges, at most MaxPieces. */
    int pieceCount() const noexcept { return m_count; }
    /*! Range \a i, 0 <= i < pieceCount(). */
    QByteArrayView piece(int i) const noexcept { return m_pieces[i]; }

    /*! Copies every range, in order, to \a destination, which holds at least size() bytes. */
    void copyTo(char *destination) const noexcept;
    /*! The concatenation as one QByteArray (a copy; for tests and convenience). */
    QByteArray toByteArray() const;

private:
    void append(QByteArrayView piece) noexcept;

    QByteArrayView m_pieces[MaxPieces];
    qsizetype m_size = 0;
    int m_count = 0;
    bool m_overflow = false;

public:
    /*! True if more than MaxPieces ranges were given; such a payload is refused. */
    bool hasOverflowed() const noexcept { return m_overflow; }
};

} // namespace Plexus
