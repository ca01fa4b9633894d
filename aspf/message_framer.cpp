#include "aspf/message_framer.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "aspf/stream_position.h"

namespace fw::aspf {
namespace {

constexpr size_t kMaxLengthDigits = 9;  // Content-Length below 10^9

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (is_space(s.front()) || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (is_space(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// "NAME/d.d" (RTSP/1.0, SIP/2.0, HTTP/1.1).
bool is_version(std::string_view s) {
  const size_t slash = s.find('/');
  if (slash == 0 || slash == std::string_view::npos || s.size() != slash + 4) return false;
  for (size_t i = 0; i < slash; ++i) {
    if (!std::isupper(static_cast<unsigned char>(s[i]))) return false;
  }
  return std::isdigit(static_cast<unsigned char>(s[slash + 1])) && s[slash + 2] == '.' &&
         std::isdigit(static_cast<unsigned char>(s[slash + 3]));
}

bool is_method(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isupper(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

}  // namespace

bool looks_like_start_line(std::string_view line) {
  line = trim(line);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) {
    return false;
  }
  const std::string_view first = line.substr(0, sp1);
  if (is_version(first)) {  // status line: PROTO/x.y nnn reason
    const std::string_view code = line.substr(sp1 + 1, 3);
    return code.size() == 3 && std::all_of(code.begin(), code.end(), [](char c) {
             return std::isdigit(static_cast<unsigned char>(c));
           });
  }
  return is_method(first) && is_version(line.substr(sp2 + 1));  // METHOD uri PROTO/x.y
}

std::optional<size_t> content_length(std::string_view head) {
  std::optional<size_t> found;
  size_t pos = head.find('\n');  // the start line has no headers
  while (pos != std::string_view::npos && pos + 1 < head.size()) {
    const size_t from = pos + 1;
    pos = head.find('\n', from);
    std::string_view line =
        head.substr(from, pos == std::string_view::npos ? std::string_view::npos : pos - from);
    const size_t colon = line.find(':');
    if (line.empty() || is_space(line[0]) || colon == std::string_view::npos) continue;
    const std::string_view name = trim(line.substr(0, colon));
    if (!iequals(name, "content-length") && !iequals(name, "l")) continue;
    const std::string_view v = trim(line.substr(colon + 1));
    if (v.empty() || v.size() > kMaxLengthDigits) return std::nullopt;
    size_t n = 0;
    for (char c : v) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
      n = n * 10 + static_cast<size_t>(c - '0');
    }
    if (found && *found != n) return std::nullopt;
    found = n;
  }
  return found.value_or(0);
}

MessageFramer::MessageFramer(MessageFramerOptions o) : opt_(o) {
  opt_.max_message = std::max<size_t>(opt_.max_message, 16);
}

void MessageFramer::start(uint32_t seq) {
  started_ = true;
  probation_ = false;
  st_ = St::kBoundary;
  next_ = seq;
  buf_.clear();
  need_ = 0;
  dollar_len_ = 0;
  nl_ = 0;
}

std::vector<Message> MessageFramer::feed(uint32_t seq, std::span<const uint8_t> payload) {
  std::vector<Message> out;
  if (payload.empty()) return out;
  if (!started_) {
    // Picked up mid-stream: where a message starts is unknown.
    start(seq);
    lose_sync(nullptr, seq);
  }
  const std::optional<size_t> already = new_bytes_at(seq, payload.size(), out);
  if (!already) return out;
  consume(payload.data() + *already, payload.size() - *already, out);
  return out;
}

std::optional<size_t> MessageFramer::new_bytes_at(uint32_t seq, size_t len,
                                                  std::vector<Message>& out) {
  const SegmentPlace at = place_segment(seq, next_, len);
  if (!at.brings_new) return std::nullopt;
  if (at.gap) {
    if (st_ == St::kSkip && at.gap < need_) {
      need_ -= at.gap;  // the bytes lost were being skipped anyway: still in sync
    } else {
      lose_sync(&out, next_);
    }
    next_ = seq;
  }
  return at.seen;
}

void MessageFramer::consume(const uint8_t* d, size_t n, std::vector<Message>& out) {
  const uint32_t base = next_;
  size_t i = 0;
  while (i < n) {
    switch (st_) {
      case St::kBoundary:
        i += boundary(d + i, n - i, base + static_cast<uint32_t>(i));
        break;
      case St::kHead:
        i += head(d + i, n - i, out);
        break;
      case St::kBody:
        i += body(d + i, n - i, out);
        break;
      case St::kSkip:
        i += skip(n - i);
        break;
      case St::kDollar:
        i += dollar(d + i, n - i);
        break;
      case St::kDesync:
        i += desync_scan(d + i, n - i);
        break;
    }
  }
  next_ = base + static_cast<uint32_t>(n);
}

size_t MessageFramer::boundary(const uint8_t* d, size_t n, uint32_t base) {
  size_t k = 0;
  while (k < n && (d[k] == '\r' || d[k] == '\n')) ++k;  // empty lines between messages
  if (k == n) return n;
  if (opt_.interleaved && d[k] == '$') {
    st_ = St::kDollar;
    dollar_len_ = 0;
    return k;
  }
  st_ = St::kHead;
  msg_seq_ = base + static_cast<uint32_t>(k);
  buf_.clear();
  scan_from_ = 0;
  return k;
}

size_t MessageFramer::head(const uint8_t* d, size_t n, std::vector<Message>& out) {
  const size_t old = buf_.size();
  const size_t take = std::min(n, opt_.max_message + 1 - old);
  buf_.insert(buf_.end(), d, d + take);
  // The header block ends with an empty line: LF LF or LF CR LF.
  size_t j = scan_from_, end = 0;
  while (j < buf_.size()) {
    const void* hit = std::memchr(buf_.data() + j, '\n', buf_.size() - j);
    if (!hit) {
      j = buf_.size();
      break;
    }
    const size_t k = static_cast<size_t>(static_cast<const uint8_t*>(hit) - buf_.data());
    if (k + 1 >= buf_.size() || (buf_[k + 1] == '\r' && k + 2 >= buf_.size())) {
      j = k;  // the next bytes decide
      break;
    }
    if (buf_[k + 1] == '\n') end = k + 2;
    if (buf_[k + 1] == '\r' && buf_[k + 2] == '\n') end = k + 3;
    if (end) break;
    j = k + 1;
  }
  scan_from_ = j;
  if (end) {
    buf_.resize(end);
    header_done(end, out);
    return end - old;
  }
  if (buf_.size() > opt_.max_message) lose_sync(&out, msg_seq_);
  return take;
}

void MessageFramer::header_done(size_t end, std::vector<Message>& out) {
  const std::string_view h(reinterpret_cast<const char*>(buf_.data()), end);
  if (probation_) {
    if (!looks_like_start_line(h.substr(0, h.find('\n')))) {
      lose_sync(nullptr, msg_seq_);  // still not at a message: keep looking
      return;
    }
    probation_ = false;
  }
  const auto len = content_length(h);
  if (!len) {
    lose_sync(&out, msg_seq_);
    return;
  }
  if (end > opt_.max_message || *len > opt_.max_message - end) {
    // Too large to hold, but its end is known: skip it and stay in sync.
    out.push_back(Message{msg_seq_, {}, 0});
    ++unframed_;
    buf_.clear();
    need_ = *len;
    st_ = need_ ? St::kSkip : St::kBoundary;
    return;
  }
  need_ = *len;
  if (need_ == 0) {
    emit(out);
  } else {
    st_ = St::kBody;
  }
}

size_t MessageFramer::body(const uint8_t* d, size_t n, std::vector<Message>& out) {
  const size_t take = std::min(n, need_);
  buf_.insert(buf_.end(), d, d + take);
  need_ -= take;
  if (need_ == 0) emit(out);
  return take;
}

size_t MessageFramer::skip(size_t n) {
  const size_t take = std::min(n, need_);
  need_ -= take;
  if (need_ == 0) st_ = St::kBoundary;
  return take;
}

size_t MessageFramer::dollar(const uint8_t* d, size_t n) {
  const size_t take = std::min(n, sizeof(dollar_) - dollar_len_);
  std::memcpy(dollar_ + dollar_len_, d, take);
  dollar_len_ += take;
  if (dollar_len_ == sizeof(dollar_)) {
    need_ = static_cast<size_t>(dollar_[2]) << 8 | dollar_[3];
    st_ = need_ ? St::kSkip : St::kBoundary;
  }
  return take;
}

size_t MessageFramer::desync_scan(const uint8_t* d, size_t n) {
  for (size_t k = 0; k < n; ++k) {
    if (d[k] == '\n') {
      if (nl_ != 0) {  // an empty line: a header block ended here
        st_ = St::kBoundary;
        probation_ = true;
        nl_ = 0;
        return k + 1;
      }
      nl_ = 1;
    } else {
      nl_ = d[k] == '\r' && nl_ == 1 ? 2 : 0;
    }
  }
  return n;
}

void MessageFramer::lose_sync(std::vector<Message>* out, uint32_t at) {
  if (st_ == St::kDesync) return;
  ++desyncs_;
  if (out) {
    out->push_back(Message{at, {}, 0});
    ++unframed_;
  }
  st_ = St::kDesync;
  buf_.clear();
  need_ = 0;
  nl_ = 0;
  probation_ = false;
}

void MessageFramer::emit(std::vector<Message>& out) {
  out.push_back(Message{msg_seq_, std::move(buf_), 0});
  buf_.clear();
  st_ = St::kBoundary;
}

std::unique_ptr<Framer> make_message_framer(MessageFramerOptions o) {
  return std::make_unique<MessageFramer>(o);
}

}  // namespace fw::aspf
