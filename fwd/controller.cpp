#include "fwd/controller.h"

#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <sstream>

#include "aspf/registry.h"
#include "common/counters.h"
#include "db/config_store.h"
#include "fwd/dataplane.h"
#include "fwd/netlink_route.h"
#include "nat/nat_policy.h"
#include "policy/policy.h"
#include "session/server_map.h"
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
                static_cast<unsigned long long>((secs / 60) % 60),
                static_cast<unsigned long long>(secs % 60));
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

  bool match(const session::Session& s, const DataPlane& dp) const {
    if (src) {
      const auto& a = (src->first || !s.nat.snat) ? s.orig.src : s.nat.snat_addr;
      if (!(a == src->second)) return false;
    }
    if (dst) {
      const auto& a = (dst->first && s.nat.dnat) ? s.nat.dnat_addr : s.orig.dst;
      if (!(a == dst->second)) return false;
    }
    if (proto && s.orig.proto != *proto) return false;
    if (app && dp.apps().name(s.app) != *app) return false;
    if (src_zone && dp.zone_name(s.src_zone) != *src_zone) return false;
    if (dst_zone && dp.zone_name(s.dst_zone) != *dst_zone) return false;
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
          {"tcp", 6},  {"udp", 17}, {"icmp", 1}, {"icmpv6", 58},
          {"gre", 47}, {"esp", 50}, {"ah", 51}};
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
  if (!p)
    *err = "Error: Wrong mask length " + std::to_string(len) +
           (a->is_v4() ? " (0-32 for IPv4)." : " (0-128 for IPv6).");
  return p;
}

template <typename T>
void add_unique(std::vector<T>& v, const T& x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

}  // namespace

Controller::Controller(ControllerHooks hooks)
    : hooks_(std::move(hooks)), dp_(hooks_.dataplane), cfg_(config::Config::defaults()) {
  if (!dp_) {
    // Alone (transcript tests, configuration checks): own counters and ALG list.
    own_counters_ = std::make_unique<common::CounterTable>();
    own_algs_ = std::make_unique<aspf::Registry>(*own_counters_);
    aspf::add_builtin_algs(*own_algs_);
  }
  register_handlers();
}

Controller::~Controller() = default;

common::CounterTable& Controller::counters() { return dp_ ? dp_->counters() : *own_counters_; }

const aspf::Registry& Controller::algs() const { return dp_ ? dp_->algs() : *own_algs_; }

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
  if (dp_) dp_->apply(cfg_);
  if (hooks_.on_apply) return hooks_.on_apply(cfg_);
  return "";
}

