#pragma once
// Synthesised packets: a well-formed IPv4 or IPv6 packet (the family of the
// source address) with a TCP, UDP or ICMP/ICMPv6 echo header, a payload and
// every checksum filled. For the benchmarks and for asking the pipeline what it
// would do with a packet nobody sent (tests keep their own byte-by-byte
// builders so they do not depend on this code).
#include <cstdint>
#include <span>
#include <vector>

#include "common/ip_addr.h"

namespace fw::packet {

struct BuildSpec {
  common::IpAddr src, dst;  // same family
  // 6, 17, 1 or 58 (an echo request unless icmp_type is set), ESP or AH (`spi`), or any other
  // protocol: then an IP header and 8 zero bytes (a GRE header, ...) before the payload.
  uint8_t proto = 6;
  uint16_t sport = 0, dport = 0;  // ICMP echo: sport is the identifier
  int icmp_type = -1;             // ICMP/ICMPv6: this type and code (-1: echo request)
  uint8_t icmp_code = 0;
  uint8_t tcp_flags = 0x02;
  uint32_t seq = 0, ack = 0;
  uint8_t ttl = 64;
  std::span<const uint8_t> payload;
  // TCP only (the SYN proxy's SYN, SYN-ACK and ACK): options (a multiple of 4 bytes, at most
  // 40) and the window.
  std::span<const uint8_t> tcp_options;
  uint16_t window = 64240;
  // "spi" area: ESP (50) / AH (51): the SPI (sequence number 1; AH: a 12-byte header, no ICV).
  uint32_t spi = 0;
};

// Empty if the spec cannot be built (mixed families, too long).
std::vector<uint8_t> build(const BuildSpec& s);

}  // namespace fw::packet
