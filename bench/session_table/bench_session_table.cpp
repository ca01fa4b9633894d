// Session table at 1,000,000 live IPv4 sessions: insert, lookup hit/miss, aging, memory.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "common/clock.h"
#include "session/session_table.h"

namespace {

using fw::common::IpAddr;
using fw::common::ManualClock;
using fw::session::Dir;
using fw::session::FlowKey;
using fw::session::InsertResult;
using fw::session::Session;
using fw::session::SessionTable;
using fw::session::TableOptions;

constexpr uint32_t kN = 1'000'000;

// Flow i: 10.x.y.z (unique per i) -> one of 200 servers, port 443. Miss keys use 11.x.y.z.
FlowKey orig_key(uint32_t i, uint32_t net = 0x0a000000) {
  FlowKey k;
  k.src = IpAddr::v4(net + i);
  k.dst = IpAddr::v4(0xc6336400 + 1 + i % 200);
  k.sport = static_cast<uint16_t>(1024 + (i * 7) % 60000);
  k.dport = 443;
  k.proto = 6;
  return k;
}

Session make_session(uint32_t i) {
  Session s;
  s.orig = orig_key(i);
  s.reply = s.orig.reversed();
  s.timeout_s = 1200;
  return s;
}

// A "Field:  N kB" line of a /proc file, in bytes (VmRSS in status, AnonHugePages in smaps_rollup).
size_t proc_kb_field(const char* file, const char* field) {
  FILE* f = std::fopen(file, "r");
  if (!f) return 0;
  char line[256];
  size_t kb = 0;
  const size_t n = std::strlen(field);
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, field, n) == 0 && line[n] == ':') {
      kb = std::strtoull(line + n + 1, nullptr, 10);
      break;
    }
  }
  std::fclose(f);
  return kb * 1024;
}

TableOptions options() {
  TableOptions o;
  o.max_sessions = kN;
  return o;
}

void fill(SessionTable& t) {
  for (uint32_t i = 0; i < kN; ++i) {
    if (t.insert(make_session(i)) != InsertResult::kOk) std::abort();
  }
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Fill an empty table to 1M sessions; time per insert is the average over the whole fill
// (including every index growth on the way).
void BM_Insert1M(benchmark::State& state) {
  for (auto _ : state) {
    ManualClock clock;
    fw::common::CounterTable counters;
    const size_t rss0 = proc_kb_field("/proc/self/status", "VmRSS");
    auto t = std::make_unique<SessionTable>(clock, options(), counters);
    const auto t0 = std::chrono::steady_clock::now();
    fill(*t);
    const double secs = seconds_since(t0);
    state.SetIterationTime(secs);
    const size_t rss1 = proc_kb_field("/proc/self/status", "VmRSS");
    state.counters["ns_per_insert"] = secs * 1e9 / kN;
    state.counters["table_bytes_per_session"] = double(t->memory_bytes()) / double(t->size());
    state.counters["rss_growth_bytes_per_session"] = double(rss1 - rss0) / double(t->size());
    state.counters["table_MiB"] = double(t->memory_bytes()) / (1 << 20);
    state.counters["process_rss_MiB"] = double(rss1) / (1 << 20);
    state.counters["sizeof_Session"] = sizeof(Session);
    state.counters["huge_pages_MiB"] =
        double(proc_kb_field("/proc/self/smaps_rollup", "AnonHugePages")) / (1 << 20);
  }
}
BENCHMARK(BM_Insert1M)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);

struct Filled {
  ManualClock clock;
  fw::common::CounterTable counters;
  SessionTable table{clock, options(), counters};
  Filled() { fill(table); }
};
Filled& filled() {
  static Filled f;
  return f;
}

void BM_LookupHit(benchmark::State& state) {
  SessionTable& t = filled().table;
  const std::function<void(Session&, Dir)> fn = [](Session& s, Dir d) {
    s.packets[static_cast<int>(d)]++;
  };
  uint64_t k = uint64_t(state.thread_index()) * 7919;  // threads walk different keys
  for (auto _ : state) {
    const uint32_t i = static_cast<uint32_t>((k++ * 2654435761u) % kN);  // scattered over the table
    const FlowKey key = (k & 1) ? orig_key(i) : orig_key(i).reversed();
    if (!t.with_session(key, fn)) std::abort();
  }
  state.counters["live_sessions"] =
      benchmark::Counter(double(t.size()), benchmark::Counter::kAvgThreads);
}
BENCHMARK(BM_LookupHit)->Threads(1)->Threads(2);  // 2 threads: shards, no big lock

void BM_LookupMiss(benchmark::State& state) {
  SessionTable& t = filled().table;
  const std::function<void(Session&, Dir)> fn = [](Session&, Dir) {};
  uint64_t k = uint64_t(state.thread_index()) * 7919;  // threads walk different keys
  for (auto _ : state) {
    const uint32_t i = static_cast<uint32_t>((k++ * 2654435761u) % kN);
    if (t.with_session(orig_key(i, 0x0b000000), fn)) std::abort();
  }
  state.counters["live_sessions"] =
      benchmark::Counter(double(t.size()), benchmark::Counter::kAvgThreads);
}
BENCHMARK(BM_LookupMiss)->Threads(1)->Threads(2);

// Age out all 1M sessions with the sweep (budget 64K slots per call, as a maintenance
// thread would); reported per removed session.
void BM_ExpireAll1M(benchmark::State& state) {
  for (auto _ : state) {
    ManualClock clock;
    fw::common::CounterTable counters;
    auto t = std::make_unique<SessionTable>(clock, options(), counters);
    fill(*t);
    clock.advance_s(1201);
    size_t removed = 0;
    const auto t0 = std::chrono::steady_clock::now();
    while (t->size() > 0) removed += t->expire(65536);
    const double secs = seconds_since(t0);
    state.SetIterationTime(secs);
    state.counters["ns_per_session"] = secs * 1e9 / double(removed);
    state.counters["removed"] = double(removed);
  }
}
BENCHMARK(BM_ExpireAll1M)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);

// Churn at 90 % of the cap: erase a live session picked at random and insert a new one, as a
// table under a steady stream of new flows does; reported per erase + insert (the order in which
// freed slots are reused shows here: issue 16 item 6 made it lowest first, from a bitmap).
void BM_Churn(benchmark::State& state) {
  ManualClock clock;
  fw::common::CounterTable counters;
  auto t = std::make_unique<SessionTable>(clock, options(), counters);
  const uint32_t live = kN / 10 * 9;
  std::vector<uint64_t> ids(live);
  for (uint32_t i = 0; i < live; ++i) {
    if (t->insert(make_session(i), &ids[i]) != InsertResult::kOk) std::abort();
  }
  uint32_t next = live;
  uint64_t r = 88172645463325252ull;
  for (auto _ : state) {
    r ^= r << 13;
    r ^= r >> 7;
    r ^= r << 17;
    const uint32_t k = static_cast<uint32_t>(r % live);
    if (!t->erase(ids[k])) std::abort();
    if (t->insert(make_session(next++), &ids[k]) != InsertResult::kOk) std::abort();
  }
}
BENCHMARK(BM_Churn);

}  // namespace

int main(int argc, char** argv) {
  // Large blocks straight from mmap: a freed table goes back to the OS, so the RSS
  // growth measured by one benchmark is not hidden by memory another one left behind.
  mallopt(M_MMAP_THRESHOLD, 64 * 1024);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
