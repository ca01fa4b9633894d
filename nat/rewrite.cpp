#include "nat/rewrite.h"

#include <algorithm>
#include <cstring>

#include "common/bytes.h"
#include "packet/checksum.h"

namespace fw::nat {

using common::IpAddr;
using packet::Parsed;

namespace {

constexpr size_t kIpv4Header = 20;
constexpr size_t kIpv6Header = 40;
constexpr size_t kIpv4CsumAt = 10;

using common::rd16;
using common::wr16;

size_t src_at(uint8_t version) { return version == 4 ? 12 : 8; }
size_t dst_at(uint8_t version) { return version == 4 ? 16 : 24; }

IpAddr read_addr(const uint8_t* p, uint8_t version) {
  return version == 4 ? IpAddr::v4_bytes(p) : IpAddr::v6_bytes(p);
}
void write_addr(uint8_t* p, const IpAddr& a) { std::memcpy(p, a.b.data(), a.size()); }

// Fixed-size compares inline; IpAddr::operator== calls memcmp with a runtime
// size, which was a quarter of the fast path.
bool same_addr(const IpAddr& a, const IpAddr& b, uint8_t version) {
  return version == 4 ? std::memcmp(a.b.data(), b.b.data(), 4) == 0
                      : std::memcmp(a.b.data(), b.b.data(), 16) == 0;
}

bool is_echo_type(uint8_t proto, uint8_t type, bool* request) {
  if (proto == packet::kProtoIcmp) {
    *request = type == 8;
    return type == 8 || type == 0;
  }
  *request = type == 128;
  return type == 128 || type == 129;
}

bool is_error_type(uint8_t proto, uint8_t type) {
  if (proto == packet::kProtoIcmp) return type == 3 || type == 11 || type == 12;
  return type >= 1 && type <= 4;
}

// The transport checksum field, relative to the transport header.
struct CsumSlot {
  size_t at = 0;
  bool pseudo = false;  // covers the pseudo header (addresses)
};

// By protocol number alone, as packet::fix_checksums() does: ICMP carried
// over IPv6 (or ICMPv6 over IPv4) is nonsense, but it must stay as consistent
// as the checksum code sees it.
std::optional<CsumSlot> csum_slot(uint8_t proto) {
  switch (proto) {
    case packet::kProtoTcp:
      return CsumSlot{16, true};
    case packet::kProtoUdp:
      return CsumSlot{6, true};
    case packet::kProtoIcmp:
      return CsumSlot{2, false};
    case packet::kProtoIcmpv6:
      return CsumSlot{2, true};
    default:
      return std::nullopt;
  }
}

// Smallest transport header that holds every field we may touch; the parser
// guarantees it for real packets, a hand-made Parsed may not.
size_t min_l4_len(uint8_t proto) {
  switch (proto) {
    case packet::kProtoTcp:
      return 20;
    case packet::kProtoUdp:
    case packet::kProtoIcmp:
    case packet::kProtoIcmpv6:
      return 8;
    default:
      return 0;
  }
}

// Does `p` describe `pkt`? `p` comes from packet::parse() of these bytes (the
// extension-header chain is walked there, once); what rewriting relies on is
// checked again so that no field offset taken from `p` can reach outside the
// packet even if a caller hands over a view of another packet.
bool check_layout(std::span<const uint8_t> pkt, const Parsed& p) {
  const uint8_t* d = pkt.data();
  if (pkt.empty() || (p.ip_version != 4 && p.ip_version != 6)) return false;
  if ((d[0] >> 4) != p.ip_version) return false;
  if (p.ip_total_len > pkt.size() || p.l3_len > p.ip_total_len) return false;
  if (p.ip_version == 4) {
    if (p.l3_len < kIpv4Header || p.l3_len != static_cast<size_t>(d[0] & 0x0f) * 4) return false;
    if (rd16(d + 2) != p.ip_total_len || d[9] != p.proto) return false;
    uint16_t frag = rd16(d + 6) & 0x3fff;
    bool fragment = frag != 0, first = (frag & 0x1fff) == 0;
    if (fragment != p.is_fragment || (fragment && first != p.first_fragment)) return false;
  } else {
    if (p.l3_len < kIpv6Header || kIpv6Header + rd16(d + 4) != p.ip_total_len) return false;
  }
  if (p.l4_offset != p.l3_len) return false;
  const bool l4_expected = !(p.is_fragment && !p.first_fragment);
  if (p.has_l4 != l4_expected) return false;
  if (p.has_l4) {
    if (static_cast<size_t>(p.l4_offset) + p.l4_len > p.ip_total_len) return false;
    if (p.payload_offset != p.l4_offset + p.l4_len) return false;
    if (static_cast<size_t>(p.payload_offset) + p.payload_len > p.ip_total_len) return false;
    if (p.l4_len < min_l4_len(p.proto)) return false;
  }
  return true;
}

bool family_ok(const Endpoint* e, uint8_t version) { return !e || e->addr.family == version; }

struct FieldChange {
  uint16_t old_v = 0, new_v = 0;
};

// Rewrites the port-like fields of transport `proto` inside the first `avail`
// bytes of header `t` (fields that do not fit are skipped: quoted headers are
// truncated) and reports the changed 16-bit words for the checksum update.
//  - TCP/UDP: source and destination port.
//  - ICMP/ICMPv6 echo: the identifier belongs to the querier, so it follows
//    the source endpoint of a request and the destination endpoint of a reply;
//    the responder's endpoint has no port (a DNAT'ed echo keeps its id).
//  - GRE v1: the call id is the receiving peer's, so it follows the destination.
int rewrite_ports(uint8_t* t, size_t avail, uint8_t proto, const Endpoint* s, const Endpoint* d,
                  FieldChange out[2]) {
  int n = 0;
  auto set = [&](size_t at, uint16_t v) {
    if (at + 2 > avail) return;
    uint16_t old = rd16(t + at);
    if (old == v) return;
    wr16(t + at, v);
    out[n++] = FieldChange{old, v};
  };
  switch (proto) {
    case packet::kProtoTcp:
    case packet::kProtoUdp:
      if (s) set(0, s->port);
      if (d) set(2, d->port);
      break;
    case packet::kProtoIcmp:
    case packet::kProtoIcmpv6: {
      bool request = false;
      if (avail < 1 || !is_echo_type(proto, t[0], &request)) break;
      const Endpoint* querier = request ? s : d;
      if (querier) set(4, querier->port);
      break;
    }
    case packet::kProtoGre:
      // RFC 2637: version 1 with K (always, else the parser refused it).
      if (avail >= 2 && (rd16(t) & 0x0007) == 1 && (rd16(t) & 0x2000) && d) set(6, d->port);
      break;
    default:
      break;
  }
  return n;
}

// Addresses of an IP header before and after rewriting.
struct AddrChange {
  IpAddr old_src, old_dst;
  IpAddr src, dst;
  bool src_moved = false, dst_moved = false;
};

// Incremental (RFC 1624) update of a stored transport checksum after the address change `a`
// (into the pseudo header, if it has one: the destination only when `dst_in_pseudo`) and the
// field changes `ch`.
uint16_t update_l4_csum(uint16_t c, bool pseudo, const AddrChange& a, bool dst_in_pseudo,
                        const FieldChange* ch, int n) {
  if (pseudo) {
    if (a.src_moved) c = packet::csum_update_addr(c, a.old_src, a.src);
    if (a.dst_moved && dst_in_pseudo) c = packet::csum_update_addr(c, a.old_dst, a.dst);
  }
  for (int i = 0; i < n; ++i) c = packet::csum_update16(c, ch[i].old_v, ch[i].new_v);
  return c;
}

// Sets the source and/or destination (those given) of the IP header at `d`;
// only an address that changes is written.
AddrChange set_addrs(uint8_t* d, uint8_t v, const Endpoint* new_src, const Endpoint* new_dst) {
  // Old values come from the bytes, not from a Parsed: a caller that rewrites
  // twice with one Parsed still gets right checksums.
  const IpAddr old_src = read_addr(d + src_at(v), v);
  const IpAddr old_dst = read_addr(d + dst_at(v), v);
  const IpAddr& src = new_src ? new_src->addr : old_src;
  const IpAddr& dst = new_dst ? new_dst->addr : old_dst;
  AddrChange a{
      old_src, old_dst, src, dst, !same_addr(src, old_src, v), !same_addr(dst, old_dst, v)};
  if (a.src_moved) write_addr(d + src_at(v), a.src);
  if (a.dst_moved) write_addr(d + dst_at(v), a.dst);
  return a;
}

// Incremental update of the IPv4 header checksum at `d` for the moved addresses.
void update_ipv4_csum(uint8_t* d, const AddrChange& a) {
  uint16_t c = rd16(d + kIpv4CsumAt);
  if (a.src_moved) c = packet::csum_update_addr(c, a.old_src, a.src);
  if (a.dst_moved) c = packet::csum_update_addr(c, a.old_dst, a.dst);
  wr16(d + kIpv4CsumAt, c);
}

// The whole transport checksum (before the 0 -> 0xffff rule) of the unfragmented
// packet `p` at `t`, whose checksum field holds a partial pseudo-header sum
// (`old_field`); the field is zeroed for the sum.
uint16_t full_l4_csum(uint8_t* t, const Parsed& p, const CsumSlot& slot, uint16_t old_field,
                      const AddrChange& a) {
  const size_t l4_bytes = static_cast<size_t>(p.l4_len) + p.payload_len;
  uint32_t ph = 0;
  if (slot.pseudo) {
    if (p.routing_pending) {
      // We do not track the final destination; the partial sum the kernel
      // left in the field already covers it, so move only the source.
      uint16_t c = static_cast<uint16_t>(~old_field);
      if (a.src_moved) c = packet::csum_update_addr(c, a.old_src, a.src);
      ph = static_cast<uint16_t>(~c);
    } else {
      ph = packet::pseudo_header_sum(a.src, a.dst, p.proto, static_cast<uint32_t>(l4_bytes));
    }
  }
  wr16(t + slot.at, 0);
  return static_cast<uint16_t>(
      ~packet::csum_fold(packet::csum_add(ph, std::span<const uint8_t>(t, l4_bytes))));
}

// Is `p` an ICMP error of its own family, unfragmented, whose quoted packet
// starts right after the 8-byte ICMP header?
bool icmp_error_ok(std::span<const uint8_t> pkt, const Parsed& p) {
  if (!check_layout(pkt, p)) return false;
  const uint8_t icmp_proto = p.ip_version == 4 ? packet::kProtoIcmp : packet::kProtoIcmpv6;
  // A fragmented error would need the other fragments for its checksum.
  if (!p.icmp_error || p.proto != icmp_proto || !p.has_l4 || p.is_fragment) return false;
  if (!is_error_type(p.proto, pkt[p.l4_offset])) return false;
  return p.inner_offset == p.l4_offset + 8u && p.inner_offset <= p.ip_total_len;
}

// Quoted packet: addresses, its IPv4 header checksum, ports/id and its
// transport checksum as far as quoted.
void rewrite_quoted(std::span<uint8_t> inner, const Parsed& q, const Endpoint* inner_src,
                    const Endpoint* inner_dst) {
  const uint8_t v = q.ip_version;
  uint8_t* qd = inner.data();
  const AddrChange qa = set_addrs(qd, v, inner_src, inner_dst);
  if (v == 4) {
    // The quoted header is always whole (parse_quoted checked), and tiny:
    // recompute it so it is valid even if the router quoted it after
    // changing its TTL without fixing the checksum.
    wr16(qd + kIpv4CsumAt, 0);
    wr16(qd + kIpv4CsumAt, packet::csum(std::span<const uint8_t>(qd, q.l3_len)));
  }
  // Fields are rewritten as far as they are quoted, even below the 8 bytes
  // RFC 792 promises (has_l4 false); only a non-first fragment has none.
  if (q.is_fragment && !q.first_fragment) return;
  const size_t qend = std::min<size_t>(q.ip_total_len, inner.size());
  uint8_t* qt = qd + q.l4_offset;
  const size_t qavail = qend > q.l4_offset ? qend - q.l4_offset : 0;
  const std::optional<CsumSlot> slot = csum_slot(q.proto);
  const bool slot_quoted = slot && slot->at + 2 <= qavail;
  const uint16_t old_field = slot_quoted ? rd16(qt + slot->at) : 0;
  FieldChange changes[2];
  const int n = rewrite_ports(qt, qavail, q.proto, inner_src, inner_dst, changes);
  // Incremental even when the whole segment is quoted: the result must be
  // exactly what the inside host sent, which is what the forward rewrite
  // undone gives (full recomputation over a truncated quote cannot).
  if (slot_quoted && !(q.proto == packet::kProtoUdp && old_field == 0)) {
    uint16_t field = update_l4_csum(old_field, slot->pseudo, qa, true, changes, n);
    if (field == 0) field = 0xffff;  // as in rewrite()
    wr16(qt + slot->at, field);
  }
}

// Outer ICMP checksum over the whole message (errors are at most 576 /
// 1280 bytes). With a pending IPv6 routing header the final destination is
// unknown; such errors are not expected and get the header's destination.
void set_icmp_error_csum(uint8_t* t, const Parsed& p, const AddrChange& a) {
  const size_t l4_bytes = p.ip_total_len - p.l4_offset;
  uint32_t ph = 0;
  if (p.ip_version == 6) {
    ph = packet::pseudo_header_sum(a.src, a.dst, p.proto, static_cast<uint32_t>(l4_bytes));
  }
  wr16(t + 2, 0);
  wr16(t + 2, static_cast<uint16_t>(
                  ~packet::csum_fold(packet::csum_add(ph, std::span<const uint8_t>(t, l4_bytes)))));
}

}  // namespace

bool rewrite(std::span<uint8_t> pkt, const Parsed& p, const Endpoint* new_src,
             const Endpoint* new_dst, bool csum_not_ready) {
  if (!check_layout(pkt, p)) return false;
  const uint8_t v = p.ip_version;
  if (!family_ok(new_src, v) || !family_ok(new_dst, v)) return false;
  uint8_t* d = pkt.data();

  const AddrChange a = set_addrs(d, v, new_src, new_dst);
  if (v == 4 && (a.src_moved || a.dst_moved)) update_ipv4_csum(d, a);
  if (!p.has_l4) return true;  // non-first fragment: no transport header here

  uint8_t* t = d + p.l4_offset;
  const std::optional<CsumSlot> slot = csum_slot(p.proto);
  const uint16_t old_field = slot ? rd16(t + slot->at) : 0;
  FieldChange changes[2];
  const int n = rewrite_ports(t, p.l4_len, p.proto, new_src, new_dst, changes);
  if (!slot) return true;  // GRE v1, ESP, AH, ...: nothing checksums what we changed

  // UDP checksum 0 = "none" (IPv4; for IPv6 only tunnels may do it, RFC 6935):
  // keep the sender's choice. A partial sum is never 0 (it includes the protocol).
  if (p.proto == packet::kProtoUdp && old_field == 0) return true;

  uint16_t field;
  if (csum_not_ready && !p.is_fragment) {
    // The field holds a partial pseudo-header sum and the packet goes back as
    // CHECKSUM_NONE: compute the whole checksum. A first fragment never comes
    // as CHECKSUM_PARTIAL (the stack checksums before fragmenting), and its
    // checksum covers bytes we do not hold, so it takes the incremental path.
    field = full_l4_csum(t, p, *slot, old_field, a);
  } else {
    // A pending routing header's final destination is in the pseudo header, not ours.
    field = update_l4_csum(old_field, slot->pseudo, a, !p.routing_pending, changes, n);
  }
  // RFC 1624 eqn. 3 gives 0x0000 where a full sum gives 0xffff. Both read as
  // zero when the covered data sums to nonzero, but an ICMP message of only
  // zeros (echo reply, id 0, seq 0, no data) needs 0xffff; and UDP must never
  // send 0 (= no checksum). So a zero is always stored as 0xffff.
  if (field == 0) field = 0xffff;
  wr16(t + slot->at, field);
  return true;
}

bool rewrite_icmp_error(std::span<uint8_t> pkt, const Parsed& p, const Endpoint* outer_src,
                        const Endpoint* outer_dst, const Endpoint* inner_src,
                        const Endpoint* inner_dst) {
  if (!icmp_error_ok(pkt, p)) return false;
  const uint8_t v = p.ip_version;
  if (!family_ok(outer_src, v) || !family_ok(outer_dst, v) || !family_ok(inner_src, v) ||
      !family_ok(inner_dst, v)) {
    return false;
  }

  std::span<uint8_t> inner = pkt.subspan(p.inner_offset, p.ip_total_len - p.inner_offset);
  const std::optional<Parsed> q = packet::parse_quoted(inner);
  // An error about an error is never sent (RFC 1122 3.2.2), so never translated.
  if (!q || q->ip_version != v || q->icmp_error) return false;
  rewrite_quoted(inner, *q, inner_src, inner_dst);

  // Outer header.
  uint8_t* d = pkt.data();
  const AddrChange a = set_addrs(d, v, outer_src, outer_dst);
  if (v == 4) update_ipv4_csum(d, a);
  set_icmp_error_csum(d + p.l4_offset, p, a);
  return true;
}

}  // namespace fw::nat
