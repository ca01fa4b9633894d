// Per-source limits in the packet path ("srclimit" area): the global cap, a zone's value over
// the global one, the session-rate limit, release when a session ends, the drop counters, and
// the commands' save/render round trip.
#include <gtest/gtest.h>

#include <cstdio>

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

class SourceLimitPipeline : public testing::PipelineFixture {
 protected:
  SourceLimitPipeline() : PipelineFixture(kConfig) {}
  // A UDP flow of `src`:sport to 203.0.113.2:53 arriving on in0 (or TCP SYN from outside).
  Verdict udp_from(const char* src, uint16_t sport, uint32_t indev = 2,
                   const char* dst = "203.0.113.2") {
    return process(ipv4(17, src, dst, udp(sport, 53)), indev).verdict;
  }
};

TEST_F(SourceLimitPipeline, OffByDefault) {
  for (uint16_t p = 1000; p < 1300; ++p) ASSERT_EQ(udp_from("198.18.1.2", p), Verdict::kAccept);
  EXPECT_EQ(dp.sessions().size(), 300u);
  EXPECT_EQ(dp.sources().hosts(), 0u) << "nothing is tracked without a limit";
}

TEST_F(SourceLimitPipeline, GlobalCapRefusesTheNextSessionOfThatHostOnly) {
  config("firewall source-ip-limit max-session 100\n");
  for (uint16_t p = 1000; p < 1100; ++p) ASSERT_EQ(udp_from("198.18.1.2", p), Verdict::kAccept);
  EXPECT_EQ(udp_from("198.18.1.2", 1100), Verdict::kDrop);
  EXPECT_EQ(ctr("packet.drop.source-session-limit"), 1u);
  EXPECT_EQ(udp_from("198.18.1.3", 1000), Verdict::kAccept);
  // An existing session's packets still pass.
  EXPECT_EQ(udp_from("198.18.1.2", 1000), Verdict::kAccept);
  EXPECT_EQ(dp.sessions().size(), 101u);
  // Sessions that end give their place back (aging: UDP 30 s).
  clock.advance_s(31);
  dp.pipeline().maintain();
  EXPECT_EQ(dp.sessions().size(), 0u);
  EXPECT_EQ(udp_from("198.18.1.2", 2000), Verdict::kAccept);
  auto top = dp.sources().top(1);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].sessions, 1u);
}

TEST_F(SourceLimitPipeline, ResetOfTheTableReleasesEverySource) {
  config("firewall source-ip-limit max-session 5\n");
  for (uint16_t p = 1000; p < 1005; ++p) ASSERT_EQ(udp_from("198.18.1.2", p), Verdict::kAccept);
  EXPECT_EQ(udp_from("198.18.1.2", 1005), Verdict::kDrop);
  dp.sessions().erase_if([](const session::Session&) { return true; });
  for (uint16_t p = 1005; p < 1010; ++p) ASSERT_EQ(udp_from("198.18.1.2", p), Verdict::kAccept);
}

TEST_F(SourceLimitPipeline, ZoneValueWinsOverTheGlobalOne) {
  config(
      "firewall source-ip-limit max-session 3\n"
      "firewall zone untrust\n source-ip-limit max-session 10\n");
  for (uint16_t p = 1000; p < 1003; ++p) ASSERT_EQ(udp_from("198.18.1.2", p), Verdict::kAccept);
  EXPECT_EQ(udp_from("198.18.1.2", 1003), Verdict::kDrop);  // trust: the global 3
  for (uint16_t p = 1000; p < 1010; ++p) {
    ASSERT_EQ(udp_from("203.0.113.9", p, 3, "198.18.1.5"), Verdict::kAccept);  // untrust: 10
  }
  EXPECT_EQ(udp_from("203.0.113.9", 1010, 3, "198.18.1.5"), Verdict::kDrop);
  EXPECT_EQ(ctr("packet.drop.source-session-limit"), 2u);
  // Undo in the zone: the global value applies there again.
  config("firewall zone untrust\n undo source-ip-limit max-session\n");
  EXPECT_EQ(udp_from("203.0.113.8", 1, 3, "198.18.1.5"), Verdict::kAccept);
  EXPECT_EQ(udp_from("203.0.113.8", 2, 3, "198.18.1.5"), Verdict::kAccept);
  EXPECT_EQ(udp_from("203.0.113.8", 3, 3, "198.18.1.5"), Verdict::kAccept);
  EXPECT_EQ(udp_from("203.0.113.8", 4, 3, "198.18.1.5"), Verdict::kDrop);
}

