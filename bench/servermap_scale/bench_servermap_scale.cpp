// Issue 16 item 4: server-map work in proportion to the entries involved. 64,000 ASPF entries of
// 4,000 parents (16 each), all on one NAT address as one host's FTP data channels are: how long
// removing every parent's entries and expiring them take, and new-flow matching latency idle,
// with the entries present, and while the parents are being removed (as ratios to idle).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/counters.h"
#include "session/server_map.h"

namespace {

using fw::common::IpAddr;
using fw::session::MapType;
using fw::session::ServerMap;
using fw::session::ServerMapEntry;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kParents = 4000, kPerParent = 16;
const IpAddr kNat = *IpAddr::parse("203.0.113.1");
const IpAddr kPeer = *IpAddr::parse("203.0.113.2");

void fill(ServerMap& m, uint64_t now_ms) {
  for (uint64_t p = 1; p <= kParents; ++p) {
    for (uint64_t k = 0; k < kPerParent; ++k) {
      ServerMapEntry e;
      e.type = MapType::kAspf;
      e.proto = 6;
      e.peer = kPeer;
      e.addr = kNat;
      e.port = static_cast<uint16_t>(1024 + (p - 1) * kPerParent + k);
      e.parent = p;
      e.one_shot = true;
      e.expires_ms = now_ms + 60'000;
      if (!m.add(e)) std::fprintf(stderr, "add refused\n");
    }
  }
}

// Mean ns of a new flow's server-map lookup (a miss: a port no entry has).
double match_ns(ServerMap& m, int n) {
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i)
    (void)m.match_dst(6, kPeer, kNat, static_cast<uint16_t>(1 + i % 1000));
  return std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / n;
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

}  // namespace

int main() {
  fw::common::ManualClock clock{1'000'000};
  fw::common::CounterTable ctr;
  ServerMap m(clock, ctr, 65536, kPerParent);
  constexpr int kLookups = 200'000;
  const double idle = match_ns(m, kLookups);
  fill(m, clock.now_ms());
  const double loaded = match_ns(m, kLookups);
  std::printf("entries: %zu (%llu parents x %llu, one address)\n", m.size(),
              static_cast<unsigned long long>(kParents),
              static_cast<unsigned long long>(kPerParent));
  std::printf("new-flow lookup: idle %.0f ns, with 64,000 entries %.0f ns (ratio %.2f)\n", idle,
              loaded, loaded / idle);

  // Remove every parent's entries while another thread matches new flows.
  std::atomic<bool> done{false};
  double during = 0;
  std::thread matcher([&] {
    int rounds = 0;
    double sum = 0;
    while (!done.load()) {
      sum += match_ns(m, 1000);
      ++rounds;
    }
    during = rounds ? sum / rounds : 0;
  });
  auto t0 = Clock::now();
  size_t removed = 0;
  for (uint64_t p = 1; p <= kParents; ++p) removed += m.remove_parent(p);
  const double remove_ms = ms_since(t0);
  done = true;
  matcher.join();
  std::printf(
      "remove_parent x %llu: %zu entries in %.1f ms; lookups meanwhile %.0f ns (ratio %.2f)\n",
      static_cast<unsigned long long>(kParents), removed, remove_ms, during, during / idle);

  fill(m, clock.now_ms());
  clock.advance_ms(60'001);
  t0 = Clock::now();
  const size_t expired = m.expire();
  std::printf("expire: %zu entries 1 ms past their lifetime removed in %.1f ms; left %zu\n",
              expired, ms_since(t0), m.size());
  return removed == kParents * kPerParent && expired == kParents * kPerParent && m.size() == 0 ? 0
                                                                                               : 1;
}
