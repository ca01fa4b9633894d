#include "aspf/line_buffer.h"

#include <cstring>

#include "aspf/stream_position.h"

namespace fw::aspf {

void LineBuffer::start(uint32_t seq) {
  started_ = true;
  synced_ = true;
  next_ = seq;
  pending_seq_ = seq;
  pending_.clear();
}

std::vector<Line> LineBuffer::feed(uint32_t seq, std::span<const uint8_t> payload) {
  std::vector<Line> out;
  if (payload.empty()) return out;
  if (!started_) {
    // Picked up mid-stream: where a line starts is unknown until the next LF.
    start(seq);
    synced_ = false;
    ++desyncs_;
  }
  const std::optional<size_t> skip = new_bytes_at(seq, payload.size());
  if (!skip) return out;
  scan(payload.data() + *skip, payload.size() - *skip, out);
  return out;
}

std::optional<size_t> LineBuffer::new_bytes_at(uint32_t seq, size_t len) {
  const SegmentPlace at = place_segment(seq, next_, len);
  if (!at.brings_new) return std::nullopt;
  if (at.gap) {
    // Bytes are missing: the pending line is incomplete and the data here may
    // be the middle of a line. Skip to the next LF.
    ++desyncs_;
    synced_ = false;
    pending_.clear();
    next_ = seq;
  }
  return at.seen;
}

void LineBuffer::scan(const uint8_t* d, size_t n, std::vector<Line>& out) {
  uint32_t base = next_;  // sequence number of d[0]
  size_t i = 0;
  while (i < n) {
    const void* hit = std::memchr(d + i, '\n', n - i);
    size_t lf = hit ? static_cast<size_t>(static_cast<const uint8_t*>(hit) - d) : n;
    if (!synced_) {
      if (lf == n) break;
      synced_ = true;
      pending_.clear();
      pending_seq_ = base + static_cast<uint32_t>(lf + 1);
      i = lf + 1;
      continue;
    }
    size_t chunk = lf - i;
    // pending_ never holds more than max_line_ + 1 bytes (a full line plus its CR).
    if (pending_.size() + chunk > max_line_ + 1) {
      ++overlong_;
      pending_.clear();
      if (lf == n) {
        synced_ = false;  // resynchronise at the next LF
        break;
      }
      pending_seq_ = base + static_cast<uint32_t>(lf + 1);
      i = lf + 1;
      continue;
    }
    pending_.append(reinterpret_cast<const char*>(d + i), chunk);
    if (lf == n) break;
    size_t wire = pending_.size() + 1;
    if (!pending_.empty() && pending_.back() == '\r') pending_.pop_back();
    if (pending_.size() > max_line_) {
      ++overlong_;
    } else {
      out.push_back(Line{pending_seq_, std::move(pending_), wire});
    }
    pending_.clear();
    pending_seq_ = base + static_cast<uint32_t>(lf + 1);
    i = lf + 1;
  }
  next_ = base + static_cast<uint32_t>(n);
}

namespace {

class LineFramer final : public Framer {
 public:
  explicit LineFramer(size_t max) : buf_(max) {}
  void start(uint32_t seq) override { buf_.start(seq); }
  bool started() const override { return buf_.started(); }
  std::vector<Message> feed(uint32_t seq, std::span<const uint8_t> payload) override {
    std::vector<Message> out;
    for (auto& l : buf_.feed(seq, payload)) {
      Message m;
      m.seq = l.seq;
      m.bytes.assign(l.text.begin(), l.text.end());
      out.push_back(std::move(m));
    }
    return out;
  }

 private:
  LineBuffer buf_;
};

}  // namespace

std::unique_ptr<Framer> make_line_framer(size_t max_line) {
  return std::make_unique<LineFramer>(max_line);
}

}  // namespace fw::aspf
