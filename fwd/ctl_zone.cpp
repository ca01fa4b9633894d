// Security zones: create, enter, delete, priority, interfaces, display zone.
#include "fwd/ctl_context.h"

namespace fw::fwd::ctl {
namespace {

using cli::ViewKind;

void zone_enter(Ctx& c) {
  std::string n = c.p("zone-name");
  if (!c.w.zone(n)) {
    c.err = "Error: The security zone " + n + " does not exist. Use `firewall zone name " + n +
            "` to create it.";
    return;
  }
  c.views.push_back({ViewKind::kZone, {n}});
}

void zone_create(Ctx& c) {
  std::string n = c.p("zone-name");
  if (!c.w.zone(n)) {
    if (n == "any") {
      c.err = "Error: The name any is reserved.";
      return;
    }
    if (c.cfg.zones.size() >= 32) {
      c.err = "Error: The number of security zones reached the upper limit (32).";
      return;
    }
    c.cfg.zones.push_back({n, 0, {}, false, {}, {}, {}});
    c.w.zones.added(c.cfg.zones);
    c.changed = true;
  }
  c.views.push_back({ViewKind::kZone, {n}});
}

void undo_zone(Ctx& c) {
  std::string n = c.p("zone-name");
  auto* z = c.w.zone(n);
  if (!z) {
    c.err = "Error: The security zone " + n + " does not exist.";
    return;
  }
  if (z->builtin) {
    c.err = "Error: The default security zone " + n + " cannot be deleted.";
    return;
  }
  for (const auto& r : c.cfg.security.rules) {
    for (const auto* l : {&r.src_zones, &r.dst_zones}) {
      if (std::find(l->begin(), l->end(), n) != l->end()) {
        c.err = "Error: The security zone " + n + " is referenced by security policy rule " +
                r.name + ".";
        return;
      }
    }
  }
  std::erase_if(c.cfg.zones, [&](const config::Zone& x) { return x.name == n; });
  c.w.zones.reset();
  c.changed = true;
}

void zone_priority(Ctx& c) {
  auto* z = c.w.zone(c.arg());
  if (!z) return;
  int prio = static_cast<int>(c.m.integer("priority").value_or(0));
  if (z->builtin) {
    // current-configuration lists the built-in priorities; re-applying them is fine.
    if (prio != z->priority)
      c.err = "Error: The priority of a default security zone cannot be changed.";
    return;
  }
  z->priority = prio;
  c.changed = true;
}

// "guard" area: `urpf strict|loose` / `undo urpf` (USG: urpf in the interface view; here per zone).
void zone_urpf(Ctx& c) {
  auto* z = c.w.zone(c.arg());
  if (!z) return;
  if (z->name == "local") {
    c.err = "Error: uRPF cannot be configured in the local zone.";
    return;
  }
  z->urpf = c.m.has("undo")     ? config::Urpf::kOff
            : c.m.has("strict") ? config::Urpf::kStrict
                                : config::Urpf::kLoose;
  c.changed = true;
}

void zone_add(Ctx& c) {
  auto* z = c.w.zone(c.arg());
  if (!z) return;
  std::string i = interface_param(c, "interface");  // a VRP name is kept as its Linux name
  if (i.empty()) return;
  if (z->name == "local") {
    c.err = "Error: Interfaces cannot be added to the local zone.";
    return;
  }
  if (const auto* other = c.cfg.zone_of_interface(i)) {
    if (other->name != z->name) {
      c.err = "Error: The interface " + i + " has been added to security zone " + other->name + ".";
    }
    return;
  }
  if (!z->builtin && z->priority == 0) {
    c.err = "Error: Set the priority of the security zone first.";
    return;
  }
  z->interfaces.push_back(i);
  c.changed = true;
}

void undo_zone_add(Ctx& c) {
  auto* z = c.w.zone(c.arg());
  std::string i = c.cfg.linux_ifname(c.p("interface"));
  if (!z) return;
  auto it = std::find(z->interfaces.begin(), z->interfaces.end(), i);
  if (it == z->interfaces.end()) {
    c.err = "Error: The interface " + i + " is not in this security zone.";
    return;
  }
  z->interfaces.erase(it);
  c.changed = true;
}

void display_zone(Ctx& c) {
  auto want = c.m.param("zone-name");
  if (want && !c.w.zone(*want)) {
    c.err = "Error: The security zone " + *want + " does not exist.";
    return;
  }
  for (const auto& z : c.cfg.zones) {
    if (want && z.name != *want) continue;
    c.out << z.name << "\n priority is " << z.priority << "\n interface of the zone is ("
          << z.interfaces.size() << "):\n";
    for (const auto& i : z.interfaces) c.out << "    " << i << "\n";
    c.out << "#\n";
  }
}

}  // namespace

void register_zone(HandlerTable& t) {
  t.add({
      {"zone.enter", zone_enter},
      {"zone.create", zone_create},
      {"undo.zone", undo_zone},
      {"zone.priority", zone_priority},
      {"zone.add", zone_add},
      {"undo.zone.add", undo_zone_add},
      {"display.zone", display_zone},
      {"zone.urpf", zone_urpf},
      {"undo.zone.urpf", zone_urpf},
  });
}

}  // namespace fw::fwd::ctl
