// The edges of the security policy's matching, one small rule base per case.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "policy/policy.h"
#include "tests/unit/policy/test_registries.h"

namespace fw::policy {
namespace {

using common::IpAddr;
using common::Prefix;
using config::Action;

struct R {
  std::string name = "r";
  std::vector<std::string> sz{}, dz{}, src{}, dst{}, svc{};
  std::optional<Action> action = Action::kPermit;
  bool enabled = true;
};

struct F {
  std::string sz = "trust", dz = "untrust";  // "none": not in a zone
  std::string src = "10.0.0.1", dst = "203.0.113.9";
  uint8_t proto = 6;
  uint16_t sport = 40000, dport = 80;
  int icmp = -1;
};

struct Case {
  const char* what;
  std::vector<R> rules;
  F flow;
  std::string want_rule;
  bool want_permit;
  Action default_action = Action::kDeny;
};

config::ServiceItem item(uint8_t proto, uint16_t slo, uint16_t shi, uint16_t dlo, uint16_t dhi,
                         int icmp = -1) {
  config::ServiceItem it;
  it.proto = proto;
  it.sport_lo = slo;
  it.sport_hi = shi;
  it.dport_lo = dlo;
  it.dport_hi = dhi;
  it.icmp_type = icmp;
  return it;
}

config::Config make_config(const Case& k) {
  config::Config c = config::Config::defaults();
  c.service_sets = {
      {"web-range", {item(6, 0, 65535, 8000, 8080)}, false},
      {"ping", {item(1, 0, 65535, 0, 65535, 8)}, false},
      {"echo6", {item(58, 0, 65535, 0, 65535, 128)}, false},
      {"sport-range", {item(17, 1000, 2000, 0, 65535)}, false},
      {"empty", {}, false},
      {"any-proto", {item(0, 0, 65535, 0, 65535)}, false},
  };
  for (const R& r : k.rules) {
    config::SecurityRule sr;
    sr.name = r.name;
    sr.enabled = r.enabled;
    sr.src_zones = r.sz;
    sr.dst_zones = r.dz;
    for (const auto& p : r.src)
      sr.src_addrs.push_back(*config::Prefix::from_len(*IpAddr::parse(p.substr(0, p.find('/'))),
                                                       std::stoi(p.substr(p.find('/') + 1))));
    for (const auto& p : r.dst)
      sr.dst_addrs.push_back(*config::Prefix::from_len(*IpAddr::parse(p.substr(0, p.find('/'))),
                                                       std::stoi(p.substr(p.find('/') + 1))));
    sr.services = r.svc;
    sr.action = r.action;
    c.security.rules.push_back(sr);
  }
  c.security.default_action = k.default_action;
  return c;
}

FlowInfo make_flow(const F& f, const ZoneTable& zones) {
  FlowInfo fi;
  fi.src_zone = f.sz == "none" ? kNoZone : zones.by_name(f.sz);
  fi.dst_zone = f.dz == "none" ? kNoZone : zones.by_name(f.dz);
  fi.src = *IpAddr::parse(f.src);
  fi.dst = *IpAddr::parse(f.dst);
  fi.proto = f.proto;
  fi.sport = f.sport;
  fi.dport = f.dport;
  fi.icmp_type = f.icmp;
  return fi;
}

const F kUdp53{.proto = 17, .dport = 53};
const F kIcmpEcho{.proto = 1, .dport = 0, .icmp = 8};
const F kV6{.src = "2001:db8::1", .dst = "2001:db8:1::2"};

const Case kCases[] = {
    {"empty lists match anything", {R{}}, F{}, "r", true},
    {"zone any among others", {R{.sz = {"dmz", "any"}}}, F{}, "r", true},
    {"zone not listed", {R{.sz = {"dmz", "untrust"}}}, F{}, "default", false},
    {"destination zone listed", {R{.dz = {"dmz", "untrust"}}}, F{}, "r", true},
    {"unknown zone name matches a flow without zone",
     {R{.sz = {"nosuch"}}},
     F{.sz = "none"},
     "r",
     true},
    {"unknown zone name, flow in a zone", {R{.sz = {"nosuch"}}}, F{}, "default", false},
    {"dns: udp 53", {R{.svc = {"dns"}}}, kUdp53, "r", true},
    {"dns: tcp 53", {R{.svc = {"dns"}}}, F{.dport = 53}, "r", true},
    {"dns: udp 54", {R{.svc = {"dns"}}}, F{.proto = 17, .dport = 54}, "default", false},
    {"http is TCP only", {R{.svc = {"http"}}}, F{.proto = 17}, "default", false},
    {"predefined icmp: any type", {R{.svc = {"icmp"}}}, F{.proto = 1, .icmp = 3}, "r", true},
    {"predefined icmp is not ICMPv6",
     {R{.svc = {"icmp"}}},
     F{.proto = 58, .icmp = 128},
     "default",
     false},
    {"icmp type 8 only: type 8", {R{.svc = {"ping"}}}, kIcmpEcho, "r", true},
    {"icmp type 8 only: type 0", {R{.svc = {"ping"}}}, F{.proto = 1, .icmp = 0}, "default", false},
    {"icmpv6 type 128", {R{.svc = {"echo6"}}}, F{.proto = 58, .icmp = 128}, "r", true},
    {"protocol 0 matches GRE", {R{.svc = {"any-proto"}}}, F{.proto = 47}, "r", true},
    {"protocol 0 matches TCP", {R{.svc = {"any-proto"}}}, F{}, "r", true},
    {"gre: GRE flow", {R{.svc = {"gre"}}}, F{.proto = 47}, "r", true},
    {"gre: TCP flow", {R{.svc = {"gre"}}}, F{}, "default", false},
    {"pptp: GRE part", {R{.svc = {"pptp"}}}, F{.proto = 47}, "r", true},
    {"port range low edge", {R{.svc = {"web-range"}}}, F{.dport = 8000}, "r", true},
    {"port range high edge", {R{.svc = {"web-range"}}}, F{.dport = 8080}, "r", true},
    {"below the range", {R{.svc = {"web-range"}}}, F{.dport = 7999}, "default", false},
    {"above the range", {R{.svc = {"web-range"}}}, F{.dport = 8081}, "default", false},
    {"source port range: in",
     {R{.svc = {"sport-range"}}},
     F{.proto = 17, .sport = 2000},
     "r",
     true},
    {"source port range: out",
     {R{.svc = {"sport-range"}}},
     F{.proto = 17, .sport = 999},
     "default",
     false},
    {"IPv4 /0 does not match IPv6", {R{.src = {"0.0.0.0/0"}}}, kV6, "default", false},
    {"IPv4 /0 matches IPv4", {R{.src = {"0.0.0.0/0"}}}, F{}, "r", true},
    {"::/0 matches IPv6", {R{.dst = {"::/0"}}}, kV6, "r", true},
    {"::/0 does not match IPv4", {R{.dst = {"::/0"}}}, F{}, "default", false},
    {"/32 exact", {R{.src = {"10.0.0.1/32"}}}, F{}, "r", true},
    {"/32 neighbour", {R{.src = {"10.0.0.1/32"}}}, F{.src = "10.0.0.2"}, "default", false},
    {"/128 exact", {R{.src = {"2001:db8::1/128"}}}, kV6, "r", true},
    {"/128 neighbour", {R{.src = {"2001:db8::2/128"}}}, kV6, "default", false},
    {"any of several prefixes", {R{.dst = {"192.0.2.0/24", "203.0.113.0/28"}}}, F{}, "r", true},
    {"none of several prefixes",
     {R{.dst = {"192.0.2.0/24", "203.0.113.0/29"}}},
     F{},
     "default",
     false},
    {"mixed families", {R{.src = {"2001:db8::/32", "10.0.0.0/8"}}}, F{}, "r", true},
    {"disabled rule is skipped",
     {R{.name = "off", .enabled = false}, R{.name = "on", .action = Action::kDeny}},
     F{},
     "on",
     false},
    {"rule without action matches nothing: the next rule decides",
     {R{.action = std::nullopt}, R{.name = "later"}},
     F{},
     "later",
     true},
    {"rule without action only: the default decides",
     {R{.action = std::nullopt}},
     F{},
     "default",
     true,
     Action::kPermit},
    {"first match wins",
     {R{.name = "a", .action = Action::kDeny}, R{.name = "b"}},
     F{},
     "a",
     false},
    {"earlier rule misses, later matches",
     {R{.name = "a", .svc = {"ssh"}}, R{.name = "b", .action = Action::kDeny}},
     F{},
     "b",
     false},
    {"empty service set matches nothing", {R{.svc = {"empty"}}}, F{}, "default", false},
    {"empty service set: GRE neither", {R{.svc = {"empty"}}}, F{.proto = 47}, "default", false},
    {"empty service set: reserved protocol 255 passes (as before)",
     {R{.svc = {"empty"}}},
     F{.proto = 255},
     "r",
     true},
    {"unknown service name matches nothing", {R{.svc = {"nosuch"}}}, F{}, "default", false},
    {"empty set next to a real one", {R{.svc = {"empty", "http"}}}, F{}, "r", true},
    {"default permit", {R{.svc = {"ssh"}}}, F{}, "default", true, Action::kPermit},
    {"no rules: default deny", {}, F{}, "default", false},
};

TEST(CompiledPolicyEdges, Table) {
  for (const Case& k : kCases) {
    const config::Config c = make_config(k);
    const ZoneTable zones(c, ::fw::policy::testing::zone_ids());
    const CompiledPolicy p(c, zones, ::fw::policy::testing::counters());
    const Verdict v = p.match(make_flow(k.flow, zones));
    ASSERT_NE(v.rule, nullptr) << k.what;
    EXPECT_EQ(*v.rule, k.want_rule) << k.what;
    EXPECT_EQ(v.permit, k.want_permit) << k.what;
  }
}

TEST(CompiledPolicyEdges, RulesListsEveryRuleThenDefault) {
  Case k{"",    {R{.name = "a"}, R{.name = "b", .action = std::nullopt, .enabled = false}},
         F{},   "",
         false, Action::kPermit};
  config::Config c = make_config(k);
  c.security.rules[0].id = 7;
  c.security.rules[1].id = 9;
  const ZoneTable zones(c, ::fw::policy::testing::zone_ids());
  const auto rules = CompiledPolicy(c, zones, ::fw::policy::testing::counters()).rules();
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules[0].id, 7u);
  EXPECT_EQ(rules[0].name, "a");
  EXPECT_TRUE(rules[0].enabled);
  EXPECT_EQ(rules[0].action, "permit");
  EXPECT_EQ(rules[1].id, 9u);
  EXPECT_FALSE(rules[1].enabled);
  EXPECT_EQ(rules[1].action, "-");  // no action: shown as `-`
  EXPECT_EQ(rules[2].id, 0u);
  EXPECT_EQ(rules[2].name, "default");
  EXPECT_EQ(rules[2].action, "permit");
}

TEST(CompiledPolicyEdges, HitCountersSurviveRebuild) {
  Case k{"", {R{.name = "edge-hits", .svc = {"http"}}}, F{}, "", false};
  const config::Config c = make_config(k);
  const ZoneTable zones(c, ::fw::policy::testing::zone_ids());
  const uint64_t rule0 =
      CompiledPolicy::hit_counter(::fw::policy::testing::counters(), "edge-hits").get();
  const uint64_t def0 =
      CompiledPolicy::hit_counter(::fw::policy::testing::counters(), "default").get();
  {
    const CompiledPolicy p(c, zones, ::fw::policy::testing::counters());
    p.match(make_flow(F{}, zones));
    p.match(make_flow(F{.dport = 81}, zones));
  }
  const CompiledPolicy again(c, zones, ::fw::policy::testing::counters());
  again.match(make_flow(F{}, zones));
  EXPECT_EQ(CompiledPolicy::hit_counter(::fw::policy::testing::counters(), "edge-hits").get(),
            rule0 + 2);
  EXPECT_EQ(CompiledPolicy::hit_counter(::fw::policy::testing::counters(), "default").get(),
            def0 + 1);
}

}  // namespace
}  // namespace fw::policy
