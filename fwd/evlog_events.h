#pragma once
// "evlog" area: what the data plane tells the event log (evlog/), as key=value texts close to
// Huawei's SECLOG formats. Called from the packet path and the maintenance thread: every call
// formats into a fixed buffer and posts without blocking (evlog::EventLog::post); per-packet
// events (policy drops, NAT exhaustion, table full) are sampled, at most kSampledPerSecond each.
#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/interner.h"
#include "evlog/event_log.h"
#include "session/server_map.h"
#include "session/session.h"

namespace fw::aspf {
class Registry;
}

namespace fw::fwd {

class AppTable;

class Events {
 public:
  // Sampled events: at most this many a second of each kind, the rest counted as suppressed.
  static constexpr uint32_t kSampledPerSecond = 10;
  enum class Sampled : uint8_t { kPolicyDeny, kNatExhausted, kTableFull, kCount };

  Events(evlog::EventLog& log, const common::Clock& clock, const common::Interner& names,
         const common::Interner& zones, const AppTable& apps, const aspf::Registry& algs);

  evlog::EventLog& log() { return log_; }

  void session_created(const session::Session& s);
  void session_closed(const session::Session& s, session::CloseReason why);
  void servermap(const session::ServerMapEntry& e, session::MapEvent what);
  // A first packet refused: policy deny (the rule, "default" included), NAT pool or port
  // exhaustion, the session table at its cap. Sampled.
  void flow_refused(Sampled kind, const session::FlowKey& k, uint8_t src_zone, uint8_t dst_zone,
                    std::string_view rule);
  // ("halfopen" area: `rate_key`, `count_key` name the figures of an attack that is not a rate.)
  void attack_started(std::string_view kind, const common::IpAddr& dst, uint32_t rate,
                      std::string_view rate_key = "MaxRate");
  void attack_ended(std::string_view kind, uint64_t refused, uint64_t seconds,
                    std::string_view count_key = "RefusedSessions");
  void command(std::string_view line);  // SHELL/5/CMDRECORD

  uint64_t suppressed() const;  // sampled events left out

 private:
  bool sample(Sampled kind);
  uint64_t wall_s_of(uint64_t mono_ms) const;  // a session time as wall-clock seconds
  void tuple(evlog::KvText& kv, const session::Session& s) const;
  std::string zone(uint8_t id) const;

  evlog::EventLog& log_;
  const common::Clock& clock_;
  const common::Interner& names_;
  const common::Interner& zones_;
  const AppTable& apps_;
  const aspf::Registry& algs_;
  struct Window {
    std::atomic<uint64_t> second{0};
    std::atomic<uint32_t> count{0};
    std::atomic<uint64_t> suppressed{0};
  };
  std::array<Window, static_cast<size_t>(Sampled::kCount)> windows_;
};

}  // namespace fw::fwd
