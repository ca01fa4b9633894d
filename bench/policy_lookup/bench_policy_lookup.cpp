// First-packet security-policy lookup with 10, 1,000 and 10,000 rules: the indexed CompiledPolicy
// against the linear matcher it replaced (LinearPolicy, the baseline), plus compile time and heap
// bytes per rule base. The rule bases are generated here, shaped like real ones
// (bench/policy_lookup/README.md).
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "config/config.h"
#include "policy/classifier.h"
#include "policy/policy.h"

namespace {

using fw::common::IpAddr;
using fw::common::Prefix;
using fw::config::Action;
using fw::policy::CompiledPolicy;
using fw::policy::FlowInfo;
using fw::policy::ZoneId;
using fw::policy::ZoneTable;

// The registries a data plane owns; the benchmark builds policies without one.
fw::common::Interner& zone_ids() {
  static fw::common::Interner z(fw::policy::kMaxZoneIds);
  return z;
}
fw::common::CounterTable& counters() {
  static fw::common::CounterTable t;
  return t;
}

// The linear matcher of policy/policy.cpp before the classifier (commit 62dad69), copied unchanged
// in its matching so that the baseline does the same work per rule as the old code did.
class LinearPolicy {
 public:
  LinearPolicy(const fw::config::Config& c, const ZoneTable& zones, fw::common::CounterTable&);
  fw::policy::Verdict match(const FlowInfo& f) const;

 private:
  struct Svc {
    uint8_t proto;
    uint16_t sport_lo, sport_hi, dport_lo, dport_hi;
    int icmp_type;
  };
  struct Rule {
    std::string name;
    bool enabled, permit;
    std::vector<ZoneId> src_zones, dst_zones;
    std::vector<Prefix> src, dst;
    std::vector<Svc> services;
    fw::common::Counter* hits;
  };
  static bool svc_match(const Svc& s, const FlowInfo& f);
  std::vector<Rule> rules_;
  bool default_permit_;
  std::string default_name_ = "default";
  fw::common::Counter* default_hits_ = &CompiledPolicy::hit_counter(counters(), "default");
};

LinearPolicy::LinearPolicy(const fw::config::Config& c, const ZoneTable& zones,
                           fw::common::CounterTable&)
    : default_permit_(c.security.default_action == Action::kPermit) {
  for (const auto& r : c.security.rules) {
    Rule cr;
    cr.name = r.name;
    cr.enabled = r.enabled;
    cr.permit = r.action == Action::kPermit;
    cr.src_zones = fw::policy::rule_zone_ids(r.src_zones, zones);
    cr.dst_zones = fw::policy::rule_zone_ids(r.dst_zones, zones);
    cr.src = r.src_addrs;
    cr.dst = r.dst_addrs;
    for (const auto& sname : r.services) {
      const fw::config::ServiceSet* s = fw::config::lookup_service(c, sname);
      if (!s) continue;
      for (const auto& it : s->items) {
        cr.services.push_back(
            {it.proto, it.sport_lo, it.sport_hi, it.dport_lo, it.dport_hi, it.icmp_type});
      }
    }
    if (!r.services.empty() && cr.services.empty()) cr.services.push_back({255, 1, 0, 1, 0, -1});
    cr.hits = &CompiledPolicy::hit_counter(counters(), r.name);
    rules_.push_back(std::move(cr));
  }
}

bool LinearPolicy::svc_match(const Svc& s, const FlowInfo& f) {
  if (s.proto == 0) return true;
  if (s.proto != f.proto) return false;
  if (f.proto == 6 || f.proto == 17) {
    return f.sport >= s.sport_lo && f.sport <= s.sport_hi && f.dport >= s.dport_lo &&
           f.dport <= s.dport_hi;
  }
  if (f.proto == 1 || f.proto == 58) return s.icmp_type < 0 || s.icmp_type == f.icmp_type;
  return true;
}

fw::policy::Verdict LinearPolicy::match(const FlowInfo& f) const {
  for (const auto& r : rules_) {
    if (!r.enabled) continue;
    if (!r.src_zones.empty() &&
        std::find(r.src_zones.begin(), r.src_zones.end(), f.src_zone) == r.src_zones.end())
      continue;
    if (!r.dst_zones.empty() &&
        std::find(r.dst_zones.begin(), r.dst_zones.end(), f.dst_zone) == r.dst_zones.end())
      continue;
    if (!r.src.empty() &&
        std::none_of(r.src.begin(), r.src.end(), [&](const auto& p) { return p.contains(f.src); }))
      continue;
    if (!r.dst.empty() &&
        std::none_of(r.dst.begin(), r.dst.end(), [&](const auto& p) { return p.contains(f.dst); }))
      continue;
    if (!r.services.empty() && std::none_of(r.services.begin(), r.services.end(),
                                            [&](const Svc& s) { return svc_match(s, f); }))
      continue;
    r.hits->inc();
    return {r.permit, &r.name};
  }
  default_hits_->inc();
  return {default_permit_, &default_name_};
}

// ---- rule bases shaped like real ones ----

const std::vector<std::string> kSrcZones = {"trust", "dmz", "z1", "z2", "z3", "z4"};
const std::vector<std::string> kDstZones = {"untrust", "dmz", "z1", "z2", "z3", "z4"};
const std::vector<std::string> kPredefined = {"http", "https", "ssh",  "dns",   "smtp",
                                              "ntp",  "snmp",  "ldap", "mysql", "rdp"};
constexpr int kUserServices = 300;

class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {}
  uint32_t below(uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[below(static_cast<uint32_t>(v.size()))];
  }

