#pragma once
// Route and link lookups in the kernel over rtnetlink (libmnl).
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/ip_addr.h"

namespace fw::fwd {

struct RouteResult {
  enum class Type { kUnicast, kLocal, kBroadcast, kUnreachable, kOther } type = Type::kUnreachable;
  uint32_t oif = 0;        // egress ifindex (unicast), or the interface holding the address (local)
  common::IpAddr gateway;  // next hop; empty = directly connected
  common::IpAddr prefsrc;  // preferred source address, if the kernel gave one
};

// RTM_GETROUTE for one destination (like `ip route get DST [from SRC iif IF]`).
// Thread-safe: each call uses its own request sequence; a mutex guards the socket.
// One socket for its whole life: a lookup opens no descriptor (when the process
// is at its descriptor limit, lookups still work).
class RouteResolver {
 public:
  static std::unique_ptr<RouteResolver> open(std::string* err);
  ~RouteResolver();
  std::optional<RouteResult> lookup(const common::IpAddr& dst, const common::IpAddr& src = {},
                                    uint32_t iif = 0);

 private:
  RouteResolver();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct LinkInfo {
  uint32_t ifindex = 0;
  std::string name;
  bool up = false;
  std::vector<common::IpAddr> addrs;  // configured addresses (v4 and v6)
  std::vector<uint8_t> prefix_lens;   // parallel to addrs
};

// RTM_GETLINK + RTM_GETADDR dump: all interfaces with their addresses.
std::vector<LinkInfo> dump_links(std::string* err);
// Name of an ifindex ("" if unknown), via if_indextoname: a socket, an ioctl
// and a close per call. Not for the packet path (use LinkTable there).
std::string ifname_of(uint32_t ifindex);
uint32_t ifindex_of(const std::string& name);

// One RTM_NEWLINK / RTM_DELLINK about a link (not a bridge port).
struct LinkMessage {
  bool removed = false;
  uint32_t ifindex = 0;
  std::string name;    // "" when a removal does not carry it
  uint32_t flags = 0;  // IFF_*
};
// Pure: one netlink message of `len` bytes; nullopt for other types, bridge
// (AF_BRIDGE) port events, a new link without a name, and malformed input.
std::optional<LinkMessage> parse_link_message(const void* msg, size_t len);

struct LinkEvent {
  enum class Kind { kAdded, kRemoved, kRenamed };
  Kind kind = Kind::kAdded;
  uint32_t ifindex = 0;
  std::string name;      // the current name; for kRemoved the last one
  std::string old_name;  // kRenamed: the name before
};

// ifindex <-> name of every link, kept current from one RTM_GETLINK dump and
// the RTMGRP_LINK notifications, which a thread of its own reads. Lookups take
// a shared lock and make no system call. If the notification socket overflows
// (ENOBUFS), the table is dumped again and the differences are reported as
// events.
class LinkTable {
 public:
  // Called on the table's thread, with no lock held (it may call lookups), for
  // every change after open(); it must not destroy the table.
  using Callback = std::function<void(const LinkEvent&)>;
  static std::unique_ptr<LinkTable> open(Callback on_change, std::string* err);
  ~LinkTable();  // stops and joins the thread
  LinkTable(const LinkTable&) = delete;
  LinkTable& operator=(const LinkTable&) = delete;

  std::string name_of(uint32_t ifindex) const;       // "" if unknown
  uint32_t index_of(const std::string& name) const;  // 0 if unknown
  bool exists(const std::string& name) const { return index_of(name) != 0; }
  bool is_loopback(uint32_t ifindex) const;
  std::vector<std::pair<uint32_t, std::string>> links() const;  // by ifindex
  uint64_t resyncs() const;                                     // full dumps after an overflow

 private:
  LinkTable();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- Links: details and changes ("iface" area: the interface view and its displays) ----

// One link as `display interface` shows it (RTM_GETLINK + RTM_GETADDR dump).
struct LinkDetail {
  uint32_t ifindex = 0;
  std::string name;
  uint32_t flags = 0;     // IFF_* (IFF_UP: administratively up; IFF_LOWER_UP: carrier)
  uint8_t operstate = 0;  // IF_OPER_*
  uint32_t mtu = 0;
  std::string mac;    // "aa:bb:cc:dd:ee:ff", "" if none
  std::string alias;  // IFLA_IFALIAS
  uint64_t rx_packets = 0, tx_packets = 0, rx_bytes = 0, tx_bytes = 0;
  uint64_t rx_errors = 0, tx_errors = 0, rx_dropped = 0, tx_dropped = 0;
  std::vector<common::IpAddr> addrs;  // configured addresses (v4 and v6)
  std::vector<uint8_t> prefix_lens;   // parallel to addrs
};
std::vector<LinkDetail> dump_link_details(std::string* err);

// Changes through rtnetlink; each returns 0 or a positive errno (the kernel's answer).
int set_link_up(uint32_t ifindex, bool up);                      // `ip link set DEV up|down`
int set_link_alias(uint32_t ifindex, const std::string& alias);  // "" removes it
// `ip addr add|del A/LEN dev DEV` (IPv4, with the broadcast address of the subnet).
int change_address(uint32_t ifindex, const common::IpAddr& a, uint8_t len, bool add);

}  // namespace fw::fwd

// ---- Area route: routes and neighbours (static routes, `display ip routing-table`, `display
// arp`). One short-lived rtnetlink socket per call: these run on commands, not on the packet path.
namespace fw::fwd {

// The rtm_protocol of the static routes fwd installs (`ip route` shows "proto 200"): routes
// with it in the main table are fwd's and only those are ever changed or removed.
constexpr uint8_t kFwdRouteProtocol = 200;

struct KernelRoute {
  common::IpAddr dst;  // the prefix (its family is the route's)
  uint8_t dst_len = 0;
  common::IpAddr gateway;  // empty: directly connected
  common::IpAddr prefsrc;
  uint32_t oif = 0;
  uint32_t priority = 0;  // the metric
  uint32_t table = 0;
  uint8_t protocol = 0;
  uint8_t scope = 0;
  uint8_t type = 0;  // RTN_*
};

// RTM_GETROUTE dump of one family (AF_INET, AF_INET6), every table; nullopt and *err on failure.
std::optional<std::vector<KernelRoute>> dump_routes(uint8_t family, std::string* err);
// RTM_NEWROUTE (create, append beside routes to the same prefix) / RTM_DELROUTE of a unicast
// route in the main table with protocol kFwdRouteProtocol. 0 or the kernel's errno.
int add_route(const KernelRoute& r);
int delete_route(const KernelRoute& r);

struct Neighbour {
  common::IpAddr addr;
  uint32_t ifindex = 0;
  std::vector<uint8_t> lladdr;  // empty when the entry has none (incomplete, failed)
  uint16_t state = 0;           // NUD_*
};
// RTM_GETNEIGH dump of one family.
std::optional<std::vector<Neighbour>> dump_neighbours(uint8_t family, std::string* err);
// ifindex -> link-layer address (IFLA_ADDRESS) of every link that has one.
std::optional<std::map<uint32_t, std::vector<uint8_t>>> dump_link_addresses(std::string* err);

}  // namespace fw::fwd
