#include "aspf/sip/sip_parser.h"

#include <array>
#include <utility>

#include "aspf/sip/text.h"

namespace fw::aspf::sip {
namespace {

constexpr std::array<std::string_view, kErrorCount> kErrorNames = {
    "too-long",      "bad-start-line", "bad-version",        "no-end-of-headers", "bad-header",
    "bad-uri",       "bad-via",        "bad-content-length", "bad-cseq",          "missing-header",
    "too-many-uris", "bad-body",       "duplicate-header"};

// One logical header: its canonical (long, lower-case) name and the bytes of
// its value, folded continuation lines included.
struct Header {
  std::string name;
  Range value;
};

// RFC 3261 section 7.3.3 and the registered compact forms.
std::string_view long_name(std::string_view lower) {
  if (lower.size() != 1) return lower;
  switch (lower[0]) {
    case 'i':
      return "call-id";
    case 'm':
      return "contact";
    case 'e':
      return "content-encoding";
    case 'l':
      return "content-length";
    case 'c':
      return "content-type";
    case 'f':
      return "from";
    case 's':
      return "subject";
    case 'k':
      return "supported";
    case 't':
      return "to";
    case 'v':
      return "via";
    default:
      return lower;
  }
}

struct Parser {
  Text t;
  Message m;
  std::optional<Error> err;
  std::string boundary;  // multipart bodies

  bool fail(Error e) {
    if (!err) err = e;
    return false;
  }

