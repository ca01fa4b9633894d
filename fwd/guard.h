#pragma once
// "guard" area (issue 16 items 7, 8): packets no honest stack sends (invalid TCP
// flag combinations, LAND, port 0), the per-zone uRPF decision, and whether a
// packet with no route may be answered with ICMP destination unreachable.
// Pure decisions on parsed packets and route answers; the pipeline counts and drops.
#include <cstdint>
#include <mutex>

#include "common/token_bucket.h"
#include "config/config.h"
#include "fwd/route_source.h"
#include "packet/parse.h"

namespace fw::fwd {

enum class Bogus : uint8_t { kNone, kTcpFlags, kLand, kPortZero };

// TCP flags (PSH, ECE, CWR ignored) that Linux conntrack's tcp_valid_flags also accepts:
// SYN, SYN+ACK, RST, RST+ACK, FIN+ACK, ACK, each optionally with URG (not RST). Everything
// else (SYN+FIN, SYN+RST, FIN+RST, no flags, FIN/PSH/URG without ACK) no stack sends.
bool tcp_flags_valid(uint8_t flags);

// What is wrong with a packet that has its transport header (kNone: nothing).
// `loopback`: it came over lo or from the firewall itself, where src == dst is normal.
Bogus bogus_packet(const packet::Parsed& p, bool loopback);

// uRPF: `back` is the route to the packet's source. Strict: it leaves by the arrival
// interface; loose: there is one (not unreachable/blackhole, not one of our own addresses).
bool urpf_passes(config::Urpf mode, const RouteInfo& back, uint32_t indev);

// A packet dropped for no route gets ICMP net unreachable only if it is not itself an
// ICMP error, not a non-first fragment, and both addresses are unicast.
bool may_answer_unreachable(const packet::Parsed& p);

// A token bucket (like the kernel's icmp_ratelimit): `rate` tokens a second, at most `burst`
// saved. take() is true if a token was there. Thread-safe; only unrouted packets use it.
class LockedTokenBucket {
 public:
  LockedTokenBucket(uint32_t rate, uint32_t burst) : rate_(rate), burst_(burst) {}
  bool take(uint64_t now_ms) {
    std::lock_guard<std::mutex> lk(mu_);
    return bucket_.take(rate_, burst_, now_ms);
  }

 private:
  const uint32_t rate_, burst_;
  std::mutex mu_;
  common::TokenBucket bucket_;
};

// ICMP net unreachable answers fwd lets happen: 100 a second, bursts of 100.
inline constexpr uint32_t kUnreachableRate = 100;
inline constexpr uint32_t kUnreachableBurst = 100;

}  // namespace fw::fwd
