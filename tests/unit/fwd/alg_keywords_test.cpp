// An ALG added to the data plane's registry (through Registry::add only) is in the command
// grammar the controller builds: `?`, TAB, abbreviation, VRP errors, the keyword sets fwd sends
// to fwcli, `firewall detect toy` and `display firewall detect`. Nothing in cli/ names it.
// (This is the grammar side of tests/unit/aspf/registry_test.cpp: it needs fw_fwd.)
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <memory>
#include <string>

#include "aspf/registry.h"
#include "cli/commands.h"
#include "common/clock.h"
#include "fwd/controller.h"
#include "fwd/dataplane.h"
#include "tests/unit/fwd/pipeline_fixture.h"

namespace fw::fwd {
namespace {

constexpr std::array<std::string_view, 1> kToyCounters = {"parsed"};
constexpr std::array<aspf::Channel, 1> kToyChannels = {{{"toy-data", ""}}};

class ToyInspector final : public aspf::Inspector {
 public:
  ToyInspector() { spec_ = {"toy", "Toy protocol", {17}, 7777, kToyCounters, kToyChannels}; }
  const aspf::AlgSpec& spec() const override { return spec_; }
  std::vector<aspf::Edit> on_message(aspf::Context&, aspf::State*, session::Dir,
                                     const aspf::Message&) override {
    return {};
  }

 private:
  aspf::AlgSpec spec_;
};

// A RouteSource for tests that build a data plane but send no packet.
using testing::NoRoutes;

DataPlaneOptions with_toy() {
  DataPlaneOptions o;
  o.add_algs = [](aspf::Registry& r) {
    aspf::add_builtin_algs(r);
    ASSERT_NE(r.add(std::make_unique<ToyInspector>()), 0);
  };
  return o;
}

ControllerHooks on(DataPlane* dp) {
  ControllerHooks h;
  h.dataplane = dp;
  return h;
}

const cli::ViewStack kSys = {{cli::ViewKind::kUser, {}}, {cli::ViewKind::kSystem, {}}};

// What the controller prints for a line that fails to parse at `col` in the system view.
std::string caret(const std::string& line, size_t col, const char* message) {
  return "[FW]" + line + "\n" + std::string(4 + col, ' ') + "^\n" + message + "\n";
}

class AlgKeywords : public ::testing::Test {
 protected:
  common::ManualClock clock;
  NoRoutes routes;
  DataPlane dp{clock, routes, with_toy()};
  Controller ctl{on(&dp)};
  const std::string toy_help = cli::render_help({{"toy", "Toy protocol"}});
};

TEST_F(AlgKeywords, HelpListsTheToyEverywhereAnAlgIsNamed) {
  ASSERT_TRUE(ctl.check_handlers().empty());
  for (const char* line : {"firewall detect ?", "undo firewall detect ?", "port-mapping ?",
                           "undo port-mapping ?", "firewall detect t?", "fire det to?"}) {
    auto r = ctl.execute(kSys, line);
    EXPECT_TRUE(r.ok) << line;
    EXPECT_NE(r.output.find(toy_help), std::string::npos) << line << "\n" << r.output;
  }
  // Exactly the registry's ALGs, with their help, sorted.
  auto all = ctl.execute(kSys, "firewall detect ?").output;
  std::vector<cli::HelpItem> want;
  for (const auto& [name, help] : dp.algs().keywords()) want.push_back({name, help});
  std::sort(want.begin(), want.end(), [](const auto& a, const auto& b) { return a.word < b.word; });
  EXPECT_EQ(all, cli::render_help(want));
  auto iz = ctl.execute(kSys, "firewall interzone trust untrust");
  ASSERT_TRUE(iz.ok) << iz.output;
  auto r = ctl.execute(iz.views, "detect ?");
  EXPECT_EQ(r.output, all);
}

TEST_F(AlgKeywords, TabCompletesTheToy) {
  const cli::Grammar& g = ctl.grammar();
  using W = std::vector<std::string>;
  EXPECT_EQ(g.complete(cli::ViewKind::kSystem, "firewall detect to"), W{"toy"});
  EXPECT_EQ(g.complete(cli::ViewKind::kSystem, "firewall detect T"), (W{"tftp", "toy"}));
  EXPECT_EQ(g.complete(cli::ViewKind::kInterzone, "detect to"), W{"toy"});
  EXPECT_EQ(g.complete(cli::ViewKind::kSystem, "port-mapping to"), W{"toy"});
}

TEST_F(AlgKeywords, DetectToyIsAcceptedAndDisplayed) {
  auto r = ctl.execute(kSys, "firewall detect toy");
  ASSERT_TRUE(r.ok) << r.output;
  r = ctl.execute(kSys, "fire det to");  // abbreviated: the same ALG, once
  ASSERT_TRUE(r.ok) << r.output;
  // ftp is on in the factory configuration.
  EXPECT_EQ(ctl.running().detect_global, (std::vector<std::string>{"ftp", "toy"}));
  r = ctl.execute(kSys, "port-mapping toy port 7000");
  ASSERT_TRUE(r.ok) << r.output;
  auto iz = ctl.execute(kSys, "firewall interzone trust untrust");
  ASSERT_TRUE(iz.ok) << iz.output;
  r = ctl.execute(iz.views, "detect toy");
  ASSERT_TRUE(r.ok) << r.output;
  auto shown = ctl.execute(kSys, "display firewall detect").output;
  EXPECT_NE(shown.find("  global:\n   ftp toy\n"), std::string::npos) << shown;
  EXPECT_NE(shown.find("  interzone trust untrust:\n   toy\n"), std::string::npos) << shown;
  EXPECT_EQ(shown.find("  toy    udp port"), std::string::npos) << shown;  // verbose only
  shown = ctl.execute(kSys, "display firewall detect verbose").output;
  EXPECT_NE(shown.find("  toy    udp port 7777,7000"), std::string::npos) << shown;
  auto cfg = ctl.execute(kSys, "display current-configuration").output;
  EXPECT_NE(cfg.find(" firewall detect toy\n"), std::string::npos) << cfg;
  r = ctl.execute(kSys, "undo firewall detect toy");
  ASSERT_TRUE(r.ok) << r.output;
  EXPECT_EQ(ctl.running().detect_global, std::vector<std::string>{"ftp"});
  r = ctl.execute(kSys, "undo firewall detect ftp");
  ASSERT_TRUE(r.ok) << r.output;
  EXPECT_TRUE(ctl.running().detect_global.empty());
  cfg = ctl.execute(kSys, "display current-configuration").output;
  EXPECT_NE(cfg.find(" undo firewall detect ftp\n"), std::string::npos) << cfg;
  // What is saved is the rendered text: loaded at the next start (on the factory configuration,
  // where ftp is on) it turns ftp off again.
  Controller before({}), next({});
  ASSERT_TRUE(before.execute(kSys, "undo firewall detect ftp").ok);
  std::string err;
  ASSERT_TRUE(next.load_text(config::render(before.running()), "saved", &err)) << err;
  EXPECT_TRUE(next.running().detect_global.empty());
}

TEST_F(AlgKeywords, WrongAndAmbiguousNamesGetTheVrpErrorUnderTheName) {
  auto r = ctl.execute(kSys, "firewall detect gopher");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.output,
            caret("firewall detect gopher", 16, "Error: Wrong parameter found at '^' position."));
  r = ctl.execute(kSys, "firewall detect t");  // tftp, toy
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.output,
            caret("firewall detect t", 16, "Error: Ambiguous command found at '^' position."));
  r = ctl.execute(kSys, "port-mapping t port 7000");
  EXPECT_EQ(r.output, caret("port-mapping t port 7000", 13,
                            "Error: Ambiguous command found at '^' position."));
  EXPECT_EQ(ctl.running().detect_global, std::vector<std::string>{"ftp"});  // the factory's
  EXPECT_TRUE(ctl.running().port_mappings.empty());
}

