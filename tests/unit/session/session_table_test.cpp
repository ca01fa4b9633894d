// SessionTable: insert/lookup, caps, aging, removal paths, concurrency.
#include "session/session_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "common/counters.h"

namespace fw::session {
namespace {

using common::IpAddr;
using common::ManualClock;

FlowKey v4key(uint32_t s, uint32_t d, uint16_t sp, uint16_t dp, uint8_t proto = 6) {
  FlowKey k;
  k.src = IpAddr::v4(s);
  k.dst = IpAddr::v4(d);
  k.sport = sp;
  k.dport = dp;
  k.proto = proto;
  return k;
}

// Flow i: 10.0.x.y:(1024+i%50000) -> 198.51.100.1:80, reply as if source-NATed to 203.0.113.1.
Session make_session(uint32_t i, uint32_t timeout_s = 100) {
  Session s;
  s.orig = v4key(0x0a000000 + i, 0xc6336401, static_cast<uint16_t>(1024 + i % 50000), 80);
  s.reply = v4key(0xc6336401, 0xcb007101, 80, static_cast<uint16_t>(2048 + i % 60000));
  s.reply.dst = IpAddr::v4(0xcb007100 + (i >> 16));
  s.timeout_s = timeout_s;
  return s;
}

class TableTest : public ::testing::Test {
 protected:
  ManualClock clock{1'000'000};
};

TEST_F(TableTest, InsertAndLookupBothDirections) {
  common::CounterTable ctr;
  SessionTable t(clock, {}, ctr);
  Session s = make_session(1);
  s.app = 7;
  uint64_t id = 0;
  ASSERT_EQ(t.insert(s, &id), InsertResult::kOk);
  EXPECT_NE(id, 0u);
  EXPECT_EQ(t.size(), 1u);

  Dir seen = Dir::kReply;
  EXPECT_TRUE(t.with_session(s.orig, [&](Session& x, Dir d) {
    seen = d;
    EXPECT_EQ(x.id, id);
    EXPECT_EQ(x.app, 7);
    EXPECT_EQ(x.created_ms, 1'000'000u);  // filled from the clock
    EXPECT_EQ(x.last_seen_ms, 1'000'000u);
    x.packets[0]++;
  }));
  EXPECT_EQ(seen, Dir::kOriginal);
  EXPECT_TRUE(t.with_session(s.reply, [&](Session& x, Dir d) {
    seen = d;
    EXPECT_EQ(x.packets[0], 1u);
  }));
  EXPECT_EQ(seen, Dir::kReply);

  EXPECT_FALSE(t.with_session(s.orig.reversed(), [](Session&, Dir) { FAIL(); }));
  EXPECT_FALSE(t.with_session(make_session(2).orig, [](Session&, Dir) { FAIL(); }));
}

// (disp) Live counts by protocol and of IPv6 sessions follow inserts, erases and aging.
TEST_F(TableTest, ProtocolAndIpv6CountsFollowInsertAndRemoval) {
  common::CounterTable ctr;
  SessionTable t(clock, {}, ctr);
  using Counts = std::vector<std::pair<uint8_t, size_t>>;
  EXPECT_EQ(t.protocol_counts(), Counts{});
  uint64_t tcp_id = 0;
  ASSERT_EQ(t.insert(make_session(1), &tcp_id), InsertResult::kOk);
  ASSERT_EQ(t.insert(make_session(2, 1)), InsertResult::kOk);  // ages after 1 s
  Session u = make_session(3);
  u.orig.proto = u.reply.proto = 17;
  ASSERT_EQ(t.insert(u), InsertResult::kOk);
  Session v6;
  v6.orig.src = *IpAddr::parse("2001:db8:1::2");
  v6.orig.dst = *IpAddr::parse("2001:db8:3::2");
  v6.orig.sport = 40000;
  v6.orig.dport = 7000;
  v6.orig.proto = 6;
  v6.reply = v6.orig.reversed();
  v6.timeout_s = 100;
  ASSERT_EQ(t.insert(v6), InsertResult::kOk);
  EXPECT_EQ(t.insert(u), InsertResult::kExists);  // a refused insert counts nothing
  EXPECT_EQ(t.protocol_counts(), (Counts{{6, 3}, {17, 1}}));
  EXPECT_EQ(t.ipv6_size(), 1u);
  EXPECT_TRUE(t.erase(tcp_id));
  EXPECT_EQ(t.erase_if([](const Session& s) { return s.orig.src.is_v6(); }), 1u);
  clock.advance_ms(2000);
  t.expire(100);
  EXPECT_EQ(t.protocol_counts(), (Counts{{17, 1}}));
  EXPECT_EQ(t.ipv6_size(), 0u);
  EXPECT_EQ(t.size(), 1u);
}

TEST_F(TableTest, IdsAreUniqueIncreasingAndKeepGivenTimes) {
  common::CounterTable ctr;
  SessionTable t(clock, {}, ctr);
  uint64_t prev = 0;
  for (uint32_t i = 0; i < 100; ++i) {
    Session s = make_session(i);
    s.created_ms = 5;
    s.last_seen_ms = 6;
    uint64_t id = 0;
    ASSERT_EQ(t.insert(s, &id), InsertResult::kOk);
    EXPECT_GT(id, prev);
    prev = id;
  }
  EXPECT_TRUE(t.with_session_id(prev, [](Session& x) {
    EXPECT_EQ(x.created_ms, 5u);
    EXPECT_EQ(x.last_seen_ms, 6u);
  }));
}

TEST_F(TableTest, ExistsOnDuplicateAndOnCollidingReplyKey) {
  common::CounterTable ctr;
  SessionTable t(clock, {}, ctr);
  const Session a = make_session(1);
  ASSERT_EQ(t.insert(a), InsertResult::kOk);
  EXPECT_EQ(t.insert(a), InsertResult::kExists);

  Session b = make_session(2);
  b.reply = a.reply;  // another flow NATed onto the same reply tuple
  EXPECT_EQ(t.insert(b), InsertResult::kExists);

  Session c = make_session(3);
  c.orig = a.reply;  // new flow whose original key is a's reply key
  EXPECT_EQ(t.insert(c), InsertResult::kExists);

  Session d = make_session(4);
  d.reply = a.orig;
  EXPECT_EQ(t.insert(d), InsertResult::kExists);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.insert(make_session(2)), InsertResult::kOk);
}

TEST_F(TableTest, SymmetricKeyIndexedOnce) {
  common::CounterTable ctr;
  SessionTable t(clock, {}, ctr);
  Session s;
  s.orig = v4key(0x7f000001, 0x7f000001, 5000, 5000, 17);
  s.reply = s.orig.reversed();  // identical to orig
  ASSERT_EQ(t.insert(s), InsertResult::kOk);
  EXPECT_TRUE(t.with_session(s.orig, [](Session&, Dir d) { EXPECT_EQ(d, Dir::kOriginal); }));
  EXPECT_EQ(t.erase_if({}), 1u);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.insert(s), InsertResult::kOk);
}

