#include "aspf/pptp/call_id_alloc.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

namespace fw::aspf::pptp {
namespace {

using common::IpAddr;

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

const IpAddr kPub = ip("203.0.113.100");
const IpAddr kServer = ip("203.0.113.2");
const IpAddr kClientA = ip("198.18.1.2");
const IpAddr kClientB = ip("198.18.1.3");

// As a USG: every call is translated (the seed sample's `aaaa -> bbbb`), not only on a clash.
TEST(CallIdAllocator, TranslatesEveryCall) {
  CallIdAllocator a;
  auto id = a.map(kPub, kServer, kClientA, 4711);
  ASSERT_TRUE(id);
  EXPECT_NE(*id, 4711);
  EXPECT_NE(*id, 0);
  EXPECT_FALSE(a.lookup(kPub, kServer, 4711));
  auto in = a.lookup(kPub, kServer, *id);
  ASSERT_TRUE(in);
  EXPECT_EQ(in->client, kClientA);
  EXPECT_EQ(in->call_id, 4711);
  EXPECT_EQ(a.size(), 1u);
}

TEST(CallIdAllocator, TwoClientsSameIdGetDistinctIds) {
  CallIdAllocator a;
  auto ida = a.map(kPub, kServer, kClientA, 0x0100);
  auto idb = a.map(kPub, kServer, kClientB, 0x0100);
  ASSERT_TRUE(ida && idb);
  EXPECT_NE(*ida, 0x0100);
  EXPECT_NE(*idb, 0x0100);
  EXPECT_NE(*idb, *ida);
  EXPECT_NE(*idb, 0);
  EXPECT_EQ(a.lookup(kPub, kServer, *ida)->client, kClientA);
  auto inb = a.lookup(kPub, kServer, *idb);
  ASSERT_TRUE(inb);
  EXPECT_EQ(inb->client, kClientB);
  EXPECT_EQ(inb->call_id, 0x0100);
  EXPECT_EQ(a.size(), 2u);
}

TEST(CallIdAllocator, SameClientSameIdIsStable) {
  CallIdAllocator a;
  a.map(kPub, kServer, kClientA, 7);
  auto first = a.map(kPub, kServer, kClientB, 7);
  auto again = a.map(kPub, kServer, kClientB, 7);
  ASSERT_TRUE(first && again);
  EXPECT_EQ(*first, *again);
  EXPECT_EQ(a.size(), 2u);
}

TEST(CallIdAllocator, ZeroIsNeverHandedOut) {
  // pptp-linux's first call has call id 0.
  CallIdAllocator a;
  auto ida = a.map(kPub, kServer, kClientA, 0);
  auto idb = a.map(kPub, kServer, kClientB, 0);
  ASSERT_TRUE(ida && idb);
  EXPECT_NE(*ida, 0);
  EXPECT_NE(*idb, 0);
  EXPECT_NE(*ida, *idb);
  EXPECT_EQ(a.lookup(kPub, kServer, *ida)->call_id, 0);
  EXPECT_FALSE(a.lookup(kPub, kServer, 0));
}

TEST(CallIdAllocator, LookupMisses) {
  CallIdAllocator a;
  EXPECT_FALSE(a.lookup(kPub, kServer, 1));
  auto id = a.map(kPub, kServer, kClientA, 1);  // translated: 2 (the first id that is not 1)
  ASSERT_TRUE(id);
  EXPECT_FALSE(a.lookup(kPub, kServer, 1));
  EXPECT_FALSE(a.lookup(kPub, kServer, static_cast<uint16_t>(*id + 1)));
  EXPECT_FALSE(a.lookup(kPub, ip("203.0.113.3"), *id));
  EXPECT_FALSE(a.lookup(ip("203.0.113.101"), kServer, *id));
}

TEST(CallIdAllocator, DifferentServersAreIndependent) {
  CallIdAllocator a;
  const IpAddr other = ip("203.0.113.3");
  auto s1a = a.map(kPub, kServer, kClientA, 9);
  auto s2b = a.map(kPub, other, kClientB, 9);
  ASSERT_TRUE(s1a && s2b);
  EXPECT_EQ(*s2b, *s1a);  // a different (public, server) space: the same first id is free there
  EXPECT_EQ(a.lookup(kPub, kServer, *s1a)->client, kClientA);
  EXPECT_EQ(a.lookup(kPub, other, *s2b)->client, kClientB);
  // Likewise for another public address.
  auto p2 = a.map(ip("203.0.113.101"), kServer, kClientB, 9);
  ASSERT_TRUE(p2);
  EXPECT_EQ(*p2, *s1a);
  a.release(kPub, other, *s2b);
  EXPECT_TRUE(a.lookup(kPub, kServer, *s1a));
  EXPECT_FALSE(a.lookup(kPub, other, *s2b));
  EXPECT_EQ(a.size(), 2u);
}

TEST(CallIdAllocator, ReleaseAndReuse) {
  CallIdAllocator a;
  auto ida = a.map(kPub, kServer, kClientA, 50);
  auto idb = a.map(kPub, kServer, kClientB, 50);
  ASSERT_TRUE(ida && idb);
  a.release(kPub, kServer, *ida);
  EXPECT_FALSE(a.lookup(kPub, kServer, *ida));
  EXPECT_EQ(a.size(), 1u);
  // A new client gets a fresh id (the cursor moved on), never its own.
  auto idc = a.map(kPub, kServer, ip("198.18.1.4"), 50);
  ASSERT_TRUE(idc);
  EXPECT_NE(*idc, 50);
  EXPECT_NE(*idc, *idb);
  // Releasing twice, or an unknown id, is harmless.
  a.release(kPub, kServer, *ida);
  a.release(ip("192.0.2.1"), kServer, 50);
  EXPECT_EQ(a.size(), 2u);
  // After a release the client's pair can be mapped afresh.
  a.release(kPub, kServer, *idb);
  auto idb2 = a.map(kPub, kServer, kClientB, 51);
  ASSERT_TRUE(idb2);
  EXPECT_NE(*idb2, 51);
  EXPECT_EQ(a.lookup(kPub, kServer, *idb2)->call_id, 51);
  EXPECT_EQ(a.size(), 2u);
}

TEST(CallIdAllocator, RotatingCursorDoesNotReuseAtOnce) {
  CallIdAllocator a;
  a.map(kPub, kServer, kClientA, 1);
  auto x = a.map(kPub, kServer, kClientB, 1);  // translated
  ASSERT_TRUE(x);
  a.release(kPub, kServer, *x);
  auto y = a.map(kPub, kServer, ip("198.18.1.4"), 1);  // translated again
  ASSERT_TRUE(y);
  EXPECT_NE(*y, *x);
}

TEST(CallIdAllocator, ExhaustionOf65535) {
  CallIdAllocator a;
  std::vector<bool> used(65536, false);
  // Every mapping asks for the same original id 1: it is handed out last, when it is the only
  // free id left.
  for (uint32_t i = 0; i < 65535; ++i) {
    IpAddr client = IpAddr::v4(0xC6120000u + i);  // 198.18.x.y, distinct per call
    auto id = a.map(kPub, kServer, client, 1);
    ASSERT_TRUE(id) << i;
    ASSERT_NE(*id, 0);
    ASSERT_FALSE(used[*id]) << *id;
    used[*id] = true;
  }
  EXPECT_EQ(a.size(), 65535u);
  EXPECT_FALSE(a.map(kPub, kServer, kClientA, 2));
  EXPECT_FALSE(a.map(kPub, kServer, kClientA, 0));
  // An existing pair still gets its id while full.
  auto again = a.map(kPub, kServer, IpAddr::v4(0xC6120000u), 1);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 2);
  EXPECT_EQ(a.lookup(kPub, kServer, 1)->client, IpAddr::v4(0xC6120000u + 65534));
  // Another server is unaffected.
  EXPECT_TRUE(a.map(kPub, ip("203.0.113.3"), kClientA, 2));
  // Freeing one id makes exactly that one available.
  a.release(kPub, kServer, 777);
  auto id = a.map(kPub, kServer, kClientA, 2);
  ASSERT_TRUE(id);
  EXPECT_EQ(*id, 777);
  EXPECT_FALSE(a.map(kPub, kServer, kClientB, 2));
}

TEST(CallIdAllocator, ConcurrencySmoke) {
  CallIdAllocator a;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::vector<std::thread> threads;
  std::vector<std::vector<uint16_t>> got(kThreads);
  std::atomic<bool> bad{false};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      IpAddr client = IpAddr::v4(0xC6120100u + static_cast<uint32_t>(t));
      for (int i = 0; i < kPerThread; ++i) {
        // All threads ask for the same ids, so they collide on purpose.
        auto id = a.map(kPub, kServer, client, static_cast<uint16_t>(i + 1));
        if (!id) {
          bad = true;
          continue;
        }
        auto in = a.lookup(kPub, kServer, *id);
        if (!in || in->client != client || in->call_id != i + 1) bad = true;
        got[t].push_back(*id);
        if (i % 3 == 0) {
          a.release(kPub, kServer, *id);
          got[t].pop_back();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_FALSE(bad);
  std::set<uint16_t> all;
  size_t n = 0;
  for (auto& v : got) {
    n += v.size();
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(all.size(), n);  // no id handed to two live mappings
  EXPECT_EQ(a.size(), n);
}

}  // namespace
}  // namespace fw::aspf::pptp
