#include "session/flood_limit.h"

#include <algorithm>

namespace fw::session {

std::string_view flood_kind_name(FloodKind k) {
  switch (k) {
    case FloodKind::kSyn:
      return "syn-flood";
    case FloodKind::kUdp:
      return "udp-flood";
    case FloodKind::kIcmp:
      return "icmp-flood";
    case FloodKind::kCount:
      break;
  }
  return "?";
}

FloodLimiter::FloodLimiter(const common::Clock& clock)
    : clock_(clock),
      buckets_(
          std::make_unique<common::TokenBucket[]>(kSlots * static_cast<size_t>(FloodKind::kCount))),
      refused_(std::make_unique<Refused[]>(kSlots * static_cast<size_t>(FloodKind::kCount))) {}

FloodVerdict FloodLimiter::admit(FloodKind k, const common::IpAddr& dst, uint32_t max_rate) {
  const uint64_t now = clock_.now_ms();
  const size_t slot = dst.hash() % kSlots;
  const size_t i = static_cast<size_t>(k) * kSlots + slot;
  {
    std::lock_guard<std::mutex> lk(stripes_[slot % kStripes]);
    if (buckets_[i].take(max_rate, max_rate, now)) return FloodVerdict::kOk;
    refused_[i] = Refused{dst, now, max_rate};
  }
  Kind& kd = kinds_[static_cast<size_t>(k)];
  const uint64_t n = kd.refused.fetch_add(1, std::memory_order_relaxed);
  kd.last_refused_ms.store(now, std::memory_order_relaxed);
  FloodVerdict v = FloodVerdict::kRefused;
  if (!kd.active.exchange(true)) {  // the first refusal after a quiet time: an attack starts
    kd.started_ms.store(now);
    kd.ended_ms.store(0);
    kd.at_start.store(n);
    kd.attacks.fetch_add(1, std::memory_order_relaxed);
    v = FloodVerdict::kAttackStarts;
  }
  if ((n & 63) == 0) {  // the target, now and then (cheap)
    std::lock_guard<std::mutex> lk(kd.target_mu);
    kd.last_target = dst;
  }
  return v;
}

FloodVerdict FloodLimiter::peek(FloodKind k, const common::IpAddr& dst, uint32_t max_rate) const {
  const size_t slot = dst.hash() % kSlots;
  std::lock_guard<std::mutex> lk(stripes_[slot % kStripes]);
  common::TokenBucket copy = buckets_[static_cast<size_t>(k) * kSlots + slot];
  return copy.take(max_rate, max_rate, clock_.now_ms()) ? FloodVerdict::kOk
                                                        : FloodVerdict::kRefused;
}

FloodLimiter::Stats FloodLimiter::stats(FloodKind k) const {
  const Kind& kd = kinds_[static_cast<size_t>(k)];
  Stats s;
  s.refused = kd.refused.load();
  s.attacks = kd.attacks.load();
  s.active = kd.active.load();
  s.started_ms = kd.started_ms.load();
  s.ended_ms = kd.ended_ms.load();
  s.last_refused_ms = kd.last_refused_ms.load();
  s.refused_this_attack = s.attacks ? s.refused - kd.at_start.load() : 0;
  std::lock_guard<std::mutex> lk(kd.target_mu);
  s.last_target = kd.last_target;
  return s;
}

std::vector<FloodLimiter::Ended> FloodLimiter::tick() {
  std::vector<Ended> out;
  const uint64_t now = clock_.now_ms();
  for (size_t i = 0; i < kinds_.size(); ++i) {
    Kind& kd = kinds_[i];
    if (!kd.active.load() || now < kd.last_refused_ms.load() + kQuietMs) continue;
    kd.ended_ms.store(kd.last_refused_ms.load());
    kd.active.store(false);
    out.push_back({static_cast<FloodKind>(i), stats(static_cast<FloodKind>(i))});
  }
  return out;
}

std::vector<FloodLimiter::Hot> FloodLimiter::hot(uint64_t within_ms, size_t max) const {
  const uint64_t now = clock_.now_ms();
  std::vector<Hot> out;
  for (size_t stripe = 0; stripe < kStripes; ++stripe) {
    std::lock_guard<std::mutex> lk(stripes_[stripe]);
    for (size_t k = 0; k < static_cast<size_t>(FloodKind::kCount); ++k) {
      for (size_t slot = stripe; slot < kSlots; slot += kStripes) {
        const Refused& r = refused_[k * kSlots + slot];
        if (r.ms == 0 || r.ms + within_ms < now) continue;
        out.push_back(Hot{static_cast<FloodKind>(k), r.dst, r.max_rate, r.ms});
      }
    }
  }
  std::sort(out.begin(), out.end(),
            [](const Hot& a, const Hot& b) { return a.last_refused_ms > b.last_refused_ms; });
  if (out.size() > max) out.resize(max);
  return out;
}

}  // namespace fw::session
