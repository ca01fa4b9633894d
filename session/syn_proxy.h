#pragma once
// The TCP SYN proxy (issue 16 item 2, `anti-ddos syn-flood tcp-proxy [alert-rate N]`): above
// the alert rate of SYNs to one destination (always with alert-rate 0), the firewall answers a
// SYN itself with a SYN-ACK whose ISN is a cookie (session/syn_cookie.h) and keeps nothing; a
// returning ACK with a valid cookie creates the session and becomes the SYN to the server
// (the client's MSS from the cookie's table, its window scale and SACK-permitted); the
// server's SYN-ACK becomes the ACK that completes the server's handshake, and from then on
// the server's sequence numbers (and the client's acks and SACK blocks) are translated by
// the difference between the server's ISN and the cookie, and windows by the difference
// between the scale the proxy announced (kProxyWscale) and the server's.
//
// This file: the data plane's SynProxy object (secret, per-destination detection, counters)
// and the packet transformations, bytes in, bytes out. The pipeline (fwd/synproxy_stage.cpp)
// decides when they apply.
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "common/clock.h"
#include "common/token_bucket.h"
#include "packet/parse.h"
#include "session/session.h"
#include "session/syn_cookie.h"

namespace fw::session {

// Session::proxy flags.
inline constexpr uint8_t kProxyOn = 0x01;       // opened by the SYN proxy: translated
inline constexpr uint8_t kProxyOpening = 0x02;  // SYN sent to the server, no SYN-ACK yet
// The window scale the proxy's SYN-ACK announces to a client that offered one (Linux's usual).
inline constexpr uint8_t kProxyWscale = 7;

class SynProxy {
 public:
  static constexpr size_t kSlots = 4096;
  static constexpr size_t kStripes = 64;
  // Once a destination is above its alert rate it stays proxied this long after the last SYN
  // over the rate (a client's retransmitted SYN must meet the proxy again, not the server).
  static constexpr uint64_t kHoldMs = 10'000;

  explicit SynProxy(const common::Clock& clock);
  SynProxy(const SynProxy&) = delete;
  SynProxy& operator=(const SynProxy&) = delete;

  // Whether a SYN to `dst` is answered by the proxy: always for alert_rate 0, else when the
  // destination's SYN rate is above alert_rate (or was in the last kHoldMs).
  bool should_proxy(const common::IpAddr& dst, uint32_t alert_rate);

  const SynCookies& cookies() const { return cookies_; }

  // `firewall reverse-session miss-ack rate-limit N`: one more SYN-ACK matching no session
  // within `rate` per second (burst: one second's)?
  bool admit_miss_ack(uint32_t rate);

  struct Stats {
    std::atomic<uint64_t> syn_answered{0};      // SYN-ACKs with a cookie sent
    std::atomic<uint64_t> ack_valid{0};         // ACKs with a valid cookie (sessions opened)
    std::atomic<uint64_t> ack_invalid{0};       // ACKs without one (dropped)
    std::atomic<uint64_t> server_opened{0};     // server handshakes completed
    std::atomic<uint64_t> client_waiting{0};    // client packets dropped before the server answered
    std::atomic<uint64_t> miss_ack_limited{0};  // SYN-ACKs without a session above the rate
  };
  Stats& stats() { return stats_; }
  const Stats& stats() const { return stats_; }

 private:
  struct Slot {
    common::TokenBucket bucket;
    uint64_t hold_until_ms = 0;
  };
  const common::Clock& clock_;
  SynCookies cookies_;
  std::array<std::mutex, kStripes> stripes_;
  std::unique_ptr<Slot[]> slots_;
  std::mutex miss_ack_mu_;
  common::TokenBucket miss_ack_;
  Stats stats_;
};

// The cookie tuple of a packet from the client (a SYN, or the ACK that returns).
CookieTuple cookie_tuple(const packet::Parsed& p);
// The options of the TCP header `p` describes in `pkt`.
SynOptions syn_options(std::span<const uint8_t> pkt, const packet::Parsed& p);

// The SYN-ACK answering the SYN `p`: addresses and ports swapped, seq = cookie, ack = p.seq + 1,
// the MSS of the cookie's table, SACK-permitted and window scale kProxyWscale when the client
// offered them.
std::vector<uint8_t> make_synack(const packet::Parsed& p, uint32_t cookie, const SynOptions& o);
// The SYN to the server made of the client's ACK `p`: seq = p.seq - 1 (the client's ISN), the
// options the cookie carried.
std::vector<uint8_t> make_server_syn(const packet::Parsed& p, const SynOptions& o);
// The ACK to the server made of its SYN-ACK `p` (addresses swapped, ack = p.seq + 1).
std::vector<uint8_t> make_server_ack(const packet::Parsed& p, uint8_t client_wscale);

enum class CsumUpdate : uint8_t { kIncremental, kFull, kNone };
// A packet of an established proxied session, in place: from the server (to_client) seq -=
// delta and the window rescaled; from the client ack and SACK edges += delta (and the window
// rescaled when the server has no window scaling). False if the TCP header does not match `p`.
bool proxy_translate(std::span<uint8_t> pkt, const packet::Parsed& p, bool to_client,
                     uint32_t delta, uint8_t wscales, CsumUpdate csum);

}  // namespace fw::session
