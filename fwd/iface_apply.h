#pragma once
// Applies what `interface X` configured (addresses, shutdown, description) to the Linux
// interfaces through rtnetlink, after every configuration change and at start.
#include <map>
#include <string>

#include "config/config.h"

namespace fw::fwd {

// Idempotent: what the configuration says is (re)applied; what an earlier configuration set and
// this one no longer does is undone (an address removed, the interface brought up again, the
// description removed). Addresses and states it never set are left alone (the NAT /32s, the
// addresses the administrator set with `ip`). Not thread-safe: called under the controller's lock.
class InterfaceApplier {
 public:
  // Returns the first problem ("" if none); the rest is applied anyway.
  std::string sync(const config::Config& c);

 private:
  std::string sync_one(const std::string& name, const config::InterfaceSettings& old,
                       const config::InterfaceSettings& want);
  std::map<std::string, config::InterfaceSettings> applied_;  // by Linux name
};

}  // namespace fw::fwd
