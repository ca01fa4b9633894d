// "spi" area (issue 16 item 8): ESP/AH sessions keyed by SPI (session.h: the SPI split over the
// key's ports). The original key carries the opening packet's SPI; the reply key starts unbound
// (SPI 0) and the first reply packet's SPI binds it (SessionTable::bind_spi), once. Two SAs of
// one address pair are two sessions; the state file keeps the keys, and an older file's ESP
// session (keyed by the address pair alone, both directions unbound) binds both on first use.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <variant>
#include <vector>

#include "common/counters.h"
#include "session/session_table.h"
#include "session/snapshot.h"
#include "tests/unit/session/snapshot_v1.h"

namespace fw::session {
namespace {

using common::IpAddr;
using common::ManualClock;

constexpr uint8_t kEsp = 50, kAh = 51;
const IpAddr kA = IpAddr::v4(0xc6120105);  // 198.18.1.5
const IpAddr kB = IpAddr::v4(0xcb007102);  // 203.0.113.2

FlowKey key(const IpAddr& src, const IpAddr& dst, uint32_t spi, uint8_t proto = kEsp) {
  FlowKey k;
  k.src = src;
  k.dst = dst;
  k.proto = proto;
  set_key_spi(k, spi);
  return k;
}

// A session A -> B opened by a packet with `spi`, its reply unbound.
Session sa(uint32_t spi, uint8_t proto = kEsp) {
  Session s;
  s.orig = key(kA, kB, spi, proto);
  s.reply = key(kB, kA, 0, proto);
  s.timeout_s = 600;
  return s;
}

// The id of the session `k` finds (0: none) and the direction it was found in.
uint64_t find(SessionTable& t, const FlowKey& k, Dir* dir = nullptr) {
  uint64_t id = 0;
  t.with_session(k, [&](Session& s, Dir d) {
    id = s.id;
    if (dir) *dir = d;
  });
  return id;
}

class SpiKey : public ::testing::Test {
 protected:
  ManualClock clock{1'000'000};
  common::CounterTable ctr;
  SessionTable t{clock, {}, ctr};
};

TEST(SpiKeyLayout, TheSpiIsSplitOverThePortsAndShowsNone) {
  FlowKey k = key(kA, kB, 0x1234abcd);
  EXPECT_EQ(k.sport, 0x1234);
  EXPECT_EQ(k.dport, 0xabcd);
  EXPECT_EQ(key_spi(k), 0x1234abcdu);
  EXPECT_FALSE(spi_unbound(k));
  EXPECT_TRUE(spi_unbound(key(kA, kB, 0)));
  EXPECT_EQ(shown_ports(k), (std::pair<uint16_t, uint16_t>{0, 0}));
  FlowKey udp = k;
  udp.proto = 17;
  EXPECT_FALSE(keyed_by_spi(17));
  EXPECT_FALSE(spi_unbound(key(kA, kB, 0, 17)));
  EXPECT_EQ(shown_ports(udp), (std::pair<uint16_t, uint16_t>{0x1234, 0xabcd}));
  EXPECT_TRUE(keyed_by_spi(kEsp));
  EXPECT_TRUE(keyed_by_spi(kAh));
}

TEST_F(SpiKey, TwoSasOfOnePairAreTwoSessions) {
  uint64_t id1 = 0, id2 = 0;
  ASSERT_EQ(t.insert(sa(0x1001), &id1), InsertResult::kOk);
  // Its reply key (B -> A, SPI 0) is the same as the first one's: unbound keys may be shared.
  ASSERT_EQ(t.insert(sa(0x2002), &id2), InsertResult::kOk);
  EXPECT_NE(id1, id2);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(find(t, key(kA, kB, 0x1001)), id1);
  EXPECT_EQ(find(t, key(kA, kB, 0x2002)), id2);
  EXPECT_EQ(find(t, key(kA, kB, 0x3003)), 0u) << "another SPI of the pair is another flow";
  // A bound original key is still unique.
  EXPECT_EQ(t.insert(sa(0x1001)), InsertResult::kExists);
}

TEST_F(SpiKey, TheFirstReplyBindsOnceAndAnotherReplySpiDoesNotMatch) {
  uint64_t id = 0;
  ASSERT_EQ(t.insert(sa(0x1001), &id), InsertResult::kOk);
  const FlowKey r1 = key(kB, kA, 0x5678ef01);
  EXPECT_EQ(find(t, r1), 0u) << "unknown until bound";
  ASSERT_TRUE(t.bind_spi(r1));
  Dir d = Dir::kOriginal;
  EXPECT_EQ(find(t, r1, &d), id);
  EXPECT_EQ(d, Dir::kReply);
  EXPECT_TRUE(t.bind_spi(r1)) << "already bound (a racing packet): found";
  t.with_session_id(id, [&](Session& s) {
    EXPECT_EQ(s.reply, r1);
    EXPECT_EQ(key_spi(s.orig), 0x1001u);
  });
  // Bound: a second reply SPI finds nothing to bind and matches nothing.
  const FlowKey r2 = key(kB, kA, 0x9999);
  EXPECT_FALSE(t.bind_spi(r2));
  EXPECT_EQ(find(t, r2), 0u);
  EXPECT_EQ(find(t, key(kB, kA, 0)), 0u) << "the placeholder left the index";
  // The original direction still matches; the session goes whole.
  EXPECT_EQ(find(t, key(kA, kB, 0x1001)), id);
  EXPECT_TRUE(t.erase(id));
  EXPECT_EQ(find(t, r1), 0u);
  EXPECT_EQ(find(t, key(kA, kB, 0x1001)), 0u);
  EXPECT_EQ(t.size(), 0u);
}

TEST_F(SpiKey, EachPendingSaBindsOneReply) {
  uint64_t id1 = 0, id2 = 0;
  ASSERT_EQ(t.insert(sa(0x1001), &id1), InsertResult::kOk);
  ASSERT_EQ(t.insert(sa(0x2002), &id2), InsertResult::kOk);
  ASSERT_TRUE(t.bind_spi(key(kB, kA, 0xa)));
  ASSERT_TRUE(t.bind_spi(key(kB, kA, 0xb)));
  EXPECT_FALSE(t.bind_spi(key(kB, kA, 0xc))) << "both bound: nothing left";
  const uint64_t a = find(t, key(kB, kA, 0xa)), b = find(t, key(kB, kA, 0xb));
  EXPECT_NE(a, 0u);
  EXPECT_NE(b, 0u);
  EXPECT_NE(a, b);
  EXPECT_TRUE((a == id1 && b == id2) || (a == id2 && b == id1));
}

TEST_F(SpiKey, SpiZeroIsNeverBoundAndOtherProtocolsAreNotBound) {
  ASSERT_EQ(t.insert(sa(0x1001)), InsertResult::kOk);
  EXPECT_FALSE(t.bind_spi(key(kB, kA, 0))) << "SPI 0 is the placeholder, never a binding";
  EXPECT_FALSE(t.bind_spi(key(kB, kA, 0x5, 17))) << "UDP: not SPI-keyed";
  EXPECT_FALSE(t.bind_spi(key(kB, kA, 0x5, kAh))) << "AH does not bind an ESP session";
  EXPECT_FALSE(t.bind_spi(key(kA, kB, 0x5))) << "the original direction is bound already";
  EXPECT_TRUE(t.bind_spi(key(kB, kA, 0x5)));
}

TEST_F(SpiKey, AhIsKeyedTheSameWay) {
  uint64_t id = 0;
  ASSERT_EQ(t.insert(sa(0x77, kAh), &id), InsertResult::kOk);
  ASSERT_EQ(t.insert(sa(0x78, kAh)), InsertResult::kOk);
  EXPECT_TRUE(t.bind_spi(key(kB, kA, 0x99, kAh)));
  EXPECT_NE(find(t, key(kB, kA, 0x99, kAh)), 0u);
  EXPECT_EQ(find(t, key(kA, kB, 0x77, kAh)), id);
}

TEST_F(SpiKey, AgingAndEraseOfUnboundAndBoundSessions) {
  for (uint32_t i = 1; i <= 50; ++i) ASSERT_EQ(t.insert(sa(i)), InsertResult::kOk);
  for (uint32_t i = 1; i <= 20; ++i) ASSERT_TRUE(t.bind_spi(key(kB, kA, 0x10000 + i)));
  EXPECT_EQ(t.erase_if([](const Session& s) { return key_spi(s.orig) % 2 == 0; }), 25u);
  EXPECT_EQ(t.size(), 25u);
  clock.advance_ms(601000);
  EXPECT_EQ(t.expire(1000), 25u);
  EXPECT_EQ(t.size(), 0u);
  for (uint32_t i = 1; i <= 20; ++i) EXPECT_EQ(find(t, key(kB, kA, 0x10000 + i)), 0u);
  EXPECT_EQ(find(t, key(kB, kA, 0)), 0u);
}

// Binding races removal and other binds: nothing dangles in the index, nothing is lost.
TEST_F(SpiKey, ConcurrentBindsAndRemovalsLeaveAConsistentIndex) {
  constexpr uint32_t kN = 2000;
  std::vector<uint64_t> ids(kN);
  for (uint32_t i = 0; i < kN; ++i) ASSERT_EQ(t.insert(sa(i + 1), &ids[i]), InsertResult::kOk);
  std::atomic<uint32_t> bound{0};
  std::vector<std::thread> th;
  for (int w = 0; w < 2; ++w) {
    th.emplace_back([&, w] {
      for (uint32_t i = 0; i < kN; ++i) {
        if (t.bind_spi(key(kB, kA, 0x100000 * (w + 1) + i))) bound.fetch_add(1);
      }
    });
  }
  th.emplace_back([&] {
    for (uint32_t i = 0; i < kN; i += 2) t.erase(ids[i]);
  });
  for (auto& x : th) x.join();
  EXPECT_EQ(t.size(), kN / 2);
  // Every reply key still indexed finds a live session whose reply key it is.
  size_t found = 0;
  for (int w = 0; w < 2; ++w) {
    for (uint32_t i = 0; i < kN; ++i) {
      const FlowKey k = key(kB, kA, 0x100000 * (w + 1) + i);
      t.with_session(k, [&](Session& s, Dir d) {
        EXPECT_EQ(d, Dir::kReply);
        EXPECT_EQ(s.reply, k);
        ++found;
      });
    }
  }
  size_t live_bound = 0;
  t.snapshot([&](const Session& s) {
    live_bound += !spi_unbound(s.reply);
    return false;
  });
  EXPECT_EQ(found, live_bound) << "each bound reply key indexed once, no stale entry";
  EXPECT_LE(found, bound.load());
  EXPECT_GT(bound.load(), 0u);
  EXPECT_EQ(t.erase_if([](const Session&) { return true; }), kN / 2);
  EXPECT_EQ(t.size(), 0u);
  for (uint32_t i = 0; i < kN; ++i) {
    EXPECT_EQ(find(t, key(kA, kB, i + 1)), 0u);
    EXPECT_EQ(find(t, key(kB, kA, 0x100000 + i)), 0u);
    EXPECT_EQ(find(t, key(kB, kA, 0x200000 + i)), 0u);
  }
}

namespace snap = snapshot;

snap::Snapshot with_sessions(std::initializer_list<Session> ss) {
  snap::Snapshot sn;
  sn.boot_id = "b";
  for (const Session& s : ss) {
    snap::SavedSession x;
    x.s = s;
    sn.sessions.push_back(x);
  }
  return sn;
}

TEST(SpiSnapshot, KeysRoundTrip) {
  Session bound = sa(0x1234abcd);
  bound.id = 5;
  set_key_spi(bound.reply, 0x5678ef01);
  Session pending = sa(0x2002);
  pending.id = 6;
  auto r = snap::decode(snap::encode(with_sessions({bound, pending})));
  ASSERT_TRUE(std::holds_alternative<snap::Snapshot>(r)) << std::get<snap::DecodeError>(r).detail;
  const auto& v = std::get<snap::Snapshot>(r).sessions;
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].s.orig, bound.orig);
  EXPECT_EQ(v[0].s.reply, bound.reply);
  EXPECT_EQ(key_spi(v[0].s.reply), 0x5678ef01u);
  EXPECT_EQ(v[1].s.orig, pending.orig);
  EXPECT_TRUE(spi_unbound(v[1].s.reply));
}

