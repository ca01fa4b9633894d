#include "aspf/pptp/call_id_alloc.h"

namespace fw::aspf::pptp {

namespace {

constexpr size_t kIdsPerSpace = 65535;  // 1..65535; 0 is never handed out

size_t mix(size_t h, size_t v) { return h ^ (v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2)); }

}  // namespace

size_t CallIdAllocator::ClientKeyHash::operator()(const ClientKey& k) const {
  return mix(k.client.hash(), k.call_id);
}

size_t CallIdAllocator::SpaceKeyHash::operator()(const SpaceKey& k) const {
  return mix(k.first.hash(), k.second.hash());
}

std::optional<uint16_t> CallIdAllocator::map(const common::IpAddr& pub,
                                             const common::IpAddr& server,
                                             const common::IpAddr& client,
                                             uint16_t client_call_id) {
  std::lock_guard lock(mu_);
  Space& sp = spaces_[SpaceKey{pub, server}];
  const ClientKey ck{client, client_call_id};
  if (auto it = sp.by_client.find(ck); it != sp.by_client.end()) return it->second;
  if (sp.by_translated.size() >= kIdsPerSpace) return std::nullopt;

  // Every call gets an id of this space, as a USG does (the client's own id is never kept, so a
  // call is seen translated even without a clash). The rotating cursor spreads reuse of released
  // ids over time, so a late GRE packet of an ended call is unlikely to hit a new call at once.
  // A free id other than the client's exists unless only that one is left (then it is taken).
  const bool only_own_left = sp.by_translated.size() + 1 == kIdsPerSpace && client_call_id != 0 &&
                             sp.by_translated.count(client_call_id) == 0;
  uint16_t id = sp.cursor;
  while (id == 0 || sp.by_translated.count(id) != 0 || (id == client_call_id && !only_own_left))
    ++id;  // uint16_t wraps to 0, skipped
  sp.cursor = static_cast<uint16_t>(id + 1);
  if (sp.cursor == 0) sp.cursor = 1;
  sp.by_translated.emplace(id, Inside{client, client_call_id});
  sp.by_client.emplace(ck, id);
  ++size_;
  return id;
}

std::optional<CallIdAllocator::Inside> CallIdAllocator::lookup(const common::IpAddr& pub,
                                                               const common::IpAddr& server,
                                                               uint16_t translated) const {
  std::lock_guard lock(mu_);
  auto sit = spaces_.find(SpaceKey{pub, server});
  if (sit == spaces_.end()) return std::nullopt;
  auto it = sit->second.by_translated.find(translated);
  if (it == sit->second.by_translated.end()) return std::nullopt;
  return it->second;
}

void CallIdAllocator::release(const common::IpAddr& pub, const common::IpAddr& server,
                              uint16_t translated) {
  std::lock_guard lock(mu_);
  auto sit = spaces_.find(SpaceKey{pub, server});
  if (sit == spaces_.end()) return;
  Space& sp = sit->second;
  auto it = sp.by_translated.find(translated);
  if (it == sp.by_translated.end()) return;
  sp.by_client.erase(ClientKey{it->second.client, it->second.call_id});
  sp.by_translated.erase(it);
  --size_;
  // Drop empty spaces so a stream of short-lived (public, server) pairs does not leak.
  if (sp.by_translated.empty()) spaces_.erase(sit);
}

size_t CallIdAllocator::size() const {
  std::lock_guard lock(mu_);
  return size_;
}

}  // namespace fw::aspf::pptp
