// The command engine against a small test grammar (not the firewall's).
#include "cli/grammar.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <stdexcept>

namespace fw::cli {
namespace {

using V = ViewKind;

std::map<std::string, std::string> test_help() {
  return {
      {"system-view", "Enter the system view"},
      {"quit", "Exit from the current mode"},
      {"return", "Return to user view"},
      {"display", "Display information"},
      {"version", "Version information"},
      {"vpn", "VPN"},
      {"firewall", "Firewall"},
      {"session", "Session"},
      {"table", "Session table"},
      {"verbose", "Verbose"},
      {"source", "Source"},
      {"destination", "Destination"},
      {"protocol", "Protocol"},
      {"tcp", "TCP"},
      {"udp", "UDP"},
      {"icmp", "ICMP"},
      {"src", "Source address"},
      {"dst", "Destination address"},
      {"security-policy", "Security policy"},
      {"rule", "Rule"},
      {"all", "All rules"},
      {"name", "Name"},
      {"rule-name", "Rule name"},
      {"zone", "Zone"},
      {"zone-name", "Zone name"},
      {"aging-time", "Aging time"},
      {"seconds", "Seconds"},
      {"source-address", "Source address"},
      {"addr", "Address"},
      {"mask", "Mask"},
      {"mask-val", "Address mask"},
      {"len", "Mask length"},
      {"ping", "Ping"},
      {"ping6", "Ping IPv6"},
      {"host", "IPv4 or IPv6 address"},
      {"host6", "IPv6 address"},
      {"interface", "Interface"},
      {"ifname", "Interface name"},
      {"debug", "Debug"},
      {"ftp", "FTP"},
      {"sip", "SIP"},
      {"add", "Add"},
      {"nat", "NAT"},
      {"server", "Server"},
      {"global", "Global"},
      {"inside", "Inside"},
      {"ip", "IP address"},
      {"port", "Port"},
      {"description", "Description"},
      {"desc", "Description text"},
  };
}

std::vector<CommandSpec> test_specs() {
  std::vector<ViewKind> all = {V::kUser,           V::kSystem,       V::kZone,       V::kInterzone,
                               V::kSecurityPolicy, V::kSecurityRule, V::kServiceSet, V::kNatPolicy,
                               V::kNatRule,        V::kAddressGroup};
  std::vector<ViewKind> not_user(all.begin() + 1, all.end());
  return {
      {"system-view", {V::kUser}, "system-view"},
      {"quit", all, "quit"},
      {"return", not_user, "return"},
      {"display.version", {V::kUser, V::kSystem}, "display version"},
      {"display.vpn", {V::kSystem}, "display vpn"},
      {"display.session",
       {V::kUser, V::kSystem},
       "display firewall session table [ verbose ] [ source <src:ipv4> | destination <dst:ipv4> | "
       "protocol { tcp | udp | icmp } ]*"},
      {"display.policy",
       {V::kUser, V::kSystem},
       "display security-policy rule { all | name <rule-name:string(1-31)> }"},
      {"zone.name", {V::kSystem}, "firewall zone name <zone-name:string>"},
      {"zone", {V::kSystem}, "firewall zone <zone-name:string>"},
      {"aging", {V::kSystem}, "firewall session aging-time { tcp | udp } <seconds:int(1-65535)>"},
      {"rule.source",
       {V::kSecurityRule},
       "source-address <addr:ipv4> { mask <mask-val:mask> | <len:int(0-32)> }"},
      {"ping", {V::kSystem}, "ping <host:ip>"},
      {"ping6", {V::kSystem}, "ping6 <host6:ipv6>"},
      {"interface", {V::kSystem}, "interface <ifname:ifname>"},
      {"debug", {V::kSystem}, "debug { ftp | sip }*"},
      {"zone.add", {V::kZone}, "add interface <ifname:ifname>"},
      {"rule.description", {V::kSecurityRule}, "description <desc:text(1-20)>"},
      {"nat.server",
       {V::kSystem},
       "nat server global <ip:ipv4> <port:int(0-65535)> inside <ip:ipv4> <port:int(0-65535)>"},
  };
}

class GrammarTest : public ::testing::Test {
 protected:
  GrammarTest() : g_(test_specs(), test_help()) {}
  ParseOutcome parse(V v, std::string_view line) {
    ViewStack vs = user_view();
    if (v != V::kUser) vs.push_back(View{V::kSystem, {}});
    if (v == V::kZone) vs.push_back(View{V::kZone, {"trust"}});
    if (v == V::kSecurityRule) {
      vs.push_back(View{V::kSecurityPolicy, {}});
      vs.push_back(View{V::kSecurityRule, {"R1"}});
    }
    return g_.parse(vs, line, false);
  }
  std::string id(V v, std::string_view line) {
    auto po = parse(v, line);
    return po.match ? po.match->spec->id : "";
  }
  Grammar g_;
};

TEST_F(GrammarTest, ExactAndAbbreviatedKeywords) {
  EXPECT_EQ(id(V::kUser, "display version"), "display.version");
  EXPECT_EQ(id(V::kUser, "dis ver"), "display.version");
  EXPECT_EQ(id(V::kUser, "DIS VER"), "display.version");
  EXPECT_EQ(id(V::kUser, "  display   version  "), "display.version");
  auto po = parse(V::kUser, "dis fire sess tab");
  ASSERT_TRUE(po.match);
  EXPECT_EQ(po.match->spec->id, "display.session");
  EXPECT_EQ(po.match->canonical, "display firewall session table");
  // "d" is unique in the user view (no "debug" there) ...
  EXPECT_EQ(id(V::kUser, "d v"), "display.version");
}

TEST_F(GrammarTest, ExactKeywordWinsOverLongerOne) {
  EXPECT_EQ(id(V::kSystem, "ping 1.2.3.4"), "ping");
  EXPECT_EQ(id(V::kSystem, "ping6 2001:db8::1"), "ping6");
  auto po = parse(V::kSystem, "p 1.2.3.4");
  EXPECT_EQ(po.error, ErrorKind::kAmbiguous);
  EXPECT_EQ(po.error_column, 0u);
}

TEST_F(GrammarTest, ErrorKindsAndColumns) {
  struct Case {
    V view;
    const char* line;
    ErrorKind err;
    size_t col;
  } cases[] = {
      {V::kUser, "dis foo", ErrorKind::kUnrecognized, 4},
      {V::kUser, "foo", ErrorKind::kUnrecognized, 0},
      {V::kUser, "di", ErrorKind::kIncomplete, 2},
      {V::kUser, "display ", ErrorKind::kIncomplete, 8},
      {V::kUser, "display firewall", ErrorKind::kIncomplete, 16},
      {V::kSystem, "d", ErrorKind::kAmbiguous, 0},
      {V::kUser, "display s", ErrorKind::kIncomplete,
       9},  // only security-policy starts with s here
      {V::kSystem, "display v", ErrorKind::kAmbiguous, 8},  // version, vpn
      {V::kUser, "display version extra", ErrorKind::kTooMany, 16},
      {V::kUser, "quit now", ErrorKind::kTooMany, 5},
      {V::kSystem, "firewall session aging-time tcp 70000", ErrorKind::kWrongParameter, 32},
      {V::kSystem, "firewall session aging-time tcp 0", ErrorKind::kWrongParameter, 32},
      {V::kSystem, "firewall session aging-time tcp abc", ErrorKind::kWrongParameter, 32},
      {V::kSystem, "firewall session aging-time xyz 5", ErrorKind::kUnrecognized, 28},
      {V::kSystem, "ping 1.2.3", ErrorKind::kWrongParameter, 5},
      {V::kUser, "system-view", ErrorKind::kNone, 0},
      {V::kSystem, "system-view", ErrorKind::kUnrecognized, 0},
      // each alternative of a repeat-set at most once
      {V::kUser, "dis fire sess tab source 1.2.3.4 source 1.2.3.5", ErrorKind::kUnrecognized, 33},
      // verbose comes before the repeat-set, not inside it
      {V::kUser, "dis fire sess tab protocol tcp verbose", ErrorKind::kUnrecognized, 31},
      {V::kUser, "dis fire sess tab protocol", ErrorKind::kIncomplete, 26},
  };
  for (const auto& c : cases) {
    auto po = parse(c.view, c.line);
    EXPECT_EQ(po.error, c.err) << c.line;
    if (c.err != ErrorKind::kNone) {
      EXPECT_FALSE(po.match) << c.line;
      EXPECT_EQ(po.error_column, c.col) << c.line;
    } else {
      EXPECT_TRUE(po.match) << c.line;
    }
  }
}

TEST_F(GrammarTest, EmptyAndCommentLines) {
  for (const char* l : {"", "   ", "#", "  # comment"}) {
    auto po = parse(V::kUser, l);
    EXPECT_FALSE(po.match) << l;
    EXPECT_EQ(po.error, ErrorKind::kNone) << l;
  }
}

TEST_F(GrammarTest, OptionalsAlternativesAndRepeatSets) {
  for (const char* l : {"dis fire sess tab verbose", "dis fire sess tab verbose protocol udp",
                        "dis fire sess tab destination 10.0.0.1 source 10.0.0.2",
                        "dis fire sess tab prot icmp dest 10.0.0.1 sou 10.0.0.2",
                        "dis fire sess tab verb sou 10.0.0.2 prot tcp dest 10.0.0.1"}) {
    EXPECT_EQ(id(V::kUser, l), "display.session") << l;
  }
  auto po = parse(V::kUser, "dis fire sess tab prot icmp dest 10.0.0.1 sou 10.0.0.2");
  ASSERT_TRUE(po.match);
  EXPECT_EQ(po.match->canonical,
            "display firewall session table protocol icmp destination 10.0.0.1 source 10.0.0.2");
  EXPECT_TRUE(po.match->has("icmp"));
  EXPECT_TRUE(po.match->has("PROTOCOL"));
  EXPECT_FALSE(po.match->has("verbose"));
  EXPECT_EQ(po.match->param("src"), "10.0.0.2");
  EXPECT_EQ(po.match->param("dst"), "10.0.0.1");
  EXPECT_EQ(po.match->param("nope"), std::nullopt);

  // {a|b}*: one or more, any order, each once.
  EXPECT_EQ(id(V::kSystem, "debug ftp"), "debug");
  EXPECT_EQ(id(V::kSystem, "debug sip ftp"), "debug");
  EXPECT_EQ(parse(V::kSystem, "debug").error, ErrorKind::kIncomplete);
  EXPECT_EQ(parse(V::kSystem, "debug ftp ftp").error,
            ErrorKind::kUnrecognized);  // sip still possible
  EXPECT_EQ(parse(V::kSystem, "debug ftp sip ftp").error, ErrorKind::kTooMany);

  // { all | name <x> }
  EXPECT_EQ(id(V::kUser, "dis sec rule all"), "display.policy");
  EXPECT_EQ(id(V::kUser, "dis sec rule name R1"), "display.policy");
  EXPECT_EQ(parse(V::kUser, "dis sec rule").error, ErrorKind::kIncomplete);
  EXPECT_EQ(parse(V::kUser, "dis sec rule all name R1").error, ErrorKind::kTooMany);
}

TEST_F(GrammarTest, KeywordPreferredOverParameterAtSamePosition) {
  EXPECT_EQ(id(V::kSystem, "firewall zone trust"), "zone");
  EXPECT_EQ(id(V::kSystem, "firewall zone name dmz"), "zone.name");
  auto po = parse(V::kSystem, "firewall zone n");  // the prefix of "name" is the keyword
  EXPECT_EQ(po.error, ErrorKind::kIncomplete);
  EXPECT_EQ(po.error_column, 15u);
  po = parse(V::kSystem, "firewall zone name n");
  ASSERT_TRUE(po.match);
  EXPECT_EQ(po.match->param("zone-name"), "n");
  EXPECT_EQ(po.match->canonical, "firewall zone name n");
  // Parameters keep their case; keywords are canonical.
  po = parse(V::kSystem, "FIREWALL Zone MyZone");
  ASSERT_TRUE(po.match);
  EXPECT_EQ(po.match->canonical, "firewall zone MyZone");
}

TEST_F(GrammarTest, ParameterTypesAndRanges) {
  struct Case {
    V view;
    const char* line;
    bool ok;
  } cases[] = {
      {V::kSystem, "firewall session aging-time udp 1", true},
      {V::kSystem, "firewall session aging-time udp 65535", true},
      {V::kSystem, "firewall session aging-time udp 65536", false},
      {V::kSystem, "firewall session aging-time udp -1", false},
      {V::kSystem, "firewall session aging-time udp 1x", false},
      {V::kSystem, "ping 10.1.2.3", true},
      {V::kSystem, "ping 2001:db8::2", true},
      {V::kSystem, "ping host", false},
      {V::kSystem, "ping 256.1.1.1", false},
      {V::kSystem, "ping6 2001:db8::2", true},
      {V::kSystem, "ping6 10.1.2.3", false},
      {V::kSystem, "interface eth0", true},
      {V::kSystem, "interface veth-inside.10", true},
      {V::kSystem, "interface abcdefghijklmno", true},
      {V::kSystem, "interface abcdefghijklmnop", false},
      {V::kSystem, "interface a/b", false},
      {V::kSystem, "interface a:b", false},
      {V::kUser, "dis sec rule name abcdefghijabcdefghijabcdefghij1", true},
      {V::kUser, "dis sec rule name abcdefghijabcdefghijabcdefghij12", false},
      {V::kSystem,
       "firewall zone name abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij123", true},
      {V::kSystem,
       "firewall zone name abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234",
       false},
      {V::kSecurityRule, "source-address 10.0.0.0 mask 255.255.255.0", true},
      {V::kSecurityRule, "source-address 10.0.0.0 mask 0.0.0.0", true},
      {V::kSecurityRule, "source-address 10.0.0.0 mask 255.255.255.255", true},
      {V::kSecurityRule, "source-address 10.0.0.0 mask 255.0.255.0", false},
      {V::kSecurityRule, "source-address 10.0.0.0 24", true},
      {V::kSecurityRule, "source-address 10.0.0.0 0", true},
      {V::kSecurityRule, "source-address 10.0.0.0 33", false},
      {V::kSecurityRule, "source-address 10.0.0.0 m 255.255.0.0", true},
  };
  for (const auto& c : cases) {
    auto po = parse(c.view, c.line);
    EXPECT_EQ(po.match.has_value(), c.ok) << c.line;
    if (!c.ok) {
      EXPECT_EQ(po.error, ErrorKind::kWrongParameter) << c.line;
      EXPECT_EQ(po.error_column, std::string_view(c.line).rfind(' ') + 1) << c.line;
    }
  }
  auto po = parse(V::kSecurityRule, "source-address 10.0.0.0 24");
  ASSERT_TRUE(po.match);
  EXPECT_EQ(po.match->param("len"), "24");
  EXPECT_EQ(po.match->param("mask-val"), std::nullopt);
}

TEST_F(GrammarTest, TextParameterTakesTheRestOfTheLine) {
  auto po = parse(V::kSecurityRule, "desc Allow   web to DMZ  ");
  ASSERT_TRUE(po.match);
  EXPECT_EQ(po.match->param("desc"), "Allow   web to DMZ");
  EXPECT_EQ(po.match->canonical, "description Allow   web to DMZ");
  po = parse(V::kSecurityRule, "description x");
  ASSERT_TRUE(po.match);
  EXPECT_EQ(po.match->param("desc"), "x");
  po = parse(V::kSecurityRule, "description 123456789 123456789 1");
  EXPECT_EQ(po.error, ErrorKind::kWrongParameter);
  EXPECT_EQ(po.error_column, 12u);
  EXPECT_EQ(parse(V::kSecurityRule, "description").error, ErrorKind::kIncomplete);
  ParseOutcome err;
  auto h = g_.help(V::kSecurityRule, "description ", &err);
  ASSERT_TRUE(h);
  EXPECT_EQ(render_help(*h), "  STRING<1-20>             Description text\n");
  h = g_.help(V::kSecurityRule, "description two words ", &err);
  ASSERT_TRUE(h);
  EXPECT_EQ(render_help(*h), "  <cr>\n");
  h = g_.help(V::kSecurityRule, "description two wo", &err);
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->empty());
  EXPECT_TRUE(g_.complete(V::kSecurityRule, "description two wo").empty());
}

TEST_F(GrammarTest, ParamAfterAndParams) {
  auto po = parse(V::kSystem, "nat server global 203.0.113.1 80 inside 198.18.1.2 8080");
  ASSERT_TRUE(po.match);
  EXPECT_EQ(po.match->params("ip"), (std::vector<std::string>{"203.0.113.1", "198.18.1.2"}));
  EXPECT_EQ(po.match->param("port"), "80");
  EXPECT_EQ(po.match->param_after("inside", "ip"), "198.18.1.2");
  EXPECT_EQ(po.match->param_after("inside", "port"), "8080");
  EXPECT_EQ(po.match->param_after("global", "port"), "80");
  EXPECT_EQ(po.match->param_after("nothere", "ip"), std::nullopt);
  ASSERT_EQ(po.match->tokens.size(), 8u);
  EXPECT_TRUE(po.match->tokens[0].keyword);
  EXPECT_EQ(po.match->tokens[3].name, "ip");
  EXPECT_EQ(po.match->tokens[3].value, "203.0.113.1");
  EXPECT_FALSE(po.match->tokens[3].keyword);
}

TEST_F(GrammarTest, TypedValuesOfParameters) {
  using common::IpAddr;
  using common::Prefix;
  auto po = parse(V::kSystem, "nat server global 203.0.113.1 80 inside 198.18.1.2 8080");
  ASSERT_TRUE(po.match);
  const Match& m = *po.match;
  EXPECT_EQ(m.ip("ip"), IpAddr::parse("203.0.113.1"));
  EXPECT_EQ(m.u16("port"), uint16_t{80});
  EXPECT_EQ(m.u32("port"), 80u);
  EXPECT_EQ(m.integer("port"), 80);
  EXPECT_EQ(m.u8("port"), uint8_t{80});
  EXPECT_EQ(m.ip("port"), std::nullopt);     // an int, not an address
  EXPECT_EQ(m.u32("ip"), std::nullopt);      // an address, not an int
  EXPECT_EQ(m.u32("absent"), std::nullopt);  // no such parameter
  EXPECT_EQ(m.tokens[6].addr, IpAddr::parse("198.18.1.2"));
  EXPECT_EQ(m.tokens[7].number, 8080);

  po = parse(V::kSystem, "nat server global 203.0.113.1 65535 inside 198.18.1.2 300");
  ASSERT_TRUE(po.match);
  EXPECT_EQ(po.match->u16("port"), uint16_t{65535});
  EXPECT_EQ(po.match->u8("port"), std::nullopt);  // does not fit
  EXPECT_EQ(po.match->tokens[7].number, 300);

  po = parse(V::kSystem, "ping 2001:db8::2");
  ASSERT_TRUE(po.match);
  EXPECT_EQ(po.match->ip("host"), IpAddr::parse("2001:db8::2"));
  po = parse(V::kSystem, "firewall session aging-time tcp 600");
  ASSERT_TRUE(po.match);
  EXPECT_EQ(po.match->u32("seconds"), 600u);
  po = parse(V::kSystem, "firewall zone name 80");  // a string that looks like a number
  ASSERT_TRUE(po.match);
  EXPECT_EQ(po.match->integer("zone-name"), std::nullopt);
}

TEST_F(GrammarTest, PrefixFromAddressAndMaskOrLength) {
  using common::Prefix;
  struct Case {
    const char* line;
    std::optional<std::pair<const char*, int>> want;
  } cases[] = {
      {"source-address 10.1.2.3 mask 255.255.255.0", std::make_pair("10.1.2.0", 24)},
      {"source-address 10.1.2.3 mask 0.0.0.0", std::make_pair("0.0.0.0", 0)},
      {"source-address 10.1.2.3 24", std::make_pair("10.1.2.0", 24)},
      {"source-address 10.1.2.3 32", std::make_pair("10.1.2.3", 32)},
  };
  for (const auto& c : cases) {
    auto po = parse(V::kSecurityRule, c.line);
    ASSERT_TRUE(po.match) << c.line;
    auto p = po.match->prefix("addr", "mask-val", "len");
    ASSERT_TRUE(p) << c.line;
    EXPECT_EQ(p->addr, *common::IpAddr::parse(c.want->first)) << c.line;
    EXPECT_EQ(p->len, c.want->second) << c.line;
    auto m = po.match->ip("mask-val");
    EXPECT_EQ(m.has_value(), std::string_view(c.line).find("mask") != std::string_view::npos);
  }
  auto po = parse(V::kSecurityRule, "source-address 10.1.2.3 24");
  ASSERT_TRUE(po.match);
  EXPECT_EQ(po.match->prefix("addr", "nope", "nope"), std::nullopt);  // no length, no mask
  EXPECT_EQ(po.match->prefix("nope", "mask-val", "len"), std::nullopt);
}

TEST_F(GrammarTest, TokensKnowTheirColumn) {
  auto po = parse(V::kZone, "  add   interface  eth0 ");
  ASSERT_TRUE(po.match);
  const MatchedToken* t = po.match->token("ifname");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->value, "eth0");
  EXPECT_EQ(t->column, 19u);
  EXPECT_EQ(po.match->tokens[0].column, 2u);
  EXPECT_EQ(po.match->tokens[1].column, 8u);
  EXPECT_EQ(po.match->token("nope"), nullptr);
  po = parse(V::kSecurityRule, "desc two  words");
  ASSERT_TRUE(po.match);
  EXPECT_EQ(po.match->token("desc")->column, 5u);
  EXPECT_EQ(po.match->token("desc")->value, "two  words");
}

