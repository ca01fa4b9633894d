#pragma once
// The event log: events (session teardown, server-map entries, NAT exhaustion, policy drops,
// attacks, configuration commands) posted by any thread without blocking into a bounded
// lock-free queue; one writer thread moves them to the sinks: the log buffer (`display
// logbuffer`, the last N) and syslog (datagrams to a Unix socket, /dev/log by default). An event
// that finds the queue full is counted as lost, never waited for.
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace fw::evlog {

// syslog severities (RFC 5424), as VRP numbers its log levels.
enum class Severity : uint8_t {
  kEmergency = 0,
  kAlert,
  kCritical,
  kError,
  kWarning,
  kNotice,
  kInformational,
  kDebug
};

// One event as the sinks see it. `module` and `name` make VRP's "%%01SECLOG/6/SESSION_TEARDOWN(l)".
struct Event {
  uint64_t seq = 0;      // 1, 2, ... in the order the writer took them
  uint64_t wall_ms = 0;  // when it was posted (wall clock)
  Severity severity = Severity::kInformational;
  std::string module, name, text;
};

enum class SyslogFormat : uint8_t { kRfc3164, kRfc5424 };

struct Options {
  size_t queue_slots = 4096;             // the bounded queue (rounded up to a power of two)
  size_t buffer_size = 1024;             // `info-center logbuffer size`
  std::string host = "FW";               // shown in the log buffer lines (sysname)
  std::string syslog_path = "/dev/log";  // "" = no syslog
  SyslogFormat syslog_format = SyslogFormat::kRfc3164;
  // Wall clock in ms (empty: CLOCK_REALTIME). Tests make it deterministic.
  std::function<uint64_t()> wall_ms;
};

struct Stats {
  uint64_t posted = 0;         // taken into the queue
  uint64_t lost = 0;           // refused: the queue was full (or the text did not fit whole)
  uint64_t written = 0;        // taken by the writer (to every sink)
  uint64_t overwritten = 0;    // pushed out of the log buffer by newer events
  uint64_t syslog_sent = 0;    // datagrams sent
  uint64_t syslog_failed = 0;  // not sent (no socket there, its buffer full)
  size_t buffered = 0;         // events in the log buffer now
  size_t buffer_size = 0;      // its size
  size_t queue_slots = 0;
  uint64_t last_seq = 0;  // seq of the newest event written (0: none yet)
};

// Largest field texts an event carries (longer ones are cut, and counted as lost when it is the
// text).
constexpr size_t kMaxText = 440;
constexpr size_t kMaxModule = 15;
constexpr size_t kMaxName = 39;

class EventLog {
 public:
  explicit EventLog(Options o = {});
  ~EventLog();  // stops the writer; events still queued are dropped
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Any thread, never blocks, never allocates. False (and counted lost) if the queue is full or
  // the text is longer than kMaxText.
  bool post(Severity sev, std::string_view module, std::string_view name, std::string_view text);

  // The writer thread (the daemon starts it). Without it, drain() moves events (tests, replay).
  void start();
  void stop();
  // Moves every queued event to the sinks now; returns how many.
  size_t drain();

  void set_buffer_size(size_t n);  // keeps the newest n
  void set_host(std::string host);
  // "" = no syslog. Takes effect for the next datagram.
  void set_syslog(std::string path, SyslogFormat f);
  void clear_buffer();  // `reset logbuffer`

  // The buffered events with seq > after, oldest first.
  std::vector<Event> buffer(uint64_t after = 0) const;
  Stats stats() const;
  uint64_t wall_ms() const;
  std::string host() const;

 private:
  struct Slot;
  void writer_loop();
  size_t drain_locked();
  void deliver(Event&& e);
  void send_syslog(const Event& e);

  Options opt_;
  size_t mask_;
  std::unique_ptr<Slot[]> slots_;
  alignas(64) std::atomic<uint64_t> enq_{0};
  alignas(64) std::atomic<uint64_t> deq_{0};
  alignas(64) std::atomic<uint64_t> pushes_{0};
  std::atomic<bool> waiting_{false};
  std::atomic<uint64_t> posted_{0}, lost_{0};

  std::mutex drain_mu_;    // one consumer at a time (writer or drain())
  mutable std::mutex mu_;  // the buffer, the settings and the sink counters
  std::deque<Event> buffer_;
  uint64_t seq_ = 0, written_ = 0, overwritten_ = 0, sent_ = 0, send_failed_ = 0;
  int sock_ = -1;
  std::string sock_path_;         // what sock_ sends to
  uint64_t congested_until_ = 0;  // until then (wall ms) a full receiver is not waited for

  std::atomic<bool> stop_{false};
  std::thread writer_;
};

// `Mmm dd yyyy hh:mm:ss HOST %%01MODULE/S/NAME(l):TEXT`, as `display logbuffer` shows a line (UTC).
std::string buffer_line(const Event& e, const std::string& host);
// A syslog datagram: RFC 3164 `<PRI>Mmm dd hh:mm:ss fwd[PID]: %%01MODULE/S/NAME(l):TEXT` or RFC
// 5424 `<PRI>1 YYYY-MM-DDThh:mm:ss.mmmZ HOST fwd PID NAME - %%01...`. Facility local7 (23), as
// VRP's info-center loghost default.
std::string syslog_datagram(const Event& e, SyslogFormat f, const std::string& host, int pid);
std::string_view severity_name(Severity s);

// Builds a `Key=Value,Key=Value` text in a fixed buffer (no allocation on the packet path).
class KvText {
 public:
  KvText& add(std::string_view key, std::string_view value);
  KvText& add(std::string_view key, uint64_t value);
  std::string_view view() const { return {buf_, len_}; }
  bool overflow() const { return overflow_; }

 private:
  void put(std::string_view s);
  char buf_[kMaxText + 1];
  size_t len_ = 0;
  bool overflow_ = false;
};

}  // namespace fw::evlog
