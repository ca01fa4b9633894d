#include "nat/port_alloc.h"

#include <algorithm>
#include <utility>

namespace fw::nat {

using common::IpAddr;

namespace {

bool test_bit(const std::vector<uint64_t>& bits, uint32_t port) {
  return (bits[port >> 6] >> (port & 63)) & 1u;
}

// First clear bit in [from, to] (inclusive, from <= to), scanning a word at a time.
std::optional<uint32_t> first_clear(const std::vector<uint64_t>& bits, uint32_t from, uint32_t to) {
  uint32_t w = from >> 6;
  const uint32_t last = to >> 6;
  uint64_t free_bits = ~bits[w] & (~uint64_t{0} << (from & 63));
  for (;;) {
    if (free_bits) {
      uint32_t port = (w << 6) + static_cast<uint32_t>(__builtin_ctzll(free_bits));
      if (port > to) return std::nullopt;
      return port;
    }
    if (++w > last) return std::nullopt;
    free_bits = ~bits[w];
  }
}

}  // namespace

PortAllocator::PortAllocator(uint16_t lo, uint16_t hi)
    : lo_(std::min(lo, hi)), hi_(std::max(lo, hi)) {}

std::optional<uint16_t> PortAllocator::allocate(const IpAddr& addr, uint8_t proto, uint16_t hint) {
  std::lock_guard<std::mutex> lock(mu_);
  Bitmap& bm = maps_[Key{addr, proto}];
  const size_t range = static_cast<size_t>(hi_) - lo_ + 1;
  if (bm.in_range >= range) {
    ++exhausted_;
    return std::nullopt;
  }
  uint32_t port;
  if (hint >= lo_ && hint <= hi_ && !test_bit(bm.bits, hint)) {
    port = hint;  // the cursor stays: hints are not part of the rotation
  } else {
    // Rotating from a cursor instead of taking the lowest free port keeps a
    // just-released port out of use for as long as possible, so late packets
    // of the old flow do not land in a new one.
    uint32_t start = std::clamp<uint32_t>(bm.cursor, lo_, hi_);
    std::optional<uint32_t> found = first_clear(bm.bits, start, hi_);
    if (!found && start > lo_) found = first_clear(bm.bits, lo_, start - 1);
    if (!found) return std::nullopt;  // unreachable while in_range is right
    port = *found;
    bm.cursor = port + 1 > hi_ ? lo_ : port + 1;
  }
  bm.bits[port >> 6] |= uint64_t{1} << (port & 63);
  ++bm.count;
  ++bm.in_range;
  return static_cast<uint16_t>(port);
}

std::optional<uint16_t> PortAllocator::allocate_pair(const IpAddr& addr, uint8_t proto) {
  std::lock_guard<std::mutex> lock(mu_);
  Bitmap& bm = maps_[Key{addr, proto}];
  const uint32_t lo = (lo_ + 1u) & ~1u;  // first even port in range
  if (lo >= hi_ || bm.in_range + 2 > static_cast<size_t>(hi_) - lo_ + 1) {
    ++exhausted_;
    return std::nullopt;
  }
  const uint32_t pairs = (hi_ - lo + 1) / 2;  // [lo, hi] holds p and p+1 for these
  // From the rotating cursor, like allocate(), in steps of two.
  const uint32_t first = (std::clamp<uint32_t>(bm.cursor, lo, hi_ - 1) - lo) / 2;
  for (uint32_t i = 0; i < pairs; ++i) {
    const uint32_t port = lo + 2 * ((first + i) % pairs);
    if (test_bit(bm.bits, port) || test_bit(bm.bits, port + 1)) continue;
    for (uint32_t q : {port, port + 1}) bm.bits[q >> 6] |= uint64_t{1} << (q & 63);
    bm.count += 2;
    bm.in_range += 2;
    bm.cursor = port + 2 > hi_ ? lo_ : port + 2;
    return static_cast<uint16_t>(port);
  }
  ++exhausted_;
  return std::nullopt;
}

bool PortAllocator::reserve(const IpAddr& addr, uint8_t proto, uint16_t port) {
  std::lock_guard<std::mutex> lock(mu_);
  Bitmap& bm = maps_[Key{addr, proto}];
  if (test_bit(bm.bits, port)) return false;
  bm.bits[port >> 6] |= uint64_t{1} << (port & 63);
  ++bm.count;
  if (port >= lo_ && port <= hi_) ++bm.in_range;
  return true;
}

void PortAllocator::release(const IpAddr& addr, uint8_t proto, uint16_t port) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = maps_.find(Key{addr, proto});
  if (it == maps_.end()) return;
  Bitmap& bm = it->second;
  if (!test_bit(bm.bits, port)) return;  // double release must not corrupt the counts
  bm.bits[port >> 6] &= ~(uint64_t{1} << (port & 63));
  --bm.count;
  if (port >= lo_ && port <= hi_) --bm.in_range;
  // The bitmap is kept when empty: its cursor must survive, and the set of
  // keys is bounded by the configured public addresses.
}

