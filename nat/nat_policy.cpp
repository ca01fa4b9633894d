#include "nat/nat_policy.h"

#include <algorithm>

namespace fw::nat {

common::Counter& CompiledNatPolicy::hit_counter(common::CounterTable& t, const std::string& rule) {
  return t.get("nat.hit." + rule);
}

common::Counter& CompiledNatPolicy::default_counter(common::CounterTable& t) {
  return t.get("nat.default-hits");
}

namespace {

SnatDecision::Kind kind_of(const config::Config& c, const config::NatRule& r) {
  switch (r.action) {
    case config::NatRule::Action::kNone:
      return SnatDecision::Kind::kNone;
    case config::NatRule::Action::kEasyIp:
      return SnatDecision::Kind::kEasyIp;
    case config::NatRule::Action::kNoNat:
      return SnatDecision::Kind::kNoNat;
    case config::NatRule::Action::kAddressGroup: {
      const auto* g = c.find_group(r.group);
      return g && g->mode == config::AddressGroup::Mode::kNoPat ? SnatDecision::Kind::kNoPat
                                                                : SnatDecision::Kind::kPat;
    }
  }
  return SnatDecision::Kind::kNone;
}

}  // namespace

CompiledNatPolicy::CompiledNatPolicy(const config::Config& c, const policy::ZoneTable& zones,
                                     common::CounterTable& counters) {
  for (const auto& g : c.address_groups) pools_[g.name] = g.addresses();
  std::vector<policy::ClassifierRule> conds;
  const policy::AddressSets sets(c);
  for (const auto& r : c.nat_rules) {
    Rule cr{r.name,  r.egress_interfaces,           kind_of(c, r), r.group,
            nullptr, &hit_counter(counters, r.name)};
    auto it = pools_.find(r.group);
    if (it != pools_.end()) cr.pool = &it->second;
    // Disabled rules and rules without an action never match: leave them out of the index.
    if (r.enabled && cr.kind != SnatDecision::Kind::kNone) {
      active_.push_back(static_cast<uint32_t>(rules_.size()));
      policy::ClassifierRule cond;
      cond.src_zones = policy::rule_zone_ids(r.src_zones, zones);
      cond.dst_zones = policy::rule_zone_ids(r.dst_zones, zones);
      sets.expand(config::address_cond(r, true), cond.src, cond.src_ranges);
      sets.expand(config::address_cond(r, false), cond.dst, cond.dst_ranges);
      cond.has_extra = !r.egress_interfaces.empty();
      conds.push_back(std::move(cond));
    }
    rules_.push_back(std::move(cr));
  }
  classifier_ = policy::Classifier(conds);
  default_hits_ = &default_counter(counters);
}

SnatDecision CompiledNatPolicy::match(policy::ZoneId sz, policy::ZoneId dz,
                                      const common::IpAddr& src, const common::IpAddr& dst,
                                      const std::string& egress_if, bool count) const {
  policy::FlowInfo f;
  f.src_zone = sz;
  f.dst_zone = dz;
  f.src = src;
  f.dst = dst;
  // The egress interface is not indexed (names, and usually none): checked on the candidate.
  const uint32_t i = classifier_.first_match(f, [&](uint32_t cand) {
    const auto& egress = rules_[active_[cand]].egress;
    return std::find(egress.begin(), egress.end(), egress_if) != egress.end();
  });
  if (i == policy::Classifier::kNoMatch) {
    if (count) default_hits_->inc();
    return {};
  }
  const Rule& r = rules_[active_[i]];
  if (count) r.hits->inc();
  SnatDecision d;
  d.kind = r.kind;
  d.pool = r.pool;
  d.group = &r.group;
  d.rule = &r.name;
  return d;
}

NoPatBindings& NatState::bindings(const std::string& group,
                                  const std::vector<common::IpAddr>& pool) {
  std::lock_guard<std::mutex> lk(mu_);
  auto& g = groups_[group];
  if (!g.b || g.pool != pool) {
    if (g.b) retired_.push_back(std::move(g.b));
    g.pool = pool;
    g.b = std::make_unique<NoPatBindings>(pool);
  }
  return *g.b;
}

NoPatBindings* NatState::find_bindings(const std::string& group) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = groups_.find(group);
  return it == groups_.end() ? nullptr : it->second.b.get();
}

std::map<std::string, std::vector<NoPatBindings::Binding>> NatState::all_bindings() const {
  std::lock_guard<std::mutex> lk(mu_);
  std::map<std::string, std::vector<NoPatBindings::Binding>> out;
  for (const auto& [n, g] : groups_) {
    if (g.b) out[n] = g.b->bindings();
  }
  return out;
}

}  // namespace fw::nat
