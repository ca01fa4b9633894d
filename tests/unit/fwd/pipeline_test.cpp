// The packet path against a fake FIB: first packet -> zones -> policy ->
// session; later packets follow the session; bad packets are dropped and counted.
#include "fwd/pipeline.h"

#include <gtest/gtest.h>

#include "common/counters.h"
#include "fwd/controller.h"
#include "fwd/dataplane.h"
#include "packet/checksum.h"
#include "tests/unit/fwd/pipeline_fixture.h"
#include "tests/unit/packet/builders.h"

namespace fw::fwd {
namespace {

using namespace fw::packet::testing;

// ifindex 2 = in0 (198.18.1.0/24), 3 = out0 (203.0.113.0/24), 4 = dmz0, 9 = unzoned.
class FakeRoutes : public RouteSource {
 public:
  RouteInfo route(const common::IpAddr& dst) override {
    RouteInfo r;
    std::string s = dst.str();
    if (s == "198.18.1.1" || s == "203.0.113.1") {
      r.ok = r.local = true;
      return r;
    }
    if (s.rfind("198.18.1.", 0) == 0 || s.rfind("2001:db8:1::", 0) == 0)
      r.oif = 2;
    else if (s.rfind("203.0.113.", 0) == 0 || s.rfind("2001:db8:3::", 0) == 0)
      r.oif = 3;
    else if (s.rfind("198.18.2.", 0) == 0)
      r.oif = 4;
    else if (s.rfind("198.18.9.", 0) == 0)
      r.oif = 9;
    else
      return r;  // unreachable
    r.ok = true;
    ++lookups;
    return r;
  }
  std::string ifname(uint32_t i) override {
    switch (i) {
      case 2:
        return "in0";
      case 3:
        return "out0";
      case 4:
        return "dmz0";
      case 9:
        return "eth9";
      default:
        return "";
    }
  }
  int lookups = 0;
};

const char* kConfig = R"(
firewall zone trust
 add interface in0
firewall zone untrust
 add interface out0
firewall zone dmz
 add interface dmz0
security-policy
 rule name t2u
  source-zone trust
  destination-zone untrust
  action permit
 rule name deny-web-dmz
  source-zone trust
  destination-zone dmz
  service http
  action deny
 rule name to-dmz
  source-zone trust
  destination-zone dmz
  action permit
)";

class PipelineTest : public testing::PipelineFixture {
 protected:
  PipelineTest()
      : PipelineFixture(kConfig, std::make_unique<FakeRoutes>(),
                        [](common::ManualClock&) { return small_table(1000); }) {}
  Decision run(Bytes pkt, uint32_t indev) { return process(std::move(pkt), indev); }
  static DataPlaneOptions small_table(size_t n) {
    DataPlaneOptions o;
    o.max_sessions = n;
    return o;
  }

  FakeRoutes& routes = static_cast<FakeRoutes&>(*routes_);
  session::SessionTable& table = dp.sessions();
  Pipeline& pipe = dp.pipeline();
};

TEST_F(PipelineTest, SynCreatesSessionAndRepliesFollowIt) {
  auto syn = ipv4(6, "198.18.1.2", "203.0.113.2", tcp(40000, 80, 1, 0, packet::kTcpSyn));
  EXPECT_EQ(run(syn, 2).verdict, Verdict::kAccept);
  ASSERT_EQ(table.size(), 1u);
  int lookups = routes.lookups;
  auto synack =
      ipv4(6, "203.0.113.2", "198.18.1.2", tcp(80, 40000, 7, 2, packet::kTcpSyn | packet::kTcpAck));
  EXPECT_EQ(run(synack, 3).verdict, Verdict::kAccept);
  auto ack = ipv4(6, "198.18.1.2", "203.0.113.2", tcp(40000, 80, 2, 8, packet::kTcpAck));
  EXPECT_EQ(run(ack, 2).verdict, Verdict::kAccept);
  EXPECT_EQ(routes.lookups, lookups) << "later packets must not do route lookups";
  auto s = table.snapshot();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].tcp_state, session::TcpState::kEstablished);
  EXPECT_EQ(s[0].packets[0], 2u);
  EXPECT_EQ(s[0].packets[1], 1u);
  EXPECT_EQ(dp.names().name(s[0].policy), "t2u");
  EXPECT_EQ(dp.zone_name(s[0].src_zone), "trust");
  EXPECT_EQ(dp.zone_name(s[0].dst_zone), "untrust");
  EXPECT_EQ(s[0].timeout_s, 1200u);
}

