#pragma once
// An immutable snapshot of everything the packet path derives from the
// configuration: zones, the compiled security and NAT policies, which ALGs
// inspect what, aging times. A configuration change builds a new one and
// publishes it through a RuntimeHolder, which frees the one it replaces as soon
// as no worker uses it.
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "aspf/engine.h"
#include "common/counters.h"
#include "common/interner.h"
#include "config/config.h"
#include "fwd/route_source.h"
#include "nat/nat_policy.h"
#include "policy/policy.h"
#include "session/half_open.h"
#include "session/session.h"
#include "session/source_limit.h"

namespace fw::fwd {

struct Runtime {
  Runtime(const config::Config& c, common::Interner& zone_ids, common::CounterTable& counters,
          const aspf::Registry& algs);

  policy::ZoneTable zones;
  policy::CompiledPolicy policy;
  nat::CompiledNatPolicy nat;
  aspf::DetectConfig detect;
  session::Timeouts timeouts;

  // ifindex -> zone, by the interface's current name (interfaces come, go and are
  // renamed while the configuration names them; the name source follows link events).
  policy::ZoneId zone_of_ifindex(uint32_t ifindex, RouteSource& names) const;

  // "iface" area: `service-manage ping` of an interface (by Linux name; kDefault when unset).
  std::unordered_map<std::string, config::InterfaceSettings::Manage> ping_manage_by_name;
  config::InterfaceSettings::Manage ping_manage(uint32_t ifindex, RouteSource& names) const;

  // "guard" area: `urpf` of each zone, by zone id (kOff for most).
  std::array<config::Urpf, 256> urpf_by_zone{};
  // "srclimit" area: the per-source limits of sources arriving in a zone (the zone's values
  // over the global ones); none at all when nothing is configured.
  bool source_limits_any = false;
  void build_source_limits(const config::Config& c);
  std::vector<session::SourceLimits> source_limits;  // by zone id
  session::SourceLimits source_limits_of(policy::ZoneId z) const {
    return z < source_limits.size() ? source_limits[z] : session::SourceLimits{};
  }
  // Flood defence: the per-destination new-session rates of floods arriving in a zone (the
  // zone's values over the global ones), by zone id; none at all when nothing is configured.
  bool anti_ddos_any = false;
  bool syn_proxy_any = false;  // "synproxy" area: some zone has `anti-ddos syn-flood tcp-proxy`
  uint32_t miss_ack_rate = 0;  // "synproxy" area: `firewall reverse-session miss-ack rate-limit`
  std::vector<config::AntiDdos> anti_ddos;
  void build_anti_ddos(const config::Config& c);
  config::AntiDdos anti_ddos_of(policy::ZoneId z) const {
    return z < anti_ddos.size() ? anti_ddos[z] : config::AntiDdos{};
  }
  // "halfopen" area: `anti-ddos syn-flood half-open-limit` for SYNs arriving in a zone (the
  // zone's value over the global one; 0: no limit), by zone id; others get the global value.
  uint32_t half_open_global = session::HalfOpenLimiter::kDefaultLimit;
  std::vector<uint32_t> half_open_limits;
  uint32_t half_open_limit_of(policy::ZoneId z) const {
    return z < half_open_limits.size() ? half_open_limits[z] : half_open_global;
  }
  // "appid" area: identification looks at a session's first appid_packets packets.
  static constexpr uint32_t kAppidPacketsDefault = 10;
  uint32_t appid_packets = kAppidPacketsDefault;
};

session::Timeouts timeouts_from(const config::AgingTimes& a);

// Publishes snapshots to the packet path and frees a replaced snapshot as soon
// as no reader can still use it (hazard pointers: a reader announces the
// snapshot it is about to use in its own slot; a retired snapshot is freed when
// no slot names it). Each worker thread holds one Reader.
class RuntimeHolder {
 public:
  static constexpr size_t kMaxReaders = 128;
  RuntimeHolder() = default;
  RuntimeHolder(const RuntimeHolder&) = delete;
  RuntimeHolder& operator=(const RuntimeHolder&) = delete;
  ~RuntimeHolder();

  class Reader {
   public:
    explicit Reader(RuntimeHolder& h);
    ~Reader();
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;
    // The current snapshot (nullptr before the first publish), valid until release().
    const Runtime* acquire();
    void release();

   private:
    RuntimeHolder& h_;
    std::atomic<const Runtime*>* slot_;
  };

  void publish(std::unique_ptr<Runtime> rt);
  const Runtime* current() const { return cur_.load(std::memory_order_acquire); }
  // Frees retired snapshots no reader uses; returns how many are still retired.
  size_t reclaim();

 private:
  std::atomic<const Runtime*>* claim_slot();
  void free_slot(std::atomic<const Runtime*>* s);

  std::atomic<const Runtime*> cur_{nullptr};
  std::array<std::atomic<const Runtime*>, kMaxReaders> slots_{};
  std::array<std::atomic<bool>, kMaxReaders> slot_used_{};
  std::mutex mu_;  // writers: publish, reclaim, slot claims
  std::unique_ptr<Runtime> current_;
  std::vector<std::unique_ptr<Runtime>> retired_;
};

}  // namespace fw::fwd
