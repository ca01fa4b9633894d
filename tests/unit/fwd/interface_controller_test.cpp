// The interface map and the interface view through the controller: VRP names resolve to Linux
// names where an interface is taken, the configuration loads back, refusals change nothing.
#include <gtest/gtest.h>

#include <set>

#include "fwd/controller.h"
#include "tests/unit/fwd/controller_test_util.h"

namespace fw::fwd {
namespace {

using testing::current;

const char* kMapped = R"(
map-interface GigabitEthernet1/0/1 in0
map-interface GigabitEthernet1/0/3 out0
interface GigabitEthernet1/0/1
 description inside
 ip address 198.18.1.1 255.255.255.0
 ip address 198.18.9.1 24 sub
 service-manage ping deny
interface out0
 shutdown
firewall zone trust
 add interface g1/0/1
firewall zone untrust
 add interface GigabitEthernet1/0/3
nat-policy
 rule name n1
  egress-interface gigabitethernet1/0/3
  action source-nat easy-ip
)";

ControllerHooks known(std::set<std::string> names) {
  ControllerHooks h;
  h.interface_exists = [names](const std::string& n) { return names.count(n) > 0; };
  return h;
}

TEST(InterfaceController, VrpNamesAreStoredAsLinuxNames) {
  Controller c(known({"in0", "out0"}));
  std::string err;
  ASSERT_TRUE(c.load_text(kMapped, "mapped", &err)) << err;
  config::Config cfg = c.running();
  EXPECT_EQ(cfg.find_zone("trust")->interfaces, std::vector<std::string>{"in0"});
  EXPECT_EQ(cfg.find_zone("untrust")->interfaces, std::vector<std::string>{"out0"});
  EXPECT_EQ(cfg.nat_rules.at(0).egress_interfaces, std::vector<std::string>{"out0"});
  const auto* in0 = cfg.find_interface("in0");
  ASSERT_NE(in0, nullptr);
  EXPECT_EQ(in0->description, "inside");
  ASSERT_EQ(in0->addresses.size(), 2u);
  EXPECT_EQ(in0->addresses[0].addr.str(), "198.18.1.1");
  EXPECT_TRUE(in0->addresses[1].sub);
  EXPECT_EQ(in0->ping, config::InterfaceSettings::Manage::kDeny);
  EXPECT_TRUE(cfg.find_interface("out0")->shutdown);
}

TEST(InterfaceController, CurrentConfigurationLoadsBack) {
  Controller a(known({"in0", "out0"}));
  std::string err;
  ASSERT_TRUE(a.load_text(kMapped, "mapped", &err)) << err;
  std::string first = current(a);
  EXPECT_NE(first.find("interface GigabitEthernet1/0/3\n shutdown\n"), std::string::npos) << first;
  Controller b(known({"in0", "out0"}));
  ASSERT_TRUE(b.load_text(first, "rendered", &err)) << err;
  EXPECT_EQ(current(b), first);
}

TEST(InterfaceController, UnknownNamesAreRefusedAndChangeNothing) {
  Controller c(known({"in0", "out0"}));
  std::string err;
  ASSERT_TRUE(c.load_text(kMapped, "mapped", &err)) << err;
  std::string before = current(c);
  cli::ViewStack sys{{cli::ViewKind::kUser, {}}, {cli::ViewKind::kSystem, {}}};
  for (const char* line : {"interface GigabitEthernet1/0/2", "interface eth7", "firewall zone dmz",
                           "map-interface GigabitEthernet1/0/9 in0", "map-interface eth0 dmz0"}) {
    auto r = c.execute(sys, line);
    if (std::string(line) == "firewall zone dmz") {
      auto z = c.execute(r.views, "add interface GigabitEthernet1/0/2");
      EXPECT_FALSE(z.ok);
      EXPECT_NE(z.output.find("The interface GigabitEthernet1/0/2 does not exist."),
                std::string::npos);
      continue;
    }
    EXPECT_FALSE(r.ok) << line;
  }
  EXPECT_EQ(current(c), before);
}

TEST(InterfaceController, TheViewIsNamedByTheVrpName) {
  Controller c(known({"in0", "out0"}));
  std::string err;
  ASSERT_TRUE(c.load_text(kMapped, "mapped", &err)) << err;
  cli::ViewStack sys{{cli::ViewKind::kUser, {}}, {cli::ViewKind::kSystem, {}}};
  auto r = c.execute(sys, "interface in0");
  ASSERT_TRUE(r.ok) << r.output;
  EXPECT_EQ(c.prompt(r.views), "[FW-GigabitEthernet1/0/1]");
  auto u = c.execute(r.views, "undo ip address 198.18.9.1 24 sub");
  EXPECT_TRUE(u.ok) << u.output;
  EXPECT_EQ(c.running().find_interface("in0")->addresses.size(), 1u);
}

}  // namespace
}  // namespace fw::fwd
