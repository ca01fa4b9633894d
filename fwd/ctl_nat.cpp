// NAT: address groups, the NAT-rule commands of their own (egress interface, action), NAT
// servers, and the NAT displays. Rules themselves are created and moved in ctl_policy.cpp.
#include <iomanip>

#include "fwd/ctl_context.h"
#include "fwd/dataplane.h"
#include "nat/nat_policy.h"

namespace fw::fwd::ctl {
namespace {

using cli::ViewKind;

void group_enter(Ctx& c) {
  std::string n = c.p("group-name");
  if (!c.w.group(n)) {
    if (c.cfg.address_groups.size() >= 256) {
      c.err = "Error: The number of address groups reached the upper limit (256).";
      return;
    }
    config::AddressGroup g;
    g.name = n;
    c.cfg.address_groups.push_back(std::move(g));
    c.w.groups.added(c.cfg.address_groups);
    c.changed = true;
  }
  c.views.push_back({ViewKind::kAddressGroup, {n}});
}

// Translations still using the group's addresses (ports or no-pat bindings).
size_t group_in_use(Ctx& c, const config::AddressGroup& g) {
  if (!c.dp) return 0;
  size_t used = 0;
  for (const auto& a : g.addresses()) used += c.dp->nat_state().ports.used(a);
  if (auto* b = c.dp->nat_state().find_bindings(g.name)) used += b->bound();
  return used;
}

void undo_group(Ctx& c) {
  std::string n = c.p("group-name");
  const auto* g = c.w.group(n);
  if (!g) {
    c.err = "Error: The address group " + n + " does not exist.";
    return;
  }
  for (const auto& r : c.cfg.nat_rules) {
    if (r.action == config::NatRule::Action::kAddressGroup && r.group == n) {
      c.err = "Error: The address group " + n + " is in use by NAT policy rule " + r.name + ".";
      return;
    }
  }
  if (size_t used = group_in_use(c, *g)) {
    c.err = "Error: The address group " + n + " is in use by " + std::to_string(used) +
            " translation(s).";
    return;
  }
  std::erase_if(c.cfg.address_groups, [&](const config::AddressGroup& x) { return x.name == n; });
  c.w.groups.reset();
  c.changed = true;
}

void group_mode(Ctx& c) {
  if (auto* g = c.w.group(c.arg())) {
    g->mode =
        c.m.has("no-pat") ? config::AddressGroup::Mode::kNoPat : config::AddressGroup::Mode::kPat;
    c.changed = true;
  }
}

void group_section(Ctx& c) {
  auto* g = c.w.group(c.arg());
  if (!g) return;
  auto a = c.m.ip("start-ip");
  auto b = c.m.ip("end-ip");
  if (!a || !b || b->v4_host() < a->v4_host()) {
    c.err = "Error: The end address must not be smaller than the start address.";
    return;
  }
  if (b->v4_host() - a->v4_host() >= 65536) {
    c.err = "Error: A section holds at most 65536 addresses.";
    return;
  }
  config::AddressGroup::Section sec;
  if (auto id = c.m.u32("section-id")) {
    sec.id = *id;
  } else {
    for (const auto& x : g->sections) sec.id = std::max(sec.id, x.id + 1);
  }
  sec.start = *a;
  sec.end = *b;
  std::erase_if(g->sections, [&](const auto& x) { return x.id == sec.id; });
  g->sections.push_back(sec);
  std::sort(g->sections.begin(), g->sections.end(),
            [](const auto& x, const auto& y) { return x.id < y.id; });
  c.changed = true;
}

void undo_group_section(Ctx& c) {
  auto* g = c.w.group(c.arg());
  if (!g) return;
  uint32_t id = c.m.u32("section-id").value_or(0);
  if (!std::erase_if(g->sections, [&](const auto& x) { return x.id == id; })) {
    c.err = "Error: The section " + std::to_string(id) + " does not exist.";
    return;
  }
  c.changed = true;
}

void natpolicy_enter(Ctx& c) { c.views.push_back({ViewKind::kNatPolicy, {}}); }

std::string unused_server_name(Ctx& c) {
  for (int i = 0;; ++i) {
    std::string cand = "nat_server_" + std::to_string(i);
    if (!c.w.nat_server(cand)) return cand;
  }
}

void nat_server(Ctx& c) {
  config::NatServer ns;
  ns.name = c.m.param("server-name").value_or("");
  if (ns.name.empty()) ns.name = unused_server_name(c);
  if (c.w.nat_server(ns.name)) {
    c.err = "Error: The NAT server " + ns.name + " already exists.";
    return;
  }
  ns.proto = c.m.has("tcp") ? 6 : c.m.has("udp") ? 17 : 0;
  ns.global = c.m.ip("global-ip").value_or(common::IpAddr{});
  ns.inside = c.m.ip("inside-ip").value_or(common::IpAddr{});
  if (auto gp = c.m.u16("global-port")) {
    ns.global_port = *gp;
    ns.inside_port = ns.global_port;
  }
  if (auto ip = c.m.u16("inside-port")) {
    if (!ns.global_port) {
      c.err = "Error: An inside port needs a global port.";
      return;
    }
    ns.inside_port = *ip;
  }
  ns.no_reverse = c.m.has("no-reverse");
  c.cfg.nat_servers.push_back(std::move(ns));
  c.w.nat_servers.added(c.cfg.nat_servers);
  c.changed = true;
}

void undo_natserver(Ctx& c) {
  std::string n = c.p("server-name");
  if (!std::erase_if(c.cfg.nat_servers, [&](const auto& x) { return x.name == n; })) {
    c.err = "Error: The NAT server " + n + " does not exist.";
    return;
  }
  c.w.nat_servers.reset();
  c.changed = true;
}

void natrule_egress(Ctx& c) {
  if (auto* r = c.w.nat_rule(c.arg())) {
    add_unique(r->egress_interfaces, c.cfg.linux_ifname(c.p("interface")));
    c.changed = true;
  }
}

void undo_natrule_egress(Ctx& c) {
  if (auto* r = c.w.nat_rule(c.arg())) {
    if (auto i = c.m.param("interface"))
      std::erase(r->egress_interfaces, c.cfg.linux_ifname(*i));
    else
      r->egress_interfaces.clear();
    c.changed = true;
  }
}

void natrule_action(Ctx& c) {
  auto* r = c.w.nat_rule(c.arg());
  if (!r) return;
  using A = config::NatRule::Action;
  if (c.m.has("easy-ip")) {
    r->action = A::kEasyIp;
    r->group.clear();
  } else if (c.m.has("no-nat")) {
    r->action = A::kNoNat;
    r->group.clear();
  } else {
    std::string g = c.p("group-name");
    if (!c.w.group(g)) {
      c.err = "Error: The address group " + g + " does not exist.";
      return;
    }
    r->action = A::kAddressGroup;
    r->group = g;
  }
  c.changed = true;
}

void undo_natrule_action(Ctx& c) {
  if (auto* r = c.w.nat_rule(c.arg())) {
    r->action = config::NatRule::Action::kNone;
    r->group.clear();
    c.changed = true;
  }
}

// VRP's ACTION column: src-nat (the address-group or easy-ip shown after it, as extra), no-nat,
// or `-` for a rule without an action (it translates nothing).
std::string nat_action_text(const config::NatRule& r) {
  switch (r.action) {
    case config::NatRule::Action::kEasyIp:
      return "src-nat(easy-ip)";
    case config::NatRule::Action::kAddressGroup:
      return "src-nat(" + r.group + ")";
    case config::NatRule::Action::kNoNat:
      return "no-nat";
    case config::NatRule::Action::kNone:
      break;
  }
  return "-";
}

// The rules (or the one named), then the `default` row: what matches no rule is not translated.
void natpolicy_table(Ctx& c, const std::string* only) {
  struct Row {
    uint32_t id;
    std::string name, state, action;
    uint64_t hits;
  };
  std::vector<Row> rows;
  for (const auto& r : c.cfg.nat_rules) {
    if (only && r.name != *only) continue;
    rows.push_back({r.id, r.name, rule_state(r.enabled), nat_action_text(r),
                    nat::CompiledNatPolicy::hit_counter(c.counters, r.name).get()});
  }
  if (!only || *only == "default") {
    rows.push_back({0, "default", rule_state(true), "no-nat",
                    nat::CompiledNatPolicy::default_counter(c.counters).get()});
  }
  size_t name_w = 34, action_w = 13;
  for (const auto& r : rows) {
    name_w = std::max(name_w, r.name.size() + 2);
    action_w = std::max(action_w, r.action.size() + 2);
  }
  const size_t width = 9 + name_w + 11 + action_w + 12;
  c.out << "Total:" << rows.size() << "\n";
  c.out << std::left << std::setw(9) << "RULE ID" << std::setw(name_w) << "RULE NAME"
        << std::setw(11) << "STATE" << std::setw(action_w) << "ACTION"
        << "HITS\n";
  c.out << std::string(width, '-') << "\n";
  for (const auto& r : rows) {
    c.out << std::left << std::setw(9) << r.id << std::setw(name_w) << r.name << std::setw(11)
          << r.state << std::setw(action_w) << r.action << r.hits << "\n";
  }
  c.out << std::string(width, '-') << "\n";
}

void display_natpolicy(Ctx& c) { natpolicy_table(c, nullptr); }

void display_natpolicy_name(Ctx& c) {
  std::string n = c.p("rule-name");
  auto* r = c.w.nat_rule(n);
  if (n != "default" && !r) {
    c.err = "Error: The rule " + n + " does not exist.";
    return;
  }
  natpolicy_table(c, &n);
  if (r) c.out << config::render_nat_rule(*r, " ");
}

void display_natserver(Ctx& c) {
  c.out << " Server in private network information:\n";
  for (const auto& s : c.cfg.nat_servers) {
    c.out << "   Name              : " << s.name << "\n";
    c.out << "   Protocol          : "
          << (s.proto == 6    ? "tcp"
              : s.proto == 17 ? "udp"
                              : "any")
          << "\n";
    c.out << "   Global-addr       : " << s.global.str() << "\n";
    c.out << "   Global-port       : " << (s.global_port ? std::to_string(s.global_port) : "---")
          << "\n";
    c.out << "   Inside-addr       : " << s.inside.str() << "\n";
    c.out << "   Inside-port       : " << (s.inside_port ? std::to_string(s.inside_port) : "---")
          << "\n";
    c.out << "   No-reverse        : " << (s.no_reverse ? "yes" : "no") << "\n";
    c.out << "   Vpn-instance-name : ---\n\n";
  }
  c.out << " Total " << c.cfg.nat_servers.size() << " NAT server(s)\n";
}

using Bindings = decltype(std::declval<nat::NatState&>().all_bindings());

void group_usage(Ctx& c, const config::AddressGroup& g, const std::vector<common::IpAddr>& addrs,
                 const Bindings& bindings) {
  if (g.mode == config::AddressGroup::Mode::kPat) {
    size_t total = 0;
    for (const auto& a : addrs) {
      size_t u = c.dp ? c.dp->nat_state().ports.used(a) : 0;
      total += u;
      if (u)
        c.out << "   " << std::left << std::setw(18) << a.str() << " ports in use: " << u << "\n";
    }
    c.out << " Ports in use       : " << total << "\n";
    return;
  }
  const auto it = bindings.find(g.name);
  size_t n = it == bindings.end() ? 0 : it->second.size();
  if (it != bindings.end()) {
    for (const auto& b : it->second) {
      c.out << "   " << std::left << std::setw(18) << b.inside.str() << " -> " << b.global.str()
            << "  sessions: " << b.refs << "\n";
    }
  }
  c.out << " Addresses bound    : " << n << "\n";
}

void display_addressgroup(Ctx& c) {
  auto want = c.m.param("group-name");
  if (want && !c.w.group(*want)) {
    c.err = "Error: The address group " + *want + " does not exist.";
    return;
  }
  auto bindings = c.dp ? c.dp->nat_state().all_bindings() : Bindings{};
  c.out << " NAT address-group information:\n";
  for (const auto& g : c.cfg.address_groups) {
    if (want && g.name != *want) continue;
    auto addrs = g.addresses();
    c.out << " " << std::string(66, '-') << "\n";
    c.out << " Address-group name : " << g.name << "\n";
    c.out << " Mode               : "
          << (g.mode == config::AddressGroup::Mode::kPat ? "pat" : "no-pat global") << "\n";
    for (const auto& s : g.sections) {
      c.out << " Section            : " << s.id << "  " << s.start.str() << " - " << s.end.str()
            << "\n";
    }
    c.out << " Addresses          : " << addrs.size() << "\n";
    group_usage(c, g, addrs, bindings);
  }
  c.out << " " << std::string(66, '-') << "\n";
}

}  // namespace

void register_nat(HandlerTable& t) {
  t.add({
      {"group.enter", group_enter},
      {"undo.group", undo_group},
      {"group.mode", group_mode},
      {"group.section", group_section},
      {"undo.group.section", undo_group_section},
      {"natpolicy.enter", natpolicy_enter},
      {"natserver.add", nat_server},
      {"natserver.addr", nat_server},
      {"undo.natserver", undo_natserver},
      {"natrule.egress", natrule_egress},
      {"undo.natrule.egress", undo_natrule_egress},
      {"natrule.action", natrule_action},
      {"undo.natrule.action", undo_natrule_action},
      {"display.natpolicy", display_natpolicy},
      {"display.natpolicy.name", display_natpolicy_name},
      {"display.natserver", display_natserver},
      {"display.addressgroup", display_addressgroup},
  });
}

}  // namespace fw::fwd::ctl
