#include "common/clock.h"

#include <ctime>

namespace fw::common {

uint64_t SteadyClock::now_ms() const {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000u + static_cast<uint64_t>(ts.tv_nsec) / 1'000'000u;
}

uint64_t wall_seconds() { return static_cast<uint64_t>(time(nullptr)); }

}  // namespace fw::common
