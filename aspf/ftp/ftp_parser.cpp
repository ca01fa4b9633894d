#include "aspf/ftp/ftp_parser.h"

#include <arpa/inet.h>

#include <array>
#include <cstdio>

// Grammar accepted (see README.md for the reasons behind each choice):
//   PORT: "PORT" SP n,n,n,n,n,n *SP          n = 1-3 decimal digits, 0..255
//   EPRT: "EPRT" SP d af d addr d port d *SP  d = printable ASCII 33..126 except digits
//   227:  "227" SP text, numbers found at the first digit run that starts six
//         comma-separated numbers (RFC 1123 4.1.2.6), any text after them
//   229:  "229" SP text "(" d d d port d ")" text, at the first '('
// The line must contain no NUL byte; keywords are case-insensitive.
namespace fw::aspf::ftp {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool starts_with_nocase(std::string_view s, std::string_view kw) {
  if (s.size() < kw.size()) return false;
  for (size_t i = 0; i < kw.size(); ++i) {
    if (lower(s[i]) != lower(kw[i])) return false;
  }
  return true;
}

ParseResult malformed(std::string why) {
  ParseResult r;
  r.status = ParseStatus::kMalformed;
  r.why = std::move(why);
  return r;
}

ParseResult irrelevant() { return ParseResult{}; }

// A run of decimal digits at `i`. Reports its length (unbounded, so a huge run
// is seen as one token) and its value if it has at most `max_digits` digits.
struct Number {
  size_t len = 0;
  uint32_t value = 0;
  bool too_long = false;
};
Number read_number(std::string_view s, size_t i, size_t max_digits) {
  Number n;
  while (i + n.len < s.size() && is_digit(s[i + n.len])) {
    if (n.len < max_digits) n.value = n.value * 10 + static_cast<uint32_t>(s[i + n.len] - '0');
    ++n.len;
  }
  n.too_long = n.len > max_digits;
  return n;
}

// Six comma-separated digit runs starting at `i` (structure only). On success
// `end` is just past the sixth run.
bool six_numbers_shape(std::string_view s, size_t i, size_t* end) {
  for (int k = 0; k < 6; ++k) {
    if (k > 0) {
      if (i >= s.size() || s[i] != ',') return false;
      ++i;
    }
    if (i >= s.size() || !is_digit(s[i])) return false;
    while (i < s.size() && is_digit(s[i])) ++i;
  }
  *end = i;
  return true;
}

// Values of "h1,h2,h3,h4,p1,p2" at [begin, end) whose shape is already known.
bool six_numbers_values(std::string_view s, size_t begin, Announcement* a, std::string* why) {
  std::array<uint32_t, 6> v{};
  size_t i = begin;
  for (int k = 0; k < 6; ++k) {
    if (k > 0) ++i;  // the comma
    Number n = read_number(s, i, 3);
    if (n.too_long) {
      *why = "number too long";
      return false;
    }
    if (n.value > 255) {
      *why = k < 4 ? "octet > 255" : "port byte > 255";
      return false;
    }
    v[static_cast<size_t>(k)] = n.value;
    i += n.len;
  }
  uint32_t host = (v[0] << 24) | (v[1] << 16) | (v[2] << 8) | v[3];
  uint32_t port = (v[4] << 8) | v[5];
  if (port == 0) {
    *why = "port 0";
    return false;
  }
  a->addr = common::IpAddr::v4(host);
  a->port = static_cast<uint16_t>(port);
  return true;
}

// 1-5 digits, 1..65535, exactly filling [b, e).
bool parse_port_field(std::string_view s, size_t b, size_t e, uint16_t* port, std::string* why) {
  if (b == e) {
    *why = "missing port";
    return false;
  }
  Number n = read_number(s, b, 5);
  if (b + n.len != e) {
    *why = "port not a number";
    return false;
  }
  if (n.too_long || n.value > 65535) {
    *why = "port > 65535";
    return false;
  }
  if (n.value == 0) {
    *why = "port 0";
    return false;
  }
  *port = static_cast<uint16_t>(n.value);
  return true;
}

// Strict dotted quad: four 1-3 digit parts, 0..255, no leading zeros (text
// addresses are read by inet_aton on some servers, which takes "010" as octal).
bool parse_dotted_quad(std::string_view t, common::IpAddr* out) {
  uint32_t host = 0;
  size_t i = 0;
  for (int k = 0; k < 4; ++k) {
    if (k > 0) {
      if (i >= t.size() || t[i] != '.') return false;
      ++i;
    }
    Number n = read_number(t, i, 3);
    if (n.len == 0 || n.too_long || n.value > 255) return false;
    if (n.len > 1 && t[i] == '0') return false;
    host = (host << 8) | n.value;
    i += n.len;
  }
  if (i != t.size()) return false;
  *out = common::IpAddr::v4(host);
  return true;
}

bool parse_ipv6_text(std::string_view t, common::IpAddr* out) {
  // inet_pton needs a terminated string; the character check also keeps zone
  // ids ("%eth0"), spaces and NULs out.
  if (t.empty() || t.size() > 45) return false;
  char buf[46] = {};
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    bool hex = is_digit(c) || (lower(c) >= 'a' && lower(c) <= 'f');
    if (!hex && c != ':' && c != '.') return false;
    buf[i] = c;
  }
  uint8_t bytes[16];
  if (inet_pton(AF_INET6, buf, bytes) != 1) return false;
  *out = common::IpAddr::v6_bytes(bytes);
  return true;
}

