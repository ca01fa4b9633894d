// Displays of the data plane: the session table (concise and verbose, with filters; IPv6 only;
// statistics), reset of sessions, aging times, the server-map (and its statistic), firewall
// statistics and the discard reasons.
#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <span>
#include <sstream>

#include "common/counters.h"
#include "fwd/ctl_context.h"
#include "fwd/dataplane.h"
#include "packet/proto_name.h"
#include "session/server_map.h"
#include "session/session_table.h"

namespace fw::fwd::ctl {
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
  return session::shown_ports(k).second;  // "spi" area: ESP/AH show no ports
}

// "spi" area: "  SPI: 0x1234abcd/0x5678ef01" of an ESP/AH session (an unbound reply SPI: "-").
std::string spi_text(const session::Session& s) {
  if (!session::keyed_by_spi(s.orig.proto)) return {};
  auto hex = [](const session::FlowKey& k) {
    if (session::spi_unbound(k)) return std::string("-");
    char b[16];
    std::snprintf(b, sizeof b, "0x%08x", static_cast<unsigned>(session::key_spi(k)));
    return std::string(b);
  };
  return "  SPI: " + hex(s.orig) + "/" + hex(s.reply);
}

// Session filters from a matched display/reset line.
struct SessionFilter {
  std::optional<std::pair<bool, common::IpAddr>> src, dst;  // bool: inside (true) / global
  std::optional<uint8_t> proto;
  std::optional<uint16_t> sport, dport;
  std::optional<std::string> app, policy;
  bool v6_only = false;
  std::optional<std::string> src_zone, dst_zone;
  bool bad = false;
  std::string err;

  bool match(const session::Session& s, DataPlane& dp) const {
    if (src) {
      const auto& a = (src->first || !s.nat.snat) ? s.orig.src : s.nat.snat_addr;
      if (!(a == src->second)) return false;
    }
    if (dst) {
      const auto& a = (dst->first && s.nat.dnat) ? s.nat.dnat_addr : s.orig.dst;
      if (!(a == dst->second)) return false;
    }
    if (v6_only && !s.orig.src.is_v6()) return false;
    if (proto && s.orig.proto != *proto) return false;
    if (sport && session::shown_ports(s.orig).first != *sport) return false;
    if (dport && session::shown_ports(s.orig).second != *dport) return false;
    if (policy && dp.names().name(s.policy) != *policy) return false;
    if (app && dp.apps().name(s.app) != *app) return false;
    if (src_zone && dp.zone_name(s.src_zone) != *src_zone) return false;
    if (dst_zone && dp.zone_name(s.dst_zone) != *dst_zone) return false;
    return true;
  }
};

std::optional<uint8_t> protocol_number(const std::string& keyword) {
  static const std::map<std::string, uint8_t> kProtos = {
      {"tcp", 6}, {"udp", 17}, {"icmp", 1}, {"icmpv6", 58}, {"gre", 47}, {"esp", 50}, {"ah", 51}};
  auto it = kProtos.find(keyword);
  if (it == kProtos.end()) return std::nullopt;
  return it->second;
}

SessionFilter filter_from(const cli::Match& m) {
  SessionFilter f;
  f.v6_only = m.has("ipv6");
  const auto& t = m.tokens;
  for (size_t i = 0; i < t.size(); ++i) {
    if (!t[i].keyword) {
      auto ip = [&]() {
        if (!t[i].addr) {
          f.bad = true;
          f.err = "Error: Wrong IP address " + t[i].value + ".";
        }
        return t[i].addr.value_or(common::IpAddr{});
      };
      bool inside = i > 0 && t[i - 1].keyword && t[i - 1].name == "inside";
      if (t[i].name == "src-ip") f.src = std::make_pair(inside, ip());
      if (t[i].name == "dst-ip") f.dst = std::make_pair(inside, ip());
      if (t[i].name == "app") f.app = t[i].value;
      if (t[i].name == "policy-name") f.policy = t[i].value;
      if (t[i].name == "sport") f.sport = m.u16("sport");
      if (t[i].name == "dport") f.dport = m.u16("dport");
      if (t[i].name == "protocol-number") f.proto = m.u8("protocol-number");
      if (t[i].name == "src-zone") f.src_zone = t[i].value;
      if (t[i].name == "dst-zone") f.dst_zone = t[i].value;
      continue;
    }
    if (i > 0 && t[i - 1].keyword && t[i - 1].name == "protocol") {
      if (auto p = protocol_number(t[i].name)) f.proto = p;
    }
  }
  return f;
}