TEST_F(TableTest, FullAtCapAndCounted) {
  TableOptions opt;
  opt.max_sessions = 10;
  opt.shards = 4;
  common::CounterTable ctr;
  SessionTable t(clock, opt, ctr);
  EXPECT_EQ(t.capacity(), 10u);
  const uint64_t before = ctr.value("session.drop.table-full");
  for (uint32_t i = 0; i < 10; ++i) ASSERT_EQ(t.insert(make_session(i)), InsertResult::kOk);
  EXPECT_EQ(t.insert(make_session(10)), InsertResult::kFull);
  EXPECT_EQ(t.insert(make_session(11)), InsertResult::kFull);
  EXPECT_EQ(ctr.value("session.drop.table-full"), before + 2);
  EXPECT_EQ(t.insert(make_session(3)), InsertResult::kExists);  // duplicate wins over full
  EXPECT_EQ(t.size(), 10u);
  // Room again after a removal; the freed slot is reused.
  ASSERT_EQ(t.erase_if([](const Session& s) { return s.orig.sport == 1024 + 4; }), 1u);
  EXPECT_EQ(t.insert(make_session(10)), InsertResult::kOk);
  EXPECT_EQ(t.size(), 10u);
}

TEST_F(TableTest, CreatedAndRemovedCounters) {
  common::CounterTable ctr;
  SessionTable t(clock, {}, ctr);
  const uint64_t c0 = ctr.value("session.created"), r0 = ctr.value("session.removed");
  uint64_t id = 0;
  ASSERT_EQ(t.insert(make_session(1), &id), InsertResult::kOk);
  ASSERT_EQ(t.insert(make_session(2)), InsertResult::kOk);
  EXPECT_EQ(ctr.value("session.created"), c0 + 2);
  EXPECT_TRUE(t.erase(id));
  EXPECT_EQ(t.erase_if({}), 1u);
  EXPECT_EQ(ctr.value("session.removed"), r0 + 2);
}

