#include <arpa/inet.h>
#include <errno.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>

#include "fwd/exec.h"
#include "fwd/iptables.h"

namespace fw::fwd {
namespace {

using Lines = std::vector<std::string>;

RuleOptions options(uint16_t q = 0) {
  RuleOptions o;
  o.queue_num = q;
  return o;
}

// ---- The rules ----

TEST(ChainRules, MangleSingleQueueFailClosed) {
  RuleOptions o = options(3);
  o.unmanaged = {"mgmt0"};
  EXPECT_EQ(RuleInstaller::chain_rules(o, {"out0", "in0"}, "mangle"),
            (Lines{
                "-A FWD-PRE -i lo -j RETURN",
                "-A FWD-PRE -i mgmt0 -j RETURN",
                "-A FWD-PRE -j FWD-DDOS",
                "-A FWD-PRE -i in0 -j NFQUEUE --queue-num 3",
                "-A FWD-PRE -i out0 -j NFQUEUE --queue-num 3",
                "-A FWD-PRE -j DROP",
                "-A FWD-FWD -m mark --mark 0x40000000/0x40000000 -j DROP",
                "-A FWD-FWD -o mgmt0 -j RETURN",
                "-A FWD-FWD -i mgmt0 -j DROP",
                "-A FWD-FWD -o in0 -j RETURN",
                "-A FWD-FWD -o out0 -j RETURN",
                "-A FWD-FWD -j DROP",
                "-A FWD-OUT -o lo -j RETURN",
                "-A FWD-OUT -o mgmt0 -j RETURN",
                "-A FWD-OUT -o in0 -j NFQUEUE --queue-num 3",
                "-A FWD-OUT -o out0 -j NFQUEUE --queue-num 3",
                "-A FWD-OUT -j DROP",
            }));
}

TEST(ChainRules, RawNotracksZoneInterfacesOnly) {
  RuleOptions o = options();
  o.unmanaged = {"mgmt0"};
  EXPECT_EQ(RuleInstaller::chain_rules(o, {"in0", "lo"}, "raw"),
            (Lines{"-A FWD-PRE -i in0 -j CT --notrack", "-A FWD-OUT -o in0 -j CT --notrack",
                   "-A FWD-FRG -m socket -j RETURN"}));
  // Without the kernel's socket match the defragmenting chain stays empty.
  o.defrag = false;
  EXPECT_EQ(RuleInstaller::chain_rules(o, {"in0", "lo"}, "raw"),
            (Lines{"-A FWD-PRE -i in0 -j CT --notrack", "-A FWD-OUT -o in0 -j CT --notrack"}));
  EXPECT_TRUE(RuleInstaller::chain_rules(o, {"in0"}, "filter").empty());
}

TEST(ChainRules, NoZoneInterfacesDropsAllButLo) {
  EXPECT_EQ(RuleInstaller::chain_rules(options(), {}, "mangle"),
            (Lines{"-A FWD-PRE -i lo -j RETURN", "-A FWD-PRE -j FWD-DDOS", "-A FWD-PRE -j DROP",
                   "-A FWD-FWD -m mark --mark 0x40000000/0x40000000 -j DROP", "-A FWD-FWD -j DROP",
                   "-A FWD-OUT -o lo -j RETURN", "-A FWD-OUT -j DROP"}));
}

TEST(ChainRules, QueueTargets) {
  struct Case {
    uint16_t num, queues;
    bool fail_open;
    std::string want;
  } cases[] = {
      {0, 1, false, "-A FWD-PRE -i a -j NFQUEUE --queue-num 0"},
      {0, 0, false, "-A FWD-PRE -i a -j NFQUEUE --queue-num 0"},
      {7, 1, true, "-A FWD-PRE -i a -j NFQUEUE --queue-num 7 --queue-bypass"},
      {10, 4, false, "-A FWD-PRE -i a -j NFQUEUE --queue-balance 10:13"},
      {10, 4, true, "-A FWD-PRE -i a -j NFQUEUE --queue-balance 10:13 --queue-bypass"},
  };
  for (const auto& c : cases) {
    RuleOptions o = options(c.num);
    o.queues = c.queues;
    o.fail_open = c.fail_open;
    auto r = RuleInstaller::chain_rules(o, {"a"}, "mangle");
    ASSERT_GE(r.size(), 3u);
    EXPECT_EQ(r[2], c.want);
  }
}

// Issue 16 item 1: SYNs of zone interfaces go to queue num + queues, ahead of the rule that
// queues everything else (so a SYN flood fills that queue, not the established traffic's).
TEST(ChainRules, SynQueueComesFirstPerZoneInterface) {
  RuleOptions o = options(10);
  o.queues = 2;
  o.syn_queue = true;
  auto r = RuleInstaller::chain_rules(o, {"a", "b"}, "mangle");
  ASSERT_GE(r.size(), 7u);
  EXPECT_EQ(r[1], "-A FWD-PRE -j FWD-DDOS");  // "kernel drops": before any queue
  EXPECT_EQ(r[2],
            "-A FWD-PRE -i a -p tcp --tcp-flags SYN,ACK,FIN,RST SYN -j NFQUEUE --queue-num 12");
  EXPECT_EQ(r[3],
            "-A FWD-PRE -i b -p tcp --tcp-flags SYN,ACK,FIN,RST SYN -j NFQUEUE --queue-num 12");
  EXPECT_EQ(r[4], "-A FWD-PRE -i a -j NFQUEUE --queue-balance 10:11");
  EXPECT_EQ(r[5], "-A FWD-PRE -i b -j NFQUEUE --queue-balance 10:11");
  o.fail_open = true;
  o.queues = 1;
  r = RuleInstaller::chain_rules(o, {"a"}, "mangle");
  EXPECT_EQ(r[2],
            "-A FWD-PRE -i a -p tcp --tcp-flags SYN,ACK,FIN,RST SYN -j NFQUEUE --queue-num 11 "
            "--queue-bypass");
  // Output (the firewall's own connections) is not split, and the raw table is unchanged.
  for (const auto& l : r) {
    if (l.rfind("-A FWD-OUT", 0) == 0) {
      EXPECT_EQ(l.find("--tcp-flags"), std::string::npos) << l;
    }
  }
  o.queue_num = 65535;
  EXPECT_NE(RuleInstaller::check_options(o), "");  // the SYN queue would be 65536
  o.syn_queue = false;
  EXPECT_EQ(RuleInstaller::check_options(o), "");
}

TEST(ChainRules, PrefixAndJumps) {
  RuleOptions o = options();
  o.chain_prefix = "NFQA";
  EXPECT_EQ(RuleInstaller::chains_of(o, "raw"), (Lines{"NFQA-PRE", "NFQA-OUT", "NFQA-FRG"}));
  EXPECT_EQ(RuleInstaller::chains_of(o, "mangle"),
            (Lines{"NFQA-PRE", "NFQA-FWD", "NFQA-OUT", "NFQA-DDOS"}));
  EXPECT_EQ(RuleInstaller::jump_rules(o, "mangle", false),
            (Lines{"-A PREROUTING -m comment --comment NFQA-active -j NFQA-PRE",
                   "-A FORWARD -m comment --comment NFQA-active -j NFQA-FWD",
                   "-A OUTPUT -m comment --comment NFQA-active -j NFQA-OUT"}));
  EXPECT_EQ(RuleInstaller::jump_rules(o, "raw", true),
            (Lines{"-A PREROUTING -m comment --comment NFQA-held -j NFQA-PRE",
                   "-A OUTPUT -m comment --comment NFQA-held -j NFQA-OUT"}));
}

TEST(CheckNames, Interfaces) {
  struct Case {
    std::string name;
    bool ok;
  } cases[] = {
      {"veth-h5.0", true}, {"ppp+", true},      {"eth0.100", true}, {"", false},
      {"-j", false},       {"!x", false},       {"a b", false},     {"0123456789abcdef", false},
      {"a/b", false},      {"a:1", false},      {"a\"b", false},    {"a'b", false},
      {"a\\b", false},     {"a#b", false},      {".", false},       {"..", false},
      {"a\nb", false},     {"\xc3\xa9", false},
  };
  for (const auto& c : cases)
    EXPECT_EQ(RuleInstaller::check_interface_name(c.name).empty(), c.ok) << c.name;
}

TEST(CheckNames, Options) {
  RuleOptions o = options();
  EXPECT_EQ(RuleInstaller::check_options(o), "");
  o.chain_prefix = "FWD-X";
  EXPECT_NE(RuleInstaller::check_options(o), "");
  o.chain_prefix = std::string(25, 'A');
  EXPECT_NE(RuleInstaller::check_options(o), "");
  o.chain_prefix = "FWD";
  o.unmanaged = {"bad name"};
  EXPECT_NE(RuleInstaller::check_options(o), "");
  o.unmanaged = {};
  o.queue_num = 65535;
  o.queues = 2;
  EXPECT_NE(RuleInstaller::check_options(o), "");
}

TEST(RuleInstaller, RejectsBadInputWithoutRunningAnything) {
  RuleOptions o = options();
  o.unmanaged = {"mgmt0"};
  RuleInstaller ri(o);
  std::string err;
  EXPECT_FALSE(ri.sync({"--flush"}, &err));
  EXPECT_NE(err.find("bad interface name"), std::string::npos);
  EXPECT_FALSE(ri.sync({"mgmt0"}, &err));
  EXPECT_NE(err.find("unmanaged"), std::string::npos);
  EXPECT_FALSE(ri.leftovers().found());
}

// ---- Reading iptables-save ----

// What iptables-save -c prints after an old-layout fwd crashed twice and a
// new one crashed with a duplicated jump, next to a foreign rule.
const char kLeftSave[] =
    "# Generated by iptables-save v1.8.9 (nf_tables) on Sat Nov 28 22:46:42 2026\n"
    "*mangle\n"
    ":PREROUTING ACCEPT [0:0]\n"
    ":INPUT ACCEPT [0:0]\n"
    ":FORWARD ACCEPT [0:0]\n"
    ":OUTPUT ACCEPT [0:0]\n"
    ":POSTROUTING ACCEPT [0:0]\n"
    ":FWD-FWD - [0:0]\n"
    ":FWD-OUT - [0:0]\n"
    ":FWD-PRE - [0:0]\n"
    "[0:0] -A PREROUTING -m comment --comment FWD-active -j FWD-PRE\n"
    "[0:0] -A PREROUTING -j FWD-PRE\n"
    "[1:60] -A PREROUTING -i veth0 -m comment --comment fwd-q0 -j NFQUEUE --queue-num 0\n"
    "[0:0] -A PREROUTING -i veth0 -m comment --comment fwd-q0 -j NFQUEUE --queue-num 0\n"
    "[0:0] -A PREROUTING -i eth9 -m comment --comment \"foreign rule\" -j MARK --set-xmark "
    "0x1/0xffffffff\n"
    "[0:0] -A PREROUTING -i eth8 -m comment --comment fwd-qx -j ACCEPT\n"
    "[0:0] -A FORWARD -m comment --comment FWD-active -j FWD-FWD\n"
    "[0:0] -A OUTPUT -m comment --comment FWD-active -j FWD-OUT\n"
    "[3:180] -A FWD-FWD -j DROP\n"
    "[0:0] -A FWD-OUT -o lo -j RETURN\n"
    "[2:120] -A FWD-OUT -j DROP\n"
    "[0:0] -A FWD-PRE -i lo -j RETURN\n"
    "[9:540] -A FWD-PRE -i in0 -j NFQUEUE --queue-num 0\n"
    "[4:240] -A FWD-PRE -j DROP\n"
    "COMMIT\n"
    "# Completed on Sat Nov 28 22:46:42 2026\n"
    "*raw\n"
    ":PREROUTING ACCEPT [0:0]\n"
    ":OUTPUT ACCEPT [0:0]\n"
    "[0:0] -A PREROUTING -i veth0 -m comment --comment fwd-q0 -j CT --notrack\n"
    "COMMIT\n";

TEST(ParseSave, TablesChainsRulesCounters) {
  auto rs = parse_iptables_save(kLeftSave);
  EXPECT_EQ(rs.bad_lines, 0u);
  ASSERT_EQ(rs.tables.size(), 2u);
  const SavedTable* m = rs.table("mangle");
  ASSERT_NE(m, nullptr);
  EXPECT_TRUE(m->has_chain("FWD-FWD"));
  EXPECT_TRUE(m->has_chain("POSTROUTING"));
  EXPECT_FALSE(m->has_chain("FWD"));
  ASSERT_EQ(m->rules.size(), 14u);
  EXPECT_EQ(m->rules[0].chain, "PREROUTING");
  EXPECT_EQ(m->rules[0].target, "FWD-PRE");
  EXPECT_EQ(m->rules[0].comment, "FWD-active");
  EXPECT_EQ(m->rules[2].packets, 1u);
  EXPECT_EQ(m->rules[2].bytes, 60u);
  EXPECT_EQ(m->rules[2].spec, "-i veth0 -m comment --comment fwd-q0 -j NFQUEUE --queue-num 0");
  EXPECT_EQ(m->rules[4].comment, "foreign rule");
  EXPECT_EQ(m->rules[4].target, "MARK");
  EXPECT_EQ(m->rules[13].chain, "FWD-PRE");
  EXPECT_EQ(m->rules[13].packets, 4u);
  const SavedTable* r = rs.table("raw");
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->rules.size(), 1u);
  EXPECT_EQ(r->rules[0].target, "CT");
  EXPECT_EQ(rs.table("nat"), nullptr);
}

TEST(ParseSave, WithoutCountersQuotesGotoAndJunk) {
  auto rs = parse_iptables_save(
      "*filter\n"
      ":INPUT ACCEPT [0:0]\n"
      "-A INPUT -m comment --comment \"a \\\"quoted\\\" one\" -g X\n"
      "-A INPUT\n"
      "[x:1] -A INPUT -j DROP\n"
      "[1:2 -A INPUT -j DROP\n"
      "garbage\n"
      "-A\n"
      "COMMIT\n"
      "-A INPUT -j DROP\n");
  EXPECT_EQ(rs.bad_lines, 5u);
  ASSERT_EQ(rs.tables.size(), 1u);
  ASSERT_EQ(rs.tables[0].rules.size(), 2u);
  EXPECT_EQ(rs.tables[0].rules[0].comment, "a \"quoted\" one");
  EXPECT_EQ(rs.tables[0].rules[0].target, "X");
  EXPECT_EQ(rs.tables[0].rules[1].spec, "");
  EXPECT_EQ(parse_iptables_save("").tables.size(), 0u);
}

TEST(Leftovers, FoundInSave) {
  auto l = RuleInstaller::find_leftovers(options(), parse_iptables_save(kLeftSave));
  EXPECT_EQ(l.chains, 3u);
  EXPECT_EQ(l.jumps, 4u);  // one duplicate
  EXPECT_EQ(l.held_jumps, 0u);
  EXPECT_EQ(l.legacy_rules, 3u);  // "fwd-qx" is not one
  EXPECT_TRUE(l.found());
  EXPECT_FALSE(l.held());
  EXPECT_FALSE(RuleInstaller::find_leftovers(options(), {}).found());
}

TEST(Leftovers, ConfiguredTagAndOtherPrefix) {
  RuleOptions o = options();
  o.tag = "fwd-qx";
  EXPECT_EQ(RuleInstaller::find_leftovers(o, parse_iptables_save(kLeftSave)).legacy_rules, 4u);
  o.chain_prefix = "NFQA";
  auto l = RuleInstaller::find_leftovers(o, parse_iptables_save(kLeftSave));
  EXPECT_EQ(l.chains, 0u);
  EXPECT_EQ(l.jumps, 0u);
}

TEST(Leftovers, HeldSet) {
  std::string text = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:FWD-PRE - [0:0]\n";
  for (const auto& j : RuleInstaller::jump_rules(options(), "raw", true)) text += j + "\n";
  text += "COMMIT\n";
  auto l = RuleInstaller::find_leftovers(options(), parse_iptables_save(text));
  EXPECT_EQ(l.jumps, 2u);
  EXPECT_EQ(l.held_jumps, 2u);
  EXPECT_TRUE(l.held());
  l.legacy_rules = 1;
  EXPECT_FALSE(l.held());
}

Lines lines_of(const std::string& text) {
  Lines out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    out.push_back(text.substr(pos, nl - pos));
    pos = nl == std::string::npos ? text.size() : nl + 1;
  }
  return out;
}

