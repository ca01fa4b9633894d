#pragma once
// A session: one entry, two direction keys (original and reply, post-NAT).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/ip_addr.h"

namespace fw::session {

using common::IpAddr;

// Direction key. For ICMP echo sport = dport = identifier. For protocols whose
// packets carry a demultiplexing key instead of ports (GRE: the receiver's key /
// call id in dport) a session is keyed either by that key or, when nothing
// narrower is known, by the address pair alone (ports 0).
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

// "spi" area (issue 16 item 8): ESP (50) and AH (51) carry no ports; their sessions are keyed by
// the SPI, split over the key's ports (sport = high 16 bits, dport = low 16 bits), so FlowKey, its
// hash, its equality and the state file stay as they are. An SA is one-way: a session's reply key
// starts with SPI 0 (reserved by RFC 4303 2.1 / RFC 4302 2.4, never valid on the wire, so the
// pipeline drops a packet carrying it) - a placeholder, bound by the table (SessionTable::bind_spi)
// to the SPI of the first packet of that direction whose own SPI finds no session.
inline bool keyed_by_spi(uint8_t proto) { return proto == 50 || proto == 51; }
inline uint32_t key_spi(const FlowKey& k) { return (uint32_t{k.sport} << 16) | k.dport; }
inline void set_key_spi(FlowKey& k, uint32_t spi) {
  k.sport = static_cast<uint16_t>(spi >> 16);
  k.dport = static_cast<uint16_t>(spi & 0xffff);
}
// An SPI-keyed direction key not bound yet (several sessions may share it in the index).
inline bool spi_unbound(const FlowKey& k) {
  return keyed_by_spi(k.proto) && k.sport == 0 && k.dport == 0;
}
// The ports a key shows (display, filters, logs): none for an SPI-keyed protocol.
inline std::pair<uint16_t, uint16_t> shown_ports(const FlowKey& k) {
  if (keyed_by_spi(k.proto)) return {0, 0};
  return {k.sport, k.dport};
}

enum class Dir : uint8_t { kOriginal = 0, kReply = 1 };
inline Dir other(Dir d) { return d == Dir::kOriginal ? Dir::kReply : Dir::kOriginal; }

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

// Aging (`firewall session aging-time NAME N`): a session ages by its class, an
// index into Timeouts::secs. The names and their order belong to the
// configuration; session/ only needs the classes TCP uses outside the
// established state.
using AgingClass = uint8_t;
struct Timeouts {
  std::vector<uint32_t> secs;  // by class
  AgingClass syn = 0, fin_rst = 0;
  // One side sent FIN (`first-fin`); unset = ages as fin-rst.
  std::optional<AgingClass> first_fin;
  uint32_t of(AgingClass c) const { return c < secs.size() ? secs[c] : 60; }
};

// Application shown in front of a session line ("ftp", "http", "ftp-data"): an
// index into the data plane's application table.
using AppId = uint8_t;

// Why a session is translated (display, trace, and what it holds).
enum class NatKind : uint8_t {
  kNone,
  kEasyIp,         // source: the egress interface's address, PAT port
  kPat,            // source: an address-group address, PAT port
  kNoPat,          // source: a no-PAT binding of an address group
  kNatServer,      // destination: a NAT server's inside address
  kServerReverse,  // source: a NAT server's global address (its own outbound flows)
  kAspf,           // a flow admitted by an ALG's server-map entry: inherits its control's NAT
};
std::string_view nat_kind_name(NatKind k);

// NAT state of a session. The translation is decided in nat/; this is what the
// packet path applies and what is given back when the session ends.
struct NatInfo {
  NatKind kind = NatKind::kNone;
  bool snat = false;           // original direction: src -> snat_addr:snat_port
  bool dnat = false;           // original direction: dst -> dnat_addr:dnat_port
  bool port_held = false;      // snat_port was allocated for this session
  bool dst_port_held = false;  // orig.dport was reserved for the entry that admitted it
  // "srclimit" area: orig.src holds one session in the data plane's SourceLimiter (given back
  // when the session ends; kept in what would be padding, so a Session grows by nothing).
  bool source_counted = false;
  uint16_t group = 0;  // kNoPat: interned address-group name (a binding reference)
  IpAddr snat_addr;
  uint16_t snat_port = 0;
  // Reply direction: the port (or key) written as destination when it is not
  // orig.sport (-1). A GRE session keyed by call id carries the initiator's own
  // call id here: the initiator's packets never show it.
  int32_t reply_dport = -1;
  IpAddr dnat_addr;
  uint16_t dnat_port = 0;
};

// Per-session data of an ALG: framing, rewrite history, protocol state. Owned
// by the session; the ALG engine creates it under the session's lock and
// deletes it when the session is removed. Opaque here.
class AlgData {
 public:
  virtual ~AlgData() = default;
};

// "appid" area: flags of Session::appid. While kAppidPending or kAppidDenied is set, each packet
// of the session goes through the pipeline's identification step; once neither is, the session
// costs nothing more.
inline constexpr uint8_t kAppidMask = 0x0f;        // the application (so at most 15 of them)
inline constexpr uint8_t kAppidReset = 0x10;       // denied, and a RST went onward already
inline constexpr uint8_t kAppidPending = 0x20;     // still looking at payloads
inline constexpr uint8_t kAppidPolicyWait = 0x40;  // admitted by a rule naming applications
inline constexpr uint8_t kAppidDenied = 0x80;      // identified, and a deny rule matched it
inline constexpr uint8_t kAppidActive = kAppidPending | kAppidDenied;

// "evlog" area: flags of Session::evlog. kEvlogOn: the rule that admitted it has `session logging`
// (its creation and teardown are logged); the others are kept only then (the close reason).
inline constexpr uint8_t kEvlogOn = 0x01;
inline constexpr uint8_t kEvlogFin = 0x02;  // a FIN was seen
inline constexpr uint8_t kEvlogRst = 0x04;  // a RST was seen

// Why a session left the table (the event log's CloseReason).
enum class CloseReason : uint8_t {
  kAgedOut,        // idle longer than its aging time
  kFin,            // closed by FIN (then aged as fin-rst, or its tuple reused by a new SYN)
  kRst,            // closed by RST
  kReset,          // `reset firewall session table`
  kPolicyChange,   // removed because the configuration no longer admits it
  kTableFull,      // could not be created: the table is at its cap
  kShutdown,       // the daemon stops (not logged)
  kHalfOpenLimit,  // "halfopen" area: the oldest half-open session of a destination at its limit
};
std::string_view close_reason_name(CloseReason r);  // "aged-out", "fin", "rst", ...
// The reason of a session that aged out or closed: fin / rst when the event log saw them.
struct Session;
CloseReason closed_reason(const Session& s);

// Field order keeps the struct free of padding: the table holds one Session per
// live flow, so every byte counts a million times.
struct Session {
  uint64_t id = 0;
  FlowKey orig;   // first packet as the initiator sent it (pre-NAT)
  FlowKey reply;  // what the responder's packets carry (post-NAT, reversed)
  NatInfo nat;

