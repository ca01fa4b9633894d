#pragma once
// The data plane, put together in one place: counters, name and zone
// registries, the session table, the server-map, NAT state and translator, the
// ALG registry and engine, the application table, the published configuration
// snapshot and the pipeline - and the callbacks between them. The daemon, the
// unit tests, the fuzz targets and the benchmarks all build it the same way.
#include <cstddef>
#include <memory>
#include <string>

#include "aspf/engine.h"
#include "aspf/registry.h"
#include "common/clock.h"
#include "common/counters.h"
#include "common/interner.h"
#include "config/config.h"
#include "fwd/app.h"
#include "fwd/pipeline.h"
#include "fwd/route_source.h"
#include "fwd/runtime.h"
#include "nat/nat_policy.h"
#include "nat/translator.h"
#include "session/server_map.h"
#include "session/session_table.h"

namespace fw::fwd {

struct DataPlaneOptions {
  size_t max_sessions = 1'000'000;
  size_t servermap_max = 65536;
  size_t servermap_per_parent = 16;
  // Adds the ALGs (default: every ALG of this build). Tests may add their own.
  std::function<void(aspf::Registry&)> add_algs = aspf::add_builtin_algs;
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

 private:
  void on_session_removed(const session::Session& s);

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
  std::unique_ptr<Pipeline> pipeline_;
};

}  // namespace fw::fwd
