#include "fwd/probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <linux/icmp.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/fd.h"
#include "packet/checksum.h"

namespace fw::fwd {
namespace {

using Clock = std::chrono::steady_clock;

using common::Fd;

sockaddr_in sockaddr_of(const common::IpAddr& a, uint16_t port = 0) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  std::memcpy(&sa.sin_addr, a.b.data(), 4);
  return sa;
}

// Milliseconds as VRP prints them: whole, and at least 1 for an answer that came.
long long ms_since(Clock::time_point t0, Clock::time_point t1) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count();
  return std::max<long long>(1, (us + 999) / 1000);
}

int ms_left(Clock::time_point until) {
  auto l = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
  return static_cast<int>(std::max<long long>(0, l));
}

uint16_t random_u16() {
  std::random_device rd;
  return static_cast<uint16_t>(rd());
}

struct EchoReply {
  int ttl = 0;
  Clock::time_point at;
};

// Waits for the echo reply (id, seq) from dst until `until`.
std::optional<EchoReply> wait_echo_reply(int fd, const common::IpAddr& dst, uint16_t id,
                                         uint16_t seq, Clock::time_point until) {
  uint8_t buf[2048];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int left = ms_left(until);
    int r = ::poll(&p, 1, left);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return std::nullopt;
    sockaddr_in from{};
    socklen_t fl = sizeof from;
    ssize_t n =
        ::recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &fl);
    if (n < 0) continue;
    if (n < 20) continue;
    size_t ihl = static_cast<size_t>(buf[0] & 0x0f) * 4;
    if (ihl < 20 || static_cast<size_t>(n) < ihl + 8) continue;
    const uint8_t* icmp = buf + ihl;
    uint16_t rid = static_cast<uint16_t>(icmp[4] << 8 | icmp[5]);
    uint16_t rseq = static_cast<uint16_t>(icmp[6] << 8 | icmp[7]);
    if (icmp[0] != ICMP_ECHOREPLY || rid != id || rseq != seq) continue;
    if (std::memcmp(&from.sin_addr, dst.b.data(), 4) != 0) continue;
    return EchoReply{buf[8], Clock::now()};
  }
}

void ping_statistics(const PingOptions& o, uint32_t sent, const std::vector<long long>& times,
                     std::ostream& out) {
  char loss[32];
  double pct = sent ? 100.0 * static_cast<double>(sent - times.size()) / sent : 0.0;
  std::snprintf(loss, sizeof loss, "%.2f%%", pct);
  out << "\n  --- " << o.dst.str() << " ping statistics ---\n"
      << "    " << sent << " packet(s) transmitted\n"
      << "    " << times.size() << " packet(s) received\n"
      << "    " << loss << " packet loss\n";
  if (!times.empty()) {
    long long sum = 0;
    for (auto t : times) sum += t;
    out << "    round-trip min/avg/max = " << *std::min_element(times.begin(), times.end()) << "/"
        << sum / static_cast<long long>(times.size()) << "/"
        << *std::max_element(times.begin(), times.end()) << " ms\n";
  }
  out << "\n";
}

// The echo request's ICMP header (type, id, sequence, checksum) in front of its data.
void echo_header(std::vector<uint8_t>& pkt, uint16_t id, uint32_t seq) {
  pkt[0] = ICMP_ECHO;
  pkt[1] = 0;
  common::wr16(&pkt[2], 0);
  common::wr16(&pkt[4], id);
  common::wr16(&pkt[6], static_cast<uint16_t>(seq));
  common::wr16(&pkt[2], packet::csum(pkt));
}

}  // namespace