TEST_F(GrammarTest, ParentViewSearch) {
  ViewStack vs = user_view();
  vs.push_back(View{V::kSystem, {}});
  vs.push_back(View{V::kZone, {"trust"}});
  auto po = g_.parse(vs, "add interface eth1", true);
  ASSERT_TRUE(po.match);
  EXPECT_EQ(po.views_up, 0u);
  po = g_.parse(vs, "firewall zone name dmz", true);
  ASSERT_TRUE(po.match);
  EXPECT_EQ(po.match->spec->id, "zone.name");
  EXPECT_EQ(po.views_up, 1u);
  po = g_.parse(vs, "firewall zone name dmz", false);
  EXPECT_FALSE(po.match);
  EXPECT_EQ(po.error, ErrorKind::kUnrecognized);
  po = g_.parse(vs, "system-view", true);
  ASSERT_TRUE(po.match);
  EXPECT_EQ(po.views_up, 2u);
  // Nothing matches anywhere: the current view's error is reported.
  po = g_.parse(vs, "add foo", true);
  EXPECT_FALSE(po.match);
  EXPECT_EQ(po.error, ErrorKind::kUnrecognized);
  EXPECT_EQ(po.error_column, 4u);
  po = g_.parse(vs, "add interface", true);
  EXPECT_EQ(po.error, ErrorKind::kIncomplete);
  EXPECT_EQ(po.error_column, 13u);
  // "quit" exists in the current view: no search.
  po = g_.parse(vs, "quit", true);
  ASSERT_TRUE(po.match);
  EXPECT_EQ(po.views_up, 0u);

  ViewStack rule = user_view();
  rule.push_back(View{V::kSystem, {}});
  rule.push_back(View{V::kSecurityPolicy, {}});
  rule.push_back(View{V::kSecurityRule, {"R1"}});
  po = g_.parse(rule, "dis ver", true);
  ASSERT_TRUE(po.match);
  EXPECT_EQ(po.views_up, 2u);
}

