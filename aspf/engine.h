#pragma once
// The ASPF engine: runs the inspectors of control sessions on the packet
// path. For each packet of a session with an ALG it keeps the per-direction
// framing, records and re-applies payload rewrites (so a retransmission is
// rewritten identically), adjusts TCP seq/ack/SACK after length changes, and
// recomputes checksums when it changed anything.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "aspf/inspector.h"
#include "common/clock.h"
#include "config/config.h"
#include "packet/parse.h"
#include "session/seq_adjust.h"
#include "session/server_map.h"
#include "session/session.h"

namespace fw::nat {
class NatState;
}

namespace fw::aspf {

// Which ALGs are on: globally and per zone pair (order-insensitive).
class DetectConfig {
 public:
  DetectConfig() = default;
  explicit DetectConfig(const config::Config& c);
  // The inspector id for a new flow (0 = none) given its zones and server port.
  // Zone ids are the stable ones of policy::zone_id_of, resolved once here so
  // the per-flow lookup needs no names and no lock.
  uint8_t classify(uint8_t src_zone, uint8_t dst_zone, uint8_t proto, uint16_t dport) const;

 private:
  std::set<uint8_t> global_;
  std::map<std::pair<uint8_t, uint8_t>, std::set<uint8_t>> zones_;  // (lower id, higher id)
  std::map<std::pair<uint8_t, uint16_t>, uint8_t> ports_;           // (proto, port) -> inspector id
};

struct EngineResult {
  bool drop = false;
  bool modified = false;  // packet bytes (and maybe length) changed; checksums are already fixed
  bool opened = false;    // a server-map entry was opened (mark the control session "+->")
};

class Engine {
 public:
  Engine(const common::Clock& clock, session::ServerMap& servermap, nat::NatState& nat);
  ~Engine();

  // A packet of control session `s` (a copy taken under the session lock) in
  // direction d, after NAT header translation. *len may grow up to capacity.
  EngineResult process(uint8_t* data, uint32_t* len, uint32_t capacity, const session::Session& s,
                       session::Dir d);
  // The control session is gone: drop its state and its server-map entries.
  void session_ended(const session::Session& s);
  // Set by the packet path: make children of `parent` matching proto/ports age quickly.
  using ChildAger = std::function<void(uint64_t parent, uint8_t proto, uint16_t a, uint16_t b)>;
  void set_child_ager(ChildAger f) { ager_ = std::move(f); }
  size_t states() const;

 private:
  struct Rewrite {
    uint32_t pos;  // original seq of the first replaced byte
    std::vector<uint8_t> old_bytes;
    std::vector<uint8_t> new_bytes;
  };
  struct DirState {
    std::unique_ptr<Framer> framer;
    session::SeqAdjust adjust;
    std::vector<Rewrite> rewrites;  // bounded, oldest dropped
  };
  struct SessState {
    std::mutex mu;
    uint8_t alg = 0;
    std::array<DirState, 2> dirs;
    std::unique_ptr<State> st;
    std::set<std::string> logged;
  };
  class Ctx;
  std::shared_ptr<SessState> state_for(const session::Session& s);

  const common::Clock& clock_;
  session::ServerMap& servermap_;
  nat::NatState& nat_;
  ChildAger ager_;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, std::shared_ptr<SessState>> states_;
};

}  // namespace fw::aspf
