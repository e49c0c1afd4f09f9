// SPDX-License-Identifier: MIT
#include "record_p.h"

#include <QtCore/qendian.h>

#include <sodium.h>

namespace Plexus {

static_assert(Record::ABytes == crypto_secretstream_xchacha20poly1305_ABYTES);
static_assert(Record::HeaderBytes == crypto_secretstream_xchacha20poly1305_HEADERBYTES);
static_assert(Record::KeyBytes == crypto_secretstream_xchacha20poly1305_KEYBYTES);
static_assert(quint8(Record::Tag::Rekey) == crypto_secretstream_xchacha20poly1305_TAG_REKEY);
static_assert(quint8(Record::Tag::Final) == crypto_secretstream_xchacha20poly1305_TAG_FINAL);

struct RecordSealer::State
{
    crypto_secretstream_xchacha20poly1305_state s;
    ~State() { sodium_memzero(&s, sizeof s); }
};

struct RecordOpener::State
{
    crypto_secretstream_xchacha20poly1305_state s;
    ~State() { sodium_memzero(&s, sizeof s); }
};

RecordSealer::RecordSealer() : m_state(std::make_unique<State>()) { }
RecordSealer::~RecordSealer() = default;

bool RecordSealer::init(const unsigned char *key, unsigned char *header) noexcept
{
    m_valid = crypto_secretstream_xchacha20poly1305_init_push(&m_state->s, header, key) == 0;
    m_records = 0;
    return m_valid;
}

Record::Tag RecordSealer::nextTag(Record::Tag requested) noexcept
{
    ++m_records;
    if (requested == Record::Tag::Message && m_records % Record::RekeyInterval == 0)
        return Record::Tag::Rekey;
    return requested;
}

void RecordSealer::sealInPlace(char *record, qsizetype plainLength, Record::Tag tag) noexcept
{
    Q_ASSERT(m_valid && plainLength <= Record::MaxPlain);
    const quint32 clen = quint32(plainLength + Record::ABytes);
    qToLittleEndian<quint32>(clen, record);
    auto *c = reinterpret_cast<unsigned char *>(record + Record::LengthSize);
    // The plaintext is at c + 1, where libsodium writes its ciphertext: an exact in-place
    // stream cipher operation.
    crypto_secretstream_xchacha20poly1305_push(
            &m_state->s, c, nullptr, c + 1, (unsigned long long)plainLength,
            reinterpret_cast<const unsigned char *>(record), Record::LengthSize,
            (unsigned char)nextTag(tag));
}

void RecordSealer::sealFrom(const char *plain, qsizetype plainLength, char *record,
                            Record::Tag tag) noexcept
{
    Q_ASSERT(m_valid && plainLength <= Record::MaxPlain);
    const quint32 clen = quint32(plainLength + Record::ABytes);
    qToLittleEndian<quint32>(clen, record);
    crypto_secretstream_xchacha20poly1305_push(
            &m_state->s, reinterpret_cast<unsigned char *>(record + Record::LengthSize), nullptr,
            reinterpret_cast<const unsigned char *>(plain), (unsigned long long)plainLength,
            reinterpret_cast<const unsigned char *>(record), Record::LengthSize,
            (unsigned char)nextTag(tag));
}

RecordOpener::RecordOpener() : m_state(std::make_unique<State>()) { }
RecordOpener::~RecordOpener() = default;

bool RecordOpener::init(const unsigned char *key, const unsigned char *header) noexcept
{
    m_valid = crypto_secretstream_xchacha20poly1305_init_pull(&m_state->s, header, key) == 0;
    m_records = 0;
    m_finished = false;
    return m_valid;
}

FrameError RecordOpener::checkLength(const char *lengthField, qsizetype *clen) noexcept
{
    const quint32 n = qFromLittleEndian<quint32>(lengthField);
    if (n < quint32(Record::ABytes))
        return FrameError::MalformedHeader;
    if (qsizetype(n) > Record::MaxPlain + Record::ABytes)
        return FrameError::OversizedFrame;
    *clen = qsizetype(n);
    return FrameError::NoError;
}

FrameError RecordOpener::openInPlace(char *record, qsizetype clen, Record::Tag *tag) noexcept
{
    auto *c = reinterpret_cast<unsigned char *>(record + Record::LengthSize);
    return openInto(record, clen, reinterpret_cast<char *>(c + 1), tag);
}

FrameError RecordOpener::openInto(const char *record, qsizetype clen, char *plain,
                                  Record::Tag *tag) noexcept
{
    if (!m_valid)
        return FrameError::UnexpectedFrame;
    if (m_finished)
        return FrameError::UnexpectedFrame;   // nothing may follow a final record
    unsigned char t = 0;
    // libsodium verifies the MAC over the ciphertext before it decrypts, so in place
    // (plain == ciphertext) is safe; a failed record leaves the state unchanged.
    if (crypto_secretstream_xchacha20poly1305_pull(
                &m_state->s, reinterpret_cast<unsigned char *>(plain), nullptr, &t,
                reinterpret_cast<const unsigned char *>(record + Record::LengthSize),
                (unsigned long long)clen, reinterpret_cast<const unsigned char *>(record),
                Record::LengthSize)
        != 0)
        return FrameError::AuthenticationFailed;
    ++m_records;
    if (t == crypto_secretstream_xchacha20poly1305_TAG_FINAL)
        m_finished = true;
    *tag = Record::Tag(t);
    return FrameError::NoError;
}

} // namespace Plexus
