// SPDX-License-Identifier: MIT
#include "cborreader.h"

#include <limits>

using namespace Qt::StringLiterals;

namespace PlexusMonitor::Internal {

namespace {
constexpr qsizetype MaxKeyBytes = 64;   // while looking for "v"
} // namespace

CborReader::CborReader(QByteArrayView bytes)
    : m_bytes(QByteArray::fromRawData(bytes.data(), bytes.size())), m_reader(m_bytes)
{ }

bool CborReader::checkVersion()
{
    QCborStreamReader r(m_bytes);
    if (!r.isMap() || !r.enterContainer())
        return fail(u"not a CBOR map"_s);
    qint64 version = -1;
    bool seen = false;
    while (r.hasNext()) {
        if (!r.isString())
            return fail(u"a key is not a text string"_s);
        // Keys are read whole, whatever their chunks; a long one is not "v".
        QString key;
        bool tooLong = false;
        auto chunk = r.readString();
        while (chunk.status == QCborStreamReader::Ok) {
            if (key.size() + chunk.data.size() > MaxKeyBytes)
                tooLong = true;
            else
                key += chunk.data;
            chunk = r.readString();
        }
        if (chunk.status != QCborStreamReader::EndOfString)
            break;
        if (!tooLong && key == u"v"_s) {
            if (!r.isUnsignedInteger())
                return fail(u"\"v\" is not an unsigned integer"_s);
            version = qint64(qMin<quint64>(r.toUnsignedInteger(), quint64(INT64_MAX)));
            seen = true;
        }
        if (!r.next(DecodeLimits::MaxDepth))
            break;
    }
    if (r.lastError() != QCborError::NoError)
        return fail(u"malformed CBOR: "_s + r.lastError().toString());
    if (!seen)
        return fail(u"no encoding version (\"v\")"_s);
    if (version != 1)
        return fail(u"encoding version %1, this monitor reads version 1"_s.arg(version));
    return true;
}

bool CborReader::enterArray(QStringView what, int limit)
{
    if (!m_reader.isArray())
        return fail(what.toString() + u" is not an array"_s);
    if (m_reader.isLengthKnown() && m_reader.length() > quint64(limit))
        return fail(what.toString() + u": more than %1 entries"_s.arg(limit));
    if (!m_reader.enterContainer())
        return readError();
    return true;
}

bool CborReader::countEntry(QStringView what, int count, int limit)
{
    if (count > limit)
        return fail(what.toString() + u": more than %1 entries"_s.arg(limit));
    if (++m_entries > DecodeLimits::MaxEntries)
        return fail(u"more than %1 list entries in all"_s.arg(DecodeLimits::MaxEntries));
    return true;
}

bool CborReader::leave()
{
    if (m_reader.lastError() != QCborError::NoError)
        return readError();
    if (!m_reader.leaveContainer())
        return readError();
    return true;
}

bool CborReader::readUInt(QStringView key, quint64 *out)
{
    if (m_reader.isNegativeInteger()) {
        qint64 v = 0;
        if (!readInt(key, &v))
            return false;
        *out = quint64(v);
        return true;
    }
    if (!m_reader.isUnsignedInteger())
        return typeError(key, u"an unsigned integer");
    *out = m_reader.toUnsignedInteger();
    return advance();
}

bool CborReader::readUInt32(QStringView key, quint32 *out)
{
    quint64 v = 0;
    if (!readUInt(key, &v))
        return false;
    if (v > std::numeric_limits<quint32>::max())
        return fail(key.toString() + u": above 32 bits"_s);
    *out = quint32(v);
    return true;
}

bool CborReader::readUInt16(QStringView key, quint16 *out)
{
    quint64 v = 0;
    if (!readUInt(key, &v))
        return false;
    if (v > std::numeric_limits<quint16>::max())
        return fail(key.toString() + u": above 65535"_s);
    *out = quint16(v);
    return true;
}

bool CborReader::readInt(QStringView key, qint64 *out)
{
    if (m_reader.isUnsignedInteger()) {
        const quint64 v = m_reader.toUnsignedInteger();
        if (v > quint64(std::numeric_limits<qint64>::max()))
            return fail(key.toString() + u": out of the signed 64-bit range"_s);
        *out = qint64(v);
    } else if (m_reader.isNegativeInteger()) {
        // The value is -magnitude; a magnitude of 0 stands for -2^64.
        const quint64 magnitude = quint64(m_reader.toNegativeInteger());
        if (magnitude == 0 || magnitude > quint64(1) << 63)
            return fail(key.toString() + u": out of the signed 64-bit range"_s);
        *out = qint64(quint64(0) - magnitude);
    } else {
        return typeError(key, u"an integer");
    }
    return advance();
}

bool CborReader::readInt32(QStringView key, int *out)
{
    qint64 v = 0;
    if (!readInt(key, &v))
        return false;
    if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
        return fail(key.toString() + u": out of the 32-bit range"_s);
    *out = int(v);
    return true;
}

bool CborReader::readBool(QStringView key, bool *out)
{
    if (!m_reader.isBool())
        return typeError(key, u"a boolean");
    *out = m_reader.toBool();
    return advance();
}

bool CborReader::readDouble(QStringView key, double *out)
{
    if (m_reader.isDouble())
        *out = m_reader.toDouble();
    else if (m_reader.isFloat())
        *out = double(m_reader.toFloat());
    else if (m_reader.isFloat16())
        *out = double(float(m_reader.toFloat16()));
    else if (m_reader.isUnsignedInteger())
        *out = double(m_reader.toUnsignedInteger());
    else if (m_reader.isNegativeInteger())
        *out = -double(quint64(m_reader.toNegativeInteger()));
    else
        return typeError(key, u"a number");
    return advance();
}

bool CborReader::readText(QStringView key, QString *out, qsizetype maxBytes)
{
    if (!m_reader.isString())
        return typeError(key, u"a text string");
    out->clear();
    qsizetype total = 0;
    for (;;) {
        const qsizetype chunk = m_reader.currentStringChunkSize();
        if (chunk > maxBytes - total)
            return fail(key.toString() + u": longer than %1 bytes"_s.arg(maxBytes));
        const auto r = m_reader.readString();
        if (r.status == QCborStreamReader::EndOfString)
            return true;
        if (r.status != QCborStreamReader::Ok)
            return readError();
        total += chunk < 0 ? 0 : chunk;
        out->append(r.data);
    }
}

bool CborReader::readBytes(QStringView key, QByteArray *out, qsizetype maxBytes)
{
    if (!m_reader.isByteArray())
        return typeError(key, u"a byte string");
    out->clear();
    for (;;) {
        const qsizetype chunk = m_reader.currentStringChunkSize();
        if (chunk > maxBytes - out->size() || chunk > m_dataBudget)
            return fail(key.toString() + u": longer than %1 bytes"_s.arg(qMin<qsizetype>(maxBytes, m_dataBudget)));
        const auto r = m_reader.readByteArray();
        if (r.status == QCborStreamReader::EndOfString)
            return true;
        if (r.status != QCborStreamReader::Ok)
            return readError();
        m_dataBudget -= r.data.size();
        out->append(r.data);
    }
}

bool CborReader::skip()
{
    if (!m_reader.next(DecodeLimits::MaxDepth))
        return readError();
    return true;
}

bool CborReader::atEnd()
{
    if (m_reader.lastError() != QCborError::NoError)
        return readError();
    if (m_reader.currentOffset() != m_bytes.size())
        return fail(u"trailing data after the answer"_s);
    return true;
}

bool CborReader::fail(const QString &why)
{
    if (m_error.isEmpty())
        m_error = why;
    return false;
}

bool CborReader::readKey(QString *key)
{
    if (!m_reader.isString())
        return fail(u"a map key is not a text string"_s);
    // Unknown keys are skipped, but a key long enough to matter is not one of ours.
    return readText(u"key", key, 256);
}

bool CborReader::advance()
{
    if (!m_reader.next())
        return readError();
    return true;
}

bool CborReader::typeError(QStringView key, QStringView expected)
{
    return fail(u"\""_s + key.toString() + u"\" is not "_s + expected.toString());
}

bool CborReader::readError()
{
    const QCborError e = m_reader.lastError();
    return fail(e == QCborError::NoError ? u"malformed CBOR"_s
                                         : u"malformed CBOR: "_s + e.toString());
}

} // namespace PlexusMonitor::Internal
