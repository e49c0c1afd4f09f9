// SPDX-License-Identifier: MIT
#include "brokerwire_p.h"

#include <QtCore/qendian.h>

#include <cstring>

namespace Plexus::BrokerWire {

namespace {

// The additional data: the envelope's first 64 bytes, then the subject.
bool buildAad(const char *head, QByteArrayView subject, unsigned char *aad, qsizetype *size)
{
    if (subject.size() > MaxSubjectLength)
        return false;
    std::memcpy(aad, head, HeaderSize);
    if (!subject.isEmpty())
        std::memcpy(aad + HeaderSize, subject.data(), size_t(subject.size()));
    *size = HeaderSize + subject.size();
    return true;
}

bool knownChannel(quint8 c)
{
    return c >= quint8(Channel::Direct) && c <= quint8(Channel::Presence);
}

} // namespace

QByteArray seal(const CryptoKey &key, const Envelope &env, QByteArrayView subject,
                std::initializer_list<QByteArrayView> parts)
{
    qsizetype bodySize = 0;
    for (QByteArrayView p : parts)
        bodySize += p.size();
    if (!key.isValid() || subject.size() > MaxSubjectLength)
        return {};
    QByteArray out(Overhead + bodySize, Qt::Uninitialized);
    char *h = out.data();
    std::memcpy(h, Magic, 4);
    h[4] = char(env.channel);
    h[5] = char(env.role);
    h[6] = h[7] = 0;
    qToLittleEndian<quint64>(env.sender, h + 8);
    qToLittleEndian<quint64>(env.epoch, h + 16);
    qToLittleEndian<quint64>(env.sequence, h + 24);
    qToLittleEndian<quint64>(env.timestampMs, h + 32);
    Crypto::nextNonce(reinterpret_cast<unsigned char *>(h + 40));
    char *body = h + HeaderSize;
    for (QByteArrayView p : parts) {
        if (!p.isEmpty())
            std::memcpy(body, p.data(), size_t(p.size()));
        body += p.size();
    }
    unsigned char aad[HeaderSize + MaxSubjectLength];
    qsizetype aadSize = 0;
    buildAad(h, subject, aad, &aadSize);
    auto *text = reinterpret_cast<unsigned char *>(h + HeaderSize);
    key.seal(reinterpret_cast<const unsigned char *>(h + 40), aad, aadSize, text, bodySize,
             text + bodySize);
    return out;
}

FrameError open(QByteArrayView sealed, const CryptoKey &key, QByteArrayView subject,
                qsizetype maxBody, Envelope *env, QByteArray *body)
{
    if (sealed.size() < Overhead)
        return FrameError::TruncatedFrame;
    const char *h = sealed.data();
    if (std::memcmp(h, Magic, 4) != 0 || !knownChannel(quint8(h[4])) || h[6] != 0 || h[7] != 0)
        return FrameError::MalformedHeader;
    const qsizetype size = sealed.size() - Overhead;
    if (size > maxBody)
        return FrameError::OversizedFrame;
    unsigned char aad[HeaderSize + MaxSubjectLength];
    qsizetype aadSize = 0;
    if (!buildAad(h, subject, aad, &aadSize))
        return FrameError::MalformedHeader;
    QByteArray text(h + HeaderSize, size);
    auto *t = reinterpret_cast<unsigned char *>(text.data());
    if (!key.open(reinterpret_cast<const unsigned char *>(h + 40), aad, aadSize, t, size,
                  reinterpret_cast<const unsigned char *>(h + HeaderSize + size))) {
        Crypto::wipe(text);
        return FrameError::AuthenticationFailed;
    }
    env->channel = Channel(quint8(h[4]));
    env->role = quint8(h[5]);
    env->sender = qFromLittleEndian<quint64>(h + 8);
    env->epoch = qFromLittleEndian<quint64>(h + 16);
    env->sequence = qFromLittleEndian<quint64>(h + 24);
    env->timestampMs = qFromLittleEndian<quint64>(h + 32);
    if (env->sender == 0 || env->epoch == 0 || env->sequence == 0
        || (env->role != 1 && env->role != 3))
        return FrameError::MalformedHeader;   // authentic, yet not something we send
    *body = std::move(text);
    return FrameError::NoError;
}

FrameError parseFrame(QByteArrayView body, Channel channel, qsizetype maxLength,
                      Wire::Header *header, QByteArrayView *payload, QList<quint64> *targets)
{
    if (channel == Channel::Presence)
        return FrameError::UnexpectedFrame;
    if (body.size() < Wire::HeaderSize)
        return FrameError::TruncatedFrame;
    const Wire::Header h = Wire::decodeHeader(body.data());
    if (qsizetype(h.length) > maxLength)
        return FrameError::OversizedFrame;
    if (!Wire::flagsConsistent(h.privateFlags))
        return FrameError::MalformedHeader;
    const qsizetype frameEnd = Wire::HeaderSize + qsizetype(h.length);
    if (frameEnd > body.size())
        return FrameError::TruncatedFrame;
    targets->clear();
    if (channel == Channel::Direct) {
        if (frameEnd != body.size())
            return FrameError::MalformedHeader;
    } else {
        if (body.size() - frameEnd < 4)
            return FrameError::TruncatedFrame;
        const quint32 count = qFromLittleEndian<quint32>(body.data() + frameEnd);
        if (count == 0 || count > quint32(MaxTargets)
            || body.size() - frameEnd - 4 != qsizetype(count) * 8)
            return FrameError::MalformedHeader;
        targets->reserve(count);
        const char *p = body.data() + frameEnd + 4;
        for (quint32 i = 0; i < count; ++i, p += 8)
            targets->append(qFromLittleEndian<quint64>(p));
    }
    *header = h;
    *payload = body.sliced(Wire::HeaderSize, h.length);
    return FrameError::NoError;
}

QByteArray targetList(const QList<quint64> &machines)
{
    QByteArray out(4 + 8 * machines.size(), Qt::Uninitialized);
    qToLittleEndian<quint32>(quint32(machines.size()), out.data());
    char *p = out.data() + 4;
    for (quint64 m : machines) {
        qToLittleEndian<quint64>(m, p);
        p += 8;
    }
    return out;
}

QByteArray presenceBody(const Presence &p)
{
    QByteArray out(PresenceSize, '\0');
    out[0] = char(p.kind);
    qToLittleEndian<quint16>(p.version, out.data() + 2);
    return out;
}

FrameError parsePresence(QByteArrayView body, Presence *out)
{
    if (body.size() != PresenceSize)
        return FrameError::MalformedHeader;
    const auto kind = quint8(body[0]);
    if (kind < quint8(PresenceKind::Hello) || kind > quint8(PresenceKind::Answer) || body[1] != 0)
        return FrameError::MalformedHeader;
    for (qsizetype i = 4; i < PresenceSize; ++i) {
        if (body[i] != 0)
            return FrameError::MalformedHeader;
    }
    out->kind = PresenceKind(kind);
    out->version = qFromLittleEndian<quint16>(body.data() + 2);
    if (out->version != Wire::ProtocolVersion)
        return FrameError::VersionMismatch;
    return FrameError::NoError;
}

// ---------------------------------------------------------------------------------------
// Replay protection

bool SequenceWindow::accept(quint64 sequence) noexcept
{
    if (sequence == 0)
        return false;
    if (sequence > m_highest) {
        const quint64 shift = sequence - m_highest;
        if (shift >= quint64(WindowBits)) {
            m_bits.fill(0);
        } else {
            // Move every bit up by shift: bit i (highest - i) becomes bit i + shift.
            const int words = int(shift / 64), bits = int(shift % 64);
            for (int w = Words - 1; w >= 0; --w) {
                quint64 v = 0;
                const int from = w - words;
                if (from >= 0) {
                    v = m_bits[size_t(from)] << bits;
                    if (bits && from > 0)
                        v |= m_bits[size_t(from - 1)] >> (64 - bits);
                }
                m_bits[size_t(w)] = v;
            }
        }
        m_highest = sequence;
        m_bits[0] |= 1;
        return true;
    }
    const quint64 age = m_highest - sequence;
    if (age >= quint64(WindowBits))
        return false;   // older than the window: cannot tell, so refused
    quint64 &word = m_bits[size_t(age / 64)];
    const quint64 bit = quint64(1) << (age % 64);
    if (word & bit)
        return false;
    word |= bit;
    return true;
}

int ReplayGuard::epochsOf(quint64 sender) const
{
    return m_epochCount.value(sender);
}

void ReplayGuard::prune(qint64 nowMs)
{
    for (auto it = m_streams.begin(); it != m_streams.end();) {
        if (it->newestMs + WindowMs < nowMs) {
            auto count = m_epochCount.find(it.key().sender);
            if (count != m_epochCount.end() && --*count <= 0)
                m_epochCount.erase(count);
            it = m_streams.erase(it);
        } else {
            ++it;
        }
    }
}

FrameError ReplayGuard::check(const Envelope &env, qint64 nowMs)
{
    const qint64 ts = qint64(env.timestampMs);
    if (ts < nowMs - WindowMs || ts > nowMs + WindowMs)
        return FrameError::ReplayedFrame;
    const Key key{env.sender, env.epoch, quint8(env.channel)};
    auto it = m_streams.find(key);
    if (it == m_streams.end()) {
        // A new stream: room for it, or it is refused (a stream is only ever made by the
        // holder of the key, so only a sender reconnecting very often fills its share).
        if (m_streams.size() >= m_maxStreams || epochsOf(env.sender) >= MaxEpochs * 3)
            prune(nowMs);
        if (m_streams.size() >= m_maxStreams || epochsOf(env.sender) >= MaxEpochs * 3)
            return FrameError::ReplayedFrame;
        it = m_streams.insert(key, Stream());
        ++m_epochCount[env.sender];
    }
    if (!it->window.accept(env.sequence))
        return FrameError::ReplayedFrame;
    it->newestMs = qMax(it->newestMs, ts);
    return FrameError::NoError;
}

} // namespace Plexus::BrokerWire