TEST_F(GrammarTest, HelpNextTokens) {
  ParseOutcome err;
  auto h = g_.help(V::kUser, "", &err);
  ASSERT_TRUE(h);
  EXPECT_EQ(render_help(*h),
            "  display                  Display information\n"
            "  quit                     Exit from the current mode\n"
            "  system-view              Enter the system view\n");
  h = g_.help(V::kUser, "display ", &err);
  ASSERT_TRUE(h);
  EXPECT_EQ(render_help(*h),
            "  firewall                 Firewall\n"
            "  security-policy          Security policy\n"
            "  version                  Version information\n");
  h = g_.help(V::kUser, "dis ver ", &err);
  ASSERT_TRUE(h);
  // A complete display command can take an output pipe.
  EXPECT_EQ(render_help(*h),
            "  |                        Matching output\n"
            "  <cr>\n");
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[1].word, "<cr>");
  EXPECT_EQ((*h)[1].help, "");
  h = g_.help(V::kUser, "dis fire sess tab ", &err);
  ASSERT_TRUE(h);
  EXPECT_EQ(render_help(*h),
            "  destination              Destination\n"
            "  protocol                 Protocol\n"
            "  source                   Source\n"
            "  verbose                  Verbose\n"
            "  |                        Matching output\n"
            "  <cr>\n");
  h = g_.help(V::kUser, "dis fire sess tab source 1.1.1.1 ", &err);
  ASSERT_TRUE(h);
  EXPECT_EQ(render_help(*h),
            "  destination              Destination\n"
            "  protocol                 Protocol\n"
            "  |                        Matching output\n"
            "  <cr>\n");
}

