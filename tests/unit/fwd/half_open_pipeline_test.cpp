// "halfopen" area (issue 16 item 2): half-open TCP sessions limited per destination in the packet
// path (`anti-ddos syn-flood half-open-limit N`, default 1024): a new SYN above the limit pushes
// out the OLDEST half-open session of that destination (not the new one); a session that
// completes its handshake, is reset, ages out or is cleared leaves the set; counted, shown, in
// the event log, rendered and reloaded.
#include <gtest/gtest.h>

#include <algorithm>

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

DataPlaneOptions options() {
  DataPlaneOptions o;
  o.evlog.syslog_path = "";
  return o;
}

// The clients are outside hosts 203.0.113.<n> (n = 1 too): the lab's routes without the
// firewall's own addresses.
class HalfOpenPipeline : public testing::PipelineFixture {
 protected:
  HalfOpenPipeline()
      : PipelineFixture(kConfig, std::make_unique<TableRoutes>(testing::lab_routes()),
                        [](common::ManualClock&) { return options(); }) {}
  void SetUp() override {
    PipelineFixture::SetUp();
    dp.evlog().set_syslog("", evlog::SyslogFormat::kRfc3164);
  }
  Verdict send(Bytes pkt, uint32_t indev) { return process(std::move(pkt), indev).verdict; }
  // The client 203.0.113.<n>:<n+10000> (outside) to dst:80, and the server's answers.
  static std::string client(int n) { return "203.0.113." + std::to_string(n); }
  Verdict syn(int n, const char* dst = kServer) {
    return send(ipv4(6, client(n).c_str(), dst, tcp(sport(n), 80, 1000, 0, 0x02)), 3);
  }
  Verdict synack(int n) {
    return send(ipv4(6, kServer, client(n).c_str(), tcp(80, sport(n), 7000, 1001, 0x12)), 2);
  }
  Verdict ack(int n) {
    return send(ipv4(6, client(n).c_str(), kServer, tcp(sport(n), 80, 1001, 7001, 0x10)), 3);
  }
  static uint16_t sport(int n) { return static_cast<uint16_t>(10000 + n); }
  // Whether client n still has its session.
  bool has(int n) {
    return !dp.sessions()
                .snapshot([&](const session::Session& s) {
                  return s.orig.src.str() == client(n) && s.orig.sport == sport(n);
                })
                .empty();
  }
  size_t half_open() { return dp.half_open().count(*common::IpAddr::parse(kServer)); }
  std::vector<std::string> events(const std::string& name) {
    dp.evlog().drain();
    std::vector<std::string> v;
    for (const auto& e : dp.evlog().buffer())
      if (e.name == name) v.push_back(e.text);
    return v;
  }
  std::string run(const std::string& line) {
    auto r = ctl->execute(cli::user_view(), line);
    return r.output;
  }

  static constexpr const char* kServer = "198.18.1.5";
};

TEST_F(HalfOpenPipeline, TheOldestHalfOpenSessionGoesNotTheNewOne) {
  config("firewall zone untrust\n anti-ddos syn-flood half-open-limit 5\n");
  for (int n = 1; n <= 5; ++n) ASSERT_EQ(syn(n), Verdict::kAccept);
  EXPECT_EQ(half_open(), 5u);
  for (int n = 6; n <= 8; ++n) EXPECT_EQ(syn(n), Verdict::kAccept) << "a new SYN is admitted";
  EXPECT_EQ(half_open(), 5u);
  EXPECT_EQ(dp.sessions().size(), 5u);
  for (int n = 1; n <= 3; ++n) EXPECT_FALSE(has(n)) << "the oldest went: " << n;
  for (int n = 4; n <= 8; ++n) EXPECT_TRUE(has(n)) << n;
  EXPECT_EQ(ctr("session.half-open.evicted"), 3u);
  // A late ACK of an evicted client opens nothing (it must connect again).
  EXPECT_EQ(ack(1), Verdict::kDrop);
  // Another destination has its own limit.
  EXPECT_EQ(syn(20, "198.18.1.6"), Verdict::kAccept);
  EXPECT_TRUE(has(20));
  EXPECT_EQ(half_open(), 5u);
}

TEST_F(HalfOpenPipeline, ACompletedHandshakeLeavesTheSetAndIsNeverEvicted) {
  config("firewall zone untrust\n anti-ddos syn-flood half-open-limit 3\n");
  ASSERT_EQ(syn(1), Verdict::kAccept);
  ASSERT_EQ(synack(1), Verdict::kAccept);
  EXPECT_EQ(half_open(), 1u) << "syn-recv is still half-open";
  ASSERT_EQ(ack(1), Verdict::kAccept);
  EXPECT_EQ(half_open(), 0u) << "established";
  for (int n = 2; n <= 50; ++n) ASSERT_EQ(syn(n), Verdict::kAccept);
  EXPECT_TRUE(has(1)) << "an established session is never pushed out";
  EXPECT_EQ(half_open(), 3u);
  EXPECT_EQ(dp.sessions().size(), 4u);
  // A server's RST ends the half-open state as well.
  ASSERT_EQ(send(ipv4(6, kServer, client(50).c_str(), tcp(80, sport(50), 0, 1001, 0x14)), 2),
            Verdict::kAccept);
  EXPECT_EQ(half_open(), 2u);
}

