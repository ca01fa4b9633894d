#pragma once
// Plain configuration structs built by the command handlers and read by
// policy/ (and later nat/, aspf/) to build runtime snapshots. No behaviour
// beyond validation and rendering back to VRP commands.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_addr.h"

namespace fw::config {

using common::IpAddr;
using common::Prefix;

// "guard" area: unicast reverse path forwarding check of a zone (`urpf strict|loose`).
enum class Urpf : uint8_t { kOff, kLoose, kStrict };
// "srclimit" area: `firewall source-ip-limit max-session N | session-rate N` (system view) and
// `source-ip-limit ...` (zone view: sources arriving in that zone). 0 = not set.
struct SourceIpLimit {
  uint32_t max_session = 0;
  uint32_t session_rate = 0;
  bool operator==(const SourceIpLimit&) const = default;
};

// Issue 16 (flood defence): `anti-ddos syn-flood|udp-flood|icmp-flood max-rate N` (system view;
// zone view: floods arriving in that zone, wins kind by kind): new sessions per second one
// destination address may receive. 0 = not set.
struct AntiDdos {
  uint32_t syn_max_rate = 0;
  uint32_t udp_max_rate = 0;
  uint32_t icmp_max_rate = 0;
  // "synproxy" area: `anti-ddos syn-flood tcp-proxy [alert-rate N]`: the SYN proxy answers SYNs
  // to a destination receiving more than N per second (0: always). A zone's setting wins.
  bool tcp_proxy = false;
  uint32_t proxy_alert_rate = 0;
  // "halfopen" area: `anti-ddos syn-flood half-open-limit N`: half-open TCP sessions one
  // destination address may have (the oldest go first above it; 0: no limit). Unset: globally
  // session::HalfOpenLimiter::kDefaultLimit, in a zone the global value.
  std::optional<uint32_t> half_open_limit = std::nullopt;
  bool operator==(const AntiDdos&) const = default;
};

struct Zone {
  std::string name;
  int priority = 0;                     // 1..100; 0 = not set (custom zone before `set priority`)
  std::vector<std::string> interfaces;  // Linux interface names, in order added
  bool builtin = false;                 // local, trust, dmz, untrust
  Urpf urpf = Urpf::kOff;               // "guard" area: source check of packets arriving in it
  SourceIpLimit source_limit;           // "srclimit": wins over the global value, field by field
  AntiDdos anti_ddos;                   // flood defence: wins over the global value, kind by kind
};

// One service item: protocol plus port ranges (TCP/UDP) or ICMP type.
struct ServiceItem {
  uint32_t index = 0;  // the item's id inside a service-set (`service 0 protocol ...`)
  uint8_t proto = 0;   // 6, 17, 1, 58; 0 = any IP protocol; other numbers = that protocol
  uint16_t sport_lo = 0, sport_hi = 65535;
  uint16_t dport_lo = 0, dport_hi = 65535;
  int icmp_type = -1;  // -1 = any
  bool operator==(const ServiceItem& o) const = default;
};

struct ServiceSet {
  std::string name;
  std::vector<ServiceItem> items;
  bool predefined = false;
};

enum class Action : uint8_t { kPermit, kDeny };

// An address range `range A B` (both of one family, lo <= hi; validate() checks).
struct IpRange {
  IpAddr lo, hi;
  bool contains(const IpAddr& a) const;
  bool operator==(const IpRange& o) const { return lo == o.lo && hi == o.hi; }
};

// `ip address-set NAME type object`: numbered items, each a prefix or a range.
struct AddressSet {
  std::string name;
  std::string description;
  struct Item {
    uint32_t id = 0;
    std::optional<Prefix> prefix;  // `address ID A mask M`; unset: `address ID range A B`
    IpRange range;
    bool operator==(const Item& o) const {
      return id == o.id && prefix == o.prefix && range == o.range;
    }
  };
  std::vector<Item> items;  // by id
};

// The address conditions of a rule's source or destination: prefixes, ranges and address-set
// names, any of which may match; all empty = any address.
struct AddressCond {
  std::vector<Prefix> prefixes;
  std::vector<IpRange> ranges;
  std::vector<std::string> sets;
  bool empty() const { return prefixes.empty() && ranges.empty() && sets.empty(); }
};

struct SecurityRule {
  std::string name;
  uint32_t id = 0;  // display id, given at creation (1, 2, ...); not rendered
  std::string description;
  bool enabled = true;
  std::vector<std::string> src_zones, dst_zones;  // empty = any
  std::vector<Prefix> src_addrs, dst_addrs;       // empty = any
  std::vector<IpRange> src_ranges, dst_ranges;    // `source-address range A B`
  std::vector<std::string> src_sets, dst_sets;    // `source-address address-set NAME`
  std::vector<std::string> services;              // named services
  std::vector<ServiceItem> service_items;         // inline `service protocol ...`
  // "appid" area: `application NAME...` (names of appid/; empty = any application).
  std::vector<std::string> applications;
  // Named and inline services all empty = any service.
  std::optional<Action> action;  // unset: the rule matches nothing (shown as `-`)
  bool session_logging = false;  // "evlog" area: `session logging` (its sessions are logged)
};

struct SecurityPolicy {
  std::vector<SecurityRule> rules;  // first match, top-down
  Action default_action = Action::kDeny;
};

// `firewall session aging-time NAME SECONDS`: only changed entries are stored.
struct AgingTimes {
  std::map<std::string, uint32_t> overrides;
};
// Names and Huawei defaults, in display order.
const std::vector<std::pair<std::string, uint32_t>>& aging_defaults();
uint32_t aging_value(const AgingTimes& a, const std::string& name);
// The aging class of a name: its index in aging_defaults() (stable for the process).
std::optional<uint8_t> aging_class(std::string_view name);

struct Interzone {
  std::string zone1, zone2;
  std::vector<std::string> detect;  // ASPF protocols enabled for this pair
};

// NAT (USG6000 style).
struct AddressGroup {
  std::string name;
  enum class Mode : uint8_t { kPat, kNoPat } mode = Mode::kPat;
  struct Section {
    uint32_t id = 0;
    IpAddr start, end;
    bool operator==(const Section& o) const {
      return id == o.id && start == o.start && end == o.end;
    }
  };
  std::vector<Section> sections;
  // Every address of every section, in order (IPv4 only; capped by validation).
  std::vector<IpAddr> addresses() const;
};

struct NatRule {
  std::string name;
  uint32_t id = 0;
  bool enabled = true;
  std::vector<std::string> src_zones, dst_zones;
  std::vector<Prefix> src_addrs, dst_addrs;
  std::vector<IpRange> src_ranges, dst_ranges;  // `source-address range A B`
  std::vector<std::string> src_sets, dst_sets;  // `source-address address-set NAME`
  std::vector<std::string> egress_interfaces;
  enum class Action : uint8_t { kNone, kEasyIp, kAddressGroup, kNoNat } action = Action::kNone;
  std::string group;  // kAddressGroup
};

struct NatServer {
  std::string name;
  uint8_t proto = 0;  // 6, 17, or 0 = any protocol (address-only form)
  IpAddr global, inside;
  uint16_t global_port = 0;  // 0 = all ports (address-only)
  uint16_t inside_port = 0;
  bool no_reverse = false;
};

// `ip route-static PREFIX MASK { NEXTHOP | IFNAME [NEXTHOP] } [preference N]` (area: route).
// A route is identified by prefix, interface and next hop; the preference is its attribute.
struct StaticRoute {
  Prefix prefix;       // IPv4, host bits cleared
  std::string ifname;  // "" = resolved by the next hop; as typed (the interface lookup's name)
  IpAddr nexthop;      // empty = directly on `ifname`
  uint32_t preference = 60;  // VRP's default for static routes; the kernel route metric
  bool same_route(const StaticRoute& o) const {
    return prefix == o.prefix && ifname == o.ifname && nexthop == o.nexthop;
  }
  bool operator==(const StaticRoute& o) const = default;
};
constexpr size_t kMaxStaticRoutes = 4096;
// Interfaces ("iface" area): VRP names for Linux interfaces and what `interface X` sets on them.
// `map-interface GigabitEthernet1/0/1 in0`: a VRP name (letters, then numbers separated by '/',
// at least one '/') for a Linux interface; a name with a '/' is never a Linux name.
struct InterfaceMapEntry {
  std::string vrp;         // as configured, e.g. GigabitEthernet1/0/1
  std::string linux_name;  // e.g. in0
  bool operator==(const InterfaceMapEntry& o) const = default;
};
struct InterfaceAddress {
  IpAddr addr;  // IPv4
  uint8_t len = 0;
  bool sub = false;  // `ip address A M sub`; the primary has sub = false
  bool operator==(const InterfaceAddress& o) const = default;
};
// What `interface X` configured on Linux interface `name` (an interface without settings has no
// entry; settings are applied to the kernel through netlink by fwd).
struct InterfaceSettings {
  std::string name;  // Linux name
  std::string description;
  bool shutdown = false;
  std::vector<InterfaceAddress> addresses;  // the primary first, then the subs
  enum class Manage : uint8_t { kDefault, kPermit, kDeny } ping = Manage::kDefault;
  bool empty() const {
    return description.empty() && !shutdown && addresses.empty() && ping == Manage::kDefault;
  }
};
// `firewall detect` in the factory configuration (ftp, as on a USG); `undo firewall detect ftp`
// is rendered when one is turned off.
const std::vector<std::string>& factory_detect();

// "evlog" area: the event log's sinks.
struct InfoCenter {
  static constexpr uint32_t kDefaultLogbuffer = 1024;
  uint32_t logbuffer_size = kDefaultLogbuffer;  // `info-center logbuffer size N`
  // `info-center loghost unix-socket PATH [rfc5424]`: syslog datagrams go there instead of
  // /dev/log ("" = /dev/log), in RFC 5424 instead of RFC 3164.
  std::string loghost_socket;
  bool rfc5424 = false;
};

struct Config {
  std::string sysname = "FW";
  // "iface" area: the interface map and per-interface settings (config/interface.cpp).
  std::vector<InterfaceMapEntry> interface_map;
  std::vector<InterfaceSettings> interfaces;
  // The Linux name of `typed`: a VRP name of the map (case-insensitive; its letters may be
  // abbreviated while unique, as `g1/0/1`) gives its Linux name, anything else is returned as is.
  std::string linux_ifname(const std::string& typed) const;
  // The name shown for Linux interface `linux_name`: its VRP name if mapped, else itself.
  std::string shown_ifname(const std::string& linux_name) const;
  const InterfaceMapEntry* find_map_by_linux(const std::string& linux_name) const;
  InterfaceSettings* find_interface(const std::string& linux_name);
  const InterfaceSettings* find_interface(const std::string& linux_name) const;
  std::vector<AddressGroup> address_groups;
  std::vector<NatRule> nat_rules;
  std::vector<NatServer> nat_servers;
  std::vector<Zone> zones;
  std::vector<ServiceSet> service_sets;  // user-defined only; predefined are built in
  std::vector<AddressSet> address_sets;  // `ip address-set NAME type object`
  SecurityPolicy security;
  AgingTimes aging;
  std::vector<Interzone> interzones;
  std::vector<std::string> detect_global;  // `firewall detect ALG`
  struct PortMapping {
    std::string alg;
    uint16_t port = 0;
  };
  std::vector<PortMapping>
      port_mappings;  // `port-mapping ALG port N`: extra server ports for an ALG
  std::vector<StaticRoute> static_routes;  // area route: in the order configured
  // "srclimit" area: the global per-source limits and `firewall source-ip-limit server-map N`
  // (ASPF server-map entries one source address may hold; 0 = no cap).
  SourceIpLimit source_limit;
  uint32_t source_servermap_limit = 0;
  AntiDdos anti_ddos;  // flood defence: the global per-destination new-session rates
  // "synproxy" area: `firewall reverse-session miss-ack rate-limit N`: SYN-ACKs matching no
  // session per second looked at further (the rest dropped, counted). 0 = not set.
  uint32_t miss_ack_rate = 0;
  // "appid" area: `firewall application identify packets N`: how many packets of a session
  // (both directions, the handshake included) identification looks at; 0 = the default.
  uint32_t appid_packets = 0;
  InfoCenter info_center;  // "evlog" area
  Interzone* find_interzone(const std::string& a, const std::string& b);