TEST_F(GrammarTest, HelpPlaceholders) {
  ParseOutcome err;
  auto one = [&](V v, const char* line) {
    auto h = g_.help(v, line, &err);
    EXPECT_TRUE(h) << line;
    return h ? *h : std::vector<HelpItem>{};
  };
  auto h = one(V::kSystem, "firewall session aging-time tcp ");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].word, "INTEGER<1-65535>");
  EXPECT_EQ(h[0].help, "Seconds");
  h = one(V::kSystem, "ping ");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].word, "X.X.X.X");
  EXPECT_EQ(h[0].help, "IPv4 or IPv6 address");
  h = one(V::kSystem, "ping6 ");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].word, "X:X::X:X");
  h = one(V::kSystem, "interface ");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].word, "STRING<1-15>");
  h = one(V::kUser, "display security-policy rule name ");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].word, "STRING<1-31>");
  h = one(V::kSecurityRule, "source-address 1.2.3.4 mask ");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].word, "X.X.X.X");
  EXPECT_EQ(h[0].help, "Address mask");
  // Parameters first, then keywords.
  h = one(V::kSystem, "firewall zone ");
  EXPECT_EQ(render_help(h),
            "  STRING<1-63>             Zone name\n"
            "  name                     Name\n");
  h = one(V::kSecurityRule, "source-address 1.2.3.4 ");
  EXPECT_EQ(render_help(h),
            "  INTEGER<0-32>            Mask length\n"
            "  mask                     Mask\n");
}

