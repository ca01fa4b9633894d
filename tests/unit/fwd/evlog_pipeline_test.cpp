// "evlog" area (issue 15 item 4): what the data plane tells the event log. Sessions of a rule
// with `session logging` are logged when created and torn down, with the reason they left (rst,
// fin, aged-out, reset); other rules' sessions are not; refused flows are sampled; commands that
// change the configuration are recorded; the settings render and reload.
#include <gtest/gtest.h>

#include "common/counters.h"
#include "fwd/controller.h"
#include "fwd/dataplane.h"
#include "fwd/pipeline.h"
#include "packet/checksum.h"
#include "tests/unit/fwd/controller_test_util.h"
#include "tests/unit/fwd/pipeline_fixture.h"
#include "tests/unit/packet/builders.h"

namespace fw::fwd {
namespace {

using namespace fw::packet::testing;
using testing::current;

// The session table holds a million of these: the flags byte lives in what was padding (the SYN
// proxy's fields took the Session from 248 to 256 bytes).
static_assert(sizeof(session::Session) == 256);

constexpr uint64_t kWall = 1'795'953'332'000ull;  // 2026-11-29 11:55:32 UTC

const std::string kConfig = std::string(testing::kLabZones) + R"(security-policy
 rule name web
  source-zone trust
  destination-zone untrust
  service protocol tcp destination-port 80
  action permit
  session logging
 rule name dns
  source-zone trust
  destination-zone untrust
  service protocol udp destination-port 53
  action permit
  session logging
 rule name quiet
  source-zone trust
  destination-zone untrust
  action permit
)";

DataPlaneOptions options(common::ManualClock& clock) {
  DataPlaneOptions o;
  o.evlog.syslog_path = "";
  o.evlog.wall_ms = [&clock] { return kWall + clock.now_ms() - 1'000'000; };
  return o;
}

class EvlogPipeline : public testing::PipelineFixture {
 protected:
  EvlogPipeline() : PipelineFixture(kConfig, nullptr, options) {}
  void SetUp() override {
    PipelineFixture::SetUp();
    dp.evlog().set_syslog("", evlog::SyslogFormat::kRfc3164);
  }
  Verdict send(Bytes pkt, uint32_t indev) { return process(std::move(pkt), indev).verdict; }
  Verdict out(uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq = 1000) {
    return send(ipv4(6, "198.18.1.2", "203.0.113.2", tcp(sport, dport, seq, 0, flags)), 2);
  }
  Verdict back(uint16_t sport, uint16_t dport, uint8_t flags) {
    return send(ipv4(6, "203.0.113.2", "198.18.1.2", tcp(dport, sport, 5000, 1001, flags)), 3);
  }
  // The event texts of a name, oldest first.
  std::vector<std::string> events(const std::string& name) {
    dp.evlog().drain();
    std::vector<std::string> v;
    for (const auto& e : dp.evlog().buffer())
      if (e.name == name) v.push_back(e.text);
    return v;
  }
  void age(uint64_t s) {
    clock.advance_s(s);
    dp.pipeline().maintain();
  }
};

TEST_F(EvlogPipeline, RstTeardownCarriesHuaweisFields) {
  ASSERT_EQ(out(40000, 80, 0x02), Verdict::kAccept);
  auto created = events("SESSION_CREATE");
  ASSERT_EQ(created.size(), 1u);
  EXPECT_NE(created[0].find("IPVer=4,Protocol=tcp,SourceIP=198.18.1.2,DestinationIP=203.0.113.2,"
                            "SourcePort=40000,DestinationPort=80,BeginTime=1795953332,"
                            "SourceZone=trust,DestinationZone=untrust,PolicyName=web"),
            std::string::npos)
      << created[0];
  clock.advance_s(3);
  ASSERT_EQ(back(40000, 80, 0x12), Verdict::kAccept);       // SYN+ACK, 40 bytes each
  ASSERT_EQ(out(40000, 80, 0x04, 1001), Verdict::kAccept);  // RST
  EXPECT_TRUE(events("SESSION_TEARDOWN").empty()) << "not before it leaves the table";
  age(11);  // fin-rst aging: 10 s
  auto t = events("SESSION_TEARDOWN");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0],
            "IPVer=4,Protocol=tcp,SourceIP=198.18.1.2,DestinationIP=203.0.113.2,SourcePort=40000,"
            "DestinationPort=80,BeginTime=1795953332,EndTime=1795953346,SendPkts=2,SendBytes=80,"
            "RcvPkts=1,RcvBytes=40,SourceZone=trust,DestinationZone=untrust,PolicyName=web,"
            "Application=http,SessionID=" +
                t[0].substr(t[0].find("SessionID=") + 10,
                            t[0].find(",CloseReason") - t[0].find("SessionID=") - 10) +
                ",CloseReason=rst");
}

