#pragma once
// The NAT decision and its application: which translation a new flow gets
// (NAT server, Nat Server Reverse, easy-ip, address-group PAT / no-PAT, or the
// NAT an ALG's server-map entry hands down to the flow it admits), the ports
// and bindings that holds and gives back, and which address and port are
// written in each direction of a session, ICMP errors included. fwd/ asks and
// applies; nothing here knows any ALG.
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/counters.h"
#include "common/interner.h"
#include "common/ip_addr.h"
#include "config/config.h"
#include "nat/nat_policy.h"
#include "packet/parse.h"
#include "session/server_map.h"
#include "session/session.h"

namespace fw::nat {

// What source NAT needs to know about a new flow (after destination NAT and policy).
struct FlowRequest {
  const packet::Parsed* p = nullptr;  // the first packet
  common::IpAddr dst;                 // destination after NAT server translation
  uint8_t src_zone = 0, dst_zone = 0;
  std::string_view egress_if;  // nat-policy egress-interface
  common::IpAddr egress_addr;  // the source address the kernel would pick (easy-ip)
};

// Which translation a source-NAT decision produced, for trace and display.
struct SourceDecision {
  bool ok = true;                     // false: pool / ports exhausted
  const std::string* rule = nullptr;  // nat-policy rule that matched (nullptr: none)
};

class Translator {
 public:
  Translator(NatState& state, session::ServerMap& servermap, common::Interner& names,
             common::CounterTable& counters);

  // Static server-map entries for the configuration's NAT servers.
  void configure(const config::Config& c);

  // Destination NAT of a first packet that matched server-map entry `e` before
  // policy (a NAT server, or an ALG entry that names the inside endpoint).
  void destination(const session::ServerMapEntry& e, const packet::Parsed& p,
                   session::NatInfo* nat) const;
  // Source NAT of a new flow: Nat Server Reverse first, then the nat-policy.
  SourceDecision source(const FlowRequest& r, const CompiledNatPolicy& policy,
                        session::NatInfo* nat);
  // Whether source() would translate this flow (a flow picked up mid-stream
  // cannot be: its translation died with the fwd that made it).
  bool translates_source(const FlowRequest& r, const CompiledNatPolicy& policy) const;
  // A flow admitted by ALG entry `e` inherits its control session's NAT: the
  // destination named in the entry (destination()), the source address the
  // entry asks for. False: no port left on that address.
  bool inherit(const session::ServerMapEntry& e, const packet::Parsed& p, session::NatInfo* nat);
  // Give back what a session holds (ports, no-PAT binding and its entries).
  void release(const session::FlowKey& orig, const session::NatInfo& nat);
  // A server-map entry went away unused: give back the port it held.
  void entry_removed(const session::ServerMapEntry& e);

  // ALGs: a public port on `addr` for a data channel (kept until the entry
  // that names it is used or removed), and its release.
  std::optional<uint16_t> reserve_port(const common::IpAddr& addr, uint8_t proto, uint16_t hint);
  void release_port(const common::IpAddr& addr, uint8_t proto, uint16_t port);
  // An even/odd pair (RTP/RTCP): the even port; each is released on its own.
  std::optional<uint16_t> reserve_port_pair(const common::IpAddr& addr, uint8_t proto);

  // Restart (no worker running): take again exactly what a saved session
  // held - its PAT port on the same address, the destination port reserved
  // for the entry that admitted it, one reference on the same no-PAT binding of
  // address group `group` (interned into nat->group; the binding's No-Pat
  // entries are re-created, shown in `zone`, when the binding is new). All or
  // nothing: when something is taken or gone, nothing is held.
  enum class Reclaim : uint8_t { kOk, kPortTaken, kBindingTaken, kNoGroup };
  Reclaim reclaim(const session::FlowKey& orig, session::NatInfo* nat, const std::string& group,
                  uint8_t zone);
  // Restart: the port an ALG entry had reserved; false if it is in use.
  bool reclaim_port(const common::IpAddr& addr, uint8_t proto, uint16_t port);

  enum class Applied : uint8_t {
    kUntouched,   // nothing to translate (or the packet must keep its addresses)
    kRewritten,   // rewritten in place, checksums right
    kMalformed,   // the packet does not match its view
    kTtlExpired,  // about to expire while needing translation: drop
  };
  // Rewrite a packet of session `s` travelling in direction `d`. full_csum:
  // recompute transport checksums in full (the packet came CHECKSUM_PARTIAL).
  Applied apply(std::span<uint8_t> pkt, const packet::Parsed& p, const session::Session& s,
                session::Dir d, bool full_csum) const;
  // An ICMP error travelling in direction `d` of session `s` about a packet of it.
  Applied apply_icmp_error(std::span<uint8_t> pkt, const packet::Parsed& p,
                           const session::Session& s, session::Dir d) const;

  NatState& state() { return state_; }

 private:
  bool pat(const FlowRequest& r, const std::vector<common::IpAddr>& pool, session::NatKind kind,
           session::NatInfo* nat);
  bool no_pat(const FlowRequest& r, const SnatDecision& d, session::NatInfo* nat);
  void add_no_pat_entries(const common::IpAddr& inside, const common::IpAddr& global,
                          uint32_t group, uint8_t zone);

  NatState& state_;
  session::ServerMap& servermap_;
  common::Interner& names_;
  // Addresses of each no-PAT address group of the configuration (reclaim()
  // needs the pool a binding is made in).
  std::map<std::string, std::vector<common::IpAddr>, std::less<>> no_pat_pools_;
  common::Counter& c_port_exhausted_;
  common::Counter& c_nopat_exhausted_;
};

// The allocator's protocol for a flow: TCP and UDP ports and ICMP echo ids are
// separate spaces; other protocols have no port to translate (0).
uint8_t port_space(uint8_t proto);

}  // namespace fw::nat
