#include "fwd/trace.h"

#include <linux/netfilter.h>

#include <cstdio>
#include <sstream>
#include <string_view>
#include <tuple>

#include "fwd/dataplane.h"
#include "fwd/nfqueue.h"
#include "packet/parse.h"
#include "packet/proto_name.h"

namespace fw::fwd {

namespace {

using session::MapType;

// The lines of `display current-configuration`, searched for the lines that decided a stage.
class ConfigText {
 public:
  explicit ConfigText(const config::Config& c) {
    std::istringstream is(config::render(c));
    for (std::string l; std::getline(is, l);) lines_.push_back(l);
  }
  // The line `head` (exactly, or followed by " id N" for a rule) and the lines indented below it.
  std::vector<std::string> block(const std::string& head) const {
    std::vector<std::string> out;
    for (size_t i = 0; i < lines_.size() && out.empty(); ++i) {
      if (lines_[i] != head && lines_[i].rfind(head + " id ", 0) != 0) continue;
      const size_t ind = indent(lines_[i]);
      out.push_back(lines_[i]);
      for (size_t j = i + 1; j < lines_.size() && indent(lines_[j]) > ind; ++j) {
        out.push_back(lines_[j]);
      }
    }
    return out;
  }
  // The first line of block(head) and its line equal to `line` (both when there is one).
  std::vector<std::string> pick(const std::string& head, const std::string& line) const {
    auto b = block(head);
    for (size_t i = 1; i < b.size(); ++i) {
      if (b[i] == line) return {b[0], b[i]};
    }
    return {};
  }
  bool has(const std::string& line) const {
    return std::find(lines_.begin(), lines_.end(), line) != lines_.end();
  }

 private:
  static size_t indent(const std::string& l) {
    size_t n = l.find_first_not_of(' ');
    return l == "#" || n == std::string::npos ? 0 : n;
  }
  std::vector<std::string> lines_;
};

// Session ids as the verbose session display shows them (hex).
std::string hex_id(uint64_t id) {
  char b[32];
  std::snprintf(b, sizeof b, "%llx", static_cast<unsigned long long>(id));
  return b;
}

std::string endpoint(const common::IpAddr& a, uint16_t port) {
  return a.str() + (a.is_v6() ? "." : ":") + std::to_string(port);
}

std::string flags_text(uint8_t f) {
  static const std::pair<uint8_t, const char*> kNames[] = {
      {0x02, "syn"}, {0x10, "ack"}, {0x01, "fin"}, {0x04, "rst"}, {0x08, "psh"}, {0x20, "urg"}};
  std::string s;
  for (const auto& [bit, n] : kNames) {
    if (f & bit) s += std::string(s.empty() ? "" : "+") + n;
  }
  return s.empty() ? "none" : s;
}

// Everything explain() needs, so that each stage is a short function.
struct Explainer {
  const Trace& t;
  DataPlane& dp;
  const config::Config& cfg;
  const TraceRequest& req;
  ConfigText text;
  TraceReport r;

  void step(std::string id, std::string title, std::string result,
            std::vector<std::string> config = {}) {
    r.steps.push_back({std::move(id), std::move(title), std::move(result), std::move(config)});
  }
  const config::Zone* zone(policy::ZoneId id) const { return cfg.find_zone(dp.zone_name(id)); }
  std::string zone_head(const config::Zone& z) const {
    return z.builtin ? "firewall zone " + z.name : "firewall zone name " + z.name;
  }
  // `firewall zone X` and its ` add interface IF` line (the interface as configured).
  std::vector<std::string> zone_lines(policy::ZoneId id, const std::string& linux_if) const {
    const config::Zone* z = zone(id);
    if (!z) return {};
    for (const auto& i : z->interfaces) {
      if (cfg.linux_ifname(i) == linux_if) return text.pick(zone_head(*z), " add interface " + i);
    }
    return {zone_head(*z)};
  }
  std::string ifname(uint32_t ifindex) const {
    std::string n = dp.routes().ifname(ifindex);
    return n.empty() ? "ifindex " + std::to_string(ifindex) : cfg.shown_ifname(n);
  }

