#include "packet/checksum.h"

#include "common/bytes.h"
#include "packet/parse.h"

namespace fw::packet {

using common::rd16;
using common::rd32;
using common::wr16;
using common::wr32;

namespace {

// Folds a 64-bit accumulator into 32 bits with end-around carry; since
// 2^32 == 1 (mod 0xffff) the one's-complement value is unchanged.
uint32_t fold64(uint64_t s) {
  while (s >> 32) s = (s & 0xffffffffu) + (s >> 32);
  return static_cast<uint32_t>(s);
}

// Where the transport checksum lives and whether a pseudo header covers it.
struct L4Csum {
  size_t field = 0;  // offset of the checksum field in the packet
  bool pseudo = false;
};

std::optional<L4Csum> l4_checksum_slot(const Parsed& p) {
  switch (p.proto) {
    case kProtoTcp:
      return L4Csum{p.l4_offset + 16u, true};
    case kProtoUdp:
      return L4Csum{p.l4_offset + 6u, true};
    case kProtoIcmp:
      return L4Csum{p.l4_offset + 2u, false};
    case kProtoIcmpv6:
      return L4Csum{p.l4_offset + 2u, true};
    default:
      return std::nullopt;
  }
}

// The transport checksum covers data we hold in full only for a whole
// (unfragmented) datagram whose pseudo header we can build.
bool transport_checksummable(const Parsed& p) {
  return p.has_l4 && !p.is_fragment && !p.routing_pending;
}

}  // namespace

uint32_t csum_add(uint32_t sum, std::span<const uint8_t> data) {
  uint64_t acc = sum;
  const uint8_t* d = data.data();
  size_t n = data.size();
  size_t i = 0;
  // Big-endian 32-bit words: each adds its two 16-bit halves at once, and a
  // 64-bit accumulator cannot overflow for any packet-sized input.
  for (; i + 4 <= n; i += 4) acc += rd32(d + i);
  if (i + 2 <= n) {
    acc += rd16(d + i);
    i += 2;
  }
  if (i < n) acc += static_cast<uint32_t>(d[i]) << 8;  // odd byte, zero padded
  return fold64(acc);
}

uint16_t csum_fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

uint16_t csum(std::span<const uint8_t> data) {
  return static_cast<uint16_t>(~csum_fold(csum_add(0, data)));
}

uint32_t pseudo_header_sum(const common::IpAddr& src, const common::IpAddr& dst, uint8_t proto,
                           uint32_t l4_len) {
  // IPv4 carries a 16-bit length, IPv6 a 32-bit one; summing both halves
  // covers either, as the high half is zero for IPv4.
  uint64_t acc = csum_add(0, std::span<const uint8_t>(src.b.data(), src.size()));
  acc += csum_add(0, std::span<const uint8_t>(dst.b.data(), dst.size()));
  acc += proto;
  acc += l4_len >> 16;
  acc += l4_len & 0xffff;
  return fold64(acc);
}

uint16_t csum_update16(uint16_t c, uint16_t old_v, uint16_t new_v) {
  uint32_t s = static_cast<uint16_t>(~c);
  s += static_cast<uint16_t>(~old_v);
  s += new_v;
  return static_cast<uint16_t>(~csum_fold(s));
}

uint16_t csum_update32(uint16_t c, uint32_t old_v, uint32_t new_v) {
  uint32_t s = static_cast<uint16_t>(~c);
  s += static_cast<uint16_t>(~(old_v >> 16));
  s += static_cast<uint16_t>(~old_v);
  s += new_v >> 16;
  s += new_v & 0xffff;
  return static_cast<uint16_t>(~csum_fold(s));
}

uint16_t csum_update_addr(uint16_t c, const common::IpAddr& old_a, const common::IpAddr& new_a) {
  uint64_t s = static_cast<uint16_t>(~c);
  for (size_t i = 0; i < old_a.size(); i += 2) {
    s += static_cast<uint16_t>(~rd16(old_a.b.data() + i));
  }
  for (size_t i = 0; i < new_a.size(); i += 2) s += rd16(new_a.b.data() + i);
  return static_cast<uint16_t>(~csum_fold(fold64(s)));
}

bool fix_checksums(std::span<uint8_t> pkt, bool partial) {
  ParseResult r = parse(pkt);
  const Parsed* p = std::get_if<Parsed>(&r);
  return p && fix_checksums(pkt, *p, partial);
}

bool fix_checksums(std::span<uint8_t> pkt, const Parsed& parsed, bool partial) {
  const Parsed* p = &parsed;
  const size_t min_l3 = p->ip_version == 4 ? 20 : 40;
  if (p->ip_total_len > pkt.size() || p->l3_len < min_l3 || p->l3_len > p->ip_total_len ||
      static_cast<size_t>(p->payload_offset) + p->payload_len > p->ip_total_len) {
    return false;  // not a view of this packet
  }
  uint8_t* d = pkt.data();
  // `p` gives the layout; addresses are read from the bytes (a NAT rewrite may
  // have changed them since the view was taken).
  const common::IpAddr src =
      p->ip_version == 4 ? common::IpAddr::v4_bytes(d + 12) : common::IpAddr::v6_bytes(d + 8);
  const common::IpAddr dst =
      p->ip_version == 4 ? common::IpAddr::v4_bytes(d + 16) : common::IpAddr::v6_bytes(d + 24);

  if (p->ip_version == 4) {
    wr16(d + 10, 0);
    wr16(d + 10, csum(std::span<const uint8_t>(d, p->l3_len)));
  }
  if (!transport_checksummable(*p)) return true;
  std::optional<L4Csum> slot = l4_checksum_slot(*p);
  if (!slot) return true;

  // RFC 768: a zero UDP checksum over IPv4 means "none"; keep it that way.
  if (p->proto == kProtoUdp && p->ip_version == 4 && rd16(d + slot->field) == 0) return true;

  size_t l4_bytes = static_cast<size_t>(p->l4_len) + p->payload_len;
  uint32_t ph =
      slot->pseudo ? pseudo_header_sum(src, dst, p->proto, static_cast<uint32_t>(l4_bytes)) : 0;
  uint16_t value;
  if (partial) {
    value = csum_fold(ph);
  } else {
    wr16(d + slot->field, 0);
    value = static_cast<uint16_t>(
        ~csum_fold(csum_add(ph, std::span<const uint8_t>(d + p->l4_offset, l4_bytes))));
    // A computed zero is sent as all ones: zero would read as "no checksum".
    if (p->proto == kProtoUdp && value == 0) value = 0xffff;
  }
  wr16(d + slot->field, value);
  return true;
}

bool verify_checksums(std::span<const uint8_t> pkt) {
  ParseResult r = parse(pkt);
  const Parsed* p = std::get_if<Parsed>(&r);
  if (!p) return false;
  const uint8_t* d = pkt.data();

  if (p->ip_version == 4 &&
      csum_fold(csum_add(0, std::span<const uint8_t>(d, p->l3_len))) != 0xffff) {
    return false;
  }
  if (!transport_checksummable(*p)) return true;
  std::optional<L4Csum> slot = l4_checksum_slot(*p);
  if (!slot) return true;
  if (p->proto == kProtoUdp && rd16(d + slot->field) == 0) return p->ip_version == 4;

  size_t l4_bytes = static_cast<size_t>(p->l4_len) + p->payload_len;
  uint32_t ph = slot->pseudo
                    ? pseudo_header_sum(p->src, p->dst, p->proto, static_cast<uint32_t>(l4_bytes))
                    : 0;
  return csum_fold(csum_add(ph, std::span<const uint8_t>(d + p->l4_offset, l4_bytes))) == 0xffff;
}

}  // namespace fw::packet