TEST_F(TableTest, ExpireBeforeAndAfterTimeout) {
  common::CounterTable ctr;
  SessionTable t(clock, {}, ctr);
  std::vector<uint64_t> removed;
  t.set_on_remove([&](const Session& s) { removed.push_back(s.id); });
  uint64_t short_id = 0, long_id = 0;
  ASSERT_EQ(t.insert(make_session(1, 10), &short_id), InsertResult::kOk);
  ASSERT_EQ(t.insert(make_session(2, 100), &long_id), InsertResult::kOk);
  const uint64_t aged0 = ctr.value("session.aged");

  clock.advance_s(10);  // exactly the timeout: not yet idle *longer* than it
  EXPECT_EQ(t.expire(100), 0u);
  clock.advance_ms(1);
  EXPECT_EQ(t.expire(100), 1u);
  EXPECT_EQ(removed, std::vector<uint64_t>{short_id});
  EXPECT_EQ(t.size(), 1u);
  EXPECT_FALSE(t.with_session(make_session(1).orig, [](Session&, Dir) {}));

  // Activity pushes aging back.
  clock.advance_s(80);
  ASSERT_TRUE(t.with_session(make_session(2).reply,
                             [&](Session& s, Dir) { s.last_seen_ms = clock.now_ms(); }));
  clock.advance_s(90);
  EXPECT_EQ(t.expire(100), 0u);
  clock.advance_s(11);
  EXPECT_EQ(t.expire(100), 1u);
  EXPECT_EQ(removed.size(), 2u);
  EXPECT_EQ(ctr.value("session.aged"), aged0 + 2);
  EXPECT_EQ(t.size(), 0u);
}

TEST_F(TableTest, ZeroTimeoutExpiresAtOnce) {
  common::CounterTable ctr;
  SessionTable t(clock, {}, ctr);
  ASSERT_EQ(t.insert(make_session(1, 0)), InsertResult::kOk);
  EXPECT_EQ(t.expire(10), 1u);
}

TEST_F(TableTest, ExpireSkipsSessionInUse) {
  common::CounterTable ctr;
  SessionTable t(clock, {}, ctr);
  ASSERT_EQ(t.insert(make_session(1, 0)), InsertResult::kOk);
  // While a worker holds the session, the sweep must not wait for it (nor remove it):
  // it is in use, hence not idle. (Calling the table from fn is safe only in this
  // single-threaded test: in general fn must not re-enter the table.)
  ASSERT_TRUE(
      t.with_session(make_session(1).orig, [&](Session&, Dir) { EXPECT_EQ(t.expire(10), 0u); }));
  EXPECT_EQ(t.expire(10), 1u);
}

