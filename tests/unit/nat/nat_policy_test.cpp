#include "nat/nat_policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "config/config.h"
#include "tests/unit/policy/random_flows.h"
#include "tests/unit/policy/test_registries.h"

namespace fw::nat {
namespace {

using common::IpAddr;
using common::Prefix;
using config::NatRule;
using Kind = SnatDecision::Kind;
using policy::ZoneId;
using policy::testing::Gen;

// The linear matcher CompiledNatPolicy used before it had an index, written against config::.
struct RefDecision {
  Kind kind = Kind::kNone;
  std::string rule, group;
};

bool ref_zone(const std::vector<std::string>& names, ZoneId z, const policy::ZoneTable& zones) {
  return names.empty() || std::any_of(names.begin(), names.end(), [&](const std::string& n) {
           return n == "any" || zones.by_name(n) == z;
         });
}

bool ref_prefix(const std::vector<Prefix>& ps, const IpAddr& a) {
  return ps.empty() ||
         std::any_of(ps.begin(), ps.end(), [&](const Prefix& p) { return p.contains(a); });
}

Kind ref_kind(const config::Config& c, const NatRule& r) {
  switch (r.action) {
    case NatRule::Action::kNone:
      return Kind::kNone;
    case NatRule::Action::kEasyIp:
      return Kind::kEasyIp;
    case NatRule::Action::kNoNat:
      return Kind::kNoNat;
    case NatRule::Action::kAddressGroup:
      break;
  }
  const auto* g = c.find_group(r.group);
  return g && g->mode == config::AddressGroup::Mode::kNoPat ? Kind::kNoPat : Kind::kPat;
}

struct RefFlow {
  ZoneId sz, dz;
  IpAddr src, dst;
  std::string egress;
};

RefDecision reference(const config::Config& c, const policy::ZoneTable& zones, const RefFlow& f) {
  for (const auto& r : c.nat_rules) {
    const Kind kind = ref_kind(c, r);
    if (!r.enabled || kind == Kind::kNone) continue;
    if (!ref_zone(r.src_zones, f.sz, zones) || !ref_zone(r.dst_zones, f.dz, zones)) continue;
    if (!ref_prefix(r.src_addrs, f.src) || !ref_prefix(r.dst_addrs, f.dst)) continue;
    const auto& eg = r.egress_interfaces;
    if (!eg.empty() && std::find(eg.begin(), eg.end(), f.egress) == eg.end()) continue;
    return {kind, r.name, r.group};
  }
  return {};
}

const std::vector<std::string> kZoneNames = {"trust", "untrust", "dmz", "local", "any"};
const std::vector<std::string> kIfaces = {"eth0", "eth1", "ppp0"};
const std::vector<std::string> kGroups = {"pat", "nopat", "missing"};

config::AddressGroup group(const std::string& name, config::AddressGroup::Mode mode,
                           const char* start, const char* end) {
  config::AddressGroup g;
  g.name = name;
  g.mode = mode;
  g.sections.push_back({0, *IpAddr::parse(start), *IpAddr::parse(end)});
  return g;
}

std::vector<std::string> random_names(Gen& g, const std::vector<std::string>& from, int max) {
  std::vector<std::string> v(g.uniform(0, max));
  for (auto& n : v) n = g.pick(from);
  return v;
}

NatRule random_rule(Gen& g, const std::string& name) {
  NatRule r;
  r.name = name;
  r.enabled = g.chance(0.9);
  r.src_zones = random_names(g, kZoneNames, 2);
  r.dst_zones = random_names(g, kZoneNames, 2);
  // NAT rules have no services: narrower addresses keep the flows that match none frequent.
  r.src_addrs = g.prefixes(3);
  if (r.src_addrs.empty() || g.chance(0.5)) r.src_addrs.push_back(g.prefix());
  r.dst_addrs = g.prefixes(2);
  if (r.dst_addrs.empty() && g.chance(0.5)) r.dst_addrs.push_back(g.prefix());
  r.egress_interfaces = g.chance(0.6) ? std::vector<std::string>{} : random_names(g, kIfaces, 2);
  const int a = g.uniform(0, 9);
  r.action = a == 0  ? NatRule::Action::kNone
             : a < 3 ? NatRule::Action::kEasyIp
             : a < 5 ? NatRule::Action::kNoNat
                     : NatRule::Action::kAddressGroup;
  if (r.action == NatRule::Action::kAddressGroup) r.group = g.pick(kGroups);
  return r;
}

config::Config random_config(Gen& g, const std::string& tag, int n) {
  config::Config c = config::Config::defaults();
  c.address_groups.push_back(
      group("pat", config::AddressGroup::Mode::kPat, "198.51.100.1", "198.51.100.4"));
  c.address_groups.push_back(
      group("nopat", config::AddressGroup::Mode::kNoPat, "198.51.100.10", "198.51.100.11"));
  for (int i = 0; i < n; ++i) c.nat_rules.push_back(random_rule(g, tag + std::to_string(i)));
  return c;
}

void expect_same(const config::Config& c, const SnatDecision& got, const RefDecision& want,
                 const std::string& where) {
  EXPECT_EQ(got.kind, want.kind) << where;
  if (want.kind == Kind::kNone) {
    EXPECT_EQ(got.rule, nullptr) << where;
    return;
  }
  ASSERT_NE(got.rule, nullptr) << where;
  ASSERT_NE(got.group, nullptr) << where;
  EXPECT_EQ(*got.rule, want.rule) << where;
  EXPECT_EQ(*got.group, want.group) << where;
  const auto* g = c.find_group(want.group);
  EXPECT_EQ(got.pool != nullptr, g != nullptr) << where;
  if (got.pool && g) {
    EXPECT_EQ(*got.pool, g->addresses()) << where;
  }
}

int compare_random(uint32_t seed, int rules, int flows) {
  Gen g(seed);
  const config::Config c = random_config(g, "n" + std::to_string(seed) + "_", rules);
  const policy::ZoneTable zones(c, ::fw::policy::testing::zone_ids());
  const CompiledNatPolicy p(c, zones, ::fw::policy::testing::counters());
  std::vector<ZoneId> ids;
  for (const auto& z : c.zones) ids.push_back(zones.by_name(z.name));
  std::vector<Prefix> known;
  for (const auto& r : c.nat_rules) {
    known.insert(known.end(), r.src_addrs.begin(), r.src_addrs.end());
    known.insert(known.end(), r.dst_addrs.begin(), r.dst_addrs.end());
  }
  int matched = 0;
  for (int i = 0; i < flows && !::testing::Test::HasFailure(); ++i) {
    const policy::FlowInfo fi = g.flow(ids, known);
    const RefFlow f{fi.src_zone, fi.dst_zone, fi.src, fi.dst, g.chance(0.2) ? "" : g.pick(kIfaces)};
    const RefDecision want = reference(c, zones, f);
    expect_same(c, p.match(f.sz, f.dz, f.src, f.dst, f.egress), want,
                "seed " + std::to_string(seed) + " flow " + std::to_string(i));
    matched += want.kind != Kind::kNone;
  }
  return matched;
}

TEST(CompiledNatPolicy, RandomRuleSetsAgreeWithLinearReference) {
  int matched = 0, total = 0;
  for (uint32_t seed = 1; seed <= 110; ++seed) {
    const int rules = seed % 10 == 0 ? 1000 : static_cast<int>(seed * 13 % 120);
    matched += compare_random(seed, rules, 1000);
    total += 1000;
    if (HasFailure()) return;
  }
  EXPECT_GT(matched, total / 5);
  EXPECT_LT(matched, total * 4 / 5);
}

// ---- edges, one small rule list per case ----

struct N {
  std::string name = "n";
  std::vector<std::string> sz{}, dz{}, src{}, dst{}, egress{};
  NatRule::Action action = NatRule::Action::kEasyIp;
  std::string group{};
  bool enabled = true;
};

struct Case {
  const char* what = "";
  std::vector<N> rules{};
  std::string egress = "eth0";
  std::string src = "10.0.0.1", dst = "203.0.113.9";
  std::string want_rule{};  // "" = no rule
  Kind want_kind = Kind::kNone;
};

std::vector<Prefix> prefixes(const std::vector<std::string>& v) {
  std::vector<Prefix> out;
  for (const auto& p : v) {
    const auto slash = p.find('/');
    out.push_back(
        *Prefix::from_len(*IpAddr::parse(p.substr(0, slash)), std::stoi(p.substr(slash + 1))));
  }
  return out;
}

config::Config edge_config(const Case& k) {
  config::Config c = config::Config::defaults();
  c.address_groups.push_back(
      group("pat", config::AddressGroup::Mode::kPat, "198.51.100.1", "198.51.100.4"));
  c.address_groups.push_back(
      group("nopat", config::AddressGroup::Mode::kNoPat, "198.51.100.10", "198.51.100.11"));
  for (const N& n : k.rules) {
    NatRule r;
    r.name = n.name;
    r.enabled = n.enabled;
    r.src_zones = n.sz;
    r.dst_zones = n.dz;
    r.src_addrs = prefixes(n.src);
    r.dst_addrs = prefixes(n.dst);
    r.egress_interfaces = n.egress;
    r.action = n.action;
    r.group = n.group;
    c.nat_rules.push_back(r);
  }
  return c;
}

using A = NatRule::Action;
const Case kCases[] = {
    {"no rules", {}, "eth0", "10.0.0.1", "203.0.113.9", "", Kind::kNone},
    {"empty lists match", {N{}}, "eth0", "10.0.0.1", "203.0.113.9", "n", Kind::kEasyIp},
    {"egress listed",
     {N{.egress = {"eth1", "eth0"}}},
     "eth0",
     "10.0.0.1",
     "203.0.113.9",
     "n",
     Kind::kEasyIp},
    {"egress not listed: next rule",
     {N{.egress = {"eth1"}}, N{.name = "m", .action = A::kNoNat}},
     "eth0",
     "10.0.0.1",
     "203.0.113.9",
     "m",
     Kind::kNoNat},
    {"no egress interface known",
     {N{.egress = {"eth1"}}},
     "",
     "10.0.0.1",
     "203.0.113.9",
     "",
     Kind::kNone},
    {"action none is skipped",
     {N{.action = A::kNone}, N{.name = "m"}},
     "eth0",
     "10.0.0.1",
     "203.0.113.9",
     "m",
     Kind::kEasyIp},
    {"disabled is skipped",
     {N{.enabled = false}, N{.name = "m", .action = A::kNoNat}},
     "eth0",
     "10.0.0.1",
     "203.0.113.9",
     "m",
     Kind::kNoNat},
    {"pat group",
     {N{.action = A::kAddressGroup, .group = "pat"}},
     "eth0",
     "10.0.0.1",
     "203.0.113.9",
     "n",
     Kind::kPat},
    {"no-pat group",
     {N{.action = A::kAddressGroup, .group = "nopat"}},
     "eth0",
     "10.0.0.1",
     "203.0.113.9",
     "n",
     Kind::kNoPat},
    {"missing group counts as pat",
     {N{.action = A::kAddressGroup, .group = "gone"}},
     "eth0",
     "10.0.0.1",
     "203.0.113.9",
     "n",
     Kind::kPat},
    {"source zone any",
     {N{.sz = {"dmz", "any"}}},
     "eth0",
     "10.0.0.1",
     "203.0.113.9",
     "n",
     Kind::kEasyIp},
    {"source zone not listed",
     {N{.sz = {"dmz"}}},
     "eth0",
     "10.0.0.1",
     "203.0.113.9",
     "",
     Kind::kNone},
    {"source prefix",
     {N{.src = {"10.0.0.0/30"}}},
     "eth0",
     "10.0.0.3",
     "203.0.113.9",
     "n",
     Kind::kEasyIp},
    {"source prefix edge",
     {N{.src = {"10.0.0.0/30"}}},
     "eth0",
     "10.0.0.4",
     "203.0.113.9",
     "",
     Kind::kNone},
    {"IPv6 flow, IPv4 prefix",
     {N{.dst = {"0.0.0.0/0"}}},
     "eth0",
     "2001:db8::1",
     "2001:db8::2",
     "",
     Kind::kNone},
    {"IPv6 flow, IPv6 prefix",
     {N{.dst = {"2001:db8::/64"}}},
     "eth0",
     "2001:db8::1",
     "2001:db8::2",
     "n",
     Kind::kEasyIp},
};

TEST(CompiledNatPolicy, EdgeTable) {
  for (const Case& k : kCases) {
    const config::Config c = edge_config(k);
    const policy::ZoneTable zones(c, ::fw::policy::testing::zone_ids());
    const CompiledNatPolicy p(c, zones, ::fw::policy::testing::counters());
    const SnatDecision d = p.match(zones.by_name("trust"), zones.by_name("untrust"),
                                   *IpAddr::parse(k.src), *IpAddr::parse(k.dst), k.egress);
    EXPECT_EQ(d.kind, k.want_kind) << k.what;
    EXPECT_EQ(d.rule ? *d.rule : "", k.want_rule) << k.what;
  }
}

TEST(CompiledNatPolicy, PoolAndCountersAndEmpty) {
  Case k{"", {N{.name = "edge-pool", .action = A::kAddressGroup, .group = "pat"}}};
  const config::Config c = edge_config(k);
  const policy::ZoneTable zones(c, ::fw::policy::testing::zone_ids());
  const CompiledNatPolicy p(c, zones, ::fw::policy::testing::counters());
  EXPECT_FALSE(p.empty());
  const uint64_t before =
      CompiledNatPolicy::hit_counter(::fw::policy::testing::counters(), "edge-pool").get();
  const SnatDecision d = p.match(0, 1, *IpAddr::parse("10.0.0.1"), *IpAddr::parse("8.8.8.8"), "x");
  ASSERT_NE(d.pool, nullptr);
  EXPECT_EQ(*d.pool, c.address_groups[0].addresses());
  ASSERT_NE(d.group, nullptr);
  EXPECT_EQ(*d.group, "pat");
  EXPECT_EQ(CompiledNatPolicy::hit_counter(::fw::policy::testing::counters(), "edge-pool").get(),
            before + 1);
  Case off{"", {N{.enabled = false}}};
  const config::Config c2 = edge_config(off);
  EXPECT_FALSE(CompiledNatPolicy(c2, policy::ZoneTable(c2, ::fw::policy::testing::zone_ids()),
                                 ::fw::policy::testing::counters())
                   .empty());  // a rule, if disabled
  // (disp) A first packet no rule matches (the only rule is disabled) counts on the `default`
  // no-nat row.
  auto& dflt = CompiledNatPolicy::default_counter(::fw::policy::testing::counters());
  const uint64_t d0 = dflt.get();
  const CompiledNatPolicy p2(c2, policy::ZoneTable(c2, ::fw::policy::testing::zone_ids()),
                             ::fw::policy::testing::counters());
  EXPECT_EQ(p2.match(0, 1, *IpAddr::parse("10.0.0.1"), *IpAddr::parse("8.8.8.8"), "x").kind,
            SnatDecision::Kind::kNone);
  EXPECT_EQ(dflt.get(), d0 + 1);
  const config::Config c3 = edge_config(Case{});
  EXPECT_TRUE(CompiledNatPolicy(c3, policy::ZoneTable(c3, ::fw::policy::testing::zone_ids()),
                                ::fw::policy::testing::counters())
                  .empty());
}

}  // namespace
}  // namespace fw::nat
