#pragma once
// Packet translation: rewrite addresses and ports (ICMP echo id, PPTP GRE call
// id) in place, keeping every checksum right, and translate ICMP errors that
// quote a translated packet (outer and inner headers).
#include <cstdint>
#include <optional>
#include <span>

#include "common/ip_addr.h"
#include "packet/parse.h"

namespace fw::nat {

struct Endpoint {
  common::IpAddr addr;
  uint16_t port = 0;  // TCP/UDP port, ICMP echo id, GRE v1 call id; ignored for other protocols
};

// Rewrite the source and/or destination of a parsed packet in place.
//  - IPv4 header checksum: incremental (RFC 1624).
//  - TCP/UDP/ICMPv6 checksums (pseudo header) and ICMP echo id: if csum_not_ready
//    (the kernel handed the packet over with CHECKSUM_PARTIAL), the transport
//    checksum is recomputed in full over the whole segment, because a packet sent back
//    in a verdict is taken as fully checksummed (CHECKSUM_NONE); otherwise it is updated
//    incrementally. UDP over IPv4 with checksum 0 stays 0.
//  - Non-first fragments: only the IP header (addresses) is rewritten; the first
//    fragment's transport checksum is updated incrementally (it covers bytes we don't have).
//  - GRE version 1: the port of the endpoint being rewritten that is the *destination*
//    replaces the call id in the key (PPTP GRE carries only the peer's call id).
//  - ICMP/ICMPv6 echo: the id is the querier's, so it takes new_src->port in a request
//    and new_dst->port in a reply; the responder side's port is ignored.
// Returns false (packet untouched) if `p` does not describe `pkt` consistently.
bool rewrite(std::span<uint8_t> pkt, const packet::Parsed& p, const Endpoint* new_src,
             const Endpoint* new_dst, bool csum_not_ready);

// An ICMP/ICMPv6 error whose quoted packet belongs to a translated flow: set the
// outer destination (and optionally source) and the quoted packet's source/destination,
// fixing the quoted IP header checksum, the quoted transport ports/id, and the outer
// ICMP checksum (recomputed in full: error messages are small). `inner_src`/`inner_dst`
// are the quoted packet's new endpoints. Returns false if the packet is not an ICMP
// error with a parseable quoted packet.
bool rewrite_icmp_error(std::span<uint8_t> pkt, const packet::Parsed& p, const Endpoint* outer_src,
                        const Endpoint* outer_dst, const Endpoint* inner_src,
                        const Endpoint* inner_dst);

}  // namespace fw::nat
