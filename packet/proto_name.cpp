#include "packet/proto_name.h"

#include <array>

#include "packet/parse.h"

namespace fw::packet {
namespace {

// "0" .. "255", made at compile time.
struct Decimal {
  std::array<char, 3> text{};
  uint8_t len = 0;
};

constexpr std::array<Decimal, 256> kDecimals = [] {
  std::array<Decimal, 256> a{};
  for (unsigned i = 0; i < a.size(); ++i) {
    const unsigned digits = i >= 100 ? 3 : i >= 10 ? 2 : 1;
    unsigned n = i;
    for (unsigned d = digits; d-- > 0; n /= 10) a[i].text[d] = static_cast<char>('0' + n % 10);
    a[i].len = static_cast<uint8_t>(digits);
  }
  return a;
}();

}  // namespace

std::string_view ip_proto_name(uint8_t proto) {
  switch (proto) {
    case kProtoIcmp:
      return "icmp";
    case kProtoTcp:
      return "tcp";
    case kProtoUdp:
      return "udp";
    case kProtoGre:
      return "gre";
    case kProtoEsp:
      return "esp";
    case kProtoAh:
      return "ah";
    case kProtoIcmpv6:
      return "icmpv6";
    case kProtoSctp:
      return "sctp";
    default:
      return {kDecimals[proto].text.data(), kDecimals[proto].len};
  }
}

}  // namespace fw::packet
