// SPDX-License-Identifier: MIT
#pragma once

#include <plexus/plexusglobal.h>

#include <QtCore/qbytearray.h>

#include <memory>

namespace Plexus {

/*
    Encrypted records, the unit a stream link carries after its handshake (protocol v2,
    docs/PROTOCOL.md section 4). One direction of a link is one
    crypto_secretstream_xchacha20poly1305 stream; each record is

        u32 LE  clen                 length of what follows, 17 <= clen <= 17 + MaxPlain
        u8      tag                  encrypted (secretstream tag: message, rekey, final)
        n       ciphertext           n = clen - 17
        16      MAC

    with the 4 length bytes as additional data. Records are ordered by construction: a
    replayed, reordered, dropped or truncated record fails to authenticate. The plaintext of
    the records of one direction is a byte stream of frames (frame_p.h).

    Records are sealed and opened in place: the plaintext sits at offset PlainOffset of the
    record buffer, where its ciphertext goes (tst_record pins that libsodium's output is the
    same as with separate buffers).
*/
namespace Record {
inline constexpr qsizetype LengthSize = 4;
inline constexpr qsizetype MacSize = 16;
inline constexpr qsizetype ABytes = 1 + MacSize;              // tag byte + MAC
inline constexpr qsizetype PlainOffset = LengthSize + 1;      // where the plaintext starts
inline constexpr qsizetype Overhead = LengthSize + ABytes;     // per record on the wire
inline constexpr qsizetype MaxPlain = qsizetype(1) << 20;      // 1 MiB per record
inline constexpr qsizetype HeaderBytes = 24;                   // secretstream stream header
inline constexpr qsizetype KeyBytes = 32;
// A rekey tag every this many records (forward secrecy inside a long-lived link).
inline constexpr quint32 RekeyInterval = 1u << 16;

enum class Tag : quint8 { Message = 0, Rekey = 2, Final = 3 };
} // namespace Record

// The sending half of a record stream.
class RecordSealer
{
public:
    RecordSealer();
    ~RecordSealer();
    RecordSealer(const RecordSealer &) = delete;
    RecordSealer &operator=(const RecordSealer &) = delete;

    // Starts the stream under \a key; writes the 24-byte stream header to \a header.
    bool init(const unsigned char *key, unsigned char *header) noexcept;
    bool isValid() const noexcept { return m_valid; }

    // Seals the record at \a record in place: \a plainLength plaintext bytes sit at
    // record + PlainOffset, with room for the MAC after them. Writes the length field.
    void sealInPlace(char *record, qsizetype plainLength, Record::Tag tag = Record::Tag::Message) noexcept;
    // Seals \a plainLength bytes from \a plain into \a record (Overhead + plainLength bytes).
    void sealFrom(const char *plain, qsizetype plainLength, char *record,
                  Record::Tag tag = Record::Tag::Message) noexcept;
    quint64 records() const noexcept { return m_records; }

private:
    Record::Tag nextTag(Record::Tag requested) noexcept;
    struct State;
    std::unique_ptr<State> m_state;
    quint64 m_records = 0;
    bool m_valid = false;
};

// The receiving half.
class RecordOpener
{
public:
    RecordOpener();
    ~RecordOpener();
    RecordOpener(const RecordOpener &) = delete;
    RecordOpener &operator=(const RecordOpener &) = delete;

    bool init(const unsigned char *key, const unsigned char *header) noexcept;
    bool isValid() const noexcept { return m_valid; }

    // The ciphertext length announced by a record's first 4 bytes, or an error if it is out
    // of bounds (checked before anything is allocated or decrypted).
    static FrameError checkLength(const char *lengthField, qsizetype *clen) noexcept;

    // Authenticates and decrypts a whole record (LengthSize + clen bytes at \a record) in
    // place; the plaintext is then at record + PlainOffset, clen - ABytes bytes.
    FrameError openInPlace(char *record, qsizetype clen, Record::Tag *tag) noexcept;
    // The same, writing the plaintext to \a plain (clen - ABytes bytes).
    FrameError openInto(const char *record, qsizetype clen, char *plain, Record::Tag *tag) noexcept;
    bool finished() const noexcept { return m_finished; }
    quint64 records() const noexcept { return m_records; }

private:
    struct State;
    std::unique_ptr<State> m_state;
    quint64 m_records = 0;
    bool m_valid = false;
    bool m_finished = false;
};

} // namespace Plexus