  void packet_line();
  bool before_stages();
  void stage(TraceStage st);
  void opens_flow();
  void ingress_zone();
  void urpf();
  void anti_ddos();
  void servermap();
  void route();
  void service_manage();
  void policy();
  void expiring();
  void nat();
  void alg();
  void source_limit();
  void create();
  void verdict();
};

void Explainer::packet_line() {
  const auto& s = req.spec;
  std::string p = std::string(packet::ip_proto_name(s.proto)) + " ";
  if (s.proto == 6 || s.proto == 17) {
    p += endpoint(s.src, s.sport) + " --> " + endpoint(s.dst, s.dport);
  } else {
    p += s.src.str() + " --> " + s.dst.str();
  }
  if (s.proto == 6) p += " flags " + flags_text(s.tcp_flags);
  if (session::keyed_by_spi(s.proto)) {  // "spi" area
    char b[16];
    std::snprintf(b, sizeof b, "0x%08x", static_cast<unsigned>(s.spi));
    p += std::string(" spi ") + b;
  }
  if (s.proto == 1 || s.proto == 58) {
    const bool echo = s.icmp_type < 0;
    p += " type " + std::to_string(echo ? (s.proto == 1 ? 8 : 128) : s.icmp_type) + " code " +
         std::to_string(s.icmp_code);
  }
  p += " ttl " + std::to_string(s.ttl);
  p += req.in_linux.empty() ? " from the firewall itself" : " input " + req.in_shown;
  r.packet = p;
}

// Parse, guard, fragments, session lookup: false when the trace ends there.
bool Explainer::before_stages() {
  if (!t.malformed.empty()) {
    step("parse", "Parse", "malformed packet (" + t.malformed + ")");
    return false;
  }
  if (t.fragment) {
    step("fragment", "Fragment", t.drop ? "no first fragment seen" : "follows its first fragment");
    return false;
  }
  if (t.infrastructure == packet::kProtoIgmp) {
    step("igmp-link-local", "IGMP",
         "multicast membership on the link (TTL 1): accepted, no policy");
    return false;
  }
  if (t.infrastructure) {
    step("icmpv6-infrastructure", "ICMPv6", "neighbour discovery / MLD: accepted, no policy");
    return false;
  }
  if (t.guard) {
    step("guard", "Packet check",
         "dropped before the session lookup: " + drop_reason_names()[static_cast<size_t>(*t.drop)]);
    return false;
  }
  if (t.hit) {
    const auto& s = *t.hit;
    step("session-lookup", "Session lookup",
         "hit: session " + hex_id(s.id) + " (" + std::string(dp.apps().name(s.app)) + ", " +
             (t.hit_dir == session::Dir::kOriginal ? "original" : "reply") + " direction, policy " +
             dp.names().name(s.policy) + ")");
    if (t.drop) {
      step("session-nat", "Session NAT",
           "the session's translation fails: " + drop_reason_names()[static_cast<size_t>(*t.drop)]);
    }
    return false;
  }
  std::string miss = "no session: first packet of a flow";
  if (t.reopens) miss += " (a SYN on the closed session " + hex_id(t.reopens) + ")";
  step("session-lookup", "Session lookup", miss);
  if (t.icmp_error) {
    step("icmp-error", "ICMP error", "about no known flow");
    return false;
  }
  return true;
}

void Explainer::opens_flow() {
  if (req.spec.proto != 6) return;  // (the stage decides TCP only)
  if (t.drop == Drop::kTcpNotSyn && t.stages.back() == TraceStage::kOpensFlow) {
    step("opens-flow", "Opens a flow", "no: only a SYN opens a TCP session");
  } else {
    step("opens-flow", "Opens a flow", t.pickup ? "yes: picked up mid-stream" : "yes: a SYN");
  }
}

void Explainer::ingress_zone() {
  if (t.local_out) {
    step("ingress-zone", "Ingress zone", "local (the firewall's own packet)");
  } else if (t.src_zone == policy::kNoZone) {
    step("ingress-zone", "Ingress zone", "none: interface " + req.in_shown + " is in no zone");
  } else {
    step("ingress-zone", "Ingress zone",
         dp.zone_name(t.src_zone) + " (interface " + req.in_shown + ")",
         zone_lines(t.src_zone, req.in_linux));
  }
}

void Explainer::urpf() {
  const config::Zone* z = zone(t.src_zone);
  if (t.local_out || !z || z->urpf == config::Urpf::kOff) return;
  const std::string mode = z->urpf == config::Urpf::kStrict ? "strict" : "loose";
  const bool failed = t.drop == Drop::kUrpf;
  step("urpf", "uRPF", mode + (failed ? ": the route back to the source fails" : ": passed"),
       text.pick(zone_head(*z), " urpf " + mode));
}

// Shown only when it refuses (like the source limit): the zone's `anti-ddos` line, else the
// global one.
void Explainer::anti_ddos() {
  if (t.drop != Drop::kSynFlood && t.drop != Drop::kUdpFlood && t.drop != Drop::kIcmpFlood) return;
  const std::string kind = drop_reason_names()[static_cast<size_t>(*t.drop)];
  const std::string want = " anti-ddos " + kind + " ";
  std::vector<std::string> lines;
  if (const config::Zone* z = zone(t.src_zone)) {
    for (const auto& l : text.block(zone_head(*z)))
      if (l.rfind(want, 0) == 0) lines.push_back(zone_head(*z)), lines.push_back(l);
  }
  if (lines.empty()) {
    std::istringstream is(config::render_anti_ddos(cfg.anti_ddos, " "));
    for (std::string l; std::getline(is, l);)
      if (l.rfind(want, 0) == 0) lines.push_back(l);
  }
  step("anti-ddos", "Flood defence",
       "refused: " + kind + " (new sessions to " + t.s.orig.dst.str() +
           " are over their rate this second)",
       lines);
}

void Explainer::servermap() {
  if (!t.sm) {
    step("server-map", "Server-map lookup", "no entry");
    return;
  }
  const auto& e = *t.sm;
  std::string res = std::string(session::map_type_name(e.type)) + ": " + e.addr.str();
  if (e.port) res += ":" + std::to_string(e.port);
  if (!e.xaddr.empty()) {
    res += " -> " + e.xaddr.str();
    if (e.xport >= 0) res += ":" + std::to_string(e.xport);
  }
  std::vector<std::string> lines;
  if (e.type == MapType::kNatServer) {
    const std::string name = dp.names().name(e.owner);
    for (const auto& ns : cfg.nat_servers) {
      if (ns.name == name) lines = {" " + config::render_nat_server(ns)};
    }
  } else if (e.type == MapType::kAspf) {
    res += " (opened by session " + hex_id(e.parent) + ", bypasses the security policy)";
  }
  step("server-map", "Server-map lookup", res, lines);
}

void Explainer::route() {
  if (!t.route.ok) {
    step("route", "Route", "no route to " + t.dst.str());
    return;
  }
  std::string res;
  std::vector<std::string> lines;
  if (t.route.local) {
    res = "local: the firewall itself";
  } else {
    res = "interface " + ifname(t.route.oif) + ", next hop " +
          (t.route.gateway.empty() ? "directly connected" : t.route.gateway.str());
    // The configured static route the kernel used, if one of ours fits.
    const common::IpAddr& dst = t.dst;
    const config::StaticRoute* best = nullptr;
    for (const auto& sr : cfg.static_routes) {
      if (!sr.prefix.contains(dst) || (best && best->prefix.len >= sr.prefix.len)) continue;
      // Ours if it leaves the way the kernel's route does: same next hop, same interface.
      const bool same_if =
          sr.ifname.empty() || cfg.linux_ifname(sr.ifname) == dp.routes().ifname(t.route.oif);
      if (same_if && sr.nexthop == t.route.gateway) best = &sr;
    }
    if (best) {
      lines.push_back(config::render_static_route(*best));
    } else {
      res += " (kernel route, not configured here)";
    }
  }
  if (t.dst_zone == policy::kNoZone) {
    res += "; egress zone: none (the interface is in no zone)";
  } else {
    res += "; egress zone " + dp.zone_name(t.dst_zone);
    if (!t.route.local) {
      auto z = zone_lines(t.dst_zone, dp.routes().ifname(t.route.oif));
      lines.insert(lines.end(), z.begin(), z.end());
    }
  }
  step("route", "Route", res, lines);
}

void Explainer::service_manage() {
  if (t.drop == Drop::kServiceManage) {
    step("service-manage", "Service-manage", "ping deny on " + req.in_shown,
         text.pick("interface " + req.in_shown, " service-manage ping deny"));
  } else if (t.managed) {
    step("service-manage", "Service-manage", "ping permit on " + req.in_shown + " (no policy)",
         text.pick("interface " + req.in_shown, " service-manage ping permit"));
  }
}

void Explainer::policy() {
  if (t.aspf) {
    step("security-policy", "Security policy", "bypassed: admitted by an ASPF server-map entry");
    return;
  }
  if (t.managed) return;
  const bool deny = t.drop == Drop::kPolicyDeny;
  const std::string action = deny ? "deny" : "permit";
  if (t.policy_rule == "default") {
    std::vector<std::string> lines{"security-policy"};
    if (!deny) lines.push_back(" default action permit");
    step("security-policy", "Security policy",
         "rule default (ID 0), action " + action + (deny ? " (the default action)" : ""), lines);
    return;
  }
  uint32_t id = 0;
  for (const auto& rule : cfg.security.rules) {
    if (rule.name == t.policy_rule) id = rule.id;
  }
  std::vector<std::string> lines = text.pick(" rule name " + t.policy_rule, "  action " + action);
  if (lines.empty()) lines = text.block(" rule name " + t.policy_rule);
  step("security-policy", "Security policy",
       "rule " + t.policy_rule + " (ID " + std::to_string(id) + "), action " + action +
           (t.reversed ? " (the responder's packet of a permitted flow)" : ""),
       lines);
}

void Explainer::expiring() {
  if (t.drop == Drop::kTtlExpiredNat) {
    step("ttl", "TTL", "expires here and needs NAT: dropped");
  } else if (t.no_session) {
    step("ttl", "TTL",
         "expires here: forwarded untranslated for the kernel's time-exceeded, "
         "no session");
  }
}

void Explainer::nat() {
  if (t.no_session) return;
  const session::NatInfo& n = t.s.nat;
  const bool failed = t.drop == Drop::kNatExhausted || (t.drop == Drop::kTcpNotSyn && t.pickup);
  std::string res;
  std::vector<std::string> lines;
  if (!t.snat_rule.empty()) {
    for (const auto& nr : cfg.nat_rules) {
      if (nr.name != t.snat_rule) continue;
      auto b = text.block(" rule name " + nr.name);
      if (!b.empty()) lines = {b.front(), b.back()};  // the rule and its action
      if (!nr.group.empty()) {
        auto g = text.block("nat address-group " + nr.group);
        lines.insert(lines.end(), g.begin(), g.end());
      }
    }
    res = "rule " + t.snat_rule + ": ";
  }
  if (failed) {
    res += t.drop == Drop::kNatExhausted ? "no address or port left"
                                         : "cannot resume a "
                                           "translated flow";
  } else if (t.aspf) {
    res += "inherited from the control session through the entry";
    if (n.snat) res += ", source becomes " + endpoint(n.snat_addr, n.snat_port);
    if (n.dnat) res += ", destination becomes " + endpoint(n.dnat_addr, n.dnat_port);
  } else if (t.s.nat.snat) {
    res += std::string(session::nat_kind_name(n.kind)) + ", source becomes " +
           endpoint(n.snat_addr, n.snat_port);
  } else if (t.s.nat.dnat) {
    res += "none (a NAT server's inbound flow)";
  } else {
    res += t.snat_rule.empty() ? "no nat-policy rule matches" : "no translation";
  }
  step("source-nat", "Source NAT", res, lines);
}

void Explainer::alg() {
  if (t.no_session || t.reversed) return;
  if (t.aspf && t.sm) {
    step("aspf", "ASPF",
         "the " + std::string(dp.apps().name(t.s.app)) + " channel of control session " +
             hex_id(t.sm->parent));
    return;
  }
  const aspf::Inspector* ins = dp.algs().get(t.s.alg);
  if (!ins) {
    step("aspf", "ASPF", "no ALG inspects this flow");
    return;
  }
  const std::string name(ins->spec().name);
  std::vector<std::string> lines;
  const std::string z1 = dp.zone_name(t.src_zone), z2 = dp.zone_name(t.dst_zone);
  for (const auto& iz : cfg.interzones) {
    if (((iz.zone1 == z1 && iz.zone2 == z2) || (iz.zone1 == z2 && iz.zone2 == z1)) &&
        lines.empty()) {
      lines = text.pick("firewall interzone " + iz.zone1 + " " + iz.zone2, " detect " + name);
    }
  }
  if (lines.empty() && text.has(" firewall detect " + name)) {
    lines.push_back(" firewall detect " + name);
  }
  for (const auto& pm : cfg.port_mappings) {
    if (pm.alg == name && pm.port == req.spec.dport) {
      lines.push_back(" port-mapping " + pm.alg + " port " + std::to_string(pm.port));
    }
  }
  step("aspf", "ASPF", name + " inspects this control session", lines);
}

void Explainer::source_limit() {
  const bool refused = t.drop == Drop::kSourceSessionLimit || t.drop == Drop::kSourceRateLimit;
  if (!refused) return;  // (a stage that only counts is not shown unless it refuses)
  std::vector<std::string> lines;
  if (const config::Zone* z = zone(t.src_zone)) {
    for (const auto& l : text.block(zone_head(*z))) {
      if (l.rfind(" source-ip-limit", 0) == 0) lines.push_back(l);
    }
  }
  if (lines.empty()) {
    std::istringstream is(config::render_source_limit(cfg));
    for (std::string l; std::getline(is, l);) lines.push_back(l);
  }
  step("source-limit", "Source limit",
       "refused: " + drop_reason_names()[static_cast<size_t>(*t.drop)], lines);
}

void Explainer::create() {
  if (t.no_session) return;
  if (t.drop == Drop::kTableFull) {
    step("session", "Session creation", "the session table is full");
    return;
  }
  const auto& defs = config::aging_defaults();
  const std::string cls = t.s.aging < defs.size() ? defs[t.s.aging].first : "?";
  std::vector<std::string> lines;
  const std::string over = " firewall session aging-time " + cls + " ";
  for (const auto& [n, v] : cfg.aging.overrides) {
    if (n == cls) lines.push_back(over + std::to_string(v));
  }
  step("session", "Session creation",
       std::string(dp.apps().name(t.s.app)) + ", aging class " + cls + " (" +
           std::to_string(config::aging_value(cfg.aging, cls)) + " s established, now " +
           std::to_string(t.s.timeout_s) + " s)",
       lines);
}

void Explainer::stage(TraceStage st) {
  switch (st) {
    case TraceStage::kOpensFlow:
      return opens_flow();
    case TraceStage::kIngressZone:
      return ingress_zone();
    case TraceStage::kUrpf:
      return urpf();
    case TraceStage::kAntiDdos:
      return anti_ddos();
    case TraceStage::kServerMap:
      return servermap();
    case TraceStage::kRoute:
      return route();
    case TraceStage::kServiceManage:
      return service_manage();
    case TraceStage::kPolicy:
      return policy();
    case TraceStage::kExpiring:
      return expiring();
    case TraceStage::kNat:
      return nat();
    case TraceStage::kAlg:
      return alg();
    case TraceStage::kSourceLimit:
      return source_limit();
    case TraceStage::kCreate:
      return create();
  }
}

// Action, reason and the tuple before/after NAT.
void Explainer::verdict() {
  r.permit = !t.drop;
  if (t.drop) r.reason = drop_reason_names()[static_cast<size_t>(*t.drop)];
  const auto& s = req.spec;
  const bool ports = s.proto == 6 || s.proto == 17;
  const bool icmp = s.proto == 1 || s.proto == 58;
  const bool echo = icmp && s.icmp_type < 0;
  const uint16_t sport = ports || echo ? s.sport : 0;
  // ICMP: the "port" the session display shows for the responder, the type << 8 | code.
  const int type = echo ? (s.proto == 1 ? 8 : 128) : s.icmp_type;
  const uint16_t dport = ports   ? s.dport
                         : !icmp ? 0
                                 : static_cast<uint16_t>(type << 8 | s.icmp_code);
  session::NatInfo n = t.hit ? t.hit->nat : t.s.nat;
  common::IpAddr src = s.src, dst = s.dst;
  uint16_t sp = sport, dp_ = dport;
  if (t.hit) {
    src = t.hit->orig.src, dst = t.hit->orig.dst;
    std::tie(sp, dp_) = session::shown_ports(t.hit->orig);  // "spi" area: ESP/AH show none
  }
  std::string a = endpoint(src, sp), b = endpoint(dst, dp_);
  r.before = a + " --> " + b;
  if (n.snat) a += "[" + endpoint(n.snat_addr, n.snat_port) + "]";
  if (n.dnat) b += "[" + endpoint(n.dnat_addr, n.dnat_port) + "]";
  r.after = a + " --> " + b;
}

std::string json_str(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += static_cast<char>(c);
    } else if (c < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else {
      o += static_cast<char>(c);
    }
  }
  return o + "\"";
}

}  // namespace

