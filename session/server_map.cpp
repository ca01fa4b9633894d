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

namespace {
bool is_reverse(MapType t) { return t == MapType::kNatServerReverse || t == MapType::kNoPat; }
}  // namespace

ServerMap::ServerMap(const common::Clock& clock, size_t max_entries, size_t max_per_parent)
    : clock_(clock),
      max_entries_(max_entries),
      max_per_parent_(max_per_parent),
      c_added_(common::counters().get("servermap.added")),
      c_used_(common::counters().get("servermap.used")),
      c_expired_(common::counters().get("servermap.expired")),
      c_cap_total_(common::counters().get("servermap.refused.total-cap")),
      c_cap_parent_(common::counters().get("servermap.refused.parent-cap")) {}

bool ServerMap::matches_fwd(const ServerMapEntry& e, uint8_t proto, const IpAddr& src,
                            uint16_t dport) const {
  if (is_reverse(e.type)) return false;
  if (e.proto != 0 && e.proto != proto) return false;
  if (e.port != 0 && e.port != dport) return false;
  if (!e.peer.empty() && !(e.peer == src)) return false;
  if (e.expires_ms != 0 && e.expires_ms <= clock_.now_ms()) return false;
  return true;
}

std::optional<ServerMapEntry> ServerMap::match_dst(uint8_t proto, const IpAddr& src,
                                                   const IpAddr& dst, uint16_t dport) {
  uint64_t best = 0;
  int best_score = -1;
  {
    std::shared_lock lk(mu_);
    auto [a, b] = by_addr_.equal_range(dst);
    for (auto it = a; it != b; ++it) {
      const auto& e = entries_.at(it->second);
      if (!matches_fwd(e, proto, src, dport)) continue;
      int score = (e.peer.empty() ? 0 : 2) + (e.port == 0 ? 0 : 1);
      if (score > best_score) {
        best_score = score;
        best = e.id;
      }
    }
  }
  if (best_score < 0) return std::nullopt;
  std::unique_lock lk(mu_);
  auto it = entries_.find(best);
  if (it == entries_.end()) return std::nullopt;  // consumed by another worker meanwhile
  ServerMapEntry out = it->second;
  it->second.hits++;
  c_used_.inc();
  if (out.one_shot) {
    auto [a, b] = by_addr_.equal_range(out.addr);
    for (auto j = a; j != b; ++j) {
      if (j->second == out.id) {
        by_addr_.erase(j);
        break;
      }
    }
    if (out.parent && per_parent_[out.parent] > 0 && --per_parent_[out.parent] == 0)
      per_parent_.erase(out.parent);
    entries_.erase(it);
  }
  return out;
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

bool ServerMap::add(ServerMapEntry e, uint64_t* id_out, std::string* why) {
  std::unique_lock lk(mu_);
  if (entries_.size() >= max_entries_) {
    c_cap_total_.inc();
    if (why) *why = "server-map is full";
    return false;
  }
  if (e.parent && per_parent_[e.parent] >= max_per_parent_) {
    c_cap_parent_.inc();
    if (why) *why = "too many server-map entries for one session";
    return false;
  }
  e.id = next_id_++;
  if (e.parent) per_parent_[e.parent]++;
  (is_reverse(e.type) ? by_src_ : by_addr_).emplace(e.addr, e.id);
  if (id_out) *id_out = e.id;
  entries_.emplace(e.id, std::move(e));
  c_added_.inc();
  return true;
}

void ServerMap::set_static(std::vector<ServerMapEntry> list) {
  remove_if([](const ServerMapEntry& e) {
    return e.type == MapType::kNatServer || e.type == MapType::kNatServerReverse;
  });
  std::unique_lock lk(mu_);
  for (auto& e : list) {
    e.id = next_id_++;
    (is_reverse(e.type) ? by_src_ : by_addr_).emplace(e.addr, e.id);
    entries_.emplace(e.id, std::move(e));
  }
}

size_t ServerMap::remove_if(const std::function<bool(const ServerMapEntry&)>& pred) {
  std::vector<ServerMapEntry> gone;
  std::unique_lock lk(mu_);
  size_t n = 0;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (!pred(it->second)) {
      ++it;
      continue;
    }
    const auto& e = it->second;
    auto& idx = is_reverse(e.type) ? by_src_ : by_addr_;
    auto [a, b] = idx.equal_range(e.addr);
    for (auto j = a; j != b; ++j) {
      if (j->second == e.id) {
        idx.erase(j);
        break;
      }
    }
    if (e.parent && per_parent_[e.parent] > 0 && --per_parent_[e.parent] == 0)
      per_parent_.erase(e.parent);
    if (on_remove_) gone.push_back(e);
    it = entries_.erase(it);
    ++n;
  }
  lk.unlock();
  for (const auto& e : gone) on_remove_(e);
  return n;
}

size_t ServerMap::remove_parent(uint64_t parent) {
  if (parent == 0) return 0;
  {
    std::shared_lock lk(mu_);
    if (!per_parent_.count(parent)) return 0;
  }
  return remove_if([&](const ServerMapEntry& e) { return e.parent == parent; });
}

size_t ServerMap::expire() {
  uint64_t now = clock_.now_ms();
  size_t n =
      remove_if([&](const ServerMapEntry& e) { return e.expires_ms != 0 && e.expires_ms <= now; });
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

size_t ServerMap::size() const {
  std::shared_lock lk(mu_);
  return entries_.size();
}

}  // namespace fw::session
