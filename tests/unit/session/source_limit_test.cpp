// The per-source limiter ("srclimit" area): session cap, rate with a ManualClock, release,
// idle eviction (bounded memory), several threads.
#include "session/source_limit.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace fw::session {
namespace {

common::IpAddr a(const char* s) { return *common::IpAddr::parse(s); }

TEST(SourceLimiter, CapsSessionsPerSourceAndReleases) {
  common::ManualClock clock;
  SourceLimiter l(clock);
  SourceLimits lim{3, 0};
  for (int i = 0; i < 3; ++i) EXPECT_EQ(l.acquire(a("198.18.1.2"), lim), SourceVerdict::kOk);
  EXPECT_EQ(l.acquire(a("198.18.1.2"), lim), SourceVerdict::kSessionLimit);
  // Another source is not concerned.
  EXPECT_EQ(l.acquire(a("198.18.1.3"), lim), SourceVerdict::kOk);
  l.release(a("198.18.1.2"));
  EXPECT_EQ(l.acquire(a("198.18.1.2"), lim), SourceVerdict::kOk);
  EXPECT_EQ(l.acquire(a("198.18.1.2"), lim), SourceVerdict::kSessionLimit);
  auto top = l.top(10);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].addr, a("198.18.1.2"));
  EXPECT_EQ(top[0].sessions, 3u);
  EXPECT_EQ(top[0].refused, 2u);
  EXPECT_EQ(top[1].sessions, 1u);
  // A higher limit (a zone's) admits more of the same host.
  EXPECT_EQ(l.acquire(a("198.18.1.2"), SourceLimits{5, 0}), SourceVerdict::kOk);
}

TEST(SourceLimiter, RatePerSecondRefillsWithTime) {
  common::ManualClock clock;
  SourceLimiter l(clock);
  SourceLimits lim{0, 10};
  for (int i = 0; i < 10; ++i) ASSERT_EQ(l.acquire(a("10.0.0.1"), lim), SourceVerdict::kOk);
  EXPECT_EQ(l.acquire(a("10.0.0.1"), lim), SourceVerdict::kRateLimit);
  clock.advance_ms(99);
  EXPECT_EQ(l.acquire(a("10.0.0.1"), lim), SourceVerdict::kRateLimit);
  clock.advance_ms(1);  // 100 ms = one new session at 10/s
  EXPECT_EQ(l.acquire(a("10.0.0.1"), lim), SourceVerdict::kOk);
  EXPECT_EQ(l.acquire(a("10.0.0.1"), lim), SourceVerdict::kRateLimit);
  clock.advance_s(5);  // saved up: at most one second's worth
  for (int i = 0; i < 10; ++i) ASSERT_EQ(l.acquire(a("10.0.0.1"), lim), SourceVerdict::kOk);
  EXPECT_EQ(l.acquire(a("10.0.0.1"), lim), SourceVerdict::kRateLimit);
  // Releasing sessions gives no new-session budget back.
  for (int i = 0; i < 21; ++i) l.release(a("10.0.0.1"));
  EXPECT_EQ(l.acquire(a("10.0.0.1"), lim), SourceVerdict::kRateLimit);
}

TEST(SourceLimiter, SessionCapIsCheckedBeforeRateAndRefusalsTakeNoToken) {
  common::ManualClock clock;
  SourceLimiter l(clock);
  SourceLimits lim{2, 3};
  EXPECT_EQ(l.acquire(a("10.0.0.1"), lim), SourceVerdict::kOk);
  EXPECT_EQ(l.acquire(a("10.0.0.1"), lim), SourceVerdict::kOk);
  EXPECT_EQ(l.acquire(a("10.0.0.1"), lim), SourceVerdict::kSessionLimit);
  l.release(a("10.0.0.1"));
  EXPECT_EQ(l.acquire(a("10.0.0.1"), lim), SourceVerdict::kOk);  // third token
  l.release(a("10.0.0.1"));
  EXPECT_EQ(l.acquire(a("10.0.0.1"), lim), SourceVerdict::kRateLimit);
}

TEST(SourceLimiter, IdleHostsGoAndTheTableIsBounded) {
  common::ManualClock clock;
  SourceLimiter l(clock, 64 * 4);  // 4 idle hosts per shard
  // Hosts holding sessions stay, however many.
  for (int i = 0; i < 1000; ++i) {
    auto ip = common::IpAddr::v4(0x0a000000u + static_cast<uint32_t>(i));
    ASSERT_EQ(l.acquire(ip, SourceLimits{1, 0}), SourceVerdict::kOk);
  }
  EXPECT_EQ(l.hosts(), 1000u);
  // Released, they are idle: beyond the bound the oldest go at once.
  for (int i = 0; i < 1000; ++i)
    l.release(common::IpAddr::v4(0x0a000000u + static_cast<uint32_t>(i)));
  EXPECT_LE(l.hosts(), 64u * 4u);
  EXPECT_GT(l.idle_evicted(), 0u);
  // Once their bucket is full again they carry nothing: all go.
  clock.advance_s(3);
  l.expire();
  EXPECT_EQ(l.hosts(), 0u);
  // Refused hosts are idle entries too: bounded as well.
  SourceLimits none_left{0, 1};
  for (int i = 0; i < 5000; ++i) {
    auto ip = common::IpAddr::v4(0x0b000000u + static_cast<uint32_t>(i));
    l.acquire(ip, none_left);
    l.release(ip);
  }
  EXPECT_LE(l.hosts(), 64u * 4u);
}

TEST(SourceLimiter, ManyThreadsNeverExceedTheCap) {
  common::ManualClock clock;
  SourceLimiter l(clock);
  SourceLimits lim{100, 0};
  std::atomic<int> ok{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (l.acquire(a("198.18.1.2"), lim) == SourceVerdict::kOk) ok.fetch_add(1);
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 100);
  EXPECT_EQ(l.top(1).at(0).sessions, 100u);
}

}  // namespace
}  // namespace fw::session