TEST_F(EvlogPipeline, FinAgedAndResetReasons) {
  out(40001, 80, 0x02);
  back(40001, 80, 0x12);
  out(40001, 80, 0x10, 1001);
  out(40001, 80, 0x11, 1001);  // FIN
  back(40001, 80, 0x11);
  send(ipv4(17, "198.18.1.2", "203.0.113.2", udp(5353, 53)), 2);  // dns: ages out
  age(11);
  age(120);
  auto t = events("SESSION_TEARDOWN");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_NE(t[0].find("DestinationPort=80,"), std::string::npos);
  EXPECT_NE(t[0].find("CloseReason=fin"), std::string::npos) << t[0];
  EXPECT_NE(t[1].find("Protocol=udp"), std::string::npos);
  EXPECT_NE(t[1].find("CloseReason=aged-out"), std::string::npos) << t[1];

  out(40002, 80, 0x02);
  auto r = ctl->execute(cli::user_view(), "reset firewall session table");
  ASSERT_TRUE(r.ok) << r.output;
  t = events("SESSION_TEARDOWN");
  ASSERT_EQ(t.size(), 3u);
  EXPECT_NE(t[2].find("SourcePort=40002"), std::string::npos);
  EXPECT_NE(t[2].find("CloseReason=reset"), std::string::npos) << t[2];
}

TEST_F(EvlogPipeline, RulesWithoutSessionLoggingLogNothing) {
  ASSERT_EQ(out(40003, 8080, 0x02), Verdict::kAccept);  // rule quiet
  out(40003, 8080, 0x04, 1001);
  age(11);
  EXPECT_TRUE(events("SESSION_CREATE").empty());
  EXPECT_TRUE(events("SESSION_TEARDOWN").empty());
  EXPECT_EQ(dp.sessions().size(), 0u);
  // Switched on: the next session is logged; `undo session logging` switches it off again.
  std::string err;
  ASSERT_TRUE(ctl->load_text("security-policy\n rule name quiet\n  session logging\n", "t", &err));
  out(40004, 8080, 0x02);
  EXPECT_EQ(events("SESSION_CREATE").size(), 1u);
  EXPECT_NE(current(*ctl).find("  action permit\n  session logging\n"), std::string::npos);
  ASSERT_TRUE(
      ctl->load_text("security-policy\n rule name quiet\n  undo session logging\n", "t", &err));
  out(40005, 8080, 0x02);
  EXPECT_EQ(events("SESSION_CREATE").size(), 1u);
}

TEST_F(EvlogPipeline, PolicyDropsAreSampled) {
  for (uint16_t i = 0; i < 50; ++i) {  // nothing permits untrust -> trust
    ASSERT_EQ(send(ipv4(6, "203.0.113.9", "198.18.1.2", tcp(1000 + i, 22, 1, 0, 0x02)), 3),
              Verdict::kDrop);
  }
  auto d = events("PACKET_DENY");
  ASSERT_EQ(d.size(), Events::kSampledPerSecond);
  EXPECT_EQ(d[0],
            "IPVer=4,Protocol=tcp,SourceIP=203.0.113.9,DestinationIP=198.18.1.2,SourcePort=1000,"
            "DestinationPort=22,SourceZone=untrust,DestinationZone=trust,PolicyName=default");
  EXPECT_EQ(dp.events().suppressed(), 40u);
  clock.advance_s(1);  // a new second, new samples
  send(ipv4(6, "203.0.113.9", "198.18.1.2", tcp(2000, 22, 1, 0, 0x02)), 3);
  EXPECT_EQ(events("PACKET_DENY").size(), Events::kSampledPerSecond + 1);
}