TEST_F(HalfOpenPipeline, AgedAndClearedSessionsLeaveTheSet) {
  config("anti-ddos syn-flood half-open-limit 10\n");
  for (int n = 1; n <= 4; ++n) ASSERT_EQ(syn(n), Verdict::kAccept);
  EXPECT_EQ(half_open(), 4u);
  clock.advance_s(6);  // the syn aging time is 5 s
  dp.pipeline().maintain();
  EXPECT_EQ(dp.sessions().size(), 0u);
  EXPECT_EQ(dp.half_open().size(), 0u);
  for (int n = 1; n <= 4; ++n) ASSERT_EQ(syn(n), Verdict::kAccept);
  run("reset firewall session table");
  EXPECT_EQ(dp.half_open().size(), 0u);
  EXPECT_EQ(ctr("session.half-open.evicted"), 0u);
}

TEST_F(HalfOpenPipeline, DefaultLimitAndZoneOverGlobalAndOff) {
  for (int n = 0; n < 1030; ++n) {
    const std::string src =
        "203.0." + std::to_string(100 + n / 250) + "." + std::to_string(1 + n % 250);
    ASSERT_EQ(send(ipv4(6, src.c_str(), kServer, tcp(4000, 80, 1, 0, 0x02)), 3), Verdict::kAccept);
  }
  EXPECT_EQ(half_open(), session::HalfOpenLimiter::kDefaultLimit) << "on by default: 1024";
  EXPECT_EQ(ctr("session.half-open.evicted"), 6u);
  // The zone's value wins over the global one; 0: no limit.
  config(
      "anti-ddos syn-flood half-open-limit 2\nfirewall zone trust\n anti-ddos syn-flood "
      "half-open-limit 0\n");
  for (uint16_t p = 1; p <= 20; ++p)
    ASSERT_EQ(send(ipv4(6, "198.18.1.2", "203.0.113.2", tcp(p, 80, 1, 0, 0x02)), 2),
              Verdict::kAccept);
  EXPECT_EQ(dp.half_open().count(*common::IpAddr::parse("203.0.113.2")), 0u);
  EXPECT_EQ(dp.sessions().size(), 1024u + 20u);
  ASSERT_EQ(syn(1), Verdict::kAccept);  // untrust: the next SYN brings it down to 2
  EXPECT_EQ(half_open(), 2u);
  EXPECT_EQ(dp.sessions().size(), 20u + 2u);
  EXPECT_EQ(ctr("session.half-open.evicted"), 6u + 1023u);
}

TEST_F(HalfOpenPipeline, AttackStartAndEndInTheEventLogAndTheDisplays) {
  config("anti-ddos syn-flood half-open-limit 2\n");
  for (int n = 1; n <= 6; ++n) ASSERT_EQ(syn(n), Verdict::kAccept);
  auto s = events("ATTACK_START");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0], "AttackType=half-open,DestinationIP=198.18.1.5,HalfOpenLimit=2");
  const std::string d = run("display anti-ddos statistics");
  EXPECT_NE(d.find("  global          2\n"), std::string::npos) << d;
  EXPECT_NE(d.find("  Half-open sessions now          : 2\n"), std::string::npos) << d;
  EXPECT_NE(d.find("  half-open   attack   1        0 s ago      -            4             4    "
                   "         198.18.1.5\n"),
            std::string::npos)
      << d;
  EXPECT_NE(run("display firewall statistics").find("Half-open sessions dropped      : 4\n"),
            std::string::npos);
  EXPECT_TRUE(events("ATTACK_END").empty());
  clock.advance_ms(session::HalfOpenLimiter::kQuietMs);
  dp.pipeline().maintain();
  auto e = events("ATTACK_END");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].rfind("AttackType=half-open,EvictedSessions=4,", 0), 0u) << e[0];
}

TEST_F(HalfOpenPipeline, RenderedAndReloadedExactly) {
  config(
      "anti-ddos syn-flood half-open-limit 300\nfirewall zone dmz\n anti-ddos syn-flood "
      "half-open-limit 0\n");
  const std::string text = config::render(ctl->running());
  EXPECT_NE(text.find("#\n anti-ddos syn-flood half-open-limit 300\n"), std::string::npos) << text;
  EXPECT_NE(text.find(" anti-ddos syn-flood half-open-limit 0\n"), std::string::npos) << text;
  testing::Plane again(clock, *routes_);
  std::string err;
  ASSERT_TRUE(again.load(text, &err, "saved")) << err;
  EXPECT_EQ(config::render(again.ctl->running()), text);
  config(
      "undo anti-ddos syn-flood half-open-limit\nfirewall zone dmz\n undo anti-ddos syn-flood "
      "half-open-limit\n");
  EXPECT_EQ(config::render(ctl->running()).find("half-open-limit"), std::string::npos);
}

}  // namespace
}  // namespace fw::fwd
