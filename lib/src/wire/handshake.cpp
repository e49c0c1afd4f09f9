// SPDX-License-Identifier: MIT
#include "handshake_p.h"

#include <QtCore/qendian.h>

#include <sodium.h>

#include <cstring>
#include <initializer_list>
#include <utility>

namespace Plexus {

static_assert(Handshake::KeySize == crypto_kx_PUBLICKEYBYTES);
static_assert(Handshake::KeySize == crypto_kx_SESSIONKEYBYTES);
static_assert(Handshake::MacSize == crypto_generichash_BYTES);

namespace {
constexpr qsizetype HelloFixedSize = 8;
constexpr qsizetype MaxVersionLength = 32;
constexpr quint8 HelloExecFlag = 0x01;

// BLAKE2b-256, keyed with \a key (32 bytes) unless it is null, over the parts in order.
void blake2b(unsigned char *out, const unsigned char *key,
             std::initializer_list<std::pair<const void *, size_t>> parts)
{
    crypto_generichash_state state;
    crypto_generichash_init(&state, key, key ? 32 : 0, 32);
    for (const auto &[data, size] : parts)
        crypto_generichash_update(&state, static_cast<const unsigned char *>(data), size);
    crypto_generichash_final(&state, out, 32);
    sodium_memzero(&state, sizeof state);
}

bool validRole(quint8 role)
{
    return role >= quint8(PeerRole::Master) && role <= quint8(PeerRole::Peer);
}
} // namespace

// Everything secret or transcript-bound that lives only during the handshake.
struct Handshake::Secrets
{
    unsigned char macKey[32];
    unsigned char mixKey[32];
    unsigned char publicKey[KeySize];     // our ephemeral key pair
    unsigned char secretKey[KeySize];
    unsigned char peerKey[KeySize];       // the peer's ephemeral public key
    unsigned char preambleC[Wire::PreambleSize];
    unsigned char preambleS[Wire::PreambleSize];
    unsigned char openKey[Record::KeyBytes];
    unsigned char seed[32];
    ~Secrets() { sodium_memzero(this, sizeof *this); }
};

Handshake::Handshake(Side side, PeerRole localRole, const CryptoKey &psk,
                     const unsigned char *ephemeralSeed)
    : m_side(side), m_localRole(localRole), m_psk(psk), m_secrets(std::make_unique<Secrets>())
{
    if (!Crypto::initialize() || !m_psk.isValid()) {
        fail(FrameError::AuthenticationFailed);
        return;
    }
    preSharedKeys(m_psk, m_secrets->macKey, m_secrets->mixKey);
    if (ephemeralSeed) {
        std::memcpy(m_secrets->seed, ephemeralSeed, sizeof m_secrets->seed);
        m_seeded = true;
    }
    if (m_side == Side::Acceptor)
        m_state = State::AwaitingPeer;
}

void Handshake::preSharedKeys(const CryptoKey &psk, unsigned char *macKey, unsigned char *mixKey)
{
    // Two independent keys from the pre-shared key: one authenticates the key exchange,
    // one is mixed into the session keys.
    blake2b(macKey, psk.bytes(), {{"plexus-mac", 10}});
    blake2b(mixKey, psk.bytes(), {{"plexus-mix", 10}});
}

void Handshake::newEphemeral()
{
    Secrets &s = *m_secrets;
    if (m_seeded)
        crypto_kx_seed_keypair(s.publicKey, s.secretKey, s.seed);
    else
        crypto_kx_keypair(s.publicKey, s.secretKey);
}

bool Handshake::sessionKeys(bool connector, const unsigned char *publicKey,
                            const unsigned char *secretKey, const unsigned char *peerKey,
                            const unsigned char *preambleC, const unsigned char *preambleS,
                            const unsigned char *mixKey, unsigned char *c2s, unsigned char *s2c)
{
    unsigned char rx[KeySize], tx[KeySize];
    const int rc = connector
            ? crypto_kx_client_session_keys(rx, tx, publicKey, secretKey, peerKey)
            : crypto_kx_server_session_keys(rx, tx, publicKey, secretKey, peerKey);
    if (rc != 0) {   // the peer's public key is a low-order point
        sodium_memzero(rx, sizeof rx);
        sodium_memzero(tx, sizeof tx);
        return false;
    }
    const unsigned char *keyC = connector ? publicKey : peerKey;
    const unsigned char *keyS = connector ? peerKey : publicKey;
    unsigned char transcript[32];
    blake2b(transcript, nullptr, {{preambleC, Wire::PreambleSize}, {keyC, KeySize},
                                  {preambleS, Wire::PreambleSize}, {keyS, KeySize}});
    blake2b(c2s, mixKey, {{"c2s", 3}, {connector ? tx : rx, KeySize}, {transcript, 32}});
    blake2b(s2c, mixKey, {{"s2c", 3}, {connector ? rx : tx, KeySize}, {transcript, 32}});
    sodium_memzero(rx, sizeof rx);
    sodium_memzero(tx, sizeof tx);
    return true;
}

Handshake::~Handshake() = default;

Handshake::State Handshake::fail(FrameError error)
{
    m_error = error;
    m_state = State::Failed;
    m_secrets.reset();
    return m_state;
}

qsizetype Handshake::bytesNeeded() const noexcept
{
    switch (m_state) {
    case State::AwaitingPeer:
        return m_side == Side::Connector ? AcceptorMessageSize : ConnectorMessageSize;
    case State::AwaitingHeader:
        return ConnectorFinishSize;
    default:
        return 0;
    }
}

QByteArray Handshake::start()
{
    if (m_side != Side::Connector || m_state != State::Start)
        return {};
    Secrets &s = *m_secrets;
    newEphemeral();
    const QByteArray pre = Wire::preamble(quint8(m_localRole));
    std::memcpy(s.preambleC, pre.constData(), Wire::PreambleSize);
    QByteArray out(ConnectorMessageSize, Qt::Uninitialized);
    auto *p = reinterpret_cast<unsigned char *>(out.data());
    std::memcpy(p, s.preambleC, Wire::PreambleSize);
    std::memcpy(p + Wire::PreambleSize, s.publicKey, KeySize);
    blake2b(p + Wire::PreambleSize + KeySize, s.macKey,
            {{"plexus-c", 8}, {s.preambleC, Wire::PreambleSize}, {s.publicKey, KeySize}});
    m_state = State::AwaitingPeer;
    return out;
}

// Session keys from the key exchange, the transcript and the mix key. Initialises the
// sealer for this side's direction; the opener's key waits in openKey.
void Handshake::deriveKeys(bool connector)
{
    Secrets &s = *m_secrets;
    unsigned char c2s[32], s2c[32];
    const bool ok = sessionKeys(connector, s.publicKey, s.secretKey, s.peerKey, s.preambleC,
                                s.preambleS, s.mixKey, c2s, s2c);
    sodium_memzero(s.secretKey, sizeof s.secretKey);   // forward secrecy starts here
    if (!ok) {
        fail(FrameError::BadHandshake);
        return;
    }
    std::memcpy(s.openKey, connector ? s2c : c2s, sizeof s.openKey);
    unsigned char header[Record::HeaderBytes];
    const bool sealerOk = m_sealer.init(connector ? c2s : s2c, header);
    sodium_memzero(c2s, sizeof c2s);
    sodium_memzero(s2c, sizeof s2c);
    if (!sealerOk)
        fail(FrameError::BadHandshake);
    else
        std::memcpy(s.peerKey, header, sizeof header);   // peerKey is spent: hold the header
}

FrameError Handshake::peek(const char *data, qsizetype size)
{
    if (m_state != State::AwaitingPeer || size < Wire::PreambleSize)
        return FrameError::NoError;
    quint8 role = 0;
    FrameError error = Wire::parsePreamble(QByteArrayView(data, Wire::PreambleSize), &role);
    if (error == FrameError::NoError && !validRole(role))
        error = FrameError::BadHandshake;
    if (error != FrameError::NoError)
        fail(error);
    return error;
}

Handshake::State Handshake::consume(const char *data, QByteArray *out)
{
    if (m_state == State::Failed || m_state == State::Done || m_state == State::Start)
        return m_state;
    const auto *in = reinterpret_cast<const unsigned char *>(data);

    if (m_state == State::AwaitingHeader) {   // acceptor: the connector's stream header
        const bool ok = m_opener.init(m_secrets->openKey, in);
        m_secrets.reset();
        if (!ok)
            return fail(FrameError::BadHandshake);
        return m_state = State::Done;
    }

    // The peer's key message: preamble, ephemeral key, MAC.
    Secrets &s = *m_secrets;
    quint8 role = 0;
    const FrameError pre = Wire::parsePreamble(QByteArrayView(data, Wire::PreambleSize), &role);
    if (pre != FrameError::NoError)
        return fail(pre);
    if (!validRole(role))
        return fail(FrameError::BadHandshake);
    m_peerRole = PeerRole(role);
    std::memcpy(s.peerKey, in + Wire::PreambleSize, KeySize);
    const unsigned char *mac = in + Wire::PreambleSize + KeySize;
    unsigned char expected[MacSize];

    if (m_side == Side::Acceptor) {
        std::memcpy(s.preambleC, in, Wire::PreambleSize);
        blake2b(expected, s.macKey,
                {{"plexus-c", 8}, {s.preambleC, Wire::PreambleSize}, {s.peerKey, KeySize}});
        if (crypto_verify_32(expected, mac) != 0)
            return fail(FrameError::AuthenticationFailed);
        newEphemeral();
        const QByteArray preS = Wire::preamble(quint8(m_localRole));
        std::memcpy(s.preambleS, preS.constData(), Wire::PreambleSize);
        const qsizetype at = out->size();
        out->resize(at + AcceptorMessageSize);
        auto *p = reinterpret_cast<unsigned char *>(out->data() + at);
        std::memcpy(p, s.preambleS, Wire::PreambleSize);
        std::memcpy(p + Wire::PreambleSize, s.publicKey, KeySize);
        blake2b(p + Wire::PreambleSize + KeySize, s.macKey,
                {{"plexus-s", 8}, {s.preambleC, Wire::PreambleSize}, {s.peerKey, KeySize},
                 {s.preambleS, Wire::PreambleSize}, {s.publicKey, KeySize}});
        deriveKeys(false);
        if (m_state == State::Failed) {
            out->resize(at);
            return m_state;
        }
        std::memcpy(p + ConnectorMessageSize, s.peerKey, Record::HeaderBytes);
        return m_state = State::AwaitingHeader;
    }

    // Connector: the acceptor's answer, with its stream header.
    std::memcpy(s.preambleS, in, Wire::PreambleSize);
    blake2b(expected, s.macKey,
            {{"plexus-s", 8}, {s.preambleC, Wire::PreambleSize}, {s.publicKey, KeySize},
             {s.preambleS, Wire::PreambleSize}, {s.peerKey, KeySize}});
    if (crypto_verify_32(expected, mac) != 0)
        return fail(FrameError::AuthenticationFailed);
    unsigned char peerHeader[Record::HeaderBytes];
    std::memcpy(peerHeader, in + ConnectorMessageSize, sizeof peerHeader);
    deriveKeys(true);
    if (m_state == State::Failed)
        return m_state;
    const bool ok = m_opener.init(s.openKey, peerHeader);
    out->append(reinterpret_cast<const char *>(s.peerKey), Record::HeaderBytes);
    m_secrets.reset();
    if (!ok)
        return fail(FrameError::BadHandshake);
    return m_state = State::Done;
}

// ---------------------------------------------------------------------------------------
// Hello and admission

QByteArray Handshake::helloPayload(PeerRole role, bool isExec)
{
    const QByteArray version = QByteArray(Plexus::version()).left(MaxVersionLength);
    QByteArray out(HelloFixedSize, '\0');
    out[0] = char(role);
    out[1] = char(isExec ? HelloExecFlag : 0);
    out.append(version);
    return out;
}

FrameError Handshake::parseHello(const Wire::Header &header, QByteArrayView payload,
                                 PeerIdentity *peer)
{
    if (header.privateFlags != Wire::Control || header.target != Wire::ControlHello)
        return FrameError::UnexpectedFrame;
    if (payload.size() < HelloFixedSize || payload.size() > HelloFixedSize + MaxVersionLength)
        return FrameError::BadHandshake;
    const quint8 role = quint8(payload[0]);
    const quint8 flags = quint8(payload[1]);
    if (!validRole(role) || (flags & ~HelloExecFlag))
        return FrameError::BadHandshake;
    for (qsizetype i = 2; i < HelloFixedSize; ++i) {
        if (payload[i] != 0)
            return FrameError::BadHandshake;
    }
    peer->role = PeerRole(role);
    peer->isExec = flags & HelloExecFlag;
    peer->machine = header.originMachine;
    peer->pid = qint64(header.originPid);
    peer->slot = header.originSlot;
    peer->version = QString::fromUtf8(payload.sliced(HelloFixedSize));
    return FrameError::NoError;
}

FrameError Handshake::admit(Scope scope, PeerRole localRole, quint64 localMachine, Side side,
                            const PeerIdentity &peer)
{
    if (peer.pid <= 0)
        return FrameError::BadHandshake;
    if (scope == Scope::Local) {
        // One machine: a worker connects to its master and shares its machine id.
        if (peer.machine != localMachine)
            return FrameError::BadHandshake;
        if (localRole == PeerRole::Master && side == Side::Acceptor)
            return peer.role == PeerRole::Worker && peer.slot >= 0 ? FrameError::NoError
                                                                   : FrameError::BadHandshake;
        if (localRole == PeerRole::Worker && side == Side::Connector)
            return peer.role == PeerRole::Master && peer.slot < 0 ? FrameError::NoError
                                                                  : FrameError::BadHandshake;
        return FrameError::BadHandshake;
    }
    // Cluster: masters (and monitors, role Peer) of two different machines.
    if (peer.machine == 0 || peer.machine == localMachine)
        return FrameError::BadHandshake;
    if (localRole != PeerRole::Master && localRole != PeerRole::Peer)
        return FrameError::BadHandshake;
    if (peer.role != PeerRole::Master && peer.role != PeerRole::Peer)
        return FrameError::BadHandshake;
    if (localRole == PeerRole::Peer && peer.role == PeerRole::Peer)
        return FrameError::BadHandshake;   // two monitors have nothing to say to each other
    return FrameError::NoError;
}

} // namespace Plexus
