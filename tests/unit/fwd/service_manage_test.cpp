// `service-manage ping permit|deny` in the packet path: an echo request to the firewall itself on
// that interface is dropped (deny, counted) or admitted without the security policy (permit);
// pings forwarded through the interface and pings on other interfaces are not concerned.
#include <gtest/gtest.h>

#include "common/counters.h"
#include "fwd/controller.h"
#include "fwd/dataplane.h"
#include "fwd/pipeline.h"
#include "packet/checksum.h"
#include "tests/unit/packet/builders.h"

namespace fw::fwd {
namespace {

using namespace fw::packet::testing;

// ifindex 2 = in0 (198.18.1.0/24, the firewall is .1), 3 = out0 (203.0.113.0/24, .1).
class Routes : public RouteSource {
 public:
  RouteInfo route(const common::IpAddr& dst) override {
    RouteInfo r;
    std::string s = dst.str();
    r.ok = true;
    if (s == "198.18.1.1" || s == "203.0.113.1")
      r.local = true;
    else if (s.rfind("198.18.1.", 0) == 0)
      r.oif = 2;
    else if (s.rfind("203.0.113.", 0) == 0)
      r.oif = 3;
    else
      r.ok = false;
    return r;
  }
  std::string ifname(uint32_t i) override { return i == 2 ? "in0" : i == 3 ? "out0" : ""; }
};

const char* kConfig = R"(
map-interface GigabitEthernet1/0/1 in0
firewall zone trust
 add interface in0
firewall zone untrust
 add interface out0
security-policy
 rule name t2u
  source-zone trust
  destination-zone untrust
  action permit
 rule name u2local
  source-zone untrust
  destination-zone local
  action permit
)";

class ServiceManageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ControllerHooks h;
    h.dataplane = &dp;
    ctl = std::make_unique<Controller>(h);
    std::string err;
    ASSERT_TRUE(ctl->load_text(kConfig, "test", &err)) << err;
  }
  void set(const std::string& iface, const std::string& cmd) {
    cli::ViewStack sys{{cli::ViewKind::kUser, {}}, {cli::ViewKind::kSystem, {}}};
    auto r = ctl->execute(sys, "interface " + iface);
    ASSERT_TRUE(r.ok) << r.output;
    auto s = ctl->execute(r.views, cmd);
    ASSERT_TRUE(s.ok) << s.output;
  }
  Verdict ping(const char* src, const char* dst, uint32_t indev) {
    auto pkt = ipv4(1, src, dst, echo(8, ++id, 1));
    packet::fix_checksums(pkt, false);
    return pipe.process_bytes(pkt.data(), static_cast<uint32_t>(pkt.size()), indev).verdict;
  }
  uint64_t denied() { return dp.counters().value("packet.drop.service-manage-deny"); }

  common::ManualClock clock;
  Routes routes;
  DataPlane dp{clock, routes, DataPlaneOptions{}};
  Pipeline& pipe = dp.pipeline();
  std::unique_ptr<Controller> ctl;
  uint16_t id = 100;
};

TEST_F(ServiceManageTest, WithoutItThePolicyDecides) {
  EXPECT_EQ(ping("198.18.1.2", "198.18.1.1", 2), Verdict::kDrop);      // no trust -> local rule
  EXPECT_EQ(ping("203.0.113.2", "203.0.113.1", 3), Verdict::kAccept);  // u2local
}

TEST_F(ServiceManageTest, PermitAnswersWithoutARule) {
  set("GigabitEthernet1/0/1", "service-manage ping permit");
  EXPECT_EQ(ping("198.18.1.2", "198.18.1.1", 2), Verdict::kAccept);
  // Only echo requests: a TCP connection to the firewall still needs a rule.
  auto syn = ipv4(6, "198.18.1.2", "198.18.1.1", tcp(40000, 22, 1, 0, packet::kTcpSyn));
  packet::fix_checksums(syn, false);
  EXPECT_EQ(pipe.process_bytes(syn.data(), static_cast<uint32_t>(syn.size()), 2).verdict,
            Verdict::kDrop);
}

TEST_F(ServiceManageTest, DenyDropsDespiteARuleAndIsCounted) {
  set("out0", "service-manage ping deny");
  EXPECT_EQ(ping("203.0.113.2", "203.0.113.1", 3), Verdict::kDrop);
  EXPECT_EQ(denied(), 1u);
  // Another interface, and pings forwarded through out0's zone, are not concerned.
  EXPECT_EQ(ping("198.18.1.2", "203.0.113.2", 2), Verdict::kAccept);
  set("out0", "undo service-manage ping");
  EXPECT_EQ(ping("203.0.113.2", "203.0.113.1", 3), Verdict::kAccept);
  EXPECT_EQ(denied(), 1u);
}

}  // namespace
}  // namespace fw::fwd