TraceReport explain(const Trace& t, DataPlane& dp, const config::Config& cfg,
                    const TraceRequest& req) {
  Explainer e{t, dp, cfg, req, ConfigText(cfg), {}};
  e.packet_line();
  if (e.before_stages()) {
    for (TraceStage st : t.stages) e.stage(st);
  }
  e.verdict();
  return e.r;
}

std::optional<TraceReport> packet_trace(DataPlane& dp, const config::Config& cfg,
                                        const TraceRequest& req, std::string* err) {
  std::vector<uint8_t> pkt = packet::build(req.spec);
  if (pkt.empty()) {
    *err = "Error: The packet cannot be built (the addresses must be of one family).";
    return std::nullopt;
  }
  QueuedPacket qp;
  qp.data = pkt.data();
  qp.len = static_cast<uint32_t>(pkt.size());
  qp.capacity = qp.len;
  qp.indev = req.ifindex;
  qp.hook = req.in_linux.empty() ? NF_INET_LOCAL_OUT : NF_INET_PRE_ROUTING;
  Trace t;
  dp.pipeline().trace(qp, t);
  return explain(t, dp, cfg, req);
}

std::string json_string(const std::string& s) { return json_str(s); }
std::string session_id_text(uint64_t id) { return hex_id(id); }

