// The interface map: VRP names <-> Linux names, validation and rendering.
#include <gtest/gtest.h>

#include "config/config.h"

namespace fw::config {
namespace {

Config mapped() {
  Config c = Config::defaults();
  c.interface_map = {{"GigabitEthernet1/0/1", "in0"},
                     {"GigabitEthernet1/0/2", "dmz0"},
                     {"GigabitEthernet1/0/3", "out0"}};
  return c;
}

TEST(InterfaceMap, VrpNamesAreTypeThenNumbersWithASlash) {
  EXPECT_TRUE(is_vrp_ifname("GigabitEthernet1/0/1"));
  EXPECT_TRUE(is_vrp_ifname("Eth1/1"));
  EXPECT_FALSE(is_vrp_ifname("in0"));      // a Linux name
  EXPECT_FALSE(is_vrp_ifname("eth0"));     // no '/'
  EXPECT_FALSE(is_vrp_ifname("1/0/1"));    // no type
  EXPECT_FALSE(is_vrp_ifname("Gig1//1"));  // empty number
  EXPECT_FALSE(is_vrp_ifname("Gig1/0/"));
  EXPECT_FALSE(is_vrp_ifname("Gig1/a/1"));
  EXPECT_FALSE(is_vrp_ifname("GigabitEthernet1/0/1/0/1/0/1/0/1"));  // over 31 characters
}

TEST(InterfaceMap, ResolvesVrpNamesCaseInsensitivelyAndAbbreviated) {
  Config c = mapped();
  EXPECT_EQ(c.linux_ifname("GigabitEthernet1/0/1"), "in0");
  EXPECT_EQ(c.linux_ifname("gigabitethernet1/0/3"), "out0");
  EXPECT_EQ(c.linux_ifname("g1/0/2"), "dmz0");
  EXPECT_EQ(c.linux_ifname("Giga1/0/2"), "dmz0");
  EXPECT_EQ(c.linux_ifname("in0"), "in0");                                    // a Linux name stays
  EXPECT_EQ(c.linux_ifname("GigabitEthernet1/0/9"), "GigabitEthernet1/0/9");  // unknown
  EXPECT_EQ(c.linux_ifname("Ten1/0/1"), "Ten1/0/1");                          // wrong type
  EXPECT_EQ(c.shown_ifname("in0"), "GigabitEthernet1/0/1");
  EXPECT_EQ(c.shown_ifname("eth9"), "eth9");
}

TEST(InterfaceMap, AnAmbiguousAbbreviationNamesNothing) {
  Config c = mapped();
  c.interface_map.push_back({"GeneralPort1/0/1", "gp0"});
  EXPECT_EQ(c.linux_ifname("G1/0/1"), "G1/0/1");
  EXPECT_EQ(c.linux_ifname("Gi1/0/1"), "in0");
  EXPECT_EQ(c.linux_ifname("Ge1/0/1"), "gp0");
}

TEST(InterfaceMap, ValidationRefusesDuplicatesAndBadNames) {
  Config c = mapped();
  EXPECT_FALSE(validate(c));
  c.interface_map.push_back({"gigabitethernet1/0/1", "eth5"});
  EXPECT_TRUE(validate(c));  // a VRP name twice (case does not matter)
  c = mapped();
  c.interface_map.push_back({"GigabitEthernet1/0/9", "in0"});
  EXPECT_TRUE(validate(c));  // two names for one interface
  c = mapped();
  c.interface_map.push_back({"eth0", "in9"});
  EXPECT_TRUE(validate(c));  // not a VRP name
  c = mapped();
  c.interface_map.push_back({"GigabitEthernet1/0/9", "Gig1/0/1"});
  EXPECT_TRUE(validate(c));  // not a Linux name
}

TEST(InterfaceMap, AddressesAreUniqueAndNeedAPrimary) {
  Config c = mapped();
  auto a = [](const char* s, uint8_t len, bool sub = false) {
    return InterfaceAddress{*IpAddr::parse(s), len, sub};
  };
  c.interfaces.push_back({"in0", "", false, {a("198.18.1.1", 24), a("198.18.9.1", 24, true)}});
  EXPECT_FALSE(validate(c));
  c.interfaces.push_back({"out0", "", false, {a("198.18.1.1", 24)}});
  EXPECT_TRUE(validate(c));  // the same address on two interfaces
  c.interfaces.back().addresses = {a("203.0.113.1", 24, true)};
  EXPECT_TRUE(validate(c));  // a sub address without a primary
}

TEST(InterfaceMap, RendersTheMapBeforeTheSectionsThatUseIt) {
  Config c = mapped();
  InterfaceSettings s;
  s.name = "in0";
  s.description = "to the inside";
  s.shutdown = true;
  s.addresses = {{*IpAddr::parse("198.18.1.1"), 24, false},
                 {*IpAddr::parse("198.18.9.1"), 30, true}};
  s.ping = InterfaceSettings::Manage::kDeny;
  c.interfaces.push_back(s);
  c.interfaces.push_back({"eth7", "", false, {}, InterfaceSettings::Manage::kPermit});
  std::string r = render(c);
  EXPECT_NE(
      r.find("#\n map-interface GigabitEthernet1/0/1 in0\n map-interface GigabitEthernet1/0/2 "
             "dmz0\n map-interface GigabitEthernet1/0/3 out0\n#\ninterface GigabitEthernet1/0/1\n"
             " description to the inside\n shutdown\n ip address 198.18.1.1 255.255.255.0\n"
             " ip address 198.18.9.1 255.255.255.252 sub\n service-manage ping deny\n#\n"
             "interface eth7\n service-manage ping permit\n#\n"),
      std::string::npos)
      << r;
  EXPECT_LT(r.find("map-interface"), r.find("firewall zone"));
}

}  // namespace
}  // namespace fw::config