TEST(RestoreText, ReplacesLeftoversKeepsForeignAndCounters) {
  RuleOptions o = options();
  auto text = RuleInstaller::restore_text(o, {"in0"}, parse_iptables_save(kLeftSave), false);
  EXPECT_EQ(lines_of(text),
            (Lines{
                "*raw",
                ":FWD-PRE - [0:0]",
                ":FWD-OUT - [0:0]",
                ":FWD-FRG - [0:0]",
                "-D PREROUTING -i veth0 -m comment --comment fwd-q0 -j CT --notrack",
                "-A FWD-PRE -i in0 -j CT --notrack",
                "-A FWD-OUT -o in0 -j CT --notrack",
                "-A FWD-FRG -m socket -j RETURN",
                "-I PREROUTING 1 -m comment --comment FWD-active -j FWD-PRE",
                "-I OUTPUT 1 -m comment --comment FWD-active -j FWD-OUT",
                "COMMIT",
                "*mangle",
                ":FWD-PRE - [0:0]",
                ":FWD-FWD - [0:0]",
                ":FWD-OUT - [0:0]",
                ":FWD-DDOS - [0:0]",
                "-D PREROUTING -m comment --comment FWD-active -j FWD-PRE",
                "-D PREROUTING -j FWD-PRE",
                "-D PREROUTING -i veth0 -m comment --comment fwd-q0 -j NFQUEUE --queue-num 0",
                "-D PREROUTING -i veth0 -m comment --comment fwd-q0 -j NFQUEUE --queue-num 0",
                "-D FORWARD -m comment --comment FWD-active -j FWD-FWD",
                "-D OUTPUT -m comment --comment FWD-active -j FWD-OUT",
                "-A FWD-PRE -i lo -j RETURN",
                "-A FWD-PRE -j FWD-DDOS",
                "[9:540] -A FWD-PRE -i in0 -j NFQUEUE --queue-num 0",
                "[4:240] -A FWD-PRE -j DROP",
                "-A FWD-FWD -m mark --mark 0x40000000/0x40000000 -j DROP",
                "-A FWD-FWD -o in0 -j RETURN",
                "[3:180] -A FWD-FWD -j DROP",
                "-A FWD-OUT -o lo -j RETURN",
                "-A FWD-OUT -o in0 -j NFQUEUE --queue-num 0",
                "[2:120] -A FWD-OUT -j DROP",
                "-I PREROUTING 1 -m comment --comment FWD-active -j FWD-PRE",
                "-I FORWARD 1 -m comment --comment FWD-active -j FWD-FWD",
                "-I OUTPUT 1 -m comment --comment FWD-active -j FWD-OUT",
                "COMMIT",
            }));
}

