// Address sets, address ranges and inline services in compiled security policies: fixed cases
// (the random differential tests in policy_test.cpp cover the combinations).
#include <gtest/gtest.h>

#include <string>

#include "config/config.h"
#include "policy/policy.h"
#include "tests/unit/policy/test_registries.h"

namespace fw::policy {
namespace {

using common::IpAddr;
using common::Prefix;
using config::Action;

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

config::AddressSet::Item prefix_item(uint32_t id, const char* a, int len) {
  config::AddressSet::Item i;
  i.id = id;
  i.prefix = Prefix::from_len(ip(a), len);
  return i;
}

config::AddressSet::Item range_item(uint32_t id, const char* lo, const char* hi) {
  config::AddressSet::Item i;
  i.id = id;
  i.range = {ip(lo), ip(hi)};
  return i;
}

config::SecurityRule rule(const std::string& name, Action a) {
  config::SecurityRule r;
  r.name = name;
  r.action = a;
  return r;
}

// The rule a TCP flow from src to dst port dport matches ("default" if none).
std::string verdict(const config::Config& c, const char* src, const char* dst = "203.0.113.2",
                    uint16_t dport = 80, uint8_t proto = 6) {
  const ZoneTable zones(c, testing::zone_ids());
  const CompiledPolicy p(c, zones, testing::counters());
  FlowInfo f;
  f.src = ip(src);
  f.dst = ip(dst);
  f.proto = proto;
  f.sport = 40000;
  f.dport = dport;
  return *p.match(f).rule;
}

config::Config with_set() {
  config::Config c = config::Config::defaults();
  config::AddressSet s;
  s.name = "lan";
  s.items = {prefix_item(0, "198.18.1.2", 32), range_item(1, "198.18.1.10", "198.18.1.20")};
  c.address_sets.push_back(s);
  auto r = rule("from-lan", Action::kPermit);
  r.src_sets = {"lan"};
  c.security.rules.push_back(r);
  return c;
}

TEST(AddressSets, PrefixAndRangeItemsMatchTheirAddressesOnly) {
  const config::Config c = with_set();
  EXPECT_EQ(verdict(c, "198.18.1.2"), "from-lan");
  EXPECT_EQ(verdict(c, "198.18.1.3"), "default");
  EXPECT_EQ(verdict(c, "198.18.1.9"), "default");
  EXPECT_EQ(verdict(c, "198.18.1.10"), "from-lan");
  EXPECT_EQ(verdict(c, "198.18.1.20"), "from-lan");
  EXPECT_EQ(verdict(c, "198.18.1.21"), "default");
  EXPECT_EQ(verdict(c, "2001:db8::2"), "default");
}

TEST(AddressSets, ChangingTheSetChangesTheNextSnapshot) {
  config::Config c = with_set();
  c.address_sets[0].items = {range_item(0, "198.18.1.3", "198.18.1.3")};
  EXPECT_EQ(verdict(c, "198.18.1.2"), "default");
  EXPECT_EQ(verdict(c, "198.18.1.3"), "from-lan");
}

TEST(AddressSets, AnEmptySetMatchesNoAddressButOtherConditionsStillDo) {
  config::Config c = with_set();
  c.address_sets[0].items.clear();
  EXPECT_EQ(verdict(c, "198.18.1.2"), "default");  // not "any address"
  c.security.rules[0].src_ranges = {{ip("198.18.1.5"), ip("198.18.1.6")}};
  EXPECT_EQ(verdict(c, "198.18.1.5"), "from-lan");
  EXPECT_EQ(verdict(c, "198.18.1.2"), "default");
}

TEST(AddressSets, DestinationRangeAndSetTogetherAreOneCondition) {
  config::Config c = with_set();
  c.security.rules[0].src_sets.clear();
  c.security.rules[0].dst_ranges = {{ip("203.0.113.2"), ip("203.0.113.3")}};
  c.security.rules[0].dst_sets = {"lan"};
  EXPECT_EQ(verdict(c, "10.0.0.1", "203.0.113.3"), "from-lan");
  EXPECT_EQ(verdict(c, "10.0.0.1", "198.18.1.15"), "from-lan");
  EXPECT_EQ(verdict(c, "10.0.0.1", "203.0.113.4"), "default");
}

TEST(InlineServices, MatchNextToNamedServices) {
  config::Config c = config::Config::defaults();
  auto r = rule("web", Action::kPermit);
  config::ServiceItem it;
  it.proto = 6;
  it.dport_lo = 8080;
  it.dport_hi = 8081;
  r.service_items = {it};
  r.services = {"ssh"};
  c.security.rules.push_back(r);
  EXPECT_EQ(verdict(c, "10.0.0.1", "203.0.113.2", 8080), "web");
  EXPECT_EQ(verdict(c, "10.0.0.1", "203.0.113.2", 8081), "web");
  EXPECT_EQ(verdict(c, "10.0.0.1", "203.0.113.2", 22), "web");
  EXPECT_EQ(verdict(c, "10.0.0.1", "203.0.113.2", 8082), "default");
  EXPECT_EQ(verdict(c, "10.0.0.1", "203.0.113.2", 8080, 17), "default");
}

TEST(RulesWithoutAction, MatchNothingAndShowADash) {
  config::Config c = config::Config::defaults();
  auto none = rule("none", Action::kDeny);
  none.action.reset();
  c.security.rules = {none, rule("next", Action::kPermit)};
  EXPECT_EQ(verdict(c, "10.0.0.1"), "next");
  const ZoneTable zones(c, testing::zone_ids());
  EXPECT_EQ(CompiledPolicy(c, zones, testing::counters()).rules()[0].action, "-");
}

TEST(AddressSets, RenderedAndValidated) {
  config::Config c = with_set();
  c.address_sets[0].description = "inside";
  EXPECT_EQ(config::render_address_set(c.address_sets[0]),
            "ip address-set lan type object\n description inside\n address 0 198.18.1.2 mask "
            "32\n address 1 range 198.18.1.10 198.18.1.20\n");
  EXPECT_EQ(config::validate(c), std::nullopt);
  EXPECT_EQ(config::address_set_user(c, "lan"), "security policy rule from-lan");
  c.security.rules[0].dst_sets = {"gone"};
  EXPECT_EQ(config::validate(c), "Error: The address set gone does not exist.");
  c.security.rules[0].dst_sets.clear();
  c.security.rules[0].src_ranges = {{ip("198.18.1.9"), ip("198.18.1.2")}};
  EXPECT_EQ(config::validate(c),
            "Error: The end address 198.18.1.2 is smaller than the start address 198.18.1.9.");
}

}  // namespace
}  // namespace fw::policy
