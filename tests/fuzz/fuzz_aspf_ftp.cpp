// libFuzzer target for the FTP ALG building blocks: aspf::ftp::parse_client_line,
// parse_server_line, rewrite_line and aspf::LineBuffer. Besides ASan/UBSan it
// traps when a promise is broken:
// - a kOk announcement has a non-empty argument range inside the line, a port
//   != 0 and the address family its kind implies; rewriting it with another
//   endpoint changes only that range and parses back to that endpoint and kind;
// - the LineBuffer, fed the input as 1-3 segments (in any order, overlapping,
//   from a random start sequence number, possibly across 2^32), reports only
//   lines of at most max_line bytes without LF, whose bytes are exactly the
//   input at the reported sequence number followed by [CR] LF.
// Random choices come from a splitmix64 stream seeded by a hash of the input.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "aspf/ftp/ftp_parser.h"
#include "aspf/line_buffer.h"

namespace {

using fw::aspf::LineBuffer;
using fw::aspf::ftp::Kind;
using fw::aspf::ftp::ParseResult;
using fw::aspf::ftp::ParseStatus;
using fw::common::IpAddr;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

class Rng {
 public:
  explicit Rng(std::span<const uint8_t> data) {
    uint64_t h = 1469598103934665603ull;
    for (uint8_t b : data) h = (h ^ b) * 1099511628211ull;
    state_ = h;
  }
  uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ull;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  size_t below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(next() % n); }

 private:
  uint64_t state_;
};

void check_announcement(std::string_view line, const ParseResult& r, bool client, Rng& rng) {
  if (r.status != ParseStatus::kOk) {
    check(r.status == ParseStatus::kIrrelevant || !r.why.empty());
    return;
  }
  const auto& a = r.a;
  check(a.arg_begin < a.arg_end && a.arg_end <= line.size());
  check(a.port != 0);
  switch (a.kind) {
    case Kind::kPort:
      check(client && a.addr.is_v4());
      break;
    case Kind::kEprt:
      check(client && (a.addr.is_v4() || a.addr.is_v6()));
      break;
    case Kind::kPasv227:
      check(!client && a.addr.is_v4());
      break;
    case Kind::kEpsv229:
      check(!client && a.addr.empty());
      break;
  }

  IpAddr to;
  if (a.kind == Kind::kEprt && rng.below(2)) {
    uint8_t b[16];
    for (uint8_t& x : b) x = static_cast<uint8_t>(rng.next());
    to = IpAddr::v6_bytes(b);
  } else {
    to = IpAddr::v4(static_cast<uint32_t>(rng.next()));
  }
  uint16_t port = static_cast<uint16_t>(1 + rng.below(65535));
  std::string out = fw::aspf::ftp::rewrite_line(line, a, to, port);
  // Only the argument changes.
  check(out.size() >= a.arg_begin + (line.size() - a.arg_end));
  check(std::string_view(out).substr(0, a.arg_begin) == line.substr(0, a.arg_begin));
  check(std::string_view(out).substr(out.size() - (line.size() - a.arg_end)) ==
        line.substr(a.arg_end));
  ParseResult back =
      client ? fw::aspf::ftp::parse_client_line(out) : fw::aspf::ftp::parse_server_line(out);
  check(back.status == ParseStatus::kOk);
  check(back.a.kind == a.kind);
  check(back.a.port == port);
  check(back.a.arg_begin == a.arg_begin);
  if (a.kind != Kind::kEpsv229) check(back.a.addr == to);
}

void parse_both(std::string_view line, Rng& rng) {
  check_announcement(line, fw::aspf::ftp::parse_client_line(line), true, rng);
  check_announcement(line, fw::aspf::ftp::parse_server_line(line), false, rng);
}

void line_buffer(std::span<const uint8_t> in, Rng& rng) {
  static const size_t kMax[] = {8, 32, 1024};
  size_t max_line = kMax[rng.below(3)];
  uint32_t isn = rng.below(2) ? static_cast<uint32_t>(0 - 1 - rng.below(64))
                              : static_cast<uint32_t>(rng.next());
  LineBuffer lb(max_line);
  lb.start(isn);
  // 1-3 segments: cut points in order, then possibly shuffled, stretched
  // backwards (overlap/retransmission) or repeated.
  size_t n = 1 + rng.below(3);
  size_t cut[4] = {0, 0, 0, in.size()};
  for (size_t k = 1; k < n; ++k) cut[k] = rng.below(in.size() + 1);
  if (n == 3 && cut[1] > cut[2]) std::swap(cut[1], cut[2]);
  cut[n] = in.size();
  size_t order[3] = {0, 1, 2};
  if (rng.below(4) == 0 && n > 1) std::swap(order[0], order[n - 1]);
  for (size_t k = 0; k < n; ++k) {
    size_t s = order[k];
    size_t b = cut[s], e = cut[s + 1];
    if (rng.below(4) == 0) b -= rng.below(b + 1);  // overlap with earlier bytes
    for (int rep = 0; rep < (rng.below(5) == 0 ? 2 : 1); ++rep) {
      auto lines = lb.feed(isn + static_cast<uint32_t>(b), in.subspan(b, e - b));
      for (const auto& l : lines) {
        check(l.text.size() <= max_line);
        check(l.text.find('\n') == std::string::npos);
        check(l.wire_len == l.text.size() + 1 || l.wire_len == l.text.size() + 2);
        size_t off = static_cast<uint32_t>(l.seq - isn);
        check(off + l.wire_len <= in.size());
        check(std::memcmp(in.data() + off, l.text.data(), l.text.size()) == 0);
        if (l.wire_len == l.text.size() + 2) check(in[off + l.text.size()] == '\r');
        check(in[off + l.wire_len - 1] == '\n');
        // A reported line starts the stream or follows a LF.
        check(off == 0 || in[off - 1] == '\n');
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  Rng rng(in);
  std::string_view all(reinterpret_cast<const char*>(data), size);
  parse_both(all, rng);
  // Each LF-separated piece too (without a CR before the LF), so seeds can
  // hold a small conversation.
  size_t start = 0;
  while (start < all.size()) {
    size_t lf = all.find('\n', start);
    size_t end = lf == std::string_view::npos ? all.size() : lf;
    std::string_view line = all.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (lf != std::string_view::npos || start > 0) parse_both(line, rng);
    if (lf == std::string_view::npos) break;
    start = lf + 1;
  }
  line_buffer(in, rng);
  return 0;
}
