#include "session/half_open.h"

namespace fw::session {

void HalfOpenLimiter::unlink(Shard& sh, Dest& d, uint64_t id, const Node& n) {
  if (n.prev) sh.nodes[n.prev].next = n.next;
  if (n.next) sh.nodes[n.next].prev = n.prev;
  if (d.head == id) d.head = n.next;
  if (d.tail == id) d.tail = n.prev;
  --d.count;
}

HalfOpenLimiter::Added HalfOpenLimiter::add(uint64_t id, const common::IpAddr& dst,
                                            uint32_t limit) {
  Added out;
  if (limit == 0 || id == 0) return out;
  Shard& sh = shard_of(dst);
  {
    std::lock_guard<std::mutex> lk(sh.mu);
    auto [nit, fresh] = sh.nodes.try_emplace(id);
    if (!fresh) return out;  // already tracked
    Node& n = nit->second;   // (a map node stays where it is while others come and go)
    Dest& d = sh.dests[dst];
    while (d.count >= limit && d.head) {  // the oldest go first
      const uint64_t old = d.head;
      auto it = sh.nodes.find(old);
      unlink(sh, d, old, it->second);
      sh.nodes.erase(it);
      out.evict.push_back(old);
    }
    n.prev = d.tail;
    n.next = 0;
    if (d.tail) sh.nodes[d.tail].next = id;
    d.tail = id;
    if (!d.head) d.head = id;
    ++d.count;
  }
  size_.fetch_add(1, std::memory_order_relaxed);
  if (!out.evict.empty()) evicted(dst, out.evict.size(), out);
  return out;
}

void HalfOpenLimiter::evicted(const common::IpAddr& dst, size_t n, Added& out) {
  const uint64_t now = clock_.now_ms();
  size_.fetch_sub(n, std::memory_order_relaxed);
  const uint64_t before = evicted_.fetch_add(n, std::memory_order_relaxed);
  last_evict_ms_.store(now, std::memory_order_relaxed);
  if (!active_.exchange(true)) {  // the first eviction after a quiet time: an attack starts
    started_ms_.store(now);
    ended_ms_.store(0);
    at_start_.store(before);
    attacks_.fetch_add(1, std::memory_order_relaxed);
    out.attack_starts = true;
  }
  if (out.attack_starts || (before & 63) == 0) {  // the target, now and then (cheap)
    std::lock_guard<std::mutex> lk(target_mu_);
    last_target_ = dst;
  }
}

void HalfOpenLimiter::remove(uint64_t id, const common::IpAddr& dst) {
  Shard& sh = shard_of(dst);
  std::lock_guard<std::mutex> lk(sh.mu);
  auto it = sh.nodes.find(id);
  if (it == sh.nodes.end()) return;
  auto dit = sh.dests.find(dst);
  if (dit == sh.dests.end()) return;  // (cannot happen: a node's destination has a list)
  unlink(sh, dit->second, id, it->second);
  sh.nodes.erase(it);
  if (dit->second.count == 0) sh.dests.erase(dit);
  size_.fetch_sub(1, std::memory_order_relaxed);
}

size_t HalfOpenLimiter::count(const common::IpAddr& dst) const {
  const Shard& sh = shard_of(dst);
  std::lock_guard<std::mutex> lk(sh.mu);
  auto it = sh.dests.find(dst);
  return it == sh.dests.end() ? 0 : it->second.count;
}

size_t HalfOpenLimiter::size() const { return size_.load(std::memory_order_relaxed); }

std::vector<uint64_t> HalfOpenLimiter::ids(const common::IpAddr& dst) const {
  std::vector<uint64_t> out;
  const Shard& sh = shard_of(dst);
  std::lock_guard<std::mutex> lk(sh.mu);
  auto it = sh.dests.find(dst);
  if (it == sh.dests.end()) return out;
  for (uint64_t id = it->second.head; id; id = sh.nodes.at(id).next) out.push_back(id);
  return out;
}

HalfOpenLimiter::Stats HalfOpenLimiter::stats() const {
  Stats s;
  s.evicted = evicted_.load();
  s.attacks = attacks_.load();
  s.active = active_.load();
  s.started_ms = started_ms_.load();
  s.ended_ms = ended_ms_.load();
  s.evicted_this_attack = s.attacks ? s.evicted - at_start_.load() : 0;
  std::lock_guard<std::mutex> lk(target_mu_);
  s.last_target = last_target_;
  return s;
}

namespace {
// A map that a flood grew and that has emptied since gives its bucket array back (the nodes went
// with their entries); a rehash in proportion to what is left, only after a big shrink.
template <class Map>
void shrink_if_emptied(Map& m) {
  if (m.bucket_count() > 1024 && m.size() * 8 < m.bucket_count()) m.rehash(0);
}
}  // namespace

void HalfOpenLimiter::shrink() {
  for (auto& sh : shards_) {
    std::lock_guard<std::mutex> lk(sh.mu);
    shrink_if_emptied(sh.nodes);
    shrink_if_emptied(sh.dests);
  }
}

std::optional<HalfOpenLimiter::Stats> HalfOpenLimiter::tick() {
  const uint64_t now = clock_.now_ms();
  if (now >= next_shrink_ms_.load()) {
    next_shrink_ms_.store(now + 1000);
    shrink();
  }
  if (!active_.load() || now < last_evict_ms_.load() + kQuietMs) return std::nullopt;
  ended_ms_.store(last_evict_ms_.load());
  active_.store(false);
  return stats();
}

size_t HalfOpenLimiter::buckets() const {
  size_t n = 0;
  for (const auto& sh : shards_) {
    std::lock_guard<std::mutex> lk(sh.mu);
    n += sh.nodes.bucket_count() + sh.dests.bucket_count();
  }
  return n;
}

}  // namespace fw::session
