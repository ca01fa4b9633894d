// nat/port_alloc: even/odd pairs (RTP + RTCP) for ALGs.
#include <gtest/gtest.h>

#include <set>

#include "nat/port_alloc.h"

namespace fw::nat {
namespace {

using common::IpAddr;

constexpr uint8_t kUdp = 17;

TEST(PortPair, EvenOddBothTakenUntilExhausted) {
  PortAllocator pa(1001, 1020);  // even ports 1002..1020: pairs 1002..1018
  const IpAddr a = *IpAddr::parse("198.51.100.1");
  std::set<uint16_t> got;
  for (int i = 0; i < 9; ++i) {
    auto p = pa.allocate_pair(a, kUdp);
    ASSERT_TRUE(p) << i;
    EXPECT_EQ(*p % 2, 0);
    EXPECT_GE(*p, 1002);
    EXPECT_LE(*p + 1, 1020);
    EXPECT_TRUE(pa.in_use(a, kUdp, *p));
    EXPECT_TRUE(pa.in_use(a, kUdp, *p + 1));
    EXPECT_TRUE(got.insert(*p).second);
  }
  EXPECT_EQ(pa.used(a), 18u);
  EXPECT_FALSE(pa.allocate_pair(a, kUdp));  // 1001 and 1020 are free, but no pair
  EXPECT_EQ(pa.exhausted(), 1u);
  // Each half comes back on its own; a pair needs both.
  pa.release(a, kUdp, 1010);
  EXPECT_FALSE(pa.allocate_pair(a, kUdp));
  pa.release(a, kUdp, 1011);
  EXPECT_EQ(pa.allocate_pair(a, kUdp), 1010);
  EXPECT_EQ(pa.used(a), 18u);
}

TEST(PortPair, SkipsPairsWithOneHalfInUse) {
  PortAllocator pa(2000, 2007);
  const IpAddr a = *IpAddr::parse("198.51.100.1");
  ASSERT_TRUE(pa.reserve(a, kUdp, 2001));
  ASSERT_TRUE(pa.reserve(a, kUdp, 2002));
  ASSERT_TRUE(pa.reserve(a, kUdp, 2004));
  EXPECT_EQ(pa.allocate_pair(a, kUdp), 2006);
  EXPECT_FALSE(pa.allocate_pair(a, kUdp));
  // The single-port allocator still finds the odd ones left.
  EXPECT_EQ(pa.allocate(a, kUdp, 0), 2000);
}

TEST(PortPair, RotatesLikeAllocate) {
  PortAllocator pa(4000, 4099);
  const IpAddr a = *IpAddr::parse("2001:db8::1");
  auto p1 = pa.allocate_pair(a, kUdp);
  ASSERT_TRUE(p1);
  pa.release(a, kUdp, *p1);
  pa.release(a, kUdp, *p1 + 1);
  auto p2 = pa.allocate_pair(a, kUdp);
  ASSERT_TRUE(p2);
  EXPECT_NE(*p1, *p2);  // a just-released pair is not handed out again at once
}

}  // namespace
}  // namespace fw::nat
