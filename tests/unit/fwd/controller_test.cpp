// Configuration commands: apply, render, re-apply; errors change nothing.
#include "fwd/controller.h"

#include <gtest/gtest.h>

namespace fw::fwd {
namespace {

const char* kRich = R"(
sysname LAB-FW
firewall session aging-time udp 90
firewall session aging-time tcp 600
ip service-set web8080 type object
 service 0 protocol tcp destination-port 8080 to 8090
 service 1 protocol udp source-port 1000 destination-port 53
 service protocol icmp
firewall zone name lab
 set priority 60
 add interface veth9
firewall zone trust
 add interface in0
 add interface in1
 quit
firewall zone untrust
 add interface out0
security-policy
 default action permit
 rule name r1
  source-zone trust lab
  destination-zone untrust
  source-address 198.18.1.0 mask 255.255.255.0
  source-address 198.18.2.0 24
  destination-address 2001:db8:3:: 64
  service http https web8080
  action permit
 rule name r2
  description block telnet
  disable
  service telnet
  action deny
 rule name r3
 rule move r3 top
return
)";

TEST(Controller, EveryCommandSpecHasExactlyOneHandler) {
  Controller c({});
  EXPECT_EQ(c.check_handlers(), std::vector<std::string>{});
}

TEST(Controller, CurrentConfigurationLoadsBackToTheSameConfiguration) {
  Controller a({});
  std::string err;
  ASSERT_TRUE(a.load_text(kRich, "rich", &err)) << err;
  auto sys = cli::ViewStack{{cli::ViewKind::kUser, {}}};
  std::string first = a.execute(sys, "display current-configuration").output;
  EXPECT_NE(first.find("rule name r3\n rule name r1"), std::string::npos) << first;
  EXPECT_NE(first.find(" sysname LAB-FW"), std::string::npos);
  EXPECT_NE(first.find("destination-address 2001:db8:3:: 64"), std::string::npos) << first;
  EXPECT_NE(first.find("source-address 198.18.2.0 mask 255.255.255.0"), std::string::npos) << first;

  Controller b({});
  ASSERT_TRUE(b.load_text(first, "rendered", &err)) << err;
  std::string second = b.execute(sys, "display current-configuration").output;
  EXPECT_EQ(first, second);
}

TEST(Controller, ErrorsReportFileLineAndChangeNothing) {
  Controller a({});
  std::string err;
  EXPECT_FALSE(
      a.load_text("firewall zone trust\n add interface in0\n add interfce in1\n", "cfg", &err));
  EXPECT_NE(err.find("cfg:3:"), std::string::npos) << err;
  EXPECT_NE(err.find("Error: Unrecognized command found at '^' position."), std::string::npos)
      << err;

  auto vs = cli::ViewStack{{cli::ViewKind::kUser, {}}, {cli::ViewKind::kSystem, {}}};
  std::string before = a.execute(vs, "display current-configuration").output;
  auto r = a.execute(vs, "firewall zone untrust");
  ASSERT_TRUE(r.ok);
  auto r2 = a.execute(r.views, "add interface in0");  // already in trust
  EXPECT_FALSE(r2.ok);
  EXPECT_NE(r2.output.find("has been added to security zone trust"), std::string::npos)
      << r2.output;
  EXPECT_EQ(a.execute(vs, "display current-configuration").output, before);
}

TEST(Controller, ViewsAndPrompts) {
  Controller a({});
  auto vs = cli::user_view();
  EXPECT_EQ(a.prompt(vs), "<FW>");
  vs = a.execute(vs, "system-view").views;
  EXPECT_EQ(a.prompt(vs), "[FW]");
  vs = a.execute(vs, "security-policy").views;
  vs = a.execute(vs, "rule name R1").views;
  EXPECT_EQ(a.prompt(vs), "[FW-policy-security-rule-R1]");
  // VRP: a command of an upper view works from a sub-view and moves there.
  vs = a.execute(vs, "firewall zone dmz").views;
  EXPECT_EQ(a.prompt(vs), "[FW-zone-dmz]");
  vs = a.execute(vs, "quit").views;
  EXPECT_EQ(a.prompt(vs), "[FW]");
  vs = a.execute(vs, "sysname EDGE").views;
  EXPECT_EQ(a.prompt(vs), "[EDGE]");
  vs = a.execute(vs, "return").views;
  EXPECT_EQ(a.prompt(vs), "<EDGE>");
}

TEST(Controller, ReferencedObjectsCannotBeRemoved) {
  Controller a({});
  std::string err;
  ASSERT_TRUE(a.load_text(
      "firewall zone name lab\n set priority 60\nip service-set s1 type object\n service protocol "
      "tcp destination-port 81\nsecurity-policy\n rule name r\n  source-zone lab\n  service s1\n",
      "x", &err))
      << err;
  auto vs = cli::ViewStack{{cli::ViewKind::kUser, {}}, {cli::ViewKind::kSystem, {}}};
  EXPECT_FALSE(a.execute(vs, "undo firewall zone name lab").ok);
  EXPECT_FALSE(a.execute(vs, "undo ip service-set s1").ok);
  EXPECT_FALSE(a.execute(vs, "undo firewall zone name trust").ok);
}

}  // namespace
}  // namespace fw::fwd
