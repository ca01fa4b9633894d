// "srclimit" area (issue 16 item 3): per-source limits - `firewall source-ip-limit` in the
// system view (global), `source-ip-limit` in a zone view (sources arriving in that zone; its
// value wins over the global one) - and `display firewall source-ip-limit`.
#include <iomanip>

#include "fwd/ctl_context.h"
#include "fwd/dataplane.h"

namespace fw::fwd::ctl {
namespace {

constexpr size_t kHostsShown = 50;

uint32_t number(Ctx& c, std::string_view name) {
  return static_cast<uint32_t>(c.m.integer(name).value_or(0));
}

void srclimit_session(Ctx& c) {
  c.cfg.source_limit.max_session = number(c, "session-number");
  c.changed = true;
}

void srclimit_rate(Ctx& c) {
  c.cfg.source_limit.session_rate = number(c, "session-rate");
  c.changed = true;
}

void srclimit_servermap(Ctx& c) {
  c.cfg.source_servermap_limit = number(c, "entry-number");
  c.changed = true;
}

void undo_srclimit(Ctx& c) {
  if (c.m.has("max-session")) c.cfg.source_limit.max_session = 0;
  if (c.m.has("session-rate")) c.cfg.source_limit.session_rate = 0;
  if (c.m.has("server-map")) c.cfg.source_servermap_limit = 0;
  c.changed = true;
}

void zone_srclimit_session(Ctx& c) {
  auto* z = c.w.zone(c.arg());
  if (!z) return;
  z->source_limit.max_session = number(c, "session-number");
  c.changed = true;
}

void zone_srclimit_rate(Ctx& c) {
  auto* z = c.w.zone(c.arg());
  if (!z) return;
  z->source_limit.session_rate = number(c, "session-rate");
  c.changed = true;
}

void undo_zone_srclimit(Ctx& c) {
  auto* z = c.w.zone(c.arg());
  if (!z) return;
  if (c.m.has("max-session")) z->source_limit.max_session = 0;
  if (c.m.has("session-rate")) z->source_limit.session_rate = 0;
  c.changed = true;
}

std::string limit_text(uint32_t v) { return v ? std::to_string(v) : "-"; }

// The configured limits: global, then each zone that sets one of its own.
void show_limits(Ctx& c) {
  const auto& g = c.cfg.source_limit;
  c.out << " Per-source limits (-: not set; a zone's value wins over the global one):\n";
  c.out << "  " << std::left << std::setw(16) << "Scope" << std::setw(14) << "Max-session"
        << "Session-rate\n";
  c.out << "  " << std::setw(16) << "global" << std::setw(14) << limit_text(g.max_session)
        << limit_text(g.session_rate) << "\n";
  for (const auto& z : c.cfg.zones) {
    if (z.source_limit == config::SourceIpLimit{}) continue;
    c.out << "  " << std::setw(16) << ("zone " + z.name) << std::setw(14)
          << limit_text(z.source_limit.max_session) << limit_text(z.source_limit.session_rate)
          << "\n";
  }
  c.out << "  ASPF server-map entries per source: " << limit_text(c.cfg.source_servermap_limit)
        << "\n";
}

void display_srclimit(Ctx& c) {
  show_limits(c);
  const auto& t = c.counters;
  c.out << " Refused: session-limit " << t.value("packet.drop.source-session-limit")
        << ", session-rate " << t.value("packet.drop.source-rate-limit") << ", server-map "
        << t.value("servermap.refused.source-cap") << "\n";
  if (!c.dp) return;
  auto& lim = c.dp->sources();
  c.out << " Source addresses tracked: " << lim.hosts() << "\n";
  auto hosts = lim.top(kHostsShown);
  if (hosts.empty()) return;
  c.out << "  " << std::setw(40) << "Source IP" << std::setw(10) << "Sessions" << std::setw(10)
        << "New/s" << std::setw(12) << "Server-map"
        << "Refused\n";
  for (const auto& h : hosts) {
    c.out << "  " << std::setw(40) << h.addr.str() << std::setw(10) << h.sessions << std::setw(10)
          << h.last_second << std::setw(12) << c.dp->servermap().of_source(h.addr) << h.refused
          << "\n";
  }
}

}  // namespace

void register_source_limit(HandlerTable& t) {
  t.add({
      {"srclimit.session", srclimit_session},
      {"srclimit.rate", srclimit_rate},
      {"srclimit.servermap", srclimit_servermap},
      {"undo.srclimit", undo_srclimit},
      {"zone.srclimit.session", zone_srclimit_session},
      {"zone.srclimit.rate", zone_srclimit_rate},
      {"undo.zone.srclimit", undo_zone_srclimit},
      {"display.srclimit", display_srclimit},
  });
}

}  // namespace fw::fwd::ctl
