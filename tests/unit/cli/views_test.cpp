// Prompts and the IPC form of view stacks.
#include <gtest/gtest.h>

#include "cli/commands.h"
#include "cli/grammar.h"

namespace fw::cli {
namespace {

using V = ViewKind;

ViewStack stack(std::initializer_list<View> above_system) {
  ViewStack vs = user_view();
  vs.push_back(View{V::kSystem, {}});
  for (const auto& v : above_system) vs.push_back(v);
  return vs;
}

TEST(Views, Prompts) {
  EXPECT_EQ(prompt(user_view(), "FW"), "<FW>");
  EXPECT_EQ(prompt(stack({}), "FW"), "[FW]");
  EXPECT_EQ(prompt(stack({{V::kZone, {"trust"}}}), "FW"), "[FW-zone-trust]");
  EXPECT_EQ(prompt(stack({{V::kInterzone, {"trust", "untrust"}}}), "FW"),
            "[FW-interzone-trust-untrust]");
  EXPECT_EQ(prompt(stack({{V::kSecurityPolicy, {}}}), "FW"), "[FW-policy-security]");
  EXPECT_EQ(prompt(stack({{V::kSecurityPolicy, {}}, {V::kSecurityRule, {"R1"}}}), "FW"),
            "[FW-policy-security-rule-R1]");
  EXPECT_EQ(prompt(stack({{V::kServiceSet, {"web"}}}), "FW"), "[FW-object-service-set-web]");
  EXPECT_EQ(prompt(stack({{V::kNatPolicy, {}}}), "FW"), "[FW-policy-nat]");
  EXPECT_EQ(prompt(stack({{V::kNatPolicy, {}}, {V::kNatRule, {"R1"}}}), "FW"),
            "[FW-policy-nat-rule-R1]");
  EXPECT_EQ(prompt(stack({{V::kAddressGroup, {"G1"}}}), "FW"), "[FW-address-group-G1]");
  EXPECT_EQ(prompt(user_view(), "USG6000"), "<USG6000>");
  EXPECT_EQ(prompt(ViewStack{}, "FW"), "<FW>");
}

TEST(Views, Names) {
  for (auto v : {V::kUser, V::kSystem, V::kZone, V::kInterzone, V::kSecurityPolicy,
                 V::kSecurityRule, V::kServiceSet, V::kNatPolicy, V::kNatRule, V::kAddressGroup}) {
    EXPECT_EQ(view_from_name(view_name(v)), v);
  }
  EXPECT_EQ(view_name(V::kSystem), "system");
  EXPECT_EQ(view_from_name("bogus"), std::nullopt);
}

TEST(Views, SerializeRoundTrip) {
  std::vector<ViewStack> cases = {
      user_view(),
      stack({}),
      stack({{V::kZone, {"trust"}}}),
      stack({{V::kInterzone, {"trust", "untrust"}}}),
      stack({{V::kSecurityPolicy, {}}, {V::kSecurityRule, {"R1"}}}),
      stack({{V::kSecurityPolicy, {}}, {V::kSecurityRule, {"odd:name|with%chars"}}}),
      stack({{V::kNatPolicy, {}}, {V::kNatRule, {"n"}}}),
      stack({{V::kServiceSet, {"web"}}}),
      stack({{V::kAddressGroup, {"G1"}}}),
  };
  for (const auto& vs : cases) {
    std::string s = serialize_views(vs);
    auto back = parse_views(s);
    ASSERT_TRUE(back) << s;
    EXPECT_EQ(*back, vs) << s;
  }
  EXPECT_EQ(serialize_views(stack({{V::kZone, {"trust"}}})), "user|system|zone:trust");
  // The user view may be left out at the bottom; "" is the user view.
  EXPECT_EQ(parse_views("system|zone:trust"), stack({{V::kZone, {"trust"}}}));
  EXPECT_EQ(parse_views(""), user_view());
}

TEST(Views, GarbageRejected) {
  for (const char* s : {"bogus",
                        "user|bogus",
                        "user|zone:trust",
                        "zone:trust",
                        "user|system|zone",
                        "user|system|zone:a:b",
                        "user|system|zone:",
                        "user|system|security-rule:R1",
                        "user|system|security-policy|nat-rule:x",
                        "user|user",
                        "user|system|system",
                        "user:x",
                        "user|system|zone:%",
                        "user|system|zone:%4",
                        "user|system|zone:%zz",
                        "|",
                        "user|",
                        "user||system",
                        "\xff\xfe",
                        "user|system|interzone:a"}) {
    EXPECT_EQ(parse_views(s), std::nullopt) << s;
  }
  EXPECT_EQ(parse_views(std::string(5000, 'a')), std::nullopt);
  std::string zeros("user|system|zone:a\0b", 20);
  EXPECT_EQ(parse_views(zeros), stack({{V::kZone, {std::string("a\0b", 3)}}}));
}

TEST(FirewallGrammar, Builds) {
  auto g = firewall_grammar({{std::string(kAlgSet), {{"alpha", "Alpha"}}}});
  EXPECT_FALSE(g->specs().empty());
  auto po = g->parse(user_view(), "system-view", false);
  EXPECT_TRUE(po.match);
}

TEST(FirewallGrammar, NeedsEveryKeywordSet) {
  EXPECT_EQ(firewall_keyword_sets(),
            (std::vector<std::string>{std::string(kAlgSet), std::string(kAppSet)}));
  EXPECT_THROW(firewall_grammar({}), std::invalid_argument);
  EXPECT_THROW(firewall_grammar({{"other", {}}}), std::invalid_argument);
}

// The ALG commands take their values from the set: none is named in the command set.
TEST(FirewallGrammar, AlgCommandsTakeTheSetsValues) {
  auto g = firewall_grammar({{std::string(kAlgSet), {{"alpha", "Alpha help"}, {"beta", "B"}}}});
  ViewStack sys = {View{}, View{ViewKind::kSystem, {}}};
  ViewStack iz = sys;
  iz.push_back(View{ViewKind::kInterzone, {"a", "b"}});
  struct Case {
    const ViewStack* vs;
    const char* line;
    const char* id;
  } cases[] = {
      {&sys, "firewall detect alpha", "detect.global"},
      {&sys, "undo firewall detect b", "undo.detect.global"},
      {&sys, "port-mapping al port 2121", "portmap"},
      {&sys, "undo port-mapping beta port 2121", "undo.portmap"},
      {&iz, "detect Alpha", "detect.interzone"},
      {&iz, "undo detect be", "undo.detect.interzone"},
  };
  for (const auto& c : cases) {
    auto po = g->parse(*c.vs, c.line, false);
    ASSERT_TRUE(po.match) << c.line;
    EXPECT_EQ(po.match->spec->id, c.id) << c.line;
    auto p = po.match->param("protocol");
    EXPECT_TRUE(p == "alpha" || p == "beta") << c.line;
  }
  auto po = g->parse(sys, "firewall detect ftp", false);
  EXPECT_EQ(po.error, ErrorKind::kWrongParameter);
  EXPECT_EQ(po.error_column, 16u);
  ParseOutcome err;
  auto items = g->help(ViewKind::kInterzone, "detect ", &err);
  ASSERT_TRUE(items);
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[0].word, "alpha");
  EXPECT_EQ((*items)[0].help, "Alpha help");
}

}  // namespace
}  // namespace fw::cli
