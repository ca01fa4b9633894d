// fwcli <-> fwd: message encoding, blocking framing, the credential rule.
#include "ipc/ipc.h"

#include <errno.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "ipc/internal.h"

namespace fw::ipc {

using internal::get_u32;
using internal::put_u32;

namespace {

// Message bodies: a type byte, then fields as 4-byte big-endian length + bytes.
// The decoder consumes exactly the whole buffer or rejects it.
constexpr char kRequestTag = 'Q';
constexpr char kResponseTag = 'R';
// Version 2 of a response: version 1's fields, then the keyword sets. A new tag rather than
// trailing bytes, so an old shell's refusal names the cause ("malformed response") at once.
constexpr char kResponseWithKeywordsTag = 'S';
// Version 3: a closing notice, the tag then one byte of Closing, then the version 1 fields.
constexpr char kClosingTag = 'C';
// Version 4: a piece of a streamed answer: the tag then the output field, nothing else.
constexpr char kPieceTag = 'P';

void put_field(std::string* out, const std::string& s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

// u32 count of sets; each: name, u32 count of values; each value: word, help.
void put_keyword_sets(std::string* out, const KeywordSets& sets) {
  put_u32(out, static_cast<uint32_t>(sets.size()));
  for (const auto& [name, values] : sets) {
    put_field(out, name);
    put_u32(out, static_cast<uint32_t>(values.size()));
    for (const auto& [word, help] : values) {
      put_field(out, word);
      put_field(out, help);
    }
  }
}

class Reader {
 public:
  explicit Reader(const std::string& b) : b_(b) {}
  bool byte(char* c) {
    if (pos_ >= b_.size()) return false;
    *c = b_[pos_++];
    return true;
  }
  bool field(std::string* s) {
    uint32_t n = 0;
    if (!u32(&n) || n > b_.size() - pos_) return false;
    s->assign(b_, pos_, n);
    pos_ += n;
    return true;
  }
  bool u32(uint32_t* v) {
    if (b_.size() - pos_ < 4) return false;
    *v = get_u32(reinterpret_cast<const unsigned char*>(b_.data()) + pos_);
    pos_ += 4;
    return true;
  }
  bool done() const { return pos_ == b_.size(); }

 private:
  const std::string& b_;
  size_t pos_ = 0;
};

// Counts are not trusted for allocation: every element read needs bytes that are there. Set
// names must come in increasing byte order, as the encoder writes them from its map, so each
// set is there once and an accepted message has one encoding; the words are the receiver's
// to check.
bool read_keyword_sets(Reader& rd, KeywordSets* sets) {
  uint32_t n_sets = 0;
  if (!rd.u32(&n_sets)) return false;
  for (uint32_t i = 0; i < n_sets; ++i) {
    std::string name;
    uint32_t n_values = 0;
    if (!rd.field(&name) || !rd.u32(&n_values)) return false;
    if (!sets->empty() && name <= sets->rbegin()->first) return false;
    auto& values = (*sets)[name];
    for (uint32_t k = 0; k < n_values; ++k) {
      std::pair<std::string, std::string> v;
      if (!rd.field(&v.first) || !rd.field(&v.second)) return false;
      values.push_back(std::move(v));
    }
  }
  return true;
}

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool read_all(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = ::recv(fd, p, n, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (r == 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

}  // namespace

std::string encode(const Request& r) {
  std::string out(1, kRequestTag);
  put_field(&out, r.view);
  put_field(&out, r.line);
  return out;
}

std::string encode(const Response& r) {
  std::string out;
  if (r.piece) {
    out.push_back(kPieceTag);
    put_field(&out, r.output);
    return out;
  }
  if (r.closing != Closing::kNone) {
    out.push_back(kClosingTag);
    out.push_back(static_cast<char>(r.closing));
  } else {
    out.push_back(r.keyword_sets ? kResponseWithKeywordsTag : kResponseTag);
  }
  out.push_back(r.ok ? 1 : 0);
  put_field(&out, r.output);
  put_field(&out, r.view);
  put_field(&out, r.prompt);
  if (r.keyword_sets) put_keyword_sets(&out, *r.keyword_sets);
  return out;
}

std::optional<Request> decode_request(const std::string& bytes) {
  Reader rd(bytes);
  char tag = 0;
  Request r;
  if (!rd.byte(&tag) || tag != kRequestTag) return std::nullopt;
  if (!rd.field(&r.view) || !rd.field(&r.line) || !rd.done()) return std::nullopt;
  return r;
}

std::optional<Response> decode_response(const std::string& bytes) {
  Reader rd(bytes);
  char tag = 0, ok = 0;
  Response r;
  if (!rd.byte(&tag)) return std::nullopt;
  if (tag == kPieceTag) {
    r.piece = true;
    if (!rd.field(&r.output) || !rd.done()) return std::nullopt;
    return r;
  }
  if (tag == kClosingTag) {
    char kind = 0;
    if (!rd.byte(&kind) || kind < 1 || kind > 3) return std::nullopt;
    r.closing = static_cast<Closing>(kind);
  } else if (tag != kResponseTag && tag != kResponseWithKeywordsTag) {
    return std::nullopt;
  }
  if (!rd.byte(&ok) || (ok != 0 && ok != 1)) return std::nullopt;
  r.ok = ok == 1;
  if (!rd.field(&r.output) || !rd.field(&r.view) || !rd.field(&r.prompt)) return std::nullopt;
  if (tag == kResponseWithKeywordsTag) {
    r.keyword_sets.emplace();
    if (!read_keyword_sets(rd, &*r.keyword_sets)) return std::nullopt;
  }
  if (!rd.done()) return std::nullopt;
  return r;
}

bool write_frame(int fd, const std::string& payload, size_t max_frame) {
  if (payload.size() > max_frame) return false;
  std::string buf = internal::framed(payload);
  return write_all(fd, buf.data(), buf.size());
}

bool read_frame(int fd, std::string* payload, size_t max_frame) {
  unsigned char hdr[internal::kHeaderSize];
  if (!read_all(fd, reinterpret_cast<char*>(hdr), sizeof hdr)) return false;
  uint32_t n = get_u32(hdr);
  if (n > max_frame) return false;
  // Grow with what arrives, not with what the length claims.
  payload->clear();
  char chunk[65536];
  while (payload->size() < n) {
    size_t want = std::min(sizeof chunk, n - payload->size());
    if (!read_all(fd, chunk, want)) return false;
    payload->append(chunk, want);
  }
  return true;
}

std::vector<unsigned> groups_from_status(const std::string& status_text) {
  std::vector<unsigned> out;
  std::istringstream is(status_text);
  std::string line;
  while (std::getline(is, line)) {
    if (line.rfind("Groups:", 0) != 0) continue;
    std::istringstream ls(line.substr(7));
    std::string tok;
    while (ls >> tok) {
      char* end = nullptr;
      errno = 0;
      unsigned long v = std::strtoul(tok.c_str(), &end, 10);
      if (errno == 0 && end && *end == '\0' && !tok.empty() && tok[0] != '-' && v <= 0xffffffffUL)
        out.push_back(static_cast<unsigned>(v));
    }
    break;
  }
  return out;
}

bool peer_allowed(const PeerCred& cred, const std::string& group) {
  if (cred.uid == 0) return true;
  if (group.empty()) return false;
  auto gid = internal::group_id(group);
  if (!gid) return false;
  if (cred.gid == *gid) return true;
  if (cred.pid <= 0) return false;
  std::ifstream f("/proc/" + std::to_string(cred.pid) + "/status");
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  for (unsigned g : groups_from_status(ss.str()))
    if (g == *gid) return true;
  return false;
}

namespace internal {

uint32_t get_u32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

void put_u32(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

std::string framed(const std::string& payload) {
  std::string buf;
  buf.reserve(payload.size() + kHeaderSize);
  put_u32(&buf, static_cast<uint32_t>(payload.size()));
  buf += payload;
  return buf;
}

std::string encoded_closing(const std::string& text, Closing why) {
  Response r;
  r.ok = false;
  r.output = text;
  r.closing = why;
  return encode(r);
}

std::optional<unsigned> group_id(const std::string& name) {
  std::vector<char> buf(16384);
  group gr{};
  group* res = nullptr;
  if (getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &res) != 0 || !res) return std::nullopt;
  return res->gr_gid;
}

bool fill_sockaddr(const std::string& path, sockaddr_un* sa, std::string* err) {
  std::memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof sa->sun_path) {
    if (err) *err = "socket path too long or empty: " + path;
    return false;
  }
  std::memcpy(sa->sun_path, path.c_str(), path.size() + 1);
  return true;
}

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace internal

}  // namespace fw::ipc
