// packet::build: every supported kind parses back to what was asked, with good checksums.
#include "packet/build.h"

#include <gtest/gtest.h>

#include "packet/checksum.h"
#include "packet/parse.h"

namespace fw::packet {
namespace {

common::IpAddr a(const char* s) { return *common::IpAddr::parse(s); }

TEST(Build, EveryKindParsesBackWithGoodChecksums) {
  const std::vector<uint8_t> payload = {'h', 'i'};
  struct Case {
    const char *src, *dst;
    uint8_t proto;
  } cases[] = {{"198.18.1.2", "203.0.113.2", kProtoTcp},
               {"198.18.1.2", "203.0.113.2", kProtoUdp},
               {"198.18.1.2", "203.0.113.2", kProtoIcmp},
               {"2001:db8:1::2", "2001:db8:3::2", kProtoTcp},
               {"2001:db8:1::2", "2001:db8:3::2", kProtoUdp},
               {"2001:db8:1::2", "2001:db8:3::2", kProtoIcmpv6}};
  for (const auto& c : cases) {
    BuildSpec s;
    s.src = a(c.src);
    s.dst = a(c.dst);
    s.proto = c.proto;
    s.sport = 40000;
    s.dport = 80;
    s.payload = payload;
    auto b = build(s);
    ASSERT_FALSE(b.empty()) << c.src << " " << int(c.proto);
    EXPECT_TRUE(verify_checksums(b)) << c.src << " " << int(c.proto);
    auto r = parse(b);
    ASSERT_TRUE(std::holds_alternative<Parsed>(r));
    const Parsed& p = std::get<Parsed>(r);
    EXPECT_EQ(p.src, s.src);
    EXPECT_EQ(p.dst, s.dst);
    EXPECT_EQ(p.proto, c.proto);
    EXPECT_EQ(p.payload_len, 2u);
    EXPECT_EQ(p.sport, 40000);
    if (c.proto == kProtoTcp || c.proto == kProtoUdp) {
      EXPECT_EQ(p.dport, 80);
    }
    if (c.proto == kProtoTcp) {
      EXPECT_EQ(p.tcp_flags, kTcpSyn);
    }
  }
}

// packet-trace: another protocol is an IP header and 8 zero bytes; ICMP takes a type and code.
TEST(Build, OtherProtocolsAndIcmpTypes) {
  BuildSpec s;
  s.src = a("198.18.1.2");
  s.dst = a("203.0.113.2");
  s.proto = kProtoGre;
  auto b = build(s);
  ASSERT_EQ(b.size(), 28u);
  auto r = parse(b);
  ASSERT_TRUE(std::holds_alternative<Parsed>(r));
  EXPECT_EQ(std::get<Parsed>(r).proto, kProtoGre);
  s.proto = 50;  // ESP
  EXPECT_EQ(build(s).size(), 28u);
  s.proto = kProtoIcmp;
  s.icmp_type = 13;  // timestamp
  s.icmp_code = 0;
  b = build(s);
  ASSERT_FALSE(b.empty());
  EXPECT_TRUE(verify_checksums(b));
  r = parse(b);
  ASSERT_TRUE(std::holds_alternative<Parsed>(r));
  EXPECT_EQ(std::get<Parsed>(r).icmp_type, 13);
  EXPECT_FALSE(std::get<Parsed>(r).icmp_echo_request);
}

TEST(Build, RefusesWhatItCannotBuild) {
  BuildSpec s;
  s.src = a("198.18.1.2");
  s.dst = a("2001:db8:3::2");
  EXPECT_TRUE(build(s).empty()) << "mixed families";
  s.dst = a("203.0.113.2");
  s.proto = kProtoIcmpv6;
  EXPECT_TRUE(build(s).empty()) << "ICMPv6 over IPv4";
  std::vector<uint8_t> big(70000);
  s.proto = kProtoUdp;
  s.payload = big;
  EXPECT_TRUE(build(s).empty()) << "too long";
}

}  // namespace
}  // namespace fw::packet
