#include "session/session.h"

#include <cstring>

#include "packet/parse.h"
#include "session/session_table.h"

namespace fw::session {

namespace {

// wyhash-style mixing: one 64x64->128 multiply folds two words with full avalanche.
constexpr uint64_t kP0 = 0xa0761d6478bd642fULL;
constexpr uint64_t kP1 = 0xe7037ed1a0b428dbULL;
constexpr uint64_t kP2 = 0x8ebc6af09c88c6e3ULL;
constexpr uint64_t kP3 = 0x589965cc75374cc3ULL;

inline uint64_t mix(uint64_t a, uint64_t b) {
  unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

inline uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint32_t load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace

uint64_t FlowKey::hash() const {
  // Everything that is not an address fits in one word; family is part of it so an
  // IPv4 key never equals the IPv6 key with the same leading bytes.
  const uint64_t meta = uint64_t{sport} | uint64_t{dport} << 16 | uint64_t{proto} << 32 |
                        uint64_t{vpn} << 40 | (uint64_t{src.family} << 56) |
                        (uint64_t{dst.family} << 60);
  uint64_t h;
  if (src.family == 6 || dst.family == 6) {
    // Only the bytes that operator== compares may influence the hash.
    const uint64_t s0 = load64(src.b.data()), s1 = src.family == 6 ? load64(src.b.data() + 8) : 0;
    const uint64_t d0 = load64(dst.b.data()), d1 = dst.family == 6 ? load64(dst.b.data() + 8) : 0;
    const uint64_t s0m = src.family == 6 ? s0 : (s0 & 0xffffffffULL);
    const uint64_t d0m = dst.family == 6 ? d0 : (d0 & 0xffffffffULL);
    h = mix(s0m ^ kP0, s1 ^ kP1) ^ mix(d0m ^ kP2, d1 ^ kP3);
    h = mix(h ^ meta, kP1);
  } else {
    const uint64_t addrs = uint64_t{load32(src.b.data())} | uint64_t{load32(dst.b.data())} << 32;
    h = mix(addrs ^ kP0, meta ^ kP1);
  }
  return mix(h ^ kP2, kP3 ^ 0x9e3779b97f4a7c15ULL);
}

// ---- TCP state and aging class -----------------------------------------------

std::string_view close_reason_name(CloseReason r) {
  static constexpr std::string_view kNames[] = {
      "aged-out",      "fin",        "rst",      "reset",
      "policy-change", "table-full", "shutdown", "half-open-limit"};
  const auto i = static_cast<size_t>(r);
  return i < std::size(kNames) ? kNames[i] : "?";
}

CloseReason closed_reason(const Session& s) {
  if (s.evlog & kEvlogRst) return CloseReason::kRst;
  if (s.evlog & kEvlogFin) return CloseReason::kFin;
  return CloseReason::kAgedOut;
}

std::string_view tcp_state_name(TcpState s) {
  switch (s) {
    case TcpState::kNone:
      return "none";
    case TcpState::kSynSent:
      return "syn-sent";
    case TcpState::kSynRecv:
      return "syn-recv";
    case TcpState::kEstablished:
      return "established";
    case TcpState::kFinWait:
      return "fin-wait";
    case TcpState::kClosing:
      return "closing";
  }
  return "unknown";
}

TcpState tcp_next(TcpState cur, Dir d, uint8_t flags) {
  using packet::kTcpAck;
  using packet::kTcpFin;
  using packet::kTcpRst;
  using packet::kTcpSyn;
  if (cur == TcpState::kClosing) return cur;
  if (flags & kTcpRst) return TcpState::kClosing;
  if (flags & kTcpFin) {
    // The state keeps no memory of which side closed first, so a second FIN is taken as
    // "both sides" (a side that sends FIN twice moves from first-fin to fin-rst aging early).
    return cur == TcpState::kFinWait ? TcpState::kClosing : TcpState::kFinWait;
  }
  if (cur == TcpState::kFinWait || cur == TcpState::kEstablished) return cur;

  const bool syn = flags & kTcpSyn;
  const bool ack = flags & kTcpAck;
  const bool orig = d == Dir::kOriginal;
  switch (cur) {
    case TcpState::kNone:
      if (syn) return (ack && !orig) ? TcpState::kSynRecv : TcpState::kSynSent;
      // Picked up mid-stream (no SYN seen): one side known; the other side confirms it.
      return TcpState::kSynSent;
    case TcpState::kSynSent:
      if (syn)
        return orig ? TcpState::kSynSent : TcpState::kSynRecv;  // SYN+ACK or simultaneous open
      if (!orig && ack) return TcpState::kEstablished;          // both ways seen without SYN+ACK
      return TcpState::kSynSent;
    case TcpState::kSynRecv:
      if (syn) return TcpState::kSynRecv;      // retransmitted SYN or SYN+ACK
      if (ack) return TcpState::kEstablished;  // handshake ACK, or data both ways
      return TcpState::kSynRecv;
    default:
      return cur;
  }
}

uint32_t timeout_for(const Timeouts& t, uint8_t proto, TcpState st, AgingClass established) {
  if (proto == packet::kProtoTcp) {
    switch (st) {
      case TcpState::kEstablished:
        break;
      case TcpState::kFinWait:
        return t.of(t.first_fin.value_or(t.fin_rst));
      case TcpState::kClosing:
        return t.of(t.fin_rst);
      default:  // kNone (not yet classified), kSynSent, kSynRecv
        return t.of(t.syn);
    }
  }
  return t.of(established);
}

std::string_view nat_kind_name(NatKind k) {
  switch (k) {
    case NatKind::kNone:
      return "none";
    case NatKind::kEasyIp:
      return "easy-ip";
    case NatKind::kPat:
      return "pat";
    case NatKind::kNoPat:
      return "no-pat";
    case NatKind::kNatServer:
      return "nat-server";
    case NatKind::kServerReverse:
      return "nat-server-reverse";
    case NatKind::kAspf:
      return "aspf";
  }
  return "?";
}

}  // namespace fw::session
