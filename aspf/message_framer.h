#pragma once
// Frames one direction of a TCP stream of text messages made of a header block
// (CR LF lines up to an empty line) and a body of Content-Length bytes: RTSP
// (RFC 2326/7826) and SIP over TCP (RFC 3261 section 18.3). Messages split
// across segments are reassembled by TCP sequence number, several messages in
// one segment are all seen, leading empty lines (SIP keep-alives) are skipped.
//
// What cannot be framed is passed on as one `unframed` Message with no bytes,
// so the inspector counts it and leaves it untouched:
//  - a message larger than the maximum: its header block is longer than the
//    maximum (the stream then resynchronises, see below), or its body would
//    make it so (the body is skipped by its Content-Length, the stream stays
//    in sync);
//  - a header block whose Content-Length is not a single decimal number;
//  - a gap in the stream (lost or reordered data): the bytes after it may be
//    the middle of a message.
// After a gap or a bad header block, nothing counts until an empty line (the
// end of some header block) is followed by a line shaped like a start line
// ("METHOD uri PROTO/x.y" or "PROTO/x.y nnn ..."), as LineBuffer waits for the
// next line boundary: text in the middle of a message must not be taken for a
// message.
//
// With `interleaved` (RTSP, RFC 2326 section 10.12), binary frames "$" channel
// length(16) data between messages are skipped.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "aspf/inspector.h"

namespace fw::aspf {

struct MessageFramerOptions {
  size_t max_message = 16384;  // header block + body
  bool interleaved = false;    // skip RTSP "$" binary frames between messages
};

class MessageFramer final : public Framer {
 public:
  explicit MessageFramer(MessageFramerOptions o = {});
  void start(uint32_t seq) override;
  bool started() const override { return started_; }
  std::vector<Message> feed(uint32_t seq, std::span<const uint8_t> payload) override;

  uint32_t next_seq() const { return next_; }
  uint64_t desyncs() const { return desyncs_; }
  uint64_t unframed() const { return unframed_; }

 private:
  enum class St : uint8_t { kBoundary, kHead, kBody, kSkip, kDollar, kDesync };
  // Where the new bytes of a segment of `len` bytes at `seq` begin (how many
  // were seen before), or nullopt when it brings nothing to take: all seen, or
  // implausibly far ahead. A gap loses sync unless it fell in skipped bytes.
  std::optional<size_t> new_bytes_at(uint32_t seq, size_t len, std::vector<Message>& out);
  // Runs the state machine over `n` new bytes (d[0] at next_).
  void consume(const uint8_t* d, size_t n, std::vector<Message>& out);
  // Each consumes bytes from d (n bytes, d[0] at sequence number base) and
  // returns how many it used.
  size_t boundary(const uint8_t* d, size_t n, uint32_t base);
  size_t head(const uint8_t* d, size_t n, std::vector<Message>& out);
  size_t body(const uint8_t* d, size_t n, std::vector<Message>& out);
  size_t skip(size_t n);
  size_t dollar(const uint8_t* d, size_t n);
  size_t desync_scan(const uint8_t* d, size_t n);
  void header_done(size_t end, std::vector<Message>& out);
  void lose_sync(std::vector<Message>* out, uint32_t at);
  void emit(std::vector<Message>& out);

  MessageFramerOptions opt_;
  bool started_ = false;
  bool probation_ = false;  // resynchronised: the next start line must look like one
  St st_ = St::kBoundary;
  uint32_t next_ = 0;     // next expected sequence number
  uint32_t msg_seq_ = 0;  // first byte of the message being assembled
  std::vector<uint8_t> buf_;
  size_t scan_from_ = 0;  // head: where to look for the empty line next
  size_t need_ = 0;       // body / skip: bytes still to come
  uint8_t dollar_[4] = {};
  size_t dollar_len_ = 0;
  uint8_t nl_ = 0;  // desync: 1 = after LF, 2 = after LF CR
  uint64_t desyncs_ = 0, unframed_ = 0;
};

// The value of the Content-Length header (or SIP's compact "l") of a header
// block; 0 when absent; nullopt when malformed or given twice with different
// values.
std::optional<size_t> content_length(std::string_view head);
// Whether `line` is shaped like a request or status line.
bool looks_like_start_line(std::string_view line);

std::unique_ptr<Framer> make_message_framer(MessageFramerOptions o);

}  // namespace fw::aspf
