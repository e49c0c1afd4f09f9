// SPDX-License-Identifier: MIT
#pragma once

#include <plexus/plexusglobal.h>

#include <QtCore/qbytearray.h>
#include <QtCore/qbytearrayview.h>

#include <memory>

namespace Plexus {

class CryptoKey;
// Declared here, not only as a friend, so that the tests can reach it.
bool operator==(const CryptoKey &a, const CryptoKey &b) noexcept;

/*
    The AEAD used by every frame: XChaCha20-Poly1305-IETF (libsodium), detached tag.

    Nonces are 24 bytes: 16 bytes drawn at random once per process (and again in the child
    after every fork(), by a pthread_atfork handler) followed by a 64-bit little-endian
    counter. Two encryptions under one key therefore never share a nonce, even when several
    processes reply to one broadcast in the same millisecond with the same message id.
*/
class CryptoKey
{
public:
    static constexpr int KeySize = 32;
    static constexpr int NonceSize = 24;
    static constexpr int TagSize = 16;

    CryptoKey() noexcept = default;

    /*! Derives the key from \a secret: BLAKE2b (keyless) compresses the secret to 32 bytes,
        then crypto_kdf derives subkey \a subkeyId under the 8-byte \a context. */
    static CryptoKey derive(QByteArrayView secret, const char (&context)[9], quint64 subkeyId = 1);
    /*! A key from its KeySize raw bytes (handed to an exec'd worker). */
    static CryptoKey fromBytes(const unsigned char *bytes);

    bool isValid() const noexcept { return bool(m_key); }
    /*! Overwrites this key's bytes, for every copy of it in this process (a forked child
        that must not keep a key its parent needs). */
    void wipe() const noexcept;
    const unsigned char *bytes() const noexcept;

    /*! Encrypts \a length bytes at \a text in place; writes the tag to \a tag. */
    void seal(const unsigned char *nonce, const unsigned char *aad, qsizetype aadLength,
              unsigned char *text, qsizetype length, unsigned char *tag) const noexcept;
    /*! Verifies and decrypts in place; false if the tag is wrong (\a text is then zeroed). */
    bool open(const unsigned char *nonce, const unsigned char *aad, qsizetype aadLength,
              unsigned char *text, qsizetype length, const unsigned char *tag) const noexcept;

    friend bool operator==(const CryptoKey &a, const CryptoKey &b) noexcept;

    // The key bytes and the subkey cache; wiped when the last copy of the key goes.
    struct Material;

private:
    std::shared_ptr<const Material> m_key;
};

namespace Crypto {
/*! Initialises libsodium once; false if it cannot be used. Thread-safe. */
bool initialize() noexcept;
/*! Writes a fresh nonce (per-process random prefix + counter). Thread-safe. */
void nextNonce(unsigned char *nonce) noexcept;
/*! \a size random bytes from the system CSPRNG. */
QByteArray randomBytes(qsizetype size);
/*! Fills \a data with \a size random bytes (for secrets: no heap copy is left behind). */
void randomFill(void *data, qsizetype size) noexcept;
/*! A fast non-cryptographic 64-bit id (message ids); never 0. Thread-safe, fork-aware. */
quint64 nextId() noexcept;
/*! Overwrites \a data with zeros in a way the compiler cannot drop. */
void wipe(void *data, qsizetype size) noexcept;
void wipe(QByteArray &data) noexcept;
/*! Overwrites every key alive in this process (before _exit(), which runs no destructor);
    the keys are unusable afterwards. */
void wipeAllKeys() noexcept;
/*! Number of keys alive in this process (for the tests). */
int liveKeyCount() noexcept;
} // namespace Crypto

} // namespace Plexus
