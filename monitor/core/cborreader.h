// SPDX-License-Identifier: MIT
#pragma once

// Internal to the decoders (snapshotdecoder.cpp): a CBOR stream reader for untrusted
// input, with the budgets of DecodeLimits (list entries in all, sample data in all,
// nesting) and typed reads that fail with an error text. Qt Core only.

#include "snapshotdecoder.h"

#include <QtCore/qbytearray.h>
#include <QtCore/qcborstreamreader.h>
#include <QtCore/qstring.h>

namespace PlexusMonitor::Internal {

/*!
    Reads one answer. The answers are read with QCborStreamReader rather than
    QCborValue::fromCbor(): machine ids and counters are unsigned 64-bit integers, which
    QCborValue cannot hold above 2^63 (it turns them into doubles), and a stream reader
    lets every length be checked before anything is allocated.

    Every read\e{Type}() consumes the value at the reader's position or fails (returns
    false with error() set; the first error is kept). The input must outlive the reader.
*/
class CborReader
{
public:
    explicit CborReader(QByteArrayView bytes);

    QString error() const { return m_error; }

    /*! Fails unless the input is one map whose "v" is EncodingVersion. Reads a copy of
        the stream, so that the version is known before any other key is interpreted: a
        later version may change what a key holds, and must be reported as such. */
    bool checkVersion();

    /*! Runs \a body once per key of the map at the reader's position, positioned on the
        value; \a body consumes the value (or returns false). */
    template <typename Body>
    bool forEachKey(const char *what, Body &&body)
    {
        if (!m_reader.isMap())
            return fail(QString::fromLatin1(what) + QLatin1StringView(" is not a map"));
        if (!m_reader.enterContainer())
            return readError();
        while (m_reader.hasNext()) {
            QString key;
            if (!readKey(&key))
                return false;
            if (!body(QStringView(key)))
                return false;
        }
        return leave();
    }

    /*! Runs \a body once per element of the array at the reader's position, at most
        \a limit times (more is an error), within the answer's MaxEntries in all. */
    template <typename Body>
    bool forEachElement(QStringView what, int limit, Body &&body)
    {
        if (!enterArray(what, limit))
            return false;
        int count = 0;
        while (m_reader.hasNext()) {
            if (!countEntry(what, ++count, limit))
                return false;
            if (!body())
                return false;
        }
        return leave();
    }

    /*! Unsigned 64-bit fields (ids, counters) are also accepted as negative integers and
        read back as the same 64 bits: an encoder that goes through QCborValue, which
        holds qint64, writes values above 2^63 that way. */
    bool readUInt(QStringView key, quint64 *out);
    bool readUInt32(QStringView key, quint32 *out);
    bool readUInt16(QStringView key, quint16 *out);
    bool readInt(QStringView key, qint64 *out);
    bool readInt32(QStringView key, int *out);
    bool readMachine(QStringView key, quint64 *out) { return readUInt(key, out); }
    bool readBool(QStringView key, bool *out);
    bool readDouble(QStringView key, double *out);
    /*! A text string of at most \a maxBytes (UTF-8). */
    bool readText(QStringView key, QString *out, qsizetype maxBytes);
    /*! A byte string of at most \a maxBytes, within the answer's MaxTotalDataBytes. */
    bool readBytes(QStringView key, QByteArray *out, qsizetype maxBytes);
    /*! Skips the value, nested at most MaxDepth levels. */
    bool skip();
    /*! Fails if anything but the end of the input follows. */
    bool atEnd();
    /*! Records \a why (unless an error is recorded already) and returns false. */
    bool fail(const QString &why);

private:
    bool readKey(QString *key);
    bool enterArray(QStringView what, int limit);
    bool countEntry(QStringView what, int count, int limit);
    bool leave();
    bool advance();
    bool typeError(QStringView key, QStringView expected);
    bool readError();

    QByteArray m_bytes;
    QCborStreamReader m_reader;
    QString m_error;
    int m_entries = 0;
    qsizetype m_dataBudget = DecodeLimits::MaxTotalDataBytes;
};

} // namespace PlexusMonitor::Internal