TEST(RestoreText, CleanStartAndHeld) {
  auto text = RuleInstaller::restore_text(options(), {"a"}, {}, true);
  EXPECT_EQ(text.find("-D "), std::string::npos);
  EXPECT_EQ(text.find("\n["), std::string::npos);  // no counters to carry
  EXPECT_NE(text.find("-I FORWARD 1 -m comment --comment FWD-held -j FWD-FWD\n"),
            std::string::npos);
  EXPECT_EQ(text.find("FWD-active"), std::string::npos);
}

TEST(RemovalText, OnlyOurs) {
  auto text = RuleInstaller::removal_text(options(), parse_iptables_save(kLeftSave));
  EXPECT_EQ(lines_of(text),
            (Lines{
                "*raw",
                "-D PREROUTING -i veth0 -m comment --comment fwd-q0 -j CT --notrack",
                "COMMIT",
                "*mangle",
                "-D PREROUTING -m comment --comment FWD-active -j FWD-PRE",
                "-D PREROUTING -j FWD-PRE",
                "-D PREROUTING -i veth0 -m comment --comment fwd-q0 -j NFQUEUE --queue-num 0",
                "-D PREROUTING -i veth0 -m comment --comment fwd-q0 -j NFQUEUE --queue-num 0",
                "-D FORWARD -m comment --comment FWD-active -j FWD-FWD",
                "-D OUTPUT -m comment --comment FWD-active -j FWD-OUT",
                "-F FWD-PRE",
                "-X FWD-PRE",
                "-F FWD-FWD",
                "-X FWD-FWD",
                "-F FWD-OUT",
                "-X FWD-OUT",
                "COMMIT",
            }));
  // Nothing of ours: nothing to run.
  EXPECT_EQ(RuleInstaller::removal_text(
                options(), parse_iptables_save("*mangle\n:PREROUTING ACCEPT [0:0]\n"
                                               "-A PREROUTING -i eth9 -j ACCEPT\nCOMMIT\n")),
            "");
}