TEST_F(PipelineTest, StrayAckIsDroppedAndCounted) {
  uint64_t before = ctr("packet.drop.tcp-not-syn");
  auto ack = ipv4(6, "198.18.1.2", "203.0.113.2", tcp(40001, 80, 2, 8, packet::kTcpAck));
  EXPECT_EQ(run(ack, 2).verdict, Verdict::kDrop);
  auto synack =
      ipv4(6, "198.18.1.2", "203.0.113.2", tcp(40001, 80, 2, 8, packet::kTcpAck | packet::kTcpSyn));
  EXPECT_EQ(run(synack, 2).verdict, Verdict::kDrop);
  EXPECT_EQ(ctr("packet.drop.tcp-not-syn"), before + 2);
  EXPECT_EQ(table.size(), 0u);
}

// IGMP membership messages stay on their link (TTL 1, to a group): like ND and MLD, they are
// no one's flow - accepted without policy or session, never counted as a deny (a bridge's
// reports at random moments once made an e2e test's deny count one too many).
TEST_F(PipelineTest, IgmpOnTheLinkIsNotPolicy) {
  uint64_t before = ctr("packet.drop.policy-deny");
  const Bytes report{0x22, 0, 0xf9, 0xfd, 0, 0, 0, 0};  // IGMPv3 report, no group record
  V4Opts link;
  link.ttl = 1;
  EXPECT_EQ(run(ipv4(2, "198.18.1.1", "224.0.0.22", report, link), 2).verdict, Verdict::kAccept);
  EXPECT_EQ(run(ipv4(2, "203.0.113.2", "224.0.0.22", report, link), 3).verdict, Verdict::kAccept);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(ctr("packet.drop.policy-deny"), before);
  // IGMP that could leave the link (TTL > 1, or to a unicast address) is a flow like any other.
  EXPECT_EQ(run(ipv4(2, "203.0.113.2", "224.0.0.22", report), 3).verdict, Verdict::kDrop);
  EXPECT_EQ(ctr("packet.drop.policy-deny") + ctr("packet.drop.no-route"), before + 1);
  EXPECT_EQ(run(ipv4(2, "203.0.113.2", "198.18.1.2", report, link), 3).verdict, Verdict::kDrop);
  EXPECT_EQ(ctr("packet.drop.policy-deny") + ctr("packet.drop.no-route"), before + 2);
}

TEST_F(PipelineTest, DefaultDenyAndRuleOrder) {
  uint64_t before = ctr("packet.drop.policy-deny");
  // untrust -> trust: no rule, default deny.
  auto in = ipv4(6, "203.0.113.2", "198.18.1.2", tcp(5555, 22, 1, 0, packet::kTcpSyn));
  EXPECT_EQ(run(in, 3).verdict, Verdict::kDrop);
  // trust -> dmz http: the deny rule comes before the permit.
  auto web = ipv4(6, "198.18.1.2", "198.18.2.2", tcp(40002, 80, 1, 0, packet::kTcpSyn));
  EXPECT_EQ(run(web, 2).verdict, Verdict::kDrop);
  auto ssh = ipv4(6, "198.18.1.2", "198.18.2.2", tcp(40003, 22, 1, 0, packet::kTcpSyn));
  EXPECT_EQ(run(ssh, 2).verdict, Verdict::kAccept);
  EXPECT_EQ(ctr("packet.drop.policy-deny"), before + 2);
  // Moving the permit above the deny lets http through.
  auto vs = cli::ViewStack{{cli::ViewKind::kUser, {}},
                           {cli::ViewKind::kSystem, {}},
                           {cli::ViewKind::kSecurityPolicy, {}}};
  ASSERT_TRUE(ctl->execute(vs, "rule move to-dmz before deny-web-dmz").ok);
  auto web2 = ipv4(6, "198.18.1.2", "198.18.2.2", tcp(40004, 80, 1, 0, packet::kTcpSyn));
  EXPECT_EQ(run(web2, 2).verdict, Verdict::kAccept);
}