TEST_F(AlgKeywords, TheSetsFwdSendsAreTheRegistrysAndBuildTheSameGrammar) {
  const auto& sets = ctl.keyword_sets();
  ASSERT_EQ(sets.size(), 2u);  // the ALGs, and the applications ("appid" area)
  ASSERT_TRUE(sets.count(std::string(cli::kAlgSet)));
  ASSERT_TRUE(sets.count(std::string(cli::kAppSet)));
  EXPECT_EQ(sets.at(std::string(cli::kAlgSet)), dp.algs().keywords());
  // What fwcli builds from them completes and helps like the daemon.
  auto shell = cli::firewall_grammar(sets);
  EXPECT_EQ(shell->complete(cli::ViewKind::kSystem, "firewall detect to"),
            std::vector<std::string>{"toy"});
  cli::ParseOutcome err;
  auto items = shell->help(cli::ViewKind::kSystem, "firewall detect ", &err);
  ASSERT_TRUE(items);
  EXPECT_EQ(cli::render_help(*items), ctl.execute(kSys, "firewall detect ?").output);
}

TEST(AlgKeywordsAlone, AControllerWithoutADataPlaneKnowsTheBuiltinAlgsOnly) {
  Controller c({});
  common::CounterTable t;
  aspf::Registry builtin(t);
  aspf::add_builtin_algs(builtin);
  EXPECT_EQ(c.keyword_sets().at(std::string(cli::kAlgSet)), builtin.keywords());
  EXPECT_FALSE(c.execute(kSys, "firewall detect toy").ok);
  for (const auto& [name, help] : builtin.keywords()) {
    EXPECT_TRUE(c.execute(kSys, "firewall detect " + name).ok) << name;
  }
}

}  // namespace
}  // namespace fw::fwd
