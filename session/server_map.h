#pragma once
// The server-map: entries consulted on every first packet *before* policy.
//  - Nat Server (static): ANY -> global:port [inside:port]; the first packet of
//    an inbound flow to a NAT server gets its destination translated.
//  - Nat Server Reverse (static): inside[global] -> ANY; the server's own
//    outbound connections leave with the global address.
//  - No-Pat / No-Pat Reverse (dynamic): one inside address <-> one pool address
//    while it has sessions.
//  - ASPF (dynamic, ALGs): peer -> addr:port [translated], used once, expires,
//    goes away with its parent session; the flow it admits bypasses policy.
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/counters.h"
#include "common/ip_addr.h"

namespace fw::session {

using common::IpAddr;

enum class MapType : uint8_t { kAspf, kNatServer, kNatServerReverse, kNoPat, kNoPatReverse };
std::string_view map_type_name(MapType t);  // "ASPF", "Nat Server", ...

struct ServerMapEntry {
  uint64_t id = 0;
  MapType type = MapType::kAspf;
  uint8_t proto = 0;  // 0 = any protocol
  // Forward entries (ASPF, Nat Server, No-Pat Reverse) match a first packet's
  // destination addr:port (port 0 = any) and, if set, its source `peer`.
  // Reverse entries (Nat Server Reverse, No-Pat) match a first packet's source
  // addr[:port] and translate the source.
  IpAddr peer;  // empty = ANY
  IpAddr addr;
  uint16_t port = 0;
  IpAddr xaddr;             // translated address (empty = no translation)
  uint16_t xport = 0;       // translated port (0 = keep)
  std::string app;          // "ftp-data", "pptp-gre", ... (ASPF)
  std::string zone;         // zone shown in the display ("---" if none)
  uint64_t parent = 0;      // owning session (ASPF); 0 = none
  uint64_t expires_ms = 0;  // 0 = static / lives with its owner
  bool one_shot = false;    // removed on first use (ASPF data channels)
  std::string owner;        // static entries: the NAT server name; no-pat: the group
  IpAddr sxaddr;  // ASPF: translate the source of the admitted flow to this (keep its port)
  bool reserved =
      false;  // addr:port is held in the NAT port allocator until the entry is used or removed
  // GRE (PPTP): the call id the admitted flow's other direction carries on the
  // wire (its reply key), and what that id becomes when delivered (0 = unchanged).
  uint16_t reply_port = 0;
  int32_t reply_xport = -1;  // -1 = unchanged (call id 0 is a real id)
  uint64_t hits = 0;
};

class ServerMap {
 public:
  ServerMap(const common::Clock& clock, size_t max_entries = 65536, size_t max_per_parent = 16);

  // Forward match for a first packet (proto, src, dst, dport). Exact peer
  // beats ANY; an exact port beats port ANY. One-shot entries are consumed.
  std::optional<ServerMapEntry> match_dst(uint8_t proto, const IpAddr& src, const IpAddr& dst,
                                          uint16_t dport);
  // Reverse match by source address (Nat Server Reverse, No-Pat).
  std::optional<ServerMapEntry> match_src(uint8_t proto, const IpAddr& src, uint16_t sport) const;

  // Add a dynamic entry; false with a reason when a cap is hit (counted:
  // "servermap.refused.total-cap" / ".parent-cap").
  bool add(ServerMapEntry e, uint64_t* id_out = nullptr, std::string* why = nullptr);
  // Replace every static entry owned by NAT servers (configuration change).
  void set_static(std::vector<ServerMapEntry> entries);
  size_t remove_if(const std::function<bool(const ServerMapEntry&)>& pred);
  size_t remove_parent(uint64_t parent_session);
  size_t expire();  // dynamic entries past expires_ms
  std::vector<ServerMapEntry> snapshot() const;
  size_t size() const;
  // Called (outside the lock) for each entry removed without being used
  // (expired, removed with its parent, reconfigured).
  void set_on_remove(std::function<void(const ServerMapEntry&)> cb) { on_remove_ = std::move(cb); }

 private:
  bool matches_fwd(const ServerMapEntry& e, uint8_t proto, const IpAddr& src, uint16_t dport) const;
  std::function<void(const ServerMapEntry&)> on_remove_;
  const common::Clock& clock_;
  size_t max_entries_, max_per_parent_;
  mutable std::shared_mutex mu_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, ServerMapEntry> entries_;
  std::unordered_multimap<IpAddr, uint64_t> by_addr_;  // forward entries by addr
  std::unordered_multimap<IpAddr, uint64_t> by_src_;   // reverse entries by addr
  std::unordered_map<uint64_t, uint32_t> per_parent_;
  common::Counter& c_added_;
  common::Counter& c_used_;
  common::Counter& c_expired_;
  common::Counter& c_cap_total_;
  common::Counter& c_cap_parent_;
};

}  // namespace fw::session
