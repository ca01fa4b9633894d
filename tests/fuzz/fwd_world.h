#pragma once
// The data plane the packet-path fuzz targets share: one for a whole fuzzing run (building one
// per input costs far more than an input's steps; each target empties the session table per
// input), with the controller that configured it, a manual clock and the lab's routes
// (tests/unit/fwd/lab_routes.h: ifindex 2 = in0 = 198.18.1.0/24, 3 = out0 = every other IPv4
// address) plus the firewall's own addresses given. Logging is off; a configuration the
// controller refuses traps (the target would fuzz nothing).
#include <initializer_list>
#include <string>

#include "common/clock.h"
#include "common/log.h"
#include "fwd/controller.h"
#include "fwd/dataplane.h"
#include "fwd/table_routes.h"
#include "tests/unit/fwd/lab_routes.h"

namespace fw::fuzzing {

struct FwdWorld {
 private:
  bool quiet_ = (common::set_log_level(common::LogLevel::kOff), true);  // before anything logs

 public:
  // `locals`: "203.0.113.1=out0" (an address of the firewall; it is also the source a route
  // out of that interface prefers, e.g. easy-ip's).
  FwdWorld(const char* config, fwd::DataPlaneOptions options = {},
           std::initializer_list<const char*> locals = {})
      : routes(with_locals(locals)), dp(clock, routes, std::move(options)), ctl(hooks(&dp)) {
    std::string err;
    if (!ctl.load_text(config, "fuzz", &err)) __builtin_trap();
  }

  common::ManualClock clock;
  fwd::TableRoutes routes;
  fwd::DataPlane dp;
  fwd::Controller ctl;

 private:
  static fwd::TableRoutes with_locals(std::initializer_list<const char*> locals) {
    fwd::TableRoutes r = fwd::testing::lab_routes();
    std::string err;
    for (const char* l : locals)
      if (!r.add_local(l, &err)) __builtin_trap();
    return r;
  }
  static fwd::ControllerHooks hooks(fwd::DataPlane* dp) {
    fwd::ControllerHooks h;
    h.dataplane = dp;
    return h;
  }
};

}  // namespace fw::fuzzing
