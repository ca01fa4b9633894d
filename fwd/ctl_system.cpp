// Views, system-view settings (sysname, aging times), display current-configuration (whole,
// one section) / this, save, display saved-configuration, compare configuration, display clock,
// and the shell's own commands (screen-length, display history-command), which fwcli answers.
#include <ctime>
#include <iomanip>
#include <sstream>

#include "cli/output.h"
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
  c.out << config::render_interface_map(c.cfg);  // "iface" area
  for (const auto& [n, v] : c.cfg.aging.overrides)
    c.out << " firewall session aging-time " << n << " " << v << "\n";
  c.out << config::render_source_limit(c.cfg);       // "srclimit" area
  if (!c.cfg.static_routes.empty()) c.out << "#\n";  // area route
  for (const auto& r : c.cfg.static_routes) c.out << config::render_static_route(r) << "\n";
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
    case ViewKind::kAddressSet:
      return this_item(c, c.w.address_set(c.arg()), config::render_address_set);
    case ViewKind::kNatRule:
      return this_item(c, c.w.nat_rule(c.arg()),
                       [](const auto& r) { return config::render_nat_rule(r, " "); });
    case ViewKind::kNatPolicy:
      return this_nat_policy(c);
    case ViewKind::kInterzone:
      return this_interzone(c);
    case ViewKind::kSecurityPolicy:
      return this_security_policy(c);
    case ViewKind::kInterface:
      return this_interface(c);
    default:
      return this_system(c);
  }
}

// The first word of a section's first line names it; after `firewall`, `ip` or `nat` the second
// word does (`firewall zone trust` is a `zone` section, `ip service-set web` a `service-set`).
bool section_named(std::string_view head, const std::string& name) {
  std::istringstream is{std::string(head)};
  std::string w1, w2;
  is >> w1 >> w2;
  auto same = [&](const std::string& w) {
    return w.size() == name.size() &&
           std::equal(w.begin(), w.end(), name.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) ==
                    std::tolower(static_cast<unsigned char>(b));
           });
  };
  return same(w1) || ((w1 == "firewall" || w1 == "ip" || w1 == "nat") && same(w2));
}

// display current-configuration configuration SECTION: the sections of render() (the blocks
// between "#" lines) that SECTION names, each after its "#", then "#" and "return".
void display_current_section(Ctx& c) {
  const std::string name = c.p("config-section");
  std::string shown;
  std::vector<std::string_view> section;
  const std::string text = config::render(c.cfg);
  auto flush = [&] {
    if (!section.empty() && section_named(section.front(), name)) {
      shown += "#\n";
      for (auto l : section) shown.append(l).push_back('\n');
    }
    section.clear();
  };
  for (auto l : cli::split_lines(text)) {
    if (l == "#" || l == "return")
      flush();
    else
      section.push_back(l);
  }
  flush();
  if (shown.empty()) {
    c.out << "Info: The current configuration has no section named " << name << ".\n";
    return;
  }
  c.out << shown << "#\nreturn\n";
}

// The saved configuration text: nullopt with c.err set when there is no database or it fails,
// nullopt with c.err empty when nothing was saved.
std::optional<std::string> saved_text(Ctx& c) {
  if (!c.hooks.store) {
    c.err = "Error: No configuration database (start fwd with --db FILE).";
    return std::nullopt;
  }
  std::string e;
  auto text = c.hooks.store->load(&e);
  if (!text && !e.empty()) c.err = "Error: Failed to read the saved configuration: " + e;
  return text;
}

void display_saved(Ctx& c) {
  auto text = saved_text(c);
  if (text)
    c.out << *text;
  else if (c.err.empty())
    c.out << "Info: No configuration has been saved yet (save writes it).\n";
}

void compare(Ctx& c) {
  auto text = saved_text(c);
  if (text)
    c.out << cli::compare_configuration(config::render(c.cfg), *text);
  else if (c.err.empty())
    c.err = "Error: There is no saved configuration to compare with (save writes it).";
}

void display_clock(Ctx& c) {
  std::time_t now = std::time(nullptr);
  std::tm t{};
  localtime_r(&now, &t);
  c.out << cli::format_clock(t, t.tm_gmtoff, t.tm_zone ? t.tm_zone : "");
}

// The history and the screen length belong to the fwcli session, which answers these itself;
// fwd is asked only by other clients (and the transcripts), and says so.
void display_history(Ctx& c) {
  c.out << "Info: The command history is kept by the interactive shell (fwcli).\n";
}

void screen_length(Ctx& c) {
  c.out << "Info: The configuration takes effect on the current user terminal interface only.\n";
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
      {"display.current.section", display_current_section},
      {"display.saved", display_saved},
      {"compare", compare},
      {"display.clock", display_clock},
      {"display.history", display_history},
      {"screen-length", screen_length},
      {"undo.screen-length", screen_length},
      {"sysname", sysname},
      {"undo.sysname", undo_sysname},
      {"aging.set", aging_set},
      {"undo.aging", undo_aging},
  });
}

}  // namespace fw::fwd::ctl