// RFC 2428 delimiter: ASCII 33..126. Digits are refused as well: they would
// make "(|||port|)" ambiguous and no implementation uses them.
bool good_delimiter(char c) { return c >= 33 && c <= 126 && !is_digit(c); }

bool only_spaces_from(std::string_view s, size_t i) {
  for (; i < s.size(); ++i) {
    if (s[i] != ' ') return false;
  }
  return true;
}

// The keyword (4 letters or 3 digits) at the start of `line`. Returns:
//   1  keyword followed by a single SP and an argument position in *arg
//   0  not this keyword (another word, or for replies a multi-line "227-")
//  -1  malformed, reason in *why
int keyword(std::string_view line, std::string_view kw, bool reply, size_t* arg, std::string* why) {
  if (!starts_with_nocase(line, kw)) return 0;
  size_t n = kw.size();
  if (line.size() == n) {
    *why = "missing argument";
    return -1;
  }
  char c = line[n];
  if (reply && c == '-') return 0;  // multi-line reply: the engine sees the last line
  if (is_alnum(c)) return 0;        // "PORTAL", "2270": another word
  if (c != ' ') {
    *why = "bad separator after keyword";
    return -1;
  }
  *arg = n + 1;
  return 1;
}

ParseResult parse_port(std::string_view line, size_t arg) {
  if (arg < line.size() && line[arg] == ' ') return malformed("more than one space");
  if (arg >= line.size()) return malformed("missing argument");
  size_t end = 0;
  if (!six_numbers_shape(line, arg, &end)) {
    // Tell the common cases apart for the counters.
    size_t commas = 0;
    size_t i = arg;
    while (i < line.size() && (is_digit(line[i]) || line[i] == ',')) {
      commas += line[i] == ',';
      ++i;
    }
    if (i == line.size() || line[i] == ' ') {
      return malformed(commas < 5 ? "missing field" : "empty field");
    }
    return malformed("not a number");
  }
  if (end < line.size() && line[end] == ',') return malformed("extra field");
  if (!only_spaces_from(line, end)) return malformed("extra text");
  ParseResult r;
  if (!six_numbers_values(line, arg, &r.a, &r.why)) return malformed(r.why);
  r.status = ParseStatus::kOk;
  r.a.kind = Kind::kPort;
  r.a.arg_begin = arg;
  r.a.arg_end = end;
  return r;
}

