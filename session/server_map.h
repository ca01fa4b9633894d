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
// Work is proportional to the entries involved: entries are indexed by
// address, by parent session and by expiry time.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/counters.h"
#include "common/ip_addr.h"

namespace fw::session {

using common::IpAddr;

enum class MapType : uint8_t { kAspf, kNatServer, kNatServerReverse, kNoPat, kNoPatReverse };

// "evlog" area: what happened to an entry, for the event log (ServerMap::set_on_event).
enum class MapEvent : uint8_t {
  kAdded,         // add()
  kUsed,          // a one-shot entry consumed by the flow it admitted
  kExpired,       // its lifetime ran out
  kParentClosed,  // removed with its parent session
  kRemoved,       // removed by a configuration change
};
std::string_view map_event_name(MapEvent e);  // "added", "used", "expired", ...
std::string_view map_type_name(MapType t);    // "ASPF", "Nat Server", ...

struct ServerMapEntry {
  uint64_t id = 0;
  MapType type = MapType::kAspf;
  uint8_t proto = 0;  // 0 = any protocol
  // ASPF: the inspector that opened the entry and its channel kind (what the
  // admitted flow becomes); both opaque here, interpreted by aspf/.
  uint8_t alg = 0;
  uint8_t channel = 0;
  uint8_t zone = 0;         // zone id shown in the display (0 = "---")
  bool one_shot = false;    // removed on first use (ASPF data channels)
  bool reserved = false;    // addr:port is held in the NAT port allocator until used or removed
  bool port_exact = false;  // port 0 matches only 0 (a GRE call id), not any port
  uint16_t port = 0;        // forward entries: destination port to match (0 = any)
  int32_t xport = -1;       // translated destination port / key of the admitted flow (-1 = keep)
  uint32_t owner = 0;       // static: interned NAT server name; no-PAT: interned group name
  uint32_t alg_data = 0;    // ASPF: the inspector's own value, handed back to its child hook
  // Forward entries (ASPF, Nat Server, No-Pat Reverse) match a first packet's
  // destination addr:port and, if set, its source `peer`. Reverse entries (Nat
  // Server Reverse, No-Pat) match a first packet's source address.
  IpAddr peer;  // empty = ANY
  IpAddr addr;
  IpAddr xaddr;   // translated destination (empty = no translation)
  IpAddr sxaddr;  // ASPF: the admitted flow's source leaves as this address
  // ASPF: ... and this source port, held by the ALG that opened the entry (-1 = PAT picks one).
  // A media stream whose public port was announced (SIP) leaves from that port.
  int32_t sxport = -1;
  uint64_t parent = 0;      // owning session (ASPF); 0 = none
  IpAddr source;            // ASPF: its control session's initiator (per-source cap; empty = none)
  uint64_t expires_ms = 0;  // 0 = static / lives with its owner
  uint64_t hits = 0;
};

// Forward entries are indexed by destination address *and* port ("stream" area, issue 16 item
// 4): thousands of ASPF entries of one NAT address (one host's FTP data channels) no longer
// share one bucket that every match and every removal walked.
struct AddrPort {
  IpAddr addr;
  uint16_t port = 0;  // 0: the entries of port ANY (and of port_exact 0)
  bool operator==(const AddrPort& o) const { return port == o.port && addr == o.addr; }
};
struct AddrPortHash {
  size_t operator()(const AddrPort& k) const {
    return std::hash<IpAddr>{}(k.addr) * 0x9e3779b97f4a7c15ull + k.port;
  }
};

class ServerMap {
 public:
  ServerMap(const common::Clock& clock, common::CounterTable& counters, size_t max_entries = 65536,
            size_t max_per_parent = 16);
  ServerMap(const ServerMap&) = delete;
  ServerMap& operator=(const ServerMap&) = delete;

  // Forward match for a first packet (proto, src, dst, dport). Exact peer
  // beats ANY; an exact port beats port ANY. One-shot entries are consumed.
  std::optional<ServerMapEntry> match_dst(uint8_t proto, const IpAddr& src, const IpAddr& dst,
                                          uint16_t dport);
  // The entry match_dst would return, without using it (no hit, nothing consumed): packet-trace.
  std::optional<ServerMapEntry> peek_dst(uint8_t proto, const IpAddr& src, const IpAddr& dst,
                                         uint16_t dport) const;
  // Reverse match by source address (Nat Server Reverse, No-Pat).
  std::optional<ServerMapEntry> match_src(uint8_t proto, const IpAddr& src, uint16_t sport) const;

