#include "policy/classifier.h"

#include <algorithm>
#include <optional>
#include <string_view>
#include <unordered_set>

#include "policy/service_entries.h"

namespace fw::policy {

namespace {

using U128 = unsigned __int128;
using Bits = std::vector<uint64_t>;

constexpr size_t kChunkWords = 8;  // one 64-byte cache line
constexpr size_t kChunkBits = kChunkWords * 64;
static_assert(32 % kChunkWords == 0, "a chunk's words are a slice of one 32-bit summary word");

bool is_ports_proto(uint8_t p) { return p == 6 || p == 17; }
bool is_icmp_proto(uint8_t p) { return p == 1 || p == 58; }

// ICMP types are ints; flipping the sign bit keeps their order as unsigned keys.
uint32_t icmp_key(int type) { return static_cast<uint32_t>(type) ^ 0x80000000u; }

U128 v6_key(const common::IpAddr& a) {
  U128 k = 0;
  for (uint8_t byte : a.b) k = (k << 8) | byte;
  return k;
}

// Prefix::contains, except that a length past 128 (which contains would read out of bounds for)
// matches nothing.
bool safe_contains(const common::Prefix& p, const common::IpAddr& a) {
  return p.len <= 128 && p.contains(a);
}

// A prefix the index cannot represent exactly (see Classifier::OddPrefixes).
bool is_odd(const common::Prefix& p) {
  return (p.addr.family != 4 && p.addr.family != 6) || p.len > (p.addr.is_v4() ? 32 : 128);
}

// Stores fixed-width arrays back to back in one vector and gives equal contents one id.
template <typename Word>
class Interner {
 public:
  Interner(std::vector<Word>* store, size_t width)
      : store_(store), width_(width), ids_(1024, Hash{this}, Eq{this}) {}
  Interner(const Interner&) = delete;
  Interner& operator=(const Interner&) = delete;

  uint32_t intern(const Word* item) {
    // Append first so the set can hash and compare it like any stored item; undo if known.
    const auto id = static_cast<uint32_t>(store_->size() / width_);
    store_->insert(store_->end(), item, item + width_);
    auto [it, fresh] = ids_.insert(id);
    if (!fresh) store_->resize(store_->size() - width_);
    return *it;
  }

