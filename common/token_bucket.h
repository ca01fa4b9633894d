#pragma once
// A token bucket: `rate` tokens a second, at most `burst` saved up, starting full. Not locked:
// the owner serialises calls (a mutex of its own, a shard's lock). Time comes from the caller
// (a common::Clock), so tests use a ManualClock.
#include <algorithm>
#include <cstdint>

namespace fw::common {

class TokenBucket {
 public:
  // True if a token was there (and takes it). A rate or burst changed between calls (the limit
  // was reconfigured) applies from this call on; what is saved is cut to the new burst.
  bool take(uint32_t rate, uint32_t burst, uint64_t now_ms) {
    const uint64_t cap = uint64_t{burst} * 1000;
    if (!started_) {
      milli_ = cap;
      started_ = true;
    } else if (now_ms > last_ms_) {
      milli_ += (now_ms - last_ms_) * rate;
    }
    milli_ = std::min(milli_, cap);
    last_ms_ = std::max(last_ms_, now_ms);
    if (milli_ < 1000) return false;
    milli_ -= 1000;
    return true;
  }

 private:
  uint64_t milli_ = 0;  // thousandths of a token
  uint64_t last_ms_ = 0;
  bool started_ = false;
};

}  // namespace fw::common
