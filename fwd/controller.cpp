#include "fwd/controller.h"

#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <sstream>

#include "common/counters.h"
#include "db/config_store.h"
#include "fwd/app.h"
#include "fwd/pipeline.h"
#include "fwd/netlink_route.h"
#include "policy/policy.h"
#include "session/session_table.h"

namespace fw::fwd {

using cli::ViewKind;
using config::Action;

struct Controller::Ctx {
  const cli::Match& m;
  cli::ViewStack views;
  config::Config cfg;
  std::ostringstream out;
  std::string err;
  bool changed = false;

  const cli::View& view() const { return views.back(); }
  const std::string& arg(size_t i = 0) const { return views.back().args.at(i); }
  std::string p(const char* name) const { return m.param(name).value_or(""); }
  config::SecurityRule* rule() { return cfg.find_rule(arg()); }
};

namespace {

std::string hms(uint64_t secs) {
  char b[32];
  std::snprintf(b, sizeof b, "%02llu:%02llu:%02llu", static_cast<unsigned long long>(secs / 3600),
                static_cast<unsigned long long>((secs / 60) % 60), static_cast<unsigned long long>(secs % 60));
  return b;
}

std::string endpoint(const common::IpAddr& a, uint16_t port) {
  // VRP prints IPv6 endpoints as ADDR.PORT (a colon would be ambiguous).
  return a.str() + (a.is_v6() ? "." : ":") + std::to_string(port);
}

// The "port" shown for the responder side of ICMP: type << 8 | code of the request.
uint16_t shown_dport(const session::FlowKey& k) {
  if (k.proto == 1) return 8 << 8;
  if (k.proto == 58) return 128 << 8;
  return k.dport;
}

std::string rule_state(bool en) { return en ? "enable" : "disable"; }

// Session filters from a matched display/reset line.
struct SessionFilter {
  std::optional<std::pair<bool, common::IpAddr>> src, dst;  // bool: inside (true) / global
  std::optional<uint8_t> proto;
  std::optional<std::string> app;
  std::optional<std::string> src_zone, dst_zone;
  bool bad = false;
  std::string err;