 private:
  const Word* at(uint32_t id) const { return store_->data() + size_t{id} * width_; }
  struct Hash {
    const Interner* in;
    size_t operator()(uint32_t id) const {
      const auto* p = reinterpret_cast<const char*>(in->at(id));
      return std::hash<std::string_view>{}(std::string_view(p, in->width_ * sizeof(Word)));
    }
  };
  struct Eq {
    const Interner* in;
    bool operator()(uint32_t a, uint32_t b) const {
      return std::equal(in->at(a), in->at(a) + in->width_, in->at(b));
    }
  };
  std::vector<Word>* store_;
  size_t width_;
  std::unordered_set<uint32_t, Hash, Eq> ids_;
};

template <typename Key>
struct Span {
  Key lo, hi;
  uint32_t entry;
};

// What the entries ask of one dimension: key intervals, and the entries without a condition.
template <typename Key>
struct DimInput {
  std::vector<Span<Key>> spans;
  Bits any;
  bool constrained = false;
};

// One entry's key ranges in one service dimension, appended to `out`; false if the entry has no
// condition there.
template <typename Key>
using Ranges = std::vector<std::pair<Key, Key>>;

// The service key of a flow: protocol, then the destination port (TCP/UDP) or the ICMP type
// (ICMP/ICMPv6) or nothing. One exact dimension instead of three (protocol, port, type) spares a
// lookup two rows.
uint64_t service_key(uint8_t proto, uint32_t low) { return uint64_t{proto} << 32 | low; }

uint64_t flow_service_key(const FlowInfo& f) {
  if (is_ports_proto(f.proto)) return service_key(f.proto, f.dport);
  if (is_icmp_proto(f.proto)) return service_key(f.proto, icmp_key(f.icmp_type));
  return service_key(f.proto, 0);
}

bool service_ranges(const EntryService& s, Ranges<uint64_t>& out) {
  const auto full = [](const auto& r) { return r.first == 0 && r.second == 65535; };
  const bool any_port = std::any_of(s.dports.begin(), s.dports.end(), full);
  for (uint8_t p : s.protos) {
    if (is_ports_proto(p) && !any_port) {
      for (const auto& [lo, hi] : s.dports) out.push_back({service_key(p, lo), service_key(p, hi)});
    } else if (is_icmp_proto(p) && !s.icmp_any) {
      for (int t : s.icmp_types)
        out.push_back({service_key(p, icmp_key(t)), service_key(p, icmp_key(t))});
    } else {
      out.push_back({service_key(p, 0), service_key(p, 0xffffffff)});  // the whole protocol
    }
  }
  return !s.protos.empty();
}

// The source port is only consulted for TCP/UDP flows, where the service dimension has already
// excluded entries without those protocols: such entries are "any" here. So is the full range,
// which most services have: then no entry constrains the dimension and lookups skip it.
bool sport_ranges(const EntryService& s, Ranges<uint32_t>& out) {
  const bool ports = std::any_of(s.protos.begin(), s.protos.end(), is_ports_proto);
  if (!ports || (s.sport_lo == 0 && s.sport_hi == 65535)) return false;
  out.push_back({s.sport_lo, s.sport_hi});
  return true;
}

// Per chunk, bit w set iff word w of the chunk is not zero.
std::vector<uint8_t> word_masks(const std::vector<uint64_t>& chunk_words) {
  std::vector<uint8_t> masks(chunk_words.size() / kChunkWords, 0);
  for (size_t w = 0; w < chunk_words.size(); ++w) {
    if (chunk_words[w] != 0) masks[w / kChunkWords] |= uint8_t(1u << (w % kChunkWords));
  }
  return masks;
}

void set_bit(Bits& b, uint32_t i) { b[i / 64] |= uint64_t{1} << (i % 64); }
void clear_bit(Bits& b, uint32_t i) { b[i / 64] &= ~(uint64_t{1} << (i % 64)); }

}  // namespace

// Compiles rules into a Classifier: expands rules into entries, then builds each dimension's
// interval table with a sweep line over its interval end points.
class ClassifierBuilder {
 public:
  ClassifierBuilder(Classifier& out, const std::vector<ClassifierRule>& rules)
      : out_(out), rules_(rules), chunks_(&out.chunk_words_, kChunkWords) {}

  void build() {
    expand_entries();
    const Bits zero(kChunkWords, 0);
    chunks_.intern(zero.data());  // id 0: the all-zero chunk most rows are made of
    rows_.emplace(&row_chunks_, out_.chunks_per_row_);
    out_.src_zone_ = sweep(zone_input(&ClassifierRule::src_zones));
    out_.dst_zone_ = sweep(zone_input(&ClassifierRule::dst_zones));
    out_.src_ = addr_table(&ClassifierRule::src, &ClassifierRule::src_ranges);
    out_.dst_ = addr_table(&ClassifierRule::dst, &ClassifierRule::dst_ranges);
    out_.service_ = sweep(service_input<uint64_t>(service_ranges));
    out_.sport_ = sweep(service_input<uint32_t>(sport_ranges));
    out_.chunk_words_.shrink_to_fit();
    make_row_records();
  }

