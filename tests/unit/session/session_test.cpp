// FlowKey hashing, name interning, tcp_next and timeout_for.
#include "session/session.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

#include "packet/parse.h"
#include "session/session_table.h"

namespace fw::session {
namespace {

using common::IpAddr;
using packet::kTcpAck;
using packet::kTcpFin;
using packet::kTcpPsh;
using packet::kTcpRst;
using packet::kTcpSyn;

FlowKey v4key(uint32_t s, uint32_t d, uint16_t sp, uint16_t dp, uint8_t proto = 6) {
  FlowKey k;
  k.src = IpAddr::v4(s);
  k.dst = IpAddr::v4(d);
  k.sport = sp;
  k.dport = dp;
  k.proto = proto;
  return k;
}

TEST(FlowKeyHash, EqualKeysHashEqualAndIpv4IgnoresUnusedBytes) {
  FlowKey a = v4key(0x0a000001, 0x0a000002, 1234, 80);
  FlowKey b = a;
  b.src.b[10] = 0xaa;  // beyond the 4 used bytes: operator== ignores it, so must hash()
  ASSERT_EQ(a, b);
  EXPECT_EQ(a.hash(), b.hash());
  EXPECT_NE(a.hash(), a.reversed().hash());
}

TEST(FlowKeyHash, EveryFieldMatters) {
  const FlowKey base = v4key(0x0a000001, 0x0a000002, 1234, 80);
  std::vector<FlowKey> variants(7, base);
  variants[0].src = IpAddr::v4(0x0a000003);
  variants[1].dst = IpAddr::v4(0x0a000003);
  variants[2].sport = 1235;
  variants[3].dport = 81;
  variants[4].proto = 17;
  variants[5].vpn = 1;
  uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8};
  variants[6].src = IpAddr::v6_bytes(v6);
  for (const auto& v : variants) EXPECT_NE(v.hash(), base.hash());
}

TEST(FlowKeyHash, WellMixedOnSequentialKeys) {
  // Sequential addresses and ports must spread over the high bits (shard) and low bits (bucket).
  std::set<uint64_t> top, low;
  for (uint32_t i = 0; i < 4096; ++i) {
    const uint64_t h = v4key(0x0a000000 + i, 0xc0000201, 40000, 80).hash();
    top.insert(h >> 58);
    low.insert(h & 63);
  }
  EXPECT_EQ(top.size(), 64u);
  EXPECT_EQ(low.size(), 64u);
  // Bit balance: every output bit is set for roughly half of the keys.
  for (int bit = 0; bit < 64; ++bit) {
    int ones = 0;
    for (uint16_t p = 0; p < 2000; ++p)
      ones += (v4key(0x0a000001, 0x0a000002, p, 443).hash() >> bit) & 1;
    EXPECT_GT(ones, 850) << bit;
    EXPECT_LT(ones, 1150) << bit;
  }
}

TEST(TcpStateName, All) {
  EXPECT_EQ(tcp_state_name(TcpState::kNone), "none");
  EXPECT_EQ(tcp_state_name(TcpState::kSynSent), "syn-sent");
  EXPECT_EQ(tcp_state_name(TcpState::kSynRecv), "syn-recv");
  EXPECT_EQ(tcp_state_name(TcpState::kEstablished), "established");
  EXPECT_EQ(tcp_state_name(TcpState::kFinWait), "fin-wait");
  EXPECT_EQ(tcp_state_name(TcpState::kClosing), "closing");
}

constexpr Dir O = Dir::kOriginal;
constexpr Dir R = Dir::kReply;
using S = TcpState;

struct TcpCase {
  S cur;
  Dir d;
  uint8_t flags;
  S want;
};

TEST(TcpNext, Table) {
  const uint8_t SA = kTcpSyn | kTcpAck, A = kTcpAck, PA = kTcpPsh | kTcpAck, FA = kTcpFin | kTcpAck;
  const TcpCase cases[] = {
      // handshake
      {S::kNone, O, kTcpSyn, S::kSynSent},
      {S::kSynSent, O, kTcpSyn, S::kSynSent},  // retransmitted SYN
      {S::kSynSent, R, SA, S::kSynRecv},
      {S::kSynSent, R, kTcpSyn, S::kSynRecv},  // simultaneous open
      {S::kSynSent, O, A, S::kSynSent},        // initiator alone proves nothing
      {S::kSynRecv, R, SA, S::kSynRecv},       // retransmitted SYN+ACK
      {S::kSynRecv, O, A, S::kEstablished},    // third packet of the handshake
      {S::kSynRecv, O, PA, S::kEstablished},
      {S::kSynRecv, R, PA, S::kEstablished},  // data both ways
      {S::kSynSent, R, PA, S::kEstablished},  // SYN+ACK missed, responder talks: both ways seen
      {S::kNone, R, SA, S::kSynRecv},         // picked up at the SYN+ACK
      {S::kNone, O, PA, S::kSynSent},         // picked up mid-stream: one way seen
      // established stays
      {S::kEstablished, O, PA, S::kEstablished},
      {S::kEstablished, R, A, S::kEstablished},
      {S::kEstablished, O, kTcpSyn, S::kEstablished},
      // close
      {S::kEstablished, O, FA, S::kFinWait},
      {S::kEstablished, R, FA, S::kFinWait},
      {S::kFinWait, O, A, S::kFinWait},
      {S::kFinWait, R, FA, S::kClosing},
      {S::kSynSent, O, kTcpFin, S::kFinWait},
      {S::kEstablished, O, kTcpRst, S::kClosing},
      {S::kEstablished, R, kTcpRst | kTcpAck, S::kClosing},
      {S::kSynSent, R, kTcpRst | kTcpAck, S::kClosing},
      {S::kNone, O, kTcpRst, S::kClosing},
      {S::kFinWait, O, kTcpRst, S::kClosing},
      // never back from closing
      {S::kClosing, O, kTcpSyn, S::kClosing},
      {S::kClosing, R, SA, S::kClosing},
      {S::kClosing, O, A, S::kClosing},
      {S::kClosing, O, FA, S::kClosing},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(tcp_next(c.cur, c.d, c.flags), c.want)
        << tcp_state_name(c.cur) << " dir=" << int(c.d) << " flags=" << int(c.flags);
  }
}

TEST(TcpNext, FullHandshakeAndClose) {
  S s = S::kNone;
  s = tcp_next(s, O, kTcpSyn);
  s = tcp_next(s, R, kTcpSyn | kTcpAck);
  s = tcp_next(s, O, kTcpAck);
  EXPECT_EQ(s, S::kEstablished);
  s = tcp_next(s, O, kTcpFin | kTcpAck);
  EXPECT_EQ(s, S::kFinWait);
  s = tcp_next(s, R, kTcpAck);
  s = tcp_next(s, R, kTcpFin | kTcpAck);
  EXPECT_EQ(s, S::kClosing);
  s = tcp_next(s, O, kTcpAck);
  EXPECT_EQ(s, S::kClosing);
}

struct TimeoutCase {
  uint8_t proto;
  S st;
  AgingClass cls;
  uint32_t want;
};

// Classes are indices into Timeouts::secs; TCP outside the established state
// ages by the syn / fin-rst classes whatever its own class.
TEST(TimeoutFor, Table) {
  Timeouts t;
  t.secs = {100, 101, 102, 103, 104};
  t.syn = 3;
  t.fin_rst = 4;
  const TimeoutCase cases[] = {
      {6, S::kNone, 0, 103},        {6, S::kSynSent, 0, 103},     {6, S::kSynRecv, 1, 103},
      {6, S::kEstablished, 0, 100}, {6, S::kEstablished, 2, 102}, {6, S::kFinWait, 2, 104},
      {6, S::kClosing, 0, 104},     {17, S::kNone, 1, 101},       {17, S::kNone, 2, 102},
      {1, S::kNone, 0, 100},        {47, S::kNone, 1, 101},       {132, S::kNone, 2, 102},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(timeout_for(t, c.proto, c.st, c.cls), c.want)
        << int(c.proto) << " " << tcp_state_name(c.st) << " class " << int(c.cls);
  }
  // first-fin: one side closed ages by its own class; both sides or RST by fin-rst.
  t.secs.push_back(105);
  t.first_fin = 5;
  EXPECT_EQ(timeout_for(t, 6, S::kFinWait, 2), 105u);
  EXPECT_EQ(timeout_for(t, 6, S::kClosing, 2), 104u);
  // An unknown class (a snapshot built from fewer names) falls back to 60 s.
  EXPECT_EQ(timeout_for(t, 17, S::kNone, 9), 60u);
}

}  // namespace
}  // namespace fw::session
