// SPDX-License-Identifier: MIT
#pragma once

#include "crypto_p.h"
#include "frame_p.h"
#include "record_p.h"

#include <QtCore/qbytearray.h>
#include <QtCore/qstring.h>

namespace Plexus {

enum class PeerRole : quint8 { Unknown = 0, Master = 1, Worker = 2, Peer = 3 };

// What a peer says about itself in its Hello frame (the frame header's origin fields plus
// the Hello payload), after the record stream authenticated it.
struct PeerIdentity
{
    PeerRole role = PeerRole::Unknown;
    bool isExec = false;        // an exec'd program: op-codes only, no function pointers
    quint64 machine = 0;
    qint64 pid = 0;
    int slot = -1;
    QString version;            // the peer's Plexus library version
};

/*
    The handshake of a stream link (protocol v2, docs/PROTOCOL.md section 3): preamble,
    ephemeral X25519 key exchange authenticated with the pre-shared key, one
    secretstream per direction; then the Hello frames and the admission rules.

        connector -> acceptor   preamble_c | e_c | mac_c                      80 bytes
        acceptor  -> connector  preamble_s | e_s | mac_s | stream header_s   104 bytes
        connector -> acceptor   stream header_c                               24 bytes

    mac_c = BLAKE2b-256(key = K_mac, "plexus-c" | preamble_c | e_c)
    mac_s = BLAKE2b-256(key = K_mac, "plexus-s" | preamble_c | e_c | preamble_s | e_s)
    With (rx, tx) from crypto_kx and h = BLAKE2b-256(preamble_c | e_c | preamble_s | e_s):
    key(c->s) = BLAKE2b-256(key = K_mix, "c2s" | kx_c2s | h), key(s->c) likewise; K_mac and
    K_mix are derived from the pre-shared key. A peer without it cannot produce a MAC; a
    recorded session needs the ephemeral secrets, which are wiped once the keys exist.

    The acceptor may send records right after its message; the connector right after its
    stream header. Each side's first frame is its Hello.
*/
class Handshake
{
public:
    enum class Side { Connector, Acceptor };
    enum class State {
        Start,            // nothing sent (connector) / nothing received (acceptor)
        AwaitingPeer,     // waiting for the peer's key message
        AwaitingHeader,   // acceptor: keys known, waiting for the connector's stream header
        Done,             // both streams ready
        Failed,
    };
    static constexpr qsizetype KeySize = 32;
    static constexpr qsizetype MacSize = 32;
    static constexpr qsizetype ConnectorMessageSize = Wire::PreambleSize + KeySize + MacSize;
    static constexpr qsizetype AcceptorMessageSize = ConnectorMessageSize + Record::HeaderBytes;
    static constexpr qsizetype ConnectorFinishSize = Record::HeaderBytes;

    // \a ephemeralSeed (32 bytes) makes this side's ephemeral key deterministic: for test
    // vectors only.
    Handshake(Side side, PeerRole localRole, const CryptoKey &psk,
              const unsigned char *ephemeralSeed = nullptr);
    ~Handshake();
    Handshake(const Handshake &) = delete;
    Handshake &operator=(const Handshake &) = delete;

    // Connector: the first message. Acceptor: nothing.
    QByteArray start();
    // Bytes of peer input this state needs before consume() can progress.
    qsizetype bytesNeeded() const noexcept;
    // Judges the first bytes of the peer's key message as soon as the preamble is there,
    // so that garbage is refused without waiting for the whole message. Fails the
    // handshake (and returns the error) if the preamble is wrong.
    FrameError peek(const char *data, qsizetype size);
    // Consumes exactly bytesNeeded() bytes; appends what must be sent to *out. On failure
    // the state is Failed and error() says why.
    State consume(const char *data, QByteArray *out);

    State state() const noexcept { return m_state; }
    Side side() const noexcept { return m_side; }
    FrameError error() const noexcept { return m_error; }
    PeerRole peerPreambleRole() const noexcept { return m_peerRole; }
    // True once this side may seal records (acceptor: after its message).
    bool canSend() const noexcept { return m_sealer.isValid(); }
    bool canReceive() const noexcept { return m_opener.isValid(); }
    RecordSealer &sealer() noexcept { return m_sealer; }
    RecordOpener &opener() noexcept { return m_opener; }

    // The Hello frame of this side, and its decoding; a payload that is not a Hello is
    // BadHandshake.
    static QByteArray helloPayload(PeerRole role, bool isExec);
    static FrameError parseHello(const Wire::Header &header, QByteArrayView payload,
                                 PeerIdentity *peer);

    // Admission rules that need no worker table: which roles may meet on a link, and that
    // a local link stays on one machine while a cluster link joins two. The worker table
    // adds its own (slots).
    enum class Scope { Local, Cluster };
    static FrameError admit(Scope scope, PeerRole localRole, quint64 localMachine, Side side,
                            const PeerIdentity &peer);

    // The key schedule, on its own for test vectors: K_mac and K_mix from the pre-shared
    // key, and the two session keys from one side's ephemeral pair, the peer's public key
    // and both preambles. False if the peer's key is a low-order point.
    static void preSharedKeys(const CryptoKey &psk, unsigned char *macKey, unsigned char *mixKey);
    static bool sessionKeys(bool connector, const unsigned char *publicKey,
                            const unsigned char *secretKey, const unsigned char *peerKey,
                            const unsigned char *preambleC, const unsigned char *preambleS,
                            const unsigned char *mixKey, unsigned char *c2s, unsigned char *s2c);

private:
    State fail(FrameError error);
    void deriveKeys(bool connector);
    void newEphemeral();

    Side m_side;
    PeerRole m_localRole;
    PeerRole m_peerRole = PeerRole::Unknown;
    State m_state = State::Start;
    FrameError m_error = FrameError::NoError;
    CryptoKey m_psk;
    struct Secrets;
    std::unique_ptr<Secrets> m_secrets;   // ephemeral keys and transcript, wiped when done
    bool m_seeded = false;
    RecordSealer m_sealer;
    RecordOpener m_opener;
};

} // namespace Plexus