TEST_F(PipelineTest, UnzonedInterfaceAndNoRouteAreDropped) {
  uint64_t nz = ctr("packet.drop.no-zone"), nr = ctr("packet.drop.no-route");
  auto p1 = ipv4(17, "198.18.1.2", "198.18.9.9", udp(1000, 53));
  EXPECT_EQ(run(p1, 2).verdict, Verdict::kDrop);
  // No route: counted as no-route, but accepted so the kernel answers ICMP net unreachable.
  uint64_t uk = ctr("packet.no-route.unreachable-by-kernel");
  auto p2 = ipv4(17, "198.18.1.2", "192.0.2.1", udp(1000, 53));
  EXPECT_EQ(run(p2, 2).verdict, Verdict::kAccept);
  EXPECT_EQ(ctr("packet.no-route.unreachable-by-kernel"), uk + 1);
  EXPECT_EQ(table.size(), 0u) << "an unrouted packet opens no session";
  auto p3 = ipv4(17, "198.18.9.2", "203.0.113.2", udp(1000, 53));
  EXPECT_EQ(run(p3, 9).verdict, Verdict::kDrop);
  EXPECT_EQ(ctr("packet.drop.no-zone"), nz + 2);
  EXPECT_EQ(ctr("packet.drop.no-route"), nr + 1);
}

TEST_F(PipelineTest, IcmpEchoUsesIdAsPortAndDnsAging) {
  auto req = ipv4(1, "198.18.1.2", "203.0.113.2", echo(8, 0x77, 1));
  EXPECT_EQ(run(req, 2).verdict, Verdict::kAccept);
  auto rep = ipv4(1, "203.0.113.2", "198.18.1.2", echo(0, 0x77, 1));
  EXPECT_EQ(run(rep, 3).verdict, Verdict::kAccept);
  auto other = ipv4(1, "203.0.113.2", "198.18.1.2", echo(0, 0x78, 1));
  EXPECT_EQ(run(other, 3).verdict, Verdict::kDrop)
      << "a reply with another id is not part of the flow";
  auto dns = ipv4(17, "198.18.1.2", "203.0.113.2", udp(3333, 53));
  EXPECT_EQ(run(dns, 2).verdict, Verdict::kAccept);
  auto s = table.snapshot();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].orig.sport, 0x77);
  EXPECT_EQ(s[0].timeout_s, 20u);
  EXPECT_EQ(s[1].timeout_s, 30u);
}

TEST_F(PipelineTest, SessionsAgeOutWithTheClock) {
  auto dns = ipv4(17, "198.18.1.2", "203.0.113.2", udp(3334, 53));
  EXPECT_EQ(run(dns, 2).verdict, Verdict::kAccept);
  clock.advance_s(29);
  pipe.maintain();
  EXPECT_EQ(table.size(), 1u);
  clock.advance_s(2);
  pipe.maintain();
  EXPECT_EQ(table.size(), 0u);
  auto reply = ipv4(17, "203.0.113.2", "198.18.1.2", udp(53, 3334));
  EXPECT_EQ(run(reply, 3).verdict, Verdict::kDrop);
}

TEST_F(PipelineTest, AgingTimeCommandChangesNewSessions) {
  auto sys = cli::ViewStack{{cli::ViewKind::kUser, {}}, {cli::ViewKind::kSystem, {}}};
  ASSERT_TRUE(ctl->execute(sys, "firewall session aging-time udp 7").ok);
  auto p = ipv4(17, "198.18.1.2", "203.0.113.2", udp(4444, 4444));
  EXPECT_EQ(run(p, 2).verdict, Verdict::kAccept);
  EXPECT_EQ(table.snapshot().at(0).timeout_s, 7u);
}

TEST_F(PipelineTest, IcmpErrorForAKnownFlowPassesOthersDoNot) {
  auto p = ipv4(17, "198.18.1.2", "203.0.113.2", udp(5000, 33434));
  EXPECT_EQ(run(p, 2).verdict, Verdict::kAccept);
  // Port unreachable quoting that datagram (IP header + 8 bytes).
  Bytes quoted(p.begin(), p.begin() + 28);
  auto err = ipv4(1, "203.0.113.2", "198.18.1.2", icmp(3, 3, 0, quoted));
  EXPECT_EQ(run(err, 3).verdict, Verdict::kAccept);
  auto unrelated = ipv4(17, "198.18.1.2", "203.0.113.2", udp(5001, 33434));
  Bytes q2(unrelated.begin(), unrelated.begin() + 28);
  auto err2 = ipv4(1, "203.0.113.2", "198.18.1.2", icmp(3, 3, 0, q2));
  EXPECT_EQ(run(err2, 3).verdict, Verdict::kDrop);
}

