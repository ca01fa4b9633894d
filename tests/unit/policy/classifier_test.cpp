#include "policy/classifier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/unit/policy/random_flows.h"
#include "tests/unit/policy/reference_match.h"
#include "tests/unit/policy/test_registries.h"

namespace fw::policy {
namespace {

using common::IpAddr;
using common::Prefix;
using testing::Gen;
using testing::ref_service_match;

bool ref_prefixes(const std::vector<Prefix>& ps, const IpAddr& a) {
  if (ps.empty()) return true;
  // A length past 128 matches nothing (Classifier's documented reading of such a prefix).
  return std::any_of(ps.begin(), ps.end(),
                     [&](const Prefix& p) { return p.len <= 128 && p.contains(a); });
}

// Prefixes and ranges of one dimension: any of them, or anything when there are none.
bool ref_addr(const std::vector<Prefix>& ps, const std::vector<AddrRange>& rs, const IpAddr& a) {
  if (rs.empty()) return ref_prefixes(ps, a);
  if (!ps.empty() && ref_prefixes(ps, a)) return true;
  return std::any_of(rs.begin(), rs.end(), [&](const AddrRange& r) {
    return !a.empty() && a.family == r.lo.family && a.family == r.hi.family && !(a < r.lo) &&
           !(r.hi < a);
  });
}

bool ref_zones(const std::vector<ZoneId>& zs, ZoneId z) {
  return zs.empty() || std::find(zs.begin(), zs.end(), z) != zs.end();
}

template <typename Extra>
uint32_t reference(const std::vector<ClassifierRule>& rules, const FlowInfo& f, Extra extra) {
  for (uint32_t i = 0; i < rules.size(); ++i) {
    const ClassifierRule& r = rules[i];
    if (!ref_zones(r.src_zones, f.src_zone) || !ref_zones(r.dst_zones, f.dst_zone)) continue;
    if (!ref_addr(r.src, r.src_ranges, f.src) || !ref_addr(r.dst, r.dst_ranges, f.dst)) continue;
    if (!r.services.empty() &&
        std::none_of(r.services.begin(), r.services.end(),
                     [&](const ServiceCond& s) { return ref_service_match(s, f); }))
      continue;
    if (r.has_extra && !extra(i)) continue;
    return i;
  }
  return Classifier::kNoMatch;
}

const std::vector<ZoneId> kZones = {0, 1, 2, 3, 4, 5};

ServiceCond random_service(Gen& g) {
  ServiceCond s;
  s.proto = g.proto();
  std::tie(s.sport_lo, s.sport_hi) =
      g.chance(0.7) ? std::pair<uint16_t, uint16_t>{0, 65535} : g.port_range();
  std::tie(s.dport_lo, s.dport_hi) = g.port_range();
  s.icmp_type = g.chance(0.4) ? -1 : g.icmp_type();
  return s;
}

std::vector<ZoneId> random_zones(Gen& g) {
  std::vector<ZoneId> zs(g.uniform(0, 2));
  for (auto& z : zs) z = g.chance(0.1) ? kNoZone : g.pick(kZones);
  return zs;
}

ClassifierRule random_rule(Gen& g, bool odd) {
  ClassifierRule r;
  r.src_zones = random_zones(g);
  r.dst_zones = random_zones(g);
  r.src = g.prefixes(3);
  r.dst = g.prefixes(3);
  if (g.chance(0.3)) r.src_ranges = g.ranges(2);
  if (g.chance(0.3)) r.dst_ranges = g.ranges(2);
  if (odd && g.chance(0.2)) {
    // Prefixes config never makes: no family, longer than the address, past 128 bits.
    const Prefix odd_ones[] = {
        {IpAddr{}, 0}, {*IpAddr::parse("10.1.2.3"), 40}, {*IpAddr::parse("2001:db8::1"), 200}};
    (g.chance(0.5) ? r.src : r.dst).push_back(odd_ones[g.uniform(0, 2)]);
  }
  r.services.resize(g.uniform(0, 3));
  for (auto& s : r.services) s = random_service(g);
  r.has_extra = g.chance(0.2);
  return r;
}

std::vector<Prefix> all_prefixes(const std::vector<ClassifierRule>& rules) {
  std::vector<Prefix> v;
  for (const auto& r : rules) {
    v.insert(v.end(), r.src.begin(), r.src.end());
    v.insert(v.end(), r.dst.begin(), r.dst.end());
    Gen::add_edges(r.src_ranges, v);
    Gen::add_edges(r.dst_ranges, v);
  }
  return v;
}

// Runs `flows` random flows against a random rule set of `n` rules; returns how many matched a
// rule.
int differential(uint32_t seed, int n, int flows, bool odd) {
  Gen g(seed);
  std::vector<ClassifierRule> rules(n);
  for (auto& r : rules) r = random_rule(g, odd);
  const Classifier c(rules);
  const auto known = all_prefixes(rules);
  int matched = 0;
  for (int i = 0; i < flows; ++i) {
    const FlowInfo f = g.flow(kZones, known);
    const uint32_t salt = g.bits32();
    auto extra = [&](uint32_t rule) { return ((rule * 2654435761u) ^ salt) % 3 != 0; };
    const uint32_t want = reference(rules, f, extra);
    EXPECT_EQ(c.first_match(f, extra), want) << "seed " << seed << " flow " << i;
    EXPECT_EQ(c.first_match(f), reference(rules, f, [](uint32_t) { return true; }))
        << "seed " << seed << " flow " << i << " (no extra predicate)";
    matched += want != Classifier::kNoMatch;
    if (::testing::Test::HasFailure()) break;
  }
  return matched;
}

TEST(Classifier, RandomRuleSetsAgreeWithLinearReference) {
  int matched = 0, total = 0;
  for (uint32_t seed = 1; seed <= 150; ++seed) {
    matched += differential(seed, static_cast<int>(seed % 7 == 0 ? 1500 : seed * 3 % 200), 700,
                            seed % 2 == 0);
    total += 700;
    if (HasFailure()) return;
  }
  // The flows must exercise both outcomes, or the comparison proves little.
  EXPECT_GT(matched, total / 5);
  EXPECT_LT(matched, total * 4 / 5);
}

TEST(Classifier, NoRulesMatchesNothing) {
  const Classifier empty;
  const Classifier none(std::vector<ClassifierRule>{});
  FlowInfo f;
  f.src = *IpAddr::parse("10.0.0.1");
  EXPECT_EQ(empty.first_match(f), Classifier::kNoMatch);
  EXPECT_EQ(none.first_match(f), Classifier::kNoMatch);
}

TEST(Classifier, RangesAreIntervalsNextToPrefixes) {
  std::vector<ClassifierRule> rules(3);
  rules[0].src_ranges = {{*IpAddr::parse("10.0.0.5"), *IpAddr::parse("10.0.0.9")}};
  rules[0].src = {*Prefix::from_len(*IpAddr::parse("10.0.1.0"), 24)};
  rules[1].dst_ranges = {{*IpAddr::parse("2001:db8::10"), *IpAddr::parse("2001:db8::1:0")}};
  // Ranges that match nothing: reversed, two families, unset. The dimension stays constrained.
  rules[2].src_ranges = {{*IpAddr::parse("10.0.0.9"), *IpAddr::parse("10.0.0.5")},
                         {*IpAddr::parse("10.0.0.5"), *IpAddr::parse("2001:db8::1")},
                         {}};
  const Classifier c(rules);
  auto src = [&](const char* s, const char* d = "192.0.2.1") {
    FlowInfo f;
    f.src = *IpAddr::parse(s);
    f.dst = *IpAddr::parse(d);
    return c.first_match(f);
  };
  EXPECT_EQ(src("10.0.0.4"), Classifier::kNoMatch);
  EXPECT_EQ(src("10.0.0.5"), 0u);
  EXPECT_EQ(src("10.0.0.9"), 0u);
  EXPECT_EQ(src("10.0.0.10"), Classifier::kNoMatch);
  EXPECT_EQ(src("10.0.1.77"), 0u);
  EXPECT_EQ(src("2001:db8::5", "2001:db8::10"), 1u);
  EXPECT_EQ(src("2001:db8::5", "2001:db8::1:0"), 1u);
  EXPECT_EQ(src("2001:db8::5", "2001:db8::1:1"), Classifier::kNoMatch);
  EXPECT_EQ(src("2001:db8::5", "10.0.0.6"), Classifier::kNoMatch);  // an IPv4 destination
}

TEST(Classifier, RuleWithoutConditionsMatchesEverything) {
  const Classifier c(std::vector<ClassifierRule>(3));
  Gen g(7);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(c.first_match(g.flow(kZones, {})), 0u);
}

TEST(Classifier, ExtraPredicateSkipsToTheNextRule) {
  std::vector<ClassifierRule> rules(3);
  rules[0].has_extra = true;
  rules[0].services = {{6, 0, 65535, 80, 80, -1}, {17, 0, 65535, 80, 80, -1}};
  rules[1].has_extra = true;
  FlowInfo f;
  f.proto = 6;
  f.dport = 80;
  const Classifier c(rules);
  std::vector<uint32_t> asked;
  auto no_to_0 = [&](uint32_t r) {
    asked.push_back(r);
    return r != 0;
  };
  EXPECT_EQ(c.first_match(f, no_to_0), 1u);
  EXPECT_EQ(asked, (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(c.first_match(f, [](uint32_t) { return false; }), 2u);
  EXPECT_EQ(c.first_match(f), 0u);
}

// Enough entries for several chunks, with the match only in the last one.
TEST(Classifier, MatchDeepInALargeRuleSet) {
  std::vector<ClassifierRule> rules(5000);
  for (uint32_t i = 0; i < rules.size(); ++i) {
    rules[i].dst = {*Prefix::from_len(IpAddr::v4(0x0a000000 + i), 32)};
    rules[i].services = {{6, 0, 65535, 443, 443, -1}, {17, 0, 65535, 53, 53, -1}};
  }
  const Classifier c(rules);
  FlowInfo f;
  f.proto = 17;
  f.dport = 53;
  for (uint32_t i : {0u, 1u, 255u, 256u, 4095u, 4999u}) {
    f.dst = IpAddr::v4(0x0a000000 + i);
    EXPECT_EQ(c.first_match(f), i);
  }
  f.dst = IpAddr::v4(0x0a000000 + 5000);
  EXPECT_EQ(c.first_match(f), Classifier::kNoMatch);
  f.dst = IpAddr::v4(0x0a000000 + 7);
  f.dport = 443;  // TCP's port, but a UDP flow
  EXPECT_EQ(c.first_match(f), Classifier::kNoMatch);
  EXPECT_GT(c.memory_bytes(), 0u);
}

}  // namespace
}  // namespace fw::policy
