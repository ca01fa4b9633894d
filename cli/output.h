#pragma once
// VRP output on the screen, shared by fwd (which applies a display command's pipe to its
// output and formats `display clock` / `compare configuration`) and fwcli (which pages long
// output and answers its own displays): pure text functions, no I/O.
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <deque>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "cli/grammar.h"

namespace fw::cli {

// The output of a display command through its pipe: `include` / `exclude` keep the lines the
// regular expression matches (std::regex_search, ECMAScript) / does not match; `begin` keeps
// everything from the first matching line on; `count` replaces the output by
// "Total lines: N." (N = the lines of the output). A regular expression that does not compile
// (the grammar refuses it first) keeps no line.
std::string apply_filter(const OutputFilter& f, std::string_view text);

// The same pipe applied to output that arrives in pieces split anywhere (even inside a line):
// feed() returns the whole lines that pass so far, finish() the rest (a last line without
// '\n'; count's total). feed(a) + feed(b) + finish() == apply_filter(f, a + b). Without a
// filter everything passes. `| count` keeps no text: add_lines() counts lines a display did
// not render at all.
class StreamFilter {
 public:
  explicit StreamFilter(std::optional<OutputFilter> f);
  std::string feed(std::string_view piece);
  void add_lines(uint64_t n) { lines_ += n; }
  std::string finish();
  bool counts_only() const { return f_ && f_->kind == OutputFilter::Kind::kCount; }

 private:
  bool keep(std::string_view line);
  std::optional<OutputFilter> f_;
  std::regex re_;
  bool bad_regex_ = false;
  bool begun_ = false;
  uint64_t lines_ = 0;
  std::string partial_;  // the start of a line whose '\n' has not arrived
};

// `---- More ----` paging of the interactive shell. The screen shows `page_lines` lines, then
// the More prompt; at the prompt space shows the next page, Enter (CR or LF) the next line,
// q / Q / Ctrl-C stops (the rest is dropped); other keys are ignored.
class Pager {
 public:
  static constexpr std::string_view kPrompt = "  ---- More ----";
  // page_lines 0: everything at once (`screen-length 0 temporary`).
  Pager(std::string_view text, size_t page_lines);
  std::string first();         // the first page (whole lines, each with its '\n')
  std::string next(char key);  // after a key at the More prompt: what to print next
  bool done() const { return pos_ >= lines_.size(); }

 private:
  std::string take(size_t n);
  std::vector<std::string_view> lines_;
  size_t pos_ = 0;
  size_t page_;
};

// The same paging for output that arrives in pieces (fwcli's streamed displays): push() takes
// a piece and returns the whole lines to print before the More prompt is due; at_prompt() says
// it is due (a page is full and lines wait); key() answers a key at it as Pager::next does (q
// stops: stopped(), the rest is dropped); finish() returns what is left at the end of the
// output when no prompt is due (a last line without '\n').
class StreamPager {
 public:
  explicit StreamPager(size_t page_lines) : page_(page_lines), budget_(page_lines) {}
  std::string push(std::string_view text);
  bool at_prompt() const { return !stopped_ && page_ != 0 && budget_ == 0 && !queue_.empty(); }
  std::string key(char k);
  bool stopped() const { return stopped_; }
  std::string finish();

 private:
  std::string drain();
  size_t page_, budget_;
  bool stopped_ = false;
  std::deque<std::string> queue_;  // whole lines (with '\n') not yet shown
  std::string partial_;
};

// `display clock`, VRP style:
//   2026-11-29 05:40:00
//   Sunday
//   Time Zone(UTC) : UTC+00:00
// `local` is the local time, `gmtoff` its offset from UTC in seconds, `zone` its name.
std::string format_clock(const std::tm& local, long gmtoff, std::string_view zone);

// `compare configuration`: the running configuration against the saved one, VRP style. Equal:
// "The current configuration is the same as the next startup configuration file."; else a
// warning and, for each run of differing lines, "====== Current configuration line N ======"
// with the running configuration's lines, then "====== Configuration file line M ======" with
// the saved configuration's lines (line numbers 1-based, where the run starts).
std::string compare_configuration(std::string_view current, std::string_view saved);

// The lines of a text (a last line without '\n' counts; no empty line after a final '\n').
std::vector<std::string_view> split_lines(std::string_view text);

}  // namespace fw::cli
