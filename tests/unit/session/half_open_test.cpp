// "halfopen" area: HalfOpenLimiter (session/half_open.h) - per destination a FIFO of half-open
// sessions; above the limit the OLDEST go, removal from anywhere in the list, attacks.
#include "session/half_open.h"

#include <gtest/gtest.h>

namespace fw::session {
namespace {

using common::IpAddr;

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

class HalfOpen : public ::testing::Test {
 protected:
  common::ManualClock clock;
  HalfOpenLimiter lim{clock};
  const IpAddr a = ip("198.18.1.5"), b = ip("198.18.1.6");
};

TEST_F(HalfOpen, AboveTheLimitTheOldestGoInOrder) {
  for (uint64_t id = 1; id <= 3; ++id) EXPECT_TRUE(lim.add(id, a, 3).evict.empty());
  EXPECT_EQ(lim.count(a), 3u);
  auto r = lim.add(4, a, 3);
  EXPECT_EQ(r.evict, std::vector<uint64_t>{1});
  EXPECT_TRUE(r.attack_starts);
  r = lim.add(5, a, 3);
  EXPECT_EQ(r.evict, std::vector<uint64_t>{2});
  EXPECT_FALSE(r.attack_starts) << "one attack";
  EXPECT_EQ(lim.ids(a), (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_EQ(lim.count(a), 3u);
  EXPECT_EQ(lim.size(), 3u);
  auto s = lim.stats();
  EXPECT_EQ(s.evicted, 2u);
  EXPECT_EQ(s.attacks, 1u);
  EXPECT_TRUE(s.active);
  EXPECT_EQ(s.last_target, a);
}

// A flood over many destinations grows the maps; once it is gone their bucket arrays go too
// (tick() does it at most once a second), and the limiter works on.
TEST_F(HalfOpen, MapsGiveTheirMemoryBackAfterAFlood) {
  const size_t idle = lim.buckets();
  constexpr uint64_t kN = 200'000;
  for (uint64_t id = 1; id <= kN; ++id)
    lim.add(id, IpAddr::v4(0xc6120000 + static_cast<uint32_t>(id % 50'000)), 1024);
  EXPECT_EQ(lim.size(), kN);
  const size_t full = lim.buckets();
  EXPECT_GT(full, idle + kN);
  for (uint64_t id = 1; id <= kN; ++id)
    lim.remove(id, IpAddr::v4(0xc6120000 + static_cast<uint32_t>(id % 50'000)));
  EXPECT_EQ(lim.size(), 0u);
  EXPECT_EQ(lim.buckets(), full) << "nothing given back before the tick";
  lim.tick();
  EXPECT_LT(lim.buckets(), full / 16);
  EXPECT_TRUE(lim.add(kN + 1, a, 1).evict.empty());
  EXPECT_EQ(lim.add(kN + 2, a, 1).evict, std::vector<uint64_t>{kN + 1});
}

TEST_F(HalfOpen, DestinationsAreCountedApart) {
  for (uint64_t id = 1; id <= 4; ++id) lim.add(id, a, 4);
  for (uint64_t id = 10; id <= 13; ++id) EXPECT_TRUE(lim.add(id, b, 4).evict.empty());
  EXPECT_EQ(lim.count(a), 4u);
  EXPECT_EQ(lim.count(b), 4u);
  EXPECT_EQ(lim.size(), 8u);
  EXPECT_EQ(lim.stats().evicted, 0u);
}

TEST_F(HalfOpen, ASessionThatCompletesItsHandshakeLeavesTheSet) {
  for (uint64_t id = 1; id <= 5; ++id) lim.add(id, a, 5);
  lim.remove(3, a);  // from the middle
  lim.remove(1, a);  // the head
  lim.remove(5, a);  // the tail
  EXPECT_EQ(lim.ids(a), (std::vector<uint64_t>{2, 4}));
  lim.remove(3, a);   // twice: ignored
  lim.remove(99, a);  // never added: ignored
  lim.remove(2, b);   // another destination: ignored
  EXPECT_EQ(lim.count(a), 2u);
  // The list is still well linked: new ones at the tail, the oldest first out.
  for (uint64_t id = 6; id <= 8; ++id) EXPECT_TRUE(lim.add(id, a, 5).evict.empty());
  EXPECT_EQ(lim.add(9, a, 5).evict, std::vector<uint64_t>{2});
  EXPECT_EQ(lim.ids(a), (std::vector<uint64_t>{4, 6, 7, 8, 9}));
  for (uint64_t id : {4, 6, 7, 8, 9}) lim.remove(id, a);
  EXPECT_EQ(lim.count(a), 0u);
  EXPECT_EQ(lim.size(), 0u);
  EXPECT_TRUE(lim.ids(a).empty());
}

TEST_F(HalfOpen, AnEvictedSessionIsNoLongerTracked) {
  lim.add(1, a, 1);
  EXPECT_EQ(lim.add(2, a, 1).evict, std::vector<uint64_t>{1});
  lim.remove(1, a);  // its removal from the table afterwards: nothing more
  EXPECT_EQ(lim.ids(a), std::vector<uint64_t>{2});
  EXPECT_EQ(lim.size(), 1u);
}

TEST_F(HalfOpen, ALoweredLimitEvictsDownToIt) {
  for (uint64_t id = 1; id <= 6; ++id) lim.add(id, a, 100);
  EXPECT_EQ(lim.add(7, a, 3).evict, (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(lim.ids(a), (std::vector<uint64_t>{5, 6, 7}));
  EXPECT_EQ(lim.size(), 3u);
}

TEST_F(HalfOpen, NoLimitTracksNothing) {
  EXPECT_TRUE(lim.add(1, a, 0).evict.empty());
  EXPECT_EQ(lim.size(), 0u);
  lim.add(2, a, 5);
  EXPECT_TRUE(lim.add(2, a, 5).evict.empty()) << "the same id twice counts once";
  EXPECT_EQ(lim.count(a), 1u);
}

TEST_F(HalfOpen, TheAttackEndsAfterAQuietTime) {
  lim.add(1, a, 1);
  lim.add(2, a, 1);
  EXPECT_FALSE(lim.tick());
  clock.advance_ms(HalfOpenLimiter::kQuietMs - 1);
  EXPECT_FALSE(lim.tick());
  clock.advance_ms(1);
  auto e = lim.tick();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->evicted_this_attack, 1u);
  EXPECT_FALSE(e->active);
  EXPECT_FALSE(lim.tick()) << "told once";
  EXPECT_TRUE(lim.add(3, a, 1).attack_starts) << "a second attack";
  auto s = lim.stats();
  EXPECT_EQ(s.attacks, 2u);
  EXPECT_EQ(s.evicted_this_attack, 1u);
  EXPECT_EQ(s.evicted, 2u);
}

}  // namespace
}  // namespace fw::session
