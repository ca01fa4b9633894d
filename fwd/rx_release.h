#pragma once
// Gives a queue's receive buffer back to the kernel when it is not needed (issue 16 item 6:
// memory comes back after a flood). Each queue receives into `slots` slots of 72 KiB (4.6 MB
// at the default batch of 64), touched only as batches fill them: a burst touches them all and,
// without this, they stayed resident for good (3.5-4.6 MB of fwd's RSS after a flood drained).
// The queue's thread tells it what each batch used and when a receive timed out (no packet for
// the receive timeout): an idle queue gives back every slot used since, and a busy one, once a
// second, the slots above the largest batch of that second. A slot given back reads as zeros
// when the kernel next writes a packet into it. Not thread-safe (the queue's thread only), and
// only between batches: nothing may point into the slots given back.
#include <sys/mman.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace fw::fwd {

class RxRelease {
 public:
  static constexpr uint64_t kWindowMs = 1000;

  RxRelease(uint8_t* buf, size_t slot_size, uint32_t slots)
      : buf_(buf), slot_(slot_size), slots_(slots) {}

  // A batch of `n` messages landed in slots [0, n) and has been handled.
  void used(uint32_t n, uint64_t now_ms) {
    n = std::min(n, slots_);
    dirty_ = std::max(dirty_, n);
    window_max_ = std::max(window_max_, n);
    if (now_ms < window_end_ms_) return;
    if (window_max_ < dirty_) {
      give_back(window_max_, dirty_);
      dirty_ = window_max_;
    }
    window_max_ = 0;
    window_end_ms_ = now_ms + kWindowMs;
  }
  // The receive timed out: every slot used since the last time goes back.
  void idle() {
    give_back(0, dirty_);
    dirty_ = 0;
  }
  uint32_t dirty_slots() const { return dirty_; }

 private:
  // The whole pages inside slots [from, to).
  void give_back(uint32_t from, uint32_t to) {
    if (from >= to) return;
    const size_t page = 4096;
    const auto a = reinterpret_cast<uintptr_t>(buf_ + size_t{from} * slot_);
    const auto b = reinterpret_cast<uintptr_t>(buf_ + size_t{to} * slot_);
    const uintptr_t lo = (a + page - 1) / page * page, hi = b / page * page;
    if (hi > lo) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
  }

  uint8_t* buf_;
  size_t slot_;
  uint32_t slots_;
  uint32_t dirty_ = 0;       // slots [0, dirty_) may hold resident pages
  uint32_t window_max_ = 0;  // the largest batch of the current window
  uint64_t window_end_ms_ = 0;
};

}  // namespace fw::fwd
