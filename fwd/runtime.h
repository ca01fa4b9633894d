#pragma once
// An immutable snapshot of everything the packet path derives from the
// configuration. A configuration change builds a new one and swaps the
// pointer; old snapshots are retired after a grace period (workers hold a
// snapshot only while handling one packet).
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

#include "aspf/engine.h"
#include "config/config.h"
#include "fwd/route_source.h"
#include "nat/nat_policy.h"
#include "policy/policy.h"
#include "session/session.h"

namespace fw::fwd {

struct Runtime {
  explicit Runtime(const config::Config& c);

  config::Config cfg;
  policy::ZoneTable zones;
  policy::CompiledPolicy policy;
  nat::CompiledNatPolicy nat;
  aspf::DetectConfig detect;
  session::Timeouts timeouts;

  // ifindex -> zone, resolved lazily by name on first use (interfaces may be
  // created after the configuration names them).
  policy::ZoneId zone_of_ifindex(uint32_t ifindex, RouteSource& names) const;

 private:
  static constexpr uint8_t kUnresolved = 0xfe;
  static constexpr size_t kMaxIfindex = 4096;
  mutable std::array<std::atomic<uint8_t>, kMaxIfindex> if_zone_;
};

session::Timeouts timeouts_from(const config::AgingTimes& a);

}  // namespace fw::fwd
