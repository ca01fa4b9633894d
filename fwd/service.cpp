#include "fwd/service.h"

#include <systemd/sd-daemon.h>

#include "common/log.h"

namespace fw::fwd {
namespace {

// STATUS= is one line of free text; a newline would end it and start a bogus assignment.
std::string one_line(const std::string& s) {
  std::string out = s;
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

void notify(const std::string& msg) { (void)sd_notify(0, msg.c_str()); }

}  // namespace

void ServiceNotifier::ready(const std::string& status) const {
  notify("READY=1\nSTATUS=" + one_line(status));
}
void ServiceNotifier::reloading(const std::string& status) const {
  notify("RELOADING=1\nSTATUS=" + one_line(status));
}
void ServiceNotifier::status(const std::string& status) const {
  notify("STATUS=" + one_line(status));
}
void ServiceNotifier::stopping(const std::string& status) const {
  notify("STOPPING=1\nSTATUS=" + one_line(status));
}
void ServiceNotifier::watchdog() const { notify("WATCHDOG=1"); }

uint64_t ServiceNotifier::watchdog_interval_ms() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0) return 0;
  return usec / 1000 ? usec / 1000 : 1;
}

Watchdog::Watchdog(const common::Clock& clock, uint64_t interval_ms, std::function<void()> ping)
    : clock_(clock), interval_ms_(interval_ms), ping_(std::move(ping)) {}

void Watchdog::watch(std::string name, const Heartbeat& hb) {
  watched_.push_back(Watched{std::move(name), &hb});
}

// Every heartbeat younger than the interval; a change either way is logged once.
bool Watchdog::check(uint64_t now) {
  bool all = true;
  for (auto& w : watched_) {
    const uint64_t last = w.hb->last_ms();
    const uint64_t age = now > last ? now - last : 0;
    const bool stale = age > interval_ms_;
    if (stale && !w.stale) {
      FW_LOG(kError, w.name << " has shown no progress for " << age << " ms (watchdog interval "
                            << interval_ms_ << " ms): watchdog pings stop");
    } else if (!stale && w.stale) {
      FW_LOG(kInfo, w.name << " makes progress again: watchdog pings resume");
    }
    w.stale = stale;
    all = all && !stale;
  }
  return all;
}

bool Watchdog::tick() {
  const uint64_t now = clock_.now_ms();
  const bool healthy = check(now);
  if (healthy && (!pinged_ || now - last_ping_ms_ >= interval_ms_ / 2)) {
    ping_();
    pinged_ = true;
    last_ping_ms_ = now;
    ++pings_;
  }
  return healthy;
}

}  // namespace fw::fwd
