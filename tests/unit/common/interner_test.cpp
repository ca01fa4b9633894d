// Interned names and counter blocks: per-object state with stable ids.
#include "common/interner.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <thread>
#include <vector>

#include "common/counters.h"

namespace fw::common {
namespace {

TEST(Interner, StableIdsAndEmptyIsZero) {
  Interner in;
  EXPECT_EQ(in.intern(""), 0u);
  EXPECT_EQ(in.name(0), "");
  const uint32_t a = in.intern("allow-web");
  const uint32_t b = in.intern("deny-all");
  EXPECT_NE(a, 0u);
  EXPECT_NE(a, b);
  EXPECT_EQ(in.intern("allow-web"), a);
  EXPECT_EQ(in.name(a), "allow-web");
  EXPECT_EQ(in.name(b), "deny-all");
  EXPECT_EQ(in.name(60000), "");  // unknown id
  EXPECT_EQ(in.find("deny-all"), b);
  EXPECT_FALSE(in.find("nope"));
  EXPECT_EQ(in.size(), 2u);
}

TEST(Interner, TwoInternersAreIndependent) {
  Interner x, y;
  EXPECT_EQ(x.intern("trust"), 1u);
  EXPECT_EQ(y.intern("untrust"), 1u);
  EXPECT_EQ(x.name(1), "trust");
  EXPECT_EQ(y.name(1), "untrust");
}

TEST(Interner, FullGivesZeroAndKeepsOldIds) {
  Interner in(2);
  EXPECT_EQ(in.intern("a"), 1u);
  EXPECT_EQ(in.intern("b"), 2u);
  EXPECT_EQ(in.intern("c"), 0u);
  EXPECT_EQ(in.intern("a"), 1u);
}

TEST(Interner, ThreadSafe) {
  Interner in;
  std::vector<std::thread> th;
  std::vector<std::vector<uint32_t>> ids(4);
  for (int t = 0; t < 4; ++t) {
    th.emplace_back([t, &ids, &in] {
      for (int i = 0; i < 200; ++i) ids[t].push_back(in.intern("rule-" + std::to_string(i)));
    });
  }
  for (auto& x : th) x.join();
  for (int t = 1; t < 4; ++t) EXPECT_EQ(ids[t], ids[0]);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(in.name(ids[0][i]), "rule-" + std::to_string(i));
}

TEST(CounterTable, BlockSharesCountersWithTheTableByName) {
  CounterTable t;
  constexpr std::array<std::string_view, 3> kNames = {"parsed", "refused.bounce", "opened"};
  CounterBlock b(t, "aspf.ftp.", kNames);
  ASSERT_EQ(b.size(), 3u);
  b.inc(1);
  b.inc(1, 4);
  b.inc(7);  // out of range: ignored, never a crash
  EXPECT_EQ(t.value("aspf.ftp.refused.bounce"), 5u);
  EXPECT_EQ(b.get(1), 5u);
  t.get("aspf.ftp.opened").inc();
  EXPECT_EQ(b.get(2), 1u);
  EXPECT_EQ(t.sum_prefix("aspf.ftp."), 6u);
  t.reset_prefix("aspf.ftp.refused.");
  EXPECT_EQ(b.get(1), 0u);
  EXPECT_EQ(b.get(2), 1u);
}

TEST(CounterTable, SnapshotSortedAndValueOfUnknownIsZero) {
  CounterTable t;
  t.get("b").inc(2);
  t.get("a").inc();
  auto s = t.snapshot();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].first, "a");
  EXPECT_EQ(s[1].second, 2u);
  EXPECT_EQ(t.value("zzz"), 0u);
}

}  // namespace
}  // namespace fw::common
