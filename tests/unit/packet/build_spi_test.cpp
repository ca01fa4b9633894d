// "spi" area (issue 16 item 8): packet::build of ESP and AH carries the SPI asked for (packet-trace
// `spi N`), IPv4 and IPv6, and parses back whole (AH: a 12-byte header).
#include <gtest/gtest.h>

#include <variant>

#include "packet/build.h"
#include "packet/parse.h"

namespace fw::packet {
namespace {

TEST(BuildSpi, EspAndAhParseBackWithTheirSpi) {
  const std::vector<uint8_t> payload = {'x', 'y', 'z'};
  for (const char* src : {"198.18.1.2", "2001:db8:1::2"}) {
    const char* dst = src[0] == '1' ? "203.0.113.2" : "2001:db8:3::2";
    for (uint8_t proto : {kProtoEsp, kProtoAh}) {
      BuildSpec s;
      s.src = *common::IpAddr::parse(src);
      s.dst = *common::IpAddr::parse(dst);
      s.proto = proto;
      s.spi = 0x1234abcd;
      s.payload = payload;
      auto b = build(s);
      ASSERT_FALSE(b.empty()) << src << " " << int(proto);
      auto r = parse(b);
      ASSERT_TRUE(std::holds_alternative<Parsed>(r)) << src << " " << int(proto);
      const Parsed& p = std::get<Parsed>(r);
      EXPECT_EQ(p.proto, proto);
      EXPECT_EQ(p.spi, 0x1234abcdu);
      EXPECT_EQ(p.l4_len, proto == kProtoEsp ? 8 : 12);
      EXPECT_EQ(p.payload_len, payload.size());
    }
  }
}

}  // namespace
}  // namespace fw::packet