TEST_F(TableTest, ExpireBudgetRespectedAndCursorWraps) {
  common::CounterTable ctr;
  SessionTable t(clock, {}, ctr);
  for (uint32_t i = 0; i < 100; ++i) ASSERT_EQ(t.insert(make_session(i, 10)), InsertResult::kOk);
  clock.advance_s(11);
  EXPECT_EQ(t.expire(30), 30u);
  EXPECT_EQ(t.size(), 70u);
  EXPECT_EQ(t.expire(30), 30u);
  EXPECT_EQ(t.expire(30), 30u);
  EXPECT_EQ(t.expire(30), 10u);  // 10 left at the end of the slab, then the cursor wraps
  EXPECT_EQ(t.size(), 0u);

  // New sessions reuse freed slots (LIFO: 99 down to 60); the cursor stands at 20 and must wrap.
  for (uint32_t i = 0; i < 40; ++i)
    ASSERT_EQ(t.insert(make_session(1000 + i, 10)), InsertResult::kOk);
  clock.advance_s(11);
  size_t total = 0;
  for (int k = 0; k < 4; ++k) {
    const size_t n = t.expire(25);
    EXPECT_LE(n, 25u);
    total += n;
  }
  EXPECT_EQ(total, 40u);
  EXPECT_EQ(t.expire(1000), 0u);
}

TEST_F(TableTest, EraseEraseIfSnapshotOrderAndOnRemove) {
  common::CounterTable ctr;
  SessionTable t(clock, {}, ctr);
  std::vector<uint64_t> removed;
  t.set_on_remove([&](const Session& s) { removed.push_back(s.id); });
  std::vector<uint64_t> ids;
  for (uint32_t i = 0; i < 50; ++i) {
    uint64_t id = 0;
    Session s = make_session(i);
    s.src_zone = static_cast<uint8_t>(i % 3);
    ASSERT_EQ(t.insert(s, &id), InsertResult::kOk);
    ids.push_back(id);
  }
  // Free a few slots and refill them so slot order differs from id order.
  ASSERT_TRUE(t.erase(ids[3]));
  ASSERT_TRUE(t.erase(ids[7]));
  EXPECT_FALSE(t.erase(ids[7]));
  EXPECT_FALSE(t.erase(0));
  EXPECT_FALSE(t.erase(ids[7] + (uint64_t{1} << 40)));
  EXPECT_EQ(removed, (std::vector<uint64_t>{ids[3], ids[7]}));
  for (uint32_t i = 50; i < 52; ++i) {
    Session s = make_session(i);
    s.src_zone = static_cast<uint8_t>(i % 3);
    ASSERT_EQ(t.insert(s), InsertResult::kOk);
  }

  auto all = t.snapshot();
  ASSERT_EQ(all.size(), 50u);
  for (size_t i = 1; i < all.size(); ++i) EXPECT_LT(all[i - 1].id, all[i].id);
  auto zone1 = t.snapshot([](const Session& s) { return s.src_zone == 1; });
  for (const auto& s : zone1) EXPECT_EQ(s.src_zone, 1);
  EXPECT_EQ(zone1.size(), 16u);  // i%3==1 for i in [0,50): 17, minus erased i=7

  removed.clear();
  EXPECT_EQ(t.erase_if([](const Session& s) { return s.src_zone == 1; }), 16u);
  EXPECT_EQ(removed.size(), 16u);
  EXPECT_EQ(t.size(), 34u);
  EXPECT_TRUE(t.snapshot([](const Session& s) { return s.src_zone == 1; }).empty());
  for (const auto& s : zone1) {
    EXPECT_FALSE(t.with_session(s.orig, [](Session&, Dir) {}));
    EXPECT_FALSE(t.with_session(s.reply, [](Session&, Dir) {}));
    EXPECT_FALSE(t.with_session_id(s.id, [](Session&) {}));
  }
}

