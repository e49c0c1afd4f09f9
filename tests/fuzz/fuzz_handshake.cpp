// SPDX-License-Identifier: MIT
/*
    libFuzzer target for the acceptor side of the v2 handshake and the Hello rules: what an
    unauthenticated peer can send to a listening master. An acceptor Handshake with a fixed
    pre-shared key (fuzz_common.h) consumes the input as Link::processHandshake does: while
    fewer than bytesNeeded() bytes are there, peek() judges the preamble early; then
    consume() takes exactly bytesNeeded(). The input arrives in pieces (split points drawn
    from the input), so peek() sees every kind of partial message.

    Whatever follows the handshake is taken as the plaintext the record layer would deliver
    (records themselves are fuzz_record_reader's job): a frame header (Wire::decodeHeader)
    and payload for Handshake::parseHello, and the identity for Handshake::admit under every
    scope, local role and side. Nothing may crash or trip a sanitizer, and admit() may only
    let through what its rules allow.

    Input layout: connector message (preamble | e_c | mac_c, 80 bytes), the connector's
    stream header (24 bytes), then the Hello frame (64-byte header, payload).
    make_frame_corpus writes seeds with a MAC that verifies under the fuzzer's key.
*/
#include "fuzz_common.h"
#include "handshake_p.h"

#include <cstdint>
#include <cstring>

using namespace Plexus;
using PlexusFuzz::LocalMachine;

namespace {

[[noreturn]] void fail(const char *what)
{
    PlexusFuzz::fail("fuzz_handshake", what);
}

// Runs the acceptor over \a input like Link::processHandshake; returns the bytes it left.
QByteArrayView handshake(QByteArrayView input, const uint8_t *data, size_t size)
{
    Handshake hs(Handshake::Side::Acceptor, PeerRole::Master, PlexusFuzz::handshakePsk());
    if (hs.state() != Handshake::State::AwaitingPeer || hs.bytesNeeded() != Handshake::ConnectorMessageSize)
        fail("acceptor does not wait for the connector");
    if (!hs.start().isEmpty())
        fail("acceptor start() sent something");
    PlexusFuzz::Splitter split(quint8(size), data, size);
    qsizetype arrived = 0, used = 0;
    do {
        arrived = qMin(input.size(), arrived + split.next());
        for (;;) {   // processHandshake, as often as it progresses
            const qsizetype need = hs.bytesNeeded();
            if (need == 0)
                return input.sliced(used);
            const qsizetype pending = arrived - used;
            if (pending < need) {
                const FrameError early = hs.peek(input.data() + used, pending);
                if (early != FrameError::NoError) {
                    if (hs.state() != Handshake::State::Failed || hs.error() != early || hs.bytesNeeded() != 0)
                        fail("peek() refused without failing the handshake");
                    if (pending < Wire::PreambleSize)
                        fail("peek() judged an incomplete preamble");
                    return input.sliced(used);
                }
                break;
            }
            const Handshake::State before = hs.state();
            QByteArray reply;
            const Handshake::State st = hs.consume(input.data() + used, &reply);
            used += need;
            switch (st) {
            case Handshake::State::Failed:
                if (hs.error() == FrameError::NoError || hs.bytesNeeded() != 0 || hs.canReceive())
                    fail("failed without a reason");
                return input.sliced(used);
            case Handshake::State::AwaitingHeader:
                // Only a connector message with a valid MAC (the seeds) gets here.
                if (before != Handshake::State::AwaitingPeer || reply.size() != Handshake::AcceptorMessageSize
                    || !reply.startsWith(Wire::preamble(quint8(PeerRole::Master))) || !hs.canSend()
                    || hs.canReceive() || hs.bytesNeeded() != Handshake::ConnectorFinishSize)
                    fail("acceptor answer");
                break;
            case Handshake::State::Done:
                if (before != Handshake::State::AwaitingHeader || !reply.isEmpty() || !hs.canReceive()
                    || !hs.canSend() || hs.peerPreambleRole() == PeerRole::Unknown)
                    fail("acceptor done");
                break;
            default:
                fail("consume() left the handshake in an impossible state");
            }
        }
    } while (arrived < input.size());   // else the link waits for more (or times out)
    return input.sliced(used);
}

void checkAdmit(const PeerIdentity &peer)
{
    for (auto scope : {Handshake::Scope::Local, Handshake::Scope::Cluster}) {
        for (auto role : {PeerRole::Unknown, PeerRole::Master, PeerRole::Worker, PeerRole::Peer}) {
            for (auto side : {Handshake::Side::Acceptor, Handshake::Side::Connector}) {
                const FrameError e = Handshake::admit(scope, role, LocalMachine, side, peer);
                if (e == FrameError::NoError) {
                    if (peer.pid <= 0)
                        fail("admitted a peer without a pid");
                    const bool local = scope == Handshake::Scope::Local;
                    if (local && peer.machine != LocalMachine)
                        fail("admitted another machine on a local link");
                    if (!local && (peer.machine == 0 || peer.machine == LocalMachine))
                        fail("admitted this machine on a cluster link");
                    if (local && !(role == PeerRole::Master && peer.role == PeerRole::Worker && peer.slot >= 0)
                        && !(role == PeerRole::Worker && peer.role == PeerRole::Master && peer.slot < 0))
                        fail("admitted a role pair a local link does not join");
                    if (!local && (role == PeerRole::Worker || role == PeerRole::Unknown
                                   || peer.role == PeerRole::Worker || peer.role == PeerRole::Unknown
                                   || (role == PeerRole::Peer && peer.role == PeerRole::Peer)))
                        fail("admitted a role pair a cluster link does not join");
                } else if (e != FrameError::BadHandshake) {
                    fail("admit: unexpected error");
                }
            }
        }
    }
}

void hello(QByteArrayView rest)
{
    if (rest.size() < Wire::HeaderSize)
        return;
    const Wire::Header h = Wire::decodeHeader(rest.data());
    const QByteArrayView payload = rest.sliced(Wire::HeaderSize, qMin(qsizetype(h.length), rest.size() - Wire::HeaderSize));
    PeerIdentity peer;
    const FrameError e = Handshake::parseHello(h, payload, &peer);
    if (e == FrameError::NoError) {
        if (h.privateFlags != Wire::Control || h.target != Wire::ControlHello)
            fail("parseHello accepted a frame that is no Hello");
        if (peer.machine != h.originMachine || peer.pid != qint64(h.originPid) || peer.slot != h.originSlot
            || peer.role < PeerRole::Master || peer.role > PeerRole::Peer)
            fail("parseHello: identity");
        if (peer.version.size() > payload.size())
            fail("parseHello: version longer than the payload");
    } else if (e != FrameError::UnexpectedFrame && e != FrameError::BadHandshake) {
        fail("parseHello: unexpected error");
    } else {
        // admit() on whatever the frame says, Hello or not: its rules must hold for any input.
        peer.machine = h.originMachine;
        peer.pid = qint64(h.originPid);
        peer.slot = h.originSlot;
        peer.role = PeerRole(payload.isEmpty() ? quint8(h.flags) : quint8(payload[0]));
    }
    checkAdmit(peer);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    if (!Crypto::initialize() || !PlexusFuzz::handshakePsk().isValid())
        fail("libsodium");
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    const QByteArrayView input(reinterpret_cast<const char *>(data), qsizetype(size));
    hello(handshake(input, data, size));
    return 0;
}
