// SPDX-License-Identifier: MIT
#pragma once
/*
    What the fuzzers and their seed corpus generator (make_frame_corpus) share: the fixed
    keys, so that the seeds authenticate and mutations start from inputs that pass every
    check but the MAC, and the limits.
*/
#include "crypto_p.h"
#include "frame_p.h"
#include "record_p.h"

#include <cstdio>
#include <cstdlib>

namespace PlexusFuzz {

// Bounded memory per input: the largest frame a fuzzer's reader accepts once admitted.
inline constexpr qsizetype MaxLength = qsizetype(1) << 20;

// fuzz_frame_reader and fuzz_discovery: the key of the single-message seal.
inline const Plexus::CryptoKey &frameKey()
{
    static const Plexus::CryptoKey key = Plexus::CryptoKey::derive("plexus fuzz secret", "plexfuzz");
    return key;
}

// fuzz_record_reader: the secretstream key (the stream header comes with each input).
inline const unsigned char *recordKey()
{
    static const unsigned char key[Plexus::Record::KeyBytes] = {
        0x70, 0x6c, 0x65, 0x78, 0x75, 0x73, 0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x72, 0x65, 0x63, 0x6f,
        0x72, 0x64, 0x2d, 0x6b, 0x65, 0x79, 0x2d, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38};
    return key;
}

// fuzz_handshake: the pre-shared key of both sides.
inline const Plexus::CryptoKey &handshakePsk()
{
    static const Plexus::CryptoKey key = Plexus::CryptoKey::derive("plexus fuzz psk", "plexfuzz");
    return key;
}

// The machine id the handshake fuzzer's acceptor runs on.
inline constexpr quint64 LocalMachine = 0x6d616368696e6531ull;

[[noreturn]] inline void fail(const char *fuzzer, const char *what)
{
    std::fprintf(stderr, "%s: invariant broken: %s\n", fuzzer, what);
    std::abort();
}

// Deterministic piece sizes from a seed and the first bytes of the input.
class Splitter
{
public:
    Splitter(quint8 seed, const unsigned char *data, size_t size)
    {
        m_state = 0x9e3779b97f4a7c15ull ^ seed;
        for (size_t i = 0; i < size && i < 32; ++i)
            m_state = (m_state ^ data[i]) * 0x100000001b3ull;
        m_shift = seed % 12;   // piece sizes up to 2^(shift+1)
    }
    qsizetype next()
    {
        m_state ^= m_state << 13;
        m_state ^= m_state >> 7;
        m_state ^= m_state << 17;
        return 1 + qsizetype(m_state % (quint64(2) << m_shift));
    }

private:
    quint64 m_state;
    int m_shift;
};

} // namespace PlexusFuzz
