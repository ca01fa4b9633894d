#pragma once
// A RouteSource from a written table instead of the kernel: for packet-trace tests and
// transcripts, and the offline replay (`--route PREFIX=IF[,NEXTHOP]`). Interfaces get the indexes
// 2, 3, ... in the order they are named; the longest prefix wins; the firewall's own addresses
// are delivered locally and are the source address the kernel would pick on their interface.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_addr.h"
#include "fwd/route_source.h"

namespace fw::fwd {

class TableRoutes final : public RouteSource {
 public:
  // The index of interface `name`, added if new.
  uint32_t add_interface(const std::string& name);
  // "198.18.1.0/24=in0" or "0.0.0.0/0=out0,203.0.113.254"; false with *err if malformed.
  bool add_route(std::string_view spec, std::string* err);
  // "203.0.113.1=out0": an address of the firewall on that interface.
  bool add_local(std::string_view spec, std::string* err);

  RouteInfo route(const common::IpAddr& dst) override;
  std::string ifname(uint32_t ifindex) override;
  uint32_t ifindex(const std::string& name) override;

 private:
  struct Route {
    common::Prefix prefix;
    uint32_t oif;
    common::IpAddr gateway;
  };
  struct Local {
    common::IpAddr addr;
    uint32_t oif;
  };
  std::vector<std::string> names_;  // ifindex i + 2
  std::vector<Route> routes_;
  std::vector<Local> locals_;
};

}  // namespace fw::fwd
