#pragma once
// Text helpers shared by the SIP and SDP parsers: ranges of byte offsets into
// one message, lines, whitespace (SP, HT and, inside a folded header, CR LF),
// quoted strings, comma lists, ;parameters, host[:port]. Internal to aspf/sip.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aspf/sip/sip_parser.h"

namespace fw::aspf::sip {

struct Range {
  size_t b = 0, e = 0;  // [b, e)
  bool empty() const { return e <= b; }
  size_t size() const { return e > b ? e - b : 0; }
};

inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
inline bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
std::string lowered(std::string_view s);
std::string uppered(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);
// 1+ decimal digits only (no sign, no blank), at most `max`.
std::optional<uint64_t> parse_uint(std::string_view s, uint64_t max);
inline uint32_t clamp32(uint64_t v) {
  return v > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(v);
}

class Text {
 public:
  explicit Text(std::span<const uint8_t> bytes)
      : s_(reinterpret_cast<const char*>(bytes.data()), bytes.size()) {}
  size_t size() const { return s_.size(); }
  char at(size_t i) const { return i < s_.size() ? s_[i] : '\0'; }
  std::string_view view(Range r) const {
    return r.empty() ? std::string_view() : s_.substr(r.b, r.e - r.b);
  }
  // The line at pos (without CR LF or LF); pos moves past its end. nullopt when
  // no LF follows (or, with last_ok, when pos is at the end).
  std::optional<Range> line(size_t& pos, bool last_ok = false) const;
  size_t find(Range r, char c) const;           // r.e when absent
  size_t find_unquoted(Range r, char c) const;  // skipping "quoted strings"
  size_t find_str(Range r, std::string_view needle) const;
  Range trim(Range r) const;
  size_t skip_ws(size_t p, size_t e) const;
  Range token(size_t p, size_t e) const;  // RFC 3261 token characters from p
  std::vector<Range> words(Range r) const;
  // Comma-separated items outside quotes and <>; at least one item.
  std::vector<Range> split_list(Range r) const;
  // ";name[=value]" parameters (value unquoted) from r.
  std::vector<std::pair<Range, Range>> params(Range r) const;
  // host ["[" IPv6 "]"] [":" port] from p; with ws, blanks may surround the
  // colon (Via sent-by, RFC 3261 25.1 COLON).
  bool hostport(size_t p, size_t e, bool ws, HostPort& out) const;

 private:
  std::string_view s_;
};

bool is_token_char(char c);

}  // namespace fw::aspf::sip