TEST(Drops, SumsOurDropRules) {
  auto d = RuleInstaller::drops_in(options(), parse_iptables_save(kLeftSave));
  EXPECT_EQ(d.in, 4u);
  EXPECT_EQ(d.forward, 3u);
  EXPECT_EQ(d.out, 2u);
  EXPECT_EQ(d.total(), 9u);
  RuleOptions o = options();
  o.chain_prefix = "NFQA";
  EXPECT_EQ(RuleInstaller::drops_in(o, parse_iptables_save(kLeftSave)).total(), 0u);
}

// ---- The real thing, in a network namespace of its own ----

// Runs `scenario` in a forked child inside a new network namespace, so the
// test binary's namespace is untouched and the namespace (with every rule)
// dies with the child. Returns the scenario's failures ("" = passed), or
// "SKIP: ..." when no namespace can be made.
std::string in_private_netns(const std::function<std::string()>& scenario) {
  int p[2];
  if (pipe(p) != 0) return "pipe failed";
  pid_t pid = fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    close(p[0]);
    alarm(120);
    std::string out = unshare(CLONE_NEWNET) == 0
                          ? scenario()
                          : "SKIP: unshare(CLONE_NEWNET): " + std::string(strerror(errno));
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = write(p[1], out.data() + done, out.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    _exit(0);
  }
  close(p[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  close(p[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    out += "\nscenario process died (status " + std::to_string(status) + ")";
  return out;
}

#define FW_NETNS_TEST(result)                           \
  do {                                                  \
    std::string r_ = (result);                          \
    if (r_.rfind("SKIP: ", 0) == 0) GTEST_SKIP() << r_; \
    EXPECT_EQ(r_, "");                                  \
  } while (0)

struct Checks {
  std::string failures;
  bool expect(bool ok, const std::string& what) {
    if (!ok) failures += what + "\n";
    return ok;
  }
};

std::string save(bool v6, Checks* c) {
  std::string out, err;
  c->expect(run_program_io({v6 ? "ip6tables-save" : "iptables-save"}, {}, &out, &err), err);
  return out;
}

std::string show(const Lines& l) {
  std::string s;
  for (const auto& x : l) s += "  " + x + "\n";
  return s;
}

// Our rules in the live tables, "table: -A CHAIN SPEC", sorted.
Lines live_rules(const RuleOptions& o, bool v6, Checks* c) {
  Lines out;
  auto rs = parse_iptables_save(save(v6, c));
  for (const std::string table : {"raw", "mangle"}) {
    const SavedTable* t = rs.table(table);
    if (!t) continue;
    auto ours = RuleInstaller::chains_of(o, table);
    for (const auto& r : t->rules) {
      bool mine = std::count(ours.begin(), ours.end(), r.chain) ||
                  std::count(ours.begin(), ours.end(), r.target) ||
                  r.comment.rfind("fwd-q", 0) == 0;
      if (mine) out.push_back(table + ": -A " + r.chain + " " + r.spec);
    }
    for (const auto& ch : t->chains)
      if (std::count(ours.begin(), ours.end(), ch)) out.push_back(table + ": chain " + ch);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Lines expected_rules(const RuleOptions& o, const std::set<std::string>& zones, bool held) {
  Lines out;
  for (const std::string table : {"raw", "mangle"}) {
    for (const auto& l : RuleInstaller::chain_rules(o, zones, table))
      out.push_back(table + ": " + l);
    for (const auto& l : RuleInstaller::jump_rules(o, table, held)) out.push_back(table + ": " + l);
    for (const auto& ch : RuleInstaller::chains_of(o, table))
      out.push_back(table + ": chain " + ch);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void expect_exactly(const RuleOptions& o, const std::set<std::string>& zones, bool held,
                    const std::string& when, Checks* c) {
  Lines want = expected_rules(o, zones, held);
  for (bool v6 : {false, true}) {
    Lines got = live_rules(o, v6, c);
    c->expect(got == want, when + (v6 ? " (IPv6)" : " (IPv4)") + ": live rules\n" + show(got) +
                               "expected\n" + show(want));
  }
}

bool run(const std::vector<std::string>& argv, Checks* c) {
  std::string err;
  return c->expect(run_program(argv, &err), err);
}

const char* const kForeign[] = {"iptables",     "-t",   "mangle", "-A",         "PREROUTING",
                                "-i",           "eth9", "-m",     "comment",    "--comment",
                                "foreign rule", "-j",   "MARK",   "--set-mark", "1"};

bool foreign_rule_present(bool v6, Checks* c) {
  return save(v6, c).find("-A PREROUTING -i eth9 -m comment --comment \"foreign rule\" -j MARK") !=
         std::string::npos;
}

// What an fwd of the old layout installed for one interface (and never removed).
void add_old_layout(const std::string& iface, Checks* c) {
  for (const char* prog : {"iptables", "ip6tables"}) {
    auto tagged = [&](const char* table, const char* chain, const char* dir,
                      std::vector<std::string> target) {
      std::vector<std::string> argv = {prog,  "-t", table,     "-I",        chain,   dir,
                                       iface, "-m", "comment", "--comment", "fwd-q0"};
      argv.insert(argv.end(), target.begin(), target.end());
      run(argv, c);
    };
    tagged("raw", "PREROUTING", "-i", {"-j", "CT", "--notrack"});
    tagged("raw", "OUTPUT", "-o", {"-j", "CT", "--notrack"});
    tagged("mangle", "PREROUTING", "-i", {"-j", "NFQUEUE", "--queue-num", "0"});
    tagged("mangle", "OUTPUT", "-o", {"-j", "NFQUEUE", "--queue-num", "0"});
  }
}

bool is_root() { return geteuid() == 0; }

TEST(RuleInstallerNetns, InstallAndSync) {
  if (!is_root()) GTEST_SKIP() << "needs root";
  FW_NETNS_TEST(in_private_netns([] {
    Checks c;
    RuleOptions o = options(0);
    o.unmanaged = {"mgmt0"};
    {
      RuleInstaller ri(o);
      std::string err;
      c.expect(ri.sync({"in0", "out0"}, &err), "sync: " + err);
      c.expect(!ri.leftovers().found(), "leftovers on a clean start");
      expect_exactly(o, {"in0", "out0"}, false, "after install", &c);
      c.expect(ri.sync({"in0", "out1", "dmz0"}, &err), "sync 2: " + err);
      expect_exactly(o, {"in0", "out1", "dmz0"}, false, "after changing zones", &c);
      c.expect(ri.sync({}, &err), "sync 3: " + err);
      expect_exactly(o, {}, false, "with no zone interface", &c);
      c.expect(ri.sync({"out9"}, &err), "sync 4: " + err);
      expect_exactly(o, {"out9"}, false, "typo", &c);
    }
    for (bool v6 : {false, true})
      c.expect(live_rules(o, v6, &c).empty(), "rules left after the installer went away");
    return c.failures;
  }));
}

TEST(RuleInstallerNetns, FiveCrashesLeaveOneSetAndRemoveAllKeepsForeign) {
  if (!is_root()) GTEST_SKIP() << "needs root";
  FW_NETNS_TEST(in_private_netns([] {
    Checks c;
    RuleOptions o = options(0);
    const std::set<std::string> zones = {"in0", "out0"};
    std::vector<std::string> foreign(std::begin(kForeign), std::end(kForeign));
    run(foreign, &c);
    foreign[0] = "ip6tables";
    run(foreign, &c);
    for (int i = 0; i < 2; ++i)
      for (const auto& z : zones) add_old_layout(z, &c);
    for (int crash = 1; crash <= 5; ++crash) {
      // kill -9 stand-in: the installing process ends without destructors.
      pid_t pid = fork();
      if (pid == 0) {
        RuleInstaller ri(o);
        std::string err;
        _exit(ri.sync(zones, &err) ? 0 : 1);
      }
      int status = 0;
      waitpid(pid, &status, 0);
      c.expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "crashing instance failed");
      // A stray duplicate jump, as a half-finished older start could leave.
      run({"iptables", "-t", "mangle", "-A", "PREROUTING", "-j", "FWD-PRE"}, &c);
    }
    RuleInstaller ri(o);
    std::string err;
    c.expect(ri.sync(zones, &err), "sync after crashes: " + err);
    const Leftovers& l = ri.leftovers();
    c.expect(l.found() && !l.held(), "leftovers not reported as a crash");
    c.expect(l.jumps == 11 && l.chains == 14 && l.legacy_rules == 0,
             "leftovers: jumps " + std::to_string(l.jumps) + " chains " + std::to_string(l.chains) +
                 " legacy " + std::to_string(l.legacy_rules));
    expect_exactly(o, zones, false, "after 5 crashes", &c);
    c.expect(ri.remove_all(&err), "remove_all: " + err);
    for (bool v6 : {false, true}) {
      c.expect(live_rules(o, v6, &c).empty(), "rules left after remove_all");
      c.expect(save(v6, &c).find("FWD") == std::string::npos, "FWD still in iptables-save");
      c.expect(foreign_rule_present(v6, &c), "foreign rule gone");
    }
    return c.failures;
  }));
}

TEST(RuleInstallerNetns, OldLayoutIsAdopted) {
  if (!is_root()) GTEST_SKIP() << "needs root";
  FW_NETNS_TEST(in_private_netns([] {
    Checks c;
    RuleOptions o = options(0);
    for (int i = 0; i < 2; ++i) add_old_layout("in0", &c);
    RuleInstaller ri(o);
    std::string err;
    c.expect(ri.sync({"in0"}, &err), "sync: " + err);
    c.expect(ri.leftovers().legacy_rules == 16,
             "legacy rules found: " + std::to_string(ri.leftovers().legacy_rules));
    expect_exactly(o, {"in0"}, false, "after adopting the old layout", &c);
    return c.failures;
  }));
}

TEST(RuleInstallerNetns, HoldLeavesRulesForTheNextStart) {
  if (!is_root()) GTEST_SKIP() << "needs root";
  FW_NETNS_TEST(in_private_netns([] {
    Checks c;
    RuleOptions o = options(2);
    o.queues = 2;
    std::string err;
    {
      RuleInstaller ri(o);
      c.expect(ri.sync({"in0"}, &err), "sync: " + err);
      c.expect(ri.hold(&err), "hold: " + err);
    }
    expect_exactly(o, {"in0"}, true, "after hold and exit", &c);
    {
      RuleInstaller next(o);
      c.expect(next.sync({"in0", "out0"}, &err), "sync of the next start: " + err);
      c.expect(next.leftovers().held(), "held set not recognised");
      expect_exactly(o, {"in0", "out0"}, false, "after the next start", &c);
    }
    for (bool v6 : {false, true}) c.expect(live_rules(o, v6, &c).empty(), "rules left at exit");
    return c.failures;
  }));
}

// Sends one UDP datagram from this namespace; the OUTPUT chain decides.
bool send_udp(const char* dst) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(9);
  inet_pton(AF_INET, dst, &to.sin_addr);
  ssize_t n = sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  close(fd);
  return n == 1;
}

TEST(RuleInstallerNetns, NoZoneDropsAreCountedAndSurviveSync) {
  if (!is_root()) GTEST_SKIP() << "needs root";
  FW_NETNS_TEST(in_private_netns([] {
    Checks c;
    RuleOptions o = options(0);
    run({"ip", "link", "add", "fwt0", "type", "veth", "peer", "name", "fwt1"}, &c);
    // No IPv6 on them: its neighbour discovery would be dropped and counted too.
    run({"sysctl", "-qw", "net.ipv6.conf.fwt0.disable_ipv6=1"}, &c);
    run({"sysctl", "-qw", "net.ipv6.conf.fwt1.disable_ipv6=1"}, &c);
    run({"ip", "addr", "add", "198.18.1.1/24", "dev", "fwt0"}, &c);
    run({"ip", "link", "set", "fwt0", "up"}, &c);
    run({"ip", "link", "set", "fwt1", "up"}, &c);
    RuleInstaller ri(o);
    std::string err;
    c.expect(ri.sync({"in0"}, &err), "sync: " + err);
    // fwt0 is in no zone: the datagram is dropped in OUTPUT (sendto: EPERM).
    c.expect(!send_udp("198.18.1.2"), "datagram out of a no-zone interface was sent");
    c.expect(!send_udp("198.18.1.2"), "second datagram was sent");
    auto d = ri.no_zone_drops(&err);
    if (!c.expect(d.has_value(), "no_zone_drops: " + err)) return c.failures;
    c.expect(d->out == 2 && d->in == 0 && d->forward == 0,
             "drops out " + std::to_string(d->out) + " in " + std::to_string(d->in));
    c.expect(ri.sync({"in0", "out0"}, &err), "sync 2: " + err);
    d = ri.no_zone_drops(&err);
    c.expect(d && d->out == 2, "drop counter not carried over a sync");
    // Now in a zone: queued, and with no reader and no bypass still dropped,
    // but not as "no zone".
    c.expect(ri.sync({"in0", "fwt0"}, &err), "sync 3: " + err);
    send_udp("198.18.1.2");
    d = ri.no_zone_drops(&err);
    c.expect(d && d->out == 2, "zone interface counted as no zone");
    return c.failures;
  }));
}

// ---- "kernel drops" (issue 16 item 1): FWD-DDOS while a flood lasts ----

TEST(FloodRules, PassTheRateDropTheRestPerFamily) {
  RuleOptions o = options();
  const auto v4 = *common::IpAddr::parse("198.18.2.2");
  const auto v6 = *common::IpAddr::parse("2001:db8:2::2");
  std::vector<FloodDrop> d = {{session::FloodKind::kUdp, v4, 2000},
                              {session::FloodKind::kSyn, v4, 200},
                              {session::FloodKind::kIcmp, v6, 20}};
  auto r4 = RuleInstaller::flood_rules(o, d, false);
  ASSERT_EQ(r4.size(), 4u);
  EXPECT_EQ(r4[0].substr(0, r4[0].find(" --hashlimit-name")),
            "-A FWD-DDOS -d 198.18.2.2/32 -p udp -m hashlimit --hashlimit-upto 2000/sec "
            "--hashlimit-burst 2000");
  EXPECT_NE(r4[0].find(" -j RETURN"), std::string::npos);
  EXPECT_EQ(r4[1],
            "-A FWD-DDOS -d 198.18.2.2/32 -p udp -m comment --comment fwd-ddos-udp-flood -j DROP");
  EXPECT_EQ(r4[3],
            "-A FWD-DDOS -d 198.18.2.2/32 -p tcp -m tcp --tcp-flags SYN,ACK,FIN,RST SYN -m comment "
            "--comment fwd-ddos-syn-flood -j DROP");
  auto r6 = RuleInstaller::flood_rules(o, d, true);
  ASSERT_EQ(r6.size(), 2u);
  EXPECT_EQ(r6[1],
            "-A FWD-DDOS -d 2001:db8:2::2/128 -p ipv6-icmp -m icmp6 --icmpv6-type 128 -m comment "
            "--comment fwd-ddos-icmp-flood -j DROP");
  // Each destination and rate has a hashlimit table of its own (a shared name would share one
  // budget, and keep the first rule's rate); names fit the kernel's 15 characters.
  auto name = [](const std::string& l) {
    auto i = l.find("--hashlimit-name ") + 17;
    return l.substr(i, l.find(' ', i) - i);
  };
  EXPECT_NE(name(r4[0]), name(r4[2]));
  EXPECT_LE(name(r4[0]).size(), 15u);
  auto again = RuleInstaller::flood_rules(o, {{session::FloodKind::kUdp, v4, 4000}}, false);
  EXPECT_NE(name(again[0]), name(r4[0]));
  EXPECT_EQ(RuleInstaller::flood_rules(o, {{session::FloodKind::kUdp, v4, 2000}}, false)[0], r4[0]);
  EXPECT_TRUE(RuleInstaller::flood_rules(o, {{session::FloodKind::kUdp, v4, 0}}, false).empty());
}

TEST(FloodRules, CountsWhatTheDropRulesDropped) {
  const char save[] =
      "*mangle\n"
      ":PREROUTING ACCEPT [0:0]\n"
      ":FWD-DDOS - [0:0]\n"
      "[7:420] -A FWD-DDOS -d 198.18.2.2/32 -p udp -m hashlimit --hashlimit-upto 2000/sec "
      "--hashlimit-burst 2000 --hashlimit-name fdu00000001 -j RETURN\n"
      "[90:5400] -A FWD-DDOS -d 198.18.2.2/32 -p udp -m comment --comment fwd-ddos-udp-flood -j "
      "DROP\n"
      "[5:300] -A FWD-DDOS -d 198.18.2.3/32 -p udp -m comment --comment fwd-ddos-udp-flood -j "
      "DROP\n"
      "[11:660] -A FWD-DDOS -d 198.18.2.2/32 -p tcp -m tcp --tcp-flags SYN,ACK,FIN,RST SYN -m "
      "comment --comment fwd-ddos-syn-flood -j DROP\n"
      "[99:0] -A PREROUTING -m comment --comment fwd-ddos-udp-flood -j DROP\n"
      "COMMIT\n";
  std::vector<uint64_t> n(3, 1);
  RuleInstaller::flood_drops_in(options(), parse_iptables_save(save), &n);
  EXPECT_EQ(n, (std::vector<uint64_t>{12, 96, 1})) << "only FWD-DDOS's DROP rules, added";
}

// "kernel drops": the kernel takes the rules (hashlimit, both families), a sync keeps them, an
// empty set removes them.
TEST(RuleInstallerNetns, FloodDropsInstallSurviveSyncAndGo) {
  if (!is_root()) GTEST_SKIP() << "needs root";
  FW_NETNS_TEST(in_private_netns([] {
    Checks c;
    RuleOptions o = options(0);
    RuleInstaller ri(o);
    std::string err;
    c.expect(ri.sync({"in0"}, &err), "sync: " + err);
    const std::vector<FloodDrop> d = {
        {session::FloodKind::kUdp, *common::IpAddr::parse("198.18.2.2"), 2000},
        {session::FloodKind::kIcmp, *common::IpAddr::parse("2001:db8:2::2"), 20}};
    c.expect(ri.set_flood_drops(d, &err), "set_flood_drops: " + err);
    auto count = [&](bool v6, const char* what) {
      const std::string t = save(v6, &c);
      size_t n = 0;
      for (size_t p = t.find(what); p != std::string::npos; p = t.find(what, p + 1)) ++n;
      return n;
    };
    c.expect(count(false, "fwd-ddos-udp-flood -j DROP") == 1, "v4 drop rule missing");
    c.expect(count(false, "--hashlimit-upto 2000/sec") == 1, "v4 pass rule missing");
    c.expect(count(true, "fwd-ddos-icmp-flood -j DROP") == 1, "v6 drop rule missing");
    c.expect(ri.sync({"in0", "out0"}, &err), "sync 2: " + err);
    c.expect(count(false, "fwd-ddos-udp-flood -j DROP") == 1, "a sync lost the drops");
    auto n = ri.flood_dropped(&err);
    c.expect(n.size() == 3 && n[0] == 0 && n[1] == 0 && n[2] == 0, "nothing dropped yet");
    c.expect(ri.set_flood_drops({}, &err), "set_flood_drops({}): " + err);
    c.expect(count(false, "fwd-ddos") == 0 && count(true, "fwd-ddos") == 0, "drops left");
    c.expect(count(false, ":FWD-DDOS") == 1, "the chain itself stays");
    return c.failures;
  }));
}

}  // namespace
}  // namespace fw::fwd
