#pragma once
// Named counters: every drop reason, every refusal, every cap has one, and
// `display firewall statistics` lists them. A CounterTable is an ordinary object
// (the data plane owns one and hands it to every component); counters are
// registered once and never removed, so a Counter& stays valid for the table's
// life. The packet path never looks a counter up by name: components resolve
// their counters when they are built, either one by one (get) or as a block
// declared by a table of names and bumped by index (CounterBlock).
#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace fw::common {

class Counter {
 public:
  void inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }
  void reset() { v_.store(0, std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class CounterTable {
 public:
  CounterTable() = default;
  CounterTable(const CounterTable&) = delete;
  CounterTable& operator=(const CounterTable&) = delete;

  // Returns the counter with that name, creating it on first use.
  // Names are dotted: "packet.drop.malformed", "session.created".
  Counter& get(std::string_view name);
  std::vector<std::pair<std::string, uint64_t>> snapshot() const;  // sorted by name
  uint64_t value(std::string_view name) const;                     // 0 if absent
  // Sum of every counter whose name starts with `prefix`.
  uint64_t sum_prefix(std::string_view prefix) const;
  void reset_all();
  void reset_prefix(std::string_view prefix);

 private:
  mutable std::mutex mu_;
  std::deque<std::pair<std::string, Counter>> items_;  // deque: stable addresses
  std::unordered_map<std::string_view, Counter*> index_;
};

// A fixed set of counters "<prefix><name>" resolved once from a table of names;
// bumped by index on the packet path.
class CounterBlock {
 public:
  CounterBlock() = default;
  CounterBlock(CounterTable& t, std::string_view prefix, std::span<const std::string_view> names);
  void inc(size_t i, uint64_t n = 1) const {
    if (i < c_.size()) c_[i]->inc(n);
  }
  uint64_t get(size_t i) const { return i < c_.size() ? c_[i]->get() : 0; }
  size_t size() const { return c_.size(); }

 private:
  std::vector<Counter*> c_;
};

}  // namespace fw::common