ParseResult parse_eprt(std::string_view line, size_t arg) {
  if (arg < line.size() && line[arg] == ' ') return malformed("more than one space");
  if (arg >= line.size()) return malformed("missing argument");
  char d = line[arg];
  if (!good_delimiter(d)) return malformed("bad delimiter");
  // Three more delimiters split af, address and port.
  std::array<size_t, 4> at{arg, 0, 0, 0};
  for (size_t k = 1; k < 4; ++k) {
    size_t p = line.find(d, at[k - 1] + 1);
    if (p == std::string_view::npos) return malformed("missing field");
    at[k] = p;
  }
  size_t end = at[3] + 1;
  if (!only_spaces_from(line, end)) return malformed("extra text");
  std::string_view af = line.substr(at[0] + 1, at[1] - at[0] - 1);
  std::string_view addr = line.substr(at[1] + 1, at[2] - at[1] - 1);
  ParseResult r;
  if (af == "1") {
    if (!parse_dotted_quad(addr, &r.a.addr)) return malformed("bad IPv4 address");
  } else if (af == "2") {
    if (!parse_ipv6_text(addr, &r.a.addr)) return malformed("bad IPv6 address");
  } else {
    return malformed("bad address family");
  }
  if (!parse_port_field(line, at[2] + 1, at[3], &r.a.port, &r.why)) return malformed(r.why);
  r.status = ParseStatus::kOk;
  r.a.kind = Kind::kEprt;
  r.a.arg_begin = arg;
  r.a.arg_end = end;
  return r;
}

ParseResult parse_227(std::string_view line, size_t arg) {
  // RFC 1123 4.1.2.6: the numbers may come with or without parentheses; take
  // the first digit run that starts six comma-separated numbers, as clients
  // do (Python's ftplib regex, curl's scan). Its values decide: a bad octet
  // there is malformed, never a reason to look further.
  for (size_t i = arg; i < line.size(); ++i) {
    if (!is_digit(line[i]) || (i > arg && is_digit(line[i - 1]))) continue;
    size_t end = 0;
    if (!six_numbers_shape(line, i, &end)) continue;
    // curl's sscanf("%d,...") would read a sign: "-1,2,..." must not mean 1.
    if (line[i - 1] == '-' || line[i - 1] == '+') return malformed("sign");
    if (end < line.size() && line[end] == ',') return malformed("extra field");
    ParseResult r;
    if (!six_numbers_values(line, i, &r.a, &r.why)) return malformed(r.why);
    r.status = ParseStatus::kOk;
    r.a.kind = Kind::kPasv227;
    r.a.arg_begin = i;
    r.a.arg_end = end;
    return r;
  }
  return malformed("no address");
}

ParseResult parse_229(std::string_view line, size_t arg) {
  // Clients (curl, ftplib) look at the first '(' only, so do we.
  size_t open = line.find('(', arg);
  if (open == std::string_view::npos) return malformed("missing '('");
  size_t i = open + 1;
  if (i >= line.size()) return malformed("missing delimiter");
  char d = line[i];
  if (!good_delimiter(d)) return malformed("bad delimiter");
  if (i + 2 >= line.size() || line[i + 1] != d || line[i + 2] != d) {
    return malformed("bad delimiter");
  }
  size_t pb = i + 3;
  size_t pe = pb;
  while (pe < line.size() && is_digit(line[pe])) ++pe;
  if (pe >= line.size() || line[pe] != d)
    return malformed(pe == pb ? "missing port" : "bad delimiter");
  ParseResult r;
  if (!parse_port_field(line, pb, pe, &r.a.port, &r.why)) return malformed(r.why);
  if (pe + 1 >= line.size() || line[pe + 1] != ')') return malformed("missing ')'");
  r.status = ParseStatus::kOk;
  r.a.kind = Kind::kEpsv229;
  r.a.arg_begin = i;
  r.a.arg_end = pe + 1;
  return r;
}

