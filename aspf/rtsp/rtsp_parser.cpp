#include "aspf/rtsp/rtsp_parser.h"

#include <algorithm>
#include <cctype>

namespace fw::aspf::rtsp {
namespace {

constexpr size_t kMaxHeaders = 64;
constexpr uint32_t kMaxTimeout = 86400;

bool is_space(char c) { return c == ' ' || c == '\t'; }

// Trims blanks (and a CR) off both ends, moving `begin` along.
std::string_view trim(std::string_view s, size_t* begin = nullptr) {
  size_t b = 0;
  while (b < s.size() && (is_space(s[b]) || s[b] == '\r')) ++b;
  size_t e = s.size();
  while (e > b && (is_space(s[e - 1]) || s[e - 1] == '\r')) --e;
  if (begin) *begin += b;
  return s.substr(b, e - b);
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

std::optional<uint32_t> number(std::string_view s, uint32_t max) {
  if (!is_digits(s) || s.size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) v = v * 10 + static_cast<uint64_t>(c - '0');
  if (v > max) return std::nullopt;
  return static_cast<uint32_t>(v);
}

bool parse_ports(std::string_view v, size_t at, PortRange* r) {
  const size_t dash = v.find('-');
  auto lo = number(v.substr(0, dash), 65535);
  if (!lo || *lo == 0) return false;
  r->lo = r->hi = static_cast<uint16_t>(*lo);
  if (dash != std::string_view::npos) {
    auto hi = number(v.substr(dash + 1), 65535);
    if (!hi || *hi == 0) return false;
    r->hi = static_cast<uint16_t>(*hi);
    r->pair = true;
  }
  r->present = true;
  r->begin = at;
  r->end = at + v.size();
  return true;
}

bool parse_addr(std::string_view v, size_t at, AddrParam* a) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
    v = v.substr(1, v.size() - 2);
    ++at;
  }
  if (v.empty()) return false;
  a->present = true;
  a->text = v;
  a->begin = at;
  a->end = at + v.size();
  return true;
}

// One parameter "name[=value]" of a spec, at offset `at`.
bool parse_param(std::string_view p, size_t at, TransportSpec* t, std::string* why) {
  const size_t eq = p.find('=');
  const std::string_view name = trim(p.substr(0, eq));
  const size_t vat = at + (eq == std::string_view::npos ? p.size() : eq + 1);
  size_t vb = vat;
  const std::string_view value =
      eq == std::string_view::npos ? std::string_view{} : trim(p.substr(eq + 1), &vb);
  auto once = [&](bool seen) {
    if (seen) *why = "Transport parameter " + std::string(name) + " given twice";
    return !seen;
  };
  if (iequals(name, "client_port") || iequals(name, "server_port")) {
    PortRange* r = iequals(name, "client_port") ? &t->client_port : &t->server_port;
    if (!once(r->present)) return false;
    if (!parse_ports(value, vb, r)) {
      *why = "bad " + std::string(name) + " '" + std::string(value) + "'";
      return false;
    }
  } else if (iequals(name, "source") || iequals(name, "destination")) {
    AddrParam* a = iequals(name, "source") ? &t->source : &t->destination;
    if (!once(a->present)) return false;
    // RFC 2326: destination without a value is allowed (the sender's own).
    if (eq != std::string_view::npos && !parse_addr(value, vb, a)) {
      *why = "empty " + std::string(name);
      return false;
    }
    a->present = true;
  } else if (iequals(name, "multicast")) {
    t->multicast = true;
  } else if (iequals(name, "interleaved")) {
    t->interleaved = true;
  }
  return true;  // unicast, mode=, ttl=, ssrc=, layers=, port=, ...: nothing to do
}

bool parse_spec(std::string_view s, size_t at, TransportSpec* t, std::string* why) {
  size_t b = at;
  s = trim(s, &b);
  t->begin = b;
  t->end = b + s.size();
  const size_t semi = s.find(';');
  t->protocol = trim(s.substr(0, semi));
  if (t->protocol.empty() || t->protocol.find(' ') != std::string_view::npos) {
    *why = "empty transport spec";
    return false;
  }
  const size_t last = t->protocol.rfind('/');
  t->tcp = last != std::string_view::npos && iequals(t->protocol.substr(last + 1), "TCP");
  size_t pos = semi;
  while (pos != std::string_view::npos) {
    const size_t from = pos + 1;
    pos = s.find(';', from);
    const auto p =
        s.substr(from, pos == std::string_view::npos ? std::string_view::npos : pos - from);
    if (trim(p).empty()) continue;
    if (!parse_param(p, b + from, t, why)) return false;
  }
  return true;
}

bool parse_session(std::string_view v, Parsed* m, std::string* why) {
  const size_t semi = v.find(';');
  m->session = trim(v.substr(0, semi));
  if (m->session.empty()) {
    *why = "empty Session";
    return false;
  }
  if (semi == std::string_view::npos) return true;
  std::string_view rest = trim(v.substr(semi + 1));
  const size_t eq = rest.find('=');
  if (eq == std::string_view::npos || !iequals(trim(rest.substr(0, eq)), "timeout")) return true;
  m->session_timeout = number(trim(rest.substr(eq + 1)), kMaxTimeout);
  if (!m->session_timeout) *why = "bad Session timeout";
  return m->session_timeout.has_value();
}

bool parse_start(std::string_view line, Parsed* m, std::string* why) {
  const size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) {
    *why = "no RTSP start line";
    return false;
  }
  if (line.substr(0, 5) == "RTSP/") {
    m->version = line.substr(0, sp1);
    const auto code = number(line.substr(sp1 + 1, 3), 999);
    if (!code || *code < 100 || (line.size() > sp1 + 4 && line[sp1 + 4] != ' ')) {
      *why = "bad status line";
      return false;
    }
    m->status = static_cast<int>(*code);
    return true;
  }
  const size_t sp2 = line.rfind(' ');
  if (sp2 == sp1 || line.substr(sp2 + 1, 5) != "RTSP/") {
    *why = "no RTSP start line";
    return false;
  }
  m->request = true;
  m->method = line.substr(0, sp1);
  m->uri = trim(line.substr(sp1 + 1, sp2 - sp1 - 1));
  m->version = line.substr(sp2 + 1);
  return true;
}

