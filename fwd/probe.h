#pragma once
// `ping` and `tracert` from the firewall itself (area route). fwd sends its own probes: an ICMP
// raw socket for ping (fwd runs as root), UDP datagrams with a growing TTL and IP_RECVERR for
// tracert (the ICMP time-exceeded / port-unreachable come back on the socket's error queue, with
// the hop's address). No external program: the output is VRP's, written as the answers come,
// and every wait is bounded. The probes leave through fwd's own OUTPUT queue and are subject to
// the local-zone security policy like any traffic of the firewall.
#include <cstdint>
#include <ostream>

#include "common/ip_addr.h"

namespace fw::fwd {

// Every ping or tracert ends within this (the CLI client waits 60 s for an answer).
constexpr uint32_t kProbeBudgetMs = 50'000;

struct PingOptions {
  common::IpAddr dst;
  common::IpAddr src;  // empty: the kernel chooses
  uint32_t count = 5;
  uint32_t timeout_ms = 2000;  // per echo request (VRP's -t default)
  uint32_t size = 56;          // ICMP data bytes
};
// Writes VRP's ping output to `out`. False (with an "Error: ..." line) when no probe could be
// sent at all (no socket, a source address that is not the firewall's).
bool ping(const PingOptions& o, std::ostream& out);

struct TraceOptions {
  common::IpAddr dst;
  uint32_t max_ttl = 30;
  uint32_t timeout_ms = 1000;  // per hop: its probes are sent together
  uint32_t probes = 3;
};
bool tracert(const TraceOptions& o, std::ostream& out);

}  // namespace fw::fwd