  // Sources: hosts and subnets of 10.0.0.0/8. Destinations: servers and subnets of
  // 172.16.0.0/12, 192.168.0.0/16 and 198.18.0.0/15.
  Prefix src_prefix() { return prefix(0x0a000000 | below(1u << 24), {32, 32, 24, 24, 16, 8}); }
  Prefix dst_prefix() {
    static constexpr uint32_t kNets[] = {0xac100000, 0xc0a80000, 0xc6120000};
    static constexpr uint32_t kHostBits[] = {1u << 20, 1u << 16, 1u << 17};
    const uint32_t n = below(3);
    return prefix(kNets[n] | below(kHostBits[n]), {32, 32, 32, 24, 24, 16});
  }

 private:
  Prefix prefix(uint32_t addr, const std::vector<int>& lens) {
    return *Prefix::from_len(IpAddr::v4(addr), pick(lens));
  }
  std::mt19937 rng_;
};

// "svc" + std::to_string(i) trips GCC 12's -Wrestrict false positive at -O3.
std::string numbered(const char* stem, uint32_t i) {
  std::string s = stem;
  s += std::to_string(i);
  return s;
}

fw::config::ServiceSet user_service(Gen& g, int i) {
  fw::config::ServiceSet s;
  s.name = numbered("svc", i);
  fw::config::ServiceItem it;
  it.proto = g.chance(0.7) ? 6 : 17;
  it.dport_lo = static_cast<uint16_t>(1024 + g.below(60000));
  it.dport_hi = g.chance(0.6) ? it.dport_lo : static_cast<uint16_t>(it.dport_lo + g.below(1000));
  s.items.push_back(it);
  return s;
}

fw::config::SecurityRule make_rule(Gen& g, int i) {
  fw::config::SecurityRule r;
  r.name = numbered("rule", i);
  r.id = static_cast<uint32_t>(i + 1);
  r.src_zones = {g.chance(0.1) ? "any" : g.pick(kSrcZones)};
  r.dst_zones = {g.chance(0.1) ? "any" : g.pick(kDstZones)};
  if (!g.chance(0.05)) {  // a few rules from any source
    for (uint32_t k = 1 + g.below(3); k > 0; --k) r.src_addrs.push_back(g.src_prefix());
  }
  for (uint32_t k = 1 + g.below(3); k > 0; --k) r.dst_addrs.push_back(g.dst_prefix());
  for (uint32_t k = 1 + g.below(3); k > 0; --k) {
    r.services.push_back(g.chance(0.4) ? g.pick(kPredefined)
                                       : numbered("svc", g.below(kUserServices)));
  }
  r.action = g.chance(0.8) ? Action::kPermit : Action::kDeny;
  return r;
}

