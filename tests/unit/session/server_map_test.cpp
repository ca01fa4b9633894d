// The server-map: match order, one-shot use, expiry, caps, parent removal,
// and the on_remove callback for entries that were never used.
#include "session/server_map.h"

#include <gtest/gtest.h>

#include "common/counters.h"

namespace fw::session {
namespace {

IpAddr a(const char* s) { return *IpAddr::parse(s); }

ServerMapEntry aspf(const char* peer, const char* addr, uint16_t port, uint64_t parent,
                    uint64_t expires) {
  ServerMapEntry e;
  e.type = MapType::kAspf;
  e.proto = 6;
  if (peer) e.peer = a(peer);
  e.addr = a(addr);
  e.port = port;
  e.parent = parent;
  e.one_shot = true;
  e.expires_ms = expires;
  e.channel = 0;
  return e;
}

TEST(ServerMap, AspfEntryIsUsedOnceAndOnlyByItsPeer) {
  common::ManualClock clock;
  common::CounterTable ctr;
  ServerMap m(clock, ctr);
  ASSERT_TRUE(m.add(aspf("203.0.113.2", "203.0.113.1", 2049, 7, clock.now_ms() + 60000)));
  EXPECT_FALSE(m.match_dst(6, a("203.0.113.9"), a("203.0.113.1"), 2049))
      << "a third party must not use it";
  EXPECT_FALSE(m.match_dst(17, a("203.0.113.2"), a("203.0.113.1"), 2049)) << "wrong protocol";
  EXPECT_FALSE(m.match_dst(6, a("203.0.113.2"), a("203.0.113.1"), 2050)) << "wrong port";
  auto hit = m.match_dst(6, a("203.0.113.2"), a("203.0.113.1"), 2049);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->channel, 0);
  EXPECT_FALSE(m.match_dst(6, a("203.0.113.2"), a("203.0.113.1"), 2049)) << "one-shot";
  EXPECT_EQ(m.size(), 0u);
}

TEST(ServerMap, ExactPeerAndPortBeatWildcards) {
  common::ManualClock clock;
  common::CounterTable ctr;
  ServerMap m(clock, ctr);
  ServerMapEntry any;
  any.type = MapType::kNatServer;
  any.proto = 6;
  any.addr = a("203.0.113.110");
  any.port = 0;
  any.xaddr = a("198.18.2.2");
  m.set_static({any});
  ServerMapEntry port = any;
  port.port = 8080;
  port.xaddr = a("198.18.2.3");
  m.set_static({any, port});
  auto h1 = m.match_dst(6, a("203.0.113.2"), a("203.0.113.110"), 8080);
  ASSERT_TRUE(h1);
  EXPECT_EQ(h1->xaddr, a("198.18.2.3"));
  auto h2 = m.match_dst(6, a("203.0.113.2"), a("203.0.113.110"), 22);
  ASSERT_TRUE(h2);
  EXPECT_EQ(h2->xaddr, a("198.18.2.2"));
  EXPECT_EQ(m.size(), 2u) << "static entries are not consumed, and set_static replaces";
}

TEST(ServerMap, UnusedEntriesExpireAfterTheirLifetime) {
  common::ManualClock clock;
  common::CounterTable ctr;
  ServerMap m(clock, ctr);
  int removed = 0;
  m.set_on_remove([&](const ServerMapEntry& e) { removed += e.reserved ? 1 : 0; });
  auto e = aspf(nullptr, "203.0.113.1", 3000, 1, clock.now_ms() + 60000);
  e.reserved = true;
  ASSERT_TRUE(m.add(e));
  clock.advance_s(59);
  EXPECT_EQ(m.expire(), 0u);
  clock.advance_s(2);
  EXPECT_FALSE(m.match_dst(6, a("203.0.113.2"), a("203.0.113.1"), 3000))
      << "expired entries never match";
  EXPECT_EQ(m.expire(), 1u);
  EXPECT_EQ(removed, 1) << "a reserved port of an unused entry must be given back";
}

TEST(ServerMap, CapsPerParentAndInTotalAreCounted) {
  common::ManualClock clock;
  common::CounterTable ctr;
  ServerMap m(clock, ctr, /*max_entries=*/5, /*max_per_parent=*/3);
  uint64_t per_parent = ctr.value("servermap.refused.parent-cap");
  uint64_t total = ctr.value("servermap.refused.total-cap");
  for (uint16_t i = 0; i < 3; ++i) EXPECT_TRUE(m.add(aspf(nullptr, "203.0.113.1", 2000 + i, 1, 0)));
  std::string why;
  EXPECT_FALSE(m.add(aspf(nullptr, "203.0.113.1", 2100, 1, 0), nullptr, &why));
  EXPECT_FALSE(why.empty());
  EXPECT_TRUE(m.add(aspf(nullptr, "203.0.113.1", 2200, 2, 0)));
  EXPECT_TRUE(m.add(aspf(nullptr, "203.0.113.1", 2201, 2, 0)));
  EXPECT_FALSE(m.add(aspf(nullptr, "203.0.113.1", 2202, 3, 0)));
  EXPECT_EQ(ctr.value("servermap.refused.parent-cap"), per_parent + 1);
  EXPECT_EQ(ctr.value("servermap.refused.total-cap"), total + 1);
}

TEST(ServerMap, EntriesGoAwayWithTheirParent) {
  common::ManualClock clock;
  common::CounterTable ctr;
  ServerMap m(clock, ctr);
  m.add(aspf(nullptr, "203.0.113.1", 2000, 11, 0));
  m.add(aspf(nullptr, "203.0.113.1", 2001, 11, 0));
  m.add(aspf(nullptr, "203.0.113.1", 2002, 12, 0));
  EXPECT_EQ(m.remove_parent(11), 2u);
  EXPECT_EQ(m.size(), 1u);
  EXPECT_EQ(m.remove_parent(0), 0u) << "parent 0 means none";
}

TEST(ServerMap, ReverseEntriesMatchBySource) {
  common::ManualClock clock;
  common::CounterTable ctr;
  ServerMap m(clock, ctr);
  ServerMapEntry r;
  r.type = MapType::kNatServerReverse;
  r.proto = 6;
  r.addr = a("198.18.2.2");
  r.xaddr = a("203.0.113.110");
  m.set_static({r});
  auto h = m.match_src(6, a("198.18.2.2"), 40000);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->xaddr, a("203.0.113.110"));
  EXPECT_FALSE(m.match_src(17, a("198.18.2.2"), 40000));
  EXPECT_FALSE(m.match_dst(6, a("203.0.113.2"), a("198.18.2.2"), 80))
      << "reverse entries never match forward";
}

}  // namespace
}  // namespace fw::session

