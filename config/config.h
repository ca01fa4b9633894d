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

struct Zone {
  std::string name;
  int priority = 0;                     // 1..100; 0 = not set (custom zone before `set priority`)
  std::vector<std::string> interfaces;  // Linux interface names, in order added
  bool builtin = false;                 // local, trust, dmz, untrust
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

struct SecurityRule {
  std::string name;
  uint32_t id = 0;  // display id, given at creation (1, 2, ...); not rendered
  std::string description;
  bool enabled = true;
  std::vector<std::string> src_zones, dst_zones;  // empty = any
  std::vector<Prefix> src_addrs, dst_addrs;       // empty = any
  std::vector<std::string> services;              // empty = any
  std::optional<Action> action;                   // unset matches as deny
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

// `firewall detect` in the factory configuration (ftp, as on a USG); `undo firewall detect ftp`
// is rendered when one is turned off.
const std::vector<std::string>& factory_detect();

struct Config {
  std::string sysname = "FW";
  std::vector<AddressGroup> address_groups;
  std::vector<NatRule> nat_rules;
  std::vector<NatServer> nat_servers;
  std::vector<Zone> zones;
  std::vector<ServiceSet> service_sets;  // user-defined only; predefined are built in
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
};

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
std::string render_rule(const SecurityRule& r, const std::string& indent);
std::string render_service_set(const ServiceSet& s);
std::string render_group(const AddressGroup& g);
std::string render_nat_rule(const NatRule& r, const std::string& indent);
std::string render_nat_server(const NatServer& s);

}  // namespace fw::config