TEST_F(GrammarTest, HelpPartialWord) {
  ParseOutcome err;
  auto h = g_.help(V::kUser, "dis", &err);
  ASSERT_TRUE(h);
  EXPECT_EQ(render_help(*h), "  display                  Display information\n");
  h = g_.help(V::kSystem, "d", &err);
  ASSERT_TRUE(h);
  EXPECT_EQ(render_help(*h),
            "  debug                    Debug\n"
            "  display                  Display information\n");
  h = g_.help(V::kUser, "display s", &err);
  ASSERT_TRUE(h);
  EXPECT_EQ(render_help(*h), "  security-policy          Security policy\n");
  h = g_.help(V::kSystem, "pi", &err);
  ASSERT_TRUE(h);
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].word, "ping");
  EXPECT_EQ((*h)[1].word, "ping6");
}

TEST_F(GrammarTest, HelpErrors) {
  ParseOutcome err;
  EXPECT_FALSE(g_.help(V::kUser, "dis foo ", &err));
  EXPECT_EQ(err.error, ErrorKind::kUnrecognized);
  EXPECT_EQ(err.error_column, 4u);
  err = {};
  EXPECT_FALSE(g_.help(V::kSystem, "d x", &err));
  EXPECT_EQ(err.error, ErrorKind::kAmbiguous);
  EXPECT_EQ(err.error_column, 0u);
  err = {};
  EXPECT_FALSE(g_.help(V::kUser, "dis ver x ", &err));
  EXPECT_EQ(err.error, ErrorKind::kTooMany);
  EXPECT_EQ(err.error_column, 8u);
  err = {};
  EXPECT_FALSE(g_.help(V::kSystem, "firewall session aging-time tcp 99999 ", &err));
  EXPECT_EQ(err.error, ErrorKind::kWrongParameter);
  EXPECT_EQ(err.error_column, 32u);
  err = {};
  EXPECT_FALSE(g_.help(V::kUser, "xyz", &err));  // a partial word nothing starts with
  EXPECT_EQ(err.error, ErrorKind::kUnrecognized);
  EXPECT_EQ(err.error_column, 0u);
  EXPECT_FALSE(g_.help(V::kUser, "xyz", nullptr));  // err is optional
}

