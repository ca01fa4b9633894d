#include <gtest/gtest.h>

#include "fwd/iptables.h"

namespace fw::fwd {
namespace {

using Argv = std::vector<std::string>;

TEST(RuleCommands, SingleQueueFailClosed) {
  RuleOptions o;
  o.queue_num = 3;
  o.tag = "fwd-test";
  auto cmds = RuleInstaller::commands(o, {"veth0"}, true);
  ASSERT_EQ(cmds.size(), 8u);
  EXPECT_EQ(cmds[0], (Argv{"iptables", "-w", "-t", "raw", "-I", "PREROUTING", "-i", "veth0", "-m",
                           "comment", "--comment", "fwd-test", "-j", "CT", "--notrack"}));
  EXPECT_EQ(cmds[1], (Argv{"iptables", "-w", "-t", "raw", "-I", "OUTPUT", "-o", "veth0", "-m",
                           "comment", "--comment", "fwd-test", "-j", "CT", "--notrack"}));
  EXPECT_EQ(cmds[2],
            (Argv{"iptables", "-w", "-t", "mangle", "-I", "PREROUTING", "-i", "veth0", "-m",
                  "comment", "--comment", "fwd-test", "-j", "NFQUEUE", "--queue-num", "3"}));
  EXPECT_EQ(cmds[3],
            (Argv{"iptables", "-w", "-t", "mangle", "-I", "OUTPUT", "-o", "veth0", "-m", "comment",
                  "--comment", "fwd-test", "-j", "NFQUEUE", "--queue-num", "3"}));
  for (size_t i = 4; i < 8; ++i) {
    EXPECT_EQ(cmds[i][0], "ip6tables");
    Argv v4 = cmds[i - 4];
    v4[0] = "ip6tables";
    EXPECT_EQ(cmds[i], v4);
  }
}

TEST(RuleCommands, BalanceAndBypass) {
  RuleOptions o;
  o.queue_num = 10;
  o.queues = 4;
  o.fail_open = true;
  o.tag = "t";
  auto cmds = RuleInstaller::commands(o, {"a", "b"}, true);
  ASSERT_EQ(cmds.size(), 16u);
  Argv want = {"iptables",
               "-w",
               "-t",
               "mangle",
               "-I",
               "PREROUTING",
               "-i",
               "a",
               "-m",
               "comment",
               "--comment",
               "t",
               "-j",
               "NFQUEUE",
               "--queue-balance",
               "10:13",
               "--queue-bypass"};
  EXPECT_EQ(cmds[2], want);
  EXPECT_EQ(cmds[8][7], "b");
  for (const auto& c : cmds)
    for (const auto& a : c) EXPECT_NE(a, "--queue-cpu-fanout");
}

TEST(RuleCommands, DeleteIsReverseOfAdd) {
  RuleOptions o;
  o.tag = "x";
  auto add = RuleInstaller::commands(o, {"eth1", "eth2"}, true);
  auto del = RuleInstaller::commands(o, {"eth1", "eth2"}, false);
  ASSERT_EQ(add.size(), del.size());
  for (size_t i = 0; i < add.size(); ++i) {
    Argv a = add[add.size() - 1 - i];
    Argv d = del[i];
    ASSERT_EQ(a[4], "-I");
    EXPECT_EQ(d[4], "-D");
    d[4] = "-I";
    EXPECT_EQ(a, d);
  }
}

TEST(RuleCommands, DefaultTagNamesQueue) {
  RuleOptions o;
  o.queue_num = 7;
  auto cmds = RuleInstaller::commands(o, {"eth0"}, true);
  ASSERT_FALSE(cmds.empty());
  EXPECT_EQ(cmds[0][11], "fwd-q7");
}

TEST(RuleCommands, InterfaceNames) {
  EXPECT_EQ(RuleInstaller::check_interface_name("veth-h5.0"), "");
  EXPECT_EQ(RuleInstaller::check_interface_name("ppp+"), "");
  EXPECT_NE(RuleInstaller::check_interface_name(""), "");
  EXPECT_NE(RuleInstaller::check_interface_name("-j"), "");
  EXPECT_NE(RuleInstaller::check_interface_name("a b"), "");
  EXPECT_NE(RuleInstaller::check_interface_name("0123456789abcdef"), "");
}

TEST(RuleInstaller, RejectsBadNameWithoutRunningAnything) {
  RuleInstaller ri(RuleOptions{});
  std::string err;
  EXPECT_FALSE(ri.sync({"--flush"}, &err));
  EXPECT_NE(err.find("bad interface name"), std::string::npos);
  EXPECT_TRUE(ri.installed().empty());
}

}  // namespace
}  // namespace fw::fwd
