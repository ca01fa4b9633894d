#include "fwd/static_routes.h"

#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "common/log.h"
#include "fwd/netlink_route.h"

namespace fw::fwd {
namespace {

bool ours(const KernelRoute& k) {
  return k.protocol == kFwdRouteProtocol && k.table == RT_TABLE_MAIN;
}

// A wanted route is in the kernel: same prefix, next hop and metric, and the interface when the
// configuration names one (without one the kernel picks it from the next hop).
bool same(const KernelRoute& want, const KernelRoute& k) {
  return want.dst == k.dst && want.dst_len == k.dst_len && want.gateway == k.gateway &&
         want.priority == k.priority && (want.oif == 0 || want.oif == k.oif);
}

}  // namespace

StaticRouteInstaller::StaticRouteInstaller(std::function<uint32_t(const std::string&)> ifindex_of)
    : ifindex_of_(std::move(ifindex_of)) {}

std::string StaticRouteInstaller::sync(const std::vector<config::StaticRoute>& want) {
  std::string err;
  auto dump = dump_routes(AF_INET, &err);
  if (!dump) return "static routes: " + err;
  std::vector<KernelRoute> have;
  for (const auto& k : *dump)
    if (ours(k)) have.push_back(k);
  // Wanted routes as kernel routes; one naming an interface that does not exist is inactive.
  std::vector<KernelRoute> wanted;
  std::set<std::string> inactive;
  std::string report;
  auto refused = [&](const config::StaticRoute& r, const std::string& why) {
    std::string line = config::render_static_route(r);
    inactive.insert(line);
    if (!inactive_.count(line) && report.empty())
      report = "The static route (" + line + ") is inactive: " + why + ".";
  };
  std::vector<const config::StaticRoute*> sources;
  for (const auto& r : want) {
    KernelRoute k;
    k.dst = r.prefix.addr;
    k.dst_len = r.prefix.len;
    k.gateway = r.nexthop;
    k.priority = r.preference;
    if (!r.ifname.empty()) {
      k.oif = ifindex_of_(r.ifname);
      if (k.oif == 0) {
        refused(r, "the interface " + r.ifname + " does not exist");
        continue;
      }
    }
    wanted.push_back(k);
    sources.push_back(&r);
  }
  for (const auto& k : have) {
    bool keep =
        std::any_of(wanted.begin(), wanted.end(), [&](const KernelRoute& w) { return same(w, k); });
    if (keep) continue;
    if (int e = delete_route(k); e != 0 && e != ESRCH)
      FW_LOG(kWarn, "cannot remove the static route to " << k.dst.str() << "/" << int(k.dst_len)
                                                         << ": " << std::strerror(e));
  }
  for (size_t i = 0; i < wanted.size(); ++i) {
    const KernelRoute& w = wanted[i];
    bool there =
        std::any_of(have.begin(), have.end(), [&](const KernelRoute& k) { return same(w, k); });
    if (there) continue;
    int e = add_route(w);
    if (e != 0 && e != EEXIST) refused(*sources[i], std::strerror(e));
  }
  inactive_ = std::move(inactive);
  return report;
}

void StaticRouteInstaller::remove_all() {
  std::string err;
  auto dump = dump_routes(AF_INET, &err);
  if (!dump) {
    FW_LOG(kWarn, "static routes not removed: " << err);
    return;
  }
  for (const auto& k : *dump) {
    if (!ours(k)) continue;
    if (int e = delete_route(k); e != 0 && e != ESRCH)
      FW_LOG(kWarn, "cannot remove the static route to " << k.dst.str() << "/" << int(k.dst_len)
                                                         << ": " << std::strerror(e));
  }
}

}  // namespace fw::fwd
