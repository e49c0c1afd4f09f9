// SPDX-License-Identifier: MIT
#include "frame_p.h"
#include "message_p.h"

#include <cstring>

namespace Plexus {

namespace {
enum HeaderOffset : qsizetype {
    OffLength = 0,
    OffFlags = 4,
    OffPrivateFlags = 6,
    OffTimestamp = 8,
    OffId = 16,
    OffTarget = 24,
    OffToken = 32,
    OffTargets = 40,
    OffStatus = 44,
    OffOriginMachine = 48,
    OffOriginPid = 56,
    OffOriginSlot = 60,
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
} // namespace

void Wire::encodeHeader(const Header &h, char *p) noexcept
{
    store<quint32>(p + OffLength, h.length);
    store<quint16>(p + OffFlags, h.flags);
    store<quint16>(p + OffPrivateFlags, h.privateFlags);
    store<quint64>(p + OffTimestamp, h.timestamp);
    store<quint64>(p + OffId, h.id);
    store<quint64>(p + OffTarget, h.target);
    store<quint64>(p + OffToken, h.token);
    store<quint32>(p + OffTargets, h.targets);
    store<quint32>(p + OffStatus, h.status);
    store<quint64>(p + OffOriginMachine, h.originMachine);
    store<quint32>(p + OffOriginPid, h.originPid);
    store<qint32>(p + OffOriginSlot, h.originSlot);
}

Wire::Header Wire::decodeHeader(const char *p) noexcept
{
    Header h;
    h.length = load<quint32>(p + OffLength);
    h.flags = load<quint16>(p + OffFlags);
    h.privateFlags = load<quint16>(p + OffPrivateFlags);
    h.timestamp = load<quint64>(p + OffTimestamp);
    h.id = load<quint64>(p + OffId);
    h.target = load<quint64>(p + OffTarget);
    h.token = load<quint64>(p + OffToken);
    h.targets = load<quint32>(p + OffTargets);
    h.status = load<quint32>(p + OffStatus);
    h.originMachine = load<quint64>(p + OffOriginMachine);
    h.originPid = load<quint32>(p + OffOriginPid);
    h.originSlot = load<qint32>(p + OffOriginSlot);
    return h;
}

bool Wire::flagsConsistent(quint16 pf) noexcept
{
    if (pf & ~quint16(KnownFlags))
        return false;
    const bool reply = pf & Reply;
    if (!reply && (pf & (Done | Error | Fanout)))
        return false;
    if ((pf & Pending) && !(pf & Fanout))
        return false;
    if ((pf & Control) && (pf & (Opcode | Typed | Workers | Cluster | Reply)))
        return false;
    if ((pf & Opcode) && (pf & Typed))
        return false;
    if ((pf & Cancel) && pf != Cancel)
        return false;   // a cancel is a frame of its own
    return true;
}

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

QByteArray Wire::sealMessage(const Header &header, QByteArrayView payload, const CryptoKey &key)
{
    constexpr qsizetype Aad = HeaderSize + CryptoKey::NonceSize;
    if (!key.isValid() || payload.size() > maxMessageLength())
        return {};   // nothing to seal with, or more than any receiver accepts
    QByteArray out(SealedOverhead + payload.size(), Qt::Uninitialized);
    auto *p = reinterpret_cast<unsigned char *>(out.data());
    Header h = header;
    h.length = quint32(payload.size());
    encodeHeader(h, out.data());
    Crypto::nextNonce(p + HeaderSize);
    if (!payload.isEmpty())
        std::memcpy(p + Aad, payload.data(), size_t(payload.size()));
    key.seal(p + HeaderSize, p, Aad, p + Aad, payload.size(), p + Aad + payload.size());
    return out;
}

FrameError Wire::openMessage(QByteArrayView sealed, const CryptoKey &key, qsizetype maxLength,
                             Header *header, QByteArray *payload)
{
    constexpr qsizetype Aad = HeaderSize + CryptoKey::NonceSize;
    if (sealed.size() < SealedOverhead)
        return FrameError::TruncatedFrame;
    const Header h = decodeHeader(sealed.data());
    if (qsizetype(h.length) > maxLength)
        return FrameError::OversizedFrame;
    if (qsizetype(h.length) != sealed.size() - SealedOverhead || !flagsConsistent(h.privateFlags))
        return FrameError::MalformedHeader;
    QByteArray text(sealed.data() + Aad, h.length);
    auto *in = reinterpret_cast<const unsigned char *>(sealed.data());
    auto *t = reinterpret_cast<unsigned char *>(text.data());
    if (!key.open(in + HeaderSize, in, Aad, t, h.length, in + Aad + h.length)) {
        Crypto::wipe(text);
        return FrameError::AuthenticationFailed;
    }
    *header = h;
    *payload = std::move(text);
    return FrameError::NoError;
}

// ---------------------------------------------------------------------------------------
// FrameReader

FrameReader::FrameReader(qsizetype limit) : m_limit(limit) { }

FrameReader::~FrameReader()
{
    if (m_current)
        delete m_current;
}

qsizetype FrameReader::pendingBytes() const noexcept
{
    return m_current ? Wire::HeaderSize + m_have : m_headHave;
}

FrameError FrameReader::startFrame(Sink *sink, bool *keepGoing)
{
    const quint32 length = load<quint32>(m_head + OffLength);
    if (qsizetype(length) > m_limit)
        return m_error = FrameError::OversizedFrame;
    if (!Wire::flagsConsistent(load<quint16>(m_head + OffPrivateFlags)))
        return m_error = FrameError::MalformedHeader;
    m_current = MessagePrivate::create(Wire::decodeHeader(m_head));
    m_current->ref.ref();
    m_have = 0;
    m_headHave = 0;
    *keepGoing = length > 0 || finishFrame(sink);
    return FrameError::NoError;
}

bool FrameReader::finishFrame(Sink *sink)
{
    MessagePrivate *frame = m_current;
    m_current = nullptr;
    m_have = 0;
    // The sink takes over our reference.
    return sink->frameReady(frame);
}

FrameError FrameReader::append(const char *p, qsizetype n, Sink *sink)
{
    while (n > 0 && m_error == FrameError::NoError) {
        if (!m_current) {
            const qsizetype take = qMin(n, Wire::HeaderSize - m_headHave);
            std::memcpy(m_head + m_headHave, p, size_t(take));
            m_headHave += take, p += take, n -= take;
            if (m_headHave < Wire::HeaderSize)
                break;
            bool keepGoing = true;
            if (startFrame(sink, &keepGoing) != FrameError::NoError || !keepGoing)
                break;
            continue;
        }
        const qsizetype take = qMin(n, qsizetype(m_current->header.length) - m_have);
        std::memcpy(m_current->payload() + m_have, p, size_t(take));
        m_have += take, p += take, n -= take;
        if (m_have == qsizetype(m_current->header.length) && !finishFrame(sink))
            break;
    }
    return m_error;
}

char *FrameReader::directSpace(qsizetype *size) noexcept
{
    if (m_error != FrameError::NoError || !m_current) {
        *size = 0;
        return nullptr;
    }
    *size = qsizetype(m_current->header.length) - m_have;
    return m_current->payload() + m_have;
}

FrameError FrameReader::commitDirect(qsizetype size, Sink *sink)
{
    if (m_error != FrameError::NoError)
        return m_error;
    if (!m_current || size < 0 || size > qsizetype(m_current->header.length) - m_have)
        return m_error = FrameError::MalformedHeader;
    m_have += size;
    if (m_have == qsizetype(m_current->header.length))
        finishFrame(sink);
    return m_error;
}

} // namespace Plexus
