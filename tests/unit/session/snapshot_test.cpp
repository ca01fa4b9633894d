// The state file format (session/snapshot.*) and SeqAdjust's save/load:
// round trips, every kind of refusal, and that damaged input never crashes.
#include "session/snapshot.h"

#include <gtest/gtest.h>

#include <string>
#include <variant>

namespace fw::session::snapshot {
namespace {

using common::IpAddr;

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

std::span<const uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

SavedSession control_session() {
  SavedSession ss;
  Session& s = ss.s;
  s.id = 0x1234'0000'0005;
  s.orig = {ip("198.18.1.2"), ip("203.0.113.2"), 40000, 21, 6, 0};
  s.reply = {ip("203.0.113.2"), ip("203.0.113.1"), 21, 2050, 6, 0};
  s.nat.kind = NatKind::kEasyIp;
  s.nat.snat = true;
  s.nat.port_held = true;
  s.nat.snat_addr = ip("203.0.113.1");
  s.nat.snat_port = 2050;
  s.tcp_state = TcpState::kEstablished;
  s.has_servermap = true;
  s.next_hop = ip("203.0.113.254");
  s.in_ifindex = 2;
  s.out_ifindex = 3;
  s.timeout_s = 1200;
  s.created_ms = 1'000'000;
  s.last_seen_ms = 1'005'000;
  s.packets = {7, 5};
  s.bytes = {700, 500};
  ss.policy = "t2u";
  ss.app = "ftp";
  ss.src_zone = "trust";
  ss.dst_zone = "untrust";
  ss.alg = "ftp";
  AlgState a;
  a.dirs[0].adjust.have_last = true;
  a.dirs[0].adjust.last_pos = 1001;
  a.dirs[0].adjust.last_end = 1016;
  a.dirs[0].adjust.entries.push_back({1001, 1016, 3});
  a.dirs[0].rewrites.push_back({1006, {'1', '9', '8'}, {'2', '0', '3', '.', '0'}});
  a.dirs[0].have_end = true;
  a.dirs[0].stream_end = 1027;
  a.dirs[1].have_end = true;
  a.dirs[1].stream_end = 5014;
  ss.alg_state = a;
  return ss;
}

SavedSession v6_no_pat_child() {
  SavedSession ss;
  Session& s = ss.s;
  s.id = 0x1234'0000'0009;
  s.parent_id = 0x1234'0000'0005;
  s.orig = {ip("2001:db8::2"), ip("2001:db8:1::9"), 0, 0, 47, 7};
  s.reply = s.orig.reversed();
  s.nat.kind = NatKind::kNoPat;
  s.nat.snat = s.nat.dnat = true;
  s.nat.dst_port_held = true;
  s.nat.reply_dport = 65535;
  s.nat.dnat_addr = ip("2001:db8::1");
  s.nat.dnat_port = 1723;
  ss.nat_group = "np";
  ss.app = "pptp-gre";
  ss.src_zone = "untrust";
  ss.dst_zone = "trust";
  ss.policy = "t2u";  // shared with the other session: one name in the table
  return ss;
}

SavedEntry entry() {
  SavedEntry se;
  ServerMapEntry& e = se.e;
  e.id = 77;
  e.type = MapType::kAspf;
  e.proto = 6;
  e.channel = 0;
  e.one_shot = e.reserved = true;
  e.port = 2051;
  e.xport = 40016;
  e.alg_data = 0xdeadbeef;
  e.peer = ip("203.0.113.2");
  e.addr = ip("203.0.113.1");
  e.xaddr = ip("198.18.1.2");
  e.parent = 0x1234'0000'0005;
  e.expires_ms = 1'065'000;
  e.hits = 3;
  se.alg = "ftp";
  se.zone = "untrust";
  return se;
}

Snapshot sample() {
  Snapshot sn;
  sn.boot_id = "8c6b4f3e-1f7a-4b6e-9d55-0a1b2c3d4e5f";
  sn.saved_ms = 1'010'000;
  sn.sessions = {control_session(), v6_no_pat_child()};
  sn.entries = {entry()};
  return sn;
}

void expect_key(const FlowKey& a, const FlowKey& b) {
  EXPECT_TRUE(a == b) << a.src.str() << " " << b.src.str();
}

void expect_session(const SavedSession& a, const SavedSession& b) {
  EXPECT_EQ(a.s.id, b.s.id);
  EXPECT_EQ(a.s.parent_id, b.s.parent_id);
  expect_key(a.s.orig, b.s.orig);
  expect_key(a.s.reply, b.s.reply);
  const NatInfo &x = a.s.nat, &y = b.s.nat;
  EXPECT_EQ(x.kind, y.kind);
  EXPECT_EQ(std::tie(x.snat, x.dnat, x.port_held, x.dst_port_held),
            std::tie(y.snat, y.dnat, y.port_held, y.dst_port_held));
  EXPECT_EQ(x.snat_addr, y.snat_addr);
  EXPECT_EQ(x.snat_port, y.snat_port);
  EXPECT_EQ(x.reply_dport, y.reply_dport);
  EXPECT_EQ(x.dnat_addr, y.dnat_addr);
  EXPECT_EQ(x.dnat_port, y.dnat_port);
  EXPECT_EQ(std::tie(a.policy, a.app, a.src_zone, a.dst_zone, a.alg, a.nat_group),
            std::tie(b.policy, b.app, b.src_zone, b.dst_zone, b.alg, b.nat_group));
  EXPECT_EQ(a.s.tcp_state, b.s.tcp_state);
  EXPECT_EQ(a.s.has_servermap, b.s.has_servermap);
  EXPECT_EQ(a.s.next_hop, b.s.next_hop);
  EXPECT_EQ(std::tie(a.s.in_ifindex, a.s.out_ifindex, a.s.timeout_s),
            std::tie(b.s.in_ifindex, b.s.out_ifindex, b.s.timeout_s));
  EXPECT_EQ(std::tie(a.s.created_ms, a.s.last_seen_ms), std::tie(b.s.created_ms, b.s.last_seen_ms));
  EXPECT_EQ(a.s.packets, b.s.packets);
  EXPECT_EQ(a.s.bytes, b.s.bytes);
  ASSERT_EQ(a.alg_state.has_value(), b.alg_state.has_value());
  if (!a.alg_state) return;
  for (size_t d = 0; d < 2; ++d) {
    const AlgDirection &p = a.alg_state->dirs[d], &q = b.alg_state->dirs[d];
    EXPECT_EQ(
        std::tie(p.adjust.base_delta, p.adjust.have_last, p.adjust.last_pos, p.adjust.last_end),
        std::tie(q.adjust.base_delta, q.adjust.have_last, q.adjust.last_pos, q.adjust.last_end));
    ASSERT_EQ(p.adjust.entries.size(), q.adjust.entries.size());
    for (size_t i = 0; i < p.adjust.entries.size(); ++i) {
      EXPECT_EQ(std::tie(p.adjust.entries[i].pos, p.adjust.entries[i].pos_after,
                         p.adjust.entries[i].delta),
                std::tie(q.adjust.entries[i].pos, q.adjust.entries[i].pos_after,
                         q.adjust.entries[i].delta));
    }
    ASSERT_EQ(p.rewrites.size(), q.rewrites.size());
    for (size_t i = 0; i < p.rewrites.size(); ++i) {
      EXPECT_EQ(p.rewrites[i].pos, q.rewrites[i].pos);
      EXPECT_EQ(p.rewrites[i].old_bytes, q.rewrites[i].old_bytes);
      EXPECT_EQ(p.rewrites[i].new_bytes, q.rewrites[i].new_bytes);
    }
    EXPECT_EQ(std::tie(p.have_end, p.stream_end), std::tie(q.have_end, q.stream_end));
  }
}

TEST(Snapshot, Crc32IsTheStandardOne) {
  EXPECT_EQ(crc32(bytes_of("123456789")), 0xcbf43926u);
  EXPECT_EQ(crc32({}), 0u);
}

TEST(Snapshot, RoundTripKeepsEveryField) {
  const Snapshot in = sample();
  const auto bytes = encode(in);
  auto out = decode(bytes);
  ASSERT_TRUE(std::holds_alternative<Snapshot>(out)) << std::get<DecodeError>(out).detail;
  const Snapshot& sn = std::get<Snapshot>(out);
  EXPECT_EQ(sn.boot_id, in.boot_id);
  EXPECT_EQ(sn.saved_ms, in.saved_ms);
  ASSERT_EQ(sn.sessions.size(), 2u);
  for (size_t i = 0; i < 2; ++i) expect_session(sn.sessions[i], in.sessions[i]);
  ASSERT_EQ(sn.entries.size(), 1u);
  const ServerMapEntry &e = sn.entries[0].e, &f = in.entries[0].e;
  EXPECT_EQ(std::tie(e.id, e.type, e.proto, e.channel, e.one_shot, e.reserved, e.port_exact, e.port,
                     e.xport, e.owner, e.alg_data, e.parent, e.expires_ms, e.hits),
            std::tie(f.id, f.type, f.proto, f.channel, f.one_shot, f.reserved, f.port_exact, f.port,
                     f.xport, f.owner, f.alg_data, f.parent, f.expires_ms, f.hits));
  EXPECT_EQ(std::tie(e.peer, e.addr, e.xaddr, e.sxaddr),
            std::tie(f.peer, f.addr, f.xaddr, f.sxaddr));
  EXPECT_EQ(sn.entries[0].alg, "ftp");
  EXPECT_EQ(sn.entries[0].zone, "untrust");
  // Interned ids are not in the file: what comes back is zero.
  EXPECT_EQ(sn.sessions[0].s.policy, 0);
  EXPECT_EQ(sn.sessions[0].s.alg_data, nullptr);
}

TEST(Snapshot, EmptyStateRoundTrips) {
  Snapshot in;
  in.boot_id = "b";
  auto out = decode(encode(in));
  ASSERT_TRUE(std::holds_alternative<Snapshot>(out));
  EXPECT_TRUE(std::get<Snapshot>(out).sessions.empty());
  EXPECT_EQ(std::get<Snapshot>(out).boot_id, "b");
}

Error error_of(std::span<const uint8_t> b) {
  auto r = decode(b);
  return std::holds_alternative<DecodeError>(r) ? std::get<DecodeError>(r).error
                                                : static_cast<Error>(255);
}

// Re-seal a modified file with a right checksum: only the content check is left.
void reseal(std::vector<uint8_t>& b) {
  const uint32_t c = crc32(std::span<const uint8_t>(b.data(), b.size() - 4));
  for (size_t i = 0; i < 4; ++i) b[b.size() - 4 + i] = static_cast<uint8_t>(c >> (8 * i));
}

TEST(Snapshot, EveryTruncationIsRefused) {
  const auto bytes = encode(sample());
  for (size_t n = 0; n < bytes.size(); ++n) {
    const Error e = error_of(std::span<const uint8_t>(bytes.data(), n));
    EXPECT_TRUE(e == Error::kTruncated || (n < 8 && e == Error::kBadMagic)) << n;
  }
}

TEST(Snapshot, EveryFlippedByteIsRefused) {
  const auto bytes = encode(sample());
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto b = bytes;
    b[i] ^= 0x20;
    const Error e = error_of(b);
    const Error want = i < 8    ? Error::kBadMagic
                       : i < 12 ? Error::kBadVersion
                       : i < 20 ? Error::kTruncated
                                : Error::kBadChecksum;
    // A length made smaller leaves bytes after the end the header gives.
    EXPECT_TRUE(e == want || (i >= 12 && i < 20 && e == Error::kMalformed)) << i;
  }
}

TEST(Snapshot, OtherVersionIsRefusedBeforeTheChecksum) {
  auto b = encode(sample());
  b[8] = kVersion + 1;
  auto r = decode(b);
  ASSERT_TRUE(std::holds_alternative<DecodeError>(r));
  EXPECT_EQ(std::get<DecodeError>(r).error, Error::kBadVersion);
  EXPECT_NE(std::get<DecodeError>(r).detail.find("version 2"), std::string::npos);
}

TEST(Snapshot, DamagedContentUnderAGoodChecksumIsMalformedNeverACrash) {
  const auto bytes = encode(sample());
  size_t malformed = 0;
  for (size_t i = 20; i + 4 < bytes.size(); ++i) {
    for (uint8_t v : {uint8_t{0xff}, uint8_t{0x07}}) {
      auto b = bytes;
      b[i] = v;
      reseal(b);
      auto r = decode(b);
      if (auto* e = std::get_if<DecodeError>(&r)) {
        EXPECT_EQ(e->error, Error::kMalformed) << i;
        EXPECT_FALSE(e->detail.empty());
        ++malformed;
      }
    }
  }
  // Enumerations, flags, families, name references and lengths are all checked.
  EXPECT_GT(malformed, 40u);
}

TEST(Snapshot, TrailingBytesAreMalformed) {
  auto b = encode(sample());
  b.insert(b.end() - 4, uint8_t{0});
  const uint64_t total = b.size();
  for (size_t i = 0; i < 8; ++i) b[12 + i] = static_cast<uint8_t>(total >> (8 * i));
  reseal(b);
  EXPECT_EQ(error_of(b), Error::kMalformed);
}

// ---- SeqAdjust save / load -----------------------------------------------------

TEST(SeqAdjustSave, LoadedStateMapsLikeTheOriginalAndGoesOn) {
  SeqAdjust a(4);
  uint32_t pos = 0xfffff000u;  // across the wrap
  for (int i = 0; i < 7; ++i) {
    a.record(pos, 10, static_cast<uint32_t>(12 + i % 3));
    pos += 1000;
  }
  SeqAdjust b(4);
  ASSERT_TRUE(b.load(a.save()));
  for (uint32_t i = 0, q = 0xffffe000u; i < 600; ++i, q += 37) {  // across the wrap
    ASSERT_EQ(a.map_seq(q), b.map_seq(q)) << q;
    ASSERT_EQ(a.unmap(q, SeqAdjust::Round::kUp), b.unmap(q, SeqAdjust::Round::kUp)) << q;
    ASSERT_EQ(a.unmap(q), b.unmap(q)) << q;
  }
  // Both go on identically (a retransmitted rewrite is still ignored).
  a.record(pos - 1000, 10, 20);
  b.record(pos - 1000, 10, 20);
  a.record(pos, 10, 30);
  b.record(pos, 10, 30);
  EXPECT_EQ(a.total_delta(), b.total_delta());
  EXPECT_EQ(a.map_seq(pos + 50), b.map_seq(pos + 50));
}

TEST(SeqAdjustSave, InconsistentStatesAreRefused) {
  SeqAdjust good;
  good.record(1000, 10, 15);
  good.record(2000, 10, 5);
  const SeqAdjust::Saved base = good.save();
  struct Case {
    const char* name;
    void (*mutate)(SeqAdjust::Saved&);
  };
  const Case cases[] = {
      {"entries without a recorded rewrite", [](SeqAdjust::Saved& s) { s.have_last = false; }},
      {"out of order", [](SeqAdjust::Saved& s) { std::swap(s.entries[0], s.entries[1]); }},
      {"overlapping", [](SeqAdjust::Saved& s) { s.entries[1].pos = 1005; }},
      {"delta out of range", [](SeqAdjust::Saved& s) { s.entries[1].delta = int64_t{1} << 50; }},
      {"base out of range", [](SeqAdjust::Saved& s) { s.base_delta = -(int64_t{1} << 41); }},
      {"rewritten region too long", [](SeqAdjust::Saved& s) { s.entries[0].pos_after = 999; }},
      {"last rewrite before the newest entry", [](SeqAdjust::Saved& s) { s.last_pos = 1500; }},
      {"older than a window",
       [](SeqAdjust::Saved& s) {
         s.entries[1].pos = s.entries[0].pos_after + (1u << 30) + 1;
         s.entries[1].pos_after = s.entries[1].pos + 10;
         s.last_pos = s.entries[1].pos;
         s.last_end = s.entries[1].pos_after;
       }},
      {"more entries than kept",
       [](SeqAdjust::Saved& s) {
         s.entries.clear();
         for (uint32_t i = 0; i < 65; ++i) s.entries.push_back({100 * i, 100 * i + 10, i + 1});
         s.last_pos = s.entries.back().pos;
         s.last_end = s.entries.back().pos_after;
       }},
  };
  SeqAdjust probe;
  ASSERT_TRUE(probe.load(base));
  for (const auto& c : cases) {
    SeqAdjust::Saved s = base;
    c.mutate(s);
    SeqAdjust t;
    t.record(50, 1, 2);
    const uint32_t before = t.map_seq(60);
    EXPECT_FALSE(t.load(s)) << c.name;
    EXPECT_EQ(t.map_seq(60), before) << c.name << ": nothing changed";
  }
}

}  // namespace
}  // namespace fw::session::snapshot
