#pragma once
// Where a TCP segment stands in the byte stream a framer reassembles (serial-number
// arithmetic, RFC 1982): the one reading of a segment's sequence number that LineBuffer and
// MessageFramer share; what a gap does to each is theirs.
#include <cstddef>
#include <cstdint>

namespace fw::aspf {

// A segment starting further ahead than any TCP window allows (2^30 with window scaling,
// RFC 7323) is not a gap but garbage (or an injection): it is ignored instead of moving the
// stream position, which would make all the genuine data after it look like old
// retransmissions.
inline constexpr uint32_t kMaxStreamGap = 1u << 30;

struct SegmentPlace {
  bool brings_new = false;  // false: all of it seen already, or implausibly far ahead
  size_t seen = 0;          // bytes at its start seen already (an overlapping retransmission)
  uint32_t gap = 0;         // bytes missing between the stream position and its start
};

// A segment of `len` bytes at `seq`, against `next`: the sequence number of the next byte the
// stream expects.
inline SegmentPlace place_segment(uint32_t seq, uint32_t next, size_t len) {
  const int32_t diff = static_cast<int32_t>(seq - next);  // negative: behind `next`
  if (diff < 0) {
    const uint32_t behind = next - seq;
    if (behind >= len) return {};  // nothing new
    return {true, behind, 0};      // partial overlap: the new tail
  }
  if (static_cast<uint32_t>(diff) > kMaxStreamGap) return {};
  return {true, 0, static_cast<uint32_t>(diff)};
}

}  // namespace fw::aspf
