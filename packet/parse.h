#pragma once
// Packet views: parse an IPv4/IPv6 packet (starting at the IP header, as
// NFQUEUE delivers it) into offsets and fields. Pure: bytes in, struct out.
// Never reads outside the span; malformed input returns an error code.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <variant>

#include "common/ip_addr.h"

namespace fw::packet {

// IP protocol numbers used by name.
inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoIgmp = 2;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoGre = 47;
inline constexpr uint8_t kProtoEsp = 50;
inline constexpr uint8_t kProtoAh = 51;
inline constexpr uint8_t kProtoIcmpv6 = 58;
inline constexpr uint8_t kProtoSctp = 132;

// TCP flag bits (as in the header's flags byte).
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;
inline constexpr uint8_t kTcpUrg = 0x20;

enum class Malformed : uint8_t {
  kTruncated,         // shorter than a header says it is
  kBadVersion,        // not 4 or 6
  kBadIhl,            // IPv4 IHL < 5 or beyond the packet
  kBadTotalLength,    // IPv4 total length / IPv6 payload length inconsistent with the buffer
  kBadIpv4Options,    // option lengths that run past the header
  kBadIpv6ExtHeader,  // extension header chain runs past the packet / too long
  kBadTcpOffset,      // TCP data offset < 5 or beyond the segment
  kBadTcpOptions,     // TCP option with length 0/1 or running past the header
  kBadUdpLength,      // UDP length field < 8 or > what the IP packet holds
  kBadIcmp,           // ICMP shorter than 8 bytes (first fragment)
  kBadGre,            // GRE header shorter than its flags announce, or bad version
  kBadFragment,       // fragment offset/length inconsistent
};
std::string_view malformed_name(Malformed m);  // "truncated", "bad-ihl", ... (counter names)

struct Parsed {
  uint8_t ip_version = 0;  // 4 or 6
  common::IpAddr src, dst;
  uint8_t proto = 0;          // transport protocol (after IPv6 extension headers)
  uint8_t ttl = 0;            // TTL / hop limit
  uint16_t l3_len = 0;        // bytes of IP header (incl. IPv4 options / IPv6 ext headers)
  uint32_t ip_total_len = 0;  // total length the IP header claims (<= buffer size)
  // IPv6 routing header with segments left > 0: the transport checksum's pseudo
  // header then uses the final destination, which is not tracked, so checksum
  // code leaves the transport checksum alone.
  bool routing_pending = false;

  // Fragments. For a non-first fragment no transport fields are valid (has_l4 == false).
  bool is_fragment = false;
  bool first_fragment = false;  // fragment offset 0 (possibly with MF set)
  uint32_t frag_id = 0;         // IPv4 identification or IPv6 fragment id
  bool has_l4 = false;          // transport header present and parsed

  uint16_t l4_offset = 0;       // offset of the transport header from the start
  uint16_t l4_len = 0;          // transport header length (TCP incl. options)
  uint16_t payload_offset = 0;  // application payload
  uint16_t payload_len = 0;

  // TCP/UDP: ports. ICMP/ICMPv6 echo request/reply: sport = dport = identifier.
  // GRE version 1 (PPTP): dport = call id from the key field. ESP/AH: 0 (spi below).
  uint16_t sport = 0, dport = 0;

  // TCP
  uint8_t tcp_flags = 0;
  uint32_t seq = 0, ack = 0;
  uint16_t window = 0;

  // ICMP / ICMPv6
  uint8_t icmp_type = 0, icmp_code = 0;
  bool icmp_echo = false;  // echo request or reply (ICMP 8/0, ICMPv6 128/129)
  bool icmp_echo_request = false;
  bool icmp_error = false;    // unreachable, time exceeded, param problem, (v6) packet too big
  uint16_t inner_offset = 0;  // icmp_error: offset of the quoted IP header

  // GRE
  uint8_t gre_version = 0;
  bool gre_has_key = false;
  uint32_t gre_key = 0;  // v1: payload length << 16 | call id; v0: the key

  // ESP/AH
  uint32_t spi = 0;
};

using ParseResult = std::variant<Parsed, Malformed>;

// Protocols whose packets carry a demultiplexing key instead of ports (GRE: the
// receiver's key / call id, reported in dport, with no source key). A flow of
// such a protocol is tracked by that key when something (an ALG) knows both
// directions' keys, and otherwise by its address pair alone.
inline bool key_is_optional(uint8_t proto) { return proto == kProtoGre; }

// Parse a whole IP packet. Trailing bytes past the IP total length are allowed (ignored).
ParseResult parse(std::span<const uint8_t> pkt);

// Parse the packet quoted inside an ICMP error: it is usually truncated, so only
// the IP header and the first 8 bytes of the transport header are required
// (ports / echo id / GRE key as far as present). Used to relate errors to sessions.
std::optional<Parsed> parse_quoted(std::span<const uint8_t> inner);

}  // namespace fw::packet
