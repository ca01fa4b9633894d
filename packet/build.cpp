#include "packet/build.h"

#include <cstring>

#include "common/bytes.h"
#include "packet/checksum.h"
#include "packet/parse.h"

namespace fw::packet {

using common::rd16;
using common::rd32;
using common::wr16;
using common::wr32;
namespace {

size_t l4_header_len(const BuildSpec& s) {
  return s.proto == kProtoTcp ? 20 + s.tcp_options.size() : s.proto == kProtoAh ? 12 : 8;
}

void put_l4(uint8_t* t, const BuildSpec& s, size_t l4_total) {
  switch (s.proto) {
    case kProtoTcp:
      wr16(t, s.sport);
      wr16(t + 2, s.dport);
      wr32(t + 4, s.seq);
      wr32(t + 8, s.ack);
      t[12] = static_cast<uint8_t>((5 + s.tcp_options.size() / 4) << 4);
      t[13] = s.tcp_flags;
      wr16(t + 14, s.window);
      if (!s.tcp_options.empty()) std::memcpy(t + 20, s.tcp_options.data(), s.tcp_options.size());
      break;
    case kProtoUdp:
      wr16(t, s.sport);
      wr16(t + 2, s.dport);
      wr16(t + 4, static_cast<uint16_t>(l4_total));
      wr16(t + 6, 0xffff);  // any non-zero value: fix_checksums fills a real one
      break;
    case kProtoIcmp:
    case kProtoIcmpv6:
      t[0] = s.icmp_type >= 0 ? static_cast<uint8_t>(s.icmp_type)
                              : (s.proto == kProtoIcmp ? 8 : 128);  // echo request
      t[1] = s.icmp_code;
      if (s.icmp_type < 0 || s.icmp_type == 8 || s.icmp_type == 128) {
        wr16(t + 4, s.sport);
        wr16(t + 6, 1);
      }
      break;
    case kProtoEsp:  // "spi" area
      wr32(t, s.spi);
      wr32(t + 4, 1);
      break;
    case kProtoAh:
      t[0] = 59;  // no next header
      t[1] = 1;   // (1 + 2) * 4 = 12 bytes
      wr32(t + 4, s.spi);
      wr32(t + 8, 1);
      break;
    default:  // 8 zero bytes
      break;
  }
}

}  // namespace

std::vector<uint8_t> build(const BuildSpec& s) {
  const bool v4 = s.src.is_v4();
  if (s.src.family != s.dst.family || s.src.empty()) return {};
  if (s.proto == (v4 ? kProtoIcmpv6 : kProtoIcmp)) return {};  // ICMP of the other family
  const size_t l3 = v4 ? 20 : 40;
  if (s.tcp_options.size() % 4 || s.tcp_options.size() > 40) return {};
  const size_t l4_total = l4_header_len(s) + s.payload.size();
  if (l3 + l4_total > 65535) return {};
  std::vector<uint8_t> b(l3 + l4_total, 0);
  uint8_t* d = b.data();
  if (v4) {
    d[0] = 0x45;
    wr16(d + 2, static_cast<uint16_t>(b.size()));
    d[8] = s.ttl;
    d[9] = s.proto;
    std::memcpy(d + 12, s.src.b.data(), 4);
    std::memcpy(d + 16, s.dst.b.data(), 4);
  } else {
    d[0] = 0x60;
    wr16(d + 4, static_cast<uint16_t>(l4_total));
    d[6] = s.proto;
    d[7] = s.ttl;
    std::memcpy(d + 8, s.src.b.data(), 16);
    std::memcpy(d + 24, s.dst.b.data(), 16);
  }
  put_l4(d + l3, s, l4_total);
  if (!s.payload.empty())
    std::memcpy(d + l3 + l4_header_len(s), s.payload.data(), s.payload.size());
  if (!fix_checksums(b, false)) return {};
  return b;
}

}  // namespace fw::packet