  // Add a dynamic entry; false with a reason when a cap is hit (counted:
  // "servermap.refused.total-cap" / ".parent-cap" / ".source-cap"). parent_cap: the most entries
  // one parent session may hold (0: the table's max_per_parent).
  bool add(ServerMapEntry e, uint64_t* id_out = nullptr, std::string* why = nullptr,
           size_t parent_cap = 0);
  // Replace every static entry owned by NAT servers (configuration change).
  void set_static(std::vector<ServerMapEntry> entries);
  // Remove entries matching pred (a scan of every entry: configuration changes only).
  size_t remove_if(const std::function<bool(const ServerMapEntry&)>& pred);
  // Remove a parent session's entries (all, or those matching pred): cost
  // proportional to that parent's entries.
  size_t remove_parent(uint64_t parent_session,
                       const std::function<bool(const ServerMapEntry&)>& pred = {});
  // Remove the dynamic entries of a type whose address is `addr` (no-PAT pairs: reverse
  // entries by address, forward ones of port 0).
  size_t remove_addr(MapType type, const IpAddr& addr);
  size_t expire();  // dynamic entries past expires_ms: cost proportional to those
  // "srclimit" area: at most n entries per `source` address (0 = no cap).
  void set_max_per_source(size_t n) { max_per_source_.store(n, std::memory_order_relaxed); }
  size_t of_source(const IpAddr& source) const;  // entries naming it
  std::vector<ServerMapEntry> snapshot() const;
  // "stream" area: the ids of every entry, increasing (8 bytes each), so a display reads the
  // entries a batch at a time with for_ids() instead of copying the map.
  std::vector<uint64_t> ids() const;
  // fn for each entry of `ids` still there, under the shared lock (fn must not call the map).
  void for_ids(std::span<const uint64_t> ids,
               const std::function<void(const ServerMapEntry&)>& fn) const;
  size_t size() const;
  // Called (outside the lock) for each entry removed without being used
  // (expired, removed with its parent, reconfigured).
  void set_on_remove(std::function<void(const ServerMapEntry&)> cb) { on_remove_ = std::move(cb); }
  // "evlog" area: called (outside the lock) for each entry added, consumed by use, or removed
  // (dynamic and static alike). Set before any worker runs.
  void set_on_event(std::function<void(const ServerMapEntry&, MapEvent)> cb) {
    on_event_ = std::move(cb);
  }

 private:
  bool matches_fwd(const ServerMapEntry& e, uint8_t proto, const IpAddr& src, uint16_t dport,
                   uint64_t now) const;
  void unlink(const ServerMapEntry& e);  // from every index but entries_ (lock held)
  size_t erase_ids(const std::vector<uint64_t>& ids, MapEvent why = MapEvent::kRemoved);

  std::function<void(const ServerMapEntry&)> on_remove_;
  std::function<void(const ServerMapEntry&, MapEvent)> on_event_;  // "evlog" area
  const common::Clock& clock_;
  size_t max_entries_, max_per_parent_;
  mutable std::shared_mutex mu_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, ServerMapEntry> entries_;
  uint64_t best_dst(uint8_t proto, const IpAddr& src, const IpAddr& dst, uint16_t dport) const;
  std::unordered_multimap<AddrPort, uint64_t, AddrPortHash> by_addr_;  // forward: addr, port
  std::unordered_multimap<IpAddr, uint64_t> by_src_;                   // reverse entries by addr
  std::unordered_map<uint64_t, std::vector<uint64_t>> by_parent_;
  std::set<std::pair<uint64_t, uint64_t>> by_expiry_;  // (expires_ms, id)
  std::atomic<size_t> max_per_source_{0};
  std::unordered_map<IpAddr, size_t> per_source_;  // entries by `source` (non-empty only)
  common::Counter& c_added_;
  common::Counter& c_used_;
  common::Counter& c_expired_;
  common::Counter& c_cap_total_;
  common::Counter& c_cap_parent_;
  common::Counter& c_cap_source_;
};

}  // namespace fw::session
