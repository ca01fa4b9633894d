#include "fwd/runtime.h"

#include <algorithm>

namespace fw::fwd {

Runtime::Runtime(const config::Config& c, common::Interner& zone_ids,
                 common::CounterTable& counters, const aspf::Registry& algs)
    : zones(c, zone_ids),
      policy(c, zones, counters),
      nat(c, zones, counters),
      detect(c, algs, [this](const std::string& n) { return zones.by_name(n); }),
      timeouts(timeouts_from(c.aging)) {
  for (const auto& i : c.interfaces)
    if (i.ping != config::InterfaceSettings::Manage::kDefault) ping_manage_by_name[i.name] = i.ping;
  for (const auto& z : c.zones)
    if (policy::ZoneId id = zones.by_name(z.name); id != policy::kNoZone) urpf_by_zone[id] = z.urpf;
  build_source_limits(c);
  build_anti_ddos(c);
}

void Runtime::build_anti_ddos(const config::Config& c) {
  miss_ack_rate = c.miss_ack_rate;                                            // "synproxy" area
  half_open_global = c.anti_ddos.half_open_limit.value_or(half_open_global);  // "halfopen"
  auto pick = [](uint32_t zone, uint32_t global) { return zone ? zone : global; };
  for (const auto& z : c.zones) {
    const policy::ZoneId id = zones.by_name(z.name);
    if (id == policy::kNoZone) continue;
    if (half_open_limits.size() <= id) half_open_limits.resize(size_t{id} + 1, half_open_global);
    half_open_limits[id] = z.anti_ddos.half_open_limit.value_or(half_open_global);  // "halfopen"
    config::AntiDdos a{pick(z.anti_ddos.syn_max_rate, c.anti_ddos.syn_max_rate),
                       pick(z.anti_ddos.udp_max_rate, c.anti_ddos.udp_max_rate),
                       pick(z.anti_ddos.icmp_max_rate, c.anti_ddos.icmp_max_rate)};
    // "synproxy" area: the zone's tcp-proxy setting wins as a whole.
    const config::AntiDdos& px = z.anti_ddos.tcp_proxy ? z.anti_ddos : c.anti_ddos;
    a.tcp_proxy = px.tcp_proxy;
    a.proxy_alert_rate = px.proxy_alert_rate;
    syn_proxy_any = syn_proxy_any || a.tcp_proxy;
    if (a == config::AntiDdos{}) continue;
    if (anti_ddos.size() <= id) anti_ddos.resize(size_t{id} + 1);
    anti_ddos[id] = a;
    anti_ddos_any = true;
  }
  if (c.appid_packets) appid_packets = c.appid_packets;  // "appid"
}

void Runtime::build_source_limits(const config::Config& c) {
  for (const auto& z : c.zones) {
    const policy::ZoneId id = zones.by_name(z.name);
    if (id == policy::kNoZone) continue;
    session::SourceLimits l;
    l.max_sessions =
        z.source_limit.max_session ? z.source_limit.max_session : c.source_limit.max_session;
    l.max_rate =
        z.source_limit.session_rate ? z.source_limit.session_rate : c.source_limit.session_rate;
    if (!l.any()) continue;
    if (source_limits.size() <= id) source_limits.resize(size_t{id} + 1);
    source_limits[id] = l;
    source_limits_any = true;
  }
}

config::InterfaceSettings::Manage Runtime::ping_manage(uint32_t ifindex, RouteSource& names) const {
  if (ping_manage_by_name.empty() || ifindex == 0)
    return config::InterfaceSettings::Manage::kDefault;
  auto it = ping_manage_by_name.find(names.ifname(ifindex));
  return it == ping_manage_by_name.end() ? config::InterfaceSettings::Manage::kDefault : it->second;
}

policy::ZoneId Runtime::zone_of_ifindex(uint32_t ifindex, RouteSource& names) const {
  if (ifindex == 0) return policy::kNoZone;
  const std::string name = names.ifname(ifindex);
  return name.empty() ? policy::kNoZone : zones.by_interface(name);
}

session::Timeouts timeouts_from(const config::AgingTimes& a) {
  session::Timeouts t;
  for (const auto& [name, def] : config::aging_defaults()) {
    t.secs.push_back(config::aging_value(a, name));
  }
  t.syn = config::aging_class("syn").value_or(0);
  t.fin_rst = config::aging_class("fin-rst").value_or(0);
  t.first_fin = config::aging_class("first-fin");
  return t;
}

// ---- RuntimeHolder ---------------------------------------------------------

RuntimeHolder::~RuntimeHolder() = default;

RuntimeHolder::Reader::Reader(RuntimeHolder& h) : h_(h), slot_(h.claim_slot()) {}

RuntimeHolder::Reader::~Reader() {
  release();
  h_.free_slot(slot_);
}

const Runtime* RuntimeHolder::Reader::acquire() {
  const Runtime* p = h_.cur_.load(std::memory_order_acquire);
  // Announce, then check the announcement is still current: a writer that
  // retires p after this point sees the announcement and keeps p alive.
  for (;;) {
    slot_->store(p, std::memory_order_seq_cst);
    const Runtime* q = h_.cur_.load(std::memory_order_seq_cst);
    if (q == p) return p;
    p = q;
  }
}

void RuntimeHolder::Reader::release() { slot_->store(nullptr, std::memory_order_release); }

std::atomic<const Runtime*>* RuntimeHolder::claim_slot() {
  std::lock_guard<std::mutex> lk(mu_);
  for (size_t i = 0; i < kMaxReaders; ++i) {
    if (!slot_used_[i].load()) {
      slot_used_[i].store(true);
      return &slots_[i];
    }
  }
  // More readers than slots: a programming error (workers are bounded by --queues).
  std::abort();
}

void RuntimeHolder::free_slot(std::atomic<const Runtime*>* s) {
  std::lock_guard<std::mutex> lk(mu_);
  s->store(nullptr);
  slot_used_[static_cast<size_t>(s - slots_.data())].store(false);
}

void RuntimeHolder::publish(std::unique_ptr<Runtime> rt) {
  std::lock_guard<std::mutex> lk(mu_);
  cur_.store(rt.get(), std::memory_order_seq_cst);
  if (current_) retired_.push_back(std::move(current_));
  current_ = std::move(rt);
}

size_t RuntimeHolder::reclaim() {
  std::lock_guard<std::mutex> lk(mu_);
  std::erase_if(retired_, [&](const std::unique_ptr<Runtime>& r) {
    return std::none_of(slots_.begin(), slots_.end(), [&](const auto& s) {
      return s.load(std::memory_order_seq_cst) == r.get();
    });
  });
  return retired_.size();
}

}  // namespace fw::fwd
