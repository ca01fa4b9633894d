// Area route: `ip route-static` (configuration; fwd's StaticRouteInstaller puts it in the
// kernel), `display ip routing-table` and `display arp` (netlink dumps, read at the command),
// `ping` and `tracert` (fwd/probe.*, run after the command without the controller's mutex).
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include "fwd/ctl_context.h"
#include "fwd/netlink_route.h"
#include "fwd/probe.h"

namespace fw::fwd::ctl {
namespace {

bool unicast_v4(const common::IpAddr& a) {
  uint32_t h = a.v4_host();
  return h != 0 && (h >> 24) != 127 && (h >> 28) < 14;  // not 0, loopback, multicast, class E
}

// The static route the line names (prefix normalised: host bits cleared, as VRP stores it).
std::optional<config::StaticRoute> route_of(Ctx& c) {
  auto pfx = c.m.prefix("dest-address", "mask", "mask-length");
  if (!pfx) {
    c.param_error("dest-address", "Error: Wrong destination address or mask.");
    return std::nullopt;
  }
  if (pfx->len != 0 && (pfx->addr.v4_host() >> 28) >= 14) {
    c.param_error("dest-address", "Error: The destination address is a multicast or reserved one.");
    return std::nullopt;
  }
  config::StaticRoute r;
  r.prefix = *pfx;
  if (auto nh = c.m.ip("nexthop-address")) {
    if (!unicast_v4(*nh)) {
      c.param_error("nexthop-address", "Error: Invalid next-hop address.");
      return std::nullopt;
    }
    r.nexthop = *nh;
  }
  // Kept by its Linux name, as `add interface` keeps it; a VRP name goes through the map.
  if (auto i = c.m.param("interface")) r.ifname = c.cfg.linux_ifname(*i);
  r.preference = c.m.u32("preference-value").value_or(60);
  return r;
}

void route_static(Ctx& c) {
  auto r = route_of(c);
  if (!r) return;
  if (!r->ifname.empty() && interface_param(c, "interface").empty()) return;
  for (auto& x : c.cfg.static_routes) {
    if (!x.same_route(*r)) continue;
    if (x.preference != r->preference) {  // VRP: the same route again changes its preference
      x.preference = r->preference;
      c.changed = true;
    }
    return;
  }
  c.cfg.static_routes.push_back(*r);
  c.changed = true;
}

// `undo ip route-static PREFIX MASK` removes every route to the prefix; a next hop or an
// interface narrows it down.
void undo_route_static(Ctx& c) {
  auto r = route_of(c);
  if (!r) return;
  const bool by_if = c.m.param("interface").has_value();
  const bool by_nh = !r->nexthop.empty();
  size_t n = std::erase_if(c.cfg.static_routes, [&](const config::StaticRoute& x) {
    return x.prefix == r->prefix && (!by_if || x.ifname == r->ifname) &&
           (!by_nh || x.nexthop == r->nexthop);
  });
  if (n == 0) {
    c.err = "Error: The static route does not exist.";
    return;
  }
  c.changed = true;
}

// As `display interface` shows it: the VRP name when the interface map has one.
std::string ifname(const Ctx& c, uint32_t ifindex) {
  std::string n = c.hooks.ifname ? c.hooks.ifname(ifindex) : std::string();
  return n.empty() ? std::to_string(ifindex) : c.cfg.shown_ifname(n);
}

bool kernel_available(Ctx& c) {
  if (c.dp) return true;
  c.err = "Error: The kernel tables are available only in the running fwd.";
  return false;
}

struct RouteRow {
  common::IpAddr dst;
  uint8_t len = 0;
  std::string proto, flags, nexthop, iface;
  uint32_t pre = 0, cost = 0;
};

std::string proto_name(uint8_t p) {
  switch (p) {
    case kFwdRouteProtocol:
      return "Static";
    case RTPROT_KERNEL:
      return "Direct";
    case 16:  // RTPROT_DHCP
      return "DHCP";
    case 186:
      return "BGP";
    case 187:
      return "ISIS";
    case 188:
      return "OSPF";
    case 189:
      return "RIP";
    default:
      return "Kernel";  // `ip route`, boot scripts: not fwd's
  }
}

// The IPv4 routes of the main and local tables as VRP shows them: the firewall's own addresses
// (local table) are Direct host routes via 127.0.0.1.
std::optional<RouteRow> route_row(const Ctx& c, const KernelRoute& k) {
  if (k.table != RT_TABLE_MAIN && k.table != RT_TABLE_LOCAL) return std::nullopt;
  RouteRow r;
  r.dst = k.dst;
  r.len = k.dst_len;
  r.iface = k.oif ? ifname(c, k.oif) : "NULL0";
  if (k.type == RTN_LOCAL) {
    r.proto = "Direct";
    r.flags = "D";
    r.nexthop = "127.0.0.1";
    return r;
  }
  if (k.type != RTN_UNICAST && k.type != RTN_BLACKHOLE && k.type != RTN_UNREACHABLE &&
      k.type != RTN_PROHIBIT)
    return std::nullopt;  // broadcast, multicast, anycast
  r.proto = proto_name(k.protocol);
  r.flags = k.gateway.empty() ? "D" : "RD";
  if (k.protocol == kFwdRouteProtocol) {
    r.pre = k.priority;
  } else {
    r.cost = k.priority;
  }
  r.nexthop = !k.gateway.empty()   ? k.gateway.str()
              : !k.prefsrc.empty() ? k.prefsrc.str()
                                   : std::string("0.0.0.0");
  return r;
}

void display_routing(Ctx& c) {
  if (!kernel_available(c)) return;
  std::string err;
  auto dump = dump_routes(AF_INET, &err);
  if (!dump) {
    c.err = "Error: " + err;
    return;
  }
  std::vector<RouteRow> rows;
  for (const auto& k : *dump)
    if (auto r = route_row(c, k)) rows.push_back(std::move(*r));
  std::stable_sort(rows.begin(), rows.end(), [](const RouteRow& a, const RouteRow& b) {
    return std::make_tuple(a.dst.v4_host(), a.len) < std::make_tuple(b.dst.v4_host(), b.len);
  });
  std::set<std::pair<uint32_t, uint8_t>> dests;
  for (const auto& r : rows) dests.insert({r.dst.v4_host(), r.len});
  char line[256];
  c.out << "Route Flags: R - relay, D - download to fib\n"
        << std::string(78, '-') << "\nRouting Tables: Public\n";
  std::snprintf(line, sizeof line, "         Destinations : %-8zu Routes : %zu\n\n", dests.size(),
                rows.size());
  c.out << line << "Destination/Mask    Proto   Pre  Cost      Flags NextHop         Interface\n\n";
  for (const auto& r : rows) {
    std::snprintf(line, sizeof line, "%15s/%-4u%-8s%-5u%-11u%2s   %-16s%s\n", r.dst.str().c_str(),
                  unsigned{r.len}, r.proto.c_str(), r.pre, r.cost, r.flags.c_str(),
                  r.nexthop.c_str(), r.iface.c_str());
    c.out << line;
  }
}

std::string mac_text(const std::vector<uint8_t>& m) {
  if (m.size() != 6) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%02x%02x-%02x%02x-%02x%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return b;
}

void display_arp(Ctx& c) {
  if (!kernel_available(c)) return;
  std::string err;
  auto neigh = dump_neighbours(AF_INET, &err);
  auto macs = neigh ? dump_link_addresses(&err) : std::nullopt;
  std::vector<LinkInfo> links = macs ? dump_links(&err) : std::vector<LinkInfo>{};
  if (!neigh || !macs || !err.empty()) {
    c.err = "Error: " + err;
    return;
  }
  struct Row {
    common::IpAddr ip;
    std::string mac, type, iface;
  };
  std::vector<Row> rows;
  size_t dynamic = 0, stat = 0, iface = 0;
  for (const auto& l : links) {  // the firewall's own addresses on links with a MAC
    auto m = macs->find(l.ifindex);
    // Loopback (an all-zero MAC) has no ARP entries on VRP either.
    if (m == macs->end() || m->second.size() != 6 ||
        std::all_of(m->second.begin(), m->second.end(), [](uint8_t b) { return b == 0; }))
      continue;
    for (const auto& a : l.addrs) {
      if (!a.is_v4()) continue;
      rows.push_back({a, mac_text(m->second), "I -", ifname(c, l.ifindex)});
      ++iface;
    }
  }
  for (const auto& n : *neigh) {
    if (n.lladdr.size() != 6 || (n.state & (NUD_INCOMPLETE | NUD_FAILED | NUD_NOARP))) continue;
    bool perm = n.state & NUD_PERMANENT;
    rows.push_back({n.addr, mac_text(n.lladdr), perm ? "S-0" : "D-0", ifname(c, n.ifindex)});
    ++(perm ? stat : dynamic);
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.ip.v4_host() < b.ip.v4_host(); });
  char line[256];
  c.out << "IP ADDRESS      MAC ADDRESS     EXPIRE(M) TYPE        INTERFACE      VPN-INSTANCE\n"
        << "                                          VLAN/CEVLAN(SIP/DIP)\n"
        << std::string(78, '-') << "\n";
  for (const auto& r : rows) {
    std::snprintf(line, sizeof line, "%-16s%-16s%-10s%-12s%s", r.ip.str().c_str(), r.mac.c_str(),
                  "", r.type.c_str(), r.iface.c_str());
    c.out << line << "\n";
  }
  std::snprintf(line, sizeof line, "Total:%-10zuDynamic:%-8zuStatic:%-6zuInterface:%zu\n",
                rows.size(), dynamic, stat, iface);
  c.out << std::string(78, '-') << "\n" << line;
}

bool probes_available(Ctx& c) {
  if (c.dp) return true;
  c.err = "Error: ping and tracert are available only in the running fwd.";
  return false;
}

void probe_ping(Ctx& c) {
  if (!probes_available(c)) return;
  PingOptions o;
  o.dst = *c.m.ip("host");
  if (auto a = c.m.ip("source-ip-address")) o.src = *a;
  o.count = c.m.u32("count").value_or(5);
  c.slow = [o](std::ostream& os) { return ping(o, os); };
}

void probe_tracert(Ctx& c) {
  if (!probes_available(c)) return;
  TraceOptions o;
  o.dst = *c.m.ip("host");
  o.max_ttl = c.m.u32("max-ttl").value_or(30);
  o.timeout_ms = c.m.u32("timeout").value_or(1000);
  c.slow = [o](std::ostream& os) { return tracert(o, os); };
}

}  // namespace

void register_route(HandlerTable& t) {
  t.add({
      {"route.static", route_static},
      {"route.static.if", route_static},
      {"undo.route.static", undo_route_static},
      {"undo.route.static.if", undo_route_static},
      {"display.routing", display_routing},
      {"display.arp", display_arp},
      {"probe.ping", probe_ping},
      {"probe.tracert", probe_tracert},
  });
}

}  // namespace fw::fwd::ctl
