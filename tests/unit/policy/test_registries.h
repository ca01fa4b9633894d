#pragma once
// The registries a data plane owns (zone ids, counters), one per test binary, for tests and
// benchmarks that compile policies without a whole data plane.
#include "common/counters.h"
#include "common/interner.h"
#include "policy/policy.h"

namespace fw::policy::testing {

inline common::Interner& zone_ids() {
  static common::Interner z(kMaxZoneIds);
  return z;
}
inline common::CounterTable& counters() {
  static common::CounterTable t;
  return t;
}

}  // namespace fw::policy::testing