  bool match(const session::Session& s) const {
    if (src) {
      const auto& a = (src->first || !s.nat.snat) ? s.orig.src : s.nat.snat_addr;
      if (!(a == src->second)) return false;
    }
    if (dst) {
      const auto& a = (dst->first && s.nat.dnat) ? s.nat.dnat_addr : s.orig.dst;
      if (!(a == dst->second)) return false;
    }
    if (proto && s.orig.proto != *proto) return false;
    if (app && app_name(s.app) != *app) return false;
    if (src_zone && policy::zone_name_of(s.src_zone) != *src_zone) return false;
    if (dst_zone && policy::zone_name_of(s.dst_zone) != *dst_zone) return false;
    return true;
  }
};

SessionFilter filter_from(const cli::Match& m) {
  SessionFilter f;
  const auto& t = m.tokens;
  for (size_t i = 0; i < t.size(); ++i) {
    if (!t[i].keyword) {
      auto ip = [&]() {
        auto a = common::IpAddr::parse(t[i].value);
        if (!a) {
          f.bad = true;
          f.err = "Error: Wrong IP address " + t[i].value + ".";
        }
        return a.value_or(common::IpAddr{});
      };
      bool inside = i > 0 && t[i - 1].keyword && t[i - 1].name == "inside";
      if (t[i].name == "src-ip") f.src = std::make_pair(inside, ip());
      if (t[i].name == "dst-ip") f.dst = std::make_pair(inside, ip());
      if (t[i].name == "app") f.app = t[i].value;
      if (t[i].name == "src-zone") f.src_zone = t[i].value;
      if (t[i].name == "dst-zone") f.dst_zone = t[i].value;
      continue;
    }
    if (i > 0 && t[i - 1].keyword && t[i - 1].name == "protocol") {
      static const std::map<std::string, uint8_t> protos = {
          {"tcp", 6}, {"udp", 17}, {"icmp", 1}, {"icmpv6", 58}, {"gre", 47}, {"esp", 50}, {"ah", 51}};
      auto it = protos.find(t[i].name);
      if (it != protos.end()) f.proto = it->second;
    }
  }
  return f;
}

std::optional<common::Prefix> prefix_from(const cli::Match& m, std::string* err) {
  auto a = common::IpAddr::parse(m.param("address").value_or(""));
  if (!a) {
    *err = "Error: Wrong IP address.";
    return std::nullopt;
  }
  if (auto mask = m.param("mask")) {
    auto mk = common::IpAddr::parse(*mask);
    std::optional<common::Prefix> p;
    if (mk) p = common::Prefix::from_mask(*a, *mk);
    if (!p) *err = "Error: Wrong mask: it must be an IPv4 mask for an IPv4 address.";
    return p;
  }
  int len = std::stoi(m.param("length").value_or("-1"));
  auto p = common::Prefix::from_len(*a, len);
  if (!p) *err = "Error: Wrong mask length " + std::to_string(len) + (a->is_v4() ? " (0-32 for IPv4)." : " (0-128 for IPv6).");
  return p;
}

template <typename T>
void add_unique(std::vector<T>& v, const T& x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

}  // namespace

Controller::Controller(ControllerHooks hooks) : hooks_(std::move(hooks)), cfg_(config::Config::defaults()) {
  register_handlers();
}

void Controller::add(const std::string& id, Handler h) { handlers_[id] = std::move(h); }

std::vector<std::string> Controller::check_handlers() const {
  std::vector<std::string> bad;
  std::map<std::string, int> seen;
  for (const auto& s : cli::firewall_grammar().specs()) {
    if (++seen[s.id] > 1) bad.push_back("duplicate spec id " + s.id);
    if (!handlers_.count(s.id)) bad.push_back("no handler for " + s.id);
  }
  for (const auto& [id, _] : handlers_) {
    if (!seen.count(id)) bad.push_back("handler without a command spec: " + id);
  }
  return bad;
}

config::Config Controller::running() const {
  std::lock_guard<std::mutex> lk(mu_);
  return cfg_;
}

std::string Controller::prompt(const cli::ViewStack& vs) const {
  std::lock_guard<std::mutex> lk(mu_);
  return cli::prompt(vs, cfg_.sysname);
}

std::string Controller::apply_now() {
  if (hooks_.pipeline) hooks_.pipeline->set_runtime(std::make_unique<Runtime>(cfg_));
  if (hooks_.on_apply) return hooks_.on_apply(cfg_);
  return "";
}

ExecResult Controller::execute(const cli::ViewStack& vs_in, const std::string& raw, bool search_parents) {
  std::lock_guard<std::mutex> lk(mu_);
  ExecResult r;
  r.views = vs_in.empty() ? cli::user_view() : vs_in;
  std::string line = raw;
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  const auto& g = cli::firewall_grammar();
  std::string pr = cli::prompt(r.views, cfg_.sysname);

  if (!line.empty() && line.back() == '?') {
    cli::ParseOutcome err;
    auto items = g.help(r.views.back().kind, line.substr(0, line.size() - 1), &err);
    if (!items) {
      r.ok = false;
      r.output = pr + line + "\n" + cli::render_error(err, pr.size());
      return r;
    }
    r.output = cli::render_help(*items);
    return r;
  }

  cli::ParseOutcome po = g.parse(r.views, line, search_parents);
  if (!po.match) {
    if (po.error == cli::ErrorKind::kNone) return r;  // empty line or comment
    r.ok = false;
    r.output = pr + line + "\n" + cli::render_error(po, pr.size());
    return r;
  }
  auto it = handlers_.find(po.match->spec->id);
  if (it == handlers_.end()) {
    r.ok = false;
    r.output = "Error: The command is not supported yet.\n";
    return r;
  }
  Ctx c{*po.match, r.views, cfg_, {}, {}, false};
  for (size_t i = 0; i < po.views_up && c.views.size() > 1; ++i) c.views.pop_back();
  it->second(c);
  if (!c.err.empty()) {
    r.ok = false;
    r.output = c.err + (c.err.back() == '\n' ? "" : "\n");
    return r;
  }
  if (c.changed) {
    if (auto e = config::validate(c.cfg)) {
      r.ok = false;
      r.output = *e + "\n";
      return r;
    }
    cfg_ = std::move(c.cfg);
    std::string e = apply_now();
    if (!e.empty()) c.out << "Warning: " << e << "\n";
  }
  r.output = c.out.str();
  r.views = std::move(c.views);
  return r;
}

bool Controller::load_text(const std::string& text, const std::string& source, std::string* err) {
  cli::ViewStack vs = {cli::View{ViewKind::kUser, {}}, cli::View{ViewKind::kSystem, {}}};
  std::istringstream is(text);
  std::string line;
  int n = 0;
  while (std::getline(is, line)) {
    ++n;
    size_t a = line.find_first_not_of(" \t\r");
    if (a == std::string::npos || line[a] == '#' || line[a] == '!') continue;
    std::string body = line.substr(a);
    while (!body.empty() && (body.back() == ' ' || body.back() == '\t' || body.back() == '\r')) body.pop_back();
    ExecResult r = execute(vs, body, true);
    if (!r.ok) {
      if (err) *err = source + ":" + std::to_string(n) + ": " + r.output;
      return false;
    }
    vs = r.views;
    // A configuration file is a system-view script: `return`/`quit` to the
    // user view ends a section, it does not end the file.
    if (vs.size() < 2) vs = {cli::View{ViewKind::kUser, {}}, cli::View{ViewKind::kSystem, {}}};
  }
  return true;
}

std::string Controller::render_session_table(Ctx& c, bool verbose) {
  SessionFilter f = filter_from(c.m);
  if (f.bad) {
    c.err = f.err;
    return "";
  }
  std::ostringstream os;
  std::vector<session::Session> list;
  if (hooks_.sessions) list = hooks_.sessions->snapshot([&](const session::Session& s) { return f.match(s); });
  uint64_t now = hooks_.clock ? hooks_.clock->now_ms() : 0;
  os << " Current Total Sessions : " << list.size() << "\n";
  for (const auto& s : list) {
    std::string src = endpoint(s.orig.src, s.orig.sport);
    if (s.nat.snat) src += "[" + endpoint(s.nat.snat_addr, s.nat.snat_port) + "]";
    std::string dst = endpoint(s.orig.dst, shown_dport(s.orig));
    if (s.nat.dnat) dst += "[" + endpoint(s.nat.dnat_addr, s.nat.dnat_port) + "]";
    std::string arrow = s.has_servermap ? "+->" : "-->";
    if (!verbose) {
      os << " " << app_name(s.app) << "  VPN: public --> public  " << src << " " << arrow << " " << dst << "\n";
      continue;
    }
    char id[32];
    std::snprintf(id, sizeof id, "%llx", static_cast<unsigned long long>(s.id));
    os << " " << app_name(s.app) << "  VPN: public --> public  ID: " << id << "\n";
    uint64_t ttl = s.timeout_s;
    uint64_t idle_s = now > s.last_seen_ms ? (now - s.last_seen_ms) / 1000 : 0;
    uint64_t left = idle_s >= ttl ? 0 : ttl - idle_s;
    os << " Zone: " << policy::zone_name_of(s.src_zone) << " --> " << policy::zone_name_of(s.dst_zone)
       << "  TTL: " << hms(ttl) << "  Left: " << hms(left) << "\n";
    os << " Recv Interface: " << (s.in_ifindex ? ifname_of(s.in_ifindex) : std::string("InLoopBack0")) << "\n";
    const common::IpAddr& nh = s.next_hop.empty() ? s.orig.dst : s.next_hop;
    os << " Interface: " << (s.out_ifindex ? ifname_of(s.out_ifindex) : std::string("InLoopBack0"))
       << "  NextHop: " << nh.str() << "\n";
    os << " <--packets: " << s.packets[1] << " bytes: " << s.bytes[1] << " --> packets: " << s.packets[0]
       << " bytes: " << s.bytes[0] << "\n";
    os << " " << src << " " << arrow << " " << dst << " PolicyName: " << session::name_of(s.policy) << "\n";
  }
  return os.str();
}

void Controller::register_handlers() {
  // ---- views
  add("view.system", [](Ctx& c) { c.views = {cli::View{ViewKind::kUser, {}}, cli::View{ViewKind::kSystem, {}}}; });
  add("view.quit", [](Ctx& c) {
    if (c.views.size() > 1) c.views.pop_back();
  });
  add("view.return", [](Ctx& c) { c.views = cli::user_view(); });

  // ---- displays
  add("display.version", [](Ctx& c) {
    c.out << "fwd - Huawei USG-style firewall for Linux, version 0.1.0\n";
  });
  add("display.current", [](Ctx& c) { c.out << config::render(c.cfg); });
  add("display.this", [](Ctx& c) {
    const auto& v = c.view();
    switch (v.kind) {
      case ViewKind::kZone:
        if (auto* z = c.cfg.find_zone(v.args.at(0))) c.out << "#\n" << config::render_zone(*z) << "#\nreturn\n";
        break;
      case ViewKind::kSecurityRule:
        if (auto* r = c.rule()) c.out << "#\n" << config::render_rule(*r, " ") << "#\nreturn\n";
        break;
      case ViewKind::kServiceSet:
        if (auto* s = c.cfg.find_service_set(v.args.at(0))) c.out << "#\n" << config::render_service_set(*s) << "#\nreturn\n";
        break;
      case ViewKind::kSecurityPolicy: {
        c.out << "#\nsecurity-policy\n";
        if (c.cfg.security.default_action != Action::kDeny) c.out << " default action permit\n";
        for (const auto& r : c.cfg.security.rules) c.out << config::render_rule(r, " ");
        c.out << "#\nreturn\n";
        break;
      }
      default: {
        c.out << "#\n sysname " << c.cfg.sysname << "\n";
        for (const auto& [n, v2] : c.cfg.aging.overrides) c.out << " firewall session aging-time " << n << " " << v2 << "\n";
        c.out << "#\nreturn\n";
      }
    }
  });
  add("display.zone", [](Ctx& c) {
    auto want = c.m.param("zone-name");
    if (want && !c.cfg.find_zone(*want)) {
      c.err = "Error: The security zone " + *want + " does not exist.";
      return;
    }
    for (const auto& z : c.cfg.zones) {
      if (want && z.name != *want) continue;
      c.out << z.name << "\n priority is " << z.priority << "\n interface of the zone is (" << z.interfaces.size()
            << "):\n";
      for (const auto& i : z.interfaces) c.out << "    " << i << "\n";
      c.out << "#\n";
    }
  });
  auto policy_table = [](Ctx& c, const std::string* only) {
    std::vector<policy::RuleView> rows;
    for (const auto& r : c.cfg.security.rules) {
      if (only && r.name != *only) continue;
      bool permit = r.action && *r.action == Action::kPermit;
      rows.push_back({r.id, r.name, r.enabled, permit ? "permit" : "deny",
                      policy::CompiledPolicy::hit_counter(r.name).get()});
    }
    if (!only || *only == "default") {
      rows.push_back({0, "default", true, c.cfg.security.default_action == Action::kPermit ? "permit" : "deny",
                      policy::CompiledPolicy::hit_counter("default").get()});
    }
    c.out << "Total:" << rows.size() << "\n";
    c.out << "RULE ID  RULE NAME                         STATE      ACTION       HITS\n";
    c.out << std::string(79, '-') << "\n";
    for (const auto& r : rows) {
      c.out << std::left << std::setw(9) << r.id << std::setw(34) << r.name << std::setw(11)
            << rule_state(r.enabled) << std::setw(13) << r.action << r.hits << "\n";
    }
    c.out << std::string(79, '-') << "\n";
  };
  add("display.policy.all", [policy_table](Ctx& c) { policy_table(c, nullptr); });
  add("display.policy.name", [policy_table](Ctx& c) {
    std::string n = c.p("rule-name");
    if (n != "default" && !c.cfg.find_rule(n)) {
      c.err = "Error: The rule " + n + " does not exist.";
      return;
    }
    policy_table(c, &n);
    if (auto* r = c.cfg.find_rule(n)) c.out << config::render_rule(*r, " ");
  });
  add("display.session.table", [this](Ctx& c) {
    std::string s = render_session_table(c, c.m.has("verbose"));
    if (c.err.empty()) c.out << s;
  });
  add("display.session.aging", [](Ctx& c) {
    c.out << "  " << std::string(40, '-') << "\n";
    c.out << "  Protocol          Time(second)\n";
    c.out << "  " << std::string(40, '-') << "\n";
    for (const auto& [n, _] : config::aging_defaults()) {
      c.out << "  " << std::left << std::setw(18) << n << config::aging_value(c.cfg.aging, n) << "\n";
    }
    c.out << "  " << std::string(40, '-') << "\n";
  });
  add("display.statistics", [this](Ctx& c) {
    auto& t = common::counters();
    auto line = [&](const std::string& label, uint64_t v) {
      c.out << "  " << std::left << std::setw(32) << label << ": " << v << "\n";
    };
    c.out << " Firewall statistics:\n";
    line("Packets received", t.value("packet.received"));
    line("Packets accepted", t.value("packet.accepted"));
    line("Packets dropped", t.value("packet.dropped"));
    for (const char* d : {"malformed", "tcp-not-syn", "policy-deny", "no-zone", "no-route", "session-limit",
                          "fragment-no-session", "icmp-error-no-session"}) {
      line(std::string("Dropped ") + d, t.value(std::string("packet.drop.") + d));
    }
    line("Accepted icmp-error-related", t.value("packet.accepted.icmp-error-related"));
    line("Sessions created", t.value("session.created"));
    line("Sessions aged", t.value("session.aged"));
    line("Sessions removed", t.value("session.removed"));
    line("Sessions current", hooks_.sessions ? hooks_.sessions->size() : 0);
    line("Sessions refused (table full)", t.value("session.drop.table-full"));
    for (const auto& [name, v] : t.snapshot()) {
      if (name.rfind("packet.malformed.", 0) == 0 && v > 0) line("Malformed " + name.substr(17), v);
    }
    if (hooks_.extra_statistics) c.out << hooks_.extra_statistics();
  });
  add("display.servicesets", [](Ctx& c) {
    auto want = c.m.param("set-name");
    for (const auto& s : config::predefined_services()) {
      if (want && s.name != *want) continue;
      c.out << "Service-set Name: " << s.name << "  Type: predefined\n";
    }
    for (const auto& s : c.cfg.service_sets) {
      if (want && s.name != *want) continue;
      c.out << "Service-set Name: " << s.name << "  Type: object\n";
      std::istringstream is(config::render_service_set(s));
      std::string l;
      std::getline(is, l);
      while (std::getline(is, l)) c.out << l << "\n";
    }
  });
  add("reset.session.table", [this](Ctx& c) {
    SessionFilter f = filter_from(c.m);
    if (f.bad) {
      c.err = f.err;
      return;
    }
    if (hooks_.sessions) hooks_.sessions->erase_if([&](const session::Session& s) { return f.match(s); });
  });
  add("reset.statistics", [](Ctx&) {
    for (const auto& [name, _] : common::counters().snapshot()) {
      if (name.rfind("packet.", 0) == 0) common::counters().get(name).reset();
    }
  });
  add("save", [this](Ctx& c) {
    if (!hooks_.store) {
      c.err = "Error: No configuration database (start fwd with --db FILE).";
      return;
    }
    std::string e;
    if (!hooks_.store->save(config::render(c.cfg), &e)) {
      c.err = "Error: Failed to save the configuration: " + e;
      return;
    }
    c.out << "Info: Save the configuration successfully.\n";
  });

  // ---- system view
  add("sysname", [](Ctx& c) {
    c.cfg.sysname = c.p("host-name");
    c.changed = true;
  });
  add("undo.sysname", [](Ctx& c) {
    c.cfg.sysname = "FW";
    c.changed = true;
  });
  add("zone.enter", [](Ctx& c) {
    std::string n = c.p("zone-name");
    if (!c.cfg.find_zone(n)) {
      c.err = "Error: The security zone " + n + " does not exist. Use `firewall zone name " + n + "` to create it.";
      return;
    }
    c.views.push_back({ViewKind::kZone, {n}});
  });
  add("zone.create", [](Ctx& c) {
    std::string n = c.p("zone-name");
    if (!c.cfg.find_zone(n)) {
      if (n == "any") {
        c.err = "Error: The name any is reserved.";
        return;
      }
      if (c.cfg.zones.size() >= 32) {
        c.err = "Error: The number of security zones reached the upper limit (32).";
        return;
      }
      c.cfg.zones.push_back({n, 0, {}, false});
      c.changed = true;
    }
    c.views.push_back({ViewKind::kZone, {n}});
  });
  add("undo.zone", [](Ctx& c) {
    std::string n = c.p("zone-name");
    auto* z = c.cfg.find_zone(n);
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
          c.err = "Error: The security zone " + n + " is referenced by security policy rule " + r.name + ".";
          return;
        }
      }
    }
    std::erase_if(c.cfg.zones, [&](const config::Zone& x) { return x.name == n; });
    c.changed = true;
  });
  auto aging_name = [](const cli::Match& m) {
    for (size_t i = 0; i + 1 < m.tokens.size(); ++i) {
      if (m.tokens[i].keyword && m.tokens[i].name == "aging-time") return m.tokens[i + 1].name;
    }
    return std::string();
  };
  add("aging.set", [aging_name](Ctx& c) {
    c.cfg.aging.overrides[aging_name(c.m)] = static_cast<uint32_t>(std::stoul(c.p("seconds")));
    c.changed = true;
  });
  add("undo.aging", [aging_name](Ctx& c) {
    c.cfg.aging.overrides.erase(aging_name(c.m));
    c.changed = true;
  });
  add("policy.enter", [](Ctx& c) { c.views.push_back({ViewKind::kSecurityPolicy, {}}); });
  add("serviceset.enter", [](Ctx& c) {
    std::string n = c.p("set-name");
    for (const auto& s : config::predefined_services()) {
      if (s.name == n) {
        c.err = "Error: The name " + n + " is used by a predefined service.";
        return;
      }
    }
    if (!c.cfg.find_service_set(n)) {
      config::ServiceSet s;
      s.name = n;
      c.cfg.service_sets.push_back(s);
      c.changed = true;
    }
    c.views.push_back({ViewKind::kServiceSet, {n}});
  });
  add("undo.serviceset", [](Ctx& c) {
    std::string n = c.p("set-name");
    if (!c.cfg.find_service_set(n)) {
      c.err = "Error: The service set " + n + " does not exist.";
      return;
    }
    for (const auto& r : c.cfg.security.rules) {
      if (std::find(r.services.begin(), r.services.end(), n) != r.services.end()) {
        c.err = "Error: The service set " + n + " is referenced by security policy rule " + r.name + ".";
        return;
      }
    }
    std::erase_if(c.cfg.service_sets, [&](const config::ServiceSet& s) { return s.name == n; });
    c.changed = true;
  });

  // ---- zone view
  add("zone.priority", [](Ctx& c) {
    auto* z = c.cfg.find_zone(c.arg());
    if (!z) return;
    int prio = std::stoi(c.p("priority"));
    if (z->builtin) {
      // current-configuration lists the built-in priorities; re-applying them is fine.
      if (prio != z->priority) c.err = "Error: The priority of a default security zone cannot be changed.";
      return;
    }
    z->priority = prio;
    c.changed = true;
  });
  add("zone.add", [](Ctx& c) {
    auto* z = c.cfg.find_zone(c.arg());
    std::string i = c.p("interface");
    if (!z) return;
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
  });
  add("undo.zone.add", [](Ctx& c) {
    auto* z = c.cfg.find_zone(c.arg());
    std::string i = c.p("interface");
    if (!z) return;
    auto it = std::find(z->interfaces.begin(), z->interfaces.end(), i);
    if (it == z->interfaces.end()) {
      c.err = "Error: The interface " + i + " is not in this security zone.";
      return;
    }
    z->interfaces.erase(it);
    c.changed = true;
  });

  // ---- security-policy view
  add("rule.enter", [this](Ctx& c) {
    std::string n = c.p("rule-name");
    if (n == "default") {
      c.err = "Error: The name default is reserved for the default rule.";
      return;
    }
    if (!c.cfg.find_rule(n)) {
      config::SecurityRule r;
      r.name = n;
      r.id = next_rule_id_++;
      policy::CompiledPolicy::hit_counter(n).reset();
      c.cfg.security.rules.push_back(r);
      c.changed = true;
    }
    c.views.push_back({ViewKind::kSecurityRule, {n}});
  });
  add("undo.rule", [](Ctx& c) {
    std::string n = c.p("rule-name");
    if (!c.cfg.find_rule(n)) {
      c.err = "Error: The rule " + n + " does not exist.";
      return;
    }
    std::erase_if(c.cfg.security.rules, [&](const config::SecurityRule& r) { return r.name == n; });
    c.changed = true;
  });
  add("rule.move", [](Ctx& c) {
    auto& rules = c.cfg.security.rules;
    std::string n = c.p("rule-name");
    auto find = [&](const std::string& x) {
      return std::find_if(rules.begin(), rules.end(), [&](const auto& r) { return r.name == x; });
    };
    auto it = find(n);
    if (it == rules.end()) {
      c.err = "Error: The rule " + n + " does not exist.";
      return;
    }
    config::SecurityRule r = *it;
    size_t pos = static_cast<size_t>(it - rules.begin());
    if (auto ref = c.m.param("ref-rule")) {
      if (*ref == n) return;
      if (find(*ref) == rules.end()) {
        c.err = "Error: The rule " + *ref + " does not exist.";
        return;
      }
      rules.erase(it);
      auto rit = find(*ref);
      if (c.m.has("after")) ++rit;
      rules.insert(rit, r);
    } else {
      rules.erase(it);
      size_t np = pos;
      if (c.m.has("up")) np = pos == 0 ? 0 : pos - 1;
      if (c.m.has("down")) np = std::min(pos + 1, rules.size());
      if (c.m.has("top")) np = 0;
      if (c.m.has("bottom")) np = rules.size();
      rules.insert(rules.begin() + static_cast<long>(np), r);
    }
    c.changed = true;
  });
  add("policy.default", [](Ctx& c) {
    c.cfg.security.default_action = c.m.has("permit") ? Action::kPermit : Action::kDeny;
    c.changed = true;
  });
  add("undo.policy.default", [](Ctx& c) {
    c.cfg.security.default_action = Action::kDeny;
    c.changed = true;
  });

  // ---- rule view
  auto zones_cmd = [](bool src, bool undo) {
    return [src, undo](Ctx& c) {
      auto* r = c.rule();
      if (!r) return;
      auto& list = src ? r->src_zones : r->dst_zones;
      auto names = c.m.params("zone");
      if (undo) {
        if (names.empty()) list.clear();
        for (const auto& n : names) std::erase(list, n);
      } else {
        for (const auto& n : names) {
          if (n != "any" && !c.cfg.find_zone(n)) {
            c.err = "Error: The security zone " + n + " does not exist.";
            return;
          }
        }
        for (const auto& n : names) add_unique(list, n);
      }
      c.changed = true;
    };
  };
  add("rule.srczone", zones_cmd(true, false));
  add("undo.rule.srczone", zones_cmd(true, true));
  add("rule.dstzone", zones_cmd(false, false));
  add("undo.rule.dstzone", zones_cmd(false, true));
  auto addr_cmd = [](bool src, bool undo) {
    return [src, undo](Ctx& c) {
      auto* r = c.rule();
      if (!r) return;
      auto& list = src ? r->src_addrs : r->dst_addrs;
      if (undo && !c.m.param("address")) {
        list.clear();
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
    };
  };
  add("rule.srcaddr", addr_cmd(true, false));
  add("undo.rule.srcaddr", addr_cmd(true, true));
  add("rule.dstaddr", addr_cmd(false, false));
  add("undo.rule.dstaddr", addr_cmd(false, true));
  add("rule.service", [](Ctx& c) {
    auto* r = c.rule();
    if (!r) return;
    for (const auto& s : c.m.params("service")) {
      if (!config::lookup_service(c.cfg, s)) {
        c.err = "Error: The service " + s + " does not exist.";
        return;
      }
    }
    for (const auto& s : c.m.params("service")) add_unique(r->services, s);
    c.changed = true;
  });
  add("undo.rule.service", [](Ctx& c) {
    auto* r = c.rule();
    if (!r) return;
    auto names = c.m.params("service");
    if (names.empty()) r->services.clear();
    for (const auto& s : names) std::erase(r->services, s);
    c.changed = true;
  });
  add("rule.action", [](Ctx& c) {
    if (auto* r = c.rule()) {
      r->action = c.m.has("permit") ? Action::kPermit : Action::kDeny;
      c.changed = true;
    }
  });
  add("undo.rule.action", [](Ctx& c) {
    if (auto* r = c.rule()) {
      r->action.reset();
      c.changed = true;
    }
  });
  add("rule.disable", [](Ctx& c) {
    if (auto* r = c.rule()) {
      r->enabled = false;
      c.changed = true;
    }
  });
  add("undo.rule.disable", [](Ctx& c) {
    if (auto* r = c.rule()) {
      r->enabled = true;
      c.changed = true;
    }
  });
  add("rule.description", [](Ctx& c) {
    if (auto* r = c.rule()) {
      r->description = c.p("text");
      c.changed = true;
    }
  });
  add("undo.rule.description", [](Ctx& c) {
    if (auto* r = c.rule()) {
      r->description.clear();
      c.changed = true;
    }
  });

  // ---- service-set view
  add("serviceset.item", [](Ctx& c) {
    auto* s = c.cfg.find_service_set(c.arg());
    if (!s) return;
    config::ServiceItem it;
    if (auto id = c.m.param("item-id")) {
      it.index = static_cast<uint32_t>(std::stoul(*id));
    } else {
      uint32_t next = 0;
      for (const auto& x : s->items) next = std::max(next, x.index + 1);
      it.index = next;
    }
    if (c.m.has("tcp")) it.proto = 6;
    else if (c.m.has("udp")) it.proto = 17;
    else if (c.m.has("icmp")) it.proto = 1;
    else if (c.m.has("icmpv6")) it.proto = 58;
    else it.proto = static_cast<uint8_t>(std::stoul(c.p("protocol-number")));
    auto range = [&](const char* lo, const char* hi, uint16_t& a, uint16_t& b) -> bool {
      if (auto l = c.m.param(lo)) {
        a = static_cast<uint16_t>(std::stoul(*l));
        b = a;
        if (auto h = c.m.param(hi)) b = static_cast<uint16_t>(std::stoul(*h));
        if (b < a) {
          c.err = "Error: The end port must not be smaller than the start port.";
          return false;
        }
      }
      return true;
    };
    if (!range("sport", "sport-end", it.sport_lo, it.sport_hi)) return;
    if (!range("dport", "dport-end", it.dport_lo, it.dport_hi)) return;
    std::erase_if(s->items, [&](const config::ServiceItem& x) { return x.index == it.index; });
    s->items.push_back(it);
    std::sort(s->items.begin(), s->items.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
    c.changed = true;
  });
  add("undo.serviceset.item", [](Ctx& c) {
    auto* s = c.cfg.find_service_set(c.arg());
    if (!s) return;
    uint32_t id = static_cast<uint32_t>(std::stoul(c.p("item-id")));
    if (!std::erase_if(s->items, [&](const config::ServiceItem& x) { return x.index == id; })) {
      c.err = "Error: The service item " + std::to_string(id) + " does not exist.";
      return;
    }
    c.changed = true;
  });
}

}  // namespace fw::fwd
