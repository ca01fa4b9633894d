#pragma once
// Route and link lookups in the kernel over rtnetlink (libmnl).
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
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
// Name of an ifindex ("" if unknown), via if_indextoname.
std::string ifname_of(uint32_t ifindex);
uint32_t ifindex_of(const std::string& name);

}  // namespace fw::fwd
