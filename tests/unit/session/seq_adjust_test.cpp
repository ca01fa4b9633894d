// session/seq_adjust: seq/ack/SACK mapping after length-changing rewrites,
// checked against a 64-bit reference model of the byte stream.
#include "session/seq_adjust.h"

#include <gtest/gtest.h>

#include <random>
#include <variant>
#include <vector>

#include "packet/parse.h"
#include "tests/unit/packet/builders.h"

namespace fw::session {
namespace {

// Reference model: offsets from the ISN in 64 bits (no wrap), rewrites in order.
struct Rewrite {
  uint64_t pos, old_len, new_len;
};
struct Model {
  std::vector<Rewrite> rw;
  // Cumulative delta after rewrite k.
  int64_t delta_after(size_t k) const {
    int64_t d = 0;
    for (size_t i = 0; i <= k; ++i)
      d += static_cast<int64_t>(rw[i].new_len) - static_cast<int64_t>(rw[i].old_len);
    return d;
  }
  // Original offset -> wire offset (offsets inside a rewritten region map with
  // the earlier delta, like segment starts at or before the region).
  int64_t map(uint64_t o) const {
    int64_t d = 0;
    for (size_t k = 0; k < rw.size(); ++k) {
      if (o >= rw[k].pos + rw[k].old_len) d = delta_after(k);
    }
    return static_cast<int64_t>(o) + d;
  }
  // Wire offset -> original offset; strictly inside new bytes: region start
  // (down) or end (up).
  int64_t unmap(int64_t w, bool up) const {
    int64_t d = 0;
    for (size_t k = 0; k < rw.size(); ++k) {
      int64_t new_pos = static_cast<int64_t>(rw[k].pos) + d;
      int64_t dk = delta_after(k);
      int64_t new_after = static_cast<int64_t>(rw[k].pos + rw[k].old_len) + dk;
      // A same-length rewrite changes no numbering: nothing to round.
      if (w >= new_after || rw[k].old_len == rw[k].new_len) {
        if (w >= new_after) d = dk;
        continue;
      }
      if (w > new_pos) return static_cast<int64_t>(up ? rw[k].pos + rw[k].old_len : rw[k].pos);
      break;
    }
    return w - d;
  }
};

uint32_t at(uint32_t isn, int64_t off) { return isn + static_cast<uint32_t>(off); }

// A random stream: rewrites at increasing positions, segments whose starts are
// never strictly inside a rewritten region. Checks map_seq and unmap for every
// segment boundary and unmap for every wire byte near each rewrite.
void random_stream(std::mt19937& rng, uint32_t isn, size_t max_entries, size_t n_rewrites) {
  Model m;
  SeqAdjust sa(max_entries);
  uint64_t cursor = 0;
  std::vector<uint64_t> bounds = {0};
  for (size_t k = 0; k < n_rewrites; ++k) {
    uint64_t gap = std::uniform_int_distribution<uint64_t>(0, 3000)(rng);
    uint64_t pos = cursor + gap;
    if (!m.rw.empty() && pos == m.rw.back().pos) ++pos;  // the same position is a retransmission
    uint64_t old_len = std::uniform_int_distribution<uint64_t>(0, 40)(rng);
    uint64_t new_len = std::uniform_int_distribution<uint64_t>(0, 40)(rng);
    if (gap > 0 && rng() % 2) bounds.push_back(cursor + rng() % gap);  // a segment start before
    bounds.push_back(pos);                                             // the carrying segment
    m.rw.push_back({pos, old_len, new_len});
    sa.record(at(isn, static_cast<int64_t>(pos)), static_cast<uint32_t>(old_len),
              static_cast<uint32_t>(new_len));
    // A retransmission of the same rewrite is ignored.
    sa.record(at(isn, static_cast<int64_t>(pos)), static_cast<uint32_t>(old_len),
              static_cast<uint32_t>(new_len + 5));
    cursor = pos + old_len;
    bounds.push_back(cursor);
  }
  bounds.push_back(cursor + 1000);
  ASSERT_EQ(sa.total_delta(), m.rw.empty() ? 0 : m.delta_after(m.rw.size() - 1));

  // With merging, only offsets from the pos_after of the last merged rewrite
  // on are exact.
  uint64_t exact_from = 0;
  if (m.rw.size() > max_entries) {
    // Entries are only created for length-changing rewrites.
    std::vector<size_t> changing;
    for (size_t k = 0; k < m.rw.size(); ++k) {
      if (m.rw[k].old_len != m.rw[k].new_len) changing.push_back(k);
    }
    if (changing.size() > max_entries) {
      const Rewrite& r = m.rw[changing[changing.size() - max_entries - 1]];
      exact_from = r.pos + r.old_len;
    }
  }
  for (uint64_t b : bounds) {
    if (b < exact_from) continue;
    int64_t w = m.map(b);
    ASSERT_EQ(sa.map_seq(at(isn, static_cast<int64_t>(b))), at(isn, w)) << "orig off " << b;
    // Acks at segment boundaries come back exactly - except right after a
    // deletion, where one wire number stands for both ends of the deleted bytes
    // (then the end: the deleted bytes never travel).
    int64_t back = m.unmap(w, false);
    ASSERT_EQ(sa.unmap(at(isn, w)), at(isn, back)) << "wire off " << w;
    ASSERT_EQ(m.map(static_cast<uint64_t>(back)), w);
    if (back != static_cast<int64_t>(b)) {
      bool after_deletion = false;
      for (const Rewrite& r : m.rw) {
        after_deletion |=
            r.new_len == 0 && r.pos <= b && static_cast<int64_t>(r.pos + r.old_len) == back;
      }
      ASSERT_TRUE(after_deletion) << "orig off " << b;
    }
  }
  for (const Rewrite& r : m.rw) {
    if (r.pos < exact_from) continue;
    int64_t lo = m.map(r.pos) - 3, hi = m.map(r.pos + r.old_len) + 3;
    if (exact_from > 0) lo = std::max(lo, m.map(exact_from));
    for (int64_t w = lo; w <= hi; ++w) {
      ASSERT_EQ(sa.unmap(at(isn, w)), at(isn, m.unmap(w, false))) << "wire off " << w;
      ASSERT_EQ(sa.unmap(at(isn, w), SeqAdjust::Round::kDown), at(isn, m.unmap(w, false)));
      ASSERT_EQ(sa.unmap(at(isn, w), SeqAdjust::Round::kUp), at(isn, m.unmap(w, true)))
          << "wire off " << w;
    }
  }
}

TEST(SeqAdjust, RandomStreamsAgainstModel) {
  std::mt19937 rng(12345);
  const uint32_t isns[] = {0, 1000, 0x7fffff00u, 0xffff0000u, 0xfffffff0u, 0xffffffffu};
  for (int iter = 0; iter < 300; ++iter) {
    uint32_t isn = iter < 6 ? isns[iter] : static_cast<uint32_t>(rng());
    if (iter % 3 == 0) isn = 0xffffffffu - static_cast<uint32_t>(rng() % 20000);  // wrap inside
    size_t n = 1 + rng() % 40;
    SCOPED_TRACE(::testing::Message() << "iter " << iter << " isn " << isn << " n " << n);
    random_stream(rng, isn, 1000, n);
    if (HasFatalFailure()) return;
  }
}

TEST(SeqAdjust, RandomStreamsWithMerging) {
  std::mt19937 rng(777);
  for (int iter = 0; iter < 300; ++iter) {
    uint32_t isn = iter % 2 ? static_cast<uint32_t>(rng())
                            : 0xffffffffu - static_cast<uint32_t>(rng() % 50000);
    size_t max_entries = 1 + rng() % 6;
    size_t n = 1 + rng() % 30;
    SCOPED_TRACE(::testing::Message()
                 << "iter " << iter << " isn " << isn << " max " << max_entries);
    random_stream(rng, isn, max_entries, n);
    if (HasFatalFailure()) return;
  }
}

TEST(SeqAdjust, EmptyIsIdentity) {
  SeqAdjust sa;
  EXPECT_TRUE(sa.empty());
  EXPECT_EQ(sa.total_delta(), 0);
  for (uint32_t s : {0u, 1u, 0x80000000u, 0xffffffffu}) {
    EXPECT_EQ(sa.map_seq(s), s);
    EXPECT_EQ(sa.unmap(s), s);
  }
  sa.record(100, 10, 10);  // same length: nothing to adjust
  EXPECT_TRUE(sa.empty());
  EXPECT_EQ(sa.map_seq(200), 200u);
}

TEST(SeqAdjust, SeveralRewritesInFlight) {
  // PORT at 100 (22 -> 20 bytes), at 200 (22 -> 25), at 300 (10 -> 10 + 7).
  SeqAdjust sa;
  sa.record(100, 22, 20);
  sa.record(200, 22, 25);
  sa.record(300, 10, 17);
  EXPECT_EQ(sa.total_delta(), 8);
  struct {
    uint32_t orig, wire;
  } table[] = {{50, 50},   {100, 100}, {122, 120}, {150, 148}, {200, 198},
               {222, 223}, {300, 301}, {310, 318}, {311, 319}, {1000, 1008}};
  // Segments arrive and are retransmitted in any order: the mapping is a
  // function of the sequence number alone.
  for (int round = 0; round < 2; ++round) {
    for (auto& r : table) EXPECT_EQ(sa.map_seq(r.orig), r.wire) << r.orig;
    for (auto it = std::rbegin(table); it != std::rend(table); ++it) {
      EXPECT_EQ(sa.unmap(it->wire), it->orig) << it->wire;
    }
  }
  // Out-of-order / duplicate ACKs inside the new bytes of the second rewrite
  // (wire 198..223): never beyond the region start.
  for (uint32_t w = 199; w < 223; ++w) {
    EXPECT_EQ(sa.unmap(w), 200u) << w;
    EXPECT_EQ(sa.unmap(w, SeqAdjust::Round::kUp), 222u) << w;
  }
  EXPECT_EQ(sa.unmap(198), 200u);
  EXPECT_EQ(sa.unmap(223), 222u);
}

TEST(SeqAdjust, RetransmittedAndOutOfOrderRecordsAreIgnored) {
  SeqAdjust sa;
  sa.record(1000, 20, 25);
  sa.record(1000, 20, 25);  // the same segment again
  sa.record(1000, 20, 30);  // even with a different new length
  sa.record(500, 10, 1);    // older position: a retransmission of something unrewritten
  sa.record(1010, 4, 8);    // overlaps the first region: inconsistent
  EXPECT_EQ(sa.total_delta(), 5);
  EXPECT_EQ(sa.map_seq(2000), 2005u);
  EXPECT_EQ(sa.map_seq(900), 900u);
  sa.record(1020, 4, 8);  // right after the first region: fine
  EXPECT_EQ(sa.total_delta(), 9);
  EXPECT_EQ(sa.map_seq(1020), 1025u);
  EXPECT_EQ(sa.map_seq(1024), 1033u);
}

TEST(SeqAdjust, InsertionAndDeletion) {
  SeqAdjust sa;
  sa.record(100, 0, 5);              // 5 bytes inserted before original byte 100
  sa.record(200, 10, 0);             // original 200..209 deleted
  EXPECT_EQ(sa.map_seq(100), 105u);  // the inserted bytes come first: 100 is after them
  EXPECT_EQ(sa.map_seq(99), 99u);
  EXPECT_EQ(sa.map_seq(200), 205u);
  EXPECT_EQ(sa.map_seq(210), 205u);
  EXPECT_EQ(sa.unmap(100), 100u);
  EXPECT_EQ(sa.unmap(103), 100u);
  EXPECT_EQ(sa.unmap(103, SeqAdjust::Round::kUp), 100u);
  EXPECT_EQ(sa.unmap(105), 100u);
  // Wire 205 is both "before the deleted bytes" and "after them": acking it
  // acknowledges the deleted bytes too (they never travel).
  EXPECT_EQ(sa.unmap(205), 210u);
  EXPECT_EQ(sa.unmap(204), 199u);
}

TEST(SeqAdjust, WrapAround) {
  SeqAdjust sa;
  sa.record(0xfffffff0u, 20, 30);  // the region itself crosses 2^32
  EXPECT_EQ(sa.map_seq(0xffffffe0u), 0xffffffe0u);
  EXPECT_EQ(sa.map_seq(0xfffffff0u), 0xfffffff0u);
  EXPECT_EQ(sa.map_seq(4), 14u);
  EXPECT_EQ(sa.map_seq(0x10000), 0x1000au);
  EXPECT_EQ(sa.unmap(14), 4u);
  EXPECT_EQ(sa.unmap(0xfffffff0u), 0xfffffff0u);
  EXPECT_EQ(sa.unmap(2), 0xfffffff0u);
  EXPECT_EQ(sa.unmap(2, SeqAdjust::Round::kUp), 4u);
  sa.record(100, 10, 2);  // after the wrap: still "after" the first
  EXPECT_EQ(sa.total_delta(), 2);
  EXPECT_EQ(sa.map_seq(110), 112u);
  EXPECT_EQ(sa.map_seq(50), 60u);
  EXPECT_EQ(sa.unmap(112), 110u);
  EXPECT_EQ(sa.unmap(60), 50u);
}

TEST(SeqAdjust, MergingKeepsRecentMappingsExact) {
  SeqAdjust sa(4);
  // Ten rewrites, each +3 bytes, 1000 bytes apart.
  for (uint32_t k = 0; k < 10; ++k) sa.record(0xfffff000u + k * 1000, 10, 13);
  EXPECT_EQ(sa.total_delta(), 30);
  // The four newest (k = 6..9) and the stretch after the last merged one (k = 5) are exact.
  for (uint32_t k = 5; k < 10; ++k) {
    uint32_t after = 0xfffff000u + k * 1000 + 10;
    uint32_t want = after + 3 * (k + 1);
    EXPECT_EQ(sa.map_seq(after), want) << k;
    EXPECT_EQ(sa.map_seq(after + 500), want + 500) << k;
    EXPECT_EQ(sa.unmap(want), after) << k;
    EXPECT_EQ(sa.unmap(want + 500), after + 500) << k;
  }
}

TEST(SeqAdjust, FarApartRewritesAndLongQuietStreams) {
  SeqAdjust sa;
  sa.record(1000, 10, 20);
  // 1.5 GB later another rewrite: the first entry can no longer matter and is
  // folded into the base, so comparisons never span more than 2^31.
  sa.record(1000 + 0x60000000u, 10, 12);
  EXPECT_EQ(sa.total_delta(), 12);
  EXPECT_EQ(sa.map_seq(1000 + 0x60000000u - 100), 1000 + 0x60000000u - 100 + 10);
  EXPECT_EQ(sa.map_seq(1000 + 0x60000000u + 10), 1000 + 0x60000000u + 22);
  // 3 GB after the last rewrite (more than 2^31 ahead): still the newest delta.
  uint32_t far = 1000 + 0x60000000u + 0xc0000000u;
  EXPECT_EQ(sa.map_seq(far), far + 12);
  EXPECT_EQ(sa.unmap(far + 12), far);
}

// --- adjust_tcp on built packets ---

namespace pt = packet::testing;

pt::Bytes sack_opts(std::initializer_list<std::pair<uint32_t, uint32_t>> blocks) {
  pt::Bytes o = {1, 1, 5, static_cast<uint8_t>(2 + 8 * blocks.size())};
  for (auto [l, r] : blocks) {
    pt::put32(o, l);
    pt::put32(o, r);
  }
  return o;
}
uint32_t get32(const pt::Bytes& b, size_t at) {
  return (static_cast<uint32_t>(b[at]) << 24) | (static_cast<uint32_t>(b[at + 1]) << 16) |
         (static_cast<uint32_t>(b[at + 2]) << 8) | b[at + 3];
}
packet::Parsed parse_ok(const pt::Bytes& b) {
  auto r = packet::parse(b);
  EXPECT_TRUE(std::holds_alternative<packet::Parsed>(r));
  return std::get<packet::Parsed>(r);
}

struct Fixture {
  SeqAdjust own, peer;
  Fixture() {
    own.record(5000, 10, 14);  // own seq >= 5010: +4
    peer.record(9000, 20,
                17);  // peer: original 9000..9019 is wire 9000..9016; wire >= 9017 is +3 back
  }
};

TEST(AdjustTcp, SeqAckAndSackEdgesExactOtherOptionsUntouched) {
  Fixture f;
  pt::Bytes opts = {2, 4, 0x05, 0xb4};                                      // MSS 1460
  pt::append(opts, sack_opts({{9100, 9200}, {8990, 9017}, {9005, 9010}}));  // 3 blocks
  pt::append(opts, {3, 3, 7});                                              // window scale
  pt::Bytes l4 = pt::tcp(40000, 21, 6000, 9500, packet::kTcpAck | packet::kTcpPsh, opts,
                         pt::text("PORT 1,2,3,4,5,6\r\n"));
  pt::Bytes pkt = pt::ipv4(packet::kProtoTcp, "10.0.0.1", "10.0.0.2", l4);
  packet::Parsed p = parse_ok(pkt);
  pt::Bytes before = pkt;
  ASSERT_TRUE(adjust_tcp(pkt, p, &f.own, &f.peer));

  size_t t = p.l4_offset;
  EXPECT_EQ(get32(pkt, t + 4), 6004u);
  EXPECT_EQ(get32(pkt, t + 8), 9503u);
  size_t sack = t + 20 + 4 + 2;  // after MSS, NOP NOP
  ASSERT_EQ(pkt[sack], 5);
  EXPECT_EQ(get32(pkt, sack + 2), 9103u);
  EXPECT_EQ(get32(pkt, sack + 6), 9203u);
  EXPECT_EQ(get32(pkt, sack + 10), 8990u);  // before the rewrite: unchanged
  EXPECT_EQ(get32(pkt, sack + 14), 9020u);  // end of the new bytes = end of the region
  EXPECT_EQ(get32(pkt, sack + 18), 9020u);  // left edge inside new bytes: rounded up
  EXPECT_EQ(get32(pkt, sack + 22), 9000u);  // right edge inside new bytes: rounded down
  // Every other byte is as before (checksums are the caller's business).
  for (size_t i = 0; i < pkt.size(); ++i) {
    bool changed_field = (i >= t + 4 && i < t + 12) || (i >= sack + 2 && i < sack + 26);
    if (!changed_field) {
      EXPECT_EQ(pkt[i], before[i]) << "byte " << i;
    }
  }
}

TEST(AdjustTcp, AckOnlyWithAckFlagAndNullSides) {
  Fixture f;
  pt::Bytes pkt = pt::ipv4(packet::kProtoTcp, "10.0.0.1", "10.0.0.2",
                           pt::tcp(1, 2, 6000, 9500, packet::kTcpSyn, sack_opts({{9100, 9200}})));
  packet::Parsed p = parse_ok(pkt);
  ASSERT_TRUE(adjust_tcp(pkt, p, &f.own, &f.peer));
  size_t t = p.l4_offset;
  EXPECT_EQ(get32(pkt, t + 4), 6004u);
  EXPECT_EQ(get32(pkt, t + 8), 9500u);       // no ACK flag: the field is not a number
  EXPECT_EQ(get32(pkt, t + 20 + 4), 9103u);  // SACK still mapped

  pt::Bytes pkt2 = pt::ipv4(packet::kProtoTcp, "10.0.0.1", "10.0.0.2",
                            pt::tcp(1, 2, 6000, 9500, packet::kTcpAck, sack_opts({{9100, 9200}})));
  pt::Bytes before = pkt2;
  p = parse_ok(pkt2);
  ASSERT_TRUE(adjust_tcp(pkt2, p, nullptr, nullptr));
  EXPECT_EQ(pkt2, before);
  ASSERT_TRUE(adjust_tcp(pkt2, p, nullptr, &f.peer));
  EXPECT_EQ(get32(pkt2, t + 4), 6000u);
  EXPECT_EQ(get32(pkt2, t + 8), 9503u);
}

TEST(AdjustTcp, Ipv6) {
  Fixture f;
  pt::Bytes l4 = pt::tcp(1, 2, 5010, 9017, packet::kTcpAck, sack_opts({{9017, 9020}}));
  pt::Bytes pkt = pt::ipv6(packet::kProtoTcp, "2001:db8::1", "2001:db8::2", l4);
  packet::Parsed p = parse_ok(pkt);
  ASSERT_TRUE(adjust_tcp(pkt, p, &f.own, &f.peer));
  EXPECT_EQ(get32(pkt, 40 + 4), 5014u);
  EXPECT_EQ(get32(pkt, 40 + 8), 9020u);
  EXPECT_EQ(get32(pkt, 40 + 20 + 4), 9020u);
  EXPECT_EQ(get32(pkt, 40 + 20 + 8), 9023u);
}

TEST(AdjustTcp, MalformedSackLengthIsLeftAlone) {
  Fixture f;
  // SACK with length 6 (not 2 + 8n) and with length 2 (no block): receivers ignore them.
  pt::Bytes opts = {5, 6, 0, 0, 0x23, 0x28, 5, 2, 1, 1};
  pt::Bytes pkt = pt::ipv4(packet::kProtoTcp, "10.0.0.1", "10.0.0.2",
                           pt::tcp(1, 2, 6000, 9500, packet::kTcpAck, opts));
  packet::Parsed p = parse_ok(pkt);
  pt::Bytes before = pkt;
  ASSERT_TRUE(adjust_tcp(pkt, p, &f.own, &f.peer));
  size_t t = p.l4_offset;
  EXPECT_TRUE(std::equal(pkt.begin() + static_cast<ptrdiff_t>(t + 20), pkt.end(),
                         before.begin() + static_cast<ptrdiff_t>(t + 20)));
}

TEST(AdjustTcp, OptionsAfterEolAreNotWalked) {
  Fixture f;
  // EOL then bytes that would look like a SACK block.
  pt::Bytes opts = {0, 5, 10, 0, 0, 0x23, 0x28, 0, 0, 0x23, 0x30, 0};
  pt::Bytes pkt = pt::ipv4(packet::kProtoTcp, "10.0.0.1", "10.0.0.2",
                           pt::tcp(1, 2, 6000, 9500, packet::kTcpAck, opts));
  packet::Parsed p = parse_ok(pkt);
  pt::Bytes before = pkt;
  ASSERT_TRUE(adjust_tcp(pkt, p, &f.own, &f.peer));
  size_t t = p.l4_offset;
  EXPECT_TRUE(std::equal(pkt.begin() + static_cast<ptrdiff_t>(t + 20), pkt.end(),
                         before.begin() + static_cast<ptrdiff_t>(t + 20)));
}

TEST(AdjustTcp, InconsistentHeaderIsRefusedUntouched) {
  Fixture f;
  pt::Bytes pkt = pt::ipv4(packet::kProtoTcp, "10.0.0.1", "10.0.0.2",
                           pt::tcp(1, 2, 6000, 9500, packet::kTcpAck, sack_opts({{9100, 9200}})));
  packet::Parsed good = parse_ok(pkt);
  pt::Bytes before = pkt;

  packet::Parsed p = good;
  p.l4_len = 20;  // disagrees with the data offset
  EXPECT_FALSE(adjust_tcp(pkt, p, &f.own, &f.peer));
  p = good;
  p.proto = packet::kProtoUdp;
  EXPECT_FALSE(adjust_tcp(pkt, p, &f.own, &f.peer));
  p = good;
  p.has_l4 = false;
  EXPECT_FALSE(adjust_tcp(pkt, p, &f.own, &f.peer));
  p = good;
  p.l4_offset = static_cast<uint16_t>(pkt.size() - 10);
  EXPECT_FALSE(adjust_tcp(pkt, p, &f.own, &f.peer));
  EXPECT_FALSE(adjust_tcp(std::span<uint8_t>(pkt.data(), 30), good, &f.own, &f.peer));
  // An option running past the header (the parser would have refused it).
  pt::Bytes bad = pkt;
  bad[good.l4_offset + 20 + 3] = 30;  // SACK length beyond the header
  EXPECT_FALSE(adjust_tcp(bad, good, &f.own, &f.peer));
  EXPECT_EQ(pkt, before);
  bad[good.l4_offset + 20 + 3] = 1;  // length < 2
  EXPECT_FALSE(adjust_tcp(bad, good, &f.own, &f.peer));
}

}  // namespace
}  // namespace fw::session
