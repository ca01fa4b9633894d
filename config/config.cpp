#include "config/config.h"

#include <algorithm>
#include <set>
#include <sstream>

namespace fw::config {

// New classes go at the end (a class is its index). sip-media: SIP calls' RTP/RTCP (aspf/sip).
const std::vector<std::pair<std::string, uint32_t>>& aging_defaults() {
  static const std::vector<std::pair<std::string, uint32_t>> d = {
      {"ah", 600},     {"dns", 30},        {"esp", 600},      {"fin-rst", 10}, {"first-fin", 10},
      {"fragment", 5}, {"ftp", 1200},      {"ftp-data", 240}, {"gre", 600},    {"http", 1200},
      {"icmp", 20},    {"other", 60},      {"sctp", 600},     {"syn", 5},      {"tcp", 1200},
      {"udp", 120},    {"sip-media", 120},
  };
  return d;
}

uint32_t aging_value(const AgingTimes& a, const std::string& name) {
  auto it = a.overrides.find(name);
  if (it != a.overrides.end()) return it->second;
  for (const auto& [n, v] : aging_defaults()) {
    if (n == name) return v;
  }
  return 0;
}

std::optional<uint8_t> aging_class(std::string_view name) {
  const auto& d = aging_defaults();
  for (size_t i = 0; i < d.size(); ++i) {
    if (d[i].first == name) return static_cast<uint8_t>(i);
  }
  return std::nullopt;
}

const std::vector<std::string>& factory_detect() {
  static const std::vector<std::string> d = {"ftp"};
  return d;
}

Config Config::defaults() {
  Config c;
  c.zones = {{"local", 100, {}, true, {}, {}, {}},
             {"trust", 85, {}, true, {}, {}, {}},
             {"untrust", 5, {}, true, {}, {}, {}},
             {"dmz", 50, {}, true, {}, {}, {}}};
  c.detect_global = factory_detect();  // (disp) as on a USG
  return c;
}

Zone* Config::find_zone(const std::string& name) {
  for (auto& z : zones) {
    if (z.name == name) return &z;
  }
  return nullptr;
}

const Zone* Config::find_zone(const std::string& name) const {
  return const_cast<Config*>(this)->find_zone(name);
}

const Zone* Config::zone_of_interface(const std::string& ifname) const {
  for (const auto& z : zones) {
    if (std::find(z.interfaces.begin(), z.interfaces.end(), ifname) != z.interfaces.end())
      return &z;
  }
  return nullptr;
}

SecurityRule* Config::find_rule(const std::string& name) {
  for (auto& r : security.rules) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

Interzone* Config::find_interzone(const std::string& a, const std::string& b) {
  for (auto& iz : interzones) {
    if ((iz.zone1 == a && iz.zone2 == b) || (iz.zone1 == b && iz.zone2 == a)) return &iz;
  }
  return nullptr;
}

AddressGroup* Config::find_group(const std::string& name) {
  for (auto& g : address_groups) {
    if (g.name == name) return &g;
  }
  return nullptr;
}

const AddressGroup* Config::find_group(const std::string& name) const {
  return const_cast<Config*>(this)->find_group(name);
}

NatRule* Config::find_nat_rule(const std::string& name) {
  for (auto& r : nat_rules) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

bool IpRange::contains(const IpAddr& a) const {
  if (a.family == 0 || a.family != lo.family || a.family != hi.family) return false;
  return !(a < lo) && !(hi < a);
}

AddressSet* Config::find_address_set(const std::string& name) {
  for (auto& s : address_sets) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const AddressSet* Config::find_address_set(const std::string& name) const {
  return const_cast<Config*>(this)->find_address_set(name);
}

std::optional<std::string> address_set_user(const Config& c, const std::string& name) {
  auto named = [&](const std::vector<std::string>& a, const std::vector<std::string>& b) {
    return std::find(a.begin(), a.end(), name) != a.end() ||
           std::find(b.begin(), b.end(), name) != b.end();
  };
  for (const auto& r : c.security.rules) {
    if (named(r.src_sets, r.dst_sets)) return "security policy rule " + r.name;
  }
  for (const auto& r : c.nat_rules) {
    if (named(r.src_sets, r.dst_sets)) return "NAT policy rule " + r.name;
  }
  return std::nullopt;
}

std::vector<IpAddr> AddressGroup::addresses() const {
  std::vector<IpAddr> out;
  for (const auto& s : sections) {
    if (!s.start.is_v4() || !s.end.is_v4()) continue;
    for (uint64_t a = s.start.v4_host(); a <= s.end.v4_host() && out.size() < 65536; ++a) {
      out.push_back(IpAddr::v4(static_cast<uint32_t>(a)));
    }
  }
  return out;
}

ServiceSet* Config::find_service_set(const std::string& name) {
  for (auto& s : service_sets) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const ServiceSet* Config::find_service_set(const std::string& name) const {
  return const_cast<Config*>(this)->find_service_set(name);
}

namespace {

ServiceSet svc(const std::string& name, std::vector<ServiceItem> items) {
  ServiceSet s;
  s.name = name;
  s.items = std::move(items);
  s.predefined = true;
  return s;
}

ServiceItem tcp(uint16_t port) {
  ServiceItem i;
  i.proto = 6;
  i.dport_lo = i.dport_hi = port;
  return i;
}

ServiceItem udp(uint16_t port) {
  ServiceItem i;
  i.proto = 17;
  i.dport_lo = i.dport_hi = port;
  return i;
}

ServiceItem proto(uint8_t p) {
  ServiceItem i;
  i.proto = p;
  return i;
}

}  // namespace

const std::vector<ServiceSet>& predefined_services() {
  static const std::vector<ServiceSet> s = {
      svc("any", {proto(0)}),         svc("icmp", {proto(1)}),
      svc("icmpv6", {proto(58)}),     svc("http", {tcp(80)}),
      svc("https", {tcp(443)}),       svc("ssh", {tcp(22)}),
      svc("telnet", {tcp(23)}),       svc("smtp", {tcp(25)}),
      svc("pop3", {tcp(110)}),        svc("imap", {tcp(143)}),
      svc("dns", {udp(53), tcp(53)}), svc("ftp", {tcp(21)}),
      svc("tftp", {udp(69)}),         svc("pptp", {tcp(1723), proto(47)}),
      svc("gre", {proto(47)}),        svc("sip", {udp(5060), tcp(5060)}),
      svc("rtsp", {tcp(554)}),        svc("l2tp", {udp(1701)}),
      svc("ike", {udp(500)}),         svc("ipsec-nat-t", {udp(4500)}),
      svc("esp", {proto(50)}),        svc("ah", {proto(51)}),
      svc("ntp", {udp(123)}),         svc("snmp", {udp(161)}),
      svc("syslog", {udp(514)}),      svc("ldap", {tcp(389)}),
      svc("mysql", {tcp(3306)}),      svc("rdp", {tcp(3389)}),
  };
  return s;
}

const ServiceSet* lookup_service(const Config& c, const std::string& name) {
  for (const auto& s : predefined_services()) {
    if (s.name == name) return &s;
  }
  return c.find_service_set(name);
}

namespace {

bool range_ok(const IpRange& r) {
  return r.lo.family != 0 && r.lo.family == r.hi.family && !(r.hi < r.lo);
}

std::string range_error(const IpRange& r) {
  if (r.lo.family != r.hi.family)
    return "Error: The start and end addresses of a range must be of one address family.";
  return "Error: The end address " + r.hi.str() + " is smaller than the start address " +
         r.lo.str() + ".";
}

// A rule's address ranges are well formed and the address sets it names exist.
std::optional<std::string> check_addresses(const Config& c, const std::vector<IpRange>& src_r,
                                           const std::vector<std::string>& src_s,
                                           const std::vector<IpRange>& dst_r,
                                           const std::vector<std::string>& dst_s) {
  for (const auto* rl : {&src_r, &dst_r}) {
    for (const auto& r : *rl) {
      if (!range_ok(r)) return range_error(r);
    }
  }
  for (const auto* sl : {&src_s, &dst_s}) {
    for (const auto& n : *sl) {
      if (!c.find_address_set(n)) return "Error: The address set " + n + " does not exist.";
    }
  }
  return std::nullopt;
}

// Zones named by a rule exist ("any" is always there).
std::optional<std::string> check_zone_refs(const Config& c, const std::vector<std::string>& src,
                                           const std::vector<std::string>& dst) {
  for (const auto* zl : {&src, &dst}) {
    for (const auto& zn : *zl) {
      if (zn != "any" && !c.find_zone(zn))
        return "Error: The security zone " + zn + " does not exist.";
    }
  }
  return std::nullopt;
}

// An interface is in one zone at most; zone priorities are unique.
std::optional<std::string> check_zones(const Config& c) {
  std::set<std::string> ifaces;
  std::set<int> prios;
  for (const auto& z : c.zones) {
    for (const auto& i : z.interfaces) {
      if (!ifaces.insert(i).second) {
        return "Error: The interface " + i + " has been added to another security zone.";
      }
    }
    if (z.priority != 0 && !prios.insert(z.priority).second) {
      return "Error: The priority " + std::to_string(z.priority) +
             " is already used by another zone.";
    }
  }
  return std::nullopt;
}

// Address groups: sections inside a group and across groups never overlap.
std::optional<std::string> check_address_groups(const Config& c) {
  std::vector<std::pair<std::pair<uint32_t, uint32_t>, std::string>> ranges;
  for (const auto& g : c.address_groups) {
    for (const auto& sec : g.sections) {
      uint32_t a = sec.start.v4_host(), b = sec.end.v4_host();
      for (const auto& [r, owner] : ranges) {
        if (a <= r.second && r.first <= b) {
          return "Error: The section " + sec.start.str() + " " + sec.end.str() +
                 " overlaps a section of address group " + owner + ".";
        }
      }
      ranges.push_back({{a, b}, g.name});
    }
  }
  return std::nullopt;
}

std::optional<std::string> check_nat_rules(const Config& c) {
  for (const auto& r : c.nat_rules) {
    if (r.action == NatRule::Action::kAddressGroup && !c.find_group(r.group)) {
      return "Error: The address group " + r.group + " does not exist.";
    }
    if (auto e = check_addresses(c, r.src_ranges, r.src_sets, r.dst_ranges, r.dst_sets)) return e;
    if (auto e = check_zone_refs(c, r.src_zones, r.dst_zones)) return e;
  }
  return std::nullopt;
}

std::optional<std::string> check_nat_servers(const Config& c) {
  // Two NAT servers must not claim the same global address/protocol/port.
  for (size_t i = 0; i < c.nat_servers.size(); ++i) {
    for (size_t j = i + 1; j < c.nat_servers.size(); ++j) {
      const auto& x = c.nat_servers[i];
      const auto& y = c.nat_servers[j];
      if (!(x.global == y.global)) continue;
      bool proto_overlap = x.proto == 0 || y.proto == 0 || x.proto == y.proto;
      bool port_overlap =
          x.global_port == 0 || y.global_port == 0 || x.global_port == y.global_port;
      if (proto_overlap && port_overlap) {
        return "Error: The global address and port of NAT server " + y.name +
               " conflict with NAT server " + x.name + ".";
      }
      // (disp) One inside address behind two global addresses: the server's own outbound
      // flows could leave as either, so all but one of them need `no-reverse` (as VRP).
    }
  }
  for (size_t i = 0; i < c.nat_servers.size(); ++i) {
    for (size_t j = i + 1; j < c.nat_servers.size(); ++j) {
      const auto& x = c.nat_servers[i];
      const auto& y = c.nat_servers[j];
      if (x.inside == y.inside && !(x.global == y.global) && !x.no_reverse && !y.no_reverse)
        return "Error: The inside ip has been used, please modify it.";
    }
  }
  return std::nullopt;
}

std::optional<std::string> check_security_rules(const Config& c) {
  for (const auto& r : c.security.rules) {
    if (auto e = check_zone_refs(c, r.src_zones, r.dst_zones)) return e;
    for (const auto& s : r.services) {
      if (!lookup_service(c, s)) return "Error: The service " + s + " does not exist.";
    }
    if (auto e = check_addresses(c, r.src_ranges, r.src_sets, r.dst_ranges, r.dst_sets)) return e;
  }
  return std::nullopt;
}

std::optional<std::string> check_address_sets(const Config& c) {
  for (const auto& a : c.address_sets) {
    for (const auto& i : a.items) {
      if (!i.prefix && !range_ok(i.range)) return range_error(i.range);
    }
  }
  return std::nullopt;
}

}  // namespace

// The first failing check gives the error; the groups run in this order.
std::optional<std::string> validate(const Config& c) {
  if (c.static_routes.size() > kMaxStaticRoutes) {
    return "Error: The number of static routes reached the upper limit (" +
           std::to_string(kMaxStaticRoutes) + ").";
  }
  if (auto e = validate_interfaces(c)) return e;  // "iface" area
  if (auto e = check_zones(c)) return e;
  if (auto e = check_address_groups(c)) return e;
  if (auto e = check_nat_rules(c)) return e;
  if (auto e = check_nat_servers(c)) return e;
  if (auto e = check_security_rules(c)) return e;
  if (auto e = check_address_sets(c)) return e;
  return std::nullopt;
}

namespace {

std::string prefix_text(const Prefix& p) {
  if (p.addr.is_v4()) return p.addr.str() + " mask " + p.mask_str();
  return p.addr.str() + " " + std::to_string(p.len);
}

// `protocol tcp destination-port 80`, the part shared by service-set items and a rule's inline
// services.
std::string protocol_text(const ServiceItem& i) {
  std::ostringstream os;
  os << "protocol ";
  switch (i.proto) {
    case 6:
      os << "tcp";
      break;
    case 17:
      os << "udp";
      break;
    case 1:
      os << "icmp";
      break;
    case 58:
      os << "icmpv6";
      break;
    default:
      os << static_cast<int>(i.proto);
      break;
  }
  if (i.proto == 6 || i.proto == 17) {
    if (i.sport_lo != 0 || i.sport_hi != 65535) {
      os << " source-port " << i.sport_lo;
      if (i.sport_hi != i.sport_lo) os << " to " << i.sport_hi;
    }
    if (i.dport_lo != 0 || i.dport_hi != 65535) {
      os << " destination-port " << i.dport_lo;
      if (i.dport_hi != i.dport_lo) os << " to " << i.dport_hi;
    }
  }
  return os.str();
}

std::string service_item_text(const ServiceItem& i) {
  return "service " + std::to_string(i.index) + " " + protocol_text(i);
}

// The address lines of one direction ("source-address" / "destination-address").
void address_lines(std::ostream& os, const std::string& in, const char* kw,
                   const std::vector<Prefix>& ps, const std::vector<IpRange>& rs,
                   const std::vector<std::string>& sets) {
  for (const auto& p : ps) os << in << kw << " " << prefix_text(p) << "\n";
  for (const auto& r : rs) os << in << kw << " range " << r.lo.str() << " " << r.hi.str() << "\n";
  for (const auto& n : sets) os << in << kw << " address-set " << n << "\n";
}

std::string rule_line(const std::string& ind, const std::string& name, uint32_t id, bool with_id) {
  std::string s = ind + "rule name " + name;
  if (with_id) s += " id " + std::to_string(id);
  return s + "\n";
}

}  // namespace

std::string render_address_set(const AddressSet& s) {
  std::ostringstream os;
  os << "ip address-set " << s.name << " type object\n";
  if (!s.description.empty()) os << " description " << s.description << "\n";
  for (const auto& i : s.items) {
    os << " address " << i.id << " ";
    if (i.prefix) {
      os << i.prefix->addr.str() << " mask " << static_cast<int>(i.prefix->len) << "\n";
    } else {
      os << "range " << i.range.lo.str() << " " << i.range.hi.str() << "\n";
    }
  }
  return os.str();
}

std::string render_group(const AddressGroup& g) {
  std::ostringstream os;
  os << "nat address-group " << g.name << "\n";
  os << (g.mode == AddressGroup::Mode::kPat ? " mode pat\n" : " mode no-pat global\n");
  for (const auto& s : g.sections)
    os << " section " << s.id << " " << s.start.str() << " " << s.end.str() << "\n";
  return os.str();
}

std::string render_nat_rule(const NatRule& r, const std::string& ind) {
  return render_nat_rule(r, ind, false);
}

std::string render_nat_rule(const NatRule& r, const std::string& ind, bool with_id) {
  std::ostringstream os;
  os << rule_line(ind, r.name, r.id, with_id);
  std::string in = ind + " ";
  if (!r.enabled) os << in << "disable\n";
  for (const auto& z : r.src_zones) os << in << "source-zone " << z << "\n";
  for (const auto& z : r.dst_zones) os << in << "destination-zone " << z << "\n";
  address_lines(os, in, "source-address", r.src_addrs, r.src_ranges, r.src_sets);
  address_lines(os, in, "destination-address", r.dst_addrs, r.dst_ranges, r.dst_sets);
  for (const auto& i : r.egress_interfaces) os << in << "egress-interface " << i << "\n";
  switch (r.action) {
    case NatRule::Action::kEasyIp:
      os << in << "action source-nat easy-ip\n";
      break;
    case NatRule::Action::kAddressGroup:
      os << in << "action source-nat address-group " << r.group << "\n";
      break;
    case NatRule::Action::kNoNat:
      os << in << "action no-nat\n";
      break;
    case NatRule::Action::kNone:
      break;
  }
  return os.str();
}

std::string render_nat_server(const NatServer& s) {
  std::ostringstream os;
  os << "nat server " << s.name;
  if (s.proto != 0) os << " protocol " << (s.proto == 6 ? "tcp" : "udp");
  os << " global " << s.global.str();
  if (s.global_port) os << " " << s.global_port;
  os << " inside " << s.inside.str();
  if (s.inside_port) os << " " << s.inside_port;
  if (s.no_reverse) os << " no-reverse";
  return os.str();
}

std::string render_zone(const Zone& z) {
  std::ostringstream os;
  if (z.builtin) {
    os << "firewall zone " << z.name << "\n";
  } else {
    os << "firewall zone name " << z.name << "\n";
  }
  if (z.priority != 0) os << " set priority " << z.priority << "\n";
  for (const auto& i : z.interfaces) os << " add interface " << i << "\n";
  if (z.urpf != Urpf::kOff)
    os << " urpf " << (z.urpf == Urpf::kStrict ? "strict" : "loose") << "\n";
  if (z.source_limit.max_session)
    os << " source-ip-limit max-session " << z.source_limit.max_session << "\n";
  if (z.source_limit.session_rate)
    os << " source-ip-limit session-rate " << z.source_limit.session_rate << "\n";
  os << render_anti_ddos(z.anti_ddos, " ");
  return os.str();
}

std::string render_rule(const SecurityRule& r, const std::string& ind) {
  return render_rule(r, ind, false);
}

std::string render_rule(const SecurityRule& r, const std::string& ind, bool with_id) {
  std::ostringstream os;
  os << rule_line(ind, r.name, r.id, with_id);
  std::string in = ind + " ";
  if (!r.description.empty()) os << in << "description " << r.description << "\n";
  if (!r.enabled) os << in << "disable\n";
  for (const auto& z : r.src_zones) os << in << "source-zone " << z << "\n";
  for (const auto& z : r.dst_zones) os << in << "destination-zone " << z << "\n";
  address_lines(os, in, "source-address", r.src_addrs, r.src_ranges, r.src_sets);
  address_lines(os, in, "destination-address", r.dst_addrs, r.dst_ranges, r.dst_sets);
  for (const auto& s : r.services) os << in << "service " << s << "\n";
  for (const auto& i : r.service_items) os << in << "service " << protocol_text(i) << "\n";
  for (const auto& a : r.applications) os << in << "application " << a << "\n";  // "appid"
  if (r.action) os << in << "action " << (*r.action == Action::kPermit ? "permit" : "deny") << "\n";
  if (r.session_logging) os << in << "session logging\n";  // "evlog"
  return os.str();
}

std::string render_service_set(const ServiceSet& s) {
  std::ostringstream os;
  os << "ip service-set " << s.name << " type object\n";
  for (const auto& i : s.items) os << " " << service_item_text(i) << "\n";
  return os.str();
}

std::string render_source_limit(const Config& c) {
  std::ostringstream os;
  if (c.source_limit.max_session)
    os << " firewall source-ip-limit max-session " << c.source_limit.max_session << "\n";
  if (c.source_limit.session_rate)
    os << " firewall source-ip-limit session-rate " << c.source_limit.session_rate << "\n";
  if (c.source_servermap_limit)
    os << " firewall source-ip-limit server-map " << c.source_servermap_limit << "\n";
  return os.str();
}

std::string render_anti_ddos(const AntiDdos& a, const std::string& indent) {
  std::ostringstream os;
  auto line = [&](const char* kind, uint32_t v) {
    if (v) os << indent << "anti-ddos " << kind << " max-rate " << v << "\n";
  };
  line("syn-flood", a.syn_max_rate);
  line("udp-flood", a.udp_max_rate);
  line("icmp-flood", a.icmp_max_rate);
  if (a.tcp_proxy)  // "synproxy" area
    os << indent << "anti-ddos syn-flood tcp-proxy alert-rate " << a.proxy_alert_rate << "\n";
  if (a.half_open_limit)  // "halfopen" area
    os << indent << "anti-ddos syn-flood half-open-limit " << *a.half_open_limit << "\n";
  return os.str();
}

std::string render_info_center(const InfoCenter& i) {
  std::ostringstream os;
  if (i.logbuffer_size != InfoCenter::kDefaultLogbuffer)
    os << " info-center logbuffer size " << i.logbuffer_size << "\n";
  if (!i.loghost_socket.empty())
    os << " info-center loghost unix-socket " << i.loghost_socket << (i.rfc5424 ? " rfc5424" : "")
       << "\n";
  return os.str();
}

namespace {

void aging_section(std::ostream& os, const Config& c) {
  if (c.aging.overrides.empty()) return;
  os << "#\n";
  for (const auto& [n, v] : c.aging.overrides) {
    os << " firewall session aging-time " << n << " " << v << "\n";
  }
}

void detect_section(std::ostream& os, const Config& c) {
  if (c.detect_global.empty() && c.port_mappings.empty() && c.detect_global == factory_detect())
    return;
  os << "#\n";
  for (const auto& d : c.detect_global) os << " firewall detect " << d << "\n";
  for (const auto& d : factory_detect()) {  // a factory default turned off
    if (std::find(c.detect_global.begin(), c.detect_global.end(), d) == c.detect_global.end())
      os << " undo firewall detect " << d << "\n";
  }
  for (const auto& pm : c.port_mappings)
    os << " port-mapping " << pm.alg << " port " << pm.port << "\n";
}

void interzone_sections(std::ostream& os, const Config& c) {
  for (const auto& iz : c.interzones) {
    if (iz.detect.empty()) continue;
    os << "#\nfirewall interzone " << iz.zone1 << " " << iz.zone2 << "\n";
    for (const auto& d : iz.detect) os << " detect " << d << "\n";
  }
}

// security-policy, then nat-policy.
void policy_sections(std::ostream& os, const Config& c) {
  os << "#\nsecurity-policy\n";
  if (c.security.default_action != Action::kDeny) os << " default action permit\n";
  // Loading gives each rule without `id` the next id in order; a rule whose id differs carries it.
  uint32_t next_id = 1;
  auto with_id = [&](uint32_t id) {
    const bool explicit_id = id != next_id;
    next_id = std::max(next_id, id + 1);
    return explicit_id;
  };
  for (const auto& r : c.security.rules) os << render_rule(r, " ", with_id(r.id));
  if (!c.nat_rules.empty()) {
    os << "#\nnat-policy\n";
    for (const auto& r : c.nat_rules) os << render_nat_rule(r, " ", with_id(r.id));
  }
}

}  // namespace

std::string render(const Config& c) {
  std::ostringstream os;
  os << "#\n sysname " << c.sysname << "\n";
  // "iface" area: the map first (the sections and later lines may use its names).
  if (!c.interface_map.empty()) os << "#\n" << render_interface_map(c);
  for (const auto& i : c.interfaces)
    if (!i.empty()) os << "#\n" << render_interface(c, i);
  aging_section(os, c);
  detect_section(os, c);
  if (std::string l = render_source_limit(c); !l.empty()) os << "#\n" << l;  // "srclimit"
  if (std::string l = render_anti_ddos(c.anti_ddos, " "); !l.empty()) os << "#\n" << l;
  if (c.miss_ack_rate)  // "synproxy" area
    os << "#\n firewall reverse-session miss-ack rate-limit " << c.miss_ack_rate << "\n";
  if (c.appid_packets)  // "appid"
    os << "#\n firewall application identify packets " << c.appid_packets << "\n";
  if (std::string l = render_info_center(c.info_center); !l.empty()) os << "#\n" << l;  // "evlog"
  for (const auto& s : c.address_sets) os << "#\n" << render_address_set(s);
  for (const auto& s : c.service_sets) os << "#\n" << render_service_set(s);
  for (const auto& z : c.zones) os << "#\n" << render_zone(z);
  interzone_sections(os, c);
  for (const auto& g : c.address_groups) os << "#\n" << render_group(g);
  if (!c.nat_servers.empty()) {
    os << "#\n";
    for (const auto& s : c.nat_servers) os << " " << render_nat_server(s) << "\n";
  }
  policy_sections(os, c);
  // Area route: after everything an interface name may depend on, as VRP lists them.
  if (!c.static_routes.empty()) {
    os << "#\n";
    for (const auto& r : c.static_routes) os << render_static_route(r) << "\n";
  }
  os << "#\nreturn\n";
  return os.str();
}

std::string render_static_route(const StaticRoute& r) {
  std::ostringstream os;
  os << "ip route-static " << r.prefix.addr.str() << " " << r.prefix.mask_str();
  if (!r.ifname.empty()) os << " " << r.ifname;
  if (!r.nexthop.empty()) os << " " << r.nexthop.str();
  if (r.preference != 60) os << " preference " << r.preference;
  return os.str();
}

}  // namespace fw::config