// The interface name the daemon gives for an ifindex; the number if it has none.
std::string interface_name(const ControllerHooks& h, uint32_t ifindex) {
  if (!ifindex) return "InLoopBack0";
  std::string n = h.ifname ? h.ifname(ifindex) : std::string();
  return n.empty() ? "ifindex " + std::to_string(ifindex) : n;
}

void verbose_lines(std::ostream& os, const ControllerHooks& h, const DataPlane& dp,
                   const session::Session& s, uint64_t now) {
  char id[32];
  std::snprintf(id, sizeof id, "%llx", static_cast<unsigned long long>(s.id));
  os << " " << dp.apps().name(s.app) << "  VPN: public --> public  ID: " << id << "\n";
  uint64_t ttl = s.timeout_s;
  uint64_t idle_s = now > s.last_seen_ms ? (now - s.last_seen_ms) / 1000 : 0;
  uint64_t left = idle_s >= ttl ? 0 : ttl - idle_s;
  os << " Zone: " << dp.zone_name(s.src_zone) << " --> " << dp.zone_name(s.dst_zone)
     << "  TTL: " << hms(ttl) << "  Left: " << hms(left) << "\n";
  os << " Recv Interface: " << interface_name(h, s.in_ifindex) << "\n";
  const common::IpAddr& nh = !s.next_hop.empty() ? s.next_hop
                             : s.nat.dnat        ? s.nat.dnat_addr
                                                 : s.orig.dst;
  os << " Interface: " << interface_name(h, s.out_ifindex) << "  NextHop: " << nh.str() << "\n";
  os << " <--packets: " << s.packets[1] << " bytes: " << s.bytes[1]
     << " --> packets: " << s.packets[0] << " bytes: " << s.bytes[0] << "\n";
}

void session_lines(std::ostream& os, const ControllerHooks& h, DataPlane& dp,
                   const session::Session& s, bool verbose, uint64_t now) {
  // What goes in the port positions comes from the ALG whose channel the
  // session is (PPTP's GRE shows call ids), else the ports.
  std::pair<uint16_t, uint16_t> ports{session::shown_ports(s.orig).first, s.nat.snat_port};
  if (const auto* ins = dp.algs().get(dp.apps().alg_of(s.app))) ports = ins->shown_ports(s);
  std::string src = endpoint(s.orig.src, ports.first);
  if (s.nat.snat) src += "[" + endpoint(s.nat.snat_addr, ports.second) + "]";
  std::string dst = endpoint(s.orig.dst, shown_dport(s.orig));
  if (s.nat.dnat) dst += "[" + endpoint(s.nat.dnat_addr, s.nat.dnat_port) + "]";
  std::string arrow = s.has_servermap ? "+->" : "-->";
  if (!verbose) {
    os << " " << dp.apps().name(s.app) << "  VPN: public --> public  " << src << " " << arrow << " "
       << dst << "\n";
    return;
  }
  verbose_lines(os, h, dp, s, now);
  os << " " << src << " " << arrow << " " << dst << " PolicyName: " << dp.names().name(s.policy)
     << spi_text(s) << "\n";
}

// "stream" area: displays of any size are rendered in batches of this many table slots (each
// session locked only while it is copied), each batch sent on before the next is read.
constexpr size_t kWalkSlots = 1024;
constexpr uint64_t kVerboseLines = 6;  // lines per session in the verbose display