TEST_F(PipelineTest, MalformedPacketsAreDroppedNeverSessions) {
  uint64_t before = ctr("packet.drop.malformed");
  Bytes junk = {0x45, 0, 0, 10};
  EXPECT_EQ(pipe.process_bytes(junk.data(), static_cast<uint32_t>(junk.size()), 2).verdict,
            Verdict::kDrop);
  auto badoff = ipv4(6, "198.18.1.2", "203.0.113.2", tcp(1, 2, 0, 0, packet::kTcpSyn));
  badoff[20 + 12] = 0x20;  // data offset 2 words
  EXPECT_EQ(pipe.process_bytes(badoff.data(), static_cast<uint32_t>(badoff.size()), 2).verdict,
            Verdict::kDrop);
  EXPECT_EQ(ctr("packet.drop.malformed"), before + 2);
  EXPECT_EQ(table.size(), 0u);
}

TEST_F(PipelineTest, Ipv6FlowsAndNeighbourDiscovery) {
  auto syn = ipv6(6, "2001:db8:1::2", "2001:db8:3::2", tcp(40000, 443, 1, 0, packet::kTcpSyn));
  EXPECT_EQ(run(syn, 2).verdict, Verdict::kAccept);
  auto synack = ipv6(6, "2001:db8:3::2", "2001:db8:1::2",
                     tcp(443, 40000, 1, 2, packet::kTcpSyn | packet::kTcpAck));
  EXPECT_EQ(run(synack, 3).verdict, Verdict::kAccept);
  // Neighbour solicitation from outside must pass without a rule.
  auto ns = ipv6(58, "2001:db8:3::2", "2001:db8:3::1", icmp(135, 0));
  EXPECT_EQ(run(ns, 3).verdict, Verdict::kAccept);
}

TEST_F(PipelineTest, FragmentsOfAPermittedFlowPass) {
  // First fragment carries the UDP header; the second has only payload.
  Bytes payload(40, 0xab);
  auto l4 = udp(6000, 7000, payload);
  V4Opts f1;
  f1.frag = 0x2000;  // MF
  f1.id = 0x4242;
  Bytes first_l4(l4.begin(), l4.begin() + 24);
  auto first = ipv4(17, "198.18.1.2", "203.0.113.2", first_l4, f1);
  V4Opts f2;
  f2.frag = 3;  // offset 24 bytes
  f2.id = 0x4242;
  Bytes rest(l4.begin() + 24, l4.end());
  auto second = ipv4(17, "198.18.1.2", "203.0.113.2", rest, f2);
  EXPECT_EQ(run(first, 2).verdict, Verdict::kAccept);
  EXPECT_EQ(run(second, 2).verdict, Verdict::kAccept);
  f2.id = 0x4343;
  auto stranger = ipv4(17, "198.18.1.2", "203.0.113.2", rest, f2);
  EXPECT_EQ(run(stranger, 2).verdict, Verdict::kDrop);
}

TEST_F(PipelineTest, SessionCapDropsAndCounts) {
  DataPlane small{clock, routes, small_table(2)};
  small.apply(ctl->running());
  Pipeline& p2 = small.pipeline();
  const uint64_t before = small.counters().value("packet.drop.session-limit");
  for (uint16_t i = 0; i < 3; ++i) {
    auto p = ipv4(17, "198.18.1.2", "203.0.113.2", udp(static_cast<uint16_t>(7000 + i), 9));
    packet::fix_checksums(p, false);
    auto d = p2.process_bytes(p.data(), static_cast<uint32_t>(p.size()), 2);
    EXPECT_EQ(d.verdict, i < 2 ? Verdict::kAccept : Verdict::kDrop);
  }
  EXPECT_EQ(small.counters().value("packet.drop.session-limit"), before + 1);
}

}  // namespace
}  // namespace fw::fwd

