#include "session/seq_adjust.h"

#include "common/bytes.h"
#include "packet/tcp_options.h"

namespace fw::session {
namespace {

// No segment or ACK can refer to data further back than the largest TCP
// window (2^30 with window scaling, RFC 7323). Entries older than that are
// folded into the base delta, so every entry lies within this distance of the
// newest one and serial-number comparisons among them are always exact.
constexpr uint32_t kWindow = 1u << 30;
// Far beyond any real stream's accumulated length change; keeps the 64-bit
// delta arithmetic of later rewrites clear of overflow after a load().
constexpr int64_t kMaxDelta = int64_t{1} << 40;

bool serial_le(uint32_t a, uint32_t b) { return static_cast<int32_t>(b - a) >= 0; }
bool serial_lt(uint32_t a, uint32_t b) { return static_cast<int32_t>(b - a) > 0; }
uint32_t low32(int64_t v) { return static_cast<uint32_t>(v); }  // modulo 2^32

using common::rd32;
using common::wr32;

}  // namespace

int64_t SeqAdjust::total_delta() const {
  return entries_.empty() ? base_delta_ : entries_.back().delta;
}

void SeqAdjust::record(uint32_t pos, uint32_t old_len, uint32_t new_len) {
  if (have_last_) {
    if (serial_le(pos, last_pos_)) return;  // retransmission of a recorded rewrite
    // Overlapping the previous rewritten region cannot come from a real
    // rewrite of separate messages; recording it would corrupt the mapping.
    if (serial_lt(pos, last_end_)) return;
  }
  have_last_ = true;
  last_pos_ = pos;
  last_end_ = pos + old_len;
  // Same length: the numbering does not change, so no entry (an ACK inside
  // such a region maps exactly; it is not rounded like one inside a resized region).
  if (old_len == new_len) return;

  int64_t prev = total_delta();
  int64_t delta = prev + static_cast<int64_t>(new_len) - static_cast<int64_t>(old_len);
  Entry e;
  e.pos = pos;
  e.pos_after = pos + old_len;
  e.new_pos = pos + low32(prev);
  e.new_after = e.pos_after + low32(delta);
  e.delta = delta;
  entries_.push_back(e);

  // Merge the oldest entry into the base: sequence numbers from its pos_after
  // on keep mapping exactly; only those before it (older than anything a
  // retransmission still reaches) lose precision.
  size_t cap = max_ > 0 ? max_ : 1;
  size_t drop = 0;
  while (entries_.size() - drop > cap ||
         (entries_.size() - drop > 1 && pos - entries_[drop].pos_after > kWindow)) {
    base_delta_ = entries_[drop].delta;
    ++drop;
  }
  if (drop > 0) entries_.erase(entries_.begin(), entries_.begin() + static_cast<ptrdiff_t>(drop));
}

SeqAdjust::Saved SeqAdjust::save() const {
  Saved s;
  s.entries.reserve(entries_.size());
  for (const Entry& e : entries_) s.entries.push_back({e.pos, e.pos_after, e.delta});
  s.base_delta = base_delta_;
  s.have_last = have_last_;
  s.last_pos = last_pos_;
  s.last_end = last_end_;
  return s;
}

bool SeqAdjust::load(const Saved& s) {
  auto delta_ok = [](int64_t d) { return d >= -kMaxDelta && d <= kMaxDelta; };
  if (!delta_ok(s.base_delta)) return false;
  if (!s.have_last) {
    if (!s.entries.empty() || s.base_delta != 0) return false;
  } else if (s.last_end - s.last_pos >= kWindow) {
    return false;
  }
  if (s.entries.size() > (max_ > 0 ? max_ : 1)) return false;
  for (size_t k = 0; k < s.entries.size(); ++k) {
    const Saved::Entry& e = s.entries[k];
    if (!delta_ok(e.delta) || e.pos_after - e.pos >= kWindow) return false;
    // record() keeps rewrites in order, apart, and within a window of the newest.
    if (k > 0 && !serial_le(s.entries[k - 1].pos_after, e.pos)) return false;
    if (k + 1 < s.entries.size() && s.entries.back().pos - e.pos_after > kWindow) return false;
  }
  if (!s.entries.empty() && !serial_le(s.entries.back().pos, s.last_pos)) return false;

  entries_.clear();
  int64_t prev = s.base_delta;
  for (const Saved::Entry& e : s.entries) {
    entries_.push_back(
        {e.pos_after, e.pos_after + low32(e.delta), e.delta, e.pos, e.pos + low32(prev)});
    prev = e.delta;
  }
  base_delta_ = s.base_delta;
  have_last_ = s.have_last;
  last_pos_ = s.last_pos;
  last_end_ = s.last_end;
  return true;
}

uint32_t SeqAdjust::map_seq(uint32_t orig_seq) const {
  if (entries_.empty()) return orig_seq + low32(base_delta_);
  const Entry& last = entries_.back();
  // At or after the newest rewrite - or so far "behind" it that it can only be
  // ahead by more than 2^31 (a long stream without rewrites since).
  uint32_t behind = last.pos_after - orig_seq;
  if (behind == 0 || behind > kWindow) return orig_seq + low32(last.delta);
  for (size_t k = entries_.size(); k-- > 0;) {
    if (serial_le(entries_[k].pos_after, orig_seq)) return orig_seq + low32(entries_[k].delta);
  }
  return orig_seq + low32(base_delta_);
}

uint32_t SeqAdjust::unmap(uint32_t wire_seq) const { return unmap(wire_seq, Round::kDown); }

uint32_t SeqAdjust::unmap(uint32_t wire_seq, Round r) const {
  if (entries_.empty()) return wire_seq - low32(base_delta_);
  const Entry& last = entries_.back();
  uint32_t behind = last.new_after - wire_seq;
  if (behind == 0 || behind > kWindow) return wire_seq - low32(last.delta);
  for (size_t k = entries_.size(); k-- > 0;) {
    const Entry& e = entries_[k];
    if (serial_le(e.new_after, wire_seq)) return wire_seq - low32(e.delta);
    // Strictly inside the new bytes of this rewrite.
    if (serial_lt(e.new_pos, wire_seq)) return r == Round::kDown ? e.pos : e.pos_after;
  }
  return wire_seq - low32(base_delta_);
}

bool adjust_tcp(std::span<uint8_t> pkt, const packet::Parsed& p, const SeqAdjust* own,
                const SeqAdjust* peer) {
  if (p.proto != packet::kProtoTcp || !p.has_l4 || p.l4_len < 20) return false;
  size_t l4 = p.l4_offset;
  size_t end = l4 + p.l4_len;
  if (end > pkt.size() || end > p.ip_total_len) return false;
  uint8_t* t = pkt.data() + l4;
  if (static_cast<size_t>(t[12] >> 4) * 4 != p.l4_len) return false;

  // Validate the whole option list before changing anything.
  std::span<uint8_t> opts(t + 20, p.l4_len - 20);
  if (!packet::options_ok(opts)) return false;

  if (own) wr32(t + 4, own->map_seq(rd32(t + 4)));
  if (!peer) return true;
  if (t[13] & packet::kTcpAck) wr32(t + 8, peer->unmap(rd32(t + 8)));
  packet::for_each_option(opts, [&](uint8_t kind, size_t at, size_t len) {
    // A SACK option of any other length is ignored by receivers (Linux
    // tcp_parse_options), so it is left as it is.
    if (kind != packet::kTcpOptSack || len < 10 || (len - 2) % 8 != 0) return;
    for (size_t b = at + 2; b + 8 <= at + len; b += 8) {
      // Rounded so a block never claims more than the receiver has.
      wr32(&opts[b], peer->unmap(rd32(&opts[b]), SeqAdjust::Round::kUp));
      wr32(&opts[b + 4], peer->unmap(rd32(&opts[b + 4]), SeqAdjust::Round::kDown));
    }
  });
  return true;
}

}  // namespace fw::session
