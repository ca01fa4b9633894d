#include "policy/policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "common/counters.h"
#include "config/config.h"
#include "tests/unit/policy/random_flows.h"
#include "tests/unit/policy/reference_match.h"
#include "tests/unit/policy/test_registries.h"

namespace fw::policy {
namespace {

using common::IpAddr;
using common::Prefix;
using config::Action;
using testing::Gen;
using testing::ref_service_match;

// The linear matcher CompiledPolicy used before it had an index, written against config:: directly.
struct RefVerdict {
  bool permit;
  std::string rule;
};

bool ref_zone(const std::vector<std::string>& names, ZoneId z, const ZoneTable& zones) {
  if (names.empty()) return true;
  return std::any_of(names.begin(), names.end(),
                     [&](const std::string& n) { return n == "any" || zones.by_name(n) == z; });
}

bool ref_prefix(const std::vector<Prefix>& ps, const IpAddr& a) {
  return ps.empty() ||
         std::any_of(ps.begin(), ps.end(), [&](const Prefix& p) { return p.contains(a); });
}

// A rule's address condition: prefixes, ranges and the items of the named address sets, any of
// which may match; nothing configured = any address.
bool ref_addresses(const config::Config& c, const std::vector<Prefix>& ps,
                   const std::vector<config::IpRange>& rs, const std::vector<std::string>& sets,
                   const IpAddr& a) {
  if (ps.empty() && rs.empty() && sets.empty()) return true;
  if (!ps.empty() && ref_prefix(ps, a)) return true;
  for (const auto& r : rs) {
    if (r.contains(a)) return true;
  }
  for (const auto& n : sets) {
    const config::AddressSet* s = c.find_address_set(n);
    if (!s) continue;
    for (const auto& i : s->items) {
      if (i.prefix ? i.prefix->contains(a) : i.range.contains(a)) return true;
    }
  }
  return false;
}

bool ref_services(const config::Config& c, const std::vector<std::string>& names,
                  const std::vector<config::ServiceItem>& inline_items, const FlowInfo& f) {
  if (names.empty() && inline_items.empty()) return true;
  std::vector<config::ServiceItem> items = inline_items;
  for (const auto& n : names) {
    if (const auto* s = config::lookup_service(c, n)) {
      items.insert(items.end(), s->items.begin(), s->items.end());
    }
  }
  // Named services without any item: the old placeholder, which only protocol 255 passes.
  if (items.empty()) return f.proto == 255;
  return std::any_of(items.begin(), items.end(),
                     [&](const config::ServiceItem& s) { return ref_service_match(s, f); });
}

RefVerdict reference(const config::Config& c, const ZoneTable& zones, const FlowInfo& f) {
  for (const auto& r : c.security.rules) {
    // A rule without an action matches nothing.
    if (!r.enabled || !r.action || !ref_zone(r.src_zones, f.src_zone, zones) ||
        !ref_zone(r.dst_zones, f.dst_zone, zones) ||
        !ref_addresses(c, r.src_addrs, r.src_ranges, r.src_sets, f.src) ||
        !ref_addresses(c, r.dst_addrs, r.dst_ranges, r.dst_sets, f.dst) ||
        !ref_services(c, r.services, r.service_items, f))
      continue;
    return {r.action == Action::kPermit, r.name};
  }
  return {c.security.default_action == Action::kPermit, "default"};
}

// ---- random rule bases ----

const std::vector<std::string> kZoneNames = {"trust", "untrust", "dmz", "local",
                                             "z5",    "z6",      "any", "nosuch"};
const std::vector<std::string> kPredefined = {"http", "https", "dns",  "icmp", "icmpv6",
                                              "any",  "gre",   "pptp", "ssh",  "ntp"};

config::ServiceSet random_set(Gen& g, const std::string& name) {
  config::ServiceSet s;
  s.name = name;
  s.items.resize(g.uniform(0, 3));  // an empty set too: it matches nothing
  for (auto& it : s.items) {
    it.proto = g.proto();
    if (g.chance(0.3)) std::tie(it.sport_lo, it.sport_hi) = g.port_range();
    std::tie(it.dport_lo, it.dport_hi) = g.port_range();
    it.icmp_type = g.chance(0.4) ? -1 : g.icmp_type();
  }
  return s;
}

config::ServiceItem random_item(Gen& g) {
  config::ServiceItem it;
  it.proto = g.proto();
  if (g.chance(0.3)) std::tie(it.sport_lo, it.sport_hi) = g.port_range();
  std::tie(it.dport_lo, it.dport_hi) = g.port_range();
  it.icmp_type = g.chance(0.4) ? -1 : g.icmp_type();
  return it;
}

std::vector<config::IpRange> random_ranges(Gen& g, int max) {
  std::vector<config::IpRange> v;
  for (const auto& r : g.ranges(max)) v.push_back({r.lo, r.hi});
  return v;
}

// An address set of 0-4 items (an empty one too: it matches nothing), prefixes and ranges.
config::AddressSet random_address_set(Gen& g, const std::string& name) {
  config::AddressSet s;
  s.name = name;
  const int n = g.uniform(0, 4);
  for (int i = 0; i < n; ++i) {
    config::AddressSet::Item it;
    it.id = static_cast<uint32_t>(i);
    if (g.chance(0.5)) {
      it.prefix = g.prefix();
    } else {
      const auto r = g.range();
      it.range = {r.lo, r.hi};
    }
    s.items.push_back(it);
  }
  return s;
}

std::vector<std::string> random_names(Gen& g, const std::vector<std::string>& from, int max) {
  std::vector<std::string> v(g.uniform(0, max));
  for (auto& n : v) n = g.pick(from);
  return v;
}

config::SecurityRule random_rule(Gen& g, const std::string& name,
                                 const std::vector<std::string>& services,
                                 const std::vector<std::string>& sets) {
  config::SecurityRule r;
  r.name = name;
  r.enabled = g.chance(0.9);
  r.src_zones = random_names(g, kZoneNames, 2);
  r.dst_zones = random_names(g, kZoneNames, 2);
  r.src_addrs = g.prefixes(3);
  r.dst_addrs = g.prefixes(3);
  if (g.chance(0.3)) r.src_ranges = random_ranges(g, 2);
  if (g.chance(0.3)) r.dst_ranges = random_ranges(g, 2);
  if (g.chance(0.3)) r.src_sets = random_names(g, sets, 2);
  if (g.chance(0.3)) r.dst_sets = random_names(g, sets, 2);
  r.services = random_names(g, services, 3);
  if (g.chance(0.3)) {
    r.service_items.resize(g.uniform(1, 2));
    for (auto& it : r.service_items) it = random_item(g);
  }
  if (!g.chance(0.1)) r.action = g.chance(0.5) ? Action::kPermit : Action::kDeny;
  return r;
}

config::Config random_config(Gen& g, const std::string& tag, int n) {
  config::Config c = config::Config::defaults();
  c.zones.push_back({"z5", 5, {}, false, {}, {}, {}});
  c.zones.push_back({"z6", 6, {}, false, {}, {}, {}});
  std::vector<std::string> services = kPredefined;
  for (int i = 0; i < 6; ++i) {
    c.service_sets.push_back(random_set(g, tag + "svc" + std::to_string(i)));
    services.push_back(c.service_sets.back().name);
  }
  std::vector<std::string> sets = {tag + "nosuch-set"};  // unknown: validate() refuses it
  for (int i = 0; i < 5; ++i) {
    c.address_sets.push_back(random_address_set(g, tag + "as" + std::to_string(i)));
    sets.push_back(c.address_sets.back().name);
  }
  for (int i = 0; i < n; ++i) {
    c.security.rules.push_back(random_rule(g, tag + "r" + std::to_string(i), services, sets));
  }
  c.security.default_action = g.chance(0.5) ? Action::kPermit : Action::kDeny;
  return c;
}

std::vector<Prefix> all_prefixes(const config::Config& c) {
  std::vector<Prefix> v;
  for (const auto& r : c.security.rules) {
    v.insert(v.end(), r.src_addrs.begin(), r.src_addrs.end());
    v.insert(v.end(), r.dst_addrs.begin(), r.dst_addrs.end());
    for (const auto* rs : {&r.src_ranges, &r.dst_ranges}) {
      for (const auto& x : *rs) Gen::add_edges({{x.lo, x.hi}}, v);
    }
  }
  for (const auto& s : c.address_sets) {
    for (const auto& i : s.items) {
      if (i.prefix)
        v.push_back(*i.prefix);
      else
        Gen::add_edges({{i.range.lo, i.range.hi}}, v);
    }
  }
  return v;
}

// Counts the verdicts that came from a rule (not the default).
int compare_random(uint32_t seed, int rules, int flows) {
  Gen g(seed);
  const config::Config c = random_config(g, "p" + std::to_string(seed) + "_", rules);
  const ZoneTable zones(c, ::fw::policy::testing::zone_ids());
  const CompiledPolicy p(c, zones, ::fw::policy::testing::counters());
  std::vector<ZoneId> zone_ids;
  for (const auto& z : c.zones) zone_ids.push_back(zones.by_name(z.name));
  const auto known = all_prefixes(c);
  int from_rule = 0;
  for (int i = 0; i < flows && !::testing::Test::HasFailure(); ++i) {
    const FlowInfo f = g.flow(zone_ids, known);
    const RefVerdict want = reference(c, zones, f);
    const Verdict got = p.match(f);
    EXPECT_EQ(got.rule ? *got.rule : "(null)", want.rule) << "seed " << seed << " flow " << i;
    EXPECT_EQ(got.permit, want.permit) << "seed " << seed << " flow " << i;
    from_rule += want.rule != "default";
  }
  return from_rule;
}

TEST(CompiledPolicy, RandomRuleBasesAgreeWithLinearReference) {
  int from_rule = 0, total = 0;
  for (uint32_t seed = 1; seed <= 120; ++seed) {
    const int rules = seed % 10 == 0 ? 2000 : static_cast<int>(seed * 7 % 150);
    from_rule += compare_random(seed, rules, 1000);
    total += 1000;
    if (HasFailure()) return;
  }
  EXPECT_GT(from_rule, total / 5);
  EXPECT_LT(from_rule, total * 4 / 5);
}

TEST(CompiledPolicy, HitCountersCountEveryVerdict) {
  Gen g(99);
  const config::Config c = random_config(g, "hits_", 60);
  const ZoneTable zones(c, ::fw::policy::testing::zone_ids());
  const CompiledPolicy p(c, zones, ::fw::policy::testing::counters());
  std::map<std::string, uint64_t> want;
  std::map<std::string, uint64_t> before;
  for (const auto& v : p.rules()) before[v.name] = v.hits;
  std::vector<ZoneId> zone_ids;
  for (const auto& z : c.zones) zone_ids.push_back(zones.by_name(z.name));
  for (int i = 0; i < 5000; ++i) {
    const FlowInfo f = g.flow(zone_ids, all_prefixes(c));
    ++want[reference(c, zones, f).rule];
    p.match(f);
  }
  ASSERT_GT(want.size(), 5u);
  for (const auto& v : p.rules()) {
    EXPECT_EQ(v.hits - before[v.name], want[v.name]) << v.name;
    EXPECT_EQ(CompiledPolicy::hit_counter(::fw::policy::testing::counters(), v.name).get(), v.hits)
        << v.name;
  }
}

}  // namespace
}  // namespace fw::policy