TEST_F(EvlogPipeline, ConfigurationCommandsAreRecordedAndSettingsRender) {
  auto sys = cli::user_view();
  auto r = ctl->execute(sys, "system-view");
  ASSERT_TRUE(r.ok);
  r = ctl->execute(r.views, "info-center logbuffer size 50");
  ASSERT_TRUE(r.ok) << r.output;
  r = ctl->execute(r.views, "info-center loghost unix-socket /run/fwd-test.sock rfc5424");
  ASSERT_TRUE(r.ok) << r.output;
  auto c = events("CMDRECORD");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0], "Command=\"info-center logbuffer size 50\"");
  const std::string cur = current(*ctl);
  EXPECT_NE(cur.find("#\n info-center logbuffer size 50\n info-center loghost unix-socket "
                     "/run/fwd-test.sock rfc5424\n"),
            std::string::npos)
      << cur;
  EXPECT_EQ(dp.evlog().stats().buffer_size, 50u);
  // Reloaded from its own rendering: the same text.
  ControllerHooks h;
  Controller again(h);
  std::string err;
  ASSERT_TRUE(again.load_text(cur, "saved", &err)) << err;
  EXPECT_EQ(current(again), cur);
  r = ctl->execute(r.views, "info-center loghost unix-socket relative.sock");
  EXPECT_FALSE(r.ok);
}

// NAT pool exhaustion and a full session table are told (sampled), with the flow refused.
TEST(EvlogRefusals, NatExhaustedAndTableFull) {
  common::ManualClock clock{1'000'000};
  TableRoutes routes = testing::lab_routes();
  DataPlaneOptions o = options(clock);
  o.max_sessions = 3;
  testing::Plane plane(clock, routes, o);
  DataPlane& dp = plane.dp;
  std::string err;
  ASSERT_TRUE(plane.load(std::string(kConfig) + R"(nat address-group np
 mode no-pat global
 section 0 203.0.113.100 203.0.113.100
nat-policy
 rule name nopat
  source-zone trust
  destination-zone untrust
  action source-nat address-group np
)",
                         &err))
      << err;
  dp.evlog().set_syslog("", evlog::SyslogFormat::kRfc3164);
  auto send = [&](const char* src, uint16_t sport) {
    return plane.process(ipv4(17, src, "203.0.113.2", udp(sport, 53, text("q"))), 2).verdict;
  };
  auto events = [&](const std::string& name) {
    dp.evlog().drain();
    std::vector<std::string> v;
    for (const auto& e : dp.evlog().buffer())
      if (e.name == name) v.push_back(e.text);
    return v;
  };
  // One global address without PAT: the first inside host has it, the second is refused.
  ASSERT_EQ(send("198.18.1.2", 1000), Verdict::kAccept);
  EXPECT_EQ(send("198.18.1.3", 1000), Verdict::kDrop);
  auto nat = events("NAT_EXHAUSTED");
  ASSERT_EQ(nat.size(), 1u);
  EXPECT_NE(nat[0].find("SourceIP=198.18.1.3"), std::string::npos) << nat[0];
  EXPECT_TRUE(events("SESSION_TABLE_FULL").empty());
  // The first host's flows fill the table (3 sessions); the fourth is refused and told.
  ASSERT_EQ(send("198.18.1.2", 1001), Verdict::kAccept);
  ASSERT_EQ(send("198.18.1.2", 1002), Verdict::kAccept);
  EXPECT_EQ(send("198.18.1.2", 1003), Verdict::kDrop);
  auto full = events("SESSION_TABLE_FULL");
  ASSERT_EQ(full.size(), 1u);
  EXPECT_NE(full[0].find("SourcePort=1003"), std::string::npos) << full[0];
}

}  // namespace
}  // namespace fw::fwd

namespace fw::fwd {
namespace {

TEST_F(EvlogPipeline, AntiDdosAttackStartAndEnd) {
  std::string err;
  ASSERT_TRUE(ctl->load_text("firewall zone untrust\n anti-ddos syn-flood max-rate 5\n", "t", &err))
      << err;
  for (uint16_t i = 0; i < 20; ++i)  // to an inside address: refused above 5/s
    send(ipv4(6, "203.0.113.9", "198.18.1.5", tcp(3000 + i, 80, 1, 0, 0x02)), 3);
  auto s = events("ATTACK_START");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0], "AttackType=syn-flood,DestinationIP=198.18.1.5,MaxRate=5");
  EXPECT_TRUE(events("ATTACK_END").empty());
  age(6);  // quiet for longer than FloodLimiter::kQuietMs
  auto e = events("ATTACK_END");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].rfind("AttackType=syn-flood,RefusedSessions=", 0), 0u) << e[0];
}

}  // namespace
}  // namespace fw::fwd
