// Views, system-view settings (sysname, aging times), display current-configuration / this,
// save.
#include <iomanip>

#include "db/config_store.h"
#include "fwd/ctl_context.h"

namespace fw::fwd::ctl {
namespace {

using cli::ViewKind;
using config::Action;

void view_system(Ctx& c) {
  c.views = {cli::View{ViewKind::kUser, {}}, cli::View{ViewKind::kSystem, {}}};
}

void view_quit(Ctx& c) {
  if (c.views.size() > 1) c.views.pop_back();
}

void view_return(Ctx& c) { c.views = cli::user_view(); }

void display_version(Ctx& c) {
  c.out << "fwd - Huawei USG-style firewall for Linux, version 0.1.0\n";
}

void display_current(Ctx& c) { c.out << config::render(c.cfg); }

void this_security_policy(Ctx& c) {
  c.out << "#\nsecurity-policy\n";
  if (c.cfg.security.default_action != Action::kDeny) c.out << " default action permit\n";
  for (const auto& r : c.cfg.security.rules) c.out << config::render_rule(r, " ");
  c.out << "#\nreturn\n";
}

void this_nat_policy(Ctx& c) {
  c.out << "#\nnat-policy\n";
  for (const auto& r : c.cfg.nat_rules) c.out << config::render_nat_rule(r, " ");
  c.out << "#\nreturn\n";
}

void this_interzone(Ctx& c) {
  if (auto* iz = c.cfg.find_interzone(c.arg(0), c.arg(1))) {
    c.out << "#\nfirewall interzone " << iz->zone1 << " " << iz->zone2 << "\n";
    for (const auto& d : iz->detect) c.out << " detect " << d << "\n";
    c.out << "#\nreturn\n";
  }
}

void this_system(Ctx& c) {
  c.out << "#\n sysname " << c.cfg.sysname << "\n";
  for (const auto& [n, v] : c.cfg.aging.overrides)
    c.out << " firewall session aging-time " << n << " " << v << "\n";
  c.out << "#\nreturn\n";
}

// One section framed like display current-configuration.
template <typename T, typename Render>
void this_item(Ctx& c, T* item, Render render) {
  if (item) c.out << "#\n" << render(*item) << "#\nreturn\n";
}

void display_this(Ctx& c) {
  switch (c.view().kind) {
    case ViewKind::kZone:
      return this_item(c, c.w.zone(c.arg()), config::render_zone);
    case ViewKind::kSecurityRule:
      return this_item(c, c.rule(), [](const auto& r) { return config::render_rule(r, " "); });
    case ViewKind::kServiceSet:
      return this_item(c, c.w.service_set(c.arg()), config::render_service_set);
    case ViewKind::kAddressGroup:
      return this_item(c, c.w.group(c.arg()), config::render_group);
    case ViewKind::kNatRule:
      return this_item(c, c.w.nat_rule(c.arg()),
                       [](const auto& r) { return config::render_nat_rule(r, " "); });
    case ViewKind::kNatPolicy:
      return this_nat_policy(c);
    case ViewKind::kInterzone:
      return this_interzone(c);
    case ViewKind::kSecurityPolicy:
      return this_security_policy(c);
    default:
      return this_system(c);
  }
}

void save(Ctx& c) {
  if (!c.hooks.store) {
    c.err = "Error: No configuration database (start fwd with --db FILE).";
    return;
  }
  std::string e;
  if (!c.hooks.store->save(config::render(c.cfg), &e)) {
    c.err = "Error: Failed to save the configuration: " + e;
    return;
  }
  c.out << "Info: Save the configuration successfully.\n";
}

void sysname(Ctx& c) {
  c.cfg.sysname = c.p("host-name");
  c.changed = true;
}

void undo_sysname(Ctx& c) {
  c.cfg.sysname = "FW";
  c.changed = true;
}

// The aging-time name is a keyword: the one right after `aging-time`.
std::string aging_name(const cli::Match& m) {
  for (size_t i = 0; i + 1 < m.tokens.size(); ++i) {
    if (m.tokens[i].keyword && m.tokens[i].name == "aging-time") return m.tokens[i + 1].name;
  }
  return std::string();
}

void aging_set(Ctx& c) {
  c.cfg.aging.overrides[aging_name(c.m)] = c.m.u32("seconds").value_or(0);
  c.changed = true;
}

void undo_aging(Ctx& c) {
  c.cfg.aging.overrides.erase(aging_name(c.m));
  c.changed = true;
}

}  // namespace

void register_system(HandlerTable& t) {
  t.add({
      {"view.system", view_system},
      {"view.quit", view_quit},
      {"view.return", view_return},
      {"display.version", display_version},
      {"display.current", display_current},
      {"display.this", display_this},
      {"save", save},
      {"sysname", sysname},
      {"undo.sysname", undo_sysname},
      {"aging.set", aging_set},
      {"undo.aging", undo_aging},
  });
}

}  // namespace fw::fwd::ctl
