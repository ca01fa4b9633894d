// "halfopen" area (issue 16 item 2): half-open TCP sessions limited per destination address, the
// oldest dropped first (`anti-ddos syn-flood half-open-limit N`, session/half_open.h). A session
// a plain SYN opened carries Session::half_open; it joins its destination's FIFO under its own
// lock (so a handshake completing on another worker meanwhile cannot leave a stale entry), and
// leaves it when its state passes syn-sent / syn-recv (update_session) or the table drops it
// (DataPlane::on_session_removed). The sessions a new one pushes out are erased here, after the
// locks are released.
#include "common/log.h"
#include "fwd/evlog_events.h"
#include "fwd/pipeline.h"

namespace fw::fwd {

using session::Session;

namespace {
constexpr std::string_view kKind = "half-open";  // the attack's name in logs and displays
}

void Pipeline::half_open_track(uint64_t id, const common::IpAddr& dst, uint32_t limit) {
  session::HalfOpenLimiter::Added a;
  parts_.table.with_session_id(id, [&](Session& s) {
    const bool still =
        s.tcp_state == session::TcpState::kSynSent || s.tcp_state == session::TcpState::kSynRecv;
    if (s.half_open && still) a = parts_.half_open.add(id, dst, limit);
  });
  for (uint64_t old : a.evict) {
    if (parts_.table.erase(old, session::CloseReason::kHalfOpenLimit)) c_half_open_evicted_.inc();
  }
  if (a.attack_starts) {
    FW_LOG(kWarn, "anti-ddos: " << kKind << " attack started: " << dst.str() << " has " << limit
                                << " half-open sessions, the oldest are dropped");
    if (events_) events_->attack_started(kKind, dst, limit, "HalfOpenLimit");  // "evlog"
  }
}

void Pipeline::half_open_update(Session& s) {
  if (s.tcp_state == session::TcpState::kSynSent || s.tcp_state == session::TcpState::kSynRecv)
    return;
  s.half_open = 0;
  parts_.half_open.remove(s.id, s.orig.dst);
}

void Pipeline::half_open_maintain() {
  const auto e = parts_.half_open.tick();
  if (!e) return;
  const uint64_t secs = (e->ended_ms - e->started_ms) / 1000;
  FW_LOG(kWarn, "anti-ddos: " << kKind << " attack ended: " << e->evicted_this_attack
                              << " half-open sessions dropped in " << secs << " s");
  if (events_) events_->attack_ended(kKind, e->evicted_this_attack, secs, "EvictedSessions");
}

}  // namespace fw::fwd
