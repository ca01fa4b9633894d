#pragma once
// Reassembles CR LF terminated lines of one direction of a TCP control stream,
// by TCP sequence number, so a command split across segments is still seen and
// two commands in one segment are both seen. Only lines that start at a verified
// line boundary are reported: after a gap (lost/out-of-order data) or an
// over-long line, everything up to the next LF is skipped (an attacker must not
// make text in the middle of a line look like a command).
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "aspf/inspector.h"

namespace fw::aspf {

struct Line {
  uint32_t seq = 0;     // TCP sequence number of the line's first byte
  std::string text;     // without the trailing CR LF (or LF)
  size_t wire_len = 0;  // bytes on the wire including the terminator
};

class LineBuffer {
 public:
  explicit LineBuffer(size_t max_line = 1024) : max_line_(max_line) {}
  // Start of the stream: the sequence number of the first payload byte (ISN+1).
  void start(uint32_t seq);
  bool started() const { return started_; }
  // Feed one segment's payload starting at `seq`. Data already seen
  // (retransmissions) is ignored; data beyond a gap desynchronises the buffer
  // until the next LF. Returns the complete lines that ended in this segment.
  std::vector<Line> feed(uint32_t seq, std::span<const uint8_t> payload);
  uint32_t next_seq() const { return next_; }
  uint64_t desyncs() const { return desyncs_; }
  uint64_t overlong() const { return overlong_; }

 private:
  // Where the new bytes of a segment of `len` bytes at `seq` begin (how many
  // were seen before), or nullopt when it brings nothing to take: all seen, or
  // implausibly far ahead. A gap desynchronises the buffer.
  std::optional<size_t> new_bytes_at(uint32_t seq, size_t len);
  // Splits `n` new bytes (d[0] at next_) into lines.
  void scan(const uint8_t* d, size_t n, std::vector<Line>& out);

  size_t max_line_;
  bool started_ = false;
  bool synced_ = true;  // the pending bytes start at a line boundary
  uint32_t next_ = 0;   // next expected sequence number
  uint32_t pending_seq_ = 0;
  std::string pending_;
  uint64_t desyncs_ = 0, overlong_ = 0;
};

// A Framer for ALGs whose control messages are CR LF lines (FTP).
std::unique_ptr<Framer> make_line_framer(size_t max_line);

}  // namespace fw::aspf