TEST_F(TableTest, WithSessionId) {
  common::CounterTable ctr;
  SessionTable t(clock, {}, ctr);
  uint64_t id = 0;
  ASSERT_EQ(t.insert(make_session(5), &id), InsertResult::kOk);
  EXPECT_TRUE(t.with_session_id(id, [](Session& s) { s.policy = 9; }));
  EXPECT_TRUE(
      t.with_session(make_session(5).reply, [](Session& s, Dir) { EXPECT_EQ(s.policy, 9); }));
  EXPECT_FALSE(t.with_session_id(0, [](Session&) { FAIL(); }));
  EXPECT_FALSE(t.with_session_id(id + 1, [](Session&) { FAIL(); }));  // slot never used
  EXPECT_FALSE(t.with_session_id(id + (uint64_t{7} << 30),
                                 [](Session&) { FAIL(); }));  // same slot, other id
  ASSERT_TRUE(t.erase(id));
  EXPECT_FALSE(t.with_session_id(id, [](Session&) { FAIL(); }));
  uint64_t id2 = 0;
  ASSERT_EQ(t.insert(make_session(6), &id2), InsertResult::kOk);  // reuses the slot
  EXPECT_NE(id2, id);
  EXPECT_FALSE(t.with_session_id(id, [](Session&) { FAIL(); }));
  EXPECT_TRUE(t.with_session_id(id2, [](Session&) {}));
}

TEST_F(TableTest, Ipv6AndVpnKeys) {
  common::CounterTable ctr;
  SessionTable t(clock, {}, ctr);
  uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  Session s;
  s.orig.src = IpAddr::v6_bytes(a);
  s.orig.dst = IpAddr::v6_bytes(b);
  s.orig.sport = 1000;
  s.orig.dport = 443;
  s.orig.proto = 6;
  s.reply = s.orig.reversed();
  ASSERT_EQ(t.insert(s), InsertResult::kOk);
  Session v = s;
  v.orig.vpn = v.reply.vpn = 3;  // same tuple, other VPN: another session
  ASSERT_EQ(t.insert(v), InsertResult::kOk);
  EXPECT_TRUE(t.with_session(s.reply, [](Session& x, Dir d) {
    EXPECT_EQ(d, Dir::kReply);
    EXPECT_EQ(x.orig.vpn, 0);
  }));
  EXPECT_TRUE(t.with_session(v.orig, [](Session& x, Dir) { EXPECT_EQ(x.orig.vpn, 3); }));
}

TEST_F(TableTest, GrowAndShrinkKeepsEverythingReachable) {
  TableOptions opt;
  opt.shards = 2;
  common::CounterTable ctr;
  SessionTable t(clock, opt, ctr);
  const size_t empty_bytes = t.memory_bytes();
  EXPECT_LT(empty_bytes, 64u * 1024);  // no pre-sizing for the cap
  constexpr uint32_t kN = 20000;
  for (uint32_t i = 0; i < kN; ++i) ASSERT_EQ(t.insert(make_session(i)), InsertResult::kOk);
  const size_t full_bytes = t.memory_bytes();
  EXPECT_GT(full_bytes, kN * sizeof(Session));
  EXPECT_LT(full_bytes, kN * (sizeof(Session) + 40) + (1u << 20));
  for (uint32_t i = 0; i < kN; ++i) {
    ASSERT_TRUE(t.with_session(make_session(i).orig, [](Session&, Dir) {})) << i;
    ASSERT_TRUE(t.with_session(make_session(i).reply, [](Session&, Dir) {})) << i;
  }
  EXPECT_EQ(t.erase_if([](const Session& s) { return s.orig.sport % 10 != 0; }), kN - kN / 10);
  EXPECT_LT(t.memory_bytes(), full_bytes);  // the index shrank (the slab is kept)
  for (uint32_t i = 0; i < kN; ++i) {
    const bool want = (1024 + i % 50000) % 10 == 0;
    ASSERT_EQ(t.with_session(make_session(i).orig, [](Session&, Dir) {}), want) << i;
    ASSERT_EQ(t.with_session(make_session(i).reply, [](Session&, Dir) {}), want) << i;
  }
}

