#pragma once
// Time comes from an injectable clock so aging tests never sleep.
#include <atomic>
#include <cstdint>

namespace fw::common {

// Milliseconds on a monotonic time line (not wall time).
class Clock {
 public:
  virtual ~Clock() = default;
  virtual uint64_t now_ms() const = 0;
};

// CLOCK_MONOTONIC, coarse: cheap enough to read per packet.
class SteadyClock final : public Clock {
 public:
  uint64_t now_ms() const override;
};

// A clock tests move by hand.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(uint64_t start_ms = 1'000'000) : now_(start_ms) {}
  uint64_t now_ms() const override { return now_.load(std::memory_order_relaxed); }
  void set_ms(uint64_t t) { now_.store(t, std::memory_order_relaxed); }
  void advance_ms(uint64_t d) { now_.fetch_add(d, std::memory_order_relaxed); }
  void advance_s(uint64_t s) { advance_ms(s * 1000); }

 private:
  std::atomic<uint64_t> now_;
};

// Wall-clock seconds since the epoch (for log lines and display only).
uint64_t wall_seconds();

}  // namespace fw::common