 private:
  // A rule has one entry per group of its services (service_entries), in rule order, so that the
  // first set bit of a lookup is the first matching rule and every dimension is exact per entry.
  void expand_entries() {
    for (uint32_t r = 0; r < rules_.size(); ++r) {
      const ClassifierRule& rule = rules_[r];
      for (EntryService& s : service_entries(rule.services)) {
        out_.entry_rule_.push_back(r);
        entry_svc_.push_back(std::move(s));
      }
      uint8_t flags = rule.has_extra ? Classifier::kExtra : 0;
      if (std::any_of(rule.src.begin(), rule.src.end(), is_odd) ||
          std::any_of(rule.dst.begin(), rule.dst.end(), is_odd)) {
        flags |= Classifier::kOdd;
        out_.odd_[r] = {rule.src,
                        rule.dst,
                        rule.src_ranges,
                        rule.dst_ranges,
                        rule.src.empty() && rule.src_ranges.empty(),
                        rule.dst.empty() && rule.dst_ranges.empty()};
      }
      out_.rule_flags_.push_back(flags);
    }
    const size_t n = entry_svc_.size();
    out_.chunks_per_row_ = std::max<size_t>(1, (n + kChunkBits - 1) / kChunkBits);
  }

  Bits empty_bits() const { return Bits(out_.chunks_per_row_ * kChunkWords, 0); }
  uint32_t entries() const { return static_cast<uint32_t>(entry_svc_.size()); }
  const ClassifierRule& rule_of(uint32_t entry) const { return rules_[out_.entry_rule_[entry]]; }

  DimInput<uint32_t> zone_input(std::vector<ZoneId> ClassifierRule::*zones) const {
    DimInput<uint32_t> in{{}, empty_bits()};
    for (uint32_t e = 0; e < entries(); ++e) {
      const auto& list = rule_of(e).*zones;
      if (list.empty()) set_bit(in.any, e);
      for (ZoneId z : list) in.spans.push_back({z, z, e});
      in.constrained |= !list.empty();
    }
    return in;
  }

  template <typename Key>
  DimInput<Key> service_input(bool (*ranges_of)(const EntryService&, Ranges<Key>&)) const {
    DimInput<Key> in{{}, empty_bits()};
    Ranges<Key> ranges;
    for (uint32_t e = 0; e < entries(); ++e) {
      ranges.clear();
      const bool constrained = ranges_of(entry_svc_[e], ranges);
      if (!constrained) set_bit(in.any, e);
      for (const auto& [lo, hi] : ranges) in.spans.push_back({lo, hi, e});
      in.constrained |= constrained;
    }
    return in;
  }

  // Each row's record: its count of entries, its summary (bit i: word i of its bitset is not
  // zero) and its chunk ids.
  void make_row_records() {
    const std::vector<uint8_t> masks = word_masks(out_.chunk_words_);
    std::vector<uint32_t> ones(masks.size(), 0);
    for (size_t w = 0; w < out_.chunk_words_.size(); ++w) {
      ones[w / kChunkWords] += __builtin_popcountll(out_.chunk_words_[w]);
    }
    const size_t per_row = out_.chunks_per_row_;
    out_.summary_words_ = (per_row * kChunkWords + 31) / 32;
    out_.row_width_ = 1 + out_.summary_words_ + per_row;
    const size_t rows = row_chunks_.size() / per_row;
    out_.row_data_.assign(rows * out_.row_width_, 0);
    for (size_t r = 0; r < rows; ++r) {
      uint32_t* rec = &out_.row_data_[r * out_.row_width_];
      const uint32_t* ids = &row_chunks_[r * per_row];
      std::copy(ids, ids + per_row, rec + 1 + out_.summary_words_);
      for (size_t c = 0; c < per_row; ++c) {
        const size_t bit = c * kChunkWords;
        rec[1 + bit / 32] |= uint32_t{masks[ids[c]]} << (bit % 32);
        rec[0] += ones[ids[c]];
      }
    }
  }

  Classifier::AddrTable addr_table(std::vector<common::Prefix> ClassifierRule::*prefixes,
                                   std::vector<AddrRange> ClassifierRule::*ranges);

  // The row of a whole bitset (outside a sweep).
  uint32_t intern_row(const Bits& bits) {
    std::vector<uint32_t> ids(out_.chunks_per_row_);
    for (size_t c = 0; c < ids.size(); ++c) ids[c] = chunks_.intern(&bits[c * kChunkWords]);
    return rows_->intern(ids.data());
  }

