// Memory comes back after a flood (issue 16 item 6): a session table drained to a few stragglers
// keeps no per-free-slot list, nor the state bytes of its free slots; freed slots are reused
// lowest first; the per-source limiter gives back the bucket arrays a random-source flood grew.
#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdint>

#include "common/counters.h"
#include "session/session_table.h"
#include "session/source_limit.h"

namespace fw::session {
namespace {

using common::IpAddr;
using common::ManualClock;

// Flow i: unique keys both ways at any size here.
Session flow(uint32_t i) {
  Session s;
  s.orig.src = IpAddr::v4(0x0a000000 + i);
  s.orig.dst = IpAddr::v4(0xc6336401);
  s.orig.sport = 1024;
  s.orig.dport = 80;
  s.orig.proto = 17;
  s.reply = s.orig;
  std::swap(s.reply.src, s.reply.dst);
  std::swap(s.reply.sport, s.reply.dport);
  s.timeout_s = 100;
  return s;
}

size_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;  // arena chunks in use + mmap'd chunks
}

uint32_t slot_of(uint64_t id) { return static_cast<uint32_t>(id & 0x3ffff); }  // 2^18 slots

class MemoryReturn : public ::testing::Test {
 protected:
  static constexpr uint32_t kN = 200'000;
  ManualClock clock{1'000'000};
  common::CounterTable ctr;
  TableOptions opt() const {
    TableOptions o;
    o.max_sessions = 1u << 18;
    o.shards = 4;  // 64 index parts: what they keep when (almost) empty is small
    return o;
  }
};

// 200,000 sessions, then all but the last one inserted removed: the table does not start again
// from slot 0 (one is live), so whatever it keeps per free slot stays. It used to keep a 4-byte
// free list (800 KB here, 4 MB after a million) and every page of state bytes (1 byte a slot).
TEST_F(MemoryReturn, StragglerKeepsNoPerFreeSlotMemory) {
  SessionTable t(clock, opt(), ctr);
  const size_t empty = heap_in_use();
  uint64_t last_id = 0;
  for (uint32_t i = 0; i < kN; ++i) ASSERT_EQ(t.insert(flow(i), &last_id), InsertResult::kOk) << i;
  EXPECT_GE(t.resident_state_bytes(), size_t{kN});
  const IpAddr last = flow(kN - 1).orig.src;
  ASSERT_EQ(t.erase_if([&](const Session& s) { return !(s.orig.src == last); }), kN - 1);
  const size_t after = heap_in_use();
  // The index shrinks too (a part below 1/8 full), so the heap is back near the empty table's.
  EXPECT_LE(after, empty + 64 * 1024) << "heap in use: empty " << empty << ", after " << after;
  EXPECT_LE(t.resident_state_bytes(), size_t{4096}) << "one straggler: one page of state bytes";
  EXPECT_LE(t.resident_free_bitmap_bytes(), size_t{kN / 8 + 2 * 4096});  // 1 bit a free slot
  EXPECT_TRUE(t.with_session(flow(kN - 1).reply, [](Session&, Dir) {}));
  // Drained completely: the bitmap goes back as well. (By id: a walk over the slots, as
  // erase_if's, maps the kernel's zero page where it reads given-back state bytes, which mincore
  // counts but RSS does not.)
  ASSERT_TRUE(t.erase(last_id));
  EXPECT_EQ(t.resident_state_bytes(), 0u);
  EXPECT_EQ(t.resident_free_bitmap_bytes(), 0u);
}

// A drained table keeps no index arrays: each of its parts (64 shards x 16) used to keep one of
// 8-32 entries, scattered over the heap, each keeping its page resident after a flood.
TEST_F(MemoryReturn, DrainedTableKeepsNoIndexArrays) {
  TableOptions o = opt();
  o.shards = 64;
  SessionTable t(clock, o, ctr);
  std::vector<uint64_t> ids(kN);
  const size_t empty = heap_in_use();
  for (uint32_t i = 0; i < kN; ++i) ASSERT_EQ(t.insert(flow(i), &ids[i]), InsertResult::kOk);
  for (uint32_t i = 0; i < kN; ++i) ASSERT_TRUE(t.erase(ids[i]));
  // (Some 17 KB of freed small chunks stay in the thread's malloc cache, counted as in use;
  // the 1,024 arrays were 95 KB more.)
  EXPECT_LE(heap_in_use(), empty + 32 * 1024) << "heap in use: empty " << empty;
  for (uint32_t i = 0; i < 100; ++i) ASSERT_EQ(t.insert(flow(i)), InsertResult::kOk);
  for (uint32_t i = 0; i < 100; ++i)
    EXPECT_TRUE(t.with_session(flow(i).reply, [](Session&, Dir) {}));
}

// Freed slots are reused lowest first, so the live sessions of a table that refills after a
// flood gather at the slab's start (and its other pages stay given back).
TEST_F(MemoryReturn, FreedSlotsAreReusedLowestFirst) {
  SessionTable t(clock, opt(), ctr);
  std::vector<uint64_t> ids(kN);
  for (uint32_t i = 0; i < kN; ++i) ASSERT_EQ(t.insert(flow(i), &ids[i]), InsertResult::kOk);
  // Free every slot but the last; then free in an order that is neither ascending nor LIFO.
  for (uint32_t i = 0; i + 1 < kN; i += 2) ASSERT_TRUE(t.erase(ids[i]));
  for (uint32_t i = kN - 3; i < kN; i -= 2) ASSERT_TRUE(t.erase(ids[i]));
  ASSERT_EQ(t.size(), 1u);
  // The huge page around the last slot used (the table stopped short of its cap) included.
  EXPECT_LE(t.resident_slab_bytes(), size_t{2} * 4096);
  for (uint32_t i = 0; i < 1000; ++i) {
    uint64_t id = 0;
    ASSERT_EQ(t.insert(flow(kN + i), &id), InsertResult::kOk);
    EXPECT_EQ(slot_of(id), i) << "the lowest free slot";
  }
  // 1,000 sessions of 224 bytes from slot 0 on, plus the straggler's page(s).
  EXPECT_LE(t.resident_slab_bytes(), (1000 * sizeof(Session) / 4096 + 1) * 4096 + 2 * 4096);
  for (uint32_t i = 0; i < 1000; ++i)
    EXPECT_TRUE(t.with_session(flow(kN + i).orig, [](Session&, Dir) {})) << i;
  EXPECT_TRUE(t.with_session(flow(kN - 1).orig, [](Session&, Dir) {}));
}

// A random-source flood through a zone with per-source limits: 100,000 sources, each holding a
// session; they end, go idle, are forgotten, and the maps' bucket arrays go back.
TEST(SourceLimiterMemory, BucketArraysShrinkOnceTheHostsHaveGone) {
  ManualClock clock;
  SourceLimiter l(clock, 1'000'000);
  const SourceLimits lim{10, 0};
  const size_t empty = l.buckets();
  constexpr uint32_t kHosts = 100'000;
  for (uint32_t i = 0; i < kHosts; ++i)
    ASSERT_EQ(l.acquire(IpAddr::v4(0x0a000000 + i), lim), SourceVerdict::kOk);
  EXPECT_GE(l.buckets(), size_t{kHosts});
  for (uint32_t i = 0; i < kHosts; ++i) l.release(IpAddr::v4(0x0a000000 + i));
  clock.advance_s(3);  // idle hosts whose bucket is full again carry nothing
  l.expire();
  EXPECT_EQ(l.hosts(), 0u);
  EXPECT_LE(l.buckets(), empty + 64 * 16) << "the flood's bucket arrays were kept";
  // Still works afterwards.
  EXPECT_EQ(l.acquire(IpAddr::v4(0x0a000001), lim), SourceVerdict::kOk);
  EXPECT_EQ(l.hosts(), 1u);
}

}  // namespace
}  // namespace fw::session