// The ids of the sessions matching f, in id order (8 bytes a session, no session copied).
std::vector<uint64_t> session_ids(const session::SessionTable& t, const SessionFilter& f,
                                  DataPlane& dp, bool filtered) {
  std::vector<uint64_t> ids;
  ids.reserve(filtered ? 0 : t.size());
  size_t cursor = 0;
  for (bool more = true; more;) {
    more = t.walk(&cursor, kWalkSlots * 16, [&](const session::Session& s) {
      if (!filtered || f.match(s, dp)) ids.push_back(s.id);
    });
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

void stream_sessions(Emitter& em, const SessionFilter& f, bool filtered, bool verbose,
                     DataPlane& dp, const ControllerHooks& h) {
  auto& t = dp.sessions();
  const std::vector<uint64_t> ids = session_ids(t, f, dp, filtered);
  if (!em.text(" Current Total Sessions : " + std::to_string(ids.size()) + "\n")) return;
  if (em.count_only) {  // `| count`: the lines are known without rendering them
    em.lines(ids.size() * (verbose ? kVerboseLines : 1));
    return;
  }
  std::vector<session::Session> batch;
  std::ostringstream os;
  for (size_t i = 0; i < ids.size(); i += kWalkSlots) {
    batch.clear();
    const size_t end = std::min(ids.size(), i + kWalkSlots);
    for (size_t k = i; k < end; ++k)  // one session locked at a time; gone ones are skipped
      t.with_session_id(ids[k], [&](session::Session& s) { batch.push_back(s); });
    const uint64_t now = dp.clock().now_ms();
    os.str("");
    for (const auto& s : batch) session_lines(os, h, dp, s, verbose, now);
    if (!em.text(os.str())) return;  // the reader has gone
  }
}

bool any_session_filter(const SessionFilter& f) {
  return f.src || f.dst || f.proto || f.sport || f.dport || f.app || f.policy || f.v6_only ||
         f.src_zone || f.dst_zone;
}

// Streamed (Ctx::stream): no copy of the table (only the ids of what is shown: 8 bytes a
// session), no reply of its size, printing starts after one pass over the table.
void display_session_table(Ctx& c) {
  SessionFilter f = filter_from(c.m);
  if (f.bad) {
    c.err = f.err;
    return;
  }
  if (!c.dp) {
    c.out << " Current Total Sessions : 0\n";
    return;
  }
  c.stream = [f, verbose = c.m.has("verbose"), dp = c.dp, h = &c.hooks](Emitter& em) {
    stream_sessions(em, f, any_session_filter(f), verbose, *dp, *h);
  };
}

void reset_session_table(Ctx& c) {
  SessionFilter f = filter_from(c.m);
  if (f.bad) {
    c.err = f.err;
    return;
  }
  if (c.dp) c.dp->sessions().erase_if([&](const session::Session& s) { return f.match(s, *c.dp); });
}

void display_statistics(Ctx& c) {
  const auto& t = c.counters;
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
  // guard: no-route packets given to the kernel to answer (ICMP unreachable), or suppressed.
  line("No-route unreachable sent", t.value("packet.no-route.unreachable-by-kernel"));
  line("No-route unreachable suppressed", t.value("packet.no-route.unreachable-suppressed"));
  line("Sessions created", t.value("session.created"));
  line("Sessions aged", t.value("session.aged"));
  line("Sessions removed", t.value("session.removed"));
  line("Sessions current", c.dp ? c.dp->sessions().size() : 0);
  line("Sessions refused (table full)", t.value("session.drop.table-full"));
  line("Half-open sessions dropped", t.value("session.half-open.evicted"));  // "halfopen"
  for (const auto& [name, v] : t.snapshot()) {
    if (name.rfind("packet.malformed.", 0) == 0 && v > 0) line("Malformed " + name.substr(17), v);
  }
  if (c.hooks.extra_statistics) c.out << c.hooks.extra_statistics();
}

void reset_statistics(Ctx& c) { c.counters.reset_prefix("packet."); }

// The type keyword of a server-map display line.
enum class MapShown { kAll, kAspf, kNatServer, kNoPat, kStatic, kDynamic };

MapShown map_shown(const cli::Match& m) {
  if (m.has("aspf")) return MapShown::kAspf;
  if (m.has("nat-server")) return MapShown::kNatServer;
  if (m.has("no-pat")) return MapShown::kNoPat;
  if (m.has("static")) return MapShown::kStatic;
  if (m.has("dynamic")) return MapShown::kDynamic;
  return MapShown::kAll;
}

// Whether the entry is left out by the type keyword of the display line.
bool servermap_hidden(MapShown shown, const session::ServerMapEntry& e) {
  using T = session::MapType;
  bool nat_server = e.type == T::kNatServer || e.type == T::kNatServerReverse;
  switch (shown) {
    case MapShown::kAspf:
      return e.type != T::kAspf;
    case MapShown::kNatServer:
    case MapShown::kStatic:
      return !nat_server;
    case MapShown::kNoPat:
      return e.type != T::kNoPat && e.type != T::kNoPatReverse;
    case MapShown::kDynamic:
      return nat_server;
    case MapShown::kAll:
      return false;
  }
  return false;
}

// The Appro name and whether a 0 port is shown come from the ALG that opened the entry.
std::string servermap_proto(const aspf::Inspector* ins, const session::ServerMapEntry& e) {
  std::string p = e.proto == 6    ? "tcp"
                  : e.proto == 17 ? "udp"
                  : e.proto == 47 ? "gre"
                  : e.proto == 0  ? "---"
                                  : std::to_string(e.proto);
  if (ins && e.channel < ins->spec().channels.size()) {
    p += "(Appro: " + std::string(ins->spec().channels[e.channel].app) + ")";
  }
  return p;
}

std::string servermap_body(const aspf::Inspector* ins, const session::ServerMapEntry& e) {
  using T = session::MapType;
  if (e.type == T::kNatServerReverse || e.type == T::kNoPat)
    return e.addr.str() + "[" + e.xaddr.str() + "] -> ANY";
  const bool always = ins && ins->entry_port_always_shown(e);
  auto ep = [always](const common::IpAddr& a, uint16_t port) {
    return port || always ? endpoint(a, port) : a.str();
  };
  std::string from = e.peer.empty() ? "ANY" : e.peer.str();
  std::string to = ep(e.addr, e.port);
  if (!e.xaddr.empty()) {
    to += "[" + ep(e.xaddr, e.xport >= 0 ? static_cast<uint16_t>(e.xport) : e.port) + "]";
  }
  return from + " -> " + to;
}

// Nat Server Reverse entries of one inside/global pair (servers on several ports of one
// address) are one line, as VRP shows them, with their number as `counter:`.
std::vector<std::pair<session::ServerMapEntry, uint32_t>> servermap_lines(
    std::vector<session::ServerMapEntry> list) {
  std::vector<std::pair<session::ServerMapEntry, uint32_t>> out;
  for (auto& e : list) {
    if (e.type == session::MapType::kNatServerReverse) {
      auto same = std::find_if(out.begin(), out.end(), [&](const auto& o) {
        return o.first.type == e.type && o.first.addr == e.addr && o.first.xaddr == e.xaddr;
      });
      if (same != out.end()) {
        if (same->first.proto != e.proto) same->first.proto = 0;
        ++same->second;
        continue;
      }
    }
    out.emplace_back(std::move(e), 1);
  }
  return out;
}

void servermap_entry_lines(std::ostream& os, const aspf::Registry& algs, DataPlane& dp,
                           const session::ServerMapEntry& e, uint32_t count, uint64_t now) {
  const aspf::Inspector* ins = algs.get(e.alg);
  os << " Type: " << session::map_type_name(e.type) << ",  " << servermap_body(ins, e)
     << ",  Zone:" << (e.zone ? dp.zone_name(e.zone) : std::string("---"))
     << ",  protocol:" << servermap_proto(ins, e);
  if (e.expires_ms) {
    uint64_t left = e.expires_ms > now ? (e.expires_ms - now + 999) / 1000 : 0;
    os << ",  Left-Time:" << hms(left);
  } else {
    os << ",  Left-Time:---";
  }
  os << "\n Vpn: public -> public";
  if (e.type == session::MapType::kNatServerReverse) os << ",  counter: " << count;
  os << "\n\n";
}

// Nat Server Reverse entries grouped as servermap_lines() groups them: the first entry's id of
// each (inside, global) pair -> the pair's number of entries and protocol (0 when mixed).
struct ReverseGroups {
  std::map<std::pair<std::string, std::string>, uint64_t> first;
  std::map<uint64_t, std::pair<uint32_t, uint8_t>> by_first;
};

void stream_servermap(Emitter& em, MapShown shown, DataPlane& dp, const aspf::Registry& algs) {
  const auto& map = dp.servermap();
  const std::vector<uint64_t> ids = map.ids();
  constexpr size_t kBatch = 1024;
  ReverseGroups groups;
  uint64_t total = 0;
  for (size_t i = 0; i < ids.size(); i += kBatch) {
    auto part = std::span(ids).subspan(i, std::min(kBatch, ids.size() - i));
    map.for_ids(part, [&](const session::ServerMapEntry& e) {
      if (servermap_hidden(shown, e)) return;
      if (e.type != session::MapType::kNatServerReverse) {
        ++total;
        return;
      }
      auto [it, added] = groups.first.emplace(std::make_pair(e.addr.str(), e.xaddr.str()), e.id);
      auto& g = groups.by_first[it->second];
      if (added) {
        ++total;
        g = {0, e.proto};
      }
      ++g.first;
      if (g.second != e.proto) g.second = 0;
    });
  }
  if (!em.text(" Current Total Server-map : " + std::to_string(total) + "\n")) return;
  if (em.count_only) {  // three lines an entry (the last one empty)
    em.lines(total * 3);
    return;
  }
  std::vector<std::pair<session::ServerMapEntry, uint32_t>> batch;
  std::ostringstream os;
  for (size_t i = 0; i < ids.size(); i += kBatch) {
    batch.clear();
    auto part = std::span(ids).subspan(i, std::min(kBatch, ids.size() - i));
    map.for_ids(part, [&](const session::ServerMapEntry& e) {
      if (servermap_hidden(shown, e)) return;
      if (e.type != session::MapType::kNatServerReverse) {
        batch.emplace_back(e, 1);
        return;
      }
      auto g = groups.by_first.find(e.id);
      if (g == groups.by_first.end()) return;  // shown on its pair's line
      batch.emplace_back(e, g->second.first);
      batch.back().first.proto = g->second.second;
    });
    if (batch.empty()) continue;
    const uint64_t now = dp.clock().now_ms();
    os.str("");
    for (const auto& [e, count] : batch) servermap_entry_lines(os, algs, dp, e, count, now);
    if (!em.text(os.str())) return;
  }
}

// Streamed like the session table (Ctx::stream), in the order the entries were added.
void display_servermap(Ctx& c) {
  if (!c.dp) {
    c.out << " Current Total Server-map : 0\n";
    return;
  }
  c.stream = [shown = map_shown(c.m), dp = c.dp, algs = &c.algs](Emitter& em) {
    stream_servermap(em, shown, *dp, *algs);
  };
}

// Huawei's layout: the default and the configured time of every aging class. `fragment` has no
// effect here (fwd keeps no fragment cache: a fragment without a session is a counted drop); it
// is shown as VRP shows it and cannot be configured.
void display_aging(Ctx& c) {
  const std::string rule(62, '-');
  c.out << " " << rule << "\n";
  c.out << "  Protocol              Default Timeout(s)    Configured Timeout(s)\n";
  c.out << " " << rule << "\n";
  for (const auto& [n, def] : config::aging_defaults()) {
    c.out << "  " << std::left << std::setw(22) << n << std::setw(22) << def
          << config::aging_value(c.cfg.aging, n) << "\n";
  }
  c.out << " " << rule << "\n";
}

// Every row comes from the table's live counters (no walk): instant at any size ("stream" area).
void display_session_statistics(Ctx& c) {
  std::map<std::string, uint64_t> by_state, by_zones;
  std::vector<std::pair<uint8_t, size_t>> by_proto;
  uint64_t total = 0, v6 = 0;
  if (c.dp) {
    const auto& t = c.dp->sessions();
    total = t.size();
    v6 = t.ipv6_size();
    by_proto = t.protocol_counts();
    for (const auto& [st, n] : t.state_counts())
      by_state[std::string(session::tcp_state_name(st))] += n;
    for (const auto& [z, n] : t.zone_counts())
      by_zones[c.dp->zone_name(z.first) + " --> " + c.dp->zone_name(z.second)] += n;
  }
  auto line = [&](const std::string& label, uint64_t v) {
    c.out << "  " << std::left << std::setw(34) << label << ": " << v << "\n";
  };
  c.out << " Session table statistics:\n";
  line("Current total sessions", total);
  line("Current IPv4 sessions", total - std::min(total, v6));
  line("Current IPv6 sessions", v6);
  line("Session table capacity", c.dp ? c.dp->sessions().capacity() : 0);
  line("Sessions created (since start)", c.counters.value("session.created"));
  line("Sessions aged", c.counters.value("session.aged"));
  line("Sessions refused (table full)", c.counters.value("session.drop.table-full"));
  c.out << " By protocol:\n";
  std::map<std::string, uint64_t> named;
  for (const auto& [p, n] : by_proto) named[std::string(packet::ip_proto_name(p))] += n;
  for (const auto& [k, v] : named) line(k, v);
  c.out << " By TCP state:\n";
  for (const auto& [k, v] : by_state) line(k, v);
  c.out << " By zone:\n";
  for (const auto& [k, v] : by_zones) line(k, v);
}

// The drop reasons of the packet path, Huawei's `statistic system discard` layout.
void display_discard(Ctx& c) {
  const auto& t = c.counters;
  auto line = [&](const std::string& label, uint64_t v) {
    c.out << "  " << std::left << std::setw(40) << label << ": " << v << "\n";
  };
  c.out << " Packets discarded statistic:\n";
  line("Total packets discarded", t.value("packet.dropped"));
  for (const auto& d : drop_reason_names()) line(d + " discarded", t.value("packet.drop." + d));
  line("session table full discarded", t.value("session.drop.table-full"));
  for (const auto& [name, v] : t.snapshot()) {
    if (name.rfind("packet.malformed.", 0) == 0 && v > 0)
      line("malformed " + name.substr(17) + " discarded", v);
  }
}

void display_servermap_statistic(Ctx& c) {
  std::vector<session::ServerMapEntry> list;
  if (c.dp) list = c.dp->servermap().snapshot();
  const auto lines = servermap_lines(std::move(list));  // counted as display shows them
  std::map<std::string, uint64_t> by_type;
  for (const auto& [e, n] : lines) ++by_type[std::string(session::map_type_name(e.type))];
  c.out << " Current Total Server-map : " << lines.size() << "\n";
  using T = session::MapType;
  for (auto t : {T::kAspf, T::kNatServer, T::kNatServerReverse, T::kNoPat, T::kNoPatReverse}) {
    const std::string n(session::map_type_name(t));
    c.out << "  Type: " << std::left << std::setw(22) << n << ": " << by_type[n] << "\n";
  }
}

}  // namespace

void register_session_display(HandlerTable& t) {
  t.add({
      {"display.session.table", display_session_table},
      {"reset.session.table", reset_session_table},
      {"display.statistics", display_statistics},
      {"reset.statistics", reset_statistics},
      {"display.servermap", display_servermap},
      {"display.session.aging", display_aging},
      {"display.session.ipv6", display_session_table},
      {"display.session.statistics", display_session_statistics},
      {"display.discard", display_discard},
      {"display.servermap.statistic", display_servermap_statistic},
  });
}

}  // namespace fw::fwd::ctl