namespace fw::fwd {
namespace {

// Mid-stream pickup (after a crash): a permitted TCP flow resumes from either side's packet;
// never from a RST, never where source NAT would be needed, never when pickup is off.
TEST_F(PipelineTest, TcpPickupMidStreamOnlyWhenOnAndPermitted) {
  auto ack_out = ipv4(6, "198.18.1.2", "203.0.113.2", tcp(40000, 80, 100, 200, packet::kTcpAck));
  auto data_in = ipv4(6, "203.0.113.2", "198.18.1.2",
                      tcp(80, 40001, 200, 100, packet::kTcpAck | packet::kTcpPsh, {}, text("x")));
  EXPECT_EQ(run(ack_out, 2).verdict, Verdict::kDrop) << "pickup off: tcp-not-syn";
  pipe.set_tcp_pickup_until(UINT64_MAX);
  EXPECT_EQ(run(ack_out, 2).verdict, Verdict::kAccept);
  // The responder's packet of a connection trust -> untrust permits: picked up the other way.
  EXPECT_EQ(run(data_in, 3).verdict, Verdict::kAccept);
  auto list = table.snapshot();
  ASSERT_EQ(list.size(), 2u);
  const auto& rev = list[1];
  EXPECT_EQ(rev.orig.src.str(), "198.18.1.2");
  EXPECT_EQ(rev.orig.sport, 40001);
  EXPECT_EQ(dp.zone_name(rev.src_zone), "trust");
  EXPECT_EQ(rev.packets[1], 1u);
  EXPECT_EQ(ctr("session.picked-up"), 2u);
  // Its next packet from the inside follows the same session.
  auto ack2 = ipv4(6, "198.18.1.2", "203.0.113.2", tcp(40001, 80, 100, 201, packet::kTcpAck));
  EXPECT_EQ(run(ack2, 2).verdict, Verdict::kAccept);
  EXPECT_EQ(table.size(), 2u);
  // Denied both ways (untrust -> dmz is not permitted either way): dropped.
  auto stray = ipv4(6, "203.0.113.2", "198.18.2.2", tcp(5000, 22, 1, 1, packet::kTcpAck));
  EXPECT_EQ(run(stray, 3).verdict, Verdict::kDrop);
  // A RST opens nothing.
  auto rst = ipv4(6, "198.18.1.2", "203.0.113.2", tcp(40002, 80, 1, 1, packet::kTcpRst));
  EXPECT_EQ(run(rst, 2).verdict, Verdict::kDrop);
  // Where source NAT would apply, the translation is gone: no pickup.
  auto sys = cli::ViewStack{{cli::ViewKind::kUser, {}}, {cli::ViewKind::kSystem, {}}};
  ASSERT_TRUE(ctl->execute(sys, "nat-policy").ok);
  ASSERT_TRUE(ctl->execute({{cli::ViewKind::kUser, {}},
                            {cli::ViewKind::kSystem, {}},
                            {cli::ViewKind::kNatPolicy, {}}},
                           "rule name ez")
                  .ok);
  ASSERT_TRUE(ctl->execute({{cli::ViewKind::kUser, {}},
                            {cli::ViewKind::kSystem, {}},
                            {cli::ViewKind::kNatPolicy, {}},
                            {cli::ViewKind::kNatRule, {"ez"}}},
                           "source-zone trust")
                  .ok);
  ASSERT_TRUE(ctl->execute({{cli::ViewKind::kUser, {}},
                            {cli::ViewKind::kSystem, {}},
                            {cli::ViewKind::kNatPolicy, {}},
                            {cli::ViewKind::kNatRule, {"ez"}}},
                           "action source-nat easy-ip")
                  .ok);
  auto natted = ipv4(6, "198.18.1.2", "203.0.113.2", tcp(40003, 80, 100, 200, packet::kTcpAck));
  EXPECT_EQ(run(natted, 2).verdict, Verdict::kDrop);
  pipe.set_tcp_pickup_until(0);
}

}  // namespace
}  // namespace fw::fwd

