// Configuration commands: apply, render, re-apply; errors change nothing.
#include "fwd/controller.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <sstream>

#include "common/clock.h"
#include "fwd/dataplane.h"
#include "nat/nat_policy.h"
#include "policy/policy.h"
#include "session/session_table.h"
#include "tests/unit/fwd/controller_test_util.h"
#include "tests/unit/fwd/pipeline_fixture.h"

namespace fw::fwd {
namespace {

using testing::CountingHooks;
using testing::current;

const char* kRich = R"(
sysname LAB-FW
firewall session aging-time udp 90
firewall session aging-time tcp 600
ip service-set web8080 type object
 service 0 protocol tcp destination-port 8080 to 8090
 service 1 protocol udp source-port 1000 destination-port 53
 service protocol icmp
ip address-set lan type object
 description inside hosts
 address 198.18.1.0 mask 24
 address 5 range 198.18.1.2 198.18.1.9
 address 198.18.3.1 0
 address 198.18.4.0 0.0.0.255
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
  source-address range 198.18.1.2 198.18.1.3
  destination-address address-set lan
  service http https web8080
  service protocol tcp destination-port 8080 to 8081
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
  // r3 was created last and moved to the top: every rule's id is written where the order alone
  // would not give it.
  EXPECT_NE(first.find("rule name r3 id 3\n rule name r1 id 1\n"), std::string::npos) << first;
  EXPECT_NE(first.find("ip address-set lan type object\n description inside hosts\n address 0 "
                       "198.18.1.0 mask 24\n address 5 range 198.18.1.2 198.18.1.9\n address 6 "
                       "198.18.3.1 mask 32\n address 7 198.18.4.0 mask 24\n"),
            std::string::npos)
      << first;
  EXPECT_NE(first.find("  source-address range 198.18.1.2 198.18.1.3\n"), std::string::npos);
  EXPECT_NE(first.find("  destination-address address-set lan\n"), std::string::npos);
  EXPECT_NE(first.find("  service protocol tcp destination-port 8080 to 8081\n"),
            std::string::npos);
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

// A configuration with `rules` security rules and `nat` NAT rules, each rule a few lines, plus
// the zones, service sets and address groups they use. Line numbers are predictable: see
// rule_line().
std::string generated(int rules, int nat) {
  std::ostringstream os;
  os << "sysname GEN\n";
  for (int i = 0; i < 4; ++i) {
    os << "ip service-set s" << i << " type object\n service 0 protocol tcp destination-port "
       << 8000 + i << "\n";
  }
  for (int i = 0; i < 4; ++i)
    os << "firewall zone name z" << i << "\n set priority " << 10 + i << "\n";
  os << "nat address-group g0\n section 0 100.64.0.0 100.64.0.15\n";
  os << "security-policy\n";
  for (int i = 0; i < rules; ++i) {
    os << " rule name r" << i << "\n  source-zone z" << i % 4 << "\n  destination-zone "
       << (i % 3 ? "untrust" : "dmz") << "\n  source-address 10." << i / 256 << "." << i % 256
       << ".0 24\n  service " << (i % 2 ? "http" : "s1") << "\n  action "
       << (i % 5 ? "permit" : "deny") << "\n";
  }
  os << "nat-policy\n";
  for (int i = 0; i < nat; ++i) {
    os << " rule name n" << i << "\n  source-zone trust\n  source-address 10.200." << i % 256
       << ".0 24\n  action " << (i % 2 ? "source-nat address-group g0" : "source-nat easy-ip")
       << "\n";
  }
  return os.str();
}
constexpr int kHeaderLines = 1 + 4 * 2 + 4 * 2 + 2 + 1;  // up to `security-policy`
// 1-based line number of the first line (`rule name`) of security rule i in generated().
int rule_line(int i) { return kHeaderLines + 6 * i + 1; }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream is(text);
  for (std::string l; std::getline(is, l);) out.push_back(l);
  return out;
}

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// The old way: every line executed on its own, each validated and applied.
void execute_each(Controller& c, const std::string& text) {
  auto vs = cli::ViewStack{{cli::ViewKind::kUser, {}}, {cli::ViewKind::kSystem, {}}};
  for (const auto& l : lines_of(text)) {
    auto r = c.execute(vs, l);
    ASSERT_TRUE(r.ok) << l << "\n" << r.output;
    vs = r.views.size() < 2
             ? cli::ViewStack{{cli::ViewKind::kUser, {}}, {cli::ViewKind::kSystem, {}}}
             : r.views;
  }
}

TEST(ControllerBatch, BigConfigurationLoadsWithOneApply) {
  const std::string text = generated(2000, 200);
  CountingHooks ch;
  Controller batch(ch.hooks());
  std::string err;
  ASSERT_TRUE(batch.load_text(text, "gen", &err)) << err;
  EXPECT_EQ(ch.applies, 1);
  auto cfg = batch.running();
  ASSERT_EQ(cfg.security.rules.size(), 2000u);
  ASSERT_EQ(cfg.nat_rules.size(), 200u);
  EXPECT_EQ(config::render_rule(cfg.security.rules[1234], " "),
            " rule name r1234\n  source-zone z2\n  destination-zone untrust\n"
            "  source-address 10.4.210.0 mask 255.255.255.0\n  service s1\n  action permit\n");
  EXPECT_EQ(cfg.security.rules[1234].id, 1235u);
  EXPECT_EQ(cfg.nat_rules[0].id, 2001u);
  // What it renders loads back to the same configuration.
  Controller again({});
  ASSERT_TRUE(again.load_text(current(batch), "rendered", &err)) << err;
  EXPECT_EQ(current(again), current(batch));
}

TEST(ControllerBatch, ABatchEqualsTheSameLinesExecutedOneByOne) {
  // One by one, every line copies, validates and applies the whole configuration: quadratic,
  // so this comparison uses a smaller configuration than the test above.
  const std::string text = generated(300, 30);
  CountingHooks ch;
  Controller batch(ch.hooks());
  std::string err;
  ASSERT_TRUE(batch.load_text(text, "gen", &err)) << err;
  EXPECT_EQ(ch.applies, 1);

  CountingHooks ch2;
  Controller each(ch2.hooks());
  execute_each(each, text);
  EXPECT_GT(ch2.applies, 300 * 6);
  EXPECT_EQ(current(batch), current(each));
  // Rule ids (not rendered) too.
  auto a = batch.running(), b = each.running();
  ASSERT_EQ(a.security.rules.size(), b.security.rules.size());
  for (size_t i = 0; i < a.security.rules.size(); ++i)
    EXPECT_EQ(a.security.rules[i].id, b.security.rules[i].id) << i;
  ASSERT_EQ(a.nat_rules.size(), b.nat_rules.size());
  for (size_t i = 0; i < a.nat_rules.size(); ++i)
    EXPECT_EQ(a.nat_rules[i].id, b.nat_rules[i].id) << i;
}

TEST(ControllerBatch, AnEmptyOrDisplayOnlyTextAppliesNothing) {
  CountingHooks ch;
  Controller c(ch.hooks());
  std::string err;
  ASSERT_TRUE(c.load_text("# nothing\n\ndisplay zone\n", "x", &err)) << err;
  EXPECT_EQ(ch.applies, 0);
}

TEST(ControllerBatch, AnErrorOnLineNOfABigFileReportsLineN) {
  auto lines = lines_of(generated(1000, 0));
  const int n = rule_line(700) + 4;  // the `service` line of rule r700
  ASSERT_EQ(lines[n - 1], "  service s1");
  lines[n - 1] = "  service nosuch";
  CountingHooks ch;
  Controller c(ch.hooks());
  std::string err;
  EXPECT_FALSE(c.load_text(join(lines), "big.cfg", &err));
  EXPECT_EQ(err, "big.cfg:" + std::to_string(n) + ": Error: The service nosuch does not exist.\n");
  // As if typed line by line: what came before the error is applied, once.
  EXPECT_EQ(ch.applies, 1);
  EXPECT_EQ(c.running().security.rules.size(), 701u);

  // A parse error: file:line and the error, then the line with the caret under the offending word
  // (on lines of their own: a prefix before the location cannot move the caret).
  lines = lines_of(generated(1000, 0));
  lines[n - 1] = "  servise http";
  Controller c2({});
  EXPECT_FALSE(c2.load_text(join(lines), "big.cfg", &err));
  const std::string pr = "[GEN-policy-security-rule-r700]";
  EXPECT_EQ(err, "big.cfg:" + std::to_string(n) +
                     ": Error: Unrecognized command found at '^' position.\n" + pr +
                     "servise http\n" + std::string(pr.size(), ' ') + "^\n");
}

TEST(ControllerBatch, AValidationErrorFoundOnlyAtTheEndStillReportsItsLine) {
  // `set priority` on a custom zone is only checked by the whole-configuration validation.
  auto lines = lines_of(generated(1000, 0));
  const int zone_line = 1 + 4 * 2 + 2 * 2 + 1;  // `firewall zone name z2`
  ASSERT_EQ(lines[zone_line - 1], "firewall zone name z2");
  ASSERT_EQ(lines[zone_line], " set priority 12");
  lines[zone_line] = " set priority 85";  // trust has it
  CountingHooks ch;
  Controller c(ch.hooks());
  std::string err;
  EXPECT_FALSE(c.load_text(join(lines), "v.cfg", &err));
  EXPECT_EQ(err, "v.cfg:" + std::to_string(zone_line + 1) +
                     ": Error: The priority 85 is already used by another zone.\n");
  EXPECT_EQ(ch.applies, 1);
  auto cfg = c.running();
  EXPECT_TRUE(cfg.security.rules.empty());
  ASSERT_NE(cfg.find_zone("z2"), nullptr);
  EXPECT_EQ(cfg.find_zone("z2")->priority, 0);
  EXPECT_EQ(config::validate(cfg), std::nullopt);

  // Deep in the file: two NAT servers on the same global address and port.
  lines = lines_of(generated(1000, 0));
  const int at = rule_line(600);
  lines.insert(
      lines.begin() + at - 1,
      {"nat server a protocol tcp global 203.0.113.9 80 inside 10.0.0.1 80",
       "nat server b protocol tcp global 203.0.113.9 80 inside 10.0.0.2 80", "security-policy"});
  Controller c2({});
  EXPECT_FALSE(c2.load_text(join(lines), "v.cfg", &err));
  EXPECT_EQ(err, "v.cfg:" + std::to_string(at + 1) +
                     ": Error: The global address and port of NAT server b conflict with NAT "
                     "server a.\n");
  EXPECT_EQ(c2.running().security.rules.size(), 600u);
}

TEST(ControllerBatch, OnlyTheFinalConfigurationIsValidated) {
  // Line by line this failed at `set priority 85`; as one batch the final state counts.
  Controller c({});
  std::string err;
  EXPECT_TRUE(
      c.load_text("firewall zone name lab\n set priority 85\n set priority 60\n", "x", &err))
      << err;
  EXPECT_EQ(c.running().find_zone("lab")->priority, 60);
}

TEST(ControllerBatch, AFailedInteractiveCommandLeavesTheConfigurationUnchanged) {
  CountingHooks ch;
  Controller c(ch.hooks());
  std::string err;
  ASSERT_TRUE(c.load_text(
      generated(50, 5) + "nat server a protocol tcp global 203.0.113.9 80 inside 10.0.0.1\n", "x",
      &err))
      << err;
  const std::string before = current(c);
  const int applies = ch.applies;
  auto sys = cli::ViewStack{{cli::ViewKind::kUser, {}}, {cli::ViewKind::kSystem, {}}};
  const char* failing[] = {
      // validation: the handler changed the copy, the whole configuration refused it
      "nat server b protocol tcp global 203.0.113.9 80 inside 10.0.0.2",
      // handler errors
      "undo firewall zone name z1",
      "undo nat address-group g0",
      "undo ip service-set s1",
  };
  for (const char* l : failing) {
    auto r = c.execute(sys, l);
    EXPECT_FALSE(r.ok) << l;
    EXPECT_EQ(r.views, sys) << l;
  }
  auto r = c.execute(sys, "firewall zone name z3");
  ASSERT_TRUE(r.ok);
  EXPECT_FALSE(c.execute(r.views, "set priority 85").ok);
  EXPECT_EQ(current(c), before);
  EXPECT_EQ(ch.applies, applies);
  // A command that works is applied at once.
  EXPECT_TRUE(c.execute(sys, "sysname EDGE").ok);
  EXPECT_EQ(ch.applies, applies + 1);
  EXPECT_EQ(c.running().sysname, "EDGE");
}

TEST(ControllerBatch, RulesAreFoundByNameAfterMovesAndDeletes) {
  Controller c({});
  std::string err;
  ASSERT_TRUE(c.load_text(generated(30, 0) +
                              "security-policy\n"
                              " rule move r5 top\n undo rule name r7\n rule move r20 before r3\n"
                              " rule name r20\n  action deny\n rule name r7\n  action permit\n",
                          "x", &err))
      << err;
  auto cfg = c.running();
  ASSERT_EQ(cfg.security.rules.size(), 30u);
  EXPECT_EQ(cfg.security.rules[0].name, "r5");
  EXPECT_EQ(cfg.security.rules[4].name, "r20");
  EXPECT_EQ(cfg.security.rules[5].name, "r3");
  EXPECT_EQ(*cfg.find_rule("r20")->action, config::Action::kDeny);
  EXPECT_EQ(cfg.security.rules.back().name, "r7");
  EXPECT_TRUE(cfg.find_rule("r7")->src_zones.empty());  // a new rule r7
}

// A RouteSource for tests that build a data plane but send no packet.
using testing::NoRoutes;

TEST(ControllerBatch, ARecreatedRuleStartsWithNoHits) {
  for (int extra : {0, 20}) {  // few new rules, and a batch
    common::ManualClock clock;
    NoRoutes routes;
    testing::Plane plane(clock, routes);
    DataPlane& dp = plane.dp;
    Controller& c = *plane.ctl;
    std::string err;
    ASSERT_TRUE(c.load_text(generated(1, 1), "x", &err)) << err;
    auto& t = dp.counters();
    policy::CompiledPolicy::hit_counter(t, "r0").inc(7);
    nat::CompiledNatPolicy::hit_counter(t, "n0").inc(3);
    std::string text =
        "security-policy\n undo rule name r0\n rule name r0\nnat-policy\n"
        " undo rule name n0\n rule name n0\n";
    for (int i = 0; i < extra; ++i) text += " rule name extra" + std::to_string(i) + "\n";
    ASSERT_TRUE(c.load_text(text, "y", &err)) << err;
    EXPECT_EQ(policy::CompiledPolicy::hit_counter(t, "r0").get(), 0u) << extra;
    EXPECT_EQ(nat::CompiledNatPolicy::hit_counter(t, "n0").get(), 0u) << extra;
  }
}

ControllerHooks only_interfaces(std::set<std::string> names) {
  ControllerHooks h;
  h.interface_exists = [names](const std::string& n) { return names.count(n) > 0; };
  return h;
}

TEST(ControllerInterfaces, AnUnknownInterfaceIsAParameterErrorInAFile) {
  Controller c(only_interfaces({"in0", "out0"}));
  std::string err;
  EXPECT_FALSE(
      c.load_text("firewall zone trust\n add interface in0\n#\nfirewall zone untrust\n"
                  " add interface out9\n",
                  "lab.cfg", &err));
  const std::string pr = "[FW-zone-untrust]";
  EXPECT_EQ(err, "lab.cfg:5: Error: Wrong parameter found at '^' position.\n" + pr +
                     "add interface out9\n" + std::string(pr.size() + 14, ' ') +
                     "^\n"
                     "Error: The interface out9 does not exist.\n");
  auto cfg = c.running();
  EXPECT_EQ(cfg.find_zone("trust")->interfaces, std::vector<std::string>{"in0"});
  EXPECT_TRUE(cfg.find_zone("untrust")->interfaces.empty());
}

TEST(ControllerInterfaces, AnUnknownInterfaceIsAParameterErrorInteractively) {
  Controller c(only_interfaces({"in0", "out0"}));
  auto vs = c.execute(cli::user_view(), "system-view").views;
  vs = c.execute(vs, "firewall zone untrust").views;
  auto r = c.execute(vs, "add  interface   out9");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.output, "[FW-zone-untrust]add  interface   out9\n" + std::string(17 + 17, ' ') +
                          "^\n"
                          "Error: Wrong parameter found at '^' position.\n"
                          "Error: The interface out9 does not exist.\n");
  EXPECT_EQ(r.views, vs);
  EXPECT_TRUE(c.running().find_zone("untrust")->interfaces.empty());
  EXPECT_TRUE(c.execute(vs, "add interface out0").ok);
  EXPECT_EQ(c.running().find_zone("untrust")->interfaces, std::vector<std::string>{"out0"});
  // Removing needs no check: the interface may be gone already.
  auto present = std::make_shared<std::set<std::string>>(std::set<std::string>{"gone0"});
  ControllerHooks h;
  h.interface_exists = [present](const std::string& n) { return present->count(n) > 0; };
  Controller later(h);
  std::string err;
  ASSERT_TRUE(later.load_text("firewall zone untrust\n add interface gone0\n", "x", &err)) << err;
  present->clear();
  EXPECT_TRUE(later.load_text("firewall zone untrust\n undo add interface gone0\n", "x", &err))
      << err;
  EXPECT_TRUE(later.running().find_zone("untrust")->interfaces.empty());
}

