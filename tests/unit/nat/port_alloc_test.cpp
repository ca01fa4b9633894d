#include "nat/port_alloc.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "common/counters.h"

namespace fw::nat {
namespace {

using common::IpAddr;

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

constexpr uint8_t kTcp = 6, kUdp = 17;

TEST(PortAllocator, WholeRangeThenExhausted) {
  PortAllocator pa(1000, 1999);
  IpAddr a = ip("198.51.100.1");
  std::set<uint16_t> got;
  for (int i = 0; i < 1000; ++i) {
    auto p = pa.allocate(a, kTcp, 0);
    ASSERT_TRUE(p);
    EXPECT_GE(*p, 1000);
    EXPECT_LE(*p, 1999);
    EXPECT_TRUE(got.insert(*p).second) << "duplicate " << *p;
  }
  EXPECT_EQ(pa.used(a), 1000u);
  EXPECT_FALSE(pa.allocate(a, kTcp, 0));
  EXPECT_FALSE(pa.allocate(a, kTcp, 1500));
  EXPECT_EQ(pa.exhausted(), 2u);

  // Only a released port comes back.
  pa.release(a, kTcp, 1234);
  EXPECT_FALSE(pa.in_use(a, kTcp, 1234));
  EXPECT_EQ(pa.allocate(a, kTcp, 0), std::optional<uint16_t>(1234));
  EXPECT_FALSE(pa.allocate(a, kTcp, 0));
}

TEST(PortAllocator, DefaultRangeExhaustsAt63488) {
  PortAllocator pa;
  IpAddr a = ip("198.51.100.1");
  for (int i = 0; i < 65536 - 2048; ++i) ASSERT_TRUE(pa.allocate(a, kUdp, 0)) << i;
  EXPECT_FALSE(pa.allocate(a, kUdp, 0));
  EXPECT_FALSE(pa.in_use(a, kUdp, 2047));
  EXPECT_TRUE(pa.in_use(a, kUdp, 65535));
}

TEST(PortAllocator, HintHonouredWhenFreeAndInRange) {
  PortAllocator pa(2048, 65535);
  IpAddr a = ip("198.51.100.1");
  EXPECT_EQ(pa.allocate(a, kTcp, 40000), std::optional<uint16_t>(40000));
  auto second = pa.allocate(a, kTcp, 40000);  // taken: another one
  ASSERT_TRUE(second);
  EXPECT_NE(*second, 40000);
  auto low = pa.allocate(a, kTcp, 80);  // out of range: not honoured
  ASSERT_TRUE(low);
  EXPECT_GE(*low, 2048);
  EXPECT_EQ(pa.allocate(a, kTcp, 65535), std::optional<uint16_t>(65535));
}

TEST(PortAllocator, ReleasedPortNotReusedImmediately) {
  PortAllocator pa(2048, 2055);
  IpAddr a = ip("198.51.100.1");
  auto p1 = pa.allocate(a, kTcp, 0);
  ASSERT_TRUE(p1);
  pa.release(a, kTcp, *p1);
  auto p2 = pa.allocate(a, kTcp, 0);
  ASSERT_TRUE(p2);
  EXPECT_NE(*p1, *p2);  // the cursor moved on
}

TEST(PortAllocator, ReserveAndReleaseBookkeeping) {
  PortAllocator pa(2048, 2050);
  IpAddr a = ip("198.51.100.1");
  EXPECT_TRUE(pa.reserve(a, kTcp, 80));  // outside the range: allowed, never allocated
  EXPECT_FALSE(pa.reserve(a, kTcp, 80));
  EXPECT_TRUE(pa.reserve(a, kTcp, 2049));
  EXPECT_EQ(pa.used(a), 2u);
  // Two free ports in range remain despite the out-of-range reservation.
  EXPECT_TRUE(pa.allocate(a, kTcp, 0));
  EXPECT_TRUE(pa.allocate(a, kTcp, 0));
  EXPECT_FALSE(pa.allocate(a, kTcp, 0));
  pa.release(a, kTcp, 80);
  pa.release(a, kTcp, 80);    // double release is harmless
  pa.release(a, kUdp, 2049);  // never held
  pa.release(ip("1.2.3.4"), kTcp, 2049);
  EXPECT_EQ(pa.used(a), 3u);
  EXPECT_TRUE(pa.in_use(a, kTcp, 2049));
  EXPECT_FALSE(pa.allocate(a, kTcp, 0));
}

TEST(PortAllocator, AddressesAndProtocolsAreIndependent) {
  PortAllocator pa(3000, 3003);
  IpAddr a = ip("198.51.100.1"), b = ip("198.51.100.2"), c = ip("2001:db8::1");
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(pa.allocate(a, kTcp, 0));
  }
  EXPECT_FALSE(pa.allocate(a, kTcp, 0));
  EXPECT_EQ(pa.allocate(a, kUdp, 3001), std::optional<uint16_t>(3001));
  EXPECT_EQ(pa.allocate(b, kTcp, 3001), std::optional<uint16_t>(3001));
  EXPECT_EQ(pa.allocate(c, kTcp, 3001), std::optional<uint16_t>(3001));
  EXPECT_EQ(pa.used(a), 5u);
  EXPECT_EQ(pa.used(b), 1u);
  EXPECT_EQ(pa.used(c), 1u);
  EXPECT_EQ(pa.used_total(), 7u);
  EXPECT_FALSE(pa.in_use(b, kUdp, 3001));
}

TEST(PortAllocator, RandomChurnMatchesModel) {
  PortAllocator pa(2048, 4095);  // small range so exhaustion happens too
  IpAddr addrs[2] = {ip("198.51.100.1"), ip("198.51.100.2")};
  uint8_t protos[2] = {kTcp, kUdp};
  std::set<uint16_t> model[2][2];
  std::mt19937 rng(99);
  int exhausted = 0;
  for (int op = 0; op < 200000; ++op) {
    int ai = rng() % 2, pi = rng() % 2;
    std::set<uint16_t>& m = model[ai][pi];
    bool alloc = m.empty() || rng() % 100 < (m.size() < 1900 ? 55 : 45);
    if (alloc) {
      uint16_t hint = rng() % 3 == 0 ? static_cast<uint16_t>(2000 + rng() % 2200) : 0;
      const bool hint_free = hint >= 2048 && hint <= 4095 && !m.count(hint);
      auto p = pa.allocate(addrs[ai], protos[pi], hint);
      if (m.size() == 2048) {
        ASSERT_FALSE(p);
        ++exhausted;
        continue;
      }
      ASSERT_TRUE(p);
      ASSERT_GE(*p, 2048);
      ASSERT_LE(*p, 4095);
      ASSERT_TRUE(m.insert(*p).second) << "duplicate port " << *p << " at op " << op;
      if (hint_free) {
        ASSERT_EQ(*p, hint);
      }
    } else {
      auto it = m.begin();
      std::advance(it, rng() % m.size());
      ASSERT_TRUE(pa.in_use(addrs[ai], protos[pi], *it));
      pa.release(addrs[ai], protos[pi], *it);
      m.erase(it);
    }
  }
  size_t total = 0;
  for (int ai = 0; ai < 2; ++ai) {
    size_t per_addr = model[ai][0].size() + model[ai][1].size();
    EXPECT_EQ(pa.used(addrs[ai]), per_addr);
    total += per_addr;
  }
  EXPECT_EQ(pa.used_total(), total);
  EXPECT_EQ(pa.exhausted(), static_cast<uint64_t>(exhausted));
}

TEST(PortAllocator, TwoThreadsNeverShareAPort) {
  PortAllocator pa(2048, 2048 + 999);
  IpAddr a = ip("198.51.100.1");
  static std::array<std::atomic<bool>, 65536> owned{};
  std::atomic<int> dup{0};
  auto worker = [&](unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<uint16_t> mine;
    for (int op = 0; op < 100000; ++op) {
      if (mine.empty() || rng() % 2) {
        auto p = pa.allocate(a, kTcp, static_cast<uint16_t>(2048 + rng() % 1000));
        if (!p) continue;
        if (owned[*p].exchange(true)) dup.fetch_add(1);
        mine.push_back(*p);
      } else {
        size_t i = rng() % mine.size();
        uint16_t p = mine[i];
        mine[i] = mine.back();
        mine.pop_back();
        owned[p].store(false);
        pa.release(a, kTcp, p);
      }
    }
    for (uint16_t p : mine) {
      owned[p].store(false);
      pa.release(a, kTcp, p);
    }
  };
  std::thread t1(worker, 1), t2(worker, 2);
  t1.join();
  t2.join();
  EXPECT_EQ(dup.load(), 0);
  EXPECT_EQ(pa.used(a), 0u);
}

// ---------------------------------------------------------------------------

TEST(NoPat, SameInsideSameGlobalWhileReferenced) {
  NoPatBindings nb({ip("198.51.100.10"), ip("198.51.100.11")});
  IpAddr in1 = ip("10.0.0.1");
  auto g1 = nb.acquire(in1);
  ASSERT_TRUE(g1);
  EXPECT_EQ(nb.acquire(in1), g1);
  EXPECT_EQ(nb.acquire(in1), g1);
  EXPECT_EQ(nb.lookup(in1), g1);
  EXPECT_EQ(nb.reverse(*g1), std::optional<IpAddr>(in1));
  EXPECT_EQ(nb.bound(), 1u);
  auto bs = nb.bindings();
  ASSERT_EQ(bs.size(), 1u);
  EXPECT_EQ(bs[0].inside, in1);
  EXPECT_EQ(bs[0].global, *g1);
  EXPECT_EQ(bs[0].refs, 3u);

  nb.release(in1);
  nb.release(in1);
  EXPECT_EQ(nb.lookup(in1), g1);  // one session left
  nb.release(in1);
  EXPECT_FALSE(nb.lookup(in1));
  EXPECT_FALSE(nb.reverse(*g1));
  EXPECT_EQ(nb.bound(), 0u);
  nb.release(in1);  // unknown: harmless
}

TEST(NoPat, ExhaustionAndHandOverAfterLastRelease) {
  NoPatBindings nb({ip("198.51.100.10"), ip("198.51.100.11"), ip("198.51.100.10")});
  IpAddr in1 = ip("10.0.0.1"), in2 = ip("10.0.0.2"), in3 = ip("10.0.0.3");
  auto g1 = nb.acquire(in1), g2 = nb.acquire(in2);
  ASSERT_TRUE(g1 && g2);
  EXPECT_NE(*g1, *g2);  // the duplicate pool entry did not give a third address
  EXPECT_FALSE(nb.acquire(in3));
  EXPECT_EQ(nb.exhausted(), 1u);
  EXPECT_FALSE(nb.lookup(in3));

  nb.release(in1);
  auto g3 = nb.acquire(in3);
  ASSERT_TRUE(g3);
  EXPECT_EQ(*g3, *g1);  // the freed address went to the next host
  EXPECT_EQ(nb.reverse(*g1), std::optional<IpAddr>(in3));
  EXPECT_FALSE(nb.acquire(in1));
}

TEST(NoPat, FamiliesAreSeparate) {
  NoPatBindings nb({ip("198.51.100.10"), ip("2001:db8:ff::10")});
  auto g6 = nb.acquire(ip("fd00::1"));
  ASSERT_TRUE(g6);
  EXPECT_TRUE(g6->is_v6());
  auto g4 = nb.acquire(ip("10.0.0.1"));
  ASSERT_TRUE(g4);
  EXPECT_TRUE(g4->is_v4());
  EXPECT_FALSE(nb.acquire(ip("fd00::2")));
  EXPECT_FALSE(nb.acquire(IpAddr{}));
}

TEST(NoPat, TwoThreads) {
  std::vector<IpAddr> pool;
  for (int i = 0; i < 16; ++i) pool.push_back(IpAddr::v4(0xc6336400u + static_cast<uint32_t>(i)));
  NoPatBindings nb(pool);
  auto worker = [&](unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<IpAddr> held;
    for (int op = 0; op < 50000; ++op) {
      if (held.empty() || rng() % 2) {
        IpAddr in = IpAddr::v4(0x0a000000u + rng() % 32);
        auto g = nb.acquire(in);
        if (!g) continue;
        EXPECT_EQ(nb.reverse(*g), std::optional<IpAddr>(in));
        held.push_back(in);
      } else {
        size_t i = rng() % held.size();
        nb.release(held[i]);
        held[i] = held.back();
        held.pop_back();
      }
    }
    for (const IpAddr& in : held) nb.release(in);
  };
  std::thread t1(worker, 1), t2(worker, 2);
  t1.join();
  t2.join();
  EXPECT_EQ(nb.bound(), 0u);
}

}  // namespace
}  // namespace fw::nat
