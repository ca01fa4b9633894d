// Output pipes (grammar side and filter), More paging, display clock and compare configuration.
#include "cli/output.h"

#include <gtest/gtest.h>

#include "cli/commands.h"

namespace fw::cli {
namespace {

using V = ViewKind;

class PipeTest : public ::testing::Test {
 protected:
  PipeTest() : g_(firewall_grammar({{std::string(kAlgSet), {{"ftp", "FTP"}}}})) {}
  ParseOutcome parse(const std::string& line, V v = V::kUser) {
    ViewStack vs = user_view();
    if (v != V::kUser) vs.push_back(View{v, {}});
    return g_->parse(vs, line, true);
  }
  std::unique_ptr<Grammar> g_;
};

TEST_F(PipeTest, EveryDisplayTakesAPipe) {
  for (const auto& spec : g_->specs())
    EXPECT_EQ(is_display(spec), spec.syntax.rfind("display ", 0) == 0);
  auto po = parse("dis cur | inc sysname");
  ASSERT_TRUE(po.match);
  EXPECT_EQ(po.match->spec->id, "display.current");
  ASSERT_TRUE(po.match->filter);
  EXPECT_EQ(po.match->filter->kind, OutputFilter::Kind::kInclude);
  EXPECT_EQ(po.match->filter->regex, "sysname");
  EXPECT_EQ(po.match->canonical, "display current-configuration | include sysname");
  po = parse("display firewall session table | count");
  ASSERT_TRUE(po.match);
  EXPECT_EQ(po.match->filter->kind, OutputFilter::Kind::kCount);
  EXPECT_EQ(po.match->canonical, "display firewall session table | count");
  // The regular expression is the rest of the line, blanks and bars included.
  po = parse("display zone | e  a b|c ");
  ASSERT_TRUE(po.match);
  EXPECT_EQ(po.match->filter->kind, OutputFilter::Kind::kExclude);
  EXPECT_EQ(po.match->filter->regex, "a b|c");
  po = parse("display zone trust | begin ^#");
  ASSERT_TRUE(po.match);
  EXPECT_EQ(po.match->param("zone-name"), "trust");
  EXPECT_EQ(po.match->filter->kind, OutputFilter::Kind::kBegin);
  // A display command typed in a lower view (search_parents) takes its pipe too.
  po = parse("display this | include rule", V::kSystem);
  ASSERT_TRUE(po.match);
  EXPECT_TRUE(po.match->filter);
  // Without a pipe there is no filter.
  po = parse("display zone");
  ASSERT_TRUE(po.match);
  EXPECT_FALSE(po.match->filter);
}

TEST_F(PipeTest, PipeErrors) {
  // A bad regular expression: Wrong parameter under it.
  auto po = parse("display zone | include (ab");
  EXPECT_FALSE(po.match);
  EXPECT_EQ(po.error, ErrorKind::kWrongParameter);
  EXPECT_EQ(po.error_column, 23u);
  po = parse("display zone | include [a-");
  EXPECT_EQ(po.error, ErrorKind::kWrongParameter);
  // Nothing after the bar, or a pipe without its expression: Incomplete at the end.
  po = parse("display zone |");
  EXPECT_EQ(po.error, ErrorKind::kIncomplete);
  EXPECT_EQ(po.error_column, 14u);
  po = parse("display zone | include");
  EXPECT_EQ(po.error, ErrorKind::kIncomplete);
  // Not a pipe word.
  po = parse("display zone | grep x");
  EXPECT_EQ(po.error, ErrorKind::kUnrecognized);
  EXPECT_EQ(po.error_column, 15u);
  po = parse("display zone | count x");
  EXPECT_EQ(po.error, ErrorKind::kTooMany);
  EXPECT_EQ(po.error_column, 21u);
  // After a command that is not a display the bar is an ordinary token.
  po = parse("system-view | count");
  EXPECT_FALSE(po.match);
  EXPECT_EQ(po.error, ErrorKind::kTooMany);
  EXPECT_EQ(po.error_column, 12u);
  po = parse("save | count");
  EXPECT_EQ(po.error, ErrorKind::kUnrecognized);
  // ... which a text parameter takes.
  ViewStack rule = {View{V::kUser, {}}, View{V::kSystem, {}}, View{V::kSecurityPolicy, {}},
                    View{V::kSecurityRule, {"r1"}}};
  po = g_->parse(rule, "description a | include b", true);
  ASSERT_TRUE(po.match);
  EXPECT_EQ(po.match->spec->id, "rule.description");
  EXPECT_EQ(po.match->param("text"), "a | include b");
  EXPECT_FALSE(po.match->filter);
  // A bar before the display command is complete is not a pipe.
  po = parse("display | count");
  EXPECT_FALSE(po.match);
}

TEST_F(PipeTest, HelpAndCompletion) {
  ParseOutcome err;
  auto h = g_->help(V::kUser, "display zone | ", &err);
  ASSERT_TRUE(h);
  EXPECT_EQ(render_help(*h),
            "  begin                    Begin with the line that matches\n"
            "  count                    Count the number of lines\n"
            "  exclude                  Match the lines that do not match\n"
            "  include                  Match the lines that match\n");
  h = g_->help(V::kUser, "display zone |", &err);
  ASSERT_TRUE(h);
  EXPECT_EQ(render_help(*h), "  |                        Matching output\n");
  h = g_->help(V::kUser, "display zone | in", &err);
  ASSERT_TRUE(h);
  EXPECT_EQ(render_help(*h), "  include                  Match the lines that match\n");
  h = g_->help(V::kUser, "display zone | include ", &err);
  ASSERT_TRUE(h);
  EXPECT_EQ(render_help(*h), "  STRING<1-255>            Regular expression\n");
  h = g_->help(V::kUser, "display zone | count ", &err);
  ASSERT_TRUE(h);
  EXPECT_EQ(render_help(*h), "  <cr>\n");
  h = g_->help(V::kUser, "display zone | foo ", &err);
  EXPECT_FALSE(h);
  EXPECT_EQ(err.error, ErrorKind::kUnrecognized);
  EXPECT_EQ(err.error_column, 15u);
  // Not after a command that is not a display.
  h = g_->help(V::kUser, "system-view ", &err);
  ASSERT_TRUE(h);
  EXPECT_EQ(render_help(*h), "  <cr>\n");
  EXPECT_EQ(g_->complete(V::kUser, "display zone | e"), std::vector<std::string>{"exclude"});
  EXPECT_EQ(g_->complete(V::kUser, "display zone | ").size(), 4u);
}

TEST(OutputFilter, IncludeExcludeBeginCount) {
  const std::string text = "#\n sysname FW\n#\nfirewall zone trust\n set priority 85\n#\nreturn\n";
  using K = OutputFilter::Kind;
  EXPECT_EQ(apply_filter({K::kInclude, "zone|sysname"}, text),
            " sysname FW\nfirewall zone trust\n");
  EXPECT_EQ(apply_filter({K::kExclude, "^#"}, text),
            " sysname FW\nfirewall zone trust\n set priority 85\nreturn\n");
  EXPECT_EQ(apply_filter({K::kBegin, "^firewall"}, text),
            "firewall zone trust\n set priority 85\n#\nreturn\n");
  EXPECT_EQ(apply_filter({K::kBegin, "nowhere"}, text), "");
  EXPECT_EQ(apply_filter({K::kCount, ""}, text), "Total lines: 7.\n");
  EXPECT_EQ(apply_filter({K::kCount, ""}, ""), "Total lines: 0.\n");
  EXPECT_EQ(apply_filter({K::kCount, ""}, "a\nb"), "Total lines: 2.\n");  // no final newline
  EXPECT_EQ(apply_filter({K::kInclude, "b"}, "a\nb"), "b\n");
  EXPECT_EQ(apply_filter({K::kInclude, "(bad"}, text), "");  // the grammar refuses it first
}

TEST(Pager, PagesLinesAndStop) {
  std::string text;
  for (int i = 1; i <= 10; ++i) text += "l" + std::to_string(i) + "\n";
  Pager p(text, 4);
  EXPECT_EQ(p.first(), "l1\nl2\nl3\nl4\n");
  EXPECT_FALSE(p.done());
  EXPECT_EQ(p.next('x'), "");  // ignored
  EXPECT_FALSE(p.done());
  EXPECT_EQ(p.next('\r'), "l5\n");
  EXPECT_EQ(p.next('\n'), "l6\n");
  EXPECT_EQ(p.next(' '), "l7\nl8\nl9\nl10\n");
  EXPECT_TRUE(p.done());
  Pager q(text, 4);
  q.first();
  EXPECT_EQ(q.next('q'), "");
  EXPECT_TRUE(q.done());
  Pager all(text, 0);  // screen-length 0
  EXPECT_EQ(all.first(), text);
  EXPECT_TRUE(all.done());
  Pager fits("a\nb\n", 4);
  EXPECT_EQ(fits.first(), "a\nb\n");
  EXPECT_TRUE(fits.done());
  Pager c(text, 3);
  c.first();
  EXPECT_EQ(c.next('\x03'), "");  // Ctrl-C
  EXPECT_TRUE(c.done());
}

TEST(Clock, VrpFormat) {
  std::tm t{};
  t.tm_year = 2026 - 1900;
  t.tm_mon = 10;
  t.tm_mday = 29;
  t.tm_hour = 5;
  t.tm_min = 40;
  t.tm_sec = 3;
  t.tm_wday = 0;
  EXPECT_EQ(format_clock(t, 0, "UTC"), "2026-11-29 05:40:03\nSunday\nTime Zone(UTC) : UTC+00:00\n");
  t.tm_wday = 5;
  EXPECT_EQ(format_clock(t, 8 * 3600 + 1800, "X"),
            "2026-11-29 05:40:03\nFriday\nTime Zone(X) : UTC+08:30\n");
  EXPECT_EQ(format_clock(t, -5 * 3600, ""),
            "2026-11-29 05:40:03\nFriday\nTime Zone(DefaultZoneName) : UTC-05:00\n");
}

TEST(Compare, SameAndDifferent) {
  const std::string saved = "#\n sysname FW\n#\nfirewall zone trust\n set priority 85\n#\nreturn\n";
  EXPECT_EQ(compare_configuration(saved, saved),
            "The current configuration is the same as the next startup configuration file.\n");
  std::string cur =
      "#\n sysname FW2\n#\nfirewall zone trust\n set priority 85\n add interface in0\n#\nreturn\n";
  EXPECT_EQ(compare_configuration(cur, saved),
            "Warning: The current configuration is not the same as the next startup configuration "
            "file. There may be several differences, and the following are some of them.\n"
            "====== Current configuration line 2 ======\n"
            " sysname FW2\n"
            "====== Configuration file line 2 ======\n"
            " sysname FW\n"
            "====== Current configuration line 6 ======\n"
            " add interface in0\n"
            "====== Configuration file line 6 ======\n");
  // A line only in the saved configuration.
  EXPECT_EQ(compare_configuration("a\nc\n", "a\nb\nc\n"),
            "Warning: The current configuration is not the same as the next startup configuration "
            "file. There may be several differences, and the following are some of them.\n"
            "====== Current configuration line 2 ======\n"
            "====== Configuration file line 2 ======\n"
            "b\n");
}

}  // namespace
}  // namespace fw::cli