// A table that drained starts again from slot 0 (its free list goes back to the allocator), and
// everything inserted afterwards is reachable, listed once and removable.
TEST_F(TableTest, DrainedTableStartsAgainFromSlotZero) {
  TableOptions opt;
  opt.shards = 2;
  opt.max_sessions = 1u << 16;  // 16 slot bits in an id
  common::CounterTable ctr;
  SessionTable t(clock, opt, ctr);
  constexpr uint32_t kN = 5000;
  for (int round = 0; round < 3; ++round) {
    for (uint32_t i = 0; i < kN; ++i) {
      uint64_t id = 0;
      ASSERT_EQ(t.insert(make_session(i + round), &id), InsertResult::kOk);
      if (i == 0) {
        EXPECT_EQ(id & 0xffff, 0u) << "round " << round;
      }
    }
    ASSERT_EQ(t.size(), kN);
    EXPECT_EQ(t.snapshot().size(), kN);
    for (uint32_t i = 0; i < kN; ++i) {
      ASSERT_TRUE(t.with_session(make_session(i + round).reply, [](Session&, Dir) {})) << i;
    }
    // Half removed (the odd slots) leaves the bump pointer where it is: the lowest free slot is
    // reused (1, not 0, which is live); the rest drains the table.
    EXPECT_EQ(t.erase_if([](const Session& s) { return (s.id & 0xffff) % 2 == 1; }), kN / 2);
    uint64_t probe = 0;
    ASSERT_EQ(t.insert(make_session(kN + 7), &probe), InsertResult::kOk);
    EXPECT_EQ(probe & 0xffff, 1u);
    EXPECT_EQ(t.erase_if([](const Session&) { return true; }), kN / 2 + 1);
    EXPECT_EQ(t.size(), 0u);
  }
}

// A big table (huge pages) drained to one straggler at its very end keeps that session's page
// and nothing else of its slab - not the huge page around it, nor the rounding after the slab's
// end that the huge page also covered - and a table drained to nothing keeps nothing.
TEST_F(TableTest, DrainedBigTableGivesItsSlabBack) {
  TableOptions opt;
  opt.max_sessions = 8192 * 25 + 16;  // the slab ends 4 KiB into a 2 MiB page
  common::CounterTable ctr;
  SessionTable t(clock, opt, ctr);
  auto flow = [](uint32_t i) {
    Session s = make_session(i);
    s.reply.dst = IpAddr::v4(0xcb000000 + i);  // unique reply keys at this size
    return s;
  };
  const uint32_t n = static_cast<uint32_t>(opt.max_sessions);
  for (uint32_t i = 0; i < n; ++i) ASSERT_EQ(t.insert(flow(i)), InsertResult::kOk) << i;
  EXPECT_GE(t.resident_slab_bytes(), size_t{n} * sizeof(Session));
  const IpAddr last = flow(n - 1).orig.src;
  EXPECT_EQ(t.erase_if([&](const Session& s) { return !(s.orig.src == last); }), n - 1);
  EXPECT_LE(t.resident_slab_bytes(), size_t{2} * 4096) << "one straggler, its page(s) only";
  EXPECT_TRUE(t.with_session(flow(n - 1).reply, [](Session&, Dir) {}));
  EXPECT_EQ(t.erase_if([](const Session&) { return true; }), 1u);
  EXPECT_EQ(t.resident_slab_bytes(), 0u);
  ASSERT_EQ(t.insert(flow(1)), InsertResult::kOk);  // and it fills again from its head
  EXPECT_LE(t.resident_slab_bytes(), size_t{2} * 4096);
}