ExecResult Controller::execute(const cli::ViewStack& vs_in, const std::string& raw,
                               bool search_parents) {
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
  // VRP: a configuration command found in an upper view runs there and the
  // session moves up. Displays, resets and save never move the session.
  const std::string& id = po.match->spec->id;
  bool moves = id.rfind("display.", 0) != 0 && id.rfind("reset.", 0) != 0 && id != "save";
  for (size_t i = 0; moves && i < po.views_up && c.views.size() > 1; ++i) c.views.pop_back();
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
    while (!body.empty() && (body.back() == ' ' || body.back() == '\t' || body.back() == '\r'))
      body.pop_back();
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
  if (dp_) {
    list = dp_->sessions().snapshot([&](const session::Session& s) { return f.match(s, *dp_); });
  }
  uint64_t now = dp_ ? dp_->clock().now_ms() : 0;
  os << " Current Total Sessions : " << list.size() << "\n";
  for (const auto& s : list) {
    // What goes in the port positions comes from the ALG whose channel the
    // session is (PPTP's GRE shows call ids), else the ports.
    std::pair<uint16_t, uint16_t> ports{s.orig.sport, s.nat.snat_port};
    if (const auto* ins = dp_->algs().get(dp_->apps().alg_of(s.app))) ports = ins->shown_ports(s);
    std::string src = endpoint(s.orig.src, ports.first);
    if (s.nat.snat) src += "[" + endpoint(s.nat.snat_addr, ports.second) + "]";
    std::string dst = endpoint(s.orig.dst, shown_dport(s.orig));
    if (s.nat.dnat) dst += "[" + endpoint(s.nat.dnat_addr, s.nat.dnat_port) + "]";
    std::string arrow = s.has_servermap ? "+->" : "-->";
    if (!verbose) {
      os << " " << dp_->apps().name(s.app) << "  VPN: public --> public  " << src << " " << arrow
         << " " << dst << "\n";
      continue;
    }
    char id[32];
    std::snprintf(id, sizeof id, "%llx", static_cast<unsigned long long>(s.id));
    os << " " << dp_->apps().name(s.app) << "  VPN: public --> public  ID: " << id << "\n";
    uint64_t ttl = s.timeout_s;
    uint64_t idle_s = now > s.last_seen_ms ? (now - s.last_seen_ms) / 1000 : 0;
    uint64_t left = idle_s >= ttl ? 0 : ttl - idle_s;
    os << " Zone: " << dp_->zone_name(s.src_zone) << " --> " << dp_->zone_name(s.dst_zone)
       << "  TTL: " << hms(ttl) << "  Left: " << hms(left) << "\n";
    os << " Recv Interface: "
       << (s.in_ifindex ? ifname_of(s.in_ifindex) : std::string("InLoopBack0")) << "\n";
    const common::IpAddr& nh = !s.next_hop.empty() ? s.next_hop
                               : s.nat.dnat        ? s.nat.dnat_addr
                                                   : s.orig.dst;
    os << " Interface: " << (s.out_ifindex ? ifname_of(s.out_ifindex) : std::string("InLoopBack0"))
       << "  NextHop: " << nh.str() << "\n";
    os << " <--packets: " << s.packets[1] << " bytes: " << s.bytes[1]
       << " --> packets: " << s.packets[0] << " bytes: " << s.bytes[0] << "\n";
    os << " " << src << " " << arrow << " " << dst << " PolicyName: " << dp_->names().name(s.policy)
       << "\n";
  }
  return os.str();
}