  // The defaults: the four built-in zones with their priorities, `firewall detect ftp`.
  static Config defaults();

  Zone* find_zone(const std::string& name);
  const Zone* find_zone(const std::string& name) const;
  // The zone an interface belongs to, or nullptr.
  const Zone* zone_of_interface(const std::string& ifname) const;
  SecurityRule* find_rule(const std::string& name);
  AddressGroup* find_group(const std::string& name);
  const AddressGroup* find_group(const std::string& name) const;
  NatRule* find_nat_rule(const std::string& name);
  ServiceSet* find_service_set(const std::string& name);
  const ServiceSet* find_service_set(const std::string& name) const;
  AddressSet* find_address_set(const std::string& name);
  const AddressSet* find_address_set(const std::string& name) const;
};

// A rule's source or destination addresses as one condition (the lists are copied).
template <typename Rule>
AddressCond address_cond(const Rule& r, bool src) {
  return src ? AddressCond{r.src_addrs, r.src_ranges, r.src_sets}
             : AddressCond{r.dst_addrs, r.dst_ranges, r.dst_sets};
}
// The first security or NAT rule that names address set `name` ("security policy rule R" /
// "NAT policy rule R"), or nullopt.
std::optional<std::string> address_set_user(const Config& c, const std::string& name);

// Predefined services (http, https, ssh, telnet, dns, ftp, tftp, pptp, sip,
// rtsp, l2tp, ike, ipsec-nat-t, icmp, icmpv6, smtp, pop3, ntp, snmp, ...).
const std::vector<ServiceSet>& predefined_services();
// A predefined or user-defined service by name, or nullptr.
const ServiceSet* lookup_service(const Config& c, const std::string& name);

// Consistency checks a handler runs before committing a change. Returns the
// VRP-style error text ("Error: ...") or nullopt.
std::optional<std::string> validate(const Config& c);

// The configuration as VRP commands (`display current-configuration`): loading
// this text into Config::defaults() yields the same Config.
std::string render(const Config& c);
// The lines of one view's section (for `display this`).
std::string render_zone(const Zone& z);
// "srclimit" area: the global `firewall source-ip-limit` lines ("" when none is set).
std::string render_source_limit(const Config& c);
std::string render_anti_ddos(const AntiDdos& a, const std::string& indent);
std::string render_info_center(const InfoCenter& i);  // "evlog" area ("" when all default)
std::string render_rule(const SecurityRule& r, const std::string& indent);
std::string render_service_set(const ServiceSet& s);
std::string render_address_set(const AddressSet& s);
// `security-policy` rules and `nat-policy` rules share one rule id counter: render() writes
// `rule name R id N` where loading the text would not give R its id N by itself (ids are given
// in order of creation; see README.md), so every rule keeps its id across save and restart.
std::string render_rule(const SecurityRule& r, const std::string& indent, bool with_id);
std::string render_nat_rule(const NatRule& r, const std::string& indent, bool with_id);
std::string render_group(const AddressGroup& g);
std::string render_nat_rule(const NatRule& r, const std::string& indent);
std::string render_nat_server(const NatServer& s);
std::string render_static_route(const StaticRoute& r);  // area route: one line, no indent
// "iface" area (config/interface.cpp).
bool is_vrp_ifname(std::string_view name);  // letters then numbers with '/', e.g. Eth1/0/1
std::optional<std::string> validate_interfaces(const Config& c);
std::string render_interface_map(const Config& c);  // the `map-interface` lines, "" if none
std::string render_interface(const Config& c, const InterfaceSettings& s);  // one section

}  // namespace fw::config