namespace fw::fwd {
namespace {

// A replaced snapshot is freed as soon as no reader holds it - not after a delay.
TEST(RuntimeHolder, FreesAReplacedSnapshotOnceNoReaderHoldsIt) {
  common::CounterTable counters;
  common::Interner zones(policy::kMaxZoneIds);
  aspf::Registry algs(counters);
  const config::Config c = config::Config::defaults();
  RuntimeHolder h;
  RuntimeHolder::Reader r1(h), r2(h);
  EXPECT_EQ(r1.acquire(), nullptr);
  r1.release();
  h.publish(std::make_unique<Runtime>(c, zones, counters, algs));
  const Runtime* first = r1.acquire();  // r1 keeps using the first snapshot
  ASSERT_NE(first, nullptr);
  h.publish(std::make_unique<Runtime>(c, zones, counters, algs));
  EXPECT_EQ(h.reclaim(), 1u) << "r1 still uses it";
  EXPECT_NE(r2.acquire(), first) << "a new reader sees the new snapshot";
  r2.release();
  EXPECT_EQ(h.reclaim(), 1u);
  r1.release();
  EXPECT_EQ(h.reclaim(), 0u) << "freed once nobody uses it";
  for (int i = 0; i < 500; ++i) h.publish(std::make_unique<Runtime>(c, zones, counters, algs));
  EXPECT_EQ(h.reclaim(), 0u) << "500 changes leave nothing retired";
}

}  // namespace
}  // namespace fw::fwd

