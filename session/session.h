#pragma once
// A session: one entry, two direction keys (original and reply, post-NAT).
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "common/ip_addr.h"

namespace fw::session {

using common::IpAddr;

// Direction key. For ICMP echo sport = dport = identifier; for PPTP GRE dport = call id.
struct FlowKey {
  IpAddr src, dst;
  uint16_t sport = 0, dport = 0;
  uint8_t proto = 0;
  uint16_t vpn = 0;  // 0 = public

  bool operator==(const FlowKey& o) const {
    return proto == o.proto && sport == o.sport && dport == o.dport && vpn == o.vpn &&
           src == o.src && dst == o.dst;
  }
  FlowKey reversed() const {
    FlowKey r = *this;
    std::swap(r.src, r.dst);
    std::swap(r.sport, r.dport);
    return r;
  }
  uint64_t hash() const;  // well mixed; used for sharding and buckets
};

enum class Dir : uint8_t { kOriginal = 0, kReply = 1 };

// Huawei aging classes: SYN seen, established, FIN/RST seen.
enum class TcpState : uint8_t {
  kNone = 0,     // not TCP
  kSynSent,      // SYN from the initiator
  kSynRecv,      // SYN+ACK from the responder
  kEstablished,  // three-way handshake done
  kFinWait,      // one side sent FIN
  kClosing,      // both sides sent FIN, or RST seen
};
std::string_view tcp_state_name(TcpState s);

// Per-protocol aging times in seconds (`firewall session aging-time`), Huawei defaults.
struct Timeouts {
  uint32_t tcp = 1200, udp = 120, icmp = 20, syn = 5, fin_rst = 10;
  uint32_t gre = 600, esp = 600, ah = 600, dns = 30, other = 60;
  uint32_t ftp = 1200, ftp_data = 240;
};

// Application shown in front of a session line ("ftp", "http", "tcp", ...): an index into
// a small fixed table in app.h, chosen by fwd from protocol and service port.
using AppId = uint8_t;

// NAT state of a session (filled by nat/ in a later issue; zero = no translation).
struct NatInfo {
  bool snat = false;  // source translated: orig.src:sport -> snat_addr:snat_port
  IpAddr snat_addr;
  uint16_t snat_port = 0;
  uint8_t snat_kind =
      0;  // what to give back when the session ends: 0 nothing, 1 PAT port, 2 no-PAT binding
  uint16_t snat_group = 0;  // interned address-group name (no-PAT)
  bool dnat_release = false;
  int32_t reply_key =
      -1;  // GRE (PPTP): call id written into replies' key (-1 = keep)  // give the destination
           // port (orig.dst:orig.dport) back to the allocator at the end
  bool dnat = false;  // destination translated (NAT server): orig.dst:dport -> dnat_addr:dnat_port
  IpAddr dnat_addr;
  uint16_t dnat_port = 0;
};

// Field order is chosen so the struct has no padding (224 bytes): the table keeps
// one Session per live flow, so every byte counts a million times.
struct Session {
  uint64_t id = 0;
  FlowKey orig;   // first packet as the initiator sent it (pre-NAT)
  FlowKey reply;  // what the responder's packets carry (post-NAT, reversed)
  NatInfo nat;

  AppId app = 0;
  uint8_t src_zone = 0, dst_zone = 0;  // runtime zone ids (fwd resolves names)
  TcpState tcp_state = TcpState::kNone;
  uint16_t policy = 0;         // interned policy rule name (session::intern_name)
  bool has_servermap = false;  // an ALG opened server-map entries ("+->")
  uint8_t alg = 0;             // ASPF inspector id (aspf/registry.h), 0 = none
  IpAddr next_hop;             // empty = directly connected
  uint32_t in_ifindex = 0, out_ifindex = 0;
  uint32_t timeout_s = 0;  // current aging time of this session

  uint64_t parent_id = 0;  // child of an ALG control session

  uint64_t created_ms = 0;
  uint64_t last_seen_ms = 0;
  std::array<uint64_t, 2> packets{};  // by Dir
  std::array<uint64_t, 2> bytes{};
};

// Interned short strings (policy rule names): stable ids, never freed.
uint16_t intern_name(std::string_view s);
std::string name_of(uint16_t id);

}  // namespace fw::session
