#pragma once
// The lab's two interfaces as a RouteSource, for pipeline tests: ifindex 2 = in0 (198.18.1.0/24),
// 3 = out0 (every other address).
#include <string>

#include "fwd/table_routes.h"

namespace fw::fwd::testing {

inline TableRoutes lab_routes() {
  TableRoutes r;
  std::string err;
  r.add_route("198.18.1.0/24=in0", &err);
  r.add_route("0.0.0.0/0=out0", &err);
  return r;
}

}  // namespace fw::fwd::testing
