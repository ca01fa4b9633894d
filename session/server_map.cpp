#include "session/server_map.h"

#include <algorithm>

namespace fw::session {

std::string_view map_type_name(MapType t) {
  switch (t) {
    case MapType::kAspf:
      return "ASPF";
    case MapType::kNatServer:
      return "Nat Server";
    case MapType::kNatServerReverse:
      return "Nat Server Reverse";
    case MapType::kNoPat:
      return "No-Pat";
    case MapType::kNoPatReverse:
      return "No-Pat Reverse";
  }
  return "?";
}

std::string_view map_event_name(MapEvent e) {
  static constexpr std::string_view kNames[] = {"added", "used", "expired", "parent-closed",
                                                "removed"};
  const auto i = static_cast<size_t>(e);
  return i < std::size(kNames) ? kNames[i] : "?";
}

namespace {
bool is_reverse(MapType t) { return t == MapType::kNatServerReverse || t == MapType::kNoPat; }

template <class Index, class Key>
void erase_one(Index& idx, const Key& a, uint64_t id) {
  auto [b, e] = idx.equal_range(a);
  for (auto it = b; it != e; ++it) {
    if (it->second == id) {
      idx.erase(it);
      return;
    }
  }
}
}  // namespace

ServerMap::ServerMap(const common::Clock& clock, common::CounterTable& counters, size_t max_entries,
                     size_t max_per_parent)
    : clock_(clock),
      max_entries_(max_entries),
      max_per_parent_(max_per_parent),
      c_added_(counters.get("servermap.added")),
      c_used_(counters.get("servermap.used")),
      c_expired_(counters.get("servermap.expired")),
      c_cap_total_(counters.get("servermap.refused.total-cap")),
      c_cap_parent_(counters.get("servermap.refused.parent-cap")),
      c_cap_source_(counters.get("servermap.refused.source-cap")) {}

bool ServerMap::matches_fwd(const ServerMapEntry& e, uint8_t proto, const IpAddr& src,
                            uint16_t dport, uint64_t now) const {
  if (is_reverse(e.type)) return false;
  if (e.proto != 0 && e.proto != proto) return false;
  if ((e.port != 0 || e.port_exact) && e.port != dport) return false;
  if (!e.peer.empty() && !(e.peer == src)) return false;
  if (e.expires_ms != 0 && e.expires_ms <= now) return false;
  return true;
}

void ServerMap::unlink(const ServerMapEntry& e) {
  if (is_reverse(e.type))
    erase_one(by_src_, e.addr, e.id);
  else
    erase_one(by_addr_, AddrPort{e.addr, e.port}, e.id);
  if (e.parent) {
    auto it = by_parent_.find(e.parent);
    if (it != by_parent_.end()) {
      std::erase(it->second, e.id);
      if (it->second.empty()) by_parent_.erase(it);
    }
  }
  if (e.expires_ms) by_expiry_.erase({e.expires_ms, e.id});
  if (!e.source.empty()) {
    auto it = per_source_.find(e.source);
    if (it != per_source_.end() && --it->second == 0) per_source_.erase(it);
  }
}

size_t ServerMap::of_source(const IpAddr& source) const {
  std::shared_lock lk(mu_);
  auto it = per_source_.find(source);
  return it == per_source_.end() ? 0 : it->second;
}

// The id of the entry a first packet to dst:dport from src matches (0: none); lock held. The
// entries of this port, then those of port ANY: only these can match. A peer-bound entry beats a
// wildcard one, an exact port beats ANY.
uint64_t ServerMap::best_dst(uint8_t proto, const IpAddr& src, const IpAddr& dst,
                             uint16_t dport) const {
  const uint64_t now = clock_.now_ms();
  uint64_t best = 0;
  int best_score = -1;
  for (uint16_t port : {dport, uint16_t{0}}) {
    auto [a, b] = by_addr_.equal_range(AddrPort{dst, port});
    for (auto it = a; it != b; ++it) {
      const auto& e = entries_.at(it->second);
      if (!matches_fwd(e, proto, src, dport, now)) continue;
      int score = (e.peer.empty() ? 0 : 2) + (e.port == 0 && !e.port_exact ? 0 : 1);
      if (score > best_score) {
        best_score = score;
        best = e.id;
      }
    }
    if (dport == 0) break;
  }
  return best;
}

std::optional<ServerMapEntry> ServerMap::match_dst(uint8_t proto, const IpAddr& src,
                                                   const IpAddr& dst, uint16_t dport) {
  uint64_t best;
  {
    std::shared_lock lk(mu_);
    best = best_dst(proto, src, dst, dport);
  }
  if (best == 0) return std::nullopt;
  std::unique_lock lk(mu_);
  auto it = entries_.find(best);
  if (it == entries_.end()) return std::nullopt;  // consumed by another worker meanwhile
  ServerMapEntry out = it->second;
  it->second.hits++;
  c_used_.inc();
  if (out.one_shot) {
    unlink(out);
    entries_.erase(it);
    lk.unlock();
    if (on_event_) on_event_(out, MapEvent::kUsed);  // "evlog" area
  }
  return out;
}

std::optional<ServerMapEntry> ServerMap::peek_dst(uint8_t proto, const IpAddr& src,
                                                  const IpAddr& dst, uint16_t dport) const {
  std::shared_lock lk(mu_);
  const uint64_t best = best_dst(proto, src, dst, dport);
  if (best == 0) return std::nullopt;
  return entries_.at(best);
}

std::optional<ServerMapEntry> ServerMap::match_src(uint8_t proto, const IpAddr& src,
                                                   uint16_t sport) const {
  std::shared_lock lk(mu_);
  auto [a, b] = by_src_.equal_range(src);
  const ServerMapEntry* best = nullptr;
  for (auto it = a; it != b; ++it) {
    const auto& e = entries_.at(it->second);
    if (e.proto != 0 && e.proto != proto) continue;
    if (e.port != 0 && e.port != sport) continue;
    if (!best || (e.port != 0 && best->port == 0)) best = &e;
  }
  if (!best) return std::nullopt;
  return *best;
}

bool ServerMap::add(ServerMapEntry e, uint64_t* id_out, std::string* why, size_t parent_cap) {
  std::unique_lock lk(mu_);
  if (entries_.size() >= max_entries_) {
    c_cap_total_.inc();
    if (why) *why = "server-map is full";
    return false;
  }
  if (e.parent) {
    auto it = by_parent_.find(e.parent);
    if (it != by_parent_.end() &&
        it->second.size() >= (parent_cap ? parent_cap : max_per_parent_)) {
      c_cap_parent_.inc();
      if (why) *why = "too many server-map entries for one session";
      return false;
    }
  }
  if (!e.source.empty()) {
    const size_t cap = max_per_source_.load(std::memory_order_relaxed);
    size_t& n = per_source_[e.source];
    if (cap && n >= cap) {
      if (n == 0) per_source_.erase(e.source);
      c_cap_source_.inc();
      if (why) *why = "too many server-map entries for one source address";
      return false;
    }
    ++n;
  }
  e.id = next_id_++;
  if (e.parent) by_parent_[e.parent].push_back(e.id);
  if (e.expires_ms) by_expiry_.emplace(e.expires_ms, e.id);
  if (is_reverse(e.type))
    by_src_.emplace(e.addr, e.id);
  else
    by_addr_.emplace(AddrPort{e.addr, e.port}, e.id);
  if (id_out) *id_out = e.id;
  std::optional<ServerMapEntry> added;  // "evlog" area
  if (on_event_) added = e;
  entries_.emplace(e.id, std::move(e));
  c_added_.inc();
  lk.unlock();
  if (added) on_event_(*added, MapEvent::kAdded);
  return true;
}

void ServerMap::set_static(std::vector<ServerMapEntry> list) {
  remove_if([](const ServerMapEntry& e) {
    return e.type == MapType::kNatServer || e.type == MapType::kNatServerReverse;
  });
  std::unique_lock lk(mu_);
  for (auto& e : list) {
    e.id = next_id_++;
    e.parent = 0;
    e.expires_ms = 0;
    if (is_reverse(e.type))
      by_src_.emplace(e.addr, e.id);
    else
      by_addr_.emplace(AddrPort{e.addr, e.port}, e.id);
    entries_.emplace(e.id, std::move(e));
  }
}

size_t ServerMap::erase_ids(const std::vector<uint64_t>& ids, MapEvent why) {
  std::vector<ServerMapEntry> gone;
  size_t n = 0;
  {
    std::unique_lock lk(mu_);
    for (uint64_t id : ids) {
      auto it = entries_.find(id);
      if (it == entries_.end()) continue;
      unlink(it->second);
      if (on_remove_ || on_event_) gone.push_back(std::move(it->second));
      entries_.erase(it);
      ++n;
    }
  }
  for (const auto& e : gone) {
    if (on_remove_) on_remove_(e);
    if (on_event_) on_event_(e, why);  // "evlog" area
  }
  return n;
}

size_t ServerMap::remove_if(const std::function<bool(const ServerMapEntry&)>& pred) {
  std::vector<uint64_t> ids;
  {
    std::shared_lock lk(mu_);
    for (const auto& [id, e] : entries_) {
      if (pred(e)) ids.push_back(id);
    }
  }
  return erase_ids(ids);
}

size_t ServerMap::remove_parent(uint64_t parent,
                                const std::function<bool(const ServerMapEntry&)>& pred) {
  if (parent == 0) return 0;
  std::vector<uint64_t> ids;
  {
    std::shared_lock lk(mu_);
    auto it = by_parent_.find(parent);
    if (it == by_parent_.end()) return 0;
    for (uint64_t id : it->second) {
      if (!pred || pred(entries_.at(id))) ids.push_back(id);
    }
  }
  return erase_ids(ids, MapEvent::kParentClosed);
}

size_t ServerMap::remove_addr(MapType type, const IpAddr& addr) {
  std::vector<uint64_t> ids;
  {
    std::shared_lock lk(mu_);
    auto take = [&](auto range) {
      for (auto it = range.first; it != range.second; ++it)
        if (entries_.at(it->second).type == type) ids.push_back(it->second);
    };
    if (is_reverse(type))
      take(by_src_.equal_range(addr));
    else
      take(by_addr_.equal_range(AddrPort{addr, 0}));
  }
  return erase_ids(ids);
}

size_t ServerMap::expire() {
  const uint64_t now = clock_.now_ms();
  std::vector<uint64_t> ids;
  {
    std::shared_lock lk(mu_);
    for (auto it = by_expiry_.begin(); it != by_expiry_.end() && it->first <= now; ++it) {
      ids.push_back(it->second);
    }
  }
  size_t n = erase_ids(ids, MapEvent::kExpired);
  c_expired_.inc(n);
  return n;
}

std::vector<ServerMapEntry> ServerMap::snapshot() const {
  std::shared_lock lk(mu_);
  std::vector<ServerMapEntry> v;
  v.reserve(entries_.size());
  for (const auto& [_, e] : entries_) v.push_back(e);
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return v;
}

std::vector<uint64_t> ServerMap::ids() const {
  std::vector<uint64_t> v;
  {
    std::shared_lock lk(mu_);
    v.reserve(entries_.size());
    for (const auto& [id, e] : entries_) v.push_back(id);
  }
  std::sort(v.begin(), v.end());
  return v;
}

void ServerMap::for_ids(std::span<const uint64_t> ids,
                        const std::function<void(const ServerMapEntry&)>& fn) const {
  std::shared_lock lk(mu_);
  for (uint64_t id : ids) {
    auto it = entries_.find(id);
    if (it != entries_.end()) fn(it->second);
  }
}

size_t ServerMap::size() const {
  std::shared_lock lk(mu_);
  return entries_.size();
}

}  // namespace fw::session
