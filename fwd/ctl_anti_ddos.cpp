// Flood defence (issue 16 items 2 and 9): `anti-ddos syn-flood|udp-flood|icmp-flood max-rate N`
// in the system view (global) and in a zone view (floods arriving in that zone; its value wins
// kind by kind), and `display anti-ddos statistics`.
#include <algorithm>
#include <iomanip>

#include "common/clock.h"
#include "fwd/ctl_context.h"
#include "fwd/dataplane.h"

namespace fw::fwd::ctl {
namespace {

constexpr session::FloodKind kKinds[] = {session::FloodKind::kSyn, session::FloodKind::kUdp,
                                         session::FloodKind::kIcmp};

uint32_t& field(config::AntiDdos& a, session::FloodKind k) {
  switch (k) {
    case session::FloodKind::kUdp:
      return a.udp_max_rate;
    case session::FloodKind::kIcmp:
      return a.icmp_max_rate;
    default:
      return a.syn_max_rate;
  }
}

// The kind the command names (exactly one of the three keywords matched).
session::FloodKind kind_of(Ctx& c) {
  for (auto k : kKinds)
    if (c.m.has(session::flood_kind_name(k))) return k;
  return session::FloodKind::kSyn;
}

void set_rate(Ctx& c, config::AntiDdos& a) {
  field(a, kind_of(c)) = static_cast<uint32_t>(c.m.integer("rate").value_or(0));
  c.changed = true;
}

void undo_rate(Ctx& c, config::AntiDdos& a) {
  field(a, kind_of(c)) = 0;
  c.changed = true;
}

void antiddos_rate(Ctx& c) { set_rate(c, c.cfg.anti_ddos); }
void undo_antiddos(Ctx& c) { undo_rate(c, c.cfg.anti_ddos); }

void zone_antiddos_rate(Ctx& c) {
  if (auto* z = c.w.zone(c.arg())) set_rate(c, z->anti_ddos);
}

void undo_zone_antiddos(Ctx& c) {
  if (auto* z = c.w.zone(c.arg())) undo_rate(c, z->anti_ddos);
}

// "synproxy" area: `anti-ddos syn-flood tcp-proxy [alert-rate N] [max-rate N]` (alert-rate
// omitted: 0, always proxy; max-rate given: also the syn-flood max-rate) and its undo (the
// max-rate stays).
void set_proxy(Ctx& c, config::AntiDdos& a) {
  a.tcp_proxy = true;
  a.proxy_alert_rate = static_cast<uint32_t>(c.m.integer("alert-value").value_or(0));
  if (auto r = c.m.integer("rate")) a.syn_max_rate = static_cast<uint32_t>(*r);
  c.changed = true;
}

void undo_proxy(Ctx& c, config::AntiDdos& a) {
  a.tcp_proxy = false;
  a.proxy_alert_rate = 0;
  c.changed = true;
}

void antiddos_proxy(Ctx& c) { set_proxy(c, c.cfg.anti_ddos); }
void undo_antiddos_proxy(Ctx& c) { undo_proxy(c, c.cfg.anti_ddos); }
void zone_antiddos_proxy(Ctx& c) {
  if (auto* z = c.w.zone(c.arg())) set_proxy(c, z->anti_ddos);
}
void undo_zone_antiddos_proxy(Ctx& c) {
  if (auto* z = c.w.zone(c.arg())) undo_proxy(c, z->anti_ddos);
}

void missack_rate(Ctx& c) {
  c.cfg.miss_ack_rate = static_cast<uint32_t>(c.m.integer("miss-ack-rate").value_or(0));
  c.changed = true;
}
void undo_missack_rate(Ctx& c) {
  c.cfg.miss_ack_rate = 0;
  c.changed = true;
}

// "halfopen" area: `anti-ddos syn-flood half-open-limit N` (0: no limit) and its undo (global:
// back to the default; zone: back to the global value).
void set_half_open(Ctx& c, config::AntiDdos& a) {
  a.half_open_limit = static_cast<uint32_t>(c.m.integer("half-open-value").value_or(0));
  c.changed = true;
}
void undo_half_open(Ctx& c, config::AntiDdos& a) {
  a.half_open_limit.reset();
  c.changed = true;
}
void antiddos_halfopen(Ctx& c) { set_half_open(c, c.cfg.anti_ddos); }
void undo_antiddos_halfopen(Ctx& c) { undo_half_open(c, c.cfg.anti_ddos); }
void zone_antiddos_halfopen(Ctx& c) {
  if (auto* z = c.w.zone(c.arg())) set_half_open(c, z->anti_ddos);
}
void undo_zone_antiddos_halfopen(Ctx& c) {
  if (auto* z = c.w.zone(c.arg())) undo_half_open(c, z->anti_ddos);
}

std::string rate_text(uint32_t v) { return v ? std::to_string(v) : "-"; }

// Seconds ago, or "-" for never.
std::string ago(uint64_t now_ms, uint64_t t_ms) {
  if (t_ms == 0) return "-";
  return std::to_string((now_ms > t_ms ? now_ms - t_ms : 0) / 1000) + " s ago";
}

// Whether a zone sets any of the rates or the proxy ("halfopen": its limit has its own lines).
bool rates_set(config::AntiDdos a) {
  a.half_open_limit.reset();
  return a != config::AntiDdos{};
}

void show_limits(Ctx& c) {
  c.out << " Max-rate, new sessions per second to one destination address (-: not set; a zone's\n"
           " value wins over the global one):\n";
  c.out << "  " << std::left << std::setw(16) << "Scope" << std::setw(12) << "syn-flood"
        << std::setw(12) << "udp-flood"
        << "icmp-flood\n";
  auto row = [&](const std::string& scope, config::AntiDdos a) {
    c.out << "  " << std::setw(16) << scope << std::setw(12) << rate_text(a.syn_max_rate)
          << std::setw(12) << rate_text(a.udp_max_rate) << rate_text(a.icmp_max_rate) << "\n";
  };
  row("global", c.cfg.anti_ddos);
  for (const auto& z : c.cfg.zones)
    if (rates_set(z.anti_ddos)) row("zone " + z.name, z.anti_ddos);
}

// "synproxy" area: where the TCP proxy is on, and what it did (nothing shown while it was
// never configured nor used).
void show_proxy(Ctx& c) {
  const bool on = c.cfg.anti_ddos.tcp_proxy ||
                  std::any_of(c.cfg.zones.begin(), c.cfg.zones.end(),
                              [](const config::Zone& z) { return z.anti_ddos.tcp_proxy; });
  const session::SynProxy::Stats* s = c.dp ? &c.dp->synproxy().stats() : nullptr;
  if (!on && (!s || s->syn_answered.load() == 0)) return;
  c.out << " TCP proxy (alert-rate: SYNs per second to one destination above which the firewall\n"
           " answers them itself; 0: always; a zone's setting wins):\n";
  auto row = [&](const std::string& scope, const config::AntiDdos& a) {
    if (a.tcp_proxy)
      c.out << "  " << std::setw(16) << scope << "alert-rate " << a.proxy_alert_rate << "\n";
  };
  if (!on) c.out << "  off\n";
  row("global", c.cfg.anti_ddos);
  for (const auto& z : c.cfg.zones) row("zone " + z.name, z.anti_ddos);
  if (!s) return;
  c.out << "  SYN-ACKs with a cookie sent      : " << s->syn_answered.load() << "\n"
        << "  ACKs with a valid cookie         : " << s->ack_valid.load() << "\n"
        << "  ACKs without a valid cookie      : " << s->ack_invalid.load() << " (dropped)\n"
        << "  Server handshakes completed      : " << s->server_opened.load() << "\n"
        << "  Client packets before the server : " << s->client_waiting.load() << " (dropped)\n";
}

// "synproxy" area: `firewall reverse-session miss-ack rate-limit`, when set.
void show_miss_ack(Ctx& c) {
  if (!c.cfg.miss_ack_rate) return;
  c.out << " SYN-ACKs matching no session: rate-limit " << c.cfg.miss_ack_rate << "/s";
  if (c.dp) c.out << ", dropped above it: " << c.dp->synproxy().stats().miss_ack_limited.load();
  c.out << "\n";
}

// "halfopen" area: the limits in force and how many sessions are half-open now (nothing shown
// while the limits are the default and none was ever reached).
void show_half_open(Ctx& c) {
  const bool set = c.cfg.anti_ddos.half_open_limit ||
                   std::any_of(c.cfg.zones.begin(), c.cfg.zones.end(), [](const config::Zone& z) {
                     return z.anti_ddos.half_open_limit.has_value();
                   });
  if (!set && (!c.dp || c.dp->half_open().stats().evicted == 0)) return;
  auto text = [](uint32_t v) { return v ? std::to_string(v) : std::string("no limit"); };
  const uint32_t global =
      c.cfg.anti_ddos.half_open_limit.value_or(session::HalfOpenLimiter::kDefaultLimit);
  c.out << " Half-open TCP sessions per destination address (above the limit the oldest go):\n"
        << "  " << std::left << std::setw(16) << "global" << text(global)
        << (c.cfg.anti_ddos.half_open_limit ? "" : " (default)") << "\n";
  for (const auto& z : c.cfg.zones)
    if (z.anti_ddos.half_open_limit)
      c.out << "  " << std::setw(16) << ("zone " + z.name) << text(*z.anti_ddos.half_open_limit)
            << "\n";
  if (c.dp) c.out << "  Half-open sessions now          : " << c.dp->half_open().size() << "\n";
}

// "halfopen" area: the half-open attack as a row of the attack table (its count: evictions).
void half_open_row(Ctx& c, uint64_t now) {
  const auto s = c.dp->half_open().stats();
  c.out << "  " << std::setw(12) << "half-open" << std::setw(9) << (s.active ? "attack" : "normal")
        << std::setw(9) << s.attacks << std::setw(13) << ago(now, s.started_ms) << std::setw(13)
        << ago(now, s.ended_ms) << std::setw(14) << s.evicted << std::setw(14)
        << s.evicted_this_attack << (s.last_target.empty() ? "-" : s.last_target.str()) << "\n";
}

void display_antiddos(Ctx& c) {
  show_limits(c);
  show_proxy(c);  // "synproxy" area
  show_miss_ack(c);
  show_half_open(c);  // "halfopen" area
  if (!c.dp) return;
  const uint64_t now = c.dp->clock().now_ms();
  c.out << " Attacks:\n";
  c.out << "  " << std::left << std::setw(12) << "Kind" << std::setw(9) << "State" << std::setw(9)
        << "Attacks" << std::setw(13) << "Started" << std::setw(13) << "Ended" << std::setw(14)
        << "Refused" << std::setw(14) << "This attack"
        << "Last target\n";
  for (auto k : kKinds) {
    const auto s = c.dp->floods().stats(k);
    c.out << "  " << std::setw(12) << session::flood_kind_name(k) << std::setw(9)
          << (s.active ? "attack" : "normal") << std::setw(9) << s.attacks << std::setw(13)
          << ago(now, s.started_ms) << std::setw(13) << ago(now, s.ended_ms) << std::setw(14)
          << s.refused << std::setw(14) << s.refused_this_attack
          << (s.last_target.empty() ? "-" : s.last_target.str()) << "\n";
  }
  if (c.dp->half_open().stats().attacks) {  // "halfopen" area
    half_open_row(c, now);
    c.out << "  (half-open: Refused counts the oldest half-open sessions dropped)\n";
  }
  if (c.hooks.kernel_flood_drops) {  // "kernel drops": above twice the rate, while attacks last
    const auto d = c.hooks.kernel_flood_drops();
    c.out << " Dropped in the kernel (above twice max-rate during an attack):";
    for (auto k : kKinds)
      c.out << " " << session::flood_kind_name(k) << " "
            << (static_cast<size_t>(k) < d.size() ? d[static_cast<size_t>(k)] : 0);
    c.out << "\n";
  }
}

}  // namespace

void register_anti_ddos(HandlerTable& t) {
  t.add({
      {"antiddos.rate", antiddos_rate},
      {"undo.antiddos", undo_antiddos},
      {"zone.antiddos.rate", zone_antiddos_rate},
      {"undo.zone.antiddos", undo_zone_antiddos},
      {"display.antiddos", display_antiddos},
      // "synproxy" area
      {"antiddos.proxy", antiddos_proxy},
      {"undo.antiddos.proxy", undo_antiddos_proxy},
      {"zone.antiddos.proxy", zone_antiddos_proxy},
      {"undo.zone.antiddos.proxy", undo_zone_antiddos_proxy},
      {"missack.rate", missack_rate},
      {"undo.missack.rate", undo_missack_rate},
      // "halfopen" area
      {"antiddos.halfopen", antiddos_halfopen},
      {"undo.antiddos.halfopen", undo_antiddos_halfopen},
      {"zone.antiddos.halfopen", zone_antiddos_halfopen},
      {"undo.zone.antiddos.halfopen", undo_zone_antiddos_halfopen},
  });
}

}  // namespace fw::fwd::ctl
