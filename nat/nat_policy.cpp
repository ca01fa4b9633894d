#include "nat/nat_policy.h"

#include <algorithm>

namespace fw::nat {

common::Counter& CompiledNatPolicy::hit_counter(common::CounterTable& t, const std::string& rule) {
  return t.get("nat.hit." + rule);
}

CompiledNatPolicy::CompiledNatPolicy(const config::Config& c, const policy::ZoneTable& zones,
                                     common::CounterTable& counters) {
  for (const auto& g : c.address_groups) pools_[g.name] = g.addresses();
  for (const auto& r : c.nat_rules) {
    Rule cr;
    cr.name = r.name;
    cr.enabled = r.enabled;
    bool any_src = false, any_dst = false;
    for (const auto& z : r.src_zones) {
      any_src |= z == "any";
      cr.src_zones.push_back(zones.by_name(z));
    }
    for (const auto& z : r.dst_zones) {
      any_dst |= z == "any";
      cr.dst_zones.push_back(zones.by_name(z));
    }
    if (any_src) cr.src_zones.clear();
    if (any_dst) cr.dst_zones.clear();
    cr.src = r.src_addrs;
    cr.dst = r.dst_addrs;
    cr.egress = r.egress_interfaces;
    cr.group = r.group;
    switch (r.action) {
      case config::NatRule::Action::kNone:
        cr.kind = SnatDecision::Kind::kNone;
        break;
      case config::NatRule::Action::kEasyIp:
        cr.kind = SnatDecision::Kind::kEasyIp;
        break;
      case config::NatRule::Action::kNoNat:
        cr.kind = SnatDecision::Kind::kNoNat;
        break;
      case config::NatRule::Action::kAddressGroup: {
        const auto* g = c.find_group(r.group);
        cr.kind = g && g->mode == config::AddressGroup::Mode::kNoPat ? SnatDecision::Kind::kNoPat
                                                                     : SnatDecision::Kind::kPat;
        break;
      }
    }
    cr.hits = &hit_counter(counters, r.name);
    rules_.push_back(std::move(cr));
  }
  for (auto& r : rules_) {
    auto it = pools_.find(r.group);
    if (it != pools_.end()) r.pool = &it->second;
  }
}

SnatDecision CompiledNatPolicy::match(policy::ZoneId sz, policy::ZoneId dz,
                                      const common::IpAddr& src, const common::IpAddr& dst,
                                      const std::string& egress_if) const {
  for (const auto& r : rules_) {
    if (!r.enabled || r.kind == SnatDecision::Kind::kNone) continue;
    if (!r.src_zones.empty() &&
        std::find(r.src_zones.begin(), r.src_zones.end(), sz) == r.src_zones.end())
      continue;
    if (!r.dst_zones.empty() &&
        std::find(r.dst_zones.begin(), r.dst_zones.end(), dz) == r.dst_zones.end())
      continue;
    if (!r.src.empty() &&
        std::none_of(r.src.begin(), r.src.end(), [&](const auto& p) { return p.contains(src); }))
      continue;
    if (!r.dst.empty() &&
        std::none_of(r.dst.begin(), r.dst.end(), [&](const auto& p) { return p.contains(dst); }))
      continue;
    if (!r.egress.empty() &&
        std::find(r.egress.begin(), r.egress.end(), egress_if) == r.egress.end())
      continue;
    r.hits->inc();
    SnatDecision d;
    d.kind = r.kind;
    d.pool = r.pool;
    d.group = &r.group;
    d.rule = &r.name;
    return d;
  }
  return {};
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