TEST_F(TableTest, ChurnWithTombstones) {
  // Insert/erase cycles on a small table: tombstones must not make lookups fail or loop.
  TableOptions opt;
  opt.shards = 1;
  opt.max_sessions = 64;
  common::CounterTable ctr;
  SessionTable t(clock, opt, ctr);
  std::mt19937 rng(42);
  std::vector<uint64_t> live(2000, 0);
  for (int step = 0; step < 50000; ++step) {
    const uint32_t i = rng() % 2000;
    if (live[i]) {
      ASSERT_TRUE(t.erase(live[i]));
      live[i] = 0;
    } else {
      uint64_t id = 0;
      const auto r = t.insert(make_session(i), &id);
      if (r == InsertResult::kOk)
        live[i] = id;
      else
        ASSERT_EQ(r, InsertResult::kFull);
    }
  }
  size_t n = 0;
  for (uint32_t i = 0; i < 2000; ++i) {
    const bool present = t.with_session(make_session(i).reply, [](Session&, Dir) {});
    EXPECT_EQ(present, live[i] != 0) << i;
    n += present;
  }
  EXPECT_EQ(n, t.size());
}

TEST_F(TableTest, ConcurrentInsertLookupEraseExpire) {
  TableOptions opt;
  opt.shards = 8;
  opt.max_sessions = 5000;
  common::CounterTable ctr;
  SessionTable t(clock, opt, ctr);
  std::atomic<uint64_t> removed_cb{0};
  t.set_on_remove([&](const Session&) { removed_cb.fetch_add(1); });
  constexpr int kThreads = 4;
  constexpr uint32_t kFlows = 4000;
  std::atomic<uint64_t> inserted{0}, erased{0}, full{0};
  std::vector<std::thread> th;
  for (int w = 0; w < kThreads; ++w) {
    th.emplace_back([&, w] {
      std::mt19937 rng(1000 + w);
      for (int step = 0; step < 20000; ++step) {
        const uint32_t i = rng() % kFlows;
        const Session s = make_session(i);
        switch (rng() % 4) {
          case 0: {
            const auto r = t.insert(s);
            if (r == InsertResult::kOk) inserted.fetch_add(1);
            if (r == InsertResult::kFull) full.fetch_add(1);
            break;
          }
          case 1:
            // The other direction may be processed by another thread at the same time:
            // a non-atomic read-modify-write stays consistent only with exclusive access.
            t.with_session(s.orig, [](Session& x, Dir d) {
              x.packets[static_cast<int>(d)]++;
              x.bytes[0] += 10;
            });
            break;
          case 2:
            t.with_session(s.reply, [](Session& x, Dir d) {
              ASSERT_EQ(d, Dir::kReply);
              x.packets[static_cast<int>(d)]++;
              x.bytes[0] += 10;
            });
            break;
          case 3:
            if (rng() % 4 == 0) {
              uint64_t id = 0;
              t.with_session(s.orig, [&](Session& x, Dir) { id = x.id; });
              if (id && t.erase(id)) erased.fetch_add(1);
            }
            break;
        }
      }
    });
  }
  // A maintenance thread sweeps (nothing is idle: the clock stands still) and snapshots meanwhile.
  th.emplace_back([&] {
    for (int k = 0; k < 200; ++k) {
      t.expire(64);
      auto snap = t.snapshot([](const Session& s) { return s.orig.sport % 7 == 0; });
      for (const auto& s : snap) {
        ASSERT_EQ(s.bytes[0], (s.packets[0] + s.packets[1]) * 10);
      }
    }
  });
  for (auto& x : th) x.join();
  EXPECT_EQ(inserted.load(), t.size() + erased.load());  // nothing ages: timeouts are 100 s
  EXPECT_EQ(removed_cb.load(), erased.load());
  for (const auto& s : t.snapshot()) {
    EXPECT_EQ(s.bytes[0], (s.packets[0] + s.packets[1]) * 10);
    EXPECT_TRUE(t.with_session(s.reply, [](Session&, Dir) {}));
  }
  const size_t left = t.size();
  EXPECT_EQ(t.erase_if({}), left);
  EXPECT_TRUE(t.snapshot().empty());
}