TEST_F(GrammarTest, Completion) {
  EXPECT_EQ(g_.complete(V::kUser, "dis"), (std::vector<std::string>{"display"}));
  EXPECT_EQ(g_.complete(V::kUser, "DIS"), (std::vector<std::string>{"display"}));
  EXPECT_EQ(g_.complete(V::kSystem, "d"), (std::vector<std::string>{"debug", "display"}));
  EXPECT_EQ(g_.complete(V::kUser, "display f"), (std::vector<std::string>{"firewall"}));
  EXPECT_EQ(g_.complete(V::kUser, "dis fire sess tab pro"), (std::vector<std::string>{"protocol"}));
  EXPECT_EQ(g_.complete(V::kSystem, "ping"), (std::vector<std::string>{"ping", "ping6"}));
  EXPECT_EQ(g_.complete(V::kUser, "dis ver"), (std::vector<std::string>{"version"}));
  EXPECT_TRUE(g_.complete(V::kUser, "display version ").empty());
  EXPECT_TRUE(g_.complete(V::kUser, "foo d").empty());
  EXPECT_TRUE(g_.complete(V::kUser, "dis x").empty());
  EXPECT_TRUE(g_.complete(V::kSystem, "firewall session aging-time tcp 1").empty());
  EXPECT_EQ(g_.complete(V::kUser, "display "),
            (std::vector<std::string>{"firewall", "security-policy", "version"}));
}

TEST_F(GrammarTest, RandomLinesNeverCrash) {
  const char* vocab[] = {"dis",      "display",     "fire", "session", "table", "source", "1.2.3.4",
                         "tcp",      "d",           "#",    "?",       "",      "  ",     "\t",
                         "firewall", "zone",        "name", "x",       "65536", "debug",  "ftp",
                         "sip",      "description", "a b",  "\xff",    "ping6", "::1"};
  std::mt19937 rng(7);
  ViewStack vs = user_view();
  vs.push_back(View{V::kSystem, {}});
  for (int i = 0; i < 5000; ++i) {
    std::string line;
    int n = static_cast<int>(rng() % 8);
    for (int k = 0; k < n; ++k) {
      line += vocab[rng() % (sizeof vocab / sizeof *vocab)];
      if (rng() % 4) line += ' ';
    }
    V v = (i & 1) ? V::kSystem : V::kSecurityRule;
    auto po = g_.parse(vs, line, i & 2);
    if (!po.match && po.error != ErrorKind::kNone && po.error != ErrorKind::kIncomplete) {
      EXPECT_LT(po.error_column, line.size()) << line;
    }
    ParseOutcome err;
    (void)g_.help(v, line, &err);
    (void)g_.complete(v, line);
  }
}

// ---- keyword(SET) parameters: values given when the grammar is built ----------------

KeywordSets app_sets() {
  return {{"app",
           {{"ftp", "FTP help"},
            {"ftps", "FTPS help"},
            {"pptp", "PPTP help"},
            {"alpha", "Alpha help"},
            {"SIP", "SIP help"}}}};
}

std::map<std::string, std::string> set_help() {
  return {{"firewall", "Firewall"}, {"detect", "Detect"},     {"undo", "Undo"},
          {"map", "Map"},           {"port", "Port"},         {"show", "Show"},
          {"all", "All"},           {"proto", "Application"}, {"other", "Other name"},
          {"name", "Name"},         {"number", "Port number"}};
}

std::vector<CommandSpec> set_specs() {
  return {
      {"detect", {V::kSystem}, "firewall detect <proto:keyword(app)>"},
      {"undo.detect", {V::kSystem}, "undo firewall detect <proto:keyword(app)>"},
      {"map", {V::kSystem}, "map <proto:keyword(app)> port <number:int(1-65535)>"},
      {"show", {V::kSystem}, "show { all | <proto:keyword(app)> }"},
      {"name", {V::kSystem}, "name { <proto:keyword(app)> | <other:string(1-15)> }"},
  };
}

class KeywordSetTest : public ::testing::Test {
 protected:
  KeywordSetTest() : g_(set_specs(), set_help(), app_sets()) {}
  ParseOutcome parse(std::string_view line) {
    return g_.parse(ViewStack{View{}, View{V::kSystem, {}}}, line, false);
  }
  Grammar g_;
};

TEST_F(KeywordSetTest, HelpListsTheValuesWithTheirHelp) {
  ParseOutcome err;
  auto h = g_.help(V::kSystem, "firewall detect ", &err);
  ASSERT_TRUE(h);
  EXPECT_EQ(render_help(*h),
            "  SIP                      SIP help\n"
            "  alpha                    Alpha help\n"
            "  ftp                      FTP help\n"
            "  ftps                     FTPS help\n"
            "  pptp                     PPTP help\n");
  h = g_.help(V::kSystem, "undo fire det ", &err);  // the undo form, abbreviated
  ASSERT_TRUE(h);
  EXPECT_EQ(h->size(), 5u);
  h = g_.help(V::kSystem, "map ", &err);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->size(), 5u);
  // A partial value: the values it can become, whatever its case.
  h = g_.help(V::kSystem, "firewall detect FT", &err);
  ASSERT_TRUE(h);
  EXPECT_EQ(render_help(*h),
            "  ftp                      FTP help\n"
            "  ftps                     FTPS help\n");
  // Values and keywords at one position are listed together; a string parameter first.
  h = g_.help(V::kSystem, "show ", &err);
  ASSERT_TRUE(h);
  ASSERT_EQ(h->size(), 6u);
  EXPECT_EQ((*h)[1].word, "all");  // sorted with the values
  EXPECT_EQ((*h)[1].help, "All");
  h = g_.help(V::kSystem, "name ", &err);
  ASSERT_TRUE(h);
  ASSERT_EQ(h->size(), 6u);
  EXPECT_EQ((*h)[0].word, "STRING<1-15>");
  EXPECT_EQ((*h)[0].help, "Other name");
  h = g_.help(V::kSystem, "firewall detect ftp ", &err);
  ASSERT_TRUE(h);
  EXPECT_EQ(render_help(*h), "  <cr>\n");
}

TEST_F(KeywordSetTest, HelpErrorsPointAtTheValue) {
  ParseOutcome err;
  EXPECT_FALSE(g_.help(V::kSystem, "firewall detect gopher", &err));  // being typed
  EXPECT_EQ(err.error, ErrorKind::kWrongParameter);
  EXPECT_EQ(err.error_column, 16u);
  err = {};
  EXPECT_FALSE(g_.help(V::kSystem, "map gopher ", &err));
  EXPECT_EQ(err.error, ErrorKind::kWrongParameter);
  EXPECT_EQ(err.error_column, 4u);
  err = {};
  EXPECT_FALSE(g_.help(V::kSystem, "firewall detect ft ", &err));
  EXPECT_EQ(err.error, ErrorKind::kAmbiguous);
  EXPECT_EQ(err.error_column, 16u);
}

