#pragma once
// "halfopen" area (issue 16 item 2): half-open TCP sessions limited per destination address,
// the oldest dropped first (`anti-ddos syn-flood half-open-limit N`). A TCP session created by a
// SYN is half-open until its handshake completes (syn-sent, syn-recv); the data plane adds it
// here after inserting it and removes it when it leaves those states or the table. A new one
// above the limit of its destination makes add() name the OLDEST half-open sessions of that
// destination, which the data plane erases: a flooder arriving first cannot lock out a
// legitimate client that comes later.
//
// Cost in proportion to what changes: per destination a FIFO doubly linked through the session
// ids (a node per half-open session in a hash map, links by id), so add, remove and eviction are
// O(1) and nothing scans the session table. Memory: one node (~50 bytes) per half-open session,
// one list head per destination that has one; both go when the last half-open session does.
// Thread-safe: destinations hash into kShards shards, one mutex each; no call into anything else
// is made under it (the data plane may call remove() under a session's lock).
//
// An attack starts with the first eviction after a quiet time and ends kQuietMs after the last
// one; tick() (the maintenance thread) reports the ends.
#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/ip_addr.h"

namespace fw::session {

class HalfOpenLimiter {
 public:
  static constexpr size_t kShards = 64;
  static constexpr uint64_t kQuietMs = 5000;
  static constexpr uint32_t kDefaultLimit = 1024;

  explicit HalfOpenLimiter(const common::Clock& clock) : clock_(clock) {}
  HalfOpenLimiter(const HalfOpenLimiter&) = delete;
  HalfOpenLimiter& operator=(const HalfOpenLimiter&) = delete;

  struct Added {
    std::vector<uint64_t> evict;  // the oldest half-open sessions of dst, to erase (oldest first)
    bool attack_starts = false;   // the first eviction after a quiet time
  };
  // Session `id` (ids increase: a later session has a larger id) is a new half-open session to
  // `dst`, whose limit is `limit` (0: no limit, nothing is tracked). If dst already had `limit`
  // of them, the oldest ones are named for eviction so that it keeps `limit` with this one; they
  // are no longer tracked.
  Added add(uint64_t id, const common::IpAddr& dst, uint32_t limit);
  // Session `id` to `dst` is no longer half-open (handshake done, reset, removed). A session not
  // tracked (never added, already evicted or removed) is ignored.
  void remove(uint64_t id, const common::IpAddr& dst);

  size_t count(const common::IpAddr& dst) const;  // half-open sessions to dst
  size_t size() const;                            // half-open sessions tracked, all destinations
  // The ids of dst's half-open sessions, oldest first (tests, display).
  std::vector<uint64_t> ids(const common::IpAddr& dst) const;

  struct Stats {
    uint64_t evicted = 0;     // all time
    uint64_t attacks = 0;     // attacks started
    bool active = false;      // an eviction in the last kQuietMs
    uint64_t started_ms = 0;  // of the current or last attack (0: none yet)
    uint64_t ended_ms = 0;    // of the last finished attack (0: none or still active)
    uint64_t evicted_this_attack = 0;
    common::IpAddr last_target;  // destination of the latest eviction
  };
  Stats stats() const;
  // The attack that ended since the last call (no eviction for kQuietMs), if one did. Also, at
  // most once a second, gives back the bucket arrays of maps a flood grew and that have emptied.
  std::optional<Stats> tick();
  void shrink();           // that, now (tests)
  size_t buckets() const;  // bucket-array entries of all maps (tests)

 private:
  struct Node {                   // (its destination is the caller's to give: remove(id, dst))
    uint64_t prev = 0, next = 0;  // older, newer (0: none)
  };
  struct Dest {
    uint64_t head = 0, tail = 0;  // oldest, newest
    uint32_t count = 0;
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<uint64_t, Node> nodes;
    std::unordered_map<common::IpAddr, Dest> dests;
  };
  Shard& shard_of(const common::IpAddr& dst) { return shards_[dst.hash() % kShards]; }
  const Shard& shard_of(const common::IpAddr& dst) const { return shards_[dst.hash() % kShards]; }
  static void unlink(Shard& sh, Dest& d, uint64_t id, const Node& n);
  void evicted(const common::IpAddr& dst, size_t n, Added& out);

  const common::Clock& clock_;
  std::array<Shard, kShards> shards_;
  std::atomic<size_t> size_{0};
  std::atomic<uint64_t> evicted_{0}, attacks_{0}, last_evict_ms_{0}, started_ms_{0}, ended_ms_{0};
  std::atomic<uint64_t> at_start_{0};
  std::atomic<bool> active_{false};
  std::atomic<uint64_t> next_shrink_ms_{0};
  mutable std::mutex target_mu_;
  common::IpAddr last_target_;
};

}  // namespace fw::session
