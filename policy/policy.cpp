#include "policy/policy.h"

#include <algorithm>

#include "appid/identify.h"

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

std::string ZoneTable::name(ZoneId id) const {
  std::string n = id == kNoZone ? std::string() : registry_->name(id);
  return n.empty() ? "---" : n;
}

ZoneId ZoneTable::by_interface(const std::string& ifname) const {
  auto it = by_if_.find(ifname);
  return it == by_if_.end() ? kNoZone : it->second;
}

ZoneId ZoneTable::by_name(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? kNoZone : it->second;
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

std::vector<ZoneId> rule_zone_ids(const std::vector<std::string>& names, const ZoneTable& zones) {
  std::vector<ZoneId> ids;
  for (const auto& z : names) {
    if (z == "any") return {};
    ids.push_back(zones.by_name(z));
  }
  return ids;
}

common::Counter& CompiledPolicy::hit_counter(common::CounterTable& t, const std::string& rule) {
  return t.get("policy.hit." + rule);
}

AddressSets::AddressSets(const config::Config& c) {
  for (const auto& s : c.address_sets) by_name_.emplace(s.name, &s);
}

void AddressSets::expand(const config::AddressCond& a, std::vector<common::Prefix>& prefixes,
                         std::vector<AddrRange>& ranges) const {
  prefixes.insert(prefixes.end(), a.prefixes.begin(), a.prefixes.end());
  for (const auto& r : a.ranges) ranges.push_back({r.lo, r.hi});
  for (const auto& n : a.sets) {
    auto it = by_name_.find(n);
    if (it == by_name_.end() || it->second->items.empty()) {
      ranges.push_back({});  // matches nothing
      continue;
    }
    for (const auto& i : it->second->items) {
      if (i.prefix) {
        prefixes.push_back(*i.prefix);
      } else {
        ranges.push_back({i.range.lo, i.range.hi});
      }
    }
  }
}

namespace {

// The rule's services expanded into their items (predefined or user-defined sets).
std::vector<ServiceCond> service_conds(const config::Config& c, const config::SecurityRule& r) {
  std::vector<ServiceCond> out;
  for (const auto& sname : r.services) {
    const config::ServiceSet* s = config::lookup_service(c, sname);
    if (!s) continue;  // validate() refuses unknown names; be safe anyway
    for (const auto& it : s->items) {
      out.push_back({it.proto, it.sport_lo, it.sport_hi, it.dport_lo, it.dport_hi, it.icmp_type});
    }
  }
  for (const auto& it : r.service_items) {
    out.push_back({it.proto, it.sport_lo, it.sport_hi, it.dport_lo, it.dport_hi, it.icmp_type});
  }
  // A rule naming only services that match nothing must not become "any". This placeholder is
  // the one the linear matcher used: empty port ranges, so it matches only the reserved protocol
  // 255 (kept as it was: the policy's behaviour must not change with its index).
  if (!r.services.empty() && out.empty()) out.push_back({255, 1, 0, 1, 0, -1});
  return out;
}

// "appid": the rule's applications as a bit set (bit a = appid::App a). A name appid does not
// know (a configuration written by another version) sets bit 31, which no flow has: the rule
// never turns into "any application".
uint32_t app_bits(const config::SecurityRule& r) {
  uint32_t bits = 0;
  for (const auto& n : r.applications) {
    auto a = appid::by_name(n);
    bits |= a ? 1u << static_cast<unsigned>(*a) : 1u << 31;
  }
  return bits;
}

ClassifierRule classifier_rule(const config::Config& c, const config::SecurityRule& r,
                               const ZoneTable& zones, const AddressSets& sets) {
  ClassifierRule cr;
  cr.src_zones = rule_zone_ids(r.src_zones, zones);
  cr.dst_zones = rule_zone_ids(r.dst_zones, zones);
  sets.expand(config::address_cond(r, true), cr.src, cr.src_ranges);
  sets.expand(config::address_cond(r, false), cr.dst, cr.dst_ranges);
  cr.services = service_conds(c, r);
  cr.has_extra = !r.applications.empty();  // "appid": decided by match()
  return cr;
}

}  // namespace

CompiledPolicy::CompiledPolicy(const config::Config& c, const ZoneTable& zones,
                               common::CounterTable& counters)
    : default_permit_(c.security.default_action == config::Action::kPermit),
      default_hits_(&hit_counter(counters, "default")) {
  std::vector<ClassifierRule> enabled;
  const AddressSets sets(c);
  for (const auto& r : c.security.rules) {
    // A rule without an action matches nothing: like a disabled one, it is not indexed.
    const bool permit = r.action && *r.action == config::Action::kPermit;
    if (r.enabled && r.action) {
      active_.push_back(static_cast<uint32_t>(rules_.size()));
      enabled.push_back(classifier_rule(c, r, zones, sets));
    }
    rules_.push_back({r.id, r.name, r.enabled, r.action.has_value(), permit,
                      &hit_counter(counters, r.name), app_bits(r), r.session_logging});
    if (r.enabled && r.action && !r.applications.empty()) any_app_ = true;
  }
  classifier_ = Classifier(enabled);
}

// The first enabled rule that matches (its classifier index), or Classifier::kNoMatch. A rule
// with an application condition matches a flow of one of its applications, or an undecided one.
uint32_t CompiledPolicy::first(const FlowInfo& f, int app) const {
  if (!any_app_) return classifier_.first_match(f);
  return classifier_.first_match(f, [&](uint32_t ci) {
    const uint32_t bits = rules_[active_[ci]].apps;
    return app == kAppUndecided || (app > 0 && app < 31 && ((bits >> app) & 1u));
  });
}

Verdict CompiledPolicy::decide(const FlowInfo& f, int app, bool count) const {
  const uint32_t i = first(f, app);
  if (i == Classifier::kNoMatch) {
    if (count) default_hits_->inc();
    return {default_permit_, &default_name_};
  }
  const Rule& r = rules_[active_[i]];
  if (r.apps && app == kAppUndecided) return {r.permit, &r.name, true, r.session_logging};
  if (count) r.hits->inc();
  return {r.permit, &r.name, false, r.session_logging};
}

Verdict CompiledPolicy::match(const FlowInfo& f, int app) const { return decide(f, app, true); }

Verdict CompiledPolicy::peek(const FlowInfo& f, int app) const { return decide(f, app, false); }

std::vector<RuleView> CompiledPolicy::rules() const {
  std::vector<RuleView> v;
  for (const auto& r : rules_) {
    const char* action = !r.has_action ? "-" : r.permit ? "permit" : "deny";
    v.push_back({r.id, r.name, r.enabled, action, r.hits->get()});
  }
  v.push_back({0, "default", true, default_permit_ ? "permit" : "deny", default_hits_->get()});
  return v;
}

}  // namespace fw::policy