fw::config::Config make_rule_base(int n) {
  Gen g(12345);
  fw::config::Config c = fw::config::Config::defaults();
  for (int z = 1; z <= 4; ++z) c.zones.push_back({numbered("z", z), 10 + z, {}, false, {}, {}, {}});
  for (int i = 0; i < kUserServices; ++i) c.service_sets.push_back(user_service(g, i));
  for (int i = 0; i < n; ++i) c.security.rules.push_back(make_rule(g, i));
  return c;
}

// ---- flows ----

ZoneId zone_for(Gen& g, const std::vector<std::string>& names, const std::vector<std::string>& all,
                const ZoneTable& zones) {
  const std::string& n = g.pick(names);
  return zones.by_name(n == "any" ? g.pick(all) : n);
}

IpAddr inside(Gen& g, const Prefix& p) {
  const uint32_t host = p.len == 32 ? 0 : g.below(1u << (32 - p.len));
  return IpAddr::v4(p.addr.v4_host() | host);
}

// A flow that the rule matches (an earlier rule may match it first: random depth).
FlowInfo flow_for(Gen& g, const fw::config::Config& c, const ZoneTable& zones,
                  const fw::config::SecurityRule& r) {
  FlowInfo f;
  f.src_zone = zone_for(g, r.src_zones, kSrcZones, zones);
  f.dst_zone = zone_for(g, r.dst_zones, kDstZones, zones);
  f.src = r.src_addrs.empty() ? IpAddr::v4(0x0a000000 | g.below(1u << 24))
                              : inside(g, g.pick(r.src_addrs));
  f.dst = inside(g, g.pick(r.dst_addrs));
  const auto& item = g.pick(fw::config::lookup_service(c, g.pick(r.services))->items);
  f.proto = item.proto;
  f.sport = static_cast<uint16_t>(1024 + g.below(64000));
  f.dport = static_cast<uint16_t>(item.dport_lo + g.below(item.dport_hi - item.dport_lo + 1u));
  return f;
}

// A flow no rule matches: its destination is outside every rule's destinations.
FlowInfo default_flow(Gen& g, const ZoneTable& zones) {
  FlowInfo f;
  f.src_zone = zones.by_name(g.pick(kSrcZones));
  f.dst_zone = zones.by_name(g.pick(kDstZones));
  f.src = IpAddr::v4(0x0a000000 | g.below(1u << 24));
  f.dst = IpAddr::v4(0x64400000 | g.below(1u << 22));  // 100.64.0.0/10
  f.proto = g.chance(0.7) ? 6 : 17;
  f.sport = static_cast<uint16_t>(1024 + g.below(64000));
  f.dport = static_cast<uint16_t>(g.below(65536));
  return f;
}

std::vector<FlowInfo> make_flows(const fw::config::Config& c, const ZoneTable& zones, bool dflt) {
  Gen g(777);
  std::vector<FlowInfo> flows(4096);
  for (auto& f : flows) {
    f = dflt ? default_flow(g, zones) : flow_for(g, c, zones, g.pick(c.security.rules));
  }
  return flows;
}

// ---- benchmarks: args {rules, default flows (0/1)} ----

template <typename Policy>
void BM_Lookup(benchmark::State& state) {
  const fw::config::Config c = make_rule_base(static_cast<int>(state.range(0)));
  const ZoneTable zones(c, zone_ids());
  const Policy p(c, zones, counters());
  const std::vector<FlowInfo> flows = make_flows(c, zones, state.range(1) != 0);
  size_t i = 0, to_default = 0;
  for (auto _ : state) {
    const fw::policy::Verdict v = p.match(flows[i++ & (flows.size() - 1)]);
    to_default += *v.rule == "default";
    benchmark::DoNotOptimize(v);
  }
  state.counters["default_share"] = double(to_default) / double(state.iterations());
}

void lookup_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"rules", "default"});
  for (int n : {10, 1000, 10000}) {
    for (int d : {0, 1}) b->Args({n, d});
  }
}