TEST_F(TableTest, RacingInsertOfSameFlowExactlyOneWins) {
  common::CounterTable ctr;
  SessionTable t(clock, {}, ctr);
  for (uint32_t round = 0; round < 200; ++round) {
    std::atomic<int> ok{0}, exists{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> th;
    for (int w = 0; w < 3; ++w) {
      th.emplace_back([&] {
        while (!go.load()) {
        }
        const auto r = t.insert(make_session(round));
        if (r == InsertResult::kOk) ok.fetch_add(1);
        if (r == InsertResult::kExists) exists.fetch_add(1);
      });
    }
    go.store(true);
    for (auto& x : th) x.join();
    ASSERT_EQ(ok.load(), 1);
    ASSERT_EQ(exists.load(), 2);
  }
  EXPECT_EQ(t.size(), 200u);
}

}  // namespace
}  // namespace fw::session

namespace fw::session {
namespace {

// "stream" area: the counts by TCP state and zone pair follow inserts, state changes in
// with_session / with_session_id, removal and aging (the statistics display reads no session).
TEST(TableCounts, StateAndZoneCountsFollowEveryChange) {
  common::ManualClock clock{1'000'000};
  common::CounterTable ctr;
  SessionTable t(clock, {}, ctr);
  using States = std::vector<std::pair<TcpState, size_t>>;
  using Zones = std::vector<std::pair<std::pair<uint8_t, uint8_t>, size_t>>;
  auto make = [](uint32_t i, TcpState st, uint8_t sz, uint8_t dz) {
    Session s;
    s.orig.src = common::IpAddr::v4(0x0a000000 + i);
    s.orig.dst = common::IpAddr::v4(0xc6336401);
    s.orig.sport = static_cast<uint16_t>(1024 + i);
    s.orig.dport = 80;
    s.orig.proto = 6;
    s.reply = s.orig.reversed();
    s.tcp_state = st;
    s.src_zone = sz;
    s.dst_zone = dz;
    s.timeout_s = 100;
    return s;
  };
  uint64_t a = 0, b = 0;
  ASSERT_EQ(t.insert(make(1, TcpState::kSynSent, 1, 2), &a), InsertResult::kOk);
  ASSERT_EQ(t.insert(make(2, TcpState::kSynSent, 1, 2), &b), InsertResult::kOk);
  ASSERT_EQ(t.insert(make(3, TcpState::kNone, 3, 2)), InsertResult::kOk);
  EXPECT_EQ(t.state_counts(), (States{{TcpState::kSynSent, 2}}));
  EXPECT_EQ(t.zone_counts(), (Zones{{{1, 2}, 2}, {{3, 2}, 1}}));
  t.with_session(make(1, TcpState::kNone, 0, 0).orig,
                 [](Session& s, Dir) { s.tcp_state = TcpState::kEstablished; });
  t.with_session_id(b, [](Session& s) { s.tcp_state = TcpState::kClosing; });
  EXPECT_EQ(t.state_counts(), (States{{TcpState::kEstablished, 1}, {TcpState::kClosing, 1}}));
  EXPECT_TRUE(t.erase(a));
  EXPECT_EQ(t.state_counts(), (States{{TcpState::kClosing, 1}}));
  EXPECT_EQ(t.zone_counts(), (Zones{{{1, 2}, 1}, {{3, 2}, 1}}));
  clock.advance_ms(200'000);
  t.expire(100);
  EXPECT_EQ(t.state_counts(), States{});
  EXPECT_EQ(t.zone_counts(), Zones{});
}

}  // namespace
}  // namespace fw::session