namespace fw::session {
namespace {

// The indexes: by parent (with a predicate), by address and type, by expiry; port 0 exact.
TEST(ServerMapIndexes, ParentPredicateAddressAndExpiryOrder) {
  common::ManualClock clock;
  common::CounterTable ctr;
  ServerMap m(clock, ctr);
  std::vector<uint64_t> removed;
  m.set_on_remove([&](const ServerMapEntry& e) { removed.push_back(e.id); });
  const uint64_t now = clock.now_ms();
  uint64_t ida = 0, b = 0, c = 0;
  ASSERT_TRUE(m.add(aspf(nullptr, "203.0.113.1", 3000, 7, now + 5000), &ida));
  ASSERT_TRUE(m.add(aspf(nullptr, "203.0.113.1", 3001, 7, now + 1000), &b));
  ASSERT_TRUE(m.add(aspf(nullptr, "203.0.113.1", 3002, 8, now + 3000), &c));
  EXPECT_EQ(m.remove_parent(7, [](const ServerMapEntry& e) { return e.port == 3001; }), 1u);
  EXPECT_EQ(removed, std::vector<uint64_t>{b});
  EXPECT_EQ(m.size(), 2u);
  clock.advance_ms(3500);
  EXPECT_EQ(m.expire(), 1u);  // c (3 s); ida lives until 5 s
  EXPECT_EQ(removed.back(), c);
  EXPECT_EQ(m.remove_parent(8), 0u);
  EXPECT_EQ(m.remove_parent(7), 1u);
  EXPECT_EQ(m.size(), 0u);

  ServerMapEntry np;
  np.type = MapType::kNoPat;
  np.addr = a("198.18.1.2");
  np.xaddr = a("203.0.113.100");
  ServerMapEntry nr = np;
  nr.type = MapType::kNoPatReverse;
  nr.addr = np.xaddr;
  nr.xaddr = np.addr;
  ASSERT_TRUE(m.add(np));
  ASSERT_TRUE(m.add(nr));
  EXPECT_EQ(m.remove_addr(MapType::kNoPatReverse, np.addr), 0u) << "wrong address for the type";
  EXPECT_EQ(m.remove_addr(MapType::kNoPat, np.addr), 1u);
  EXPECT_EQ(m.remove_addr(MapType::kNoPatReverse, nr.addr), 1u);
  EXPECT_EQ(m.size(), 0u);
}

TEST(ServerMapIndexes, PortZeroIsAnyUnlessExact) {
  common::ManualClock clock;
  common::CounterTable ctr;
  ServerMap m(clock, ctr);
  ServerMapEntry gre = aspf("203.0.113.2", "203.0.113.1", 0, 9, clock.now_ms() + 60000);
  gre.proto = 47;
  gre.port_exact = true;  // a PPTP call id 0
  gre.one_shot = false;
  ASSERT_TRUE(m.add(gre));
  EXPECT_FALSE(m.match_dst(47, a("203.0.113.2"), a("203.0.113.1"), 5)) << "call id 5 is not 0";
  EXPECT_TRUE(m.match_dst(47, a("203.0.113.2"), a("203.0.113.1"), 0));
  ServerMapEntry any = gre;
  any.port_exact = false;
  any.addr = a("203.0.113.9");
  ASSERT_TRUE(m.add(any));
  EXPECT_TRUE(m.match_dst(47, a("203.0.113.2"), a("203.0.113.9"), 5)) << "port 0 = any";
}

}  // namespace
}  // namespace fw::session