BENCHMARK(BM_Lookup<CompiledPolicy>)->Apply(lookup_args);
BENCHMARK(BM_Lookup<LinearPolicy>)->Apply(lookup_args);

size_t heap_in_use() { return mallinfo2().uordblks; }

// Compile time per rule base, and the heap bytes the compiled policy holds.
template <typename Policy>
void BM_Compile(benchmark::State& state) {
  const fw::config::Config c = make_rule_base(static_cast<int>(state.range(0)));
  const ZoneTable zones(c, zone_ids());
  for (auto _ : state) {
    Policy p(c, zones, counters());
    benchmark::DoNotOptimize(p);
  }
  const size_t before = heap_in_use();
  {
    const Policy p(c, zones, counters());
    state.counters["heap_MiB"] = double(heap_in_use() - before) / (1 << 20);
  }
}

BENCHMARK(BM_Compile<CompiledPolicy>)
    ->ArgName("rules")
    ->Arg(10)
    ->Arg(1000)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Compile<LinearPolicy>)
    ->ArgName("rules")
    ->Arg(10)
    ->Arg(1000)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond);

// The security policy's rules as classifier rules, the way CompiledPolicy converts them.
std::vector<fw::policy::ClassifierRule> classifier_rules(const fw::config::Config& c,
                                                         const ZoneTable& zones) {
  std::vector<fw::policy::ClassifierRule> out;
  for (const auto& r : c.security.rules) {
    fw::policy::ClassifierRule cr;
    cr.src_zones = fw::policy::rule_zone_ids(r.src_zones, zones);
    cr.dst_zones = fw::policy::rule_zone_ids(r.dst_zones, zones);
    cr.src = r.src_addrs;
    cr.dst = r.dst_addrs;
    for (const auto& name : r.services) {
      for (const auto& it : fw::config::lookup_service(c, name)->items) {
        cr.services.push_back(
            {it.proto, it.sport_lo, it.sport_hi, it.dport_lo, it.dport_hi, it.icmp_type});
      }
    }
    out.push_back(std::move(cr));
  }
  return out;
}

// The index alone: CompiledPolicy's compile time also holds one process counter-table lookup per
// rule name (common::CounterTable::get), which the old code paid as well.
void BM_CompileIndexOnly(benchmark::State& state) {
  const fw::config::Config c = make_rule_base(static_cast<int>(state.range(0)));
  const ZoneTable zones(c, zone_ids());
  const auto rules = classifier_rules(c, zones);
  for (auto _ : state) {
    fw::policy::Classifier cl(rules);
    benchmark::DoNotOptimize(cl);
  }
  state.counters["index_MiB"] = double(fw::policy::Classifier(rules).memory_bytes()) / (1 << 20);
}

BENCHMARK(BM_CompileIndexOnly)
    ->ArgName("rules")
    ->Arg(10)
    ->Arg(1000)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond);

// The NAT policy's index: zones and 1-3 source / 0-1 destination prefixes per rule, and an egress
// interface list checked on the candidate (fw_nat is not linked here: its classifier alone).
void BM_CompileNatShaped(benchmark::State& state) {
  Gen g(4242);
  std::vector<fw::policy::ClassifierRule> rules(static_cast<size_t>(state.range(0)));
  for (auto& r : rules) {
    r.src_zones = {static_cast<ZoneId>(g.below(4))};
    r.dst_zones = {static_cast<ZoneId>(g.below(4))};
    for (uint32_t k = 1 + g.below(3); k > 0; --k) r.src.push_back(g.src_prefix());
    if (g.chance(0.5)) r.dst.push_back(g.dst_prefix());
    r.has_extra = g.chance(0.5);
  }
  for (auto _ : state) {
    fw::policy::Classifier cl(rules);
    benchmark::DoNotOptimize(cl);
  }
  state.counters["index_MiB"] = double(fw::policy::Classifier(rules).memory_bytes()) / (1 << 20);
}

BENCHMARK(BM_CompileNatShaped)->ArgName("rules")->Arg(1000)->Unit(benchmark::kMillisecond);

}  // namespace
