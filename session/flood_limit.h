#pragma once
// Flood defence by destination (issue 16 items 2 and 9, `anti-ddos ... max-rate N`): how many
// new sessions per second one destination address may receive, per kind of flood (TCP SYN, UDP,
// ICMP), so that a random-source flood of new flows is refused cheaply, before the route, the
// policy and the session table are involved. The data plane owns one FloodLimiter; worker
// threads call admit() for a first packet. Memory is fixed (no per-address allocation, whatever
// the flood): destinations hash into kSlots token buckets per kind, so two destinations sharing
// a slot share a budget (with 4096 slots, rarely). Thread-safe: a slot is guarded by one of
// kStripes mutexes. An attack starts with its first refusal and ends after kQuietMs without
// one; tick() (the maintenance thread) reports the ends.
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/ip_addr.h"
#include "common/token_bucket.h"

namespace fw::session {

enum class FloodKind : uint8_t { kSyn, kUdp, kIcmp, kCount };
std::string_view flood_kind_name(FloodKind k);  // "syn-flood", "udp-flood", "icmp-flood"
// kAttackStarts: refused, and the first refusal of this kind after a quiet time.
enum class FloodVerdict : uint8_t { kOk, kRefused, kAttackStarts };

class FloodLimiter {
 public:
  static constexpr size_t kSlots = 4096;
  static constexpr size_t kStripes = 64;
  static constexpr uint64_t kQuietMs = 5000;

  explicit FloodLimiter(const common::Clock& clock);
  FloodLimiter(const FloodLimiter&) = delete;
  FloodLimiter& operator=(const FloodLimiter&) = delete;

  // One new session of kind `k` to `dst` under `max_rate` per second (burst: one second's).
  // Refusals are counted; the first one of a quiet kind starts an attack.
  FloodVerdict admit(FloodKind k, const common::IpAddr& dst, uint32_t max_rate);

  // What admit() would answer now, taking nothing and counting nothing (packet-trace): kOk or
  // kRefused.
  FloodVerdict peek(FloodKind k, const common::IpAddr& dst, uint32_t max_rate) const;

  struct Stats {
    uint64_t refused = 0;     // all time
    uint64_t attacks = 0;     // attacks started
    bool active = false;      // refusing now (a refusal in the last kQuietMs)
    uint64_t started_ms = 0;  // of the current or last attack (0: none yet)
    uint64_t ended_ms = 0;    // of the last finished attack (0: none or still active)
    uint64_t last_refused_ms = 0;
    uint64_t refused_this_attack = 0;
    common::IpAddr last_target;  // destination of the latest refusal
  };
  Stats stats(FloodKind k) const;

  // An attack that ended since the last call (no refusal for kQuietMs).
  struct Ended {
    FloodKind kind;
    Stats stats;
  };
  std::vector<Ended> tick();

  // Destinations refused in the last `within_ms` (at most `max`, the latest first), with the
  // limit that refused them: what the daemon drops in the kernel while an attack lasts, so the
  // flood's packets stop costing a copy to user space (issue 16 item 1). A scan of the slots
  // (12,288 in all), from the maintenance thread.
  struct Hot {
    FloodKind kind = FloodKind::kUdp;
    common::IpAddr dst;
    uint32_t max_rate = 0;
    uint64_t last_refused_ms = 0;
  };
  std::vector<Hot> hot(uint64_t within_ms, size_t max) const;

 private:
  struct Refused {  // the latest refusal of a slot (guarded by its stripe)
    common::IpAddr dst;
    uint64_t ms = 0;
    uint32_t max_rate = 0;
  };
  struct Kind {
    std::atomic<uint64_t> refused{0}, attacks{0}, last_refused_ms{0}, started_ms{0}, ended_ms{0};
    std::atomic<uint64_t> at_start{0};  // `refused` when the current attack started
    std::atomic<bool> active{false};
    mutable std::mutex target_mu;
    common::IpAddr last_target;
  };
  const common::Clock& clock_;
  mutable std::array<std::mutex, kStripes> stripes_;
  std::unique_ptr<common::TokenBucket[]> buckets_;  // kSlots per kind (~300 KB in all)
  std::unique_ptr<Refused[]> refused_;              // kSlots per kind, beside buckets_
  std::array<Kind, static_cast<size_t>(FloodKind::kCount)> kinds_;
};

}  // namespace fw::session
