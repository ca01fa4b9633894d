#include "fwd/dataplane.h"

namespace fw::fwd {

namespace {
session::TableOptions table_options(const DataPlaneOptions& o) {
  session::TableOptions t;
  t.max_sessions = o.max_sessions;
  return t;
}
}  // namespace

DataPlane::DataPlane(const common::Clock& clock, RouteSource& routes, DataPlaneOptions opt)
    : clock_(clock),
      routes_(routes),
      zone_ids_(policy::kMaxZoneIds),
      table_(clock, table_options(opt), counters_),
      servermap_(clock, counters_, opt.servermap_max, opt.servermap_per_parent),
      translator_(nat_state_, servermap_, names_, counters_),
      algs_(counters_),
      engine_(algs_, clock, servermap_, translator_) {
  if (opt.add_algs) opt.add_algs(algs_);
  apps_ = std::make_unique<AppTable>(algs_);
  pipeline_ =
      std::make_unique<Pipeline>(PipelineParts{clock_, counters_, names_, table_, servermap_,
                                               translator_, engine_, *apps_, routes_, runtimes_});
  table_.set_on_remove([this](const session::Session& s) { on_session_removed(s); });
  // A port reserved for an ALG entry that was never used goes back.
  servermap_.set_on_remove(
      [this](const session::ServerMapEntry& e) { translator_.entry_removed(e); });
}

DataPlane::~DataPlane() {
  // Sessions still in the table own ALG data and hold NAT resources.
  table_.erase_if([](const session::Session&) { return true; });
}

void DataPlane::on_session_removed(const session::Session& s) {
  if (s.alg || s.alg_data || s.has_servermap) {
    aspf::EngineResult r = engine_.session_ended(s);
    for (const auto& a : r.age_children) pipeline_->age_children(s.id, a.proto, a.port_a, a.port_b);
  }
  translator_.release(s.orig, s.nat);
}

void DataPlane::apply(const config::Config& c) {
  translator_.configure(c);
  runtimes_.publish(std::make_unique<Runtime>(c, zone_ids_, counters_, algs_));
  runtimes_.reclaim();
}

std::string DataPlane::zone_name(uint8_t id) const {
  std::string n = id == policy::kNoZone ? std::string() : zone_ids_.name(id);
  return n.empty() ? "---" : n;
}

}  // namespace fw::fwd