TEST_F(KeywordSetTest, Completion) {
  EXPECT_EQ(g_.complete(V::kSystem, "firewall detect f"),
            (std::vector<std::string>{"ftp", "ftps"}));
  EXPECT_EQ(g_.complete(V::kSystem, "fire det P"), (std::vector<std::string>{"pptp"}));
  EXPECT_EQ(g_.complete(V::kSystem, "firewall detect s"), (std::vector<std::string>{"SIP"}));
  EXPECT_EQ(g_.complete(V::kSystem, "firewall detect "),
            (std::vector<std::string>{"SIP", "alpha", "ftp", "ftps", "pptp"}));
  EXPECT_EQ(g_.complete(V::kSystem, "show a"), (std::vector<std::string>{"all", "alpha"}));
  EXPECT_TRUE(g_.complete(V::kSystem, "firewall detect x").empty());
  EXPECT_TRUE(g_.complete(V::kSystem, "firewall detect ftp ").empty());
}

TEST_F(KeywordSetTest, ValuesAbbreviateLikeKeywords) {
  struct Case {
    const char* line;
    const char* id;
    const char* value;  // the canonical value of `proto`
    const char* canonical;
  } cases[] = {
      {"firewall detect pptp", "detect", "pptp", "firewall detect pptp"},
      {"fire det pp", "detect", "pptp", "firewall detect pptp"},
      {"firewall detect ftp", "detect", "ftp", "firewall detect ftp"},  // exact beats ftps
      {"firewall detect FTPS", "detect", "ftps", "firewall detect ftps"},
      {"firewall detect sip", "detect", "SIP", "firewall detect SIP"},  // as the set spells it
      {"undo fire det a", "undo.detect", "alpha", "undo firewall detect alpha"},
      {"map ftps port 990", "map", "ftps", "map ftps port 990"},
      {"show alp", "show", "alpha", "show alpha"},
      {"name pp", "name", "pptp", "name pptp"},  // a unique prefix is the value, not a string
  };
  for (const auto& c : cases) {
    auto po = parse(c.line);
    ASSERT_TRUE(po.match) << c.line;
    EXPECT_EQ(po.match->spec->id, c.id) << c.line;
    EXPECT_EQ(po.match->param("proto"), c.value) << c.line;
    EXPECT_EQ(po.match->canonical, c.canonical) << c.line;
    EXPECT_FALSE(po.match->has(c.value)) << c.line;  // a parameter, not a keyword
  }
  auto po = parse("fire det pp");
  ASSERT_TRUE(po.match);
  ASSERT_TRUE(po.match->token("proto"));
  EXPECT_EQ(po.match->token("proto")->column, 9u);
  // The keyword of the same position keeps working; other words go to the string parameter.
  po = parse("show all");
  ASSERT_TRUE(po.match);
  EXPECT_TRUE(po.match->has("all"));
  EXPECT_EQ(po.match->param("proto"), std::nullopt);
  po = parse("name xyz");
  ASSERT_TRUE(po.match);
  EXPECT_EQ(po.match->param("other"), "xyz");
  EXPECT_EQ(po.match->param("proto"), std::nullopt);
}

TEST_F(KeywordSetTest, WrongAndAmbiguousValuesWithTheirColumn) {
  struct Case {
    const char* line;
    ErrorKind err;
    size_t col;
  } cases[] = {
      {"firewall detect gopher", ErrorKind::kWrongParameter, 16},
      {"firewall detect ftpx", ErrorKind::kWrongParameter, 16},
      {"fire   det  gopher", ErrorKind::kWrongParameter, 12},
      {"undo firewall detect x", ErrorKind::kWrongParameter, 21},
      {"map gopher port 21", ErrorKind::kWrongParameter, 4},
      {"firewall detect ft", ErrorKind::kAmbiguous, 16},  // ftp, ftps
      {"show al", ErrorKind::kAmbiguous, 5},              // the keyword all, the value alpha
      {"firewall detect", ErrorKind::kIncomplete, 15},
      {"firewall detect ftp ftp", ErrorKind::kTooMany, 20},
      {"map ftp port 0", ErrorKind::kWrongParameter, 13},
  };
  for (const auto& c : cases) {
    auto po = parse(c.line);
    EXPECT_FALSE(po.match) << c.line;
    EXPECT_EQ(po.error, c.err) << c.line;
    EXPECT_EQ(po.error_column, c.col) << c.line;
  }
}

TEST(KeywordSetBuild, EmptySetAcceptsNothing) {
  Grammar g(set_specs(), set_help(), {{"app", {}}});
  auto po = g.parse(ViewStack{View{}, View{V::kSystem, {}}}, "firewall detect ftp", false);
  EXPECT_EQ(po.error, ErrorKind::kWrongParameter);
  EXPECT_EQ(po.error_column, 16u);
  ParseOutcome err;
  auto h = g.help(V::kSystem, "firewall detect ", &err);
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->empty());
  EXPECT_TRUE(g.complete(V::kSystem, "firewall detect ").empty());
  // The rest of the command set works.
  EXPECT_TRUE(g.parse(ViewStack{View{}, View{V::kSystem, {}}}, "show all", false).match);
}