namespace fw::fwd {
namespace {

// A SYN reusing the 4-tuple of a closed connection is a new flow: judged by the policy in
// force now, not waved through the old session.
TEST_F(PipelineTest, ReusedTupleAfterCloseIsJudgedAgain) {
  auto syn = ipv4(6, "198.18.1.2", "203.0.113.2", tcp(40100, 80, 1, 0, packet::kTcpSyn));
  auto rst = ipv4(6, "203.0.113.2", "198.18.1.2", tcp(80, 40100, 7, 2, packet::kTcpRst));
  ASSERT_EQ(run(syn, 2).verdict, Verdict::kAccept);
  ASSERT_EQ(run(rst, 3).verdict, Verdict::kAccept);
  ASSERT_EQ(table.snapshot().at(0).tcp_state, session::TcpState::kClosing);
  const uint64_t old_id = table.snapshot().at(0).id;
  // Same tuple, same policy: a new session replaces the closed one.
  ASSERT_EQ(run(syn, 2).verdict, Verdict::kAccept);
  ASSERT_EQ(table.size(), 1u);
  EXPECT_NE(table.snapshot().at(0).id, old_id);
  EXPECT_EQ(table.snapshot().at(0).tcp_state, session::TcpState::kSynSent);
  // Closed again, then the policy changes: the reused tuple is denied.
  ASSERT_EQ(run(rst, 3).verdict, Verdict::kAccept);
  auto sys = cli::ViewStack{{cli::ViewKind::kUser, {}}, {cli::ViewKind::kSystem, {}}};
  ASSERT_TRUE(ctl->execute(sys, "security-policy").ok);
  ASSERT_TRUE(ctl->execute({{cli::ViewKind::kUser, {}},
                            {cli::ViewKind::kSystem, {}},
                            {cli::ViewKind::kSecurityPolicy, {}}},
                           "undo rule name t2u")
                  .ok);
  EXPECT_EQ(run(syn, 2).verdict, Verdict::kDrop);
  EXPECT_EQ(table.size(), 0u);
}

}  // namespace
// ---- guard (issue 16 items 7, 8) ----------------------------------------------------

TEST_F(PipelineTest, InvalidTcpFlagsDroppedOnNewFlowAndOnSession) {
  const uint64_t before = ctr("packet.drop.tcp-invalid-flags");
  const uint8_t bad[] = {packet::kTcpSyn | packet::kTcpFin, packet::kTcpSyn | packet::kTcpRst, 0,
                         packet::kTcpFin, packet::kTcpFin | packet::kTcpPsh | packet::kTcpUrg};
  for (uint8_t f : bad) {
    auto pkt = ipv4(6, "198.18.1.2", "203.0.113.2", tcp(40100, 80, 1, 0, f));
    EXPECT_EQ(run(pkt, 2).verdict, Verdict::kDrop) << int(f);
  }
  EXPECT_EQ(table.size(), 0u);
  // A session exists: a SYN+FIN on its tuple (either way) is still refused.
  auto syn = ipv4(6, "198.18.1.2", "203.0.113.2", tcp(40101, 80, 1, 0, packet::kTcpSyn));
  ASSERT_EQ(run(syn, 2).verdict, Verdict::kAccept);
  auto sf =
      ipv4(6, "198.18.1.2", "203.0.113.2", tcp(40101, 80, 2, 0, packet::kTcpSyn | packet::kTcpFin));
  EXPECT_EQ(run(sf, 2).verdict, Verdict::kDrop);
  auto rsf = ipv4(6, "203.0.113.2", "198.18.1.2",
                  tcp(80, 40101, 2, 0, packet::kTcpSyn | packet::kTcpFin | packet::kTcpAck));
  EXPECT_EQ(run(rsf, 3).verdict, Verdict::kDrop);
  EXPECT_EQ(ctr("packet.drop.tcp-invalid-flags"), before + std::size(bad) + 2);
  auto synack =
      ipv4(6, "203.0.113.2", "198.18.1.2", tcp(80, 40101, 7, 2, packet::kTcpSyn | packet::kTcpAck));
  EXPECT_EQ(run(synack, 3).verdict, Verdict::kAccept);
}

TEST_F(PipelineTest, LandAndPortZeroDropped) {
  const uint64_t land = ctr("packet.drop.land"), zero = ctr("packet.drop.port-zero");
  auto l = ipv4(6, "203.0.113.2", "203.0.113.2", tcp(80, 80, 1, 0, packet::kTcpSyn));
  EXPECT_EQ(run(l, 2).verdict, Verdict::kDrop);
  auto l6 = ipv6(17, "2001:db8:3::2", "2001:db8:3::2", udp(53, 53));
  EXPECT_EQ(run(l6, 2).verdict, Verdict::kDrop);
  EXPECT_EQ(ctr("packet.drop.land"), land + 2);
  auto d0 = ipv4(6, "198.18.1.2", "203.0.113.2", tcp(40200, 0, 1, 0, packet::kTcpSyn));
  auto s0 = ipv4(17, "198.18.1.2", "203.0.113.2", udp(0, 53));
  auto u0 = ipv4(17, "198.18.1.2", "203.0.113.2", udp(1234, 0));
  EXPECT_EQ(run(d0, 2).verdict, Verdict::kDrop);
  EXPECT_EQ(run(s0, 2).verdict, Verdict::kDrop);
  EXPECT_EQ(run(u0, 2).verdict, Verdict::kDrop);
  EXPECT_EQ(ctr("packet.drop.port-zero"), zero + 3);
  EXPECT_EQ(table.size(), 0u);
  // Over lo (ifindex 1) src == dst is the firewall talking to itself: not LAND.
  EXPECT_EQ(run(l, 1).verdict, Verdict::kDrop);
  EXPECT_EQ(ctr("packet.drop.land"), land + 2);
}

TEST_F(PipelineTest, NoRouteLeftToKernelOnlyWhenAnswerable) {
  const uint64_t nr = ctr("packet.drop.no-route");
  const uint64_t uk = ctr("packet.no-route.unreachable-by-kernel");
  // An ICMP error (of no session: dropped before routing), a multicast destination: silent.
  const uint64_t ie = ctr("packet.drop.icmp-error-no-session");
  auto err = ipv4(1, "198.18.1.2", "192.0.2.1", icmp(3, 1));
  EXPECT_EQ(run(err, 2).verdict, Verdict::kDrop);
  auto mc = ipv4(17, "198.18.1.2", "239.1.2.3", udp(1000, 5000));
  EXPECT_EQ(run(mc, 2).verdict, Verdict::kDrop);
  auto v6 = ipv6(17, "2001:db8:1::2", "2001:db8:99::1", udp(1000, 53));
  EXPECT_EQ(run(v6, 2).verdict, Verdict::kAccept);
  EXPECT_EQ(ctr("packet.drop.icmp-error-no-session"), ie + 1);
  EXPECT_EQ(ctr("packet.drop.no-route"), nr + 2);
  EXPECT_EQ(ctr("packet.no-route.unreachable-by-kernel"), uk + 1);
  // A policy deny stays a silent drop.
  auto denied = ipv4(6, "198.18.1.2", "198.18.2.2", tcp(40300, 80, 1, 0, packet::kTcpSyn));
  EXPECT_EQ(run(denied, 2).verdict, Verdict::kDrop);
  EXPECT_EQ(ctr("packet.no-route.unreachable-by-kernel"), uk + 1);
}

TEST_F(PipelineTest, UrpfStrictLooseOffPerZone) {
  const auto zone = cli::ViewStack{
      {cli::ViewKind::kUser, {}}, {cli::ViewKind::kSystem, {}}, {cli::ViewKind::kZone, {"trust"}}};
  // Arrives on in0 (trust): 203.0.113.9 is routed back out of out0, 192.0.2.9 not at all,
  // 198.18.1.1 is the firewall's own address.
  uint16_t port = 41000;
  auto from = [&](const char* src) {
    auto pkt = ipv4(17, src, "203.0.113.2", udp(port++, 53));
    return run(pkt, 2).verdict;
  };
  EXPECT_EQ(from("203.0.113.9"), Verdict::kAccept) << "off by default";
  const uint64_t u = ctr("packet.drop.urpf");
  ASSERT_TRUE(ctl->execute(zone, "urpf strict").ok);
  EXPECT_EQ(from("203.0.113.9"), Verdict::kDrop);
  EXPECT_EQ(from("192.0.2.9"), Verdict::kDrop);
  EXPECT_EQ(from("198.18.1.1"), Verdict::kDrop);
  EXPECT_EQ(from("198.18.1.2"), Verdict::kAccept);
  EXPECT_EQ(ctr("packet.drop.urpf"), u + 3);
  ASSERT_TRUE(ctl->execute(zone, "urpf loose").ok);
  EXPECT_EQ(from("203.0.113.9"), Verdict::kAccept);
  EXPECT_EQ(from("192.0.2.9"), Verdict::kDrop);
  EXPECT_EQ(ctr("packet.drop.urpf"), u + 4);
  // Another zone is not concerned.
  auto in_untrust = ipv4(17, "192.0.2.9", "198.18.1.2", udp(port++, 53));
  EXPECT_EQ(run(in_untrust, 3).verdict, Verdict::kDrop);  // policy (no untrust->trust rule)
  EXPECT_EQ(ctr("packet.drop.urpf"), u + 4);
  ASSERT_TRUE(ctl->execute(zone, "undo urpf").ok);
  EXPECT_EQ(from("192.0.2.9"), Verdict::kAccept);
  EXPECT_EQ(ctr("packet.drop.urpf"), u + 4);
}

}  // namespace fw::fwd

