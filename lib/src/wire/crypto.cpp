// SPDX-License-Identifier: MIT
#include "crypto_p.h"

#include <QtCore/qendian.h>

#include <sodium.h>

#include <atomic>
#include <cstring>
#include <mutex>

#include <pthread.h>

namespace Plexus {

static_assert(CryptoKey::KeySize == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(CryptoKey::NonceSize == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(CryptoKey::TagSize == crypto_aead_xchacha20poly1305_ietf_ABYTES);

/*
    XChaCha20-Poly1305-IETF is HChaCha20(key, nonce[0..16]) -> subkey, then
    ChaCha20-Poly1305-IETF(subkey, 0^4 || nonce[16..24]). Our nonces start with a
    per-process prefix, so the subkey is the same for every frame a process seals and for
    every frame one peer sends: it is computed once per prefix and kept in a small cache.
    The bytes on the wire are exactly those of crypto_aead_xchacha20poly1305_ietf_*.
*/
struct CryptoKey::Material
{
    struct Subkey
    {
        unsigned char prefix[16];
        unsigned char key[KeySize];
        bool valid = false;
    };
    static constexpr int CacheSize = 16;

    unsigned char key[KeySize];
    mutable std::mutex lock;
    mutable Subkey cache[CacheSize];
    Material *prev = nullptr;   // every live key, so that wipeAllKeys() finds them
    Material *next = nullptr;

    Material() noexcept;
    Material(const Material &) = delete;
    ~Material();
    void wipe() noexcept
    {
        std::lock_guard<std::mutex> guard(lock);
        sodium_memzero(key, sizeof key);
        sodium_memzero(cache, sizeof cache);
    }

    // Copies the subkey for \a nonce's prefix into \a out.
    void subkey(const unsigned char *nonce, unsigned char *out) const noexcept
    {
        const int slot = (nonce[0] ^ nonce[7] ^ nonce[15]) % CacheSize;
        std::lock_guard<std::mutex> guard(lock);
        Subkey &entry = cache[slot];
        if (!entry.valid || std::memcmp(entry.prefix, nonce, sizeof entry.prefix) != 0) {
            crypto_core_hchacha20(entry.key, nonce, key, nullptr);
            std::memcpy(entry.prefix, nonce, sizeof entry.prefix);
            entry.valid = true;
        }
        std::memcpy(out, entry.key, KeySize);
    }
};

namespace {

std::mutex g_keysLock;
CryptoKey::Material *g_keys = nullptr;
int g_keyCount = 0;

} // namespace

CryptoKey::Material::Material() noexcept
{
    std::lock_guard<std::mutex> guard(g_keysLock);
    next = g_keys;
    if (g_keys)
        g_keys->prev = this;
    g_keys = this;
    ++g_keyCount;
}

CryptoKey::Material::~Material()
{
    {
        std::lock_guard<std::mutex> guard(g_keysLock);
        if (prev)
            prev->next = next;
        else
            g_keys = next;
        if (next)
            next->prev = prev;
        --g_keyCount;
    }
    wipe();
}

void CryptoKey::wipe() const noexcept
{
    if (m_key)
        const_cast<Material *>(m_key.get())->wipe();
}

void Crypto::wipeAllKeys() noexcept
{
    std::lock_guard<std::mutex> guard(g_keysLock);
    for (CryptoKey::Material *m = g_keys; m; m = m->next)
        m->wipe();
}

int Crypto::liveKeyCount() noexcept
{
    std::lock_guard<std::mutex> guard(g_keysLock);
    return g_keyCount;
}

namespace {

// Per-process nonce state. The prefix is redrawn in the child after fork(), so a forked
// worker never continues its parent's nonce sequence.
struct NonceState
{
    unsigned char prefix[16];
    std::atomic<quint64> counter{0};
    std::atomic<quint64> idState{0};
};

NonceState g_nonce;
std::once_flag g_initOnce;
std::atomic<bool> g_initOk{false};

void redrawNonceState() noexcept
{
    randombytes_buf(g_nonce.prefix, sizeof g_nonce.prefix);
    g_nonce.counter.store(0, std::memory_order_relaxed);
    quint64 seed;
    randombytes_buf(&seed, sizeof seed);
    g_nonce.idState.store(seed, std::memory_order_relaxed);
}

void afterForkInChild() noexcept
{
    if (g_initOk.load(std::memory_order_relaxed))
        redrawNonceState();
}

void initOnce() noexcept
{
    if (sodium_init() < 0)
        return;
    redrawNonceState();
    g_initOk.store(true, std::memory_order_release);
    pthread_atfork(nullptr, nullptr, &afterForkInChild);
}

} // namespace

bool Crypto::initialize() noexcept
{
    // The fast check keeps call_once off the per-message path (nonces, ids).
    if (g_initOk.load(std::memory_order_acquire))
        return true;
    std::call_once(g_initOnce, &initOnce);
    return g_initOk.load(std::memory_order_acquire);
}

void Crypto::nextNonce(unsigned char *nonce) noexcept
{
    initialize();
    std::memcpy(nonce, g_nonce.prefix, sizeof g_nonce.prefix);
    const quint64 n = g_nonce.counter.fetch_add(1, std::memory_order_relaxed);
    qToLittleEndian(n, nonce + sizeof g_nonce.prefix);
}

QByteArray Crypto::randomBytes(qsizetype size)
{
    initialize();
    QByteArray out(size, Qt::Uninitialized);
    randombytes_buf(out.data(), size_t(size));
    return out;
}

void Crypto::randomFill(void *data, qsizetype size) noexcept
{
    initialize();
    randombytes_buf(data, size_t(size));
}

quint64 Crypto::nextId() noexcept
{
    initialize();
    // splitmix64 over an atomic Weyl sequence: unique per draw within a process.
    quint64 z = g_nonce.idState.fetch_add(0x9e3779b97f4a7c15ull, std::memory_order_relaxed)
            + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return z ? z : 1;
}

void Crypto::wipe(void *data, qsizetype size) noexcept
{
    if (data && size > 0)
        sodium_memzero(data, size_t(size));
}

void Crypto::wipe(QByteArray &data) noexcept
{
    if (!data.isEmpty() && !data.isDetached()) {
        data.clear();   // shared: wiping would touch other copies; just drop ours
        return;
    }
    wipe(data.data(), data.size());
    data.clear();
}

CryptoKey CryptoKey::derive(QByteArrayView secret, const char (&context)[9], quint64 subkeyId)
{
    CryptoKey result;
    if (!Crypto::initialize())
        return result;
    unsigned char master[crypto_kdf_KEYBYTES];
    crypto_generichash(master, sizeof master,
                       reinterpret_cast<const unsigned char *>(secret.data()),
                       size_t(secret.size()), nullptr, 0);
    auto material = std::make_shared<Material>();
    crypto_kdf_derive_from_key(material->key, sizeof material->key, subkeyId, context, master);
    sodium_memzero(master, sizeof master);
    result.m_key = std::move(material);
    return result;
}

CryptoKey CryptoKey::fromBytes(const unsigned char *bytes)
{
    CryptoKey result;
    if (!Crypto::initialize())
        return result;
    auto material = std::make_shared<Material>();
    std::memcpy(material->key, bytes, KeySize);
    result.m_key = std::move(material);
    return result;
}

const unsigned char *CryptoKey::bytes() const noexcept
{
    return m_key ? m_key->key : nullptr;
}

void CryptoKey::seal(const unsigned char *nonce, const unsigned char *aad, qsizetype aadLength,
                     unsigned char *text, qsizetype length, unsigned char *tag) const noexcept
{
    Q_ASSERT(m_key);
    unsigned char subkey[KeySize];
    unsigned char nonce12[crypto_aead_chacha20poly1305_ietf_NPUBBYTES] = {0, 0, 0, 0};
    m_key->subkey(nonce, subkey);
    std::memcpy(nonce12 + 4, nonce + 16, 8);
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(
            text, tag, nullptr, text, (unsigned long long)length, aad,
            (unsigned long long)aadLength, nullptr, nonce12, subkey);
    sodium_memzero(subkey, sizeof subkey);
}

bool CryptoKey::open(const unsigned char *nonce, const unsigned char *aad, qsizetype aadLength,
                     unsigned char *text, qsizetype length, const unsigned char *tag) const noexcept
{
    if (!m_key)
        return false;
    unsigned char subkey[KeySize];
    unsigned char nonce12[crypto_aead_chacha20poly1305_ietf_NPUBBYTES] = {0, 0, 0, 0};
    m_key->subkey(nonce, subkey);
    std::memcpy(nonce12 + 4, nonce + 16, 8);
    const bool ok = crypto_aead_chacha20poly1305_ietf_decrypt_detached(
                            text, nullptr, text, (unsigned long long)length, tag, aad,
                            (unsigned long long)aadLength, nonce12, subkey)
            == 0;
    sodium_memzero(subkey, sizeof subkey);
    return ok;
}

bool operator==(const CryptoKey &a, const CryptoKey &b) noexcept
{
    if (a.m_key == b.m_key)
        return true;
    if (!a.m_key || !b.m_key)
        return false;
    return sodium_memcmp(a.m_key->key, b.m_key->key, CryptoKey::KeySize) == 0;
}

} // namespace Plexus
