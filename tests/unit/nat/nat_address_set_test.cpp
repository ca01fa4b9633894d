// NAT rules with address sets and ranges (the classifier and the expansion are policy/'s; this
// checks that CompiledNatPolicy uses them).
#include <gtest/gtest.h>

#include "config/config.h"
#include "nat/nat_policy.h"
#include "tests/unit/policy/test_registries.h"

namespace fw::nat {
namespace {

using common::IpAddr;

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

bool snat(const config::Config& c, const char* src, const char* dst) {
  const policy::ZoneTable zones(c, policy::testing::zone_ids());
  const CompiledNatPolicy p(c, zones, policy::testing::counters());
  const auto d = p.match(policy::kNoZone, policy::kNoZone, ip(src), ip(dst), "out0");
  return d.kind == SnatDecision::Kind::kEasyIp;
}

TEST(NatAddressSets, SourceSetAndDestinationRange) {
  config::Config c = config::Config::defaults();
  config::AddressSet s;
  s.name = "lan";
  config::AddressSet::Item it;
  it.range = {ip("198.18.1.2"), ip("198.18.1.3")};
  s.items = {it};
  c.address_sets.push_back(s);
  config::NatRule r;
  r.name = "snat";
  r.action = config::NatRule::Action::kEasyIp;
  r.src_sets = {"lan"};
  r.dst_ranges = {{ip("203.0.113.2"), ip("203.0.113.9")}};
  c.nat_rules.push_back(r);
  EXPECT_TRUE(snat(c, "198.18.1.2", "203.0.113.2"));
  EXPECT_TRUE(snat(c, "198.18.1.3", "203.0.113.9"));
  EXPECT_FALSE(snat(c, "198.18.1.4", "203.0.113.2"));
  EXPECT_FALSE(snat(c, "198.18.1.2", "203.0.113.10"));
  c.address_sets[0].items.clear();  // an empty set: the rule matches no source
  EXPECT_FALSE(snat(c, "198.18.1.2", "203.0.113.2"));
}

}  // namespace
}  // namespace fw::nat
