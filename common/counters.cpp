#include "common/counters.h"

#include <algorithm>

namespace fw::common {

Counter& CounterTable::get(const std::string& name) {
  std::lock_guard<std::mutex> lk(mu_);
  for (auto& [n, c] : items_) {
    if (n == name) return c;
  }
  items_.emplace_back(std::piecewise_construct, std::forward_as_tuple(name),
                      std::forward_as_tuple());
  return items_.back().second;
}

std::vector<std::pair<std::string, uint64_t>> CounterTable::snapshot() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (const auto& [n, c] : items_) out.emplace_back(n, c.get());
  }
  std::sort(out.begin(), out.end());
  return out;
}

uint64_t CounterTable::value(const std::string& name) const {
  std::lock_guard<std::mutex> lk(mu_);
  for (const auto& [n, c] : items_) {
    if (n == name) return c.get();
  }
  return 0;
}

void CounterTable::reset_all() {
  std::lock_guard<std::mutex> lk(mu_);
  for (auto& [n, c] : items_) c.reset();
}

CounterTable& counters() {
  static CounterTable t;
  return t;
}

}  // namespace fw::common
