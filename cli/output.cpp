#include "cli/output.h"

#include <algorithm>
#include <cstdio>
#include <regex>

namespace fw::cli {

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

std::string apply_filter(const OutputFilter& f, std::string_view text) {
  auto lines = split_lines(text);
  if (f.kind == OutputFilter::Kind::kCount)
    return "Total lines: " + std::to_string(lines.size()) + ".\n";
  std::regex re;
  try {
    re.assign(f.regex);
  } catch (const std::regex_error&) {
    return "";
  }
  std::string out;
  bool begun = false;
  for (auto l : lines) {
    bool m = (f.kind == OutputFilter::Kind::kBegin && begun) ||
             std::regex_search(l.begin(), l.end(), re);
    begun |= m;
    if (m != (f.kind == OutputFilter::Kind::kExclude)) out.append(l).push_back('\n');
  }
  return out;
}

StreamFilter::StreamFilter(std::optional<OutputFilter> f) : f_(std::move(f)) {
  if (!f_ || f_->kind == OutputFilter::Kind::kCount) return;
  try {
    re_.assign(f_->regex);
  } catch (const std::regex_error&) {
    bad_regex_ = true;
  }
}

bool StreamFilter::keep(std::string_view l) {
  if (bad_regex_) return false;
  bool m = (f_->kind == OutputFilter::Kind::kBegin && begun_) ||
           std::regex_search(l.begin(), l.end(), re_);
  begun_ |= m;
  return m != (f_->kind == OutputFilter::Kind::kExclude);
}

std::string StreamFilter::feed(std::string_view piece) {
  if (!f_) return std::string(piece);
  std::string out;
  size_t start = 0;
  while (start < piece.size()) {
    size_t nl = piece.find('\n', start);
    if (nl == std::string_view::npos) {
      partial_.append(piece.substr(start));
      break;
    }
    std::string_view line = piece.substr(start, nl - start);
    if (!partial_.empty()) {
      partial_.append(line);
      line = partial_;
    }
    ++lines_;
    if (!counts_only() && keep(line)) out.append(line).push_back('\n');
    partial_.clear();
    start = nl + 1;
  }
  return out;
}

std::string StreamFilter::finish() {
  std::string out;
  if (!partial_.empty()) {
    ++lines_;
    if (f_ && !counts_only() && keep(partial_)) out = partial_ + "\n";
    if (!f_) out = partial_;
    partial_.clear();
  }
  if (counts_only()) return "Total lines: " + std::to_string(lines_) + ".\n";
  return out;
}

std::string StreamPager::drain() {
  std::string out;
  while (!queue_.empty() && (page_ == 0 || budget_ > 0)) {
    out += queue_.front();
    queue_.pop_front();
    if (page_ != 0) --budget_;
  }
  return out;
}

std::string StreamPager::push(std::string_view text) {
  if (stopped_) return "";
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      partial_.append(text.substr(start));
      break;
    }
    partial_.append(text.substr(start, nl + 1 - start));
    queue_.push_back(std::move(partial_));
    partial_.clear();
    start = nl + 1;
  }
  return drain();
}

std::string StreamPager::key(char k) {
  switch (k) {
    case ' ':
      budget_ = page_;
      return drain();
    case '\r':
    case '\n':
      budget_ = 1;
      return drain();
    case 'q':
    case 'Q':
    case '\x03':  // Ctrl-C
      stopped_ = true;
      queue_.clear();
      partial_.clear();
      return "";
    default:
      return "";
  }
}

std::string StreamPager::finish() {
  if (stopped_ || !partial_.empty()) {
    if (!stopped_) queue_.push_back(std::move(partial_) + "\n");
    partial_.clear();
  }
  return drain();
}

Pager::Pager(std::string_view text, size_t page_lines)
    : lines_(split_lines(text)), page_(page_lines) {}

std::string Pager::take(size_t n) {
  std::string out;
  for (size_t end = std::min(lines_.size(), pos_ + n); pos_ < end; ++pos_)
    out.append(lines_[pos_]).push_back('\n');
  return out;
}

