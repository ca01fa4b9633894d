#pragma once
// The ASPF engine: runs the inspectors of control sessions on the packet path.
// It is called with the control session locked (its ALG data lives in the
// session), keeps the per-direction framing, records and re-applies payload
// rewrites (so a retransmission is rewritten identically), adjusts TCP
// seq/ack/SACK after length changes, and fixes checksums when it changed
// anything. It also completes the flows the ALGs' entries admit (child_flow).
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "aspf/inspector.h"
#include "aspf/registry.h"
#include "common/clock.h"
#include "config/config.h"
#include "nat/translator.h"
#include "packet/parse.h"
#include "session/server_map.h"
#include "session/session.h"
#include "session/snapshot.h"

namespace fw::aspf {

// Which ALGs are on: globally and per zone pair (order-insensitive), and on
// which server ports (default ports plus `port-mapping`).
class DetectConfig {
 public:
  DetectConfig() = default;
  // zone_id resolves a zone name to the data plane's stable zone id.
  DetectConfig(const config::Config& c, const Registry& algs,
               const std::function<uint8_t(const std::string&)>& zone_id);
  // The inspector id for a new flow (0 = none) given its zones and server port.
  uint8_t classify(uint8_t src_zone, uint8_t dst_zone, uint8_t proto, uint16_t dport) const;
  // "appid" area: the inspector id for a flow identified as application `app` (whatever its
  // port): the ALG whose `firewall detect` keyword is that name and whose control channel runs
  // on `proto`, when detection of it is on for these zones (0 = none).
  uint8_t classify_application(uint8_t src_zone, uint8_t dst_zone, uint8_t proto,
                               std::string_view app) const;

 private:
  std::set<uint8_t> global_;
  std::map<std::pair<uint8_t, uint8_t>, std::set<uint8_t>> zones_;  // (lower id, higher id)
  std::map<std::pair<uint8_t, uint16_t>, uint8_t> ports_;           // (proto, port) -> id
  // name -> (id, transports)
  std::map<std::string, std::pair<uint8_t, std::array<uint8_t, 2>>, std::less<>> names_;
  bool enabled(uint8_t id, uint8_t src_zone, uint8_t dst_zone) const;
};

struct EngineResult {
  bool drop = false;
  bool modified = false;  // bytes (and maybe length) changed; `p` and checksums are updated
  bool opened = false;    // a server-map entry was opened (the control session shows "+->")
  // The inspector holds the control session alive until then (0 = not held):
  // its aging time must cover it.
  uint64_t hold_until_ms = 0;
  // Children to age out quickly, once the control session is unlocked.
  struct ChildAging {
    uint8_t proto;
    uint16_t port_a, port_b;
  };
  std::vector<ChildAging> age_children;
};

class Engine {
 public:
  Engine(Registry& algs, const common::Clock& clock, session::ServerMap& servermap,
         nat::Translator& nat);

  // A packet of control session `s` (locked by the caller) in direction d,
  // after NAT header translation. *len may grow up to capacity; `p` describes
  // the packet on entry and still does on return.
  // Live trace: `sink` (null when the packet is not traced) hears what the ALG did.
  EngineResult process(uint8_t* data, uint32_t* len, uint32_t capacity, packet::Parsed& p,
                       session::Session& s, session::Dir d, TraceSink* sink = nullptr);
  // "appid" area: control session `s` (locked by the caller) was given its ALG mid-way, when
  // packet `p` (direction d, not yet processed) identified it: the stream of d starts at this
  // packet's payload, the other direction's at the byte p acknowledges.
  void take_over(session::Session& s, const packet::Parsed& p, session::Dir d);
  // The control session is gone (no lock held): on_close, its entries removed,
  // its ALG data freed. The result may ask for children to age out.
  EngineResult session_ended(const session::Session& s);
  // Display: the inspector's description of control session `s` (locked by
  // the caller): Inspector::describe of its state; "" without ALG data.
  std::string describe(const session::Session& s) const;
  // A first packet matched ALG entry `e`: let its inspector complete the child.
  void child_flow(const session::ServerMapEntry& e, ChildFlow& c) const;
  const Registry& algs() const { return algs_; }

  // Restart support, with the session locked or no worker running. The
  // sequence state of control session `s`: both directions' seq/ack adjustment,
  // the rewrites still applied to retransmissions and how far each stream was
  // inspected. nullopt when it has no ALG data yet.
  std::optional<session::snapshot::AlgState> save_alg(const session::Session& s) const;
  // Gives restored control session `s` (alg set, no ALG data) that state.
  // Inspection resumes safely: the framers restart unsynchronised after what
  // was inspected (only what follows the next message boundary counts; a
  // length-framed stream stays uninspected), the inspector's protocol state
  // starts anew, seq/ack adjustment and rewrites of retransmissions go on.
  // False (nothing attached) when the state is invalid or the ALG unknown.
  bool load_alg(session::Session& s, const session::snapshot::AlgState& st);

 private:
  class Ctx;
  struct SessionAlg;
  SessionAlg& data_for(session::Session& s, const Inspector& ins);
  void feed_framer(Ctx& ctx, SessionAlg& sa, Inspector& ins, const uint8_t* data,
                   const packet::Parsed& p, session::Dir d);
  // One framed message of direction `d` to the inspector; its edits become
  // rewrites of the stream.
  void inspect_message(Ctx& ctx, SessionAlg& sa, Inspector& ins, const Message& m, session::Dir d);
  void process_stream(Ctx& ctx, SessionAlg& sa, Inspector& ins, uint8_t* data, uint32_t* len,
                      uint32_t capacity, packet::Parsed& p, session::Dir d);
  void process_datagram(Ctx& ctx, SessionAlg& sa, Inspector& ins, uint8_t* data, uint32_t* len,
                        uint32_t capacity, packet::Parsed& p, session::Dir d);
  bool splice(uint8_t* data, uint32_t* len, uint32_t capacity, packet::Parsed& p, size_t at,
              size_t old_len, std::span<const uint8_t> with);

  Registry& algs_;
  const common::Clock& clock_;
  session::ServerMap& servermap_;
  nat::Translator& nat_;
};

}  // namespace fw::aspf