  bool start_line(Range line);
  bool headers(size_t from, size_t& body_off, std::vector<Header>& out);
  bool header(const Header& h);
  bool via(Range v);
  bool uri(Range u, Uri& out);
  bool name_addr(Range v, Uri& out);
  bool uri_list(Range v, std::vector<Uri>& out);
  bool cseq(Range v);
  bool content_length(Range v);
  void content_type(Range v);
  bool body(size_t body_off);
  bool multipart(Range body);
  bool finish();
};

bool Parser::start_line(Range line) {
  std::vector<Range> w = t.words(line);
  if (w.size() < 2) return fail(Error::kBadStartLine);
  if (istarts_with(t.view(w[0]), "SIP/")) {
    if (!iequals(t.view(w[0]), "SIP/2.0")) return fail(Error::kBadVersion);
    std::string_view code = t.view(w[1]);
    auto n = parse_uint(code, 699);
    if (code.size() != 3 || !n || *n < 100) return fail(Error::kBadStartLine);
    m.status = static_cast<int>(*n);
    return true;
  }
  if (w.size() != 3) return fail(Error::kBadStartLine);
  for (char c : t.view(w[0])) {
    if (!is_token_char(c)) return fail(Error::kBadStartLine);
  }
  if (istarts_with(t.view(w[2]), "SIP/") && !iequals(t.view(w[2]), "SIP/2.0")) {
    return fail(Error::kBadVersion);
  }
  if (!iequals(t.view(w[2]), "SIP/2.0")) return fail(Error::kBadStartLine);
  m.is_request = true;
  m.method = std::string(t.view(w[0]));
  return uri(w[1], m.request_uri);
}

// Header lines from `from` to the empty line; folded lines join the header
// before them. body_off is set past the empty line.
bool Parser::headers(size_t from, size_t& body_off, std::vector<Header>& out) {
  size_t pos = from;
  for (;;) {
    std::optional<Range> line = t.line(pos);
    if (!line) return fail(Error::kNoEndOfHeaders);
    if (line->empty()) {
      body_off = pos;
      return true;
    }
    char first = t.at(line->b);
    if (first == ' ' || first == '\t') {
      if (out.empty()) return fail(Error::kBadHeader);
      out.back().value.e = line->e;  // a continuation: CR LF + WS reads as whitespace
      continue;
    }
    size_t colon = t.find(*line, ':');
    if (colon == line->e) return fail(Error::kBadHeader);
    Range name = t.trim({line->b, colon});
    if (name.empty()) return fail(Error::kBadHeader);
    for (size_t i = name.b; i < name.e; ++i) {
      if (!is_token_char(t.at(i))) return fail(Error::kBadHeader);
    }
    out.push_back({std::string(long_name(lowered(t.view(name)))), {colon + 1, line->e}});
  }
}

bool Parser::header(const Header& h) {
  Range v = t.trim(h.value);
  const std::string& n = h.name;
  // Two copies of a header that names the dialog: which one counts is up to the reader.
  if ((n == "from" && !m.from.scheme.empty()) || (n == "to" && !m.to.scheme.empty()) ||
      (n == "call-id" && !m.call_id.empty()) || (n == "cseq" && !m.cseq_method.empty())) {
    return fail(Error::kDuplicateHeader);
  }
  if (n == "via") return m.via_sent_by || via(v);
  if (n == "contact") {
    if (t.view(v) == "*") {
      m.contact_star = true;
      return true;
    }
    return uri_list(v, m.contacts);
  }
  if (n == "route" || n == "record-route") return uri_list(v, m.routes);
  if (n == "from") return name_addr(v, m.from);
  if (n == "to") return name_addr(v, m.to);
  if (n == "call-id") {
    m.call_id = std::string(t.view(v));
    return true;
  }
  if (n == "cseq") return cseq(v);
  if (n == "content-length") return content_length(v);
  if (n == "content-type") content_type(v);
  if (n == "expires") {
    // delta-seconds; the obsolete date form is ignored (RFC 3261 20.19).
    if (auto e = parse_uint(t.view(v), UINT64_MAX)) m.expires = clamp32(*e);
  }
  return true;
}

// The top Via's first value: SIP / 2.0 / transport sent-by [params].
bool Parser::via(Range v) {
  Range first = t.split_list(v).front();
  size_t p = first.b;
  auto expect = [&](std::string_view word) {
    p = t.skip_ws(p, first.e);
    Range w = t.token(p, first.e);
    if (!iequals(t.view(w), word)) return false;
    p = t.skip_ws(w.e, first.e);
    return true;
  };
  auto slash = [&] {
    if (p >= first.e || t.at(p) != '/') return false;
    ++p;
    return true;
  };
  if (!expect("SIP") || !slash() || !expect("2.0") || !slash()) return fail(Error::kBadVia);
  p = t.skip_ws(p, first.e);
  Range tr = t.token(p, first.e);
  if (tr.empty()) return fail(Error::kBadVia);
  m.transport = uppered(t.view(tr));
  // sent-protocol LWS sent-by: without the blank, a new host would run into the transport.
  if (tr.e >= first.e || !is_ws(t.at(tr.e))) return fail(Error::kBadVia);
  p = t.skip_ws(tr.e, first.e);
  HostPort hp;
  if (!t.hostport(p, first.e, true, hp)) return fail(Error::kBadVia);
  p = t.skip_ws(hp.off + hp.len, first.e);
  if (p < first.e && t.at(p) != ';') return fail(Error::kBadVia);
  m.via_sent_by = hp;
  return true;
}

// scheme ":" rest; sip/sips: [userinfo "@"] hostport [;params] [?headers].
bool Parser::uri(Range u, Uri& out) {
  size_t colon = t.find(u, ':');
  if (colon == u.e || colon == u.b || !is_alpha(t.at(u.b))) return fail(Error::kBadUri);
  for (size_t i = u.b; i < colon; ++i) {
    char c = t.at(i);
    if (!is_alnum(c) && c != '+' && c != '-' && c != '.') return fail(Error::kBadUri);
  }
  out.scheme = lowered(t.view({u.b, colon}));
  if (out.scheme != "sip" && out.scheme != "sips") return true;
  Range rest{colon + 1, u.e};
  // The userinfo ends at the first '@' (RFC 3261 25.1: '@' is escaped in it).
  size_t at = t.find(rest, '@');
  size_t host = at == rest.e ? rest.b : at + 1;
  HostPort hp;
  if (!t.hostport(host, u.e, false, hp)) return fail(Error::kBadUri);
  size_t after = hp.off + hp.len;
  if (after < u.e && t.at(after) != ';' && t.at(after) != '?') return fail(Error::kBadUri);
  out.hostport = hp;
  return true;
}

// [display-name] "<" URI ">" *(; param) | addr-spec *(; param)
bool Parser::name_addr(Range v, Uri& out) {
  size_t lt = t.find_unquoted(v, '<');
  Range u;
  size_t params;
  if (lt != v.e) {
    size_t gt = t.find({lt + 1, v.e}, '>');
    if (gt == v.e) return fail(Error::kBadUri);
    u = t.trim({lt + 1, gt});
    params = gt + 1;
  } else {
    // An addr-spec ends at the first ';' (RFC 3261 20: URIs with ';' need <>).
    size_t semi = t.find(v, ';');
    u = t.trim({v.b, semi});
    params = semi;
    if (t.find(u, ' ') != u.e || t.find(u, '\t') != u.e) return fail(Error::kBadUri);
  }
  if (!uri(u, out)) return false;
  for (const auto& [name, value] : t.params({params, v.e})) {
    std::string n = lowered(t.view(name));
    if (n == "tag") out.tag = std::string(t.view(value));
    if (n == "expires") {
      if (auto e = parse_uint(t.view(value), UINT64_MAX)) out.expires = clamp32(*e);
    }
  }
  return true;
}

bool Parser::uri_list(Range v, std::vector<Uri>& out) {
  for (Range item : t.split_list(v)) {
    item = t.trim(item);
    if (item.empty()) continue;
    if (out.size() >= kMaxUris) return fail(Error::kTooManyUris);
    Uri u;
    if (!name_addr(item, u)) return false;
    out.push_back(std::move(u));
  }
  return true;
}

bool Parser::cseq(Range v) {
  std::vector<Range> w = t.words(v);
  if (w.size() != 2) return fail(Error::kBadCseq);
  auto n = parse_uint(t.view(w[0]), 0x7fffffff);  // RFC 3261 8.1.1.5: below 2^31
  if (!n) return fail(Error::kBadCseq);
  m.cseq = static_cast<uint32_t>(*n);
  m.cseq_method = std::string(t.view(w[1]));
  return true;
}

bool Parser::content_length(Range v) {
  auto n = parse_uint(t.view(v), kMaxMessage);
  // Twice, even with the same value: a rewrite could only fix one of them.
  if (!n || m.content_length) return fail(Error::kBadContentLength);
  m.content_length = static_cast<size_t>(*n);
  m.content_length_off = v.b;
  m.content_length_len = v.size();
  return true;
}

void Parser::content_type(Range v) {
  size_t semi = t.find(v, ';');
  std::string type;
  for (char c : t.view({v.b, semi})) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') type += lower(c);
  }
  m.content_type = type;
  for (const auto& [name, value] : t.params(v)) {
    if (iequals(t.view(name), "boundary")) boundary = std::string(t.view(value));
  }
}

bool Parser::body(size_t body_off) {
  size_t avail = t.size() - body_off;
  m.body_off = body_off;
  m.body_len = m.content_length.value_or(avail);
  if (m.body_len > avail) return fail(Error::kBadContentLength);
  if (m.body_len == 0) return true;
  if (m.content_type == "application/sdp") {
    m.sdp_off = m.body_off;
    m.sdp_len = m.body_len;
    return true;
  }
  if (istarts_with(m.content_type, "multipart/"))
    return multipart({m.body_off, m.body_off + m.body_len});
  return true;
}

// RFC 2046 5.1.1: "--boundary" lines split the parts; each part has headers,
// an empty line and its content; "--boundary--" ends the body. The first part
// of type application/sdp is the SDP.
bool Parser::multipart(Range body) {
  if (boundary.empty() || boundary.size() > 70) return fail(Error::kBadBody);
  const std::string delim = "--" + boundary;
  size_t p = t.find_str(body, delim);
  if (p == body.e || (p != body.b && t.at(p - 1) != '\n')) return fail(Error::kBadBody);
  for (;;) {
    p += delim.size();
    if (t.view({p, p + 2}) == "--") return true;  // the close delimiter
    size_t next_line = t.find({p, body.e}, '\n');
    if (next_line == body.e) return fail(Error::kBadBody);
    size_t pos = next_line + 1;
    std::string type;
    for (;;) {  // the part's headers
      std::optional<Range> line = t.line(pos);
      if (!line || pos > body.e) return fail(Error::kBadBody);
      if (line->empty()) break;
      size_t colon = t.find(*line, ':');
      if (colon < line->e && iequals(t.view(t.trim({line->b, colon})), "content-type")) {
        Range v = t.trim({colon + 1, line->e});
        type = lowered(t.view(t.trim({v.b, t.find(v, ';')})));
      }
    }
    // pos - 1 is the LF of the empty line: an empty part is followed at once by the delimiter.
    size_t end = t.find_str({pos - 1, body.e}, "\n" + delim);
    if (end == body.e) return fail(Error::kBadBody);
    size_t content_end = end;
    if (content_end < pos) content_end = pos;
    if (content_end > pos && t.at(content_end - 1) == '\r') --content_end;
    if (type == "application/sdp" && !m.sdp_off) {
      m.sdp_off = pos;
      m.sdp_len = content_end - pos;
    }
    p = end + 1;
  }
}

bool Parser::finish() {
  if (m.call_id.empty() || m.cseq_method.empty() || !m.via_sent_by || !m.from.scheme.size() ||
      !m.to.scheme.size()) {
    return fail(Error::kMissingHeader);
  }
  // RFC 3261 8.1.1.5: a request's CSeq names its own method.
  if (m.is_request && m.cseq_method != m.method) return fail(Error::kBadCseq);
  return true;
}

}  // namespace

std::string_view error_name(Error e) {
  size_t i = static_cast<size_t>(e);
  return i < kErrorNames.size() ? kErrorNames[i] : "unknown";
}

ParseResult parse(std::span<const uint8_t> bytes) {
  ParseResult r;
  if (bytes.size() > kMaxMessage) {
    r.error = Error::kTooLong;
    return r;
  }
  Parser p{Text(bytes), {}, {}, {}};
  // RFC 3261 7.5: empty lines before the start line are ignored.
  size_t pos = 0;
  std::optional<Range> first;
  do {
    first = p.t.line(pos);
  } while (first && first->empty());
  std::vector<Header> hs;
  size_t body_off = 0;
  bool ok = first ? p.start_line(*first) : p.fail(Error::kNoEndOfHeaders);
  ok = ok && p.headers(pos, body_off, hs);
  for (size_t i = 0; ok && i < hs.size(); ++i) ok = p.header(hs[i]);
  ok = ok && p.finish() && p.body(body_off);
  if (ok) {
    r.message = std::move(p.m);
  } else {
    r.error = p.err.value_or(Error::kBadHeader);
  }
  return r;
}

}  // namespace fw::aspf::sip
