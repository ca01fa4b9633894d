#include "fwd/guard.h"

#include <algorithm>
#include <array>

namespace fw::fwd {

namespace {

using packet::kTcpAck;
using packet::kTcpFin;
using packet::kTcpRst;
using packet::kTcpSyn;
using packet::kTcpUrg;

// Not unicast: unspecified, IPv4 limited broadcast, class D/E (224/3), IPv6 multicast (ff00::/8).
bool unicast(const common::IpAddr& a) {
  if (a.is_v4()) {
    if (a.v4_host() == 0) return false;
    return a.b[0] < 224;
  }
  static const std::array<uint8_t, 16> kZero{};
  return a.b != kZero && a.b[0] != 0xff;
}

}  // namespace

bool tcp_flags_valid(uint8_t flags) {
  switch (flags & (kTcpFin | kTcpSyn | kTcpRst | kTcpAck | kTcpUrg)) {
    case kTcpSyn:
    case kTcpSyn | kTcpUrg:
    case kTcpSyn | kTcpAck:
    case kTcpRst:
    case kTcpRst | kTcpAck:
    case kTcpFin | kTcpAck:
    case kTcpFin | kTcpAck | kTcpUrg:
    case kTcpAck:
    case kTcpAck | kTcpUrg:
      return true;
    default:
      return false;
  }
}

Bogus bogus_packet(const packet::Parsed& p, bool loopback) {
  if (!loopback && p.src == p.dst) return Bogus::kLand;
  if (!p.has_l4) return Bogus::kNone;
  if (p.proto == packet::kProtoTcp && !tcp_flags_valid(p.tcp_flags)) return Bogus::kTcpFlags;
  if ((p.proto == packet::kProtoTcp || p.proto == packet::kProtoUdp) &&
      (p.sport == 0 || p.dport == 0))
    return Bogus::kPortZero;
  return Bogus::kNone;
}

bool urpf_passes(config::Urpf mode, const RouteInfo& back, uint32_t indev) {
  switch (mode) {
    case config::Urpf::kOff:
      return true;
    case config::Urpf::kLoose:
      return back.ok && !back.local;
    case config::Urpf::kStrict:
      return back.ok && !back.local && back.oif == indev;
  }
  return false;
}

bool may_answer_unreachable(const packet::Parsed& p) {
  if (p.icmp_error) return false;
  if (p.is_fragment && !p.first_fragment) return false;
  return unicast(p.src) && unicast(p.dst);
}

}  // namespace fw::fwd
