#include "session/source_limit.h"

#include <algorithm>

namespace fw::session {

namespace {
// An idle host whose bucket has been refilling this long is full again: it carries nothing. (An
// idle host holds no session, so nothing took a token since it went idle: its bucket was full
// again one second later, and a refusal cannot have happened after that.)
constexpr uint64_t kIdleUseless = 2000;
}  // namespace

SourceLimiter::SourceLimiter(const common::Clock& clock, size_t max_idle_hosts)
    : clock_(clock), max_idle_per_shard_(std::max<size_t>(1, max_idle_hosts / kShards)) {}

// Token bucket: `rate` new sessions per second, at most one second's worth saved up.
bool SourceLimiter::take_token(Entry& e, uint32_t rate, uint64_t now) {
  return e.bucket.take(rate, rate, now);
}

void SourceLimiter::trim(Shard& s, uint64_t now) {
  while (!s.idle.empty()) {
    auto it = s.hosts.find(s.idle.front());
    const bool useless = now - it->second.idle_since >= kIdleUseless;
    if (!useless && s.idle.size() <= max_idle_per_shard_) break;
    if (!useless) idle_evicted_.fetch_add(1, std::memory_order_relaxed);
    s.hosts.erase(it);
    s.idle.pop_front();
  }
}

SourceVerdict SourceLimiter::peek(const common::IpAddr& src, const SourceLimits& lim) const {
  const Shard& s = shard_of(src);
  std::lock_guard<std::mutex> lk(s.mu);
  auto it = s.hosts.find(src);
  if (it == s.hosts.end()) return SourceVerdict::kOk;
  Entry e = it->second;  // a copy: the bucket is brought up to date on it only
  if (lim.max_sessions && e.sessions >= lim.max_sessions) return SourceVerdict::kSessionLimit;
  if (lim.max_rate && !take_token(e, lim.max_rate, clock_.now_ms())) {
    return SourceVerdict::kRateLimit;
  }
  return SourceVerdict::kOk;
}

SourceVerdict SourceLimiter::acquire(const common::IpAddr& src, const SourceLimits& lim) {
  const uint64_t now = clock_.now_ms();
  Shard& s = shard_of(src);
  std::lock_guard<std::mutex> lk(s.mu);
  auto [it, fresh] = s.hosts.try_emplace(src);
  Entry& e = it->second;
  if (fresh) {
    e.idle_since = now;
    e.idle_pos = s.idle.insert(s.idle.end(), src);
  }
  SourceVerdict v = SourceVerdict::kOk;
  if (lim.max_sessions && e.sessions >= lim.max_sessions) {
    v = SourceVerdict::kSessionLimit;
  } else if (lim.max_rate && !take_token(e, lim.max_rate, now)) {
    v = SourceVerdict::kRateLimit;
  }
  if (v != SourceVerdict::kOk) {
    ++e.refused;
  } else {
    const uint64_t sec = now / 1000;
    if (sec != e.sec) {
      e.prev_sec = sec == e.sec + 1 ? e.this_sec : 0;
      e.this_sec = 0;
      e.sec = sec;
    }
    ++e.this_sec;
    if (e.sessions++ == 0) s.idle.erase(e.idle_pos);
  }
  trim(s, now);
  return v;
}

void SourceLimiter::hold(const common::IpAddr& src) {
  const uint64_t now = clock_.now_ms();
  Shard& s = shard_of(src);
  std::lock_guard<std::mutex> lk(s.mu);
  auto [it, fresh] = s.hosts.try_emplace(src);
  Entry& e = it->second;
  if (e.sessions++ == 0 && !fresh) s.idle.erase(e.idle_pos);
  trim(s, now);
}

void SourceLimiter::release(const common::IpAddr& src) {
  const uint64_t now = clock_.now_ms();
  Shard& s = shard_of(src);
  std::lock_guard<std::mutex> lk(s.mu);
  auto it = s.hosts.find(src);
  if (it == s.hosts.end() || it->second.sessions == 0) return;
  Entry& e = it->second;
  if (--e.sessions == 0) {
    e.idle_since = now;
    e.idle_pos = s.idle.insert(s.idle.end(), src);
  }
  trim(s, now);
}

// A random-source flood grows each shard's map to thousands of hosts; once they have gone, the
// bucket array (8 bytes a bucket, never shrunk by erase) goes back too: a rehash in proportion to
// what is left, only after a big shrink (issue 16 item 6, as HalfOpenLimiter does).
void SourceLimiter::expire() {
  const uint64_t now = clock_.now_ms();
  for (auto& s : shards_) {
    std::lock_guard<std::mutex> lk(s.mu);
    trim(s, now);
    if (s.hosts.bucket_count() > 1024 && s.hosts.size() * 8 < s.hosts.bucket_count())
      s.hosts.rehash(0);
  }
}

size_t SourceLimiter::buckets() const {
  size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard<std::mutex> lk(s.mu);
    n += s.hosts.bucket_count();
  }
  return n;
}

std::vector<SourceLimiter::Host> SourceLimiter::top(size_t n) const {
  const uint64_t sec = clock_.now_ms() / 1000;
  std::vector<Host> all;
  for (const auto& s : shards_) {
    std::lock_guard<std::mutex> lk(s.mu);
    for (const auto& [addr, e] : s.hosts) {
      uint32_t last = e.sec == sec ? e.prev_sec : (e.sec + 1 == sec ? e.this_sec : 0);
      all.push_back({addr, e.sessions, last, e.refused});
    }
  }
  auto before = [](const Host& a, const Host& b) {
    if (a.sessions != b.sessions) return a.sessions > b.sessions;
    if (a.refused != b.refused) return a.refused > b.refused;
    return a.addr < b.addr;
  };
  const size_t k = std::min(n, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end(), before);
  all.resize(k);
  return all;
}

size_t SourceLimiter::hosts() const {
  size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard<std::mutex> lk(s.mu);
    n += s.hosts.size();
  }
  return n;
}

size_t SourceLimiter::idle_evicted() const { return idle_evicted_.load(std::memory_order_relaxed); }

}  // namespace fw::session