TEST(KeywordSetBuild, RejectsMissingSetsAndBadValues) {
  auto refused = [](const KeywordSets& sets, const char* needle) {
    try {
      Grammar g(set_specs(), set_help(), sets);
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      return true;
    }
    return false;
  };
  EXPECT_FALSE(refused(app_sets(), ""));
  EXPECT_TRUE(refused({}, "firewall detect <proto:keyword(app)>"));  // names the spec
  EXPECT_TRUE(refused({{"apps", {{"ftp", "x"}}}}, "keyword set 'app' not given"));
  EXPECT_TRUE(refused({{"app", {{"", "x"}}}}, "is not a word"));
  EXPECT_TRUE(refused({{"app", {{"a b", "x"}}}}, "value 'a b' is not a word"));
  EXPECT_TRUE(refused({{"app", {{"a?", "x"}}}}, "is not a word"));
  EXPECT_TRUE(refused({{"app", {{"ftp", "x"}, {"FTP", "y"}}}}, "value 'FTP' is there twice"));
  // The set name is written whole, in parentheses.
  auto help = set_help();
  for (const char* syntax : {"show <proto:keyword>", "show <proto:keyword()>",
                             "show <proto:keyword(app>", "show <proto:keyword(ap)>"}) {
    EXPECT_THROW(Grammar({{"x", {V::kSystem}, syntax}}, help, app_sets()), std::invalid_argument)
        << syntax;
  }
  EXPECT_THROW(Grammar({{"x", {V::kSystem}, "show <nohelp:keyword(app)>"}}, help, app_sets()),
               std::invalid_argument);
}

TEST_F(KeywordSetTest, RandomLinesNeverCrash) {
  const char* vocab[] = {"firewall", "detect", "f",  "ft",   "ftp", "FTPS", "undo",
                         "map",      "port",   "21", "show", "al",  "a",    "name",
                         "?",        "x",      "",   "  ",   "sip", "pptp", "\xff"};
  std::mt19937 rng(11);
  const KeywordSets sets = app_sets();
  const auto& values = sets.at("app");
  for (int i = 0; i < 3000; ++i) {
    std::string line;
    int n = static_cast<int>(rng() % 6);
    for (int k = 0; k < n; ++k) {
      line += vocab[rng() % (sizeof vocab / sizeof *vocab)];
      if (rng() % 4) line += ' ';
    }
    auto po = parse(line);
    if (!po.match && po.error != ErrorKind::kNone && po.error != ErrorKind::kIncomplete) {
      EXPECT_LT(po.error_column, line.size()) << line;
    }
    if (auto v = po.match ? po.match->param("proto") : std::nullopt) {
      EXPECT_TRUE(std::any_of(values.begin(), values.end(), [&](const auto& x) {
        return x.first == *v;
      })) << line;  // always a value as the set spells it
    }
    ParseOutcome err;
    (void)g_.help(V::kSystem, line, &err);
    for (const auto& c : g_.complete(V::kSystem, line)) EXPECT_FALSE(c.empty()) << line;
  }
}

TEST(GrammarBuild, RejectsMalformedSpecs) {
  auto help = test_help();
  auto bad = [&](const char* syntax) {
    try {
      Grammar g({{"the.id", {V::kSystem}, syntax}}, help);
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("the.id"), std::string::npos) << e.what();
      return true;
    }
    return false;
  };
  EXPECT_FALSE(bad("display version"));
  EXPECT_TRUE(bad("display [ version"));
  EXPECT_TRUE(bad("display version ]"));
  EXPECT_TRUE(bad("display { version | }"));
  EXPECT_TRUE(bad("display { version ]"));
  EXPECT_TRUE(bad("display <port:int>"));
  EXPECT_TRUE(bad("display <port:int(5-1)>"));
  EXPECT_TRUE(bad("display <port:float>"));
  EXPECT_TRUE(bad("display <port>"));
  EXPECT_TRUE(bad("display <port:int(1-10)"));
  EXPECT_TRUE(bad("display undocumented"));     // keyword without help
  EXPECT_TRUE(bad("display <nohelp:string>"));  // parameter without help
  EXPECT_TRUE(bad(""));
  EXPECT_TRUE(bad("[ display ]"));  // could match an empty line
  EXPECT_FALSE(bad("display <desc:text>"));
  EXPECT_TRUE(bad("display <desc:text> version"));  // text must end the command
  EXPECT_TRUE(bad("display [ <desc:text> ] version"));
  EXPECT_TRUE(bad("display [ <desc:text> | version ]*"));
  EXPECT_TRUE(bad("display <desc:text(0-5)>"));
  EXPECT_THROW(Grammar({{"noview", {}, "display"}}, help), std::invalid_argument);
  help["empty"] = "";
  EXPECT_TRUE(bad("display empty"));
}

TEST(GrammarBuild, EmptyViewIsUnrecognized) {
  Grammar g({{"x", {V::kSystem}, "quit"}}, test_help());
  auto po = g.parse(user_view(), "quit", true);
  EXPECT_EQ(po.error, ErrorKind::kUnrecognized);
  EXPECT_EQ(po.error_column, 0u);
  EXPECT_EQ(g.specs().size(), 1u);
}

TEST(RenderError, ExactText) {
  ParseOutcome po;
  po.error = ErrorKind::kUnrecognized;
  po.error_column = 4;
  EXPECT_EQ(render_error(po, 4), "        ^\nError: Unrecognized command found at '^' position.\n");
  po.error = ErrorKind::kIncomplete;
  po.error_column = 0;
  EXPECT_EQ(render_error(po, 0), "^\nError: Incomplete command found at '^' position.\n");
  EXPECT_EQ(error_message(ErrorKind::kAmbiguous),
            "Error: Ambiguous command found at '^' position.");
  EXPECT_EQ(error_message(ErrorKind::kWrongParameter),
            "Error: Wrong parameter found at '^' position.");
  EXPECT_EQ(error_message(ErrorKind::kTooMany),
            "Error: Too many parameters found at '^' position.");
  EXPECT_EQ(render_error(ParseOutcome{}, 4), "");
}

TEST(RenderHelp, ExactText) {
  EXPECT_EQ(render_help({{"firewall", "Firewall"}, {"security-policy", "Security policy"}}),
            "  firewall                 Firewall\n  security-policy          Security policy\n");
  // Long words push the column out for every line.
  EXPECT_EQ(render_help({{"a", "A"}, {"abcdefghijabcdefghijabcdef", "Long"}}),
            "  a                           A\n  abcdefghijabcdefghijabcdef  Long\n");
  EXPECT_EQ(render_help({}), "");
}

}  // namespace
}  // namespace fw::cli