std::string Pager::first() { return take(page_ == 0 ? lines_.size() : page_); }

std::string Pager::next(char key) {
  switch (key) {
    case ' ':
      return take(page_ == 0 ? lines_.size() : page_);
    case '\r':
    case '\n':
      return take(1);
    case 'q':
    case 'Q':
    case '\x03':  // Ctrl-C
      pos_ = lines_.size();
      return "";
    default:
      return "";
  }
}

std::string format_clock(const std::tm& t, long gmtoff, std::string_view zone) {
  static const char* const kDays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                      "Thursday", "Friday", "Saturday"};
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d\n", t.tm_year + 1900, t.tm_mon + 1,
                t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec);
  std::string out = buf;
  out += kDays[((t.tm_wday % 7) + 7) % 7];
  long off = gmtoff < 0 ? -gmtoff : gmtoff;
  std::snprintf(buf, sizeof buf, "UTC%c%02ld:%02ld", gmtoff < 0 ? '-' : '+', off / 3600,
                off % 3600 / 60);
  out +=
      "\nTime Zone(" + std::string(zone.empty() ? "DefaultZoneName" : zone) + ") : " + buf + "\n";
  return out;
}

namespace {

using Lines = std::vector<std::string_view>;

// A run of differing lines: a[a0, a1) in the running configuration, b[b0, b1) in the saved.
struct Hunk {
  size_t a0, a1, b0, b1;
};

// The differing runs between a and b, by a longest common subsequence of lines (the common
// head and tail cut first; a middle too large for the table is one run).
std::vector<Hunk> diff(const Lines& a, const Lines& b) {
  size_t head = 0;
  while (head < a.size() && head < b.size() && a[head] == b[head]) ++head;
  size_t tail = 0;
  while (tail < a.size() - head && tail < b.size() - head &&
         a[a.size() - 1 - tail] == b[b.size() - 1 - tail])
    ++tail;
  const size_t n = a.size() - head - tail, m = b.size() - head - tail;
  if (n == 0 && m == 0) return {};
  if (n * m > 4'000'000) return {Hunk{head, head + n, head, head + m}};
  // lcs[i][j]: common subsequence length of a[head+i..] and b[head+j..].
  std::vector<uint32_t> lcs((n + 1) * (m + 1), 0);
  auto at = [&](size_t i, size_t j) -> uint32_t& { return lcs[i * (m + 1) + j]; };
  for (size_t i = n; i-- > 0;)
    for (size_t j = m; j-- > 0;)
      at(i, j) =
          a[head + i] == b[head + j] ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
  std::vector<Hunk> out;
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[head + i] == b[head + j]) {
      ++i, ++j;
      continue;
    }
    Hunk h{head + i, head + i, head + j, head + j};
    while ((i < n || j < m) && !(i < n && j < m && a[head + i] == b[head + j])) {
      if (j >= m || (i < n && at(i + 1, j) >= at(i, j + 1)))
        ++i;
      else
        ++j;
    }
    h.a1 = head + i;
    h.b1 = head + j;
    out.push_back(h);
  }
  return out;
}

}  // namespace

std::string compare_configuration(std::string_view current, std::string_view saved) {
  const Lines a = split_lines(current), b = split_lines(saved);
  const auto hunks = diff(a, b);
  if (hunks.empty())
    return "The current configuration is the same as the next startup configuration file.\n";
  std::string out =
      "Warning: The current configuration is not the same as the next startup configuration "
      "file. There may be several differences, and the following are some of them.\n";
  for (const auto& h : hunks) {
    out += "====== Current configuration line " + std::to_string(h.a0 + 1) + " ======\n";
    for (size_t i = h.a0; i < h.a1; ++i) out.append(a[i]).push_back('\n');
    out += "====== Configuration file line " + std::to_string(h.b0 + 1) + " ======\n";
    for (size_t i = h.b0; i < h.b1; ++i) out.append(b[i]).push_back('\n');
  }
  return out;
}

}  // namespace fw::cli