namespace fw::fwd {
namespace {

// What `save` wrote is loaded back at start (--db / config file): the urpf line is kept.
TEST_F(PipelineTest, UrpfLoadedFromConfiguration) {
  std::string err;
  ASSERT_TRUE(
      ctl->load_text(std::string(kConfig) + "firewall zone trust\n urpf strict\n", "test", &err))
      << err;
  auto spoofed = ipv4(17, "203.0.113.9", "203.0.113.2", udp(42000, 53));
  EXPECT_EQ(run(spoofed, 2).verdict, Verdict::kDrop);
  EXPECT_EQ(ctr("packet.drop.urpf"), 1u);
}

}  // namespace
}  // namespace fw::fwd

namespace fw::fwd {
namespace {

TEST_F(PipelineTest, NoRouteAnswersRateLimited) {
  int accepted = 0;
  for (uint16_t i = 0; i < 150; ++i) {
    auto p = ipv4(17, "198.18.1.2", "192.0.2.1", udp(static_cast<uint16_t>(20000 + i), 53));
    accepted += run(p, 2).verdict == Verdict::kAccept;
  }
  EXPECT_EQ(accepted, static_cast<int>(kUnreachableBurst));
  EXPECT_EQ(ctr("packet.no-route.unreachable-by-kernel"), kUnreachableBurst);
  EXPECT_EQ(ctr("packet.no-route.unreachable-suppressed"), 150 - kUnreachableBurst);
  EXPECT_EQ(ctr("packet.drop.no-route"), 150u);
  clock.advance_ms(1000);
  auto p = ipv4(17, "198.18.1.2", "192.0.2.1", udp(30000, 53));
  EXPECT_EQ(run(p, 2).verdict, Verdict::kAccept) << "refilled after a second";
}

}  // namespace
}  // namespace fw::fwd
