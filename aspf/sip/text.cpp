#include "aspf/sip/text.h"

#include <cctype>

namespace fw::aspf::sip {

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

std::string uppered(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::optional<uint64_t> parse_uint(std::string_view s, uint64_t max) {
  if (s.empty() || s.size() > 19) {
    // 19 digits cannot overflow; longer numbers are only valid with leading zeros.
    size_t z = 0;
    while (z + 1 < s.size() && s[z] == '0') ++z;
    if (s.empty() || s.size() - z > 19) return std::nullopt;
    s.remove_prefix(z);
  }
  uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

bool is_token_char(char c) {
  return is_alnum(c) || std::string_view("-.!%*_+`'~").find(c) != std::string_view::npos;
}

std::optional<Range> Text::line(size_t& pos, bool last_ok) const {
  if (pos >= s_.size()) return std::nullopt;
  size_t nl = s_.find('\n', pos);
  if (nl == std::string_view::npos) {
    if (!last_ok) return std::nullopt;
    Range r{pos, s_.size()};
    if (!r.empty() && s_[r.e - 1] == '\r') --r.e;
    pos = s_.size();
    return r;
  }
  Range r{pos, nl};
  if (r.e > r.b && s_[r.e - 1] == '\r') --r.e;
  pos = nl + 1;
  return r;
}

size_t Text::find(Range r, char c) const {
  for (size_t i = r.b; i < r.e; ++i) {
    if (s_[i] == c) return i;
  }
  return r.e;
}

size_t Text::find_unquoted(Range r, char c) const {
  bool quoted = false;
  for (size_t i = r.b; i < r.e; ++i) {
    char x = s_[i];
    if (quoted) {
      if (x == '\\') {
        ++i;
      } else if (x == '"') {
        quoted = false;
      }
    } else if (x == '"') {
      quoted = true;
    } else if (x == c) {
      return i;
    }
  }
  return r.e;
}

size_t Text::find_str(Range r, std::string_view needle) const {
  if (r.e < r.b || needle.empty() || r.size() < needle.size()) return r.e;
  size_t i = view(r).find(needle);
  return i == std::string_view::npos ? r.e : r.b + i;
}

Range Text::trim(Range r) const {
  while (r.b < r.e && is_ws(s_[r.b])) ++r.b;
  while (r.e > r.b && is_ws(s_[r.e - 1])) --r.e;
  return r;
}

size_t Text::skip_ws(size_t p, size_t e) const {
  while (p < e && is_ws(s_[p])) ++p;
  return p;
}

Range Text::token(size_t p, size_t e) const {
  size_t q = p;
  while (q < e && is_token_char(s_[q])) ++q;
  return {p, q};
}

std::vector<Range> Text::words(Range r) const {
  std::vector<Range> out;
  size_t p = r.b;
  while ((p = skip_ws(p, r.e)) < r.e) {
    size_t q = p;
    while (q < r.e && !is_ws(s_[q])) ++q;
    out.push_back({p, q});
    p = q;
  }
  return out;
}

std::vector<Range> Text::split_list(Range r) const {
  std::vector<Range> out;
  bool quoted = false;
  bool angle = false;
  size_t start = r.b;
  for (size_t i = r.b; i < r.e; ++i) {
    char c = s_[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == '<') {
      angle = true;
    } else if (c == '>') {
      angle = false;
    } else if (c == ',' && !angle) {
      out.push_back({start, i});
      start = i + 1;
    }
  }
  out.push_back({start, r.e});
  return out;
}

std::vector<std::pair<Range, Range>> Text::params(Range r) const {
  std::vector<std::pair<Range, Range>> out;
  size_t p = find_unquoted(r, ';');
  while (p < r.e) {
    size_t next = find_unquoted({p + 1, r.e}, ';');
    Range item{p + 1, next};
    size_t eq = find(item, '=');
    Range name = trim({item.b, eq});
    Range value = eq < item.e ? trim({eq + 1, item.e}) : Range{item.e, item.e};
    if (value.size() >= 2 && s_[value.b] == '"' && s_[value.e - 1] == '"') {
      ++value.b;
      --value.e;
    }
    out.emplace_back(name, value);
    p = next;
  }
  return out;
}

bool Text::hostport(size_t p, size_t e, bool ws, HostPort& out) const {
  size_t q = p;
  if (q < e && s_[q] == '[') {
    ++q;
    while (q < e &&
           (std::isxdigit(static_cast<unsigned char>(s_[q])) || s_[q] == ':' || s_[q] == '.')) {
      ++q;
    }
    if (q >= e || s_[q] != ']' || q == p + 1) return false;
    ++q;
  } else {
    while (q < e && (is_alnum(s_[q]) || s_[q] == '-' || s_[q] == '.' || s_[q] == '_')) ++q;
    if (q == p) return false;
  }
  out.off = p;
  out.host = std::string(s_.substr(p, q - p));
  out.port = 0;
  out.len = q - p;
  size_t c = ws ? skip_ws(q, e) : q;
  if (c >= e || s_[c] != ':') return true;
  size_t d = ws ? skip_ws(c + 1, e) : c + 1;
  size_t de = d;
  while (de < e && is_digit(s_[de])) ++de;
  auto port = parse_uint(s_.substr(d, de - d), 65535);
  if (!port || *port == 0 || de - d > 5) return false;
  out.port = static_cast<uint16_t>(*port);
  out.len = de - p;
  return true;
}

}  // namespace fw::aspf::sip
