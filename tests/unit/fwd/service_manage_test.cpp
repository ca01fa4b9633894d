// `service-manage ping permit|deny` in the packet path: an echo request to the firewall itself on
// that interface is dropped (deny, counted) or admitted without the security policy (permit);
// pings forwarded through the interface and pings on other interfaces are not concerned.
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

// The lab's routes: the firewall is 198.18.1.1 on in0 (ifindex 2) and 203.0.113.1 on out0 (3).
class ServiceManageTest : public testing::PipelineFixture {
 protected:
  ServiceManageTest() : PipelineFixture(kConfig) {}
  void set(const std::string& iface, const std::string& cmd) {
    cli::ViewStack sys{{cli::ViewKind::kUser, {}}, {cli::ViewKind::kSystem, {}}};
    auto r = ctl->execute(sys, "interface " + iface);
    ASSERT_TRUE(r.ok) << r.output;
    auto s = ctl->execute(r.views, cmd);
    ASSERT_TRUE(s.ok) << s.output;
  }
  Verdict ping(const char* src, const char* dst, uint32_t indev) {
    return process(ipv4(1, src, dst, echo(8, ++id, 1)), indev).verdict;
  }
  uint64_t denied() { return dp.counters().value("packet.drop.service-manage-deny"); }

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
  EXPECT_EQ(process(syn, 2).verdict, Verdict::kDrop);
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
