#include "fwd/addresses.h"

#include "common/log.h"
#include "fwd/exec.h"

namespace fw::fwd {

AddressInstaller::AddressInstaller(std::function<std::string(const common::IpAddr&)> oif_of,
                                   std::function<bool(const common::IpAddr&)> is_local)
    : oif_of_(std::move(oif_of)), is_local_(std::move(is_local)) {}

AddressInstaller::~AddressInstaller() { remove_all(); }

std::string AddressInstaller::sync(const std::set<common::IpAddr>& want) {
  std::string first_err;
  for (auto it = installed_.begin(); it != installed_.end();) {
    if (want.count(it->first)) {
      ++it;
      continue;
    }
    std::string err;
    if (!run_program({"ip", "-4", "addr", "del", it->first.str() + "/32", "dev", it->second},
                     &err)) {
      FW_LOG(kWarn, err);
    }
    it = installed_.erase(it);
  }
  for (const auto& a : want) {
    if (!a.is_v4() || installed_.count(a) || is_local_(a)) continue;
    std::string dev = oif_of_(a);
    if (dev.empty()) {
      if (first_err.empty())
        first_err = "no interface routes to NAT address " + a.str() + " (no ARP answers for it)";
      continue;
    }
    std::string err;
    if (!run_program({"ip", "-4", "addr", "add", a.str() + "/32", "dev", dev}, &err)) {
      if (first_err.empty()) first_err = err;
      continue;
    }
    installed_[a] = dev;
  }
  return first_err;
}

void AddressInstaller::remove_all() {
  std::string err;
  for (const auto& [a, dev] : installed_) {
    if (!run_program({"ip", "-4", "addr", "del", a.str() + "/32", "dev", dev}, &err))
      FW_LOG(kWarn, err);
  }
  installed_.clear();
}

}  // namespace fw::fwd
