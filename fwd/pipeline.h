#pragma once
// The packet path: parse -> session lookup -> (first packet) route lookup,
// zones, security policy -> new session. Shared by all worker threads.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <unordered_map>
#include <vector>

#include "aspf/engine.h"
#include "common/clock.h"
#include "common/counters.h"
#include "fwd/nfqueue.h"
#include "fwd/route_source.h"
#include "fwd/runtime.h"
#include "nat/nat_policy.h"
#include "packet/parse.h"
#include "session/server_map.h"
#include "session/session_table.h"

namespace fw::fwd {

// Names of the drop reasons (counter packet.drop.<name>), in display order.
const std::vector<std::string>& drop_reason_names();

class Pipeline {
 public:
  Pipeline(const common::Clock& clock, session::SessionTable& table, RouteSource& routes,
           session::ServerMap& servermap, nat::NatState& nat, aspf::Engine& aspf);

  // Install a new configuration snapshot (takes ownership; the old one is
  // retired and freed by retire_old() after a grace period).
  void set_runtime(std::unique_ptr<Runtime> rt);
  const Runtime* runtime() const { return rt_.load(std::memory_order_acquire); }
  void retire_old();

  Decision process(QueuedPacket& qp);
  // The same for a bare buffer (tests, pcap replay, fuzzing).
  Decision process_bytes(uint8_t* data, uint32_t len, uint32_t indev, uint8_t hook = 0);

  // Periodic work: aging sweep, fragment cache expiry. Called by the maintenance thread.
  void maintain();

 private:
  enum class Drop {
    kMalformed,
    kTcpNotSyn,
    kPolicyDeny,
    kNoZone,
    kNoRoute,
    kTableFull,
    kFragment,
    kIcmpNoSession,
    kNatExhausted,
    kNatCollision,
    kTtlExpiredNat,
    kCount
  };
  Decision drop(Drop why);
  Decision accept();
  // Returns false with *why to drop; on success *nat holds the new session's translation.
  bool first_packet(QueuedPacket& qp, const packet::Parsed& p, const session::FlowKey& key,
                    const Runtime& rt, Drop* why, session::Session* created);
  Decision run_alg(QueuedPacket& qp, Decision d, const session::Session& s, session::Dir dir);
  // Source NAT for a new flow; false = pool exhausted.
  bool source_nat(const packet::Parsed& p, const common::IpAddr& dst, policy::ZoneId sz,
                  policy::ZoneId dz, const RouteInfo& r, const Runtime& rt, session::NatInfo* nat);
  void release_nat(const session::Session& s);
  // Rewrites the packet for its direction in a translated session; returns the decision.
  Decision translate(QueuedPacket& qp, const packet::Parsed& p, const session::FlowKey& orig,
                     const session::NatInfo& nat, session::Dir d, bool forwarded);
  Decision translate_icmp_error(QueuedPacket& qp, const packet::Parsed& p,
                                const session::FlowKey& orig, const session::NatInfo& nat,
                                session::Dir d);
  void install_static_servermap(const config::Config& c);
  void update_session(session::Session& s, session::Dir d, const packet::Parsed& p, uint32_t len,
                      const Runtime& rt);
  void remember_fragment(const packet::Parsed& p);
  bool fragment_known(const packet::Parsed& p);

  const common::Clock& clock_;
  session::SessionTable& table_;
  RouteSource& routes_;
  session::ServerMap& servermap_;
  nat::NatState& nat_;
  aspf::Engine& aspf_;
  session::AppId ftp_data_app_;
  std::atomic<const Runtime*> rt_{nullptr};
  std::mutex retire_mu_;
  std::vector<std::pair<uint64_t, std::unique_ptr<Runtime>>> retired_;
  std::unique_ptr<Runtime> current_;

  struct FragKey {
    common::IpAddr src, dst;
    uint32_t id;
    uint8_t proto;
    bool operator==(const FragKey& o) const {
      return src == o.src && dst == o.dst && id == o.id && proto == o.proto;
    }
  };
  struct FragHash {
    size_t operator()(const FragKey& k) const {
      return k.src.hash() ^ (k.dst.hash() << 1) ^ k.id ^ k.proto;
    }
  };
  std::mutex frag_mu_;
  std::unordered_map<FragKey, uint64_t, FragHash> frags_;  // -> expiry ms

  common::Counter& c_received_;
  common::Counter& c_accepted_;
  common::Counter& c_dropped_;
  common::Counter& c_related_;
  common::Counter& c_translated_;
  common::Counter& c_local_icmp_;
  std::array<common::Counter*, static_cast<size_t>(Drop::kCount)> c_drop_{};
  std::array<common::Counter*, 16> c_malformed_{};
};

}  // namespace fw::fwd