namespace fw::session {
namespace {

// "srclimit" area: entries naming a source address are capped per address; removal gives the
// place back; entries without a source are not counted.
TEST(ServerMap, EntriesAreCappedPerSourceAddress) {
  common::ManualClock clock;
  common::CounterTable ctr;
  ServerMap m(clock, ctr);
  m.set_max_per_source(2);
  auto entry = [&](const char* src, uint16_t port, uint64_t parent) {
    ServerMapEntry e = aspf("203.0.113.2", "203.0.113.1", port, parent, clock.now_ms() + 60000);
    if (src) e.source = a(src);
    return e;
  };
  std::string why;
  EXPECT_TRUE(m.add(entry("198.18.1.2", 1000, 1)));
  EXPECT_TRUE(m.add(entry("198.18.1.2", 1001, 2)));
  EXPECT_FALSE(m.add(entry("198.18.1.2", 1002, 3), nullptr, &why));
  EXPECT_EQ(why, "too many server-map entries for one source address");
  EXPECT_EQ(ctr.value("servermap.refused.source-cap"), 1u);
  EXPECT_TRUE(m.add(entry("198.18.1.3", 1003, 4)));
  EXPECT_TRUE(m.add(entry(nullptr, 1004, 5)));
  EXPECT_EQ(m.of_source(a("198.18.1.2")), 2u);
  m.remove_parent(1);
  EXPECT_EQ(m.of_source(a("198.18.1.2")), 1u);
  EXPECT_TRUE(m.add(entry("198.18.1.2", 1005, 6)));
  // Used (one-shot) and expired entries give their place back too.
  EXPECT_TRUE(m.match_dst(6, a("203.0.113.2"), a("203.0.113.1"), 1005));
  EXPECT_EQ(m.of_source(a("198.18.1.2")), 1u);
  clock.advance_s(61);
  m.expire();
  EXPECT_EQ(m.of_source(a("198.18.1.2")), 0u);
  m.set_max_per_source(0);
  for (uint16_t p = 2000; p < 2010; ++p) EXPECT_TRUE(m.add(entry("198.18.1.2", p, 7)));
}

}  // namespace
}  // namespace fw::session