TEST_F(SourceLimitPipeline, SessionRateIsPerSecond) {
  config("firewall zone trust\n source-ip-limit session-rate 20\n");
  for (uint16_t p = 1000; p < 1020; ++p) ASSERT_EQ(udp_from("198.18.1.2", p), Verdict::kAccept);
  EXPECT_EQ(udp_from("198.18.1.2", 1020), Verdict::kDrop);
  EXPECT_EQ(ctr("packet.drop.source-rate-limit"), 1u);
  EXPECT_EQ(udp_from("198.18.1.3", 1020), Verdict::kAccept);
  clock.advance_ms(500);
  for (uint16_t p = 2000; p < 2010; ++p) ASSERT_EQ(udp_from("198.18.1.2", p), Verdict::kAccept);
  EXPECT_EQ(udp_from("198.18.1.2", 2010), Verdict::kDrop);
  // untrust has no limit.
  for (uint16_t p = 1; p < 100; ++p)
    ASSERT_EQ(udp_from("203.0.113.9", p, 3, "198.18.1.5"), Verdict::kAccept);
}

TEST_F(SourceLimitPipeline, LimitsAreRenderedAndReloadExactly) {
  config(
      "firewall source-ip-limit max-session 100\n"
      "firewall source-ip-limit session-rate 50\n"
      "firewall source-ip-limit server-map 8\n"
      "firewall zone trust\n source-ip-limit max-session 7\n source-ip-limit session-rate 9\n");
  const std::string text = config::render(ctl->running());
  EXPECT_NE(text.find("\n firewall source-ip-limit max-session 100\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\n firewall source-ip-limit session-rate 50\n"), std::string::npos);
  EXPECT_NE(text.find("\n firewall source-ip-limit server-map 8\n"), std::string::npos);
  EXPECT_NE(text.find(" add interface in0\n source-ip-limit max-session 7\n source-ip-limit "
                      "session-rate 9\n"),
            std::string::npos)
      << text;
  testing::Plane again(clock, *routes_);
  std::string err;
  ASSERT_TRUE(again.load(text, &err, "saved")) << err;
  EXPECT_EQ(config::render(again.ctl->running()), text);
}

}  // namespace
}  // namespace fw::fwd

namespace fw::fwd {
namespace {

// A planned restart: the restored sessions count for their sources again.
TEST_F(SourceLimitPipeline, RestoredSessionsCountAgain) {
  config("firewall source-ip-limit max-session 4\n");
  for (uint16_t p = 1000; p < 1004; ++p) ASSERT_EQ(udp_from("198.18.1.2", p), Verdict::kAccept);
  const std::string path = ::testing::TempDir() + "/srclimit-state.bin";
  std::string err;
  ASSERT_TRUE(dp.save_state(path, &err)) << err;

  testing::Plane restarted(clock, *routes_);
  DataPlane& b = restarted.dp;
  ASSERT_TRUE(
      restarted.load(std::string(kConfig) + "firewall source-ip-limit max-session 4\n", &err))
      << err;
  auto rep = b.restore_state(path, &err);
  ASSERT_TRUE(rep) << err;
  EXPECT_EQ(rep->sessions, 4u) << rep->summary();
  ASSERT_EQ(b.sources().top(1).size(), 1u);
  EXPECT_EQ(b.sources().top(1)[0].sessions, 4u);
  EXPECT_EQ(restarted.process(ipv4(17, "198.18.1.2", "203.0.113.2", udp(1004, 53)), 2).verdict,
            Verdict::kDrop);
  b.sessions().erase_if([](const session::Session&) { return true; });
  EXPECT_EQ(b.sources().top(1).at(0).sessions, 0u);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace fw::fwd
