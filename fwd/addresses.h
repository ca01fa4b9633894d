#pragma once
// NAT pool and NAT server global addresses are not configured on an
// interface, but the upstream router must get ARP answers for them. The
// daemon adds each one as a /32 on the interface the kernel routes it to, and
// removes exactly those at exit. (Proxy ARP entries do not help here: the
// kernel only proxies for addresses routed out of *another* interface.)
#include <functional>
#include <map>
#include <set>
#include <string>

#include "common/ip_addr.h"

namespace fw::fwd {

class AddressInstaller {
 public:
  // oif_of: the interface name the kernel routes an address to ("" = none);
  // is_local: whether the address is already the firewall's own.
  AddressInstaller(std::function<std::string(const common::IpAddr&)> oif_of,
                   std::function<bool(const common::IpAddr&)> is_local);
  ~AddressInstaller();
  // Make the installed set equal to `want` (addresses already local are skipped).
  // Returns "" or an error text (the first failure; the rest is still attempted).
  std::string sync(const std::set<common::IpAddr>& want);
  void remove_all();
  std::map<common::IpAddr, std::string> installed() const { return installed_; }

 private:
  std::function<std::string(const common::IpAddr&)> oif_of_;
  std::function<bool(const common::IpAddr&)> is_local_;
  std::map<common::IpAddr, std::string> installed_;  // address -> interface
};

}  // namespace fw::fwd
