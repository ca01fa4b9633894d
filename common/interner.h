#pragma once
// Short names (zone names, policy rule names, NAT server names) interned to
// small stable ids, so hot structures (sessions, server-map entries) hold an
// integer instead of a string. An Interner is an ordinary object owned by the
// data plane; ids are never reused for the object's life (a session may outlive
// the rule that created it and must still show its name). Thread-safe.
#include <cstdint>
#include <deque>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace fw::common {

class Interner {
 public:
  // Ids are 1..max_id; 0 is the empty name (and "no room left").
  explicit Interner(uint32_t max_id = 0xffff);
  Interner(const Interner&) = delete;
  Interner& operator=(const Interner&) = delete;

  uint32_t intern(std::string_view name);
  std::optional<uint32_t> find(std::string_view name) const;
  std::string name(uint32_t id) const;  // "" for 0 or an unknown id
  size_t size() const;

 private:
  uint32_t max_id_;
  mutable std::shared_mutex mu_;
  std::deque<std::string> names_;  // deque: stable addresses for the index's views
  std::unordered_map<std::string_view, uint32_t> ids_;
};

}  // namespace fw::common