bool has_nul(std::string_view line) { return line.find('\0') != std::string_view::npos; }

}  // namespace

ParseResult parse_client_line(std::string_view line) {
  std::string why;
  // A command must start the line. " PORT ..." is not a command for us, but
  // some servers skip leading blanks, so it is counted rather than ignored.
  size_t lead = 0;
  while (lead < line.size() && (line[lead] == ' ' || line[lead] == '\t')) ++lead;
  if (lead > 0) {
    std::string_view rest = line.substr(lead);
    size_t arg = 0;
    for (std::string_view kw : {"PORT", "EPRT"}) {
      std::string dummy;
      if (keyword(rest, kw, false, &arg, &dummy) != 0) return malformed("leading space");
    }
    return irrelevant();
  }
  for (std::string_view kw : {"PORT", "EPRT"}) {
    size_t arg = 0;
    int k = keyword(line, kw, false, &arg, &why);
    if (k == 0) continue;
    if (k < 0) return malformed(why);
    if (has_nul(line)) return malformed("NUL byte");
    return kw == "PORT" ? parse_port(line, arg) : parse_eprt(line, arg);
  }
  return irrelevant();
}

ParseResult parse_server_line(std::string_view line) {
  // No leading-space rule here: continuation lines of a multi-line reply
  // may legitimately start with a space (RFC 959 4.2); they are irrelevant.
  std::string why;
  for (std::string_view kw : {"227", "229"}) {
    size_t arg = 0;
    int k = keyword(line, kw, true, &arg, &why);
    if (k == 0) continue;
    if (k < 0) return malformed(why);
    // A C client stops reading at a NUL, a Python one does not: ambiguous.
    if (has_nul(line)) return malformed("NUL byte");
    return kw == "227" ? parse_227(line, arg) : parse_229(line, arg);
  }
  return irrelevant();
}

std::string rewrite_line(std::string_view line, const Announcement& a, const common::IpAddr& addr,
                         uint16_t port) {
  if (a.arg_begin > a.arg_end || a.arg_end > line.size()) return std::string(line);
  char buf[96];
  std::string arg;
  switch (a.kind) {
    case Kind::kPort:
    case Kind::kPasv227: {
      if (!addr.is_v4()) return std::string(line);
      auto u = [](unsigned v) { return v; };
      std::snprintf(buf, sizeof buf, "%u,%u,%u,%u,%u,%u", u(addr.b[0]), u(addr.b[1]), u(addr.b[2]),
                    u(addr.b[3]), u(port >> 8), u(port & 0xffu));
      arg = buf;
      break;
    }
    case Kind::kEprt: {
      if (addr.empty()) return std::string(line);
      std::string text = addr.str();
      char d = a.arg_begin < a.arg_end ? line[a.arg_begin] : '|';
      // The delimiter must not occur in the new address text ("." with an
      // IPv4 address, ":" or a hex letter with IPv6).
      if (!good_delimiter(d) || text.find(d) != std::string::npos) d = '|';
      std::snprintf(buf, sizeof buf, "%c%c%c%s%c%u%c", d, addr.is_v4() ? '1' : '2', d, text.c_str(),
                    d, static_cast<unsigned>(port), d);
      arg = buf;
      break;
    }
    case Kind::kEpsv229: {
      char d = a.arg_begin < a.arg_end ? line[a.arg_begin] : '|';
      if (!good_delimiter(d)) d = '|';
      std::snprintf(buf, sizeof buf, "%c%c%c%u%c", d, d, d, static_cast<unsigned>(port), d);
      arg = buf;
      break;
    }
  }
  std::string out;
  out.reserve(line.size() + arg.size());
  out.append(line.substr(0, a.arg_begin));
  out.append(arg);
  out.append(line.substr(a.arg_end));
  return out;
}

}  // namespace fw::aspf::ftp