  AppId app = 0;
  uint8_t src_zone = 0, dst_zone = 0;  // stable zone ids (the data plane's registry)
  TcpState tcp_state = TcpState::kNone;
  uint16_t policy = 0;         // interned policy rule name
  bool has_servermap = false;  // an ALG opened server-map entries ("+->")
  uint8_t alg = 0;             // ASPF inspector id of a control session, 0 = none
  AgingClass aging = 0;        // class while established (TCP) / always (others)
  // "appid" area: the identified application (low 4 bits, an appid::App value, 0 = none) and
  // the kAppid* flags below; kept in what would be padding, so a Session grows by nothing.
  uint8_t appid = 0;
  // "synproxy" area (session/syn_proxy.h): kProxy* flags, and the window scales of the client
  // (low 4 bits) and of the server (high 4 bits) of a session the SYN proxy opened.
  uint8_t proxy = 0;
  uint8_t proxy_wscale = 0;
  IpAddr next_hop;  // empty = directly connected
  // "evlog" area: kEvlog* flags (in what would be padding, so a Session grows by nothing).
  uint8_t evlog = 0;
  // "halfopen" area: 1 while the data plane's HalfOpenLimiter may hold this session (a SYN opened
  // it and its handshake is not complete); in what would be padding, so a Session grows by nothing.
  uint8_t half_open = 0;
  uint32_t in_ifindex = 0, out_ifindex = 0;
  uint32_t timeout_s = 0;  // current aging time of this session
  // "synproxy" area: while kProxyOpening, the cookie (the ISN the client knows); then the
  // server's ISN minus the cookie (added to the client's acks, taken from the server's seqs).
  uint32_t proxy_seq = 0;

  uint64_t parent_id = 0;       // child of an ALG control session
  AlgData* alg_data = nullptr;  // owned (see AlgData)

  uint64_t created_ms = 0;
  uint64_t last_seen_ms = 0;
  std::array<uint64_t, 2> packets{};  // by Dir
  std::array<uint64_t, 2> bytes{};
};

}  // namespace fw::session
