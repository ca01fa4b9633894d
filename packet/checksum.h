#pragma once
// Internet checksums: full computation and incremental update (RFC 1624).
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/ip_addr.h"
#include "packet/parse.h"

namespace fw::packet {

// One's-complement sum of data (not folded, not inverted), continuing from `sum`.
uint32_t csum_add(uint32_t sum, std::span<const uint8_t> data);
// Fold a 32-bit sum to 16 bits (not inverted).
uint16_t csum_fold(uint32_t sum);
// Full internet checksum (inverted fold) of data.
uint16_t csum(std::span<const uint8_t> data);
// Pseudo-header sum for TCP/UDP/ICMPv6 over IPv4 or IPv6 (not folded).
uint32_t pseudo_header_sum(const common::IpAddr& src, const common::IpAddr& dst, uint8_t proto,
                           uint32_t l4_len);

// Incremental update (RFC 1624 eqn. 3): checksum `c` (as stored in the header)
// after a 16-bit field changes from old_v to new_v.
uint16_t csum_update16(uint16_t c, uint16_t old_v, uint16_t new_v);
uint16_t csum_update32(uint16_t c, uint32_t old_v, uint32_t new_v);
// After replacing an address (4 or 16 bytes) in the checksummed data / pseudo header.
uint16_t csum_update_addr(uint16_t c, const common::IpAddr& old_a, const common::IpAddr& new_a);

// Recompute and store checksums of a parsed packet in place:
//  - IPv4 header checksum;
//  - transport checksum (TCP, UDP unless it is zero over IPv4, ICMP, ICMPv6).
// `partial` = the kernel handed the packet over with CHECKSUM_PARTIAL
// (NFQA_SKB_CSUMNOTREADY): then the transport checksum field must hold only the
// folded pseudo-header sum (not inverted), as the NIC/stack completes it later.
// Returns false (and leaves the packet alone) if the packet does not parse.
bool fix_checksums(std::span<uint8_t> pkt, bool partial);
// The same with the caller's view of the packet (parse once): `p` must describe
// `pkt` as it is now (lengths updated after any payload edit).
bool fix_checksums(std::span<uint8_t> pkt, const Parsed& p, bool partial);

// Verify checksums (IPv4 header and the transport checksum) of a complete
// packet; used by tests and by the pipeline's optional debug checks.
bool verify_checksums(std::span<const uint8_t> pkt);

}  // namespace fw::packet
