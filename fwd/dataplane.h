#pragma once
// The data plane, put together in one place: counters, name and zone
// registries, the session table, the server-map, NAT state and translator, the
// ALG registry and engine, the application table, the published configuration
// snapshot and the pipeline - and the callbacks between them. The daemon, the
// unit tests, the fuzz targets and the benchmarks all build it the same way.
#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "aspf/engine.h"
#include "aspf/registry.h"
#include "common/clock.h"
#include "common/counters.h"
#include "common/interner.h"
#include "config/config.h"
#include "evlog/event_log.h"
#include "fwd/app.h"
#include "fwd/evlog_events.h"
#include "fwd/pipeline.h"
#include "fwd/route_source.h"
#include "fwd/runtime.h"
#include "nat/nat_policy.h"
#include "nat/translator.h"
#include "session/server_map.h"
#include "session/session_table.h"
#include "session/snapshot.h"
#include "session/source_limit.h"

namespace fw::fwd {

struct DataPlaneOptions {
  size_t max_sessions = 1'000'000;
  size_t servermap_max = 65536;
  size_t servermap_per_parent = 16;
  // Adds the ALGs (default: every ALG of this build). Tests may add their own.
  std::function<void(aspf::Registry&)> add_algs = aspf::add_builtin_algs;
  evlog::Options evlog;  // "evlog" area: the event log (its sinks follow the configuration)
};

// What DataPlane::restore_state() did, for the daemon's log.
struct RestoreReport {
  // Why a saved session or server-map entry was left out.
  enum Skip : size_t {
    kExpired,     // its aging time (entry: lifetime) ran out meanwhile
    kZone,        // a zone it names is no longer configured
    kApp,         // unknown application
    kAlg,         // its ALG (entry: the ALG or channel) no longer exists
    kAlgState,    // the ALG sequence state does not load
    kNatPort,     // a port it held is taken
    kNatBinding,  // its no-PAT binding is taken, or its group gone
    kParent,      // entry: its control session was not restored
    kTable,       // the table refused it (full, or the flow exists)
    kSkipCount
  };
  static std::string_view skip_name(size_t why);

  bool found = true;                 // false: there was no state file (nothing to do)
  size_t sessions = 0, entries = 0;  // restored
  std::array<size_t, kSkipCount> sessions_skipped{}, entries_skipped{};
  // "restored 7 sessions (skipped 1: nat-port 1), 2 server-map entries (skipped 0)"
  std::string summary() const;
};

class DataPlane {
 public:
  DataPlane(const common::Clock& clock, RouteSource& routes, DataPlaneOptions opt = {});
  ~DataPlane();
  DataPlane(const DataPlane&) = delete;
  DataPlane& operator=(const DataPlane&) = delete;

  // Build the snapshot of a configuration and publish it (NAT servers' static
  // server-map entries included). The replaced snapshot is freed as soon as no
  // worker uses it.
  void apply(const config::Config& c);

  const common::Clock& clock() const { return clock_; }
  common::CounterTable& counters() { return counters_; }
  common::Interner& names() { return names_; }  // policy rules, NAT servers, groups
  common::Interner& zone_ids() { return zone_ids_; }
  std::string zone_name(uint8_t id) const;  // "---" if unknown
  session::SessionTable& sessions() { return table_; }
  session::ServerMap& servermap() { return servermap_; }
  nat::NatState& nat_state() { return nat_state_; }
  nat::Translator& translator() { return translator_; }
  aspf::Registry& algs() { return algs_; }
  aspf::Engine& engine() { return engine_; }
  const AppTable& apps() const { return *apps_; }
  RuntimeHolder& runtimes() { return runtimes_; }
  Pipeline& pipeline() { return *pipeline_; }
  RouteSource& routes() { return routes_; }
  session::SourceLimiter& sources() { return sources_; }  // "srclimit" area
  session::FloodLimiter& floods() { return floods_; }     // flood defence
  // "evlog" area: the event log and what the data plane posts to it. The daemon starts its
  // writer (evlog().start()); without it events wait for evlog().drain().
  evlog::EventLog& evlog() { return evlog_; }
  Events& events() { return *events_; }
  session::SynProxy& synproxy() { return synproxy_; }           // "synproxy" area
  session::HalfOpenLimiter& half_open() { return half_open_; }  // "halfopen" area

  // Planned restart. save_state: every session, the ASPF server-map entries
  // and the ALG sequence state of control sessions, with the kernel's boot id,
  // written to `path` atomically (temporary file, fsync, rename). Call it when
  // no worker runs any more. False with *err (nothing replaced at path).
  bool save_state(const std::string& path, std::string* err);
  // restore_state: after apply() of the configuration, before workers run.
  // Refuses the file as a whole - nullopt with *err, nothing restored - when it
  // is of another boot or version, fails its checksum or does not decode. A
  // missing file is no error: the report says found = false. Otherwise each
  // session gets its NAT resources back exactly (or is skipped and counted),
  // new ids, its times and ALG sequence state.
  std::optional<RestoreReport> restore_state(const std::string& path, std::string* err);

 private:
  using IdMap = std::unordered_map<uint64_t, uint64_t>;  // saved id -> new id
  void on_session_removed(const session::Session& s, session::CloseReason why);
  session::snapshot::SavedSession save_session(const session::Session& s) const;
  session::snapshot::SavedEntry save_entry(const session::ServerMapEntry& e) const;
  RestoreReport restore(const session::snapshot::Snapshot& snap, const Runtime& rt);
  std::optional<RestoreReport::Skip> restore_session(const session::snapshot::SavedSession& ss,
                                                     const Runtime& rt, uint64_t now, IdMap& ids);
  std::optional<RestoreReport::Skip> restore_entry(const session::snapshot::SavedEntry& se,
                                                   uint64_t now, const IdMap& ids);

  const common::Clock& clock_;
  RouteSource& routes_;
  common::CounterTable counters_;
  common::Interner names_;
  common::Interner zone_ids_;
  session::SessionTable table_;
  session::ServerMap servermap_;
  nat::NatState nat_state_;
  nat::Translator translator_;
  aspf::Registry algs_;
  aspf::Engine engine_;
  std::unique_ptr<AppTable> apps_;
  RuntimeHolder runtimes_;
  session::SourceLimiter sources_;
  session::FloodLimiter floods_;        // flood defence (`anti-ddos ... max-rate`)
  session::SynProxy synproxy_;          // "synproxy" area: `anti-ddos syn-flood tcp-proxy`
  session::HalfOpenLimiter half_open_;  // "halfopen" area: half-open sessions per destination
  std::unique_ptr<Pipeline> pipeline_;
  evlog::EventLog evlog_;           // "evlog" area
  std::unique_ptr<Events> events_;  // "evlog" area
};

}  // namespace fw::fwd
