#pragma once
// Per-source limits ("srclimit" area, issue 16 item 3): how many sessions one source address may
// hold and how many it may open per second, so that one host cannot fill the session table.
// The data plane owns one SourceLimiter; worker threads call acquire() for a new session and
// the session table's end callback calls release(). Thread-safe (sharded by address, one mutex
// per shard), O(1) per call. Memory is bounded: a host holding sessions is kept (at most one
// entry per session of the table); a host holding none is idle and goes when its rate bucket is
// full again (it carries nothing any more) or, beyond max_idle_hosts, oldest first.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/ip_addr.h"
#include "common/token_bucket.h"

namespace fw::session {

// 0 = no limit.
struct SourceLimits {
  uint32_t max_sessions = 0;  // sessions one source may hold
  uint32_t max_rate = 0;      // new sessions per second one source may open (burst: one second's)
  bool any() const { return max_sessions != 0 || max_rate != 0; }
  bool operator==(const SourceLimits&) const = default;
};

enum class SourceVerdict : uint8_t { kOk, kSessionLimit, kRateLimit };

class SourceLimiter {
 public:
  explicit SourceLimiter(const common::Clock& clock, size_t max_idle_hosts = 65536);
  SourceLimiter(const SourceLimiter&) = delete;
  SourceLimiter& operator=(const SourceLimiter&) = delete;

  // One new session of `src` under `lim`: kOk counts it (the caller must release(src) when the
  // session ends, or at once if it is not created after all); otherwise nothing is counted but
  // the refusal.
  SourceVerdict acquire(const common::IpAddr& src, const SourceLimits& lim);
  void release(const common::IpAddr& src);
  // What acquire() would answer now, counting and changing nothing (packet-trace).
  SourceVerdict peek(const common::IpAddr& src, const SourceLimits& lim) const;
  // Counts a session that exists already (restored after a planned restart) whatever the limits:
  // release(src) when it ends.
  void hold(const common::IpAddr& src);

  struct Host {
    common::IpAddr addr;
    uint32_t sessions = 0;
    uint32_t last_second = 0;  // new sessions in the last whole second
    uint64_t refused = 0;      // refusals while the entry lived
  };
  // The `n` hosts holding the most sessions (then the most refusals), in that order.
  std::vector<Host> top(size_t n) const;
  size_t hosts() const;         // entries (busy + idle)
  size_t idle_evicted() const;  // idle entries dropped before their bucket was full (bound hit)
  // Drops idle entries that carry nothing (periodic; acquire/release also do it as they pass),
  // and gives back the bucket arrays of maps a flood grew and that have emptied.
  void expire();
  size_t buckets() const;  // bucket-array entries of all shards' maps (tests)

 private:
  static constexpr size_t kShards = 64;
  struct Entry {
    uint32_t sessions = 0;
    common::TokenBucket bucket;  // rate
    uint64_t sec = 0;            // the second (clock ms / 1000) this_sec counts
    uint32_t this_sec = 0, prev_sec = 0;
    uint64_t refused = 0;
    uint64_t idle_since = 0;
    std::list<common::IpAddr>::iterator idle_pos;  // valid while sessions == 0
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<common::IpAddr, Entry> hosts;
    std::list<common::IpAddr> idle;  // oldest idle first
  };
  Shard& shard_of(const common::IpAddr& a) { return shards_[a.hash() % kShards]; }
  const Shard& shard_of(const common::IpAddr& a) const { return shards_[a.hash() % kShards]; }
  void trim(Shard& s, uint64_t now);  // lock held
  static bool take_token(Entry& e, uint32_t rate, uint64_t now);

  const common::Clock& clock_;
  size_t max_idle_per_shard_;
  std::array<Shard, kShards> shards_;
  std::atomic<size_t> idle_evicted_{0};
};

}  // namespace fw::session
