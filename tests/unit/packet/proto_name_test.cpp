// packet::ip_proto_name: Huawei's names for the protocols the session table knows, the decimal
// number for every other one (all 256 values).
#include "packet/proto_name.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <string>

#include "packet/parse.h"

namespace fw::packet {
namespace {

TEST(IpProtoName, HuaweisNamesForTheKnownProtocols) {
  EXPECT_EQ(ip_proto_name(kProtoIcmp), "icmp");
  EXPECT_EQ(ip_proto_name(kProtoTcp), "tcp");
  EXPECT_EQ(ip_proto_name(kProtoUdp), "udp");
  EXPECT_EQ(ip_proto_name(kProtoGre), "gre");
  EXPECT_EQ(ip_proto_name(kProtoEsp), "esp");
  EXPECT_EQ(ip_proto_name(kProtoAh), "ah");
  EXPECT_EQ(ip_proto_name(kProtoIcmpv6), "icmpv6");
  EXPECT_EQ(ip_proto_name(kProtoSctp), "sctp");
}

TEST(IpProtoName, EveryOtherNumberInDecimal) {
  const std::string named[] = {"icmp", "tcp", "udp", "gre", "esp", "ah", "icmpv6", "sctp"};
  int names = 0;
  for (unsigned p = 0; p < 256; ++p) {
    const std::string n(ip_proto_name(static_cast<uint8_t>(p)));
    if (std::find(std::begin(named), std::end(named), n) != std::end(named)) {
      ++names;
      continue;
    }
    EXPECT_EQ(n, std::to_string(p));
  }
  EXPECT_EQ(names, 8);
  EXPECT_EQ(ip_proto_name(0), "0");
  EXPECT_EQ(ip_proto_name(99), "99");
  EXPECT_EQ(ip_proto_name(255), "255");
}

}  // namespace
}  // namespace fw::packet
