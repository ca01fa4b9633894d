#include "packet/parse.h"

#include <algorithm>

#include "common/bytes.h"
#include "packet/tcp_options.h"

namespace fw::packet {

using common::rd16;
using common::rd32;
using common::wr16;
using common::wr32;

namespace {

constexpr size_t kIpv4MinHeader = 20;
constexpr size_t kIpv6Header = 40;
constexpr int kMaxIpv6ExtHeaders = 8;
constexpr uint32_t kMaxDatagram = 65535;

constexpr uint8_t kNhHopByHop = 0;
constexpr uint8_t kNhRouting = 43;
constexpr uint8_t kNhFragment = 44;
constexpr uint8_t kNhDestOpts = 60;

constexpr uint16_t kGreC = 0x8000;
constexpr uint16_t kGreR = 0x4000;
constexpr uint16_t kGreK = 0x2000;
constexpr uint16_t kGreS = 0x1000;
constexpr uint16_t kGreA = 0x0080;
constexpr uint16_t kGreVersionMask = 0x0007;

// Whether the packet is parsed in full (as received) or as the truncated
// copy quoted in an ICMP error.
enum class Mode { kFull, kQuoted };

// Parser state shared by the IP and transport stages.
struct Cursor {
  const uint8_t* d = nullptr;
  size_t end = 0;  // end of the IP datagram inside the buffer (never past it)
};

bool is_icmp_error(uint8_t proto, uint8_t type) {
  if (proto == kProtoIcmp) return type == 3 || type == 11 || type == 12;
  return type >= 1 && type <= 4;  // ICMPv6
}

bool is_echo(uint8_t proto, uint8_t type, bool* request) {
  if (proto == kProtoIcmp) {
    *request = type == 8;
    return type == 8 || type == 0;
  }
  *request = type == 128;
  return type == 128 || type == 129;
}

// IPv4 and TCP options: one type-length layout (packet/tcp_options.h), bytes [begin, end) of d.
bool options_ok_at(const uint8_t* d, size_t begin, size_t end) {
  return options_ok(std::span<const uint8_t>(d + begin, end - begin));
}

// Hop-by-hop / destination options TLVs: Pad1 is one byte, the others are
// type, length, value.
bool ipv6_tlvs_ok(const uint8_t* d, size_t begin, size_t end) {
  size_t i = begin;
  while (i < end) {
    if (d[i] == 0) {
      ++i;
      continue;
    }
    if (i + 1 >= end) return false;
    size_t len = 2 + static_cast<size_t>(d[i + 1]);
    if (i + len > end) return false;
    i += len;
  }
  return true;
}

std::optional<Malformed> parse_ipv4(const Cursor& in, size_t n, Mode mode, Parsed& p, Cursor& out) {
  const uint8_t* d = in.d;
  if (n < kIpv4MinHeader) return Malformed::kTruncated;
  size_t ihl = static_cast<size_t>(d[0] & 0x0f) * 4;
  if (ihl < kIpv4MinHeader || ihl > n) return Malformed::kBadIhl;
  size_t total = rd16(d + 2);
  if (total < ihl) return Malformed::kBadTotalLength;
  // A quoted datagram is cut short by design; its length field still tells
  // the original size.
  if (mode == Mode::kFull && total > n) return Malformed::kBadTotalLength;
  if (!options_ok_at(d, kIpv4MinHeader, ihl)) return Malformed::kBadIpv4Options;

  p.ip_version = 4;
  p.ttl = d[8];
  p.proto = d[9];
  p.src = common::IpAddr::v4_bytes(d + 12);
  p.dst = common::IpAddr::v4_bytes(d + 16);
  p.l3_len = static_cast<uint16_t>(ihl);
  p.ip_total_len = static_cast<uint32_t>(total);
  p.frag_id = rd16(d + 4);

  uint16_t frag = rd16(d + 6);
  bool more = (frag & 0x2000) != 0;
  uint32_t offset = static_cast<uint32_t>(frag & 0x1fff) * 8;
  if (more || offset != 0) {
    p.is_fragment = true;
    p.first_fragment = offset == 0;
    if (mode == Mode::kFull) {
      uint32_t data_len = static_cast<uint32_t>(total - ihl);
      if (ihl + offset + data_len > kMaxDatagram) return Malformed::kBadFragment;
      // Every fragment but the last carries a non-empty multiple of 8 bytes
      // (RFC 791); anything else is an evasion attempt, not a real sender.
      if (more && (data_len == 0 || data_len % 8 != 0)) return Malformed::kBadFragment;
    }
  }
  out.d = d;
  out.end = std::min(total, n);
  return std::nullopt;
}

// Walk over the IPv6 extension header chain.
struct Ipv6Chain {
  const uint8_t* d = nullptr;
  size_t end = 0;  // end of the datagram inside the buffer
  Mode mode = Mode::kFull;
  uint8_t nh = 0;  // next header: the one at `off`
  size_t off = kIpv6Header;
  int count = 0;
  bool seen_fragment = false;
};

// Hop-by-hop, routing or destination options header at ch.off.
std::optional<Malformed> ipv6_options_header(Ipv6Chain& ch, Parsed& p) {
  const uint8_t* d = ch.d;
  const size_t off = ch.off;
  // Hop-by-hop is only allowed right after the fixed header (RFC 8200 4.3).
  if (ch.nh == kNhHopByHop && ch.count != 0) return Malformed::kBadIpv6ExtHeader;
  if (++ch.count > kMaxIpv6ExtHeaders) return Malformed::kBadIpv6ExtHeader;
  if (off + 8 > ch.end) return Malformed::kBadIpv6ExtHeader;
  size_t len = (static_cast<size_t>(d[off + 1]) + 1) * 8;
  if (off + len > ch.end) return Malformed::kBadIpv6ExtHeader;
  if (ch.nh != kNhRouting && !ipv6_tlvs_ok(d, off + 2, off + len)) {
    return Malformed::kBadIpv6ExtHeader;
  }
  if (ch.nh == kNhRouting && d[off + 3] != 0) p.routing_pending = true;
  ch.nh = d[off];
  ch.off = off + len;
  return std::nullopt;
}

// Fragment header at ch.off. Sets `last` when the rest of the chain is not in
// this packet.
std::optional<Malformed> ipv6_fragment_header(Ipv6Chain& ch, Parsed& p, bool& last) {
  const uint8_t* d = ch.d;
  const size_t off = ch.off;
  if (ch.seen_fragment) return Malformed::kBadFragment;
  ch.seen_fragment = true;
  if (++ch.count > kMaxIpv6ExtHeaders) return Malformed::kBadIpv6ExtHeader;
  if (off + 8 > ch.end) return Malformed::kBadIpv6ExtHeader;
  uint16_t fo = rd16(d + off + 2);
  uint32_t offset = fo & 0xfff8u;  // 13-bit offset in 8-byte units, already scaled
  bool more = (fo & 1) != 0;
  p.frag_id = rd32(d + off + 4);
  ch.nh = d[off];
  size_t unfragmentable = off - kIpv6Header;
  ch.off = off + 8;
  // An "atomic fragment" (offset 0, M clear) is a whole datagram
  // (RFC 6946): it is processed as if unfragmented.
  if (more || offset != 0) {
    p.is_fragment = true;
    p.first_fragment = offset == 0;
    if (ch.mode == Mode::kFull) {
      size_t data_len = ch.end - ch.off;
      if (unfragmentable + offset + data_len > kMaxDatagram) return Malformed::kBadFragment;
      if (more && (data_len == 0 || data_len % 8 != 0)) return Malformed::kBadFragment;
    }
    if (offset != 0) last = true;  // the rest of the chain is in the first fragment
  }
  return std::nullopt;
}

std::optional<Malformed> parse_ipv6(const Cursor& in, size_t n, Mode mode, Parsed& p, Cursor& out) {
  const uint8_t* d = in.d;
  if (n < kIpv6Header) return Malformed::kTruncated;
  size_t total = kIpv6Header + rd16(d + 4);
  // Payload length 0 would mean a jumbogram (RFC 2675); we never see one
  // because NFQUEUE caps packets at 64 KiB, so it is checked like any other.
  if (mode == Mode::kFull && total > n) return Malformed::kBadTotalLength;
  size_t end = std::min(total, n);

  p.ip_version = 6;
  p.ttl = d[7];
  p.src = common::IpAddr::v6_bytes(d + 8);
  p.dst = common::IpAddr::v6_bytes(d + 24);
  p.ip_total_len = static_cast<uint32_t>(total);

  Ipv6Chain ch{.d = d, .end = end, .mode = mode, .nh = d[6]};
  for (;;) {
    if (ch.nh == kNhHopByHop || ch.nh == kNhRouting || ch.nh == kNhDestOpts) {
      if (auto err = ipv6_options_header(ch, p)) return err;
      continue;
    }
    if (ch.nh == kNhFragment) {
      bool last = false;
      if (auto err = ipv6_fragment_header(ch, p, last)) return err;
      if (last) break;
      continue;
    }
    break;
  }
  p.proto = ch.nh;
  p.l3_len = static_cast<uint16_t>(ch.off);
  out.d = d;
  out.end = end;
  return std::nullopt;
}

// The transport header of a complete (or first-fragment) packet, as the
// per-protocol parsers below see it.
struct L4View {
  const uint8_t* t = nullptr;  // start of the transport header
  size_t offset = 0;           // its offset in the datagram
  size_t avail = 0;            // bytes from it to the end of the datagram
  bool frag = false;           // a first fragment
};

// What a per-protocol parser found: header and payload lengths.
struct L4Len {
  size_t hdr = 0;
  size_t payload = 0;
};

// ICMP / ICMPv6 type, code and echo id; `inner_offset` is where the quoted
// packet of an error starts.
inline void read_icmp(const uint8_t* t, uint16_t inner_offset, Parsed& p) {
  p.icmp_type = t[0];
  p.icmp_code = t[1];
  bool request = false;
  if (is_echo(p.proto, p.icmp_type, &request)) {
    p.icmp_echo = true;
    p.icmp_echo_request = request;
    p.sport = p.dport = rd16(t + 4);
  } else if (is_icmp_error(p.proto, p.icmp_type)) {
    p.icmp_error = true;
    p.inner_offset = inner_offset;
  }
}

inline std::optional<Malformed> parse_tcp(const L4View& v, Parsed& p, L4Len& len) {
  const uint8_t* t = v.t;
  if (v.avail < 20) return Malformed::kTruncated;
  size_t doff = static_cast<size_t>(t[12] >> 4) * 4;
  if (doff < 20) return Malformed::kBadTcpOffset;
  if (doff > v.avail) return v.frag ? Malformed::kTruncated : Malformed::kBadTcpOffset;
  if (!options_ok_at(t, 20, doff)) return Malformed::kBadTcpOptions;
  p.sport = rd16(t);
  p.dport = rd16(t + 2);
  p.seq = rd32(t + 4);
  p.ack = rd32(t + 8);
  p.tcp_flags = t[13];
  p.window = rd16(t + 14);
  len.hdr = doff;
  len.payload = v.avail - doff;
  return std::nullopt;
}

inline std::optional<Malformed> parse_udp(const L4View& v, Parsed& p, L4Len& len) {
  const uint8_t* t = v.t;
  if (v.avail < 8) return Malformed::kTruncated;
  size_t ulen = rd16(t + 4);
  if (ulen < 8) return Malformed::kBadUdpLength;
  if (!v.frag && ulen > v.avail) return Malformed::kBadUdpLength;
  p.sport = rd16(t);
  p.dport = rd16(t + 2);
  len.hdr = 8;
  // In a first fragment the length covers the reassembled datagram.
  len.payload = std::min(ulen, v.avail) - 8;
  return std::nullopt;
}

inline std::optional<Malformed> parse_icmp(const L4View& v, Parsed& p, L4Len& len) {
  if (v.avail < 8) return Malformed::kBadIcmp;
  read_icmp(v.t, static_cast<uint16_t>(v.offset + 8), p);
  len.hdr = 8;
  len.payload = v.avail - 8;
  return std::nullopt;
}

// Length of a GRE header (`need`) and where its key is (`key_at`, 0: none),
// from its flags and version.
inline std::optional<Malformed> gre_layout(uint16_t flags, uint8_t version, size_t& need,
                                           size_t& key_at) {
  if (version == 0) {
    // RFC 2784: a receiver without RFC 1701 support discards packets with
    // the routing bit; C, K and S (RFC 2890) add 4 bytes each.
    if (flags & kGreR) return Malformed::kBadGre;
    if (flags & kGreC) need += 4;
    if (flags & kGreK) {
      key_at = need;
      need += 4;
    }
    if (flags & kGreS) need += 4;
  } else if (version == 1) {
    // RFC 2637: enhanced GRE always has the key (payload length, call id);
    // checksum and routing are never present.
    if (!(flags & kGreK) || (flags & (kGreC | kGreR))) return Malformed::kBadGre;
    key_at = 4;
    need = 8;
    if (flags & kGreS) need += 4;
    if (flags & kGreA) need += 4;
  } else {
    return Malformed::kBadGre;
  }
  return std::nullopt;
}

inline std::optional<Malformed> parse_gre(const L4View& v, Parsed& p, L4Len& len) {
  if (v.avail < 4) return Malformed::kTruncated;
  uint16_t flags = rd16(v.t);
  uint8_t version = flags & kGreVersionMask;
  p.gre_version = version;
  size_t need = 4;
  size_t key_at = 0;
  if (auto err = gre_layout(flags, version, need, key_at)) return err;
  if (need > v.avail) return v.frag ? Malformed::kTruncated : Malformed::kBadGre;
  if (key_at != 0) {
    p.gre_has_key = true;
    p.gre_key = rd32(v.t + key_at);
    if (version == 1) p.dport = static_cast<uint16_t>(p.gre_key & 0xffff);
  }
  len.hdr = need;
  len.payload = v.avail - need;
  return std::nullopt;
}

inline std::optional<Malformed> parse_esp(const L4View& v, Parsed& p, L4Len& len) {
  if (v.avail < 8) return Malformed::kTruncated;
  p.spi = rd32(v.t);
  len.hdr = 8;
  len.payload = v.avail - 8;
  return std::nullopt;
}

inline std::optional<Malformed> parse_ah(const L4View& v, Parsed& p, L4Len& len) {
  if (v.avail < 12) return Malformed::kTruncated;
  size_t ah_len = (static_cast<size_t>(v.t[1]) + 2) * 4;
  if (ah_len < 12 || ah_len > v.avail) return Malformed::kTruncated;
  p.spi = rd32(v.t + 4);
  len.hdr = ah_len;
  len.payload = v.avail - ah_len;
  return std::nullopt;
}

// Transport header of a complete (or first-fragment) packet.
std::optional<Malformed> parse_l4_full(const Cursor& c, Parsed& p) {
  size_t l4 = p.l3_len;
  size_t avail = c.end - l4;
  p.l4_offset = static_cast<uint16_t>(l4);
  if (p.is_fragment && !p.first_fragment) {
    p.has_l4 = false;
    p.payload_offset = static_cast<uint16_t>(l4);
    p.payload_len = static_cast<uint16_t>(avail);
    return std::nullopt;
  }
  // In a first fragment a header that does not fit was cut by the boundary;
  // in a whole packet it is a lie of the header itself.
  const L4View v{.t = c.d + l4, .offset = l4, .avail = avail, .frag = p.is_fragment};
  L4Len len;
  std::optional<Malformed> err;
  switch (p.proto) {
    case kProtoTcp:
      err = parse_tcp(v, p, len);
      break;
    case kProtoUdp:
      err = parse_udp(v, p, len);
      break;
    case kProtoIcmp:
    case kProtoIcmpv6:
      err = parse_icmp(v, p, len);
      break;
    case kProtoGre:
      err = parse_gre(v, p, len);
      break;
    case kProtoEsp:
      err = parse_esp(v, p, len);
      break;
    case kProtoAh:
      err = parse_ah(v, p, len);
      break;
    default:
      len.hdr = 0;
      len.payload = avail;
      break;
  }
  if (err) return err;
  p.has_l4 = true;
  p.l4_len = static_cast<uint16_t>(len.hdr);
  p.payload_offset = static_cast<uint16_t>(l4 + len.hdr);
  p.payload_len = static_cast<uint16_t>(len.payload);
  return std::nullopt;
}

// GRE fields of a quoted packet within its first `avail` bytes.
inline void read_gre_quoted(const uint8_t* t, size_t avail, Parsed& p) {
  uint16_t flags = rd16(t);
  p.gre_version = flags & kGreVersionMask;
  if (p.gre_version == 1 && (flags & kGreK)) {
    p.gre_has_key = true;
    p.gre_key = rd32(t + 4);
    p.dport = static_cast<uint16_t>(p.gre_key & 0xffff);
  } else if (p.gre_version == 0 && (flags & kGreK)) {
    size_t key_at = (flags & kGreC) ? 8 : 4;
    if (key_at + 4 <= avail) {
      p.gre_has_key = true;
      p.gre_key = rd32(t + key_at);
    }
  }
}

// Transport fields of a quoted packet: only the first 8 bytes are promised
// (RFC 792), so nothing past them is read or validated.
void parse_l4_quoted(const Cursor& c, size_t n, Parsed& p) {
  size_t l4 = p.l3_len;
  size_t avail = c.end - l4;
  p.l4_offset = static_cast<uint16_t>(l4);
  p.payload_offset = static_cast<uint16_t>(l4);
  p.payload_len = static_cast<uint16_t>(avail);
  if ((p.is_fragment && !p.first_fragment) || avail < 8) return;
  const uint8_t* t = c.d + l4;
  switch (p.proto) {
    case kProtoTcp:
      p.sport = rd16(t);
      p.dport = rd16(t + 2);
      p.seq = rd32(t + 4);
      break;
    case kProtoUdp:
      p.sport = rd16(t);
      p.dport = rd16(t + 2);
      break;
    case kProtoIcmp:
    case kProtoIcmpv6:
      // An error about an error: reported so the caller can drop it, never
      // followed further.
      read_icmp(t, static_cast<uint16_t>(std::min(l4 + 8, n)), p);
      break;
    case kProtoGre:
      read_gre_quoted(t, avail, p);
      break;
    case kProtoEsp:
      p.spi = rd32(t);
      break;
    case kProtoAh:
      p.spi = rd32(t + 4);
      break;
    default:
      break;
  }
  p.has_l4 = true;
  p.l4_len = 8;
  p.payload_offset = static_cast<uint16_t>(l4 + 8);
  p.payload_len = static_cast<uint16_t>(avail - 8);
}

ParseResult parse_any(std::span<const uint8_t> pkt, Mode mode) {
  Parsed p;
  size_t n = pkt.size();
  if (n == 0) return Malformed::kTruncated;
  Cursor in{pkt.data(), n};
  Cursor c;
  std::optional<Malformed> err;
  switch (pkt[0] >> 4) {
    case 4:
      err = parse_ipv4(in, n, mode, p, c);
      break;
    case 6:
      err = parse_ipv6(in, n, mode, p, c);
      break;
    default:
      return Malformed::kBadVersion;
  }
  if (err) return *err;
  if (mode == Mode::kFull) {
    err = parse_l4_full(c, p);
    if (err) return *err;
  } else {
    parse_l4_quoted(c, n, p);
  }
  return p;
}

}  // namespace

std::string_view malformed_name(Malformed m) {
  switch (m) {
    case Malformed::kTruncated:
      return "truncated";
    case Malformed::kBadVersion:
      return "bad-version";
    case Malformed::kBadIhl:
      return "bad-ihl";
    case Malformed::kBadTotalLength:
      return "bad-total-length";
    case Malformed::kBadIpv4Options:
      return "bad-ipv4-options";
    case Malformed::kBadIpv6ExtHeader:
      return "bad-ipv6-ext-header";
    case Malformed::kBadTcpOffset:
      return "bad-tcp-offset";
    case Malformed::kBadTcpOptions:
      return "bad-tcp-options";
    case Malformed::kBadUdpLength:
      return "bad-udp-length";
    case Malformed::kBadIcmp:
      return "bad-icmp";
    case Malformed::kBadGre:
      return "bad-gre";
    case Malformed::kBadFragment:
      return "bad-fragment";
  }
  return "unknown";
}

ParseResult parse(std::span<const uint8_t> pkt) { return parse_any(pkt, Mode::kFull); }

std::optional<Parsed> parse_quoted(std::span<const uint8_t> inner) {
  ParseResult r = parse_any(inner, Mode::kQuoted);
  if (auto* p = std::get_if<Parsed>(&r)) return *p;
  return std::nullopt;
}

}  // namespace fw::packet