bool PortAllocator::in_use(const IpAddr& addr, uint8_t proto, uint16_t port) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = maps_.find(Key{addr, proto});
  return it != maps_.end() && test_bit(it->second.bits, port);
}

size_t PortAllocator::used(const IpAddr& addr) const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [key, bm] : maps_) {
    if (key.addr == addr) n += bm.count;
  }
  return n;
}

size_t PortAllocator::used_total() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& kv : maps_) n += kv.second.count;
  return n;
}

uint64_t PortAllocator::exhausted() const {
  std::lock_guard<std::mutex> lock(mu_);
  return exhausted_;
}

// ---------------------------------------------------------------------------

namespace {
int family_slot(const IpAddr& a) { return a.is_v6() ? 1 : 0; }
}  // namespace

NoPatBindings::NoPatBindings(std::vector<IpAddr> pool) {
  for (const IpAddr& a : pool) {
    if (a.empty() || std::find(pool_.begin(), pool_.end(), a) != pool_.end()) continue;
    pool_.push_back(a);
    free_[family_slot(a)].push_back(a);
  }
}

std::optional<IpAddr> NoPatBindings::acquire(const IpAddr& inside) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_inside_.find(inside);
  if (it != by_inside_.end()) {
    ++it->second.second;
    return it->second.first;
  }
  std::deque<IpAddr>& free = free_[family_slot(inside)];
  if (inside.empty() || free.empty()) {
    ++exhausted_;
    return std::nullopt;
  }
  IpAddr global = free.front();
  free.pop_front();
  by_inside_.emplace(inside, std::make_pair(global, 1u));
  by_global_.emplace(global, inside);
  return global;
}

NoPatBindings::Claim NoPatBindings::claim(const IpAddr& inside, const IpAddr& global) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_inside_.find(inside);
  if (it != by_inside_.end()) {
    if (it->second.first != global) return Claim::kTaken;
    ++it->second.second;
    return Claim::kAdded;
  }
  if (inside.empty() || family_slot(inside) != family_slot(global)) return Claim::kTaken;
  std::deque<IpAddr>& free = free_[family_slot(global)];
  auto f = std::find(free.begin(), free.end(), global);
  if (f == free.end()) return Claim::kTaken;
  free.erase(f);
  by_inside_.emplace(inside, std::make_pair(global, 1u));
  by_global_.emplace(global, inside);
  return Claim::kNew;
}

void NoPatBindings::release(const IpAddr& inside) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_inside_.find(inside);
  if (it == by_inside_.end()) return;
  if (--it->second.second > 0) return;
  IpAddr global = it->second.first;
  by_global_.erase(global);
  by_inside_.erase(it);
  free_[family_slot(global)].push_back(global);
}

std::optional<IpAddr> NoPatBindings::lookup(const IpAddr& inside) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_inside_.find(inside);
  if (it == by_inside_.end()) return std::nullopt;
  return it->second.first;
}

std::optional<IpAddr> NoPatBindings::reverse(const IpAddr& global) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_global_.find(global);
  if (it == by_global_.end()) return std::nullopt;
  return it->second;
}

size_t NoPatBindings::bound() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_inside_.size();
}

std::vector<NoPatBindings::Binding> NoPatBindings::bindings() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Binding> out;
  out.reserve(by_inside_.size());
  for (const auto& [inside, g] : by_inside_) out.push_back(Binding{inside, g.first, g.second});
  std::sort(out.begin(), out.end(),
            [](const Binding& a, const Binding& b) { return a.inside < b.inside; });
  return out;
}

uint64_t NoPatBindings::exhausted() const {
  std::lock_guard<std::mutex> lock(mu_);
  return exhausted_;
}

}  // namespace fw::nat
