// guard (issue 16 items 7, 8): the pure decisions - TCP flag validity, bogus packets,
// uRPF against a route answer, which unrouted packets may be answered.
#include "fwd/guard.h"

#include <gtest/gtest.h>

#include "tests/unit/packet/builders.h"

namespace fw::fwd {
namespace {

using namespace fw::packet::testing;
using packet::kTcpAck;
using packet::kTcpFin;
using packet::kTcpPsh;
using packet::kTcpRst;
using packet::kTcpSyn;
using packet::kTcpUrg;

packet::Parsed parsed(const Bytes& b) {
  auto r = packet::parse(std::span<const uint8_t>(b.data(), b.size()));
  EXPECT_TRUE(std::holds_alternative<packet::Parsed>(r));
  return std::get<packet::Parsed>(r);
}

TEST(Guard, TcpFlagsLikeConntrack) {
  for (uint8_t f : {kTcpSyn, uint8_t(kTcpSyn | kTcpAck), kTcpRst, uint8_t(kTcpRst | kTcpAck),
                    uint8_t(kTcpFin | kTcpAck), kTcpAck, uint8_t(kTcpAck | kTcpPsh),
                    uint8_t(kTcpFin | kTcpAck | kTcpPsh | kTcpUrg), uint8_t(kTcpSyn | 0xc0)})
    EXPECT_TRUE(tcp_flags_valid(f)) << int(f);
  for (uint8_t f : {uint8_t(0), kTcpFin, kTcpPsh, kTcpUrg, uint8_t(kTcpSyn | kTcpFin),
                    uint8_t(kTcpSyn | kTcpRst), uint8_t(kTcpFin | kTcpRst | kTcpAck),
                    uint8_t(kTcpSyn | kTcpFin | kTcpAck), uint8_t(kTcpFin | kTcpPsh | kTcpUrg),
                    uint8_t(kTcpRst | kTcpUrg), uint8_t(0x3f)})
    EXPECT_FALSE(tcp_flags_valid(f)) << int(f);
}

TEST(Guard, BogusPackets) {
  EXPECT_EQ(
      bogus_packet(parsed(ipv4(6, "198.18.1.2", "198.18.1.2", tcp(1, 2, 0, 0, kTcpSyn))), false),
      Bogus::kLand);
  EXPECT_EQ(bogus_packet(parsed(ipv4(6, "127.0.0.1", "127.0.0.1", tcp(1, 2, 0, 0, kTcpSyn))), true),
            Bogus::kNone);
  EXPECT_EQ(bogus_packet(parsed(ipv4(17, "198.18.1.2", "198.18.2.2", udp(0, 53))), false),
            Bogus::kPortZero);
  EXPECT_EQ(bogus_packet(parsed(ipv4(1, "198.18.1.2", "198.18.2.2", echo(8, 0, 1))), false),
            Bogus::kNone)
      << "an echo id of 0 is not a port";
  EXPECT_EQ(bogus_packet(parsed(ipv4(6, "198.18.1.2", "198.18.2.2", tcp(1, 2, 0, 0, 0))), false),
            Bogus::kTcpFlags);
  EXPECT_EQ(
      bogus_packet(parsed(ipv4(6, "198.18.1.2", "198.18.2.2", tcp(1, 2, 0, 0, kTcpSyn))), false),
      Bogus::kNone);
}

TEST(Guard, UrpfDecisions) {
  RouteInfo out;  // routed back out of ifindex 3
  out.ok = true;
  out.oif = 3;
  RouteInfo none;  // unreachable / blackhole / no route
  RouteInfo local;
  local.ok = local.local = true;
  using config::Urpf;
  EXPECT_TRUE(urpf_passes(Urpf::kOff, none, 2));
  EXPECT_TRUE(urpf_passes(Urpf::kStrict, out, 3));
  EXPECT_FALSE(urpf_passes(Urpf::kStrict, out, 2));
  EXPECT_FALSE(urpf_passes(Urpf::kStrict, none, 2));
  EXPECT_FALSE(urpf_passes(Urpf::kStrict, local, 2));
  EXPECT_TRUE(urpf_passes(Urpf::kLoose, out, 2));
  EXPECT_FALSE(urpf_passes(Urpf::kLoose, none, 2));
  EXPECT_FALSE(urpf_passes(Urpf::kLoose, local, 2));
}

TEST(Guard, WhichUnroutedPacketsMayBeAnswered) {
  EXPECT_TRUE(may_answer_unreachable(parsed(ipv4(17, "198.18.1.2", "192.0.2.1", udp(1, 2)))));
  EXPECT_FALSE(may_answer_unreachable(parsed(ipv4(1, "198.18.1.2", "192.0.2.1", icmp(3, 0)))));
  EXPECT_FALSE(may_answer_unreachable(parsed(ipv4(17, "198.18.1.2", "224.0.0.9", udp(1, 2)))));
  EXPECT_FALSE(
      may_answer_unreachable(parsed(ipv4(17, "198.18.1.2", "255.255.255.255", udp(1, 2)))));
  EXPECT_FALSE(may_answer_unreachable(parsed(ipv4(17, "0.0.0.0", "192.0.2.1", udp(1, 2)))));
  EXPECT_FALSE(may_answer_unreachable(parsed(ipv4(17, "240.0.0.1", "192.0.2.1", udp(1, 2)))));
  EXPECT_TRUE(
      may_answer_unreachable(parsed(ipv6(17, "2001:db8:1::2", "2001:db8:9::1", udp(1, 2)))));
  EXPECT_FALSE(may_answer_unreachable(parsed(ipv6(17, "2001:db8:1::2", "ff02::1", udp(1, 2)))));
  EXPECT_FALSE(may_answer_unreachable(parsed(ipv6(17, "::", "2001:db8:9::1", udp(1, 2)))));
}

}  // namespace
}  // namespace fw::fwd

namespace fw::fwd {
namespace {

TEST(Guard, TokenBucketRateAndBurst) {
  LockedTokenBucket b(100, 5);
  int got = 0;
  for (int i = 0; i < 20; ++i) got += b.take(1000);
  EXPECT_EQ(got, 5) << "the burst, then nothing at the same instant";
  EXPECT_FALSE(b.take(1005));  // half a token
  EXPECT_TRUE(b.take(1010));   // 10 ms = one token at 100/s
  EXPECT_FALSE(b.take(1010));
  got = 0;
  for (int i = 0; i < 20; ++i) got += b.take(60'000);
  EXPECT_EQ(got, 5) << "a long pause refills only up to the burst";
}

}  // namespace
}  // namespace fw::fwd