bool parse_header(std::string_view line, size_t at, Parsed* m, std::string* why) {
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    *why = "header line without a colon";
    return false;
  }
  const std::string_view name = trim(line.substr(0, colon));
  size_t vb = at + colon + 1;
  const std::string_view value = trim(line.substr(colon + 1), &vb);
  if (iequals(name, "CSeq")) {
    if (m->cseq) {
      *why = "CSeq given twice";
      return false;
    }
    m->cseq = number(value, UINT32_MAX);
    if (!m->cseq) *why = "bad CSeq";
    return m->cseq.has_value();
  }
  if (iequals(name, "Session")) {
    if (!m->session.empty()) {
      *why = "Session given twice";
      return false;
    }
    return parse_session(value, m, why);
  }
  if (iequals(name, "Transport")) {
    m->has_transport = true;
    return parse_transport(value, vb, &m->transports, why);
  }
  return true;
}

}  // namespace

bool parse_transport(std::string_view value, size_t base, std::vector<TransportSpec>* out,
                     std::string* why) {
  size_t pos = 0;
  for (;;) {
    const size_t comma = value.find(',', pos);
    const auto s =
        value.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    if (out->size() >= kMaxSpecs) {
      *why = "more than 8 transport specs";
      return false;
    }
    TransportSpec t;
    if (!parse_spec(s, base + pos, &t, why)) return false;
    out->push_back(t);
    if (comma == std::string_view::npos) return true;
    pos = comma + 1;
  }
}

ParseResult parse(std::string_view bytes) {
  ParseResult r;
  size_t pos = 0, n = 0;
  bool first = true;
  while (pos < bytes.size()) {
    const size_t lf = bytes.find('\n', pos);
    const size_t end = lf == std::string_view::npos ? bytes.size() : lf;
    std::string_view line = bytes.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const size_t at = pos;
    pos = end + 1;
    if (line.empty()) {
      if (first) continue;
      break;  // the end of the header block
    }
    if (first) {
      first = false;
      if (!parse_start(line, &r.m, &r.why)) return r;
      continue;
    }
    if (is_space(line[0])) continue;  // a folded continuation: nothing we read is folded
    if (++n > kMaxHeaders) {
      r.why = "more than 64 header lines";
      return r;
    }
    if (!parse_header(line, at, &r.m, &r.why)) return r;
  }
  if (first) {
    r.why = "empty message";
    return r;
  }
  r.ok = true;
  return r;
}

std::string format_ports(uint16_t lo, std::optional<uint16_t> hi) {
  std::string s = std::to_string(lo);
  if (hi) s += "-" + std::to_string(*hi);
  return s;
}

}  // namespace fw::aspf::rtsp
