// SPDX-License-Identifier: MIT
#include "frame_p.h"

#include <cstring>

namespace Plexus {

namespace {
enum HeaderOffset : qsizetype {
    OffLength = 0,
    OffFlags = 4,
    OffPrivateFlags = 6,
    OffTimestamp = 8,
    OffId = 16,
    OffNonce = 24,
};
enum BodyOffset : qsizetype {
    OffTarget = 0,
    OffToken = 8,
    OffTargets = 16,
    OffOriginSlot = 20,
    OffOriginPid = 24,
    OffStatus = 28,
};

template <typename T>
T load(const char *p) noexcept
{
    return qFromLittleEndian<T>(p);
}
template <typename T>
void store(char *p, T v) noexcept
{
    qToLittleEndian<T>(v, p);
}

bool headerFlagsConsistent(quint16 pf) noexcept
{
    if (pf & ~quint16(Wire::KnownFlags))
        return false;
    const bool reply = pf & Wire::Reply;
    if (!reply && (pf & (Wire::Done | Wire::Error | Wire::Fanout)))
        return false;
    if ((pf & Wire::Control) && (pf & (Wire::Opcode | Wire::Typed | Wire::Workers | Wire::Cluster)))
        return false;
    if ((pf & Wire::Opcode) && (pf & Wire::Typed))
        return false;
    return true;
}
} // namespace

QByteArray Wire::preamble(quint8 role)
{
    QByteArray out(PreambleSize, '\0');
    std::memcpy(out.data(), Magic, sizeof Magic);
    store<quint16>(out.data() + 6, ProtocolVersion);
    out[8] = char(role);
    return out;
}

FrameError Wire::parsePreamble(QByteArrayView bytes, quint8 *role)
{
    if (bytes.size() < PreambleSize || std::memcmp(bytes.data(), Magic, sizeof Magic) != 0)
        return FrameError::BadHandshake;
    for (qsizetype i = 9; i < PreambleSize; ++i) {
        if (bytes[i] != 0)
            return FrameError::BadHandshake;
    }
    if (load<quint16>(bytes.data() + 6) != ProtocolVersion)
        return FrameError::VersionMismatch;
    if (role)
        *role = quint8(bytes[8]);
    return FrameError::NoError;
}

// ---------------------------------------------------------------------------------------
// Frame

Frame Frame::fromSealed(QByteArray bytes) noexcept
{
    Frame f;
    f.m_buffer = std::move(bytes);
    f.m_sealed = true;
    return f;
}

Frame Frame::create(const Wire::Header &header, const Wire::Body &body, const Payload &data)
{
    Frame f;
    if (data.hasOverflowed() || data.size() > maxMessageLength())
        return f;
    f.m_buffer = QByteArray(Wire::frameSize(data.size()), Qt::Uninitialized);
    char *p = f.raw();
    store<quint32>(p + OffLength, quint32(data.size()));
    store<quint16>(p + OffFlags, header.flags);
    store<quint16>(p + OffPrivateFlags, header.privateFlags);
    store<quint64>(p + OffTimestamp, header.timestamp);
    store<quint64>(p + OffId, header.id);
    std::memset(p + OffNonce, 0, CryptoKey::NonceSize);
    f.setBody(body);
    data.copyTo(p + Wire::HeaderSize + Wire::BodyPrefixSize);
    std::memset(p + Wire::HeaderSize + Wire::BodyPrefixSize + data.size(), 0, Wire::TagSize);
    return f;
}

Wire::Header Frame::header() const noexcept
{
    Wire::Header h;
    if (m_buffer.size() < Wire::HeaderSize)
        return h;
    const char *p = raw();
    h.length = load<quint32>(p + OffLength);
    h.flags = load<quint16>(p + OffFlags);
    h.privateFlags = load<quint16>(p + OffPrivateFlags);
    h.timestamp = load<quint64>(p + OffTimestamp);
    h.id = load<quint64>(p + OffId);
    return h;
}

quint16 Frame::privateFlags() const noexcept
{
    return m_buffer.size() < Wire::HeaderSize ? 0 : load<quint16>(raw() + OffPrivateFlags);
}

Wire::Body Frame::body() const noexcept
{
    Wire::Body b;
    if (m_sealed || m_buffer.size() < Wire::Overhead)
        return b;
    const char *p = raw() + Wire::HeaderSize;
    b.target = load<quint64>(p + OffTarget);
    b.token = load<quint64>(p + OffToken);
    b.targets = load<quint32>(p + OffTargets);
    b.originSlot = load<qint32>(p + OffOriginSlot);
    b.originPid = load<quint32>(p + OffOriginPid);
    b.status = load<quint32>(p + OffStatus);
    return b;
}

QByteArrayView Frame::data() const noexcept
{
    if (m_sealed || m_buffer.size() < Wire::Overhead)
        return {};
    return QByteArrayView(raw() + Wire::HeaderSize + Wire::BodyPrefixSize,
                          m_buffer.size() - Wire::Overhead);
}

void Frame::setPrivateFlags(quint16 flags) noexcept
{
    Q_ASSERT(!m_sealed);
    // A null frame (refused by create()) has no header to write into.
    if (m_sealed || m_buffer.size() < Wire::Overhead)
        return;
    store<quint16>(raw() + OffPrivateFlags, flags);
}

void Frame::setBody(const Wire::Body &body) noexcept
{
    Q_ASSERT(!m_sealed);
    if (m_sealed || m_buffer.size() < Wire::Overhead)
        return;
    char *p = raw() + Wire::HeaderSize;
    store<quint64>(p + OffTarget, body.target);
    store<quint64>(p + OffToken, body.token);
    store<quint32>(p + OffTargets, body.targets);
    store<qint32>(p + OffOriginSlot, body.originSlot);
    store<quint32>(p + OffOriginPid, body.originPid);
    store<quint32>(p + OffStatus, body.status);
}

void Frame::seal(const CryptoKey &key)
{
    if (m_sealed || isNull())
        return;
    auto *p = reinterpret_cast<unsigned char *>(raw());
    Crypto::nextNonce(p + OffNonce);
    const qsizetype textLength = m_buffer.size() - Wire::HeaderSize - Wire::TagSize;
    key.seal(p + OffNonce, p, Wire::HeaderSize, p + Wire::HeaderSize, textLength,
             p + Wire::HeaderSize + textLength);
    m_sealed = true;
}

FrameError Frame::open(const CryptoKey &key)
{
    if (!m_sealed)
        return FrameError::NoError;
    if (m_buffer.size() < Wire::Overhead)
        return FrameError::TruncatedFrame;
    const Wire::Header h = header();
    if (qsizetype(h.length) != m_buffer.size() - Wire::Overhead)
        return FrameError::MalformedHeader;
    if (!headerFlagsConsistent(h.privateFlags))
        return FrameError::MalformedHeader;
    auto *p = reinterpret_cast<unsigned char *>(raw());
    const qsizetype textLength = m_buffer.size() - Wire::HeaderSize - Wire::TagSize;
    if (!key.open(p + OffNonce, p, Wire::HeaderSize, p + Wire::HeaderSize, textLength,
                  p + Wire::HeaderSize + textLength))
        return FrameError::AuthenticationFailed;
    m_sealed = false;
    return FrameError::NoError;
}

Frame Frame::clone() const
{
    Frame f;
    f.m_buffer = QByteArray(m_buffer.constData(), m_buffer.size());
    f.m_sealed = m_sealed;
    return f;
}

// ---------------------------------------------------------------------------------------
// FrameReader

FrameReader::FrameReader(qsizetype maxLength, bool expectPreamble)
    : m_maxLength(maxLength), m_preambleDone(!expectPreamble)
{
}

FrameError FrameReader::startFrame()
{
    const quint32 length = load<quint32>(m_head + OffLength);
    if (qsizetype(length) > (m_handshake ? qMin(m_maxLength, Wire::MaxHandshakeLength) : m_maxLength))
        return m_error = FrameError::OversizedFrame;
    if (!headerFlagsConsistent(load<quint16>(m_head + OffPrivateFlags)))
        return m_error = FrameError::MalformedHeader;
    m_current = QByteArray(Wire::frameSize(length), Qt::Uninitialized);
    std::memcpy(m_current.data(), m_head, Wire::HeaderSize);
    return FrameError::NoError;
}

void FrameReader::finishFrame()
{
    if (m_readyHead > 0 && m_readyHead == m_ready.size()) {
        m_ready.clear();
        m_readyHead = 0;
    }
    m_ready.append(std::move(m_current));
    m_current = QByteArray();
    m_have = 0;
}

FrameError FrameReader::append(QByteArrayView bytes, qsizetype *consumed)
{
    const char *p = bytes.data();
    qsizetype n = bytes.size();
    const qsizetype readyBefore = m_ready.size() - m_readyHead;
    while (n > 0 && m_error == FrameError::NoError) {
        if (m_handshake && m_ready.size() - m_readyHead > readyBefore)
            break;
        if (!m_preambleDone) {
            const qsizetype take = qMin(n, Wire::PreambleSize - m_have);
            std::memcpy(m_head + m_have, p, size_t(take));
            m_have += take, p += take, n -= take;
            if (m_have == Wire::PreambleSize) {
                m_error = Wire::parsePreamble(QByteArrayView(m_head, Wire::PreambleSize),
                                              &m_peerRole);
                m_preambleDone = m_error == FrameError::NoError;
                m_have = 0;
            }
            continue;
        }
        if (m_current.isEmpty()) {
            // Fast path: a whole frame in the input, no header staging.
            if (m_have == 0 && n >= Wire::HeaderSize) {
                std::memcpy(m_head, p, Wire::HeaderSize);
                if (startFrame() != FrameError::NoError)
                    break;
                const qsizetype take = qMin(n, m_current.size());
                std::memcpy(m_current.data(), p, size_t(take));
                m_have = take, p += take, n -= take;
                if (m_have == m_current.size())
                    finishFrame();
                continue;
            }
            const qsizetype take = qMin(n, Wire::HeaderSize - m_have);
            std::memcpy(m_head + m_have, p, size_t(take));
            m_have += take, p += take, n -= take;
            if (m_have < Wire::HeaderSize)
                break;
            if (startFrame() != FrameError::NoError)
                break;
            continue;   // m_have == HeaderSize, already copied into m_current
        }
        const qsizetype take = qMin(n, m_current.size() - m_have);
        std::memcpy(m_current.data() + m_have, p, size_t(take));
        m_have += take, p += take, n -= take;
        if (m_have == m_current.size())
            finishFrame();
    }
    if (consumed)
        *consumed = bytes.size() - n;
    return m_error;
}

QByteArray FrameReader::takeFrame()
{
    if (!hasFrame())
        return {};
    QByteArray out = std::move(m_ready[m_readyHead++]);
    if (m_readyHead == m_ready.size()) {
        m_ready.clear();
        m_readyHead = 0;
    }
    return out;
}

char *FrameReader::directSpace(qsizetype *size) noexcept
{
    if (m_error != FrameError::NoError || m_current.isEmpty()) {
        *size = 0;
        return nullptr;
    }
    *size = m_current.size() - m_have;
    return m_current.data() + m_have;
}

FrameError FrameReader::commitDirect(qsizetype size)
{
    if (m_error != FrameError::NoError)
        return m_error;
    if (m_current.isEmpty() || size < 0 || size > m_current.size() - m_have)
        return m_error = FrameError::MalformedHeader;
    m_have += size;
    if (m_have == m_current.size())
        finishFrame();
    return FrameError::NoError;
}

} // namespace Plexus
