#include "policy/policy.h"

#include <algorithm>
#include <mutex>

namespace fw::policy {

ZoneTable::ZoneTable(const config::Config& c, common::Interner& registry) : registry_(&registry) {
  for (const auto& z : c.zones) {
    const uint32_t n = registry.intern(z.name);
    const ZoneId id = n == 0 || n > kMaxZoneIds ? kNoZone : static_cast<ZoneId>(n);
    by_name_[z.name] = id;
    prios_[id] = z.priority;
    if (z.name == "local") local_ = id;
    for (const auto& i : z.interfaces) by_if_[i] = id;
  }
}

ZoneId ZoneTable::by_interface(const std::string& ifname) const {
  auto it = by_if_.find(ifname);
  return it == by_if_.end() ? kNoZone : it->second;
}

ZoneId ZoneTable::by_name(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? kNoZone : it->second;
}

std::string ZoneTable::name(ZoneId id) const {
  std::string n = id == kNoZone ? std::string() : registry_->name(id);
  return n.empty() ? "---" : n;
}

int ZoneTable::priority(ZoneId id) const {
  auto it = prios_.find(id);
  return it == prios_.end() ? 0 : it->second;
}
std::vector<std::string> ZoneTable::interfaces() const {
  std::vector<std::string> v;
  for (const auto& [k, _] : by_if_) v.push_back(k);
  std::sort(v.begin(), v.end());
  return v;
}

common::Counter& CompiledPolicy::hit_counter(common::CounterTable& t, const std::string& rule) {
  return t.get("policy.hit." + rule);
}

CompiledPolicy::CompiledPolicy(const config::Config& c, const ZoneTable& zones,
                               common::CounterTable& counters)
    : default_permit_(c.security.default_action == config::Action::kPermit),
      default_hits_(&hit_counter(counters, "default")) {
  for (const auto& r : c.security.rules) {
    Rule cr;
    cr.id = r.id;
    cr.name = r.name;
    cr.enabled = r.enabled;
    cr.permit = r.action && *r.action == config::Action::kPermit;
    bool any_src = false, any_dst = false;
    for (const auto& z : r.src_zones) {
      if (z == "any") any_src = true;
      cr.src_zones.push_back(zones.by_name(z));
    }
    for (const auto& z : r.dst_zones) {
      if (z == "any") any_dst = true;
      cr.dst_zones.push_back(zones.by_name(z));
    }
    if (any_src) cr.src_zones.clear();
    if (any_dst) cr.dst_zones.clear();
    cr.src = r.src_addrs;
    cr.dst = r.dst_addrs;
    for (const auto& sname : r.services) {
      const config::ServiceSet* s = config::lookup_service(c, sname);
      if (!s) continue;  // validate() refuses unknown names; be safe anyway
      for (const auto& it : s->items) {
        cr.services.push_back(
            {it.proto, it.sport_lo, it.sport_hi, it.dport_lo, it.dport_hi, it.icmp_type});
      }
    }
    // A rule naming only services that match nothing must not become "any".
    if (!r.services.empty() && cr.services.empty()) cr.services.push_back({255, 1, 0, 1, 0, -1});
    cr.hits = &hit_counter(counters, r.name);
    rules_.push_back(std::move(cr));
  }
}

bool CompiledPolicy::svc_match(const Svc& s, const FlowInfo& f) {
  if (s.proto == 0) return true;
  if (s.proto != f.proto) return false;
  if (f.proto == 6 || f.proto == 17) {
    return f.sport >= s.sport_lo && f.sport <= s.sport_hi && f.dport >= s.dport_lo &&
           f.dport <= s.dport_hi;
  }
  if (f.proto == 1 || f.proto == 58) return s.icmp_type < 0 || s.icmp_type == f.icmp_type;
  return true;
}

Verdict CompiledPolicy::match(const FlowInfo& f) const {
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

std::vector<RuleView> CompiledPolicy::rules() const {
  std::vector<RuleView> v;
  for (const auto& r : rules_) {
    v.push_back({r.id, r.name, r.enabled, r.permit ? "permit" : "deny", r.hits->get()});
  }
  v.push_back({0, "default", true, default_permit_ ? "permit" : "deny", default_hits_->get()});
  return v;
}

}  // namespace fw::policy
