// Security policy: rules (created, removed and moved the same way in the NAT policy), the
// rule-view commands shared by security and NAT rules, the default action, the displays.
#include <iomanip>
#include <unordered_set>

#include "fwd/ctl_context.h"
#include "nat/nat_policy.h"
#include "policy/policy.h"

namespace fw::fwd::ctl {
namespace {

using cli::ViewKind;
using config::Action;

void policy_enter(Ctx& c) { c.views.push_back({ViewKind::kSecurityPolicy, {}}); }

// Security and NAT rules share one id counter: is `id` taken by either?
bool rule_id_used(const config::Config& cfg, uint32_t id) {
  auto has = [&](const auto& rules) {
    return std::any_of(rules.begin(), rules.end(), [&](const auto& r) { return r.id == id; });
  };
  return has(cfg.security.rules) || has(cfg.nat_rules);
}

// `rule name R id N` (what the saved configuration says when R's id is not the next one): the
// id R must get or have. Sets the error if it is taken by another rule or R has another id.
template <typename Rule>
bool check_rule_id(Ctx& c, const Rule* existing, const std::string& n) {
  const auto want = c.m.u32("rule-id");
  if (!want) return true;
  if (existing && existing->id != *want) {
    c.param_error("rule-id",
                  "Error: The rule " + n + " already has ID " + std::to_string(existing->id) + ".");
    return false;
  }
  // Every id given so far is below the counter, so only a smaller one can be taken.
  if (!existing && *want < *c.next_rule_id && rule_id_used(c.cfg, *want)) {
    c.param_error("rule-id", "Error: The rule ID " + std::to_string(*want) + " is already used.");
    return false;
  }
  return true;
}

template <typename Rule>
void rule_enter(Ctx& c, std::vector<Rule>& rules, NameIndex<Rule>& idx, ViewKind sub) {
  std::string n = c.p("rule-name");
  if (n == "default") {
    c.err = "Error: The name default is reserved for the default rule.";
    return;
  }
  const Rule* existing = idx.find(rules, n);
  if (!check_rule_id(c, existing, n)) return;
  if (!existing) {
    Rule r;
    r.name = n;
    if (auto want = c.m.u32("rule-id")) {
      r.id = *want;
      *c.next_rule_id = std::max(*c.next_rule_id, *want + 1);
    } else {
      r.id = (*c.next_rule_id)++;
    }
    c.w.created_rules.push_back({std::is_same_v<Rule, config::NatRule>, n});
    rules.push_back(std::move(r));
    idx.added(rules);
    c.changed = true;
  }
  c.views.push_back({sub, {n}});
}

void rule_enter_any(Ctx& c) {
  if (c.view().kind == ViewKind::kNatPolicy)
    rule_enter(c, c.cfg.nat_rules, c.w.nat_rules, ViewKind::kNatRule);
  else
    rule_enter(c, c.cfg.security.rules, c.w.rules, ViewKind::kSecurityRule);
}

template <typename Rule>
void rule_undo(Ctx& c, std::vector<Rule>& rules, NameIndex<Rule>& idx) {
  std::string n = c.p("rule-name");
  if (!std::erase_if(rules, [&](const auto& r) { return r.name == n; })) {
    c.err = "Error: The rule " + n + " does not exist.";
    return;
  }
  idx.reset();
  c.changed = true;
}

void rule_undo_any(Ctx& c) {
  if (c.view().kind == ViewKind::kNatPolicy)
    rule_undo(c, c.cfg.nat_rules, c.w.nat_rules);
  else
    rule_undo(c, c.cfg.security.rules, c.w.rules);
}

// Where `rule move` puts a rule taken out at `pos` (rules no longer hold it).
template <typename Rule>
std::optional<size_t> move_target(Ctx& c, std::vector<Rule>& rules, NameIndex<Rule>& idx,
                                  size_t pos) {
  if (auto ref = c.m.param("ref-rule")) {
    const Rule* r = idx.find(rules, *ref);
    if (!r) return std::nullopt;
    return static_cast<size_t>(r - rules.data()) + (c.m.has("after") ? 1 : 0);
  }
  if (c.m.has("up")) return pos == 0 ? 0 : pos - 1;
  if (c.m.has("down")) return std::min(pos + 1, rules.size());
  if (c.m.has("top")) return 0;
  if (c.m.has("bottom")) return rules.size();
  return pos;
}

template <typename Rule>
void rule_move(Ctx& c, std::vector<Rule>& rules, NameIndex<Rule>& idx) {
  std::string n = c.p("rule-name");
  Rule* it = idx.find(rules, n);
  if (!it) {
    c.err = "Error: The rule " + n + " does not exist.";
    return;
  }
  auto ref = c.m.param("ref-rule");
  if (ref && *ref == n) return;
  if (ref && !idx.find(rules, *ref)) {
    c.err = "Error: The rule " + *ref + " does not exist.";
    return;
  }
  size_t pos = static_cast<size_t>(it - rules.data());
  Rule r = std::move(*it);
  rules.erase(rules.begin() + static_cast<long>(pos));
  idx.reset();
  size_t np = move_target(c, rules, idx, pos).value_or(pos);
  rules.insert(rules.begin() + static_cast<long>(np), std::move(r));
  idx.reset();
  c.changed = true;
}

void rule_move_any(Ctx& c) {
  if (c.view().kind == ViewKind::kNatPolicy)
    rule_move(c, c.cfg.nat_rules, c.w.nat_rules);
  else
    rule_move(c, c.cfg.security.rules, c.w.rules);
}

void policy_default(Ctx& c) {
  c.cfg.security.default_action = c.m.has("permit") ? Action::kPermit : Action::kDeny;
  c.changed = true;
}

void undo_policy_default(Ctx& c) {
  c.cfg.security.default_action = Action::kDeny;
  c.changed = true;
}

// Calls fn with the security or NAT rule of the current rule view.
template <typename Fn>
void with_rule(Ctx& c, const Fn& fn) {
  if (c.view().kind == ViewKind::kNatRule) {
    if (auto* r = c.w.nat_rule(c.arg())) fn(*r);
  } else if (auto* r = c.rule()) {
    fn(*r);
  }
}

Handler zones_cmd(bool src, bool undo) {
  return [=](Ctx& c) {
    with_rule(c, [&](auto& r) {
      auto& list = src ? r.src_zones : r.dst_zones;
      auto names = c.m.params("zone");
      if (undo) {
        if (names.empty()) list.clear();
        for (const auto& n : names) std::erase(list, n);
      } else {
        for (const auto& n : names) {
          if (n != "any" && !c.w.zone(n)) {
            c.err = "Error: The security zone " + n + " does not exist.";
            return;
          }
        }
        for (const auto& n : names) add_unique(list, n);
      }
      c.changed = true;
    });
  };
}

// The prefix of `address mask M` / `address LEN`, or the VRP error in *err.
std::optional<common::Prefix> prefix_from(const cli::Match& m, std::string* err) {
  if (auto p = m.prefix("address", "mask", "length")) return p;
  auto a = m.ip("address");
  if (!a) {
    *err = "Error: Wrong IP address.";
  } else if (m.token("mask")) {
    *err = "Error: Wrong mask: it must be an IPv4 mask for an IPv4 address.";
  } else {
    *err = "Error: Wrong mask length " + std::to_string(m.integer("length").value_or(-1)) +
           (a->is_v4() ? " (0-32 for IPv4)." : " (0-128 for IPv6).");
  }
  return std::nullopt;
}

Handler addr_cmd(bool src, bool undo) {
  return [=](Ctx& c) {
    with_rule(c, [&](auto& r) {
      auto& list = src ? r.src_addrs : r.dst_addrs;
      if (undo && !c.m.token("address")) {  // `undo source-address`: every kind of address
        list.clear();
        (src ? r.src_ranges : r.dst_ranges).clear();
        (src ? r.src_sets : r.dst_sets).clear();
        c.changed = true;
        return;
      }
      auto p = prefix_from(c.m, &c.err);
      if (!p) return;
      if (undo) {
        if (std::find(list.begin(), list.end(), *p) == list.end()) {
          c.err = "Error: The address is not configured in this rule.";
          return;
        }
        std::erase(list, *p);
      } else {
        add_unique(list, *p);
      }
      c.changed = true;
    });
  };
}

// `source-address address-set NAME` (and destination, and undo).
Handler set_cmd(bool src, bool undo) {
  return [=](Ctx& c) {
    with_rule(c, [&](auto& r) {
      auto& list = src ? r.src_sets : r.dst_sets;
      const std::string n = c.p("addr-set-name");
      if (undo) {
        if (!std::erase(list, n)) {
          c.err = "Error: The address set " + n + " is not configured in this rule.";
          return;
        }
      } else {
        if (!c.w.address_set(n)) {
          c.param_error("addr-set-name", "Error: The address set " + n + " does not exist.");
          return;
        }
        add_unique(list, n);
      }
      c.changed = true;
    });
  };
}

// `source-address range A B` (and destination, and undo).
Handler range_cmd(bool src, bool undo) {
  return [=](Ctx& c) {
    with_rule(c, [&](auto& r) {
      auto& list = src ? r.src_ranges : r.dst_ranges;
      const config::IpRange range{*c.m.ip("start-ip"), *c.m.ip("end-ip")};
      if (undo) {
        if (!std::erase(list, range)) {
          c.err = "Error: The address range is not configured in this rule.";
          return;
        }
      } else if (range.lo.family != range.hi.family) {
        c.param_error("end-ip", "Error: The start and end addresses must be of one family.");
        return;
      } else if (range.hi < range.lo) {
        c.param_error("end-ip", "Error: The end address must not be smaller than the start one.");
        return;
      } else {
        add_unique(list, range);
      }
      c.changed = true;
    });
  };
}

Handler disable_cmd(bool enabled) {
  return [=](Ctx& c) {
    with_rule(c, [&](auto& r) {
      r.enabled = enabled;
      c.changed = true;
    });
  };
}

void rule_service(Ctx& c) {
  auto* r = c.rule();
  if (!r) return;
  auto names = c.m.params("service");
  for (const auto& s : names) {
    if (!c.w.service(s)) {
      c.err = "Error: The service " + s + " does not exist.";
      return;
    }
  }
  for (const auto& s : names) add_unique(r->services, s);
  c.changed = true;
}

// The inline service of `service protocol ...`, or nullopt with the error set.
std::optional<config::ServiceItem> inline_service(Ctx& c) {
  config::ServiceItem it;
  if (c.m.has("tcp")) {
    it.proto = 6;
  } else if (c.m.has("udp")) {
    it.proto = 17;
  } else if (c.m.has("icmp")) {
    it.proto = 1;
  } else if (c.m.has("icmpv6")) {
    it.proto = 58;
  } else {
    it.proto = c.m.u8("protocol-number").value_or(0);
  }
  auto range = [&](const char* lo, const char* hi, uint16_t& a, uint16_t& b) {
    if (auto l = c.m.u16(lo)) {
      a = *l;
      b = c.m.u16(hi).value_or(a);
    }
    if (b >= a) return true;
    c.param_error(hi, "Error: The end port must not be smaller than the start port.");
    return false;
  };
  if (!range("sport", "sport-end", it.sport_lo, it.sport_hi) ||
      !range("dport", "dport-end", it.dport_lo, it.dport_hi))
    return std::nullopt;
  return it;
}

Handler svcitem_cmd(bool undo) {
  return [=](Ctx& c) {
    auto* r = c.rule();
    if (!r) return;
    auto it = inline_service(c);
    if (!it) return;
    if (undo) {
      if (!std::erase(r->service_items, *it)) {
        c.err = "Error: The service is not configured in this rule.";
        return;
      }
    } else {
      add_unique(r->service_items, *it);
    }
    c.changed = true;
  };
}

void undo_rule_service(Ctx& c) {
  auto* r = c.rule();
  if (!r) return;
  auto names = c.m.params("service");
  if (names.empty()) {
    r->services.clear();
    r->service_items.clear();
  }
  for (const auto& s : names) std::erase(r->services, s);
  c.changed = true;
}

// "appid" area: `application NAME...` (the grammar's keyword set holds appid's names only).
void rule_application(Ctx& c) {
  auto* r = c.rule();
  if (!r) return;
  for (const auto& a : c.m.params("app")) add_unique(r->applications, a);
  c.changed = true;
}

void undo_rule_application(Ctx& c) {
  auto* r = c.rule();
  if (!r) return;
  auto names = c.m.params("app");
  if (names.empty()) r->applications.clear();
  for (const auto& a : names) {
    if (!std::erase(r->applications, a)) {
      c.err = "Error: The application " + a + " is not configured in this rule.";
      return;
    }
  }
  c.changed = true;
}

void appid_packets(Ctx& c) {
  c.cfg.appid_packets = static_cast<uint32_t>(c.m.integer("packet-number").value_or(0));
  c.changed = true;
}

void undo_appid_packets(Ctx& c) {
  c.cfg.appid_packets = 0;
  c.changed = true;
}

void rule_action(Ctx& c) {
  if (auto* r = c.rule()) {
    r->action = c.m.has("permit") ? Action::kPermit : Action::kDeny;
    c.changed = true;
  }
}

void undo_rule_action(Ctx& c) {
  if (auto* r = c.rule()) {
    r->action.reset();
    c.changed = true;
  }
}

void rule_description(Ctx& c) {
  if (auto* r = c.rule()) {
    r->description = c.p("text");
    c.changed = true;
  }
}

void undo_rule_description(Ctx& c) {
  if (auto* r = c.rule()) {
    r->description.clear();
    c.changed = true;
  }
}

void policy_table(Ctx& c, const std::string* only) {
  std::vector<policy::RuleView> rows;
  for (const auto& r : c.cfg.security.rules) {
    if (only && r.name != *only) continue;
    const char* action = !r.action ? "-" : *r.action == Action::kPermit ? "permit" : "deny";
    rows.push_back({r.id, r.name, r.enabled, action,
                    policy::CompiledPolicy::hit_counter(c.counters, r.name).get()});
  }
  if (!only || *only == "default") {
    rows.push_back({0, "default", true,
                    c.cfg.security.default_action == Action::kPermit ? "permit" : "deny",
                    policy::CompiledPolicy::hit_counter(c.counters, "default").get()});
  }
  c.out << "Total:" << rows.size() << "\n";
  c.out << "RULE ID  RULE NAME                         STATE      ACTION       HITS\n";
  c.out << std::string(79, '-') << "\n";
  // A name longer than its column (33 characters) goes on under itself, 33 per line.
  constexpr size_t kNameWidth = 33;
  for (const auto& r : rows) {
    c.out << std::left << std::setw(9) << r.id << std::setw(kNameWidth + 1)
          << r.name.substr(0, kNameWidth) << std::setw(11) << rule_state(r.enabled) << std::setw(13)
          << r.action << r.hits << "\n";
    for (size_t i = kNameWidth; i < r.name.size(); i += kNameWidth) {
      c.out << std::string(9, ' ') << r.name.substr(i, kNameWidth) << "\n";
    }
  }
  c.out << std::string(79, '-') << "\n";
}

void display_policy_all(Ctx& c) { policy_table(c, nullptr); }

void display_policy_name(Ctx& c) {
  std::string n = c.p("rule-name");
  auto* r = c.w.rule(n);
  if (n != "default" && !r) {
    c.err = "Error: The rule " + n + " does not exist.";
    return;
  }
  policy_table(c, &n);
  if (r) c.out << config::render_rule(*r, " ");
}

}  // namespace

void reset_hit_counters(std::vector<CreatedRule>& created, common::CounterTable& counters) {
  for (const auto& r : created) {
    (r.nat ? nat::CompiledNatPolicy::hit_counter(counters, r.name)
           : policy::CompiledPolicy::hit_counter(counters, r.name))
        .reset();
  }
  created.clear();
}

void register_policy(HandlerTable& t) {
  t.add({
      {"policy.enter", policy_enter},
      {"rule.enter", rule_enter_any},
      {"undo.rule", rule_undo_any},
      {"rule.move", rule_move_any},
      {"policy.default", policy_default},
      {"undo.policy.default", undo_policy_default},
      {"rule.srczone", zones_cmd(true, false)},
      {"undo.rule.srczone", zones_cmd(true, true)},
      {"rule.dstzone", zones_cmd(false, false)},
      {"undo.rule.dstzone", zones_cmd(false, true)},
      {"rule.srcaddr", addr_cmd(true, false)},
      {"undo.rule.srcaddr", addr_cmd(true, true)},
      {"rule.dstaddr", addr_cmd(false, false)},
      {"undo.rule.dstaddr", addr_cmd(false, true)},
      {"rule.disable", disable_cmd(false)},
      {"undo.rule.disable", disable_cmd(true)},
      {"rule.service", rule_service},
      {"undo.rule.service", undo_rule_service},
      {"rule.application", rule_application},  // "appid"
      {"undo.rule.application", undo_rule_application},
      {"appid.packets", appid_packets},
      {"undo.appid.packets", undo_appid_packets},
      {"rule.action", rule_action},
      {"undo.rule.action", undo_rule_action},
      {"rule.description", rule_description},
      {"undo.rule.description", undo_rule_description},
      {"display.policy.all", display_policy_all},
      {"display.policy.name", display_policy_name},
      {"rule.enter.id", rule_enter_any},
      {"rule.srcset", set_cmd(true, false)},
      {"undo.rule.srcset", set_cmd(true, true)},
      {"rule.dstset", set_cmd(false, false)},
      {"undo.rule.dstset", set_cmd(false, true)},
      {"rule.srcrange", range_cmd(true, false)},
      {"undo.rule.srcrange", range_cmd(true, true)},
      {"rule.dstrange", range_cmd(false, false)},
      {"undo.rule.dstrange", range_cmd(false, true)},
      {"rule.svcitem", svcitem_cmd(false)},
      {"undo.rule.svcitem", svcitem_cmd(true)},
  });
}

}  // namespace fw::fwd::ctl
