#include "common/interner.h"

#include <mutex>

namespace fw::common {

Interner::Interner(uint32_t max_id) : max_id_(max_id) { names_.emplace_back(); }

uint32_t Interner::intern(std::string_view name) {
  if (name.empty()) return 0;
  {
    std::shared_lock lk(mu_);
    if (auto it = ids_.find(name); it != ids_.end()) return it->second;
  }
  std::unique_lock lk(mu_);
  if (auto it = ids_.find(name); it != ids_.end()) return it->second;
  if (names_.size() > max_id_) return 0;  // full: the caller shows it as unnamed
  names_.emplace_back(name);
  const auto id = static_cast<uint32_t>(names_.size() - 1);
  ids_.emplace(std::string_view(names_.back()), id);
  return id;
}

std::optional<uint32_t> Interner::find(std::string_view name) const {
  std::shared_lock lk(mu_);
  auto it = ids_.find(name);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

std::string Interner::name(uint32_t id) const {
  std::shared_lock lk(mu_);
  return id < names_.size() ? names_[id] : std::string();
}

size_t Interner::size() const {
  std::shared_lock lk(mu_);
  return names_.size() - 1;
}

}  // namespace fw::common
