// Controller::replace_text (SIGHUP reload): the text becomes the whole configuration, all or
// nothing; rules kept by name keep their ids and hit counts.
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "common/clock.h"
#include "common/counters.h"
#include "fwd/controller.h"
#include "fwd/dataplane.h"
#include "policy/policy.h"
#include "tests/unit/fwd/controller_test_util.h"
#include "tests/unit/fwd/pipeline_fixture.h"

namespace fw::fwd {
namespace {

using testing::CountingHooks;
using testing::current;

const char* kFirst = R"(
sysname ONE
firewall zone trust
 add interface in0
firewall zone untrust
 add interface out0
security-policy
 rule name keep
  source-zone trust
  destination-zone untrust
  action permit
 rule name gone
  service telnet
  action deny
)";

const char* kSecond = R"(
sysname TWO
firewall zone trust
 add interface in0
firewall zone untrust
 add interface out0
security-policy
 rule name fresh
  service ssh
  action permit
 rule name keep
  source-zone trust
  destination-zone untrust
  action permit
)";

TEST(Reload, TheTextReplacesTheRunningConfigurationInOneApply) {
  CountingHooks n;
  Controller c(n.hooks());
  std::string err, note = "x";
  ASSERT_TRUE(c.load_text(kFirst, "first", &err)) << err;
  const uint32_t keep_id = c.running().find_rule("keep")->id;
  ASSERT_EQ(n.applies, 1);
  ASSERT_TRUE(c.replace_text(kSecond, "second", &err, &note)) << err;
  EXPECT_EQ(note, "");
  EXPECT_EQ(n.applies, 2);
  auto cfg = c.running();
  EXPECT_EQ(cfg.sysname, "TWO");
  ASSERT_EQ(cfg.security.rules.size(), 2u);
  EXPECT_EQ(cfg.security.rules[0].name, "fresh");  // the file's order
  EXPECT_EQ(cfg.find_rule("gone"), nullptr);       // not in the file: gone (not merged)
  EXPECT_EQ(cfg.find_rule("keep")->id, keep_id);
  EXPECT_GT(cfg.find_rule("fresh")->id, keep_id);
  // The same as a fresh load of the second text, but for the rule ids, which the rendered text
  // carries where they are not the ones a load of it would give by itself.
  Controller fresh({});
  ASSERT_TRUE(fresh.load_text(kSecond, "second", &err)) << err;
  const std::regex ids(" id [0-9]+\n");
  EXPECT_EQ(std::regex_replace(current(c), ids, "\n"), current(fresh));
  EXPECT_NE(current(c).find("rule name keep id " + std::to_string(keep_id) + "\n"),
            std::string::npos);
}

// A RouteSource for tests that build a data plane but send no packet.
using testing::NoRoutes;

TEST(Reload, ANewRuleWhoseSavedIdAKeptRuleHasGetsAFreshOne) {
  Controller c({});
  std::string err, note;
  ASSERT_TRUE(c.load_text(kFirst, "first", &err)) << err;
  const uint32_t keep_id = c.running().find_rule("keep")->id;
  const std::string text = "security-policy\n rule name newcomer id " + std::to_string(keep_id) +
                           "\n  action deny\n rule name keep\n  action permit\n";
  ASSERT_TRUE(c.replace_text(text, "ids", &err, &note)) << err;
  auto cfg = c.running();
  EXPECT_EQ(cfg.find_rule("keep")->id, keep_id);
  EXPECT_NE(cfg.find_rule("newcomer")->id, keep_id);
  EXPECT_EQ(cfg.find_rule("gone"), nullptr);
}

TEST(Reload, AKeptRuleKeepsItsHitsANewOneStartsAtZero) {
  common::ManualClock clock;
  NoRoutes routes;
  testing::Plane plane(clock, routes);
  DataPlane& dp = plane.dp;
  Controller& c = *plane.ctl;
  std::string err;
  ASSERT_TRUE(c.load_text(kFirst, "first", &err)) << err;
  auto& t = dp.counters();
  policy::CompiledPolicy::hit_counter(t, "keep").inc(7);
  policy::CompiledPolicy::hit_counter(t, "fresh").inc(5);  // a stale count of an old "fresh"
  ASSERT_TRUE(c.replace_text(kSecond, "second", &err)) << err;
  EXPECT_EQ(policy::CompiledPolicy::hit_counter(t, "keep").get(), 7u);
  EXPECT_EQ(policy::CompiledPolicy::hit_counter(t, "fresh").get(), 0u);
}

TEST(Reload, AnErrorAnywhereChangesNothing) {
  CountingHooks n;
  Controller c(n.hooks());
  std::string err;
  ASSERT_TRUE(c.load_text(kFirst, "first", &err)) << err;
  const std::string before = current(c);
  // A parse error on the last line: the lines before it must not be applied.
  std::string bad = std::string(kSecond) + " servise http\n";
  EXPECT_FALSE(c.replace_text(bad, "bad.cfg", &err));
  EXPECT_NE(err.find("bad.cfg:15: "), std::string::npos) << err;
  EXPECT_NE(err.find("Unrecognized command"), std::string::npos) << err;
  EXPECT_EQ(current(c), before);
  EXPECT_EQ(n.applies, 1);
  // A validation error found only for the whole text (a priority taken), with its line.
  const std::string dup = std::string(kSecond) + "firewall zone name lab\n set priority 85\n";
  EXPECT_FALSE(c.replace_text(dup, "dup.cfg", &err));
  EXPECT_NE(err.find("dup.cfg:16: "), std::string::npos) << err;
  EXPECT_NE(err.find("already used by another zone"), std::string::npos) << err;
  EXPECT_EQ(current(c), before);
  EXPECT_EQ(n.applies, 1);
  // A failed reload used no rule ids: the next good one numbers as if it had not happened.
  ASSERT_TRUE(c.replace_text(kSecond, "second", &err)) << err;
  Controller ref({});
  ASSERT_TRUE(ref.load_text(kFirst, "first", &err)) << err;
  ASSERT_TRUE(ref.replace_text(kSecond, "second", &err)) << err;
  EXPECT_EQ(c.running().find_rule("fresh")->id, ref.running().find_rule("fresh")->id);
}

TEST(Reload, DisplaysResetsAndSaveInTheTextAreSkipped) {
  Controller c({});
  std::string err;
  ASSERT_TRUE(c.replace_text(std::string(kFirst) + "display zone\nsave\n", "x", &err)) << err;
  EXPECT_EQ(c.running().sysname, "ONE");
}

}  // namespace
}  // namespace fw::fwd
