#pragma once
// fwd as a systemd service: sd_notify(3) readiness, reload, stop and status messages, and a
// watchdog fed only while every queue worker shows progress.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/clock.h"

namespace fw::fwd {

// The messages a Type=notify service sends to the service manager (libsystemd's sd_notify).
// Without NOTIFY_SOCKET in the environment (not started as such a service) each call does
// nothing.
class ServiceNotifier {
 public:
  void ready(const std::string& status) const;      // READY=1, STATUS=
  void reloading(const std::string& status) const;  // RELOADING=1, STATUS=
  void status(const std::string& status) const;     // STATUS=
  void stopping(const std::string& status) const;   // STOPPING=1, STATUS=
  void watchdog() const;                            // WATCHDOG=1
  // The watchdog interval the service manager expects pings within (WATCHDOG_USEC, when
  // WATCHDOG_PID is unset or this process), in milliseconds; 0 when there is none.
  static uint64_t watchdog_interval_ms();
};

// A worker's proof of life: the time its loop last went round. Owned by the worker; read by the
// watchdog from another thread.
class Heartbeat {
 public:
  void beat(uint64_t now_ms) { last_ms_.store(now_ms, std::memory_order_relaxed); }
  uint64_t last_ms() const { return last_ms_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> last_ms_{0};
};

// Pings every half interval while every watched heartbeat is younger than the interval. A worker
// whose heartbeat is older stops the pings (the service manager then restarts fwd) and is logged
// once, at error; it is logged again (info) if it comes back. tick() is called from one thread.
class Watchdog {
 public:
  Watchdog(const common::Clock& clock, uint64_t interval_ms, std::function<void()> ping);
  // Before the first tick(); the heartbeat must outlive the watchdog.
  void watch(std::string name, const Heartbeat& hb);
  // Call often (every 100 ms or so). Returns whether every worker is healthy now.
  bool tick();
  uint64_t interval_ms() const { return interval_ms_; }
  uint64_t pings() const { return pings_; }

 private:
  struct Watched {
    std::string name;
    const Heartbeat* hb;
    bool stale = false;
  };
  bool check(uint64_t now);

  const common::Clock& clock_;
  uint64_t interval_ms_;
  std::function<void()> ping_;
  std::vector<Watched> watched_;
  bool pinged_ = false;
  uint64_t last_ping_ms_ = 0;
  uint64_t pings_ = 0;
};

}  // namespace fw::fwd
