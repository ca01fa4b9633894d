#include "fwd/iface_apply.h"

#include <errno.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "common/log.h"
#include "fwd/netlink_route.h"

namespace fw::fwd {
namespace {

bool has_address(const config::InterfaceSettings& s, const config::InterfaceAddress& a) {
  return std::any_of(s.addresses.begin(), s.addresses.end(),
                     [&](const auto& x) { return x.addr == a.addr && x.len == a.len; });
}

}  // namespace

std::string InterfaceApplier::sync(const config::Config& c) {
  std::set<std::string> names;
  for (const auto& [n, _] : applied_) names.insert(n);
  for (const auto& s : c.interfaces) names.insert(s.name);
  std::string first;
  for (const auto& n : names) {
    static const config::InterfaceSettings kNone;
    auto it = applied_.find(n);
    const auto* want = c.find_interface(n);
    std::string e = sync_one(n, it == applied_.end() ? kNone : it->second, want ? *want : kNone);
    if (!e.empty()) {
      FW_LOG(kWarn, e);
      if (first.empty()) first = e;
      continue;  // tried again at the next change
    }
    if (want && !want->empty())
      applied_[n] = *want;
    else
      applied_.erase(n);
  }
  return first;
}

std::string InterfaceApplier::sync_one(const std::string& name,
                                       const config::InterfaceSettings& old,
                                       const config::InterfaceSettings& want) {
  uint32_t idx = ifindex_of(name);
  if (idx == 0) return "interface " + name + " does not exist: its settings wait for it";
  auto fail = [&](const std::string& what, int e) {
    return "interface " + name + ": " + what + ": " + std::strerror(e);
  };
  for (const auto& a : old.addresses) {
    if (has_address(want, a)) continue;
    int e = change_address(idx, a.addr, a.len, false);
    if (e != 0 && e != EADDRNOTAVAIL) return fail("removing " + a.addr.str(), e);
  }
  for (const auto& a : want.addresses) {
    int e = change_address(idx, a.addr, a.len, true);
    if (e != 0 && e != EEXIST) return fail("adding " + a.addr.str(), e);
  }
  if (want.shutdown || old.shutdown) {
    if (int e = set_link_up(idx, !want.shutdown)) return fail("shutdown", e);
  }
  if (!want.description.empty() || !old.description.empty()) {
    if (int e = set_link_alias(idx, want.description)) return fail("description", e);
  }
  return "";
}

}  // namespace fw::fwd
