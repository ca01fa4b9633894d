#pragma once
// The one walk over type-length option lists shared by IPv4 options and TCP
// options (RFC 791 3.1, RFC 9293 3.1): kind 0 (EOL) ends the list, kind 1 (NOP)
// is a single byte, every other option carries a length byte >= 2 that covers
// kind and length and must end inside the list. Used to validate headers
// (packet::parse) and to find options to rewrite (SACK blocks in
// session::adjust_tcp, MSS and window scale later).
#include <cstddef>
#include <cstdint>
#include <span>

namespace fw::packet {

inline constexpr uint8_t kOptEol = 0;
inline constexpr uint8_t kOptNop = 1;
inline constexpr uint8_t kTcpOptMss = 2;
inline constexpr uint8_t kTcpOptWscale = 3;
inline constexpr uint8_t kTcpOptSackPermitted = 4;
inline constexpr uint8_t kTcpOptSack = 5;
inline constexpr uint8_t kTcpOptTimestamp = 8;

// Calls fn(kind, offset, length) for every option other than EOL/NOP, where
// offset is the option's first byte inside `opts` and length its whole length.
// Returns false (having called fn only for the options before it) if an option
// runs past the end or has a length below 2.
template <typename Fn>
bool for_each_option(std::span<const uint8_t> opts, Fn&& fn) {
  size_t i = 0;
  const size_t end = opts.size();
  while (i < end) {
    const uint8_t kind = opts[i];
    if (kind == kOptEol) return true;
    if (kind == kOptNop) {
      ++i;
      continue;
    }
    if (i + 1 >= end) return false;
    const size_t len = opts[i + 1];
    if (len < 2 || i + len > end) return false;
    fn(kind, i, len);
    i += len;
  }
  return true;
}

inline bool options_ok(std::span<const uint8_t> opts) {
  return for_each_option(opts, [](uint8_t, size_t, size_t) {});
}

}  // namespace fw::packet