std::string render_text(const TraceReport& r) {
  std::ostringstream os;
  os << " Packet: " << r.packet << "\n";
  size_t n = 0;
  for (const auto& s : r.steps) {
    char head[64];
    std::snprintf(head, sizeof head, " %2zu. %-18s: ", ++n, s.title.c_str());
    os << head << s.result << "\n";
    for (const auto& l : s.config) os << "       | " << l << "\n";
  }
  os << " Action: " << (r.permit ? "permit" : "drop") << "\n";
  if (!r.permit) os << " Drop reason: " << r.reason << "\n";
  os << " Session: " << r.after << "\n";
  return os.str();
}

std::string render_json(const TraceReport& r) {
  std::ostringstream os;
  os << "{\n  \"packet\": " << json_str(r.packet) << ",\n  \"stages\": [";
  size_t n = 0;
  for (const auto& s : r.steps) {
    os << (n ? ",\n" : "\n");
    os << "    {\"step\": " << ++n << ", \"stage\": " << json_str(s.stage)
       << ", \"result\": " << json_str(s.result) << ", \"config\": [";
    for (size_t i = 0; i < s.config.size(); ++i) os << (i ? ", " : "") << json_str(s.config[i]);
    os << "]}";
  }
  os << "\n  ],\n  \"action\": " << json_str(r.permit ? "permit" : "drop");
  os << ",\n  \"reason\": " << (r.permit ? "null" : json_str(r.reason));
  os << ",\n  \"before\": " << json_str(r.before) << ",\n  \"session\": " << json_str(r.after)
     << "\n}\n";
  return os.str();
}

}  // namespace fw::fwd
