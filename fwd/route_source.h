#pragma once
// What the packet path asks the kernel about: where a destination is routed
// and what an interface index is called. An interface so tests can inject a
// fake FIB and fake interfaces.
#include <cstdint>
#include <string>

#include "common/ip_addr.h"

namespace fw::fwd {

// Where a new flow goes: the egress interface (or local delivery) and next hop.
struct RouteInfo {
  bool ok = false;
  bool local = false;
  uint32_t oif = 0;
  common::IpAddr gateway;
  common::IpAddr prefsrc;  // the address the kernel would use as source (easy-ip)
};

class RouteSource {
 public:
  virtual ~RouteSource() = default;
  virtual RouteInfo route(const common::IpAddr& dst) = 0;
  virtual std::string ifname(uint32_t ifindex) = 0;  // "" if unknown
  // packet-trace: the index of a Linux interface name (0 if unknown).
  virtual uint32_t ifindex(const std::string& /*name*/) { return 0; }
};

}  // namespace fw::fwd
