#pragma once
// SYN cookies for the TCP SYN proxy (issue 16 item 2, `anti-ddos syn-flood tcp-proxy`): the
// initial sequence number of the firewall's own SYN-ACK carries everything needed to open the
// connection later, so that a SYN creates no state at all.
//
// Layout of the 32-bit cookie (high to low):
//   24 bits  keyed hash (SipHash-2-4 of both addresses and ports, the client's ISN, the time
//            counter and the low 8 bits below, under a 128-bit secret)
//    1 bit   parity of the time counter (now_ms / kWindowMs): a cookie is valid in the window
//            it was made in and the next one (64 to 128 s), an older one (a replay) never
//    2 bits  MSS index into the family's table (the largest entry <= the client's MSS)
//    1 bit   SACK permitted
//    4 bits  the client's window scale (0..14; 15 = the client offered none)
// Linux puts window scale and SACK in the TCP timestamp, which then has to be translated for
// the whole connection; here they ride in the ISN instead, so the proxy's SYN-ACK carries no
// timestamp and the connection runs without timestamps (documented in session/README.md).
//
// The secret is drawn at construction (getrandom): one SynCookies per data plane, no
// process-wide state. Thread-safe (const after construction).
#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "common/ip_addr.h"

namespace fw::session {

inline constexpr uint8_t kNoWscale = 15;

// What a SYN's options say (and what a cookie carries back).
struct SynOptions {
  uint16_t mss = 0;  // 0: no MSS option
  uint8_t wscale = kNoWscale;
  bool sack = false;
  bool operator==(const SynOptions&) const = default;
};
// The options of a TCP header's option bytes (malformed lists give what was read before).
SynOptions read_syn_options(std::span<const uint8_t> opts);

struct CookieTuple {
  common::IpAddr src, dst;  // the client's SYN as it arrived
  uint16_t sport = 0, dport = 0;
};

class SynCookies {
 public:
  static constexpr uint64_t kWindowMs = 64'000;
  // IPv4 and IPv6 MSS tables (as Linux's msstab: common values, largest last).
  static constexpr std::array<uint16_t, 4> kMss4{536, 1300, 1440, 1460};
  static constexpr std::array<uint16_t, 4> kMss6{1220, 1280, 1400, 1440};

  SynCookies();  // a random secret
  explicit SynCookies(const std::array<uint64_t, 2>& key) : key_(key) {}

  // The cookie for a SYN of `t` with sequence number `client_isn` and options `o`, now.
  uint32_t make(const CookieTuple& t, uint32_t client_isn, const SynOptions& o,
                uint64_t now_ms) const;
  // The options the cookie carries (MSS from the table) if `cookie` (the ACK's ack - 1) is one
  // this instance made for `t` and `client_isn` (the ACK's seq - 1) in this window or the
  // previous one.
  std::optional<SynOptions> check(const CookieTuple& t, uint32_t client_isn, uint32_t cookie,
                                  uint64_t now_ms) const;

  // The table entry a client MSS maps to (the largest <= mss; the smallest when below all).
  static uint8_t mss_index(bool v4, uint16_t mss);

 private:
  uint32_t hash24(const CookieTuple& t, uint32_t client_isn, uint64_t counter, uint8_t low) const;
  std::array<uint64_t, 2> key_;
};

// SipHash-2-4 (Aumasson, Bernstein) of `data` under `key`.
uint64_t siphash24(const std::array<uint64_t, 2>& key, std::span<const uint8_t> data);

}  // namespace fw::session
