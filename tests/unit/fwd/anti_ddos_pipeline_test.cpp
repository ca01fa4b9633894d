// Flood defence in the packet path (`anti-ddos syn-flood|udp-flood|icmp-flood max-rate N`): new
// sessions to one destination above the rate of the ingress zone (or the global one) are refused
// before any session exists and counted by kind; other destinations, existing sessions and the
// other kinds are untouched; the commands render and reload exactly.
#include <gtest/gtest.h>

#include "common/counters.h"
#include "fwd/controller.h"
#include "fwd/dataplane.h"
#include "fwd/pipeline.h"
#include "packet/checksum.h"
#include "tests/unit/fwd/pipeline_fixture.h"
#include "tests/unit/packet/builders.h"

namespace fw::fwd {
namespace {

using namespace fw::packet::testing;

const std::string kConfig = std::string(testing::kLabZones) + testing::kPermitAll;

class AntiDdosPipeline : public testing::PipelineFixture {
 protected:
  AntiDdosPipeline() : PipelineFixture(kConfig) {}
  Verdict send(Bytes pkt, uint32_t indev) { return process(std::move(pkt), indev).verdict; }
  // A SYN from outside (`src`:sport) to dst:80.
  Verdict syn(const char* src, uint16_t sport, const char* dst = "198.18.1.5") {
    return send(ipv4(6, src, dst, tcp(sport, 80, 1000, 0, 0x02)), 3);
  }
  Verdict udp_out(uint16_t sport, const char* dst) {
    return send(ipv4(17, "198.18.1.2", dst, udp(sport, 53)), 2);
  }
};

TEST_F(AntiDdosPipeline, SynFloodAboveTheRateIsRefusedBeforeASessionExists) {
  config("firewall zone untrust\n anti-ddos syn-flood max-rate 50\n");
  int ok = 0;
  for (uint16_t i = 0; i < 200; ++i) {  // random sources, one destination
    const std::string src = "203.0.113." + std::to_string(1 + i % 250);
    ok += syn(src.c_str(), static_cast<uint16_t>(10000 + i)) == Verdict::kAccept;
  }
  EXPECT_EQ(ok, 50);
  EXPECT_EQ(dp.sessions().size(), 50u);
  EXPECT_EQ(ctr("packet.drop.syn-flood"), 150u);
  EXPECT_EQ(syn("203.0.113.9", 9, "198.18.1.6"), Verdict::kAccept) << "another destination";
  // An existing session's packets are not new sessions.
  EXPECT_EQ(send(ipv4(6, "203.0.113.1", "198.18.1.5", tcp(10000, 80, 1001, 0, 0x10)), 3),
            Verdict::kAccept);
  // The trust zone has no limit, and UDP is another kind.
  for (uint16_t p = 1; p <= 100; ++p) ASSERT_EQ(udp_out(p, "203.0.113.2"), Verdict::kAccept);
  clock.advance_ms(100);  // 5 tokens at 50/s
  ok = 0;
  for (uint16_t i = 0; i < 20; ++i) ok += syn("203.0.113.7", 20000 + i) == Verdict::kAccept;
  EXPECT_EQ(ok, 5);
  auto s = dp.floods().stats(session::FloodKind::kSyn);
  EXPECT_TRUE(s.active);
  EXPECT_EQ(s.attacks, 1u);
  EXPECT_EQ(s.last_target.str(), "198.18.1.5");
}

TEST_F(AntiDdosPipeline, GlobalRateAppliesWhereTheZoneSetsNone) {
  config(
      "anti-ddos udp-flood max-rate 10\nfirewall zone trust\n anti-ddos udp-flood max-rate 30\n");
  int ok = 0;
  for (uint16_t p = 1; p <= 40; ++p) ok += udp_out(p, "203.0.113.2") == Verdict::kAccept;
  EXPECT_EQ(ok, 30) << "trust: its own 30";
  ok = 0;
  for (uint16_t p = 1; p <= 40; ++p) {
    ok += send(ipv4(17, "203.0.113.2", "198.18.1.9", udp(p, 5000)), 3) == Verdict::kAccept;
  }
  EXPECT_EQ(ok, 10) << "untrust: the global 10";
  EXPECT_EQ(ctr("packet.drop.udp-flood"), 40u);
  config(
      "undo anti-ddos udp-flood max-rate\nfirewall zone trust\n undo anti-ddos udp-flood "
      "max-rate\n");
  for (uint16_t p = 100; p < 200; ++p) ASSERT_EQ(udp_out(p, "203.0.113.2"), Verdict::kAccept);
}

TEST_F(AntiDdosPipeline, IcmpFloodOfEchoRequests) {
  config("anti-ddos icmp-flood max-rate 5\n");
  int ok = 0;
  for (uint16_t id = 1; id <= 20; ++id)
    ok += send(ipv4(1, "203.0.113.2", "198.18.1.5", echo(8, id, 1)), 3) == Verdict::kAccept;
  EXPECT_EQ(ok, 5);
  EXPECT_EQ(ctr("packet.drop.icmp-flood"), 15u);
}

TEST_F(AntiDdosPipeline, RenderedAndReloadedExactly) {
  config(
      "anti-ddos syn-flood max-rate 1000\nanti-ddos icmp-flood max-rate 20\n"
      "firewall zone dmz\n anti-ddos udp-flood max-rate 300\n");
  const std::string text = config::render(ctl->running());
  EXPECT_NE(text.find("#\n anti-ddos syn-flood max-rate 1000\n anti-ddos icmp-flood max-rate 20\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(" set priority 50\n anti-ddos udp-flood max-rate 300\n"), std::string::npos)
      << text;
  testing::Plane again(clock, *routes_);
  std::string err;
  ASSERT_TRUE(again.load(text, &err, "saved")) << err;
  EXPECT_EQ(config::render(again.ctl->running()), text);
}

}  // namespace
}  // namespace fw::fwd
