#pragma once
// Per-interface kernel settings source NAT needs. We translate in PREROUTING,
// before the kernel's routing decision, so a translated packet may carry one of
// the firewall's own addresses as its source (easy-ip, pool addresses added for
// ARP). The kernel drops such packets as martians unless accept_local is set,
// and strict reverse-path filtering would drop them too. The daemon sets
// accept_local=1 and rp_filter=0 on zone interfaces and restores the previous
// values at exit.
#include <map>
#include <set>
#include <string>

namespace fw::fwd {

class InterfaceSysctls {
 public:
  ~InterfaceSysctls();
  // Returns "" or the first error (missing interfaces are skipped: they may appear later).
  std::string sync(const std::set<std::string>& interfaces);
  void restore_all();

 private:
  struct Saved {
    std::string accept_local, rp_filter;
  };
  std::map<std::string, Saved> saved_;
};

}  // namespace fw::fwd
