#pragma once
// Per-interface kernel settings source NAT needs. We translate in PREROUTING,
// before the kernel's routing decision, so a translated packet may carry one of
// the firewall's own addresses as its source (easy-ip, pool addresses added for
// ARP). The kernel drops such packets as martians unless accept_local is set,
// and strict reverse-path filtering would drop them too. The daemon sets
// accept_local=1 and rp_filter=0 on zone interfaces and restores the previous
// values at exit. The values it replaced are also written to a record file (when it has
// one: the database's path + ".sysctl"), so that the fwd that starts after a crash restores
// the administrator's values, not the 1 and 0 the crashed one left behind.
#include <map>
#include <set>
#include <string>

namespace fw::fwd {

class InterfaceSysctls {
 public:
  // `record`: where the replaced values are kept while set ("" = nowhere). A record left by
  // an fwd that did not restore them is read here and its values taken as the originals.
  explicit InterfaceSysctls(std::string record = "");
  ~InterfaceSysctls();
  // Returns "" or the first error (missing interfaces are skipped: they may appear later).
  std::string sync(const std::set<std::string>& interfaces);
  void restore_all();

 private:
  struct Saved {
    std::string accept_local, rp_filter;
  };
  void write_record() const;
  static void put_back(const std::string& ifname, const Saved& s);

  std::string record_;
  std::map<std::string, Saved> saved_;
  std::map<std::string, Saved> inherited_;  // from a record a crashed fwd left
};

}  // namespace fw::fwd
