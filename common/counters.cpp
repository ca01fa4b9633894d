#include "common/counters.h"

#include <algorithm>

namespace fw::common {

Counter& CounterTable::get(std::string_view name) {
  std::lock_guard<std::mutex> lk(mu_);
  if (auto it = index_.find(name); it != index_.end()) return *it->second;
  items_.emplace_back(std::piecewise_construct, std::forward_as_tuple(name),
                      std::forward_as_tuple());
  auto& item = items_.back();
  index_.emplace(std::string_view(item.first), &item.second);
  return item.second;
}

std::vector<std::pair<std::string, uint64_t>> CounterTable::snapshot() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  {
    std::lock_guard<std::mutex> lk(mu_);
    out.reserve(items_.size());
    for (const auto& [n, c] : items_) out.emplace_back(n, c.get());
  }
  std::sort(out.begin(), out.end());
  return out;
}

uint64_t CounterTable::value(std::string_view name) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = index_.find(name);
  return it == index_.end() ? 0 : it->second->get();
}

uint64_t CounterTable::sum_prefix(std::string_view prefix) const {
  std::lock_guard<std::mutex> lk(mu_);
  uint64_t s = 0;
  for (const auto& [n, c] : items_) {
    if (std::string_view(n).substr(0, prefix.size()) == prefix) s += c.get();
  }
  return s;
}

void CounterTable::reset_all() {
  std::lock_guard<std::mutex> lk(mu_);
  for (auto& [n, c] : items_) c.reset();
}

void CounterTable::reset_prefix(std::string_view prefix) {
  std::lock_guard<std::mutex> lk(mu_);
  for (auto& [n, c] : items_) {
    if (std::string_view(n).substr(0, prefix.size()) == prefix) c.reset();
  }
}

CounterBlock::CounterBlock(CounterTable& t, std::string_view prefix,
                           std::span<const std::string_view> names) {
  c_.reserve(names.size());
  std::string full(prefix);
  for (auto n : names) {
    full.resize(prefix.size());
    full.append(n);
    c_.push_back(&t.get(full));
  }
}

}  // namespace fw::common
