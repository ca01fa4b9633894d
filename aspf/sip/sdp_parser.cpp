#include "aspf/sip/sdp_parser.h"

#include <array>

#include "aspf/sip/text.h"

namespace fw::aspf::sip {
namespace {

constexpr std::array<std::string_view, kSdpErrorCount> kNames = {
    "not-sdp",   "bad-line", "bad-origin",    "bad-connection",
    "bad-media", "bad-rtcp", "too-many-media"};

struct SdpParser {
  Text t;
  Sdp sdp;
  std::optional<SdpError> err;

  bool fail(SdpError e) {
    if (!err) err = e;
    return false;
  }

  // nettype addrtype address from words w[i..i+2]; address ends at '/'.
  SdpAddr addr(const std::vector<Range>& w, size_t i) const {
    SdpAddr a;
    a.in = t.view(w[i]) == "IN";
    a.ipv6 = t.view(w[i + 1]) == "IP6";
    Range r = w[i + 2];
    r.e = t.find(r, '/');
    a.off = r.b;
    a.len = r.size();
    a.text = std::string(t.view(r));
    return a;
  }

  std::optional<SdpPort> port(Range r) const {
    auto v = parse_uint(t.view(r), 65535);
    if (!v) return std::nullopt;
    return SdpPort{r.b, r.size(), static_cast<uint16_t>(*v)};
  }

  bool line(char type, Range value);
  bool media(Range value);
  bool attribute(Range value);
};

bool SdpParser::line(char type, Range value) {
  std::vector<Range> w = t.words(value);
  switch (type) {
    case 'o':
      if (w.size() != 6) return fail(SdpError::kBadOrigin);
      sdp.origin = addr(w, 3);
      return true;
    case 'c': {
      if (w.size() != 3 || t.find(w[2], '/') == w[2].b) return fail(SdpError::kBadConnection);
      SdpAddr a = addr(w, 0);
      if (sdp.media.empty()) {
        sdp.conn = a;
      } else {
        sdp.media.back().conn = a;
      }
      return true;
    }
    case 'm':
      return media(value);
    case 'a':
      return attribute(value);
    default:
      return true;
  }
}

bool SdpParser::media(Range value) {
  std::vector<Range> w = t.words(value);
  if (w.size() < 4) return fail(SdpError::kBadMedia);
  if (sdp.media.size() >= kMaxMedia) return fail(SdpError::kTooManyMedia);
  Media m;
  m.type = std::string(t.view(w[0]));
  size_t slash = t.find(w[1], '/');
  auto p = port({w[1].b, slash});
  if (!p) return fail(SdpError::kBadMedia);
  m.port = *p;
  if (slash < w[1].e) {
    auto n = parse_uint(t.view({slash + 1, w[1].e}), 65535);
    if (!n || *n == 0) return fail(SdpError::kBadMedia);
    m.count = static_cast<uint16_t>(*n);
  }
  m.proto = std::string(t.view(w[2]));
  sdp.media.push_back(std::move(m));
  return true;
}

bool SdpParser::attribute(Range value) {
  size_t colon = t.find(value, ':');
  std::string_view name = t.view({value.b, colon});
  Media* m = sdp.media.empty() ? nullptr : &sdp.media.back();
  std::optional<Direction> dir;
  if (name == "sendrecv") dir = Direction::kSendRecv;
  if (name == "sendonly") dir = Direction::kSendOnly;
  if (name == "recvonly") dir = Direction::kRecvOnly;
  if (name == "inactive") dir = Direction::kInactive;
  if (dir) {
    (m ? m->dir : sdp.dir) = dir;
  } else if (name == "candidate") {
    sdp.candidate = true;
    if (m) m->candidate = true;
  } else if (name == "rtcp" && m) {
    std::vector<Range> w = colon < value.e ? t.words({colon + 1, value.e}) : std::vector<Range>{};
    if (w.size() != 1 && w.size() != 4) return fail(SdpError::kBadRtcp);
    auto p = port(w[0]);
    if (!p) return fail(SdpError::kBadRtcp);
    m->rtcp = *p;
    if (w.size() == 4) m->rtcp_addr = addr(w, 1);
  }
  return true;
}

}  // namespace

std::string_view sdp_error_name(SdpError e) {
  size_t i = static_cast<size_t>(e);
  return i < kNames.size() ? kNames[i] : "unknown";
}

const SdpAddr* Sdp::address(const Media& m) const {
  if (m.conn) return &*m.conn;
  return conn ? &*conn : nullptr;
}

Direction Sdp::direction(const Media& m) const {
  if (m.dir) return *m.dir;
  return dir.value_or(Direction::kSendRecv);
}

SdpResult parse_sdp(std::span<const uint8_t> bytes) {
  SdpParser p{Text(bytes), {}, {}};
  size_t pos = 0;
  bool first = true;
  bool ok = true;
  while (ok) {
    std::optional<Range> l = p.t.line(pos, true);
    if (!l) break;
    if (l->empty()) continue;  // blank lines (a trailing CR LF) are harmless
    char type = p.t.at(l->b);
    if (l->size() < 2 || p.t.at(l->b + 1) != '=' || type < 'a' || type > 'z') {
      ok = p.fail(first ? SdpError::kNotSdp : SdpError::kBadLine);
      break;
    }
    Range value{l->b + 2, l->e};
    if (first && (type != 'v' || p.t.view(p.t.trim(value)) != "0")) ok = p.fail(SdpError::kNotSdp);
    first = false;
    ok = ok && p.line(type, value);
  }
  if (ok && first) ok = p.fail(SdpError::kNotSdp);
  SdpResult r;
  if (ok) {
    r.sdp = std::move(p.sdp);
  } else {
    r.error = p.err;
  }
  return r;
}

}  // namespace fw::aspf::sip