void Controller::register_handlers() {
  // ---- views
  add("view.system", [](Ctx& c) {
    c.views = {cli::View{ViewKind::kUser, {}}, cli::View{ViewKind::kSystem, {}}};
  });
  add("view.quit", [](Ctx& c) {
    if (c.views.size() > 1) c.views.pop_back();
  });
  add("view.return", [](Ctx& c) { c.views = cli::user_view(); });

  // ---- displays
  add("display.version",
      [](Ctx& c) { c.out << "fwd - Huawei USG-style firewall for Linux, version 0.1.0\n"; });
  add("display.current", [](Ctx& c) { c.out << config::render(c.cfg); });
  add("display.this", [](Ctx& c) {
    const auto& v = c.view();
    switch (v.kind) {
      case ViewKind::kZone:
        if (auto* z = c.cfg.find_zone(v.args.at(0)))
          c.out << "#\n" << config::render_zone(*z) << "#\nreturn\n";
        break;
      case ViewKind::kSecurityRule:
        if (auto* r = c.rule()) c.out << "#\n" << config::render_rule(*r, " ") << "#\nreturn\n";
        break;
      case ViewKind::kServiceSet:
        if (auto* s = c.cfg.find_service_set(v.args.at(0)))
          c.out << "#\n" << config::render_service_set(*s) << "#\nreturn\n";
        break;
      case ViewKind::kAddressGroup:
        if (auto* g = c.cfg.find_group(v.args.at(0)))
          c.out << "#\n" << config::render_group(*g) << "#\nreturn\n";
        break;
      case ViewKind::kNatRule:
        if (auto* r = c.cfg.find_nat_rule(v.args.at(0)))
          c.out << "#\n" << config::render_nat_rule(*r, " ") << "#\nreturn\n";
        break;
      case ViewKind::kNatPolicy:
        c.out << "#\nnat-policy\n";
        for (const auto& r : c.cfg.nat_rules) c.out << config::render_nat_rule(r, " ");
        c.out << "#\nreturn\n";
        break;
      case ViewKind::kInterzone:
        if (auto* iz = c.cfg.find_interzone(v.args.at(0), v.args.at(1))) {
          c.out << "#\nfirewall interzone " << iz->zone1 << " " << iz->zone2 << "\n";
          for (const auto& d : iz->detect) c.out << " detect " << d << "\n";
          c.out << "#\nreturn\n";
        }
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
        for (const auto& [n, v2] : c.cfg.aging.overrides)
          c.out << " firewall session aging-time " << n << " " << v2 << "\n";
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
      c.out << z.name << "\n priority is " << z.priority << "\n interface of the zone is ("
            << z.interfaces.size() << "):\n";
      for (const auto& i : z.interfaces) c.out << "    " << i << "\n";
      c.out << "#\n";
    }
  });
  auto policy_table = [this](Ctx& c, const std::string* only) {
    std::vector<policy::RuleView> rows;
    for (const auto& r : c.cfg.security.rules) {
      if (only && r.name != *only) continue;
      bool permit = r.action && *r.action == Action::kPermit;
      rows.push_back({r.id, r.name, r.enabled, permit ? "permit" : "deny",
                      policy::CompiledPolicy::hit_counter(counters(), r.name).get()});
    }
    if (!only || *only == "default") {
      rows.push_back({0, "default", true,
                      c.cfg.security.default_action == Action::kPermit ? "permit" : "deny",
                      policy::CompiledPolicy::hit_counter(counters(), "default").get()});
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
      c.out << "  " << std::left << std::setw(18) << n << config::aging_value(c.cfg.aging, n)
            << "\n";
    }
    c.out << "  " << std::string(40, '-') << "\n";
  });
  add("display.statistics", [this](Ctx& c) {
    auto& t = counters();
    auto line = [&](const std::string& label, uint64_t v) {
      c.out << "  " << std::left << std::setw(32) << label << ": " << v << "\n";
    };
    c.out << " Firewall statistics:\n";
    line("Packets received", t.value("packet.received"));
    line("Packets accepted", t.value("packet.accepted"));
    line("Packets dropped", t.value("packet.dropped"));
    for (const auto& d : drop_reason_names()) line("Dropped " + d, t.value("packet.drop." + d));
    line("Accepted icmp-error-related", t.value("packet.accepted.icmp-error-related"));
    line("Accepted local icmp-error", t.value("packet.accepted.local-icmp-error"));
    line("Sessions created", t.value("session.created"));
    line("Sessions aged", t.value("session.aged"));
    line("Sessions removed", t.value("session.removed"));
    line("Sessions current", dp_ ? dp_->sessions().size() : 0);
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
    if (dp_) dp_->sessions().erase_if([&](const session::Session& s) { return f.match(s, *dp_); });
  });
  add("reset.statistics", [this](Ctx&) { counters().reset_prefix("packet."); });
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
      c.err = "Error: The security zone " + n + " does not exist. Use `firewall zone name " + n +
              "` to create it.";
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
          c.err = "Error: The security zone " + n + " is referenced by security policy rule " +
                  r.name + ".";
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
        c.err = "Error: The service set " + n + " is referenced by security policy rule " + r.name +
                ".";
        return;
      }
    }
    std::erase_if(c.cfg.service_sets, [&](const config::ServiceSet& s) { return s.name == n; });
    c.changed = true;
  });

  // ---- NAT
  add("group.enter", [](Ctx& c) {
    std::string n = c.p("group-name");
    if (!c.cfg.find_group(n)) {
      if (c.cfg.address_groups.size() >= 256) {
        c.err = "Error: The number of address groups reached the upper limit (256).";
        return;
      }
      config::AddressGroup g;
      g.name = n;
      c.cfg.address_groups.push_back(g);
      c.changed = true;
    }
    c.views.push_back({ViewKind::kAddressGroup, {n}});
  });
  add("undo.group", [this](Ctx& c) {
    std::string n = c.p("group-name");
    const auto* g = c.cfg.find_group(n);
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
    if (dp_) {
      size_t used = 0;
      for (const auto& a : g->addresses()) used += dp_->nat_state().ports.used(a);
      if (auto* b = dp_->nat_state().find_bindings(n)) used += b->bound();
      if (used) {
        c.err = "Error: The address group " + n + " is in use by " + std::to_string(used) +
                " translation(s).";
        return;
      }
    }
    std::erase_if(c.cfg.address_groups, [&](const config::AddressGroup& x) { return x.name == n; });
    c.changed = true;
  });
  add("group.mode", [](Ctx& c) {
    if (auto* g = c.cfg.find_group(c.arg())) {
      g->mode =
          c.m.has("no-pat") ? config::AddressGroup::Mode::kNoPat : config::AddressGroup::Mode::kPat;
      c.changed = true;
    }
  });
  add("group.section", [](Ctx& c) {
    auto* g = c.cfg.find_group(c.arg());
    if (!g) return;
    auto a = common::IpAddr::parse(c.p("start-ip"));
    auto b = common::IpAddr::parse(c.p("end-ip"));
    if (!a || !b || b->v4_host() < a->v4_host()) {
      c.err = "Error: The end address must not be smaller than the start address.";
      return;
    }
    if (b->v4_host() - a->v4_host() >= 65536) {
      c.err = "Error: A section holds at most 65536 addresses.";
      return;
    }
    config::AddressGroup::Section sec;
    if (auto id = c.m.param("section-id")) {
      sec.id = static_cast<uint32_t>(std::stoul(*id));
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
  });
  add("undo.group.section", [](Ctx& c) {
    auto* g = c.cfg.find_group(c.arg());
    if (!g) return;
    uint32_t id = static_cast<uint32_t>(std::stoul(c.p("section-id")));
    if (!std::erase_if(g->sections, [&](const auto& x) { return x.id == id; })) {
      c.err = "Error: The section " + std::to_string(id) + " does not exist.";
      return;
    }
    c.changed = true;
  });
  add("natpolicy.enter", [](Ctx& c) { c.views.push_back({ViewKind::kNatPolicy, {}}); });
  auto nat_server = [](Ctx& c) {
    config::NatServer ns;
    if (auto n = c.m.param("server-name")) {
      ns.name = *n;
    } else {
      for (int i = 0;; ++i) {
        std::string cand = "nat_server_" + std::to_string(i);
        if (std::none_of(c.cfg.nat_servers.begin(), c.cfg.nat_servers.end(),
                         [&](const auto& x) { return x.name == cand; })) {
          ns.name = cand;
          break;
        }
      }
    }
    if (std::any_of(c.cfg.nat_servers.begin(), c.cfg.nat_servers.end(),
                    [&](const auto& x) { return x.name == ns.name; })) {
      c.err = "Error: The NAT server " + ns.name + " already exists.";
      return;
    }
    ns.proto = c.m.has("tcp") ? 6 : c.m.has("udp") ? 17 : 0;
    ns.global = *common::IpAddr::parse(c.p("global-ip"));
    ns.inside = *common::IpAddr::parse(c.p("inside-ip"));
    if (auto gp = c.m.param("global-port")) {
      ns.global_port = static_cast<uint16_t>(std::stoul(*gp));
      ns.inside_port = ns.global_port;
    }
    if (auto ip = c.m.param("inside-port")) {
      if (!ns.global_port) {
        c.err = "Error: An inside port needs a global port.";
        return;
      }
      ns.inside_port = static_cast<uint16_t>(std::stoul(*ip));
    }
    ns.no_reverse = c.m.has("no-reverse");
    c.cfg.nat_servers.push_back(ns);
    c.changed = true;
  };
  add("natserver.add", nat_server);
  add("natserver.addr", nat_server);
  add("undo.natserver", [](Ctx& c) {
    std::string n = c.p("server-name");
    if (!std::erase_if(c.cfg.nat_servers, [&](const auto& x) { return x.name == n; })) {
      c.err = "Error: The NAT server " + n + " does not exist.";
      return;
    }
    c.changed = true;
  });
  add("natrule.egress", [](Ctx& c) {
    if (auto* r = c.cfg.find_nat_rule(c.arg())) {
      add_unique(r->egress_interfaces, c.p("interface"));
      c.changed = true;
    }
  });
  add("undo.natrule.egress", [](Ctx& c) {
    if (auto* r = c.cfg.find_nat_rule(c.arg())) {
      if (auto i = c.m.param("interface"))
        std::erase(r->egress_interfaces, *i);
      else
        r->egress_interfaces.clear();
      c.changed = true;
    }
  });
  add("natrule.action", [](Ctx& c) {
    auto* r = c.cfg.find_nat_rule(c.arg());
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
      if (!c.cfg.find_group(g)) {
        c.err = "Error: The address group " + g + " does not exist.";
        return;
      }
      r->action = A::kAddressGroup;
      r->group = g;
    }
    c.changed = true;
  });
  add("undo.natrule.action", [](Ctx& c) {
    if (auto* r = c.cfg.find_nat_rule(c.arg())) {
      r->action = config::NatRule::Action::kNone;
      r->group.clear();
      c.changed = true;
    }
  });
  add("display.natpolicy", [this](Ctx& c) {
    c.out << "Total:" << c.cfg.nat_rules.size() << "\n";
    c.out << "RULE ID  RULE NAME                         STATE      ACTION                 HITS\n";
    c.out << std::string(87, '-') << "\n";
    for (const auto& r : c.cfg.nat_rules) {
      std::string act;
      switch (r.action) {
        case config::NatRule::Action::kEasyIp:
          act = "easy-ip";
          break;
        case config::NatRule::Action::kAddressGroup:
          act = "address-group " + r.group;
          break;
        case config::NatRule::Action::kNoNat:
          act = "no-nat";
          break;
        case config::NatRule::Action::kNone:
          act = "---";
          break;
      }
      c.out << std::left << std::setw(9) << r.id << std::setw(34) << r.name << std::setw(11)
            << rule_state(r.enabled) << std::setw(23) << act
            << nat::CompiledNatPolicy::hit_counter(counters(), r.name).get() << "\n";
    }
    c.out << std::string(87, '-') << "\n";
  });
  add("display.natserver", [](Ctx& c) {
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
  });
  add("display.addressgroup", [this](Ctx& c) {
    auto want = c.m.param("group-name");
    if (want && !c.cfg.find_group(*want)) {
      c.err = "Error: The address group " + *want + " does not exist.";
      return;
    }
    auto bindings = dp_ ? dp_->nat_state().all_bindings()
                        : std::map<std::string, std::vector<nat::NoPatBindings::Binding>>{};
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
      if (g.mode == config::AddressGroup::Mode::kPat) {
        size_t total = 0;
        for (const auto& a : addrs) {
          size_t u = dp_ ? dp_->nat_state().ports.used(a) : 0;
          total += u;
          if (u)
            c.out << "   " << std::left << std::setw(18) << a.str() << " ports in use: " << u
                  << "\n";
        }
        c.out << " Ports in use       : " << total << "\n";
      } else {
        const auto it = bindings.find(g.name);
        size_t n = it == bindings.end() ? 0 : it->second.size();
        if (it != bindings.end()) {
          for (const auto& b : it->second) {
            c.out << "   " << std::left << std::setw(18) << b.inside.str() << " -> "
                  << b.global.str() << "  sessions: " << b.refs << "\n";
          }
        }
        c.out << " Addresses bound    : " << n << "\n";
      }
    }
    c.out << " " << std::string(66, '-') << "\n";
  });
  add("display.servermap", [this](Ctx& c) {
    std::vector<session::ServerMapEntry> list;
    if (dp_) list = dp_->servermap().snapshot();
    using T = session::MapType;
    std::erase_if(list, [&](const session::ServerMapEntry& e) {
      bool nat_server = e.type == T::kNatServer || e.type == T::kNatServerReverse;
      if (c.m.has("aspf")) return e.type != T::kAspf;
      if (c.m.has("nat-server")) return !nat_server;
      if (c.m.has("no-pat")) return e.type != T::kNoPat && e.type != T::kNoPatReverse;
      if (c.m.has("static")) return !nat_server;
      if (c.m.has("dynamic")) return nat_server;
      return false;
    });
    uint64_t now = dp_ ? dp_->clock().now_ms() : 0;
    auto ep = [](const common::IpAddr& a, uint16_t port) {
      return port ? endpoint(a, port) : a.str();
    };
    // The Appro name and whether a 0 port is shown come from the ALG that opened the entry.
    const aspf::Inspector* none = nullptr;
    auto alg_of = [&](const session::ServerMapEntry& e) {
      return dp_ ? dp_->algs().get(e.alg) : none;
    };
    auto proto = [&](const session::ServerMapEntry& e) {
      std::string p = e.proto == 6    ? "tcp"
                      : e.proto == 17 ? "udp"
                      : e.proto == 47 ? "gre"
                      : e.proto == 0  ? "any"
                                      : std::to_string(e.proto);
      const auto* ins = alg_of(e);
      if (ins && e.channel < ins->spec().channels.size()) {
        p += "(Appro: " + std::string(ins->spec().channels[e.channel].app) + ")";
      }
      return p;
    };
    c.out << " Current Total Server-map : " << list.size() << "\n";
    for (const auto& e : list) {
      std::string body;
      switch (e.type) {
        case T::kNatServerReverse:
        case T::kNoPat:
          body = e.addr.str() + "[" + e.xaddr.str() + "] -> ANY";
          break;
        default: {
          std::string from = e.peer.empty() ? "ANY" : e.peer.str();
          const auto* ins = alg_of(e);
          const bool always = ins && ins->entry_port_always_shown(e);
          auto show = [&](const common::IpAddr& a, uint16_t port) {
            return always ? endpoint(a, port) : ep(a, port);
          };
          std::string to = show(e.addr, e.port);
          if (!e.xaddr.empty()) {
            to += "[" + show(e.xaddr, e.xport >= 0 ? static_cast<uint16_t>(e.xport) : e.port) + "]";
          }
          body = from + " -> " + to;
        }
      }
      c.out << " Type: " << session::map_type_name(e.type) << ",  " << body
            << ",  Zone:" << (e.zone && dp_ ? dp_->zone_name(e.zone) : std::string("---"))
            << ",  protocol:" << proto(e);
      if (e.expires_ms) {
        uint64_t left = e.expires_ms > now ? (e.expires_ms - now + 999) / 1000 : 0;
        c.out << ",  Left-Time:" << hms(left);
      } else {
        c.out << ",  Left-Time:---";
      }
      c.out << "\n Vpn: public -> public\n\n";
    }
  });

  // ---- ASPF
  auto alg_arg = [this](Ctx& c) -> std::optional<std::string> {
    std::string n = c.p("protocol");
    if (algs().id_of(n) == 0) {
      std::string all;
      for (const auto& [x, help] : algs().keywords()) all += (all.empty() ? "" : ", ") + x;
      c.err = "Error: Unknown ASPF protocol " + n + " (supported: " + all + ").";
      return std::nullopt;
    }
    return n;
  };
  add("detect.global", [alg_arg](Ctx& c) {
    if (auto n = alg_arg(c)) {
      add_unique(c.cfg.detect_global, *n);
      c.changed = true;
    }
  });
  add("undo.detect.global", [alg_arg](Ctx& c) {
    if (auto n = alg_arg(c)) {
      std::erase(c.cfg.detect_global, *n);
      c.changed = true;
    }
  });
  add("interzone.enter", [](Ctx& c) {
    std::string a = c.p("zone1"), b;
    auto zs = c.m.params("zone2");
    b = zs.empty() ? "" : zs[0];
    for (const auto& z : {a, b}) {
      if (!c.cfg.find_zone(z)) {
        c.err = "Error: The security zone " + z + " does not exist.";
        return;
      }
    }
    if (a == b) {
      c.err = "Error: An interzone needs two different zones.";
      return;
    }
    if (!c.cfg.find_interzone(a, b)) {
      c.cfg.interzones.push_back({a, b, {}});
      c.changed = true;
    }
    auto* iz = c.cfg.find_interzone(a, b);
    c.views.push_back({ViewKind::kInterzone, {iz->zone1, iz->zone2}});
  });
  add("detect.interzone", [alg_arg](Ctx& c) {
    auto n = alg_arg(c);
    auto* iz = c.cfg.find_interzone(c.arg(0), c.arg(1));
    if (!n || !iz) return;
    add_unique(iz->detect, *n);
    c.changed = true;
  });
  add("undo.detect.interzone", [alg_arg](Ctx& c) {
    auto n = alg_arg(c);
    auto* iz = c.cfg.find_interzone(c.arg(0), c.arg(1));
    if (!n || !iz) return;
    std::erase(iz->detect, *n);
    c.changed = true;
  });
  add("portmap", [alg_arg](Ctx& c) {
    auto n = alg_arg(c);
    if (!n) return;
    uint16_t port = static_cast<uint16_t>(std::stoul(c.p("port")));
    for (const auto& pm : c.cfg.port_mappings) {
      if (pm.port == port) {
        if (pm.alg != *n)
          c.err = "Error: Port " + std::to_string(port) + " is already mapped to " + pm.alg + ".";
        return;
      }
    }
    c.cfg.port_mappings.push_back({*n, port});
    c.changed = true;
  });
  add("undo.portmap", [alg_arg](Ctx& c) {
    auto n = alg_arg(c);
    if (!n) return;
    uint16_t port = static_cast<uint16_t>(std::stoul(c.p("port")));
    if (!std::erase_if(c.cfg.port_mappings,
                       [&](const auto& pm) { return pm.alg == *n && pm.port == port; })) {
      c.err = "Error: The port mapping does not exist.";
      return;
    }
    c.changed = true;
  });
  add("display.detect", [this](Ctx& c) {
    c.out << " ASPF (firewall detect):\n";
    std::string g;
    for (const auto& d : c.cfg.detect_global) g += " " + d;
    c.out << "  Global           :" << (g.empty() ? " ---" : g) << "\n";
    for (const auto& iz : c.cfg.interzones) {
      std::string l;
      for (const auto& d : iz.detect) l += " " + d;
      c.out << "  Interzone " << iz.zone1 << " " << iz.zone2 << " :" << (l.empty() ? " ---" : l)
            << "\n";
    }
    c.out << " Inspectors:\n";
    auto& t = counters();
    for (uint8_t id = 1; id <= algs().size(); ++id) {
      const aspf::AlgSpec& spec = algs().get(id)->spec();
      const std::string name(spec.name);
      std::string ports = std::to_string(spec.default_port);
      for (const auto& pm : c.cfg.port_mappings) {
        if (pm.alg == name) ports += "," + std::to_string(pm.port);
      }
      const std::string pre = "aspf." + name + ".";
      c.out << "  " << std::left << std::setw(6) << name << " " << (spec.proto == 6 ? "tcp" : "udp")
            << " port " << std::setw(12) << ports;
      c.out << " parsed " << t.value(pre + "parsed") << ", rewrites " << t.value(pre + "rewrites")
            << ", opened " << t.value(pre + "opened") << ", malformed "
            << t.value(pre + "malformed") << ", refused " << t.sum_prefix(pre + "refused.") << "\n";
    }
  });

  // ---- zone view
  add("zone.priority", [](Ctx& c) {
    auto* z = c.cfg.find_zone(c.arg());
    if (!z) return;
    int prio = std::stoi(c.p("priority"));
    if (z->builtin) {
      // current-configuration lists the built-in priorities; re-applying them is fine.
      if (prio != z->priority)
        c.err = "Error: The priority of a default security zone cannot be changed.";
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
        c.err =
            "Error: The interface " + i + " has been added to security zone " + other->name + ".";
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

  // ---- security-policy and nat-policy views (rules share their commands)
  auto rule_enter = [this](Ctx& c, auto& rules, ViewKind sub, bool security) {
    std::string n = c.p("rule-name");
    if (n == "default") {
      c.err = "Error: The name default is reserved for the default rule.";
      return;
    }
    auto it = std::find_if(rules.begin(), rules.end(), [&](const auto& r) { return r.name == n; });
    if (it == rules.end()) {
      typename std::remove_reference_t<decltype(rules)>::value_type r;
      r.name = n;
      r.id = next_rule_id_++;
      if (security)
        policy::CompiledPolicy::hit_counter(counters(), n).reset();
      else
        nat::CompiledNatPolicy::hit_counter(counters(), n).reset();
      rules.push_back(r);
      c.changed = true;
    }
    c.views.push_back({sub, {n}});
  };
  add("rule.enter", [rule_enter](Ctx& c) {
    if (c.view().kind == ViewKind::kNatPolicy)
      rule_enter(c, c.cfg.nat_rules, ViewKind::kNatRule, false);
    else
      rule_enter(c, c.cfg.security.rules, ViewKind::kSecurityRule, true);
  });
  auto rule_undo = [](Ctx& c, auto& rules) {
    std::string n = c.p("rule-name");
    if (!std::erase_if(rules, [&](const auto& r) { return r.name == n; })) {
      c.err = "Error: The rule " + n + " does not exist.";
      return;
    }
    c.changed = true;
  };
  add("undo.rule", [rule_undo](Ctx& c) {
    if (c.view().kind == ViewKind::kNatPolicy)
      rule_undo(c, c.cfg.nat_rules);
    else
      rule_undo(c, c.cfg.security.rules);
  });
  auto rule_move = [](Ctx& c, auto& rules) {
    std::string n = c.p("rule-name");
    auto find = [&](const std::string& x) {
      return std::find_if(rules.begin(), rules.end(), [&](const auto& r) { return r.name == x; });
    };
    auto it = find(n);
    if (it == rules.end()) {
      c.err = "Error: The rule " + n + " does not exist.";
      return;
    }
    auto r = *it;
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
  };
  add("rule.move", [rule_move](Ctx& c) {
    if (c.view().kind == ViewKind::kNatPolicy)
      rule_move(c, c.cfg.nat_rules);
    else
      rule_move(c, c.cfg.security.rules);
  });
  add("policy.default", [](Ctx& c) {
    c.cfg.security.default_action = c.m.has("permit") ? Action::kPermit : Action::kDeny;
    c.changed = true;
  });
  add("undo.policy.default", [](Ctx& c) {
    c.cfg.security.default_action = Action::kDeny;
    c.changed = true;
  });

  // ---- rule views: call fn with the security or NAT rule being edited
  auto with_rule = [](Ctx& c, const auto& fn) {
    if (c.view().kind == ViewKind::kNatRule) {
      if (auto* r = c.cfg.find_nat_rule(c.arg())) fn(*r);
    } else if (auto* r = c.rule()) {
      fn(*r);
    }
  };
  auto zones_cmd = [with_rule](bool src, bool undo) {
    return [=](Ctx& c) {
      with_rule(c, [&](auto& r) {
        auto& list = src ? r.src_zones : r.dst_zones;
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
      });
    };
  };
  add("rule.srczone", zones_cmd(true, false));
  add("undo.rule.srczone", zones_cmd(true, true));
  add("rule.dstzone", zones_cmd(false, false));
  add("undo.rule.dstzone", zones_cmd(false, true));
  auto addr_cmd = [with_rule](bool src, bool undo) {
    return [=](Ctx& c) {
      with_rule(c, [&](auto& r) {
        auto& list = src ? r.src_addrs : r.dst_addrs;
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
      });
    };
  };
  add("rule.srcaddr", addr_cmd(true, false));
  add("undo.rule.srcaddr", addr_cmd(true, true));
  add("rule.dstaddr", addr_cmd(false, false));
  add("undo.rule.dstaddr", addr_cmd(false, true));
  add("rule.disable", [with_rule](Ctx& c) {
    with_rule(c, [&](auto& r) {
      r.enabled = false;
      c.changed = true;
    });
  });
  add("undo.rule.disable", [with_rule](Ctx& c) {
    with_rule(c, [&](auto& r) {
      r.enabled = true;
      c.changed = true;
    });
  });
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
    if (c.m.has("tcp"))
      it.proto = 6;
    else if (c.m.has("udp"))
      it.proto = 17;
    else if (c.m.has("icmp"))
      it.proto = 1;
    else if (c.m.has("icmpv6"))
      it.proto = 58;
    else
      it.proto = static_cast<uint8_t>(std::stoul(c.p("protocol-number")));
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
    std::sort(s->items.begin(), s->items.end(),
              [](const auto& a, const auto& b) { return a.index < b.index; });
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
