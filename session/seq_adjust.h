#pragma once
// TCP sequence adjustment after payload rewrites that change lengths (FTP PORT,
// SIP, ...). One SeqAdjust per direction of a session. Each rewrite records the
// original sequence number just after the rewritten bytes and the cumulative
// length change from there on; several rewrites may be in flight at once, and
// a retransmission of an old segment maps exactly as the original did.
// All comparisons use serial-number arithmetic (wrap-around safe).
#include <cstdint>
#include <span>
#include <vector>

#include "packet/parse.h"

namespace fw::session {

class SeqAdjust {
 public:
  explicit SeqAdjust(size_t max_entries = 64) : max_(max_entries) {}
  // A rewrite of the original bytes [pos, pos+old_len) into new_len bytes.
  // Must be recorded in increasing `pos` order (a rewrite at or before an
  // already recorded position is ignored: it is a retransmission).
  void record(uint32_t pos, uint32_t old_len, uint32_t new_len);
  // Original sequence number -> sequence number on the wire after rewrites.
  uint32_t map_seq(uint32_t orig_seq) const;
  // Sequence number as the receiver sees it (an ACK or SACK edge it sends back)
  // -> the original numbering of the sender.
  uint32_t unmap(uint32_t wire_seq) const;
  // A wire number strictly inside the new bytes of a rewrite has no exact
  // original: kDown gives the start of the original region (what unmap() does:
  // an ACK must never cover original bytes whose new bytes were not all
  // received), kUp the end of it (for a SACK left edge).
  enum class Round : uint8_t { kDown, kUp };
  uint32_t unmap(uint32_t wire_seq, Round r) const;
  bool empty() const { return entries_.empty(); }
  int64_t total_delta() const;

  // The whole state, so a restart of the daemon can carry it over
  // (session/snapshot.h). Where each rewrite lies on the wire is derived from
  // the deltas, so a saved state cannot contradict itself there.
  struct Saved {
    struct Entry {
      uint32_t pos = 0;        // original seq of the first rewritten byte
      uint32_t pos_after = 0;  // original seq of the first byte after them
      int64_t delta = 0;       // cumulative (wire - original) from pos_after on
    };
    std::vector<Entry> entries;  // oldest first
    int64_t base_delta = 0;
    bool have_last = false;
    uint32_t last_pos = 0, last_end = 0;
  };
  Saved save() const;
  // Replaces the state with a saved one; false (nothing changed) when `s` is not
  // a state record() can produce (order, spacing, count, deltas out of range).
  bool load(const Saved& s);

 private:
  struct Entry {
    uint32_t pos_after;  // original seq of the first byte after the rewritten bytes
    uint32_t new_after;  // where that byte is on the wire
    int64_t delta;       // cumulative (wire - original) from pos_after on
    uint32_t pos;        // original seq of the first rewritten byte
    uint32_t new_pos;    // where the rewritten bytes start on the wire
  };
  size_t max_;
  std::vector<Entry> entries_;
  int64_t base_delta_ = 0;  // delta before the first entry (older entries merged into it)
  bool have_last_ = false;  // a rewrite was recorded (possibly one of equal length, no entry)
  uint32_t last_pos_ = 0, last_end_ = 0;
};

// Patch a TCP packet in place (no checksum update - the caller recomputes):
// seq through `own` (this direction's rewrites), ack and every SACK block edge
// through `peer` (the other direction's rewrites, unmapped). Returns false if the
// TCP header does not parse consistently with `p`.
bool adjust_tcp(std::span<uint8_t> pkt, const packet::Parsed& p, const SeqAdjust* own,
                const SeqAdjust* peer);

}  // namespace fw::session