namespace fw::cli {
namespace {

// "stream" area: the pipe applied to pieces split anywhere gives what apply_filter gives.
TEST(StreamFilterTest, AnySplitGivesTheWholeTextsResult) {
  const std::string text = " head\nudp a 1\ntcp b 2\nudp c 3\n last without newline";
  const std::vector<OutputFilter> filters = {
      {OutputFilter::Kind::kInclude, "udp"},       {OutputFilter::Kind::kExclude, "udp"},
      {OutputFilter::Kind::kBegin, "tcp"},         {OutputFilter::Kind::kCount, ""},
      {OutputFilter::Kind::kInclude, "(unclosed"},
  };
  for (const auto& f : filters) {
    const std::string want = apply_filter(f, text);
    for (size_t cut = 0; cut <= text.size(); ++cut) {
      for (size_t cut2 = cut; cut2 <= text.size(); cut2 += 7) {
        StreamFilter s(f);
        std::string got = s.feed(text.substr(0, cut));
        got += s.feed(text.substr(cut, cut2 - cut));
        got += s.feed(text.substr(cut2));
        got += s.finish();
        ASSERT_EQ(got, want) << f.regex << " cut " << cut << "," << cut2;
      }
    }
  }
  StreamFilter none(std::nullopt);
  EXPECT_EQ(none.feed("a\nb"), "a\nb");
  EXPECT_EQ(none.finish(), "");
  StreamFilter count(OutputFilter{OutputFilter::Kind::kCount, ""});
  EXPECT_EQ(count.feed("header\n"), "");
  count.add_lines(1'000'000);  // lines a display counted without rendering
  EXPECT_EQ(count.finish(), "Total lines: 1000001.\n");
}

// Streamed paging shows what Pager shows for the same keys, whatever the pieces.
TEST(StreamPagerTest, SameScreensAsPagerWhateverThePieces) {
  std::string text;
  for (int i = 0; i < 25; ++i) text += "line " + std::to_string(i) + "\n";
  const std::string keys = " \n x q";
  for (size_t piece : {1, 3, 10, 1000}) {
    for (size_t nkeys = 0; nkeys <= keys.size(); ++nkeys) {
      Pager p(text, 10);
      std::string want = p.first();
      for (size_t k = 0; k < nkeys && !p.done(); ++k) want += p.next(keys[k]);
      StreamPager s(10);
      std::string got;
      size_t k = 0;
      for (size_t pos = 0; pos < text.size() && !s.stopped(); pos += piece) {
        got += s.push(text.substr(pos, piece));
        while (s.at_prompt() && k < nkeys) got += s.key(keys[k++]);
        if (s.at_prompt()) break;  // out of keys: the reader waits at More
      }
      ASSERT_EQ(got, want) << "piece " << piece << " keys " << nkeys;
    }
  }
  StreamPager all(0);  // screen-length 0: no prompt ever
  EXPECT_EQ(all.push("a\nb\nc"), "a\nb\n");
  EXPECT_FALSE(all.at_prompt());
  EXPECT_EQ(all.finish(), "c\n");
}

}  // namespace
}  // namespace fw::cli
