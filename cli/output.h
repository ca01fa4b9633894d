#pragma once
// VRP output on the screen, shared by fwd (which applies a display command's pipe to its
// output and formats `display clock` / `compare configuration`) and fwcli (which pages long
// output and answers its own displays): pure text functions, no I/O.
#include <cstddef>
#include <ctime>
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
