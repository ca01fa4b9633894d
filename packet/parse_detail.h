#pragma once
// Internal to packet/: the parser plus facts only the checksum code needs.
#include <cstdint>
#include <span>

#include "packet/parse.h"

namespace fw::packet::detail {

struct ParseExtra {
  // An IPv6 routing header with segments left > 0: the transport checksum's
  // pseudo header then uses the final destination, which we do not track, so
  // checksum code leaves the transport checksum alone.
  bool routing_pending = false;
};

ParseResult parse_ex(std::span<const uint8_t> pkt, ParseExtra* extra);

inline uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t rd32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | static_cast<uint32_t>(p[3]);
}
inline void wr16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

}  // namespace fw::packet::detail