TEST(ControllerDisplay, VerboseSessionsNameInterfacesThroughTheHook) {
  common::ManualClock clock;
  NoRoutes routes;
  DataPlaneOptions opt;
  opt.max_sessions = 16;
  DataPlane dp(clock, routes, opt);
  session::Session s;
  s.orig.src = *common::IpAddr::parse("198.18.1.2");
  s.orig.dst = *common::IpAddr::parse("203.0.113.2");
  s.orig.sport = 40000;
  s.orig.dport = 80;
  s.orig.proto = 6;
  s.reply = s.orig.reversed();
  s.in_ifindex = 7;
  s.out_ifindex = 9;
  s.timeout_s = 1200;
  ASSERT_EQ(dp.sessions().insert(s), session::InsertResult::kOk);
  ControllerHooks h;
  h.dataplane = &dp;
  h.ifname = [](uint32_t i) { return i == 7 ? std::string("in0") : std::string(); };
  Controller c(h);
  auto out = c.execute(cli::user_view(), "display firewall session table verbose").output;
  EXPECT_NE(out.find(" Recv Interface: in0\n"), std::string::npos) << out;
  EXPECT_NE(out.find(" Interface: ifindex 9  NextHop: 203.0.113.2\n"), std::string::npos) << out;
}

// (disp) The issue-17 displays on a data plane: filters by port, policy and protocol number, the
// IPv6 table, the statistics counts, and the server-map's merged Nat Server Reverse line.
TEST(ControllerDisplay, FiltersStatisticsIpv6AndServerMap) {
  common::ManualClock clock;
  NoRoutes routes;
  DataPlaneOptions opt;
  opt.max_sessions = 16;
  DataPlane dp(clock, routes, opt);
  auto add = [&](const char* src, const char* dst, uint16_t sp, uint16_t dp_, uint8_t proto,
                 const char* policy) {
    session::Session s;
    s.orig.src = *common::IpAddr::parse(src);
    s.orig.dst = *common::IpAddr::parse(dst);
    s.orig.sport = sp;
    s.orig.dport = dp_;
    s.orig.proto = proto;
    s.reply = s.orig.reversed();
    s.tcp_state = proto == 6 ? session::TcpState::kEstablished : session::TcpState::kNone;
    s.policy = static_cast<uint16_t>(dp.names().intern(policy));
    s.timeout_s = 60;
    ASSERT_EQ(dp.sessions().insert(s), session::InsertResult::kOk);
  };
  add("198.18.1.2", "203.0.113.2", 40000, 80, 6, "web");
  add("198.18.1.2", "203.0.113.2", 40001, 53, 17, "dns");
  add("2001:db8:1::2", "2001:db8:3::2", 40002, 7000, 6, "web");
  ControllerHooks h;
  h.dataplane = &dp;
  Controller c(h);
  auto show = [&](const std::string& cmd) { return c.execute(cli::user_view(), cmd).output; };
  const std::string a = "198.18.1.2:40000 --> 203.0.113.2:80";
  const std::string u = "198.18.1.2:40001 --> 203.0.113.2:53";
  const std::string v6 = "2001:db8:1::2.40002 --> 2001:db8:3::2.7000";
  auto has = [](const std::string& out, const std::string& t) {
    return out.find(t) != std::string::npos;
  };
  auto out = show("display firewall session table source-port 40000");
  EXPECT_TRUE(has(out, " Current Total Sessions : 1\n") && has(out, a)) << out;
  out = show("display firewall session table destination-port 53");
  EXPECT_TRUE(has(out, " Current Total Sessions : 1\n") && has(out, u)) << out;
  out = show("display firewall session table protocol 17");
  EXPECT_TRUE(has(out, " Current Total Sessions : 1\n") && has(out, u)) << out;
  out = show("display firewall session table policy web");
  EXPECT_TRUE(has(out, " Current Total Sessions : 2\n") && has(out, a) && has(out, v6)) << out;
  out = show("display firewall session table policy web protocol 6 destination-port 7000");
  EXPECT_TRUE(has(out, " Current Total Sessions : 1\n") && has(out, v6)) << out;
  out = show("display firewall ipv6 session table");
  EXPECT_TRUE(has(out, " Current Total Sessions : 1\n") && has(out, v6) && !has(out, a)) << out;
  out = show("display firewall session table statistics");
  for (const char* line :
       {"  Current total sessions            : 3\n", "  Current IPv6 sessions             : 1\n",
        "  tcp                               : 2\n", "  udp                               : 1\n",
        "  established                       : 2\n"}) {
    EXPECT_TRUE(has(out, line)) << line << out;
  }
  // A filtered reset removes exactly the matching session.
  c.execute(cli::user_view(), "reset firewall session table source-port 40001 protocol udp");
  EXPECT_EQ(dp.sessions().size(), 2u);

  session::ServerMapEntry web, dns, host;
  web.type = dns.type = host.type = session::MapType::kNatServerReverse;
  web.addr = dns.addr = *common::IpAddr::parse("198.18.2.2");
  web.xaddr = dns.xaddr = *common::IpAddr::parse("203.0.113.110");
  web.proto = 6;
  dns.proto = 17;
  host.addr = *common::IpAddr::parse("198.18.2.3");
  host.xaddr = *common::IpAddr::parse("203.0.113.111");
  dp.servermap().set_static({web, dns, host});
  out = show("display firewall server-map");
  EXPECT_TRUE(has(out, " Current Total Server-map : 2\n")) << out;
  EXPECT_TRUE(has(out,
                  " Type: Nat Server Reverse,  198.18.2.2[203.0.113.110] -> ANY,  Zone:---,"
                  "  protocol:---,  Left-Time:---\n Vpn: public -> public,  counter: 2\n"))
      << out;
  EXPECT_TRUE(has(out,
                  "198.18.2.3[203.0.113.111] -> ANY,  Zone:---,  protocol:---,  Left-Time:---"
                  "\n Vpn: public -> public,  counter: 1\n"))
      << out;
  out = show("display firewall server-map statistic");
  EXPECT_TRUE(has(out, "  Type: Nat Server Reverse    : 2\n")) << out;
}

}  // namespace
}  // namespace fw::fwd
