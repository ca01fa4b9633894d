#pragma once
// Named counters: every drop reason, every refusal, every cap has one, and
// `display firewall statistics` lists them. Counters are registered once and
// never removed, so a Counter& stays valid for the life of the process.
#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
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
  // Returns the counter with that name, creating it on first use.
  // Names are dotted: "packet.drop.malformed", "session.created".
  Counter& get(const std::string& name);
  std::vector<std::pair<std::string, uint64_t>> snapshot() const;  // sorted by name
  uint64_t value(const std::string& name) const;                   // 0 if absent
  void reset_all();

 private:
  mutable std::mutex mu_;
  std::deque<std::pair<std::string, Counter>> items_;  // deque: stable addresses
};

// The process-wide table.
CounterTable& counters();

}  // namespace fw::common