bool ping(const PingOptions& o, std::ostream& out) {
  Fd s(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP));
  if (s.fd < 0) {
    out << "Error: Cannot send echo requests: " << std::strerror(errno) << ".\n";
    return false;
  }
  icmp_filter filt{~(1u << ICMP_ECHOREPLY)};  // only echo replies reach this socket
  (void)::setsockopt(s.fd, SOL_RAW, ICMP_FILTER, &filt, sizeof filt);
  if (!o.src.empty()) {
    sockaddr_in sa = sockaddr_of(o.src);
    if (::bind(s.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      out << "Error: The source address " << o.src.str() << " is not a local address.\n";
      return false;
    }
  }
  const uint16_t id = random_u16();
  const auto budget_end = Clock::now() + std::chrono::milliseconds(kProbeBudgetMs);
  out << "  PING " << o.dst.str() << ": " << o.size << "  data bytes, press CTRL_C to break\n";
  std::vector<uint8_t> pkt(8 + o.size);
  for (size_t i = 8; i < pkt.size(); ++i) pkt[i] = static_cast<uint8_t>(i - 8);
  std::vector<long long> times;
  uint32_t sent = 0;
  for (uint32_t seq = 1; seq <= o.count && Clock::now() < budget_end; ++seq) {
    echo_header(pkt, id, seq);
    sockaddr_in to = sockaddr_of(o.dst);
    const auto t0 = Clock::now();
    ++sent;
    ssize_t n =
        ::sendto(s.fd, pkt.data(), pkt.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    auto until = std::min(budget_end, t0 + std::chrono::milliseconds(o.timeout_ms));
    std::optional<EchoReply> r;
    if (n == static_cast<ssize_t>(pkt.size())) r = wait_echo_reply(s.fd, o.dst, id, seq, until);
    if (!r) {
      out << "    Request time out\n";
      // A send the kernel refused at once (no route) must still take its time, as on VRP.
      if (n < 0) ::poll(nullptr, 0, ms_left(until));
      continue;
    }
    long long ms = ms_since(t0, r->at);
    times.push_back(ms);
    out << "    Reply from " << o.dst.str() << ": bytes=" << o.size << " Sequence=" << seq
        << " ttl=" << r->ttl << " time=" << ms << " ms\n";
  }
  ping_statistics(o, sent, times, out);
  return true;
}

namespace {

struct HopAnswer {
  bool got = false;
  long long ms = 0;
  common::IpAddr from;
  bool reached = false;  // the destination answered (port unreachable)
};

// Reads the socket's error queue until every probe of the hop is answered or `until`.
void collect_hop(int fd, uint16_t base_port, const std::vector<Clock::time_point>& sent,
                 Clock::time_point until, std::vector<HopAnswer>* ans) {
  auto open = [&] {
    return std::any_of(ans->begin(), ans->end(), [](const HopAnswer& a) { return !a.got; });
  };
  uint8_t data[512];
  alignas(cmsghdr) uint8_t ctrl[512];
  while (open()) {
    pollfd p{fd, POLLIN | POLLERR, 0};
    int r = ::poll(&p, 1, ms_left(until));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return;
    sockaddr_in orig{};
    iovec iov{data, sizeof data};
    msghdr mh{};
    mh.msg_name = &orig;
    mh.msg_namelen = sizeof orig;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctrl;
    mh.msg_controllen = sizeof ctrl;
    ssize_t n = ::recvmsg(fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT);
    if (n < 0) {
      // A UDP answer from the destination itself (a service on the port): reached.
      n = ::recvfrom(fd, data, sizeof data, MSG_DONTWAIT, nullptr, nullptr);
      continue;
    }
    const int idx = static_cast<int>(ntohs(orig.sin_port)) - base_port;
    if (idx < 0 || idx >= static_cast<int>(ans->size())) continue;
    for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
      if (c->cmsg_level != SOL_IP || c->cmsg_type != IP_RECVERR) continue;
      const auto* ee = reinterpret_cast<const sock_extended_err*>(CMSG_DATA(c));
      if (ee->ee_origin != SO_EE_ORIGIN_ICMP) continue;
      const auto* off = reinterpret_cast<const sockaddr_in*>(SO_EE_OFFENDER(ee));
      HopAnswer& a = (*ans)[static_cast<size_t>(idx)];
      if (a.got) continue;
      a.got = true;
      a.ms = ms_since(sent[static_cast<size_t>(idx)], Clock::now());
      a.from = common::IpAddr::v4_bytes(reinterpret_cast<const uint8_t*>(&off->sin_addr));
      a.reached = ee->ee_type == ICMP_DEST_UNREACH;
    }
  }
}

}  // namespace

bool tracert(const TraceOptions& o, std::ostream& out) {
  constexpr uint16_t kBasePort = 33434;
  constexpr size_t kPayload = 12;  // 20 + 8 + 12 = VRP's packet length 40
  const auto budget_end = Clock::now() + std::chrono::milliseconds(kProbeBudgetMs);
  out << " traceroute to " << o.dst.str() << "(" << o.dst.str() << "), max hops: " << o.max_ttl
      << " ,packet length: 40,press CTRL_C to break\n";
  uint8_t payload[kPayload] = {};
  for (uint32_t ttl = 1; ttl <= o.max_ttl && Clock::now() < budget_end; ++ttl) {
    // A socket per hop: late answers of an earlier hop go to a closed socket.
    Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP));
    if (s.fd < 0) {
      out << "Error: Cannot send probes: " << std::strerror(errno) << ".\n";
      return false;
    }
    int one = 1, t = static_cast<int>(ttl);
    (void)::setsockopt(s.fd, SOL_IP, IP_RECVERR, &one, sizeof one);
    (void)::setsockopt(s.fd, SOL_IP, IP_TTL, &t, sizeof t);
    const uint16_t base = static_cast<uint16_t>(kBasePort + (ttl - 1) * o.probes);
    std::vector<Clock::time_point> sent(o.probes);
    std::vector<HopAnswer> ans(o.probes);
    for (uint32_t p = 0; p < o.probes; ++p) {
      sockaddr_in to = sockaddr_of(o.dst, static_cast<uint16_t>(base + p));
      sent[p] = Clock::now();
      (void)::sendto(s.fd, payload, sizeof payload, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    }
    auto until = std::min(budget_end, Clock::now() + std::chrono::milliseconds(o.timeout_ms));
    collect_hop(s.fd, base, sent, until, &ans);
    out << " " << ttl;
    bool reached = false, named = false, first = true;
    for (const auto& a : ans) {
      if (!a.got) {
        out << " *";
        first = true;
        continue;
      }
      if (!named) out << " " << a.from.str();
      named = true;
      out << (first ? " " : "  ") << a.ms << " ms";
      first = false;
      reached |= a.reached;
    }
    out << "\n";
    if (reached) break;
  }
  return true;
}

}  // namespace fw::fwd
