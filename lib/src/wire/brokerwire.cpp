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

FrameError parseFrames(QByteArrayView body, Channel channel, qsizetype maxLength, quint64 self,
                       bool *forUs, QList<FrameView> *frames)
{
    frames->clear();
    *forUs = channel == Channel::Direct;
    if (channel == Channel::Presence)
        return FrameError::UnexpectedFrame;
    qsizetype at = 0;
    if (channel == Channel::All) {
        if (body.size() < 4)
            return FrameError::TruncatedFrame;
        const quint32 count = qFromLittleEndian<quint32>(body.data());
        if (count == 0 || count > quint32(MaxTargets) || body.size() < 4 + qsizetype(count) * 8)
            return FrameError::MalformedHeader;
        at = 4 + qsizetype(count) * 8;
        for (const char *p = body.data() + 4; p < body.data() + at; p += 8)
            *forUs = *forUs || qFromLittleEndian<quint64>(p) == self;
    }
    if (at == body.size())
        return FrameError::TruncatedFrame;   // no frame at all
    QList<FrameView> out;
    while (at < body.size()) {
        if (body.size() - at < Wire::HeaderSize)
            return FrameError::TruncatedFrame;
        const Wire::Header h = Wire::decodeHeader(body.data() + at);
        if (qsizetype(h.length) > maxLength)
            return FrameError::OversizedFrame;
        if (!Wire::flagsConsistent(h.privateFlags))
            return FrameError::MalformedHeader;
        if (body.size() - at - Wire::HeaderSize < qsizetype(h.length))
            return FrameError::TruncatedFrame;
        out.append({h, body.sliced(at + Wire::HeaderSize, h.length)});
        at += Wire::HeaderSize + qsizetype(h.length);
    }
    *frames = std::move(out);
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

void appendFrame(QByteArray *body, const Wire::Header &header, QByteArrayView payload)
{
    const qsizetype at = body->size();
    body->resize(at + Wire::HeaderSize + payload.size());
    Wire::Header h = header;
    h.length = quint32(payload.size());
    Wire::encodeHeader(h, body->data() + at);
    if (!payload.isEmpty())
        std::memcpy(body->data() + at + Wire::HeaderSize, payload.data(), size_t(payload.size()));
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
    const auto bitOf = [](quint64 s) { return quint64(1) << (s % 64); };
    const auto wordOf = [](quint64 s) { return size_t((s / 64) % Words); };
    if (sequence > m_highest) {
        // Clear the words the top moves into: those of the numbers above the old top,
        // which the ring last used for numbers a whole window lower.
        const quint64 fromWord = m_highest / 64 + 1, toWord = sequence / 64;
        if (toWord >= fromWord) {
            if (toWord - fromWord + 1 >= quint64(Words))
                m_bits.fill(0);
            else
                for (quint64 w = fromWord; w <= toWord; ++w)
                    m_bits[size_t(w % Words)] = 0;
        }
        m_highest = sequence;
        m_bits[wordOf(sequence)] |= bitOf(sequence);
        return true;
    }
    if (m_highest - sequence >= Span)
        return false;   // older than the window (its word may hold newer numbers): refused
    quint64 &word = m_bits[wordOf(sequence)];
    if (word & bitOf(sequence))
        return false;
    word |= bitOf(sequence);
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