  template <typename Key>
  Classifier::Table<Key> sweep(const DimInput<Key>& in);

  Classifier& out_;
  const std::vector<ClassifierRule>& rules_;
  std::vector<EntryService> entry_svc_;  // entry -> its service condition
  std::vector<uint32_t> row_chunks_;     // row -> its chunk ids, while building
  Interner<uint64_t> chunks_;
  std::optional<Interner<uint32_t>> rows_;  // its width is known once the entries are
};

namespace {

template <typename Key>
struct Event {
  Key at;
  uint32_t entry;
  bool open;  // else the entry's interval ended just before `at`
};

template <typename Key>
std::vector<Event<Key>> sorted_events(const DimInput<Key>& in) {
  std::vector<Event<Key>> events;
  events.reserve(in.spans.size() * 2);
  for (const auto& s : in.spans) {
    events.push_back({s.lo, s.entry, true});
    if (s.hi != static_cast<Key>(~Key{0})) events.push_back({Key(s.hi + 1), s.entry, false});
  }
  std::sort(events.begin(), events.end(),
            [](const Event<Key>& a, const Event<Key>& b) { return a.at < b.at; });
  return events;
}

}  // namespace

// A sweep line over the interval end points: the set of entries whose intervals cover the current
// key changes only at end points, so each elementary interval costs the chunks that changed plus
// one row lookup, never a pass over all rules.
template <typename Key>
Classifier::Table<Key> ClassifierBuilder::sweep(const DimInput<Key>& in) {
  const std::vector<Event<Key>> events = sorted_events(in);
  Bits cur = in.any;
  std::vector<uint32_t> covered(entries(), 0);  // an entry's intervals may overlap
  std::vector<uint32_t> chunk_ids(out_.chunks_per_row_);
  for (size_t c = 0; c < chunk_ids.size(); ++c)
    chunk_ids[c] = chunks_.intern(&cur[c * kChunkWords]);
  std::vector<bool> dirty(chunk_ids.size(), false);

  Classifier::Table<Key> t;
  t.constrained = in.constrained;
  t.lo.push_back(0);
  t.row.push_back(rows_->intern(chunk_ids.data()));
  for (size_t i = 0; i < events.size();) {
    const Key at = events[i].at;
    for (; i < events.size() && events[i].at == at; ++i) {
      const Event<Key>& ev = events[i];
      const bool flips = ev.open ? covered[ev.entry]++ == 0 : --covered[ev.entry] == 0;
      if (!flips) continue;
      if (ev.open) {
        set_bit(cur, ev.entry);
      } else {
        clear_bit(cur, ev.entry);
      }
      dirty[ev.entry / kChunkBits] = true;
    }
    for (size_t c = 0; c < chunk_ids.size(); ++c) {
      if (dirty[c]) chunk_ids[c] = chunks_.intern(&cur[c * kChunkWords]);
      dirty[c] = false;
    }
    const uint32_t row = rows_->intern(chunk_ids.data());
    if (t.lo.back() == at) {
      t.row.back() = row;
    } else if (row != t.row.back()) {
      t.lo.push_back(at);
      t.row.push_back(row);
    }
  }
  t.lo.shrink_to_fit();
  t.row.shrink_to_fit();
  t.make_dir();
  return t;
}

Classifier::AddrTable ClassifierBuilder::addr_table(
    std::vector<common::Prefix> ClassifierRule::*prefixes,
    std::vector<AddrRange> ClassifierRule::*ranges) {
  DimInput<uint32_t> v4{{}, empty_bits()};
  DimInput<U128> v6{{}, empty_bits()};
  Bits other = empty_bits();
  for (uint32_t e = 0; e < entries(); ++e) {
    const auto& list = rule_of(e).*prefixes;
    const auto& rlist = rule_of(e).*ranges;
    if (list.empty() && rlist.empty()) set_bit(v4.any, e);
    v4.constrained |= !list.empty() || !rlist.empty();
    // A range is an interval already; one whose ends are unset, of two families or reversed
    // matches nothing (no span).
    for (const AddrRange& r : rlist) {
      if (r.lo.is_v4() && r.hi.is_v4() && r.lo.v4_host() <= r.hi.v4_host()) {
        v4.spans.push_back({r.lo.v4_host(), r.hi.v4_host(), e});
      } else if (r.lo.is_v6() && r.hi.is_v6() && v6_key(r.lo) <= v6_key(r.hi)) {
        v6.spans.push_back({v6_key(r.lo), v6_key(r.hi), e});
      }
    }
    for (const common::Prefix& p : list) {
      // Past the address length contains() compares more bytes: the index keeps the full address
      // (a superset) and the candidate is verified. Past 128 bits the prefix matches nothing.
      if (p.len > 128) continue;
      if (p.addr.is_v4()) {
        const int len = std::min<int>(p.len, 32);
        const uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
        const uint32_t lo = p.addr.v4_host() & mask;
        v4.spans.push_back({lo, lo | ~mask, e});
      } else if (p.addr.is_v6()) {
        const U128 mask = p.len == 0 ? 0 : ~U128{0} << (128 - p.len);
        const U128 lo = v6_key(p.addr) & mask;
        v6.spans.push_back({lo, lo | ~mask, e});
      } else {
        set_bit(other, e);
      }
    }
  }
  v6.any = v4.any;
  for (size_t w = 0; w < other.size(); ++w) other[w] |= v4.any[w];
  Classifier::AddrTable t;
  t.constrained = v4.constrained;
  t.v4 = sweep(v4);
  t.v6 = sweep(v6);
  t.other_row = intern_row(other);
  return t;
}

bool AddrRange::contains(const common::IpAddr& a) const {
  if (a.empty() || a.family != lo.family || a.family != hi.family) return false;
  return !(a < lo) && !(hi < a);
}

Classifier::Classifier() : Classifier(std::vector<ClassifierRule>{}) {}

Classifier::Classifier(const std::vector<ClassifierRule>& rules) {
  ClassifierBuilder(*this, rules).build();
}

template <typename Key>
void Classifier::Table<Key>::make_dir() {
  dir.clear();
  if (lo.size() <= 2 * kDirStride) return;  // short enough to search directly
  for (size_t i = 0; i < lo.size(); i += kDirStride) dir.push_back(lo[i]);
}

template <typename Key>
uint32_t Classifier::Table<Key>::row_of(Key k) const {
  // lo[0] == dir[0] == 0, so the interval holding k always exists.
  auto first = lo.begin(), last = lo.end();
  if (!dir.empty()) {
    const size_t block = std::upper_bound(dir.begin(), dir.end(), k) - dir.begin() - 1;
    first += block * kDirStride;
    last = first + std::min(kDirStride, size_t(lo.end() - first));
  }
  return row[std::upper_bound(first, last, k) - lo.begin() - 1];
}

template <typename Key>
size_t Classifier::Table<Key>::bytes() const {
  return (lo.capacity() + dir.capacity()) * sizeof(Key) + row.capacity() * sizeof(uint32_t);
}

uint32_t Classifier::AddrTable::row_of(const common::IpAddr& a) const {
  if (a.is_v4()) return v4.row_of(a.v4_host());
  if (a.is_v6()) return v6.row_of(v6_key(a));
  return other_row;
}

size_t Classifier::collect_rows(const FlowInfo& f, Rows& rows) const {
  size_t n = 0;
  auto add = [&](uint32_t row) {
    const uint32_t* rec = &row_data_[size_t{row} * row_width_];
    rows[n++] = {rec + 1, rec + 1 + summary_words_, rec[0]};
  };
  if (dst_.constrained) add(dst_.row_of(f.dst));
  if (src_.constrained) add(src_.row_of(f.src));
  if (service_.constrained) add(service_.row_of(flow_service_key(f)));
  if (is_ports_proto(f.proto) && sport_.constrained) add(sport_.row_of(f.sport));
  if (dst_zone_.constrained) add(dst_zone_.row_of(f.dst_zone));
  // Always one row, so that a rule set without any condition still yields its entries.
  if (src_zone_.constrained || n == 0) add(src_zone_.row_of(f.src_zone));
  // Sparsest first: the ANDs of summaries and of words then mostly stop after one or two rows.
  std::sort(rows.begin(), rows.begin() + n,
            [](const RowRef& a, const RowRef& b) { return a.ones < b.ones; });
  return n;
}

// The AND of one bitset word over every row.
uint64_t Classifier::candidates(const Rows& rows, size_t n, size_t word) const {
  const size_t chunk = word / kChunkWords, offset = word % kChunkWords;
  uint64_t x = ~uint64_t{0};
  for (size_t d = 0; d < n && x != 0; ++d) {
    x &= chunk_words_[size_t{rows[d].chunks[chunk]} * kChunkWords + offset];
  }
  return x;
}

uint32_t Classifier::scan(const FlowInfo& f, const void* ctx, Accept accept) const {
  Rows rows;
  const size_t n = collect_rows(f, rows);
  uint32_t rejected = kNoMatch;  // the rule its extra check refused: skip its other entries
  for (size_t k = 0; k < summary_words_; ++k) {
    uint32_t s = rows[0].summary[k];
    for (size_t d = 1; d < n && s != 0; ++d) s &= rows[d].summary[k];
    for (; s != 0; s &= s - 1) {
      const size_t word = k * 32 + __builtin_ctz(s);
      for (uint64_t x = candidates(rows, n, word); x != 0; x &= x - 1) {
        const uint32_t rule = entry_rule_[word * 64 + __builtin_ctzll(x)];
        if (rule == rejected) continue;
        if (accept_rule(rule, f, ctx, accept)) return rule;
        rejected = rule;
      }
    }
  }
  return kNoMatch;
}

bool Classifier::accept_rule(uint32_t rule, const FlowInfo& f, const void* ctx,
                             Accept accept) const {
  const uint8_t flags = rule_flags_[rule];
  if (flags & kOdd) {
    const OddPrefixes& odd = odd_.find(rule)->second;  // present whenever kOdd is set
    auto in = [](const std::vector<common::Prefix>& ps, const std::vector<AddrRange>& rs,
                 const common::IpAddr& a) {
      return std::any_of(ps.begin(), ps.end(),
                         [&](const common::Prefix& p) { return safe_contains(p, a); }) ||
             std::any_of(rs.begin(), rs.end(), [&](const AddrRange& r) { return r.contains(a); });
    };
    if (!odd.src_any && !in(odd.src, odd.src_ranges, f.src)) return false;
    if (!odd.dst_any && !in(odd.dst, odd.dst_ranges, f.dst)) return false;
  }
  return !(flags & kExtra) || accept == nullptr || accept(ctx, rule);
}

size_t Classifier::memory_bytes() const {
  size_t n = chunk_words_.capacity() * sizeof(uint64_t) + row_data_.capacity() * sizeof(uint32_t);
  for (const auto* t : {&src_zone_, &dst_zone_, &sport_}) n += t->bytes();
  n += service_.bytes();
  for (const auto* a : {&src_, &dst_}) n += a->v4.bytes() + a->v6.bytes();
  n += entry_rule_.capacity() * sizeof(uint32_t) + rule_flags_.capacity();
  for (const auto& [_, odd] : odd_) {
    n += (odd.src.capacity() + odd.dst.capacity()) * sizeof(common::Prefix);
    n += (odd.src_ranges.capacity() + odd.dst_ranges.capacity()) * sizeof(AddrRange);
  }
  return n;
}

}  // namespace fw::policy
