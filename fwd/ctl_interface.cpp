// Interfaces: the interface map (`map-interface VRPNAME LINUXNAME`), the interface view
// (`ip address`, `shutdown`, `description`, `service-manage ping`), `display interface [brief]`
// and `display ip interface brief`. The configuration keeps Linux names; a VRP name is resolved
// through the map when typed and shown instead of the Linux name where the map has one.
#include <linux/if.h>

#include <cstdio>
#include <iomanip>

#include "fwd/ctl_context.h"

namespace fw::fwd::ctl {

std::string interface_param(Ctx& c, std::string_view param) {
  const std::string typed = c.p(param);
  const std::string linux_name = c.cfg.linux_ifname(typed);
  bool unmapped = config::is_vrp_ifname(linux_name) || linux_name.find('/') != std::string::npos;
  if (unmapped || (c.hooks.interface_exists && !c.hooks.interface_exists(linux_name))) {
    c.param_error(param, "Error: The interface " + typed + " does not exist.");
    return "";
  }
  return linux_name;
}

void this_interface(Ctx& c) {
  const std::string n = c.cfg.linux_ifname(c.arg());
  config::InterfaceSettings none;
  none.name = n;
  const auto* s = c.cfg.find_interface(n);
  c.out << "#\n" << config::render_interface(c.cfg, s ? *s : none) << "#\nreturn\n";
}

namespace {

using cli::ViewKind;
using Manage = config::InterfaceSettings::Manage;

void ifmap_add(Ctx& c) {
  const std::string vrp = c.p("vrp-name"), lnx = c.p("linux-name");
  if (!config::is_vrp_ifname(vrp)) {
    c.param_error("vrp-name",
                  "Error: A VRP interface name is a type and numbers, such as "
                  "GigabitEthernet1/0/1.");
    return;
  }
  if (lnx.find('/') != std::string::npos) {
    c.param_error("linux-name", "Error: The interface " + lnx + " is not a Linux interface name.");
    return;
  }
  for (const auto& e : c.cfg.interface_map) {
    if (e.vrp == vrp && e.linux_name == lnx) return;
    if (e.linux_name == lnx) {
      c.err = "Error: The interface " + lnx + " is already named " + e.vrp + ".";
      return;
    }
    if (c.cfg.linux_ifname(vrp) == e.linux_name && config::is_vrp_ifname(vrp)) {
      c.err = "Error: The name " + e.vrp + " is already given to " + e.linux_name + ".";
      return;
    }
  }
  c.cfg.interface_map.push_back({vrp, lnx});
  c.changed = true;
}

void undo_ifmap(Ctx& c) {
  const std::string vrp = c.p("vrp-name");
  const std::string lnx = c.cfg.linux_ifname(vrp);
  auto n = std::erase_if(c.cfg.interface_map,
                         [&](const config::InterfaceMapEntry& e) { return e.linux_name == lnx; });
  if (n == 0 || lnx == vrp) {
    c.err = "Error: The interface name " + vrp + " is not mapped.";
    return;
  }
  c.changed = true;
}

void iface_enter(Ctx& c) {
  std::string n = interface_param(c, "interface");
  if (n.empty()) return;
  c.views.push_back({ViewKind::kInterface, {c.cfg.shown_ifname(n)}});
}

// The Linux name of the view's interface; "" (with c.err) when its VRP name was unmapped since.
std::string view_ifname(Ctx& c) {
  std::string n = c.cfg.linux_ifname(c.arg());
  if (n.find('/') != std::string::npos) {
    c.err = "Error: The interface " + n + " does not exist.";
    return "";
  }
  return n;
}

// The settings of the view's interface, created when missing (dropped again by tidy()).
config::InterfaceSettings& settings(Ctx& c) {
  const std::string n = c.cfg.linux_ifname(c.arg());
  if (auto* s = c.cfg.find_interface(n)) return *s;
  c.cfg.interfaces.push_back({});
  c.cfg.interfaces.back().name = n;
  return c.cfg.interfaces.back();
}

void tidy(Ctx& c) {
  std::erase_if(c.cfg.interfaces, [](const config::InterfaceSettings& s) { return s.empty(); });
  c.changed = true;
}

std::optional<config::InterfaceAddress> typed_address(Ctx& c) {
  auto p = c.m.prefix("ip-address", "mask", "mask-length");  // its address is the network's
  auto ip = c.m.ip("ip-address");
  if (!p || !ip || !ip->is_v4() || p->len < 1) {
    c.err = "Error: The mask is invalid.";
    return std::nullopt;
  }
  uint32_t a = ip->v4_host(), host = p->len >= 32 ? 0 : ~(~uint32_t{0} << (32 - p->len));
  bool special = (a >> 24) == 0 || (a >> 24) == 127 || (a >> 28) >= 14;
  if (special || (p->len < 31 && ((a & host) == 0 || (a & host) == host))) {
    c.param_error("ip-address", "Error: The specified IP address is invalid.");
    return std::nullopt;
  }
  return config::InterfaceAddress{*ip, static_cast<uint8_t>(p->len), c.m.has("sub")};
}

void iface_address(Ctx& c) {
  const std::string me = view_ifname(c);
  if (me.empty()) return;
  auto a = typed_address(c);
  if (!a) return;
  for (const auto& s : c.cfg.interfaces) {
    for (const auto& x : s.addresses) {
      if (x.addr == a->addr && s.name != me) {
        c.err =
            "Error: The address already exists on interface " + c.cfg.shown_ifname(s.name) + ".";
        return;
      }
    }
  }
  const auto* old = c.cfg.find_interface(me);
  if (a->sub && (!old || old->addresses.empty() || old->addresses.front().addr == a->addr)) {
    c.err = "Error: Configure the primary address first.";
    return;
  }
  auto& v = settings(c).addresses;
  std::erase_if(v, [&](const config::InterfaceAddress& x) { return x.addr == a->addr; });
  if (a->sub) {
    v.push_back(*a);
  } else {
    // VRP: a new primary address replaces the old one.
    std::erase_if(v, [](const config::InterfaceAddress& x) { return !x.sub; });
    v.insert(v.begin(), *a);
  }
  tidy(c);
}

void undo_iface_address(Ctx& c) {
  const std::string me = view_ifname(c);
  if (me.empty()) return;
  auto* s = c.cfg.find_interface(me);
  if (!c.m.param("ip-address")) {
    if (s) s->addresses.clear();
    return tidy(c);
  }
  auto a = typed_address(c);
  if (!a) return;
  std::vector<config::InterfaceAddress> none;
  auto& v = s ? s->addresses : none;
  auto it = std::find_if(v.begin(), v.end(), [&](const auto& x) {
    return x.addr == a->addr && x.len == a->len && x.sub == a->sub;
  });
  if (it == v.end()) {
    c.err = "Error: The address does not exist.";
    return;
  }
  if (!a->sub && v.size() > 1) {
    c.err = "Error: Delete the sub addresses first.";
    return;
  }
  v.erase(it);
  tidy(c);
}

void iface_shutdown(Ctx& c) {
  if (view_ifname(c).empty()) return;
  settings(c).shutdown = !c.m.has("undo");
  tidy(c);
}

void iface_description(Ctx& c) {
  if (view_ifname(c).empty()) return;
  settings(c).description = c.m.has("undo") ? "" : c.p("text");
  tidy(c);
}

void iface_manage(Ctx& c) {
  if (view_ifname(c).empty()) return;
  settings(c).ping = c.m.has("undo")   ? Manage::kDefault
                     : c.m.has("deny") ? Manage::kDeny
                                       : Manage::kPermit;
  tidy(c);
}

// ---- displays ----

const char* kLegend =
    "PHY: Physical\n"
    "*down: administratively down\n"
    "^down: standby\n"
    "(l): loopback\n"
    "(s): spoofing\n";

std::string phy_state(const LinkDetail& l) {
  if (!(l.flags & IFF_UP)) return "*down";
  return (l.flags & IFF_LOWER_UP) ? "up" : "down";
}

bool has_v4(const LinkDetail& l) {
  for (const auto& a : l.addrs)
    if (a.is_v4()) return true;
  return false;
}

// Layer 3 port: the protocol is up when the port is up and has an IPv4 address.
std::string protocol_state(const LinkDetail& l) {
  return phy_state(l) == "up" && has_v4(l) ? "up" : "down";
}

std::vector<LinkDetail> links_of(Ctx& c) {
  std::vector<LinkDetail> out;
  if (!c.hooks.link_details) return out;
  for (auto& l : c.hooks.link_details())
    if (!(l.flags & IFF_LOOPBACK)) out.push_back(std::move(l));
  return out;
}

// "GigabitEthernet1/0/1(in0)" for a mapped interface, else the Linux name.
std::string both_names(const config::Config& cfg, const std::string& linux_name) {
  std::string v = cfg.shown_ifname(linux_name);
  return v == linux_name ? v : v + "(" + linux_name + ")";
}

void display_interface_brief(Ctx& c, const std::string& want) {
  c.out << kLegend << "InUti/OutUti: input utility/output utility\n";
  char b[160];
  std::snprintf(b, sizeof b, "%-30s%-6s%-10s%-6s%-7s%10s %10s\n", "Interface", "PHY", "Protocol",
                "InUti", "OutUti", "inErrors", "outErrors");
  c.out << b;
  for (const auto& l : links_of(c)) {
    if (!want.empty() && l.name != want) continue;
    std::snprintf(
        b, sizeof b, "%-30s%-6s%-10s%-6s%-7s%10llu %10llu\n", both_names(c.cfg, l.name).c_str(),
        phy_state(l).c_str(), protocol_state(l).c_str(), "--", "--",
        static_cast<unsigned long long>(l.rx_errors), static_cast<unsigned long long>(l.tx_errors));
    c.out << b;
  }
}

std::string mac_huawei(const std::string& mac) {  // aa:bb:cc:dd:ee:ff -> aabb-ccdd-eeff
  std::string hex;
  for (char ch : mac)
    if (ch != ':') hex += ch;
  if (hex.size() != 12) return mac.empty() ? "--" : mac;
  return hex.substr(0, 4) + "-" + hex.substr(4, 4) + "-" + hex.substr(8, 4);
}

void display_one(Ctx& c, const LinkDetail& l) {
  const char* state = !(l.flags & IFF_UP)        ? "Administratively DOWN"
                      : (l.flags & IFF_LOWER_UP) ? "UP"
                                                 : "DOWN";
  c.out << c.cfg.shown_ifname(l.name) << " current state : " << state << " (ifindex: " << l.ifindex
        << ")\n";
  c.out << "Line protocol current state : " << (protocol_state(l) == "up" ? "UP" : "DOWN") << "\n";
  c.out << "Description: " << l.alias << "\n";
  c.out << "Linux interface: " << l.name << "\n";
  c.out << "Route Port,The Maximum Transmit Unit is " << l.mtu << "\n";
  bool any = false;
  for (size_t i = 0; i < l.addrs.size(); ++i) {
    if (!l.addrs[i].is_v4()) continue;
    c.out << "Internet Address is " << l.addrs[i].str() << "/" << int(l.prefix_lens[i])
          << (any ? " Sub\n" : "\n");
    any = true;
  }
  if (!any) c.out << "Internet protocol processing : disabled\n";
  c.out << "IP Sending Frames' Format is PKTFMT_ETHNT_2, Hardware address is " << mac_huawei(l.mac)
        << "\n";
  c.out << "    Input:  " << l.rx_packets << " packets, " << l.rx_bytes << " bytes, " << l.rx_errors
        << " errors, " << l.rx_dropped << " drops\n";
  c.out << "    Output: " << l.tx_packets << " packets, " << l.tx_bytes << " bytes, " << l.tx_errors
        << " errors, " << l.tx_dropped << " drops\n";
  c.out << "    Input bandwidth utilization  : --\n    Output bandwidth utilization : --\n";
}

void display_interface(Ctx& c) {
  std::string want;
  if (c.m.param("interface")) {
    want = interface_param(c, "interface");
    if (want.empty()) return;
  }
  if (c.m.has("brief")) return display_interface_brief(c, want);
  bool first = true;
  for (const auto& l : links_of(c)) {
    if (!want.empty() && l.name != want) continue;
    if (!first) c.out << "\n";
    first = false;
    display_one(c, l);
  }
  if (!want.empty() && first) c.err = "Error: The interface " + c.p("interface") + " is gone.";
}

void display_ip_interface(Ctx& c) {
  auto links = links_of(c);
  int phy_up = 0, proto_up = 0;
  for (const auto& l : links) {
    phy_up += phy_state(l) == "up";
    proto_up += protocol_state(l) == "up";
  }
  int n = static_cast<int>(links.size());
  c.out << "*down: administratively down\n^down: standby\n(l): loopback\n(s): spoofing\n";
  c.out << "The number of interface that is UP in Physical is " << phy_up << "\n"
        << "The number of interface that is DOWN in Physical is " << n - phy_up << "\n"
        << "The number of interface that is UP in Protocol is " << proto_up << "\n"
        << "The number of interface that is DOWN in Protocol is " << n - proto_up << "\n\n";
  char b[200];
  std::snprintf(b, sizeof b, "%-34s%-21s%-11s%-10s%s\n", "Interface", "IP Address/Mask", "Physical",
                "Protocol", "VPN");
  c.out << b;
  for (const auto& l : links) {
    std::string addr = "unassigned";
    for (size_t i = 0; i < l.addrs.size(); ++i) {
      if (!l.addrs[i].is_v4()) continue;
      addr = l.addrs[i].str() + "/" + std::to_string(l.prefix_lens[i]);
      break;
    }
    std::snprintf(b, sizeof b, "%-34s%-21s%-11s%-10s%s\n", both_names(c.cfg, l.name).c_str(),
                  addr.c_str(), phy_state(l).c_str(), protocol_state(l).c_str(), "--");
    c.out << b;
  }
}

}  // namespace

void register_interface(HandlerTable& t) {
  t.add({
      {"ifmap.add", ifmap_add},
      {"undo.ifmap", undo_ifmap},
      {"iface.enter", iface_enter},
      {"iface.address", iface_address},
      {"undo.iface.address", undo_iface_address},
      {"iface.shutdown", iface_shutdown},
      {"undo.iface.shutdown", iface_shutdown},
      {"iface.description", iface_description},
      {"undo.iface.description", iface_description},
      {"iface.manage", iface_manage},
      {"undo.iface.manage", iface_manage},
      {"display.interface", display_interface},
      {"display.ip.interface", display_ip_interface},
  });
}

}  // namespace fw::fwd::ctl