using testing::as_version_one;  // tests/unit/session/snapshot_v1.h

// Before SPI keys an ESP session was keyed by the address pair alone (ports 0 both ways): in
// this layout both its directions are unbound, and each binds on its first packet.
TEST_F(SpiKey, AnOlderFilesAddressPairSessionDecodesAndBindsBothDirections) {
  Session old = sa(0);
  old.id = 9;
  for (const auto& bytes :
       {snap::encode(with_sessions({old})), as_version_one(with_sessions({old}))}) {
    auto r = snap::decode(bytes);
    ASSERT_TRUE(std::holds_alternative<snap::Snapshot>(r)) << std::get<snap::DecodeError>(r).detail;
    Session s = std::get<snap::Snapshot>(r).sessions.at(0).s;
    EXPECT_TRUE(spi_unbound(s.orig));
    EXPECT_TRUE(spi_unbound(s.reply));
    uint64_t id = 0;
    ASSERT_EQ(t.insert(s, &id), InsertResult::kOk);
    EXPECT_TRUE(t.bind_spi(key(kA, kB, 0x1111)));
    EXPECT_TRUE(t.bind_spi(key(kB, kA, 0x2222)));
    Dir d = Dir::kReply;
    EXPECT_EQ(find(t, key(kA, kB, 0x1111), &d), id);
    EXPECT_EQ(d, Dir::kOriginal);
    EXPECT_EQ(find(t, key(kB, kA, 0x2222), &d), id);
    EXPECT_EQ(d, Dir::kReply);
    EXPECT_EQ(find(t, key(kA, kB, 0x3333)), 0u);
    EXPECT_TRUE(t.erase(id));
  }
}

}  // namespace
}  // namespace fw::session
