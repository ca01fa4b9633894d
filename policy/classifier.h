#pragma once
// A first-match packet classifier: rules in priority order, each with per-dimension conditions
// (zones, prefixes, services), compiled into per-dimension interval tables whose intervals map to
// bitsets of rule entries. A lookup ANDs one bitset per dimension and stops at the first set bit,
// so its cost is bounded by (entries / 64) x dimensions whatever the flow.
// policy/README.md ("Classifier") says why this design and what it costs.
#include <array>
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "common/ip_addr.h"

namespace fw::policy {

using ZoneId = uint8_t;
inline constexpr ZoneId kNoZone = 0xff;

// What the first packet of a flow is classified by.
struct FlowInfo {
  ZoneId src_zone = kNoZone, dst_zone = kNoZone;
  common::IpAddr src, dst;
  uint8_t proto = 0;
  uint16_t sport = 0, dport = 0;
  int icmp_type = -1;
};

// One service condition, with config::ServiceItem's meaning: proto 0 matches every flow; otherwise
// the protocol must be equal and then, for TCP/UDP, both port ranges must hold, for ICMP/ICMPv6
// the type must be equal unless icmp_type < 0; other protocols match on the protocol alone.
struct ServiceCond {
  uint8_t proto = 0;
  uint16_t sport_lo = 0, sport_hi = 65535;
  uint16_t dport_lo = 0, dport_hi = 65535;
  int icmp_type = -1;
};

// An address range: a flow address matches when it has the family of lo and hi and
// lo <= address <= hi. A range whose ends differ in family, are unset, or are reversed matches
// nothing (a rule uses one to say "no address", e.g. for an empty address set).
struct AddrRange {
  common::IpAddr lo, hi;
  bool contains(const common::IpAddr& a) const;
};

// One rule. An empty list means "any" for its dimension; a rule matches when all dimensions do.
// Prefixes match as common::Prefix::contains says (so an IPv4 prefix never matches IPv6), except
// that a length past 128, which config never produces, matches nothing. An address dimension is
// its prefixes and ranges together: it matches if one of them does, and is "any" only when both
// lists are empty.
struct ClassifierRule {
  std::vector<ZoneId> src_zones, dst_zones;
  std::vector<common::Prefix> src, dst;
  std::vector<AddrRange> src_ranges, dst_ranges;
  std::vector<ServiceCond> services;
  // The rule has conditions the index does not cover: the caller's predicate decides on them.
  bool has_extra = false;
};

class Classifier {
 public:
  static constexpr uint32_t kNoMatch = 0xffffffff;

  Classifier();  // no rules: matches nothing
  explicit Classifier(const std::vector<ClassifierRule>& rules);

  // Index of the first rule that matches f, or kNoMatch; the extra predicates count as true.
  uint32_t first_match(const FlowInfo& f) const { return scan(f, nullptr, nullptr); }
  // Same, but a rule with has_extra matches only if extra(rule_index) returns true.
  template <typename Extra>
  uint32_t first_match(const FlowInfo& f, const Extra& extra) const {
    return scan(f, &extra, [](const void* ctx, uint32_t rule) {
      return static_cast<bool>((*static_cast<const Extra*>(ctx))(rule));
    });
  }

  size_t rule_count() const { return rule_flags_.size(); }
  // Heap bytes held by the compiled index.
  size_t memory_bytes() const;

 private:
  friend class ClassifierBuilder;
  using Accept = bool (*)(const void* ctx, uint32_t rule);
  using U128 = unsigned __int128;
  // The most bitsets a lookup ANDs: 2 zones, 2 addresses, the service (protocol and destination
  // port or ICMP type) and the source port.
  static constexpr size_t kMaxRows = 6;
  // One dimension's bitset for the flow at hand: its record in row_data_.
  struct RowRef {
    const uint32_t* summary;  // summary_words_ words: bit i set iff bitset word i is not zero
    const uint32_t* chunks;   // chunks_per_row_ chunk ids
    uint32_t ones;            // entries in the bitset
  };
  using Rows = std::array<RowRef, kMaxRows>;

  // Sorted lower bounds: interval i is [lo[i], lo[i + 1]), lo[0] == 0; row[i] is its bitset.
  // dir holds every kDirStride-th bound, so that a lookup in a long table binary-searches a small
  // array that stays cached, then one cache line of lo.
  template <typename Key>
  struct Table {
    static constexpr size_t kDirStride = 64 / sizeof(Key);
    std::vector<Key> lo, dir;
    std::vector<uint32_t> row;
    bool constrained = false;  // some rule has a condition here (else the dimension is skipped)
    uint32_t row_of(Key k) const;
    void make_dir();
    size_t bytes() const;
  };
  struct AddrTable {
    Table<uint32_t> v4;
    Table<U128> v6;
    uint32_t other_row = 0;  // flows that are neither IPv4 nor IPv6
    bool constrained = false;
    uint32_t row_of(const common::IpAddr& a) const;
  };
  // Prefixes the index only approximates (not IPv4/IPv6, or longer than the address): kept to
  // verify the candidate. Config never produces them (Prefix::from_len refuses them).
  struct OddPrefixes {
    std::vector<common::Prefix> src, dst;
    std::vector<AddrRange> src_ranges, dst_ranges;  // the rule's ranges (matched alongside)
    bool src_any = false, dst_any = false;          // the dimension has no condition at all
  };
  enum RuleFlag : uint8_t { kExtra = 1, kOdd = 2 };

  uint32_t scan(const FlowInfo& f, const void* ctx, Accept accept) const;
  size_t collect_rows(const FlowInfo& f, Rows& rows) const;
  uint64_t candidates(const Rows& rows, size_t n, size_t word) const;
  bool accept_rule(uint32_t rule, const FlowInfo& f, const void* ctx, Accept accept) const;

  // Bitsets over entries (one entry per rule and service condition, in rule order) are split in
  // chunks of one cache line; chunks are deduplicated, chunk 0 is all zeros. A row (one interval's
  // bitset; rows are deduplicated too) is a record in row_data_ of row_width_ words: its count of
  // entries, a summary with one bit per 64 entries, so that a lookup ANDs the summaries first and
  // loads only the words where every dimension has a candidate, and its chunk ids. One record
  // keeps what a lookup reads of a row in adjacent cache lines.
  size_t chunks_per_row_ = 1;
  size_t summary_words_ = 1;
  size_t row_width_ = 3;
  std::vector<uint64_t> chunk_words_;
  std::vector<uint32_t> row_data_;
  Table<uint32_t> src_zone_, dst_zone_, sport_;
  Table<uint64_t> service_;
  AddrTable src_, dst_;
  std::vector<uint32_t> entry_rule_;  // entry -> rule index
  std::vector<uint8_t> rule_flags_;   // RuleFlag bits per rule
  std::unordered_map<uint32_t, OddPrefixes> odd_;
};

}  // namespace fw::policy
