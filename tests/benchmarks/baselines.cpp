// SPDX-License-Identifier: MIT
// Baselines of plexus-bench: raw AF_UNIX ping-pong and stream over a socketpair between
// two forked processes, and libsodium's XChaCha20-Poly1305 encrypt+decrypt rate.
#include "bench.h"

#include <sodium.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace Bench {

namespace {

bool writeAll(int fd, const char *p, size_t n)
{
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        p += w;
        n -= size_t(w);
    }
    return true;
}

bool readAll(int fd, char *p, size_t n)
{
    while (n > 0) {
        const ssize_t r = ::read(fd, p, n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        if (r == 0)
            return false;
        p += r;
        n -= size_t(r);
    }
    return true;
}

// Plexus's UnixLink asks for 1 MiB kernel buffers; the raw stream gets the same.
void setBuffers(int fd)
{
    const int size = 1 << 20;
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

[[noreturn]] void die(const char *what)
{
    std::fprintf(stderr, "plexus-bench: %s: %s\n", what, std::strerror(errno));
    std::exit(2);
}

void reap(pid_t pid)
{
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) { }
}

} // namespace

double rawPingPong(long long roundTrips, int payload)
{
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        die("socketpair");
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0)
        die("fork");
    std::vector<char> buffer(size_t(payload), 'p');
    if (pid == 0) {
        ::close(sv[0]);
        while (readAll(sv[1], buffer.data(), buffer.size())) {
            if (!writeAll(sv[1], buffer.data(), buffer.size()))
                break;
        }
        ::_exit(0);
    }
    ::close(sv[1]);
    const long long warmup = roundTrips / 10 + 100;
    Clock::time_point t0;
    for (long long i = 0; i < warmup + roundTrips; ++i) {
        if (i == warmup)
            t0 = Clock::now();
        if (!writeAll(sv[0], buffer.data(), buffer.size())
            || !readAll(sv[0], buffer.data(), buffer.size()))
            die("ping-pong");
    }
    const double dt = secondsSince(t0);
    ::close(sv[0]);
    reap(pid);
    return double(roundTrips) / dt;
}

double rawTcpPingPong(long long roundTrips, int payload)
{
    // A loopback TCP connection with Nagle off, as a cluster link has.
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0
        || ::listen(listener, 1) != 0
        || ::getsockname(listener, reinterpret_cast<sockaddr *>(&addr), &len) != 0)
        die("tcp listen");
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0)
        die("fork");
    const int one = 1;
    std::vector<char> buffer(size_t(payload), 'p');
    if (pid == 0) {
        const int s = ::accept(listener, nullptr, nullptr);
        ::close(listener);
        if (s < 0)
            ::_exit(1);
        ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        while (readAll(s, buffer.data(), buffer.size())) {
            if (!writeAll(s, buffer.data(), buffer.size()))
                break;
        }
        ::_exit(0);
    }
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || ::connect(s, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0)
        die("tcp connect");
    ::close(listener);
    ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const long long warmup = roundTrips / 10 + 100;
    Clock::time_point t0;
    for (long long i = 0; i < warmup + roundTrips; ++i) {
        if (i == warmup)
            t0 = Clock::now();
        if (!writeAll(s, buffer.data(), buffer.size()) || !readAll(s, buffer.data(), buffer.size()))
            die("tcp ping-pong");
    }
    const double dt = secondsSince(t0);
    ::close(s);
    reap(pid);
    return double(roundTrips) / dt;
}

double rawStream(long long messages, long long size)
{
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        die("socketpair");
    setBuffers(sv[0]);
    setBuffers(sv[1]);
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        ::close(sv[0]);
        std::vector<char> message(size_t(size), 's');
        char go;
        if (!readAll(sv[1], &go, 1))
            ::_exit(1);
        for (long long i = 0; i < messages; ++i) {
            if (!writeAll(sv[1], message.data(), message.size()))
                ::_exit(1);
        }
        // Wait for the reader's acknowledgement so the timing covers delivery.
        readAll(sv[1], &go, 1);
        ::_exit(0);
    }
    ::close(sv[1]);
    std::vector<char> buffer(256 * 1024);
    const long long total = messages * size;
    long long got = 0;
    const char go = 1;
    const Clock::time_point t0 = Clock::now();
    writeAll(sv[0], &go, 1);
    while (got < total) {
        const ssize_t r = ::read(sv[0], buffer.data(), buffer.size());
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            die("stream read");
        got += r;
    }
    const double dt = secondsSince(t0);
    writeAll(sv[0], &go, 1);
    ::close(sv[0]);
    reap(pid);
    return double(total) / 1e6 / dt;
}

double cryptoPairs(long long pairs, long long size)
{
    if (sodium_init() < 0)
        die("sodium_init");
    unsigned char key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    unsigned char nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
    unsigned char tag[crypto_aead_xchacha20poly1305_ietf_ABYTES];
    unsigned char aad[48];   // the size of Plexus's authenticated header
    crypto_aead_xchacha20poly1305_ietf_keygen(key);
    randombytes_buf(nonce, sizeof nonce);
    randombytes_buf(aad, sizeof aad);
    std::vector<unsigned char> plain(static_cast<size_t>(size), 0x5a);
    std::vector<unsigned char> cipher(static_cast<size_t>(size));
    const long long warmup = pairs / 10 + 1;
    Clock::time_point t0;
    for (long long i = 0; i < warmup + pairs; ++i) {
        if (i == warmup)
            t0 = Clock::now();
        std::memcpy(nonce, &i, sizeof i);   // a fresh nonce per message, as Plexus does
        unsigned long long tagLen = 0;
        crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
                cipher.data(), tag, &tagLen, plain.data(), plain.size(), aad, sizeof aad,
                nullptr, nonce, key);
        if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
                    plain.data(), nullptr, cipher.data(), cipher.size(), tag, aad, sizeof aad,
                    nonce, key) != 0)
            die("decrypt failed");
    }
    const double dt = secondsSince(t0);
    sodium_memzero(key, sizeof key);
    return double(pairs) / dt;
}

} // namespace Bench
