#pragma once
// `ip route-static` in the kernel: fwd's static routes are the main-table routes with protocol
// kFwdRouteProtocol. sync() makes them equal to the configuration (at start, after every change);
// routes of any other protocol are never touched. A route the kernel refuses (a next hop on no
// connected subnet, an interface that does not exist) stays configured and inactive, as on VRP,
// and is tried again at the next sync.
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"

namespace fw::fwd {

class StaticRouteInstaller {
 public:
  // ifindex_of: the interface an `ip route-static ... IFNAME` names (0 if none).
  explicit StaticRouteInstaller(std::function<uint32_t(const std::string&)> ifindex_of);
  // Returns "" or a warning naming the routes that became inactive with this sync (a route
  // that was already inactive is not reported again).
  std::string sync(const std::vector<config::StaticRoute>& want);
  // Removes every route of fwd's protocol (a clean stop).
  void remove_all();

 private:
  std::function<uint32_t(const std::string&)> ifindex_of_;
  std::set<std::string> inactive_;  // rendered routes that the kernel refused last time
};

}  // namespace fw::fwd
