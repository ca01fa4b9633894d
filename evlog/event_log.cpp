#include "evlog/event_log.h"

#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

namespace fw::evlog {

// A queue slot (Vyukov's bounded MPMC queue: `turn` tells whose turn the slot is).
struct EventLog::Slot {
  std::atomic<uint64_t> turn{0};
  uint64_t wall_ms = 0;
  Severity severity = Severity::kInformational;
  uint8_t module_len = 0, name_len = 0;
  uint16_t text_len = 0;
  char module[kMaxModule];
  char name[kMaxName];
  char text[kMaxText];
};

namespace {

uint64_t realtime_ms() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1'000'000;
}

tm utc(uint64_t wall_ms) {
  const time_t t = static_cast<time_t>(wall_ms / 1000);
  tm out{};
  gmtime_r(&t, &out);
  return out;
}

std::string strtime(uint64_t wall_ms, const char* fmt) {
  const tm t = utc(wall_ms);
  char b[64];
  const size_t n = strftime(b, sizeof b, fmt, &t);
  return std::string(b, n);
}

// "%%01SECLOG/6/SESSION_TEARDOWN(l):TEXT": VRP's log body (01 = the version, l = a log).
std::string body(const Event& e) {
  return "%%01" + e.module + "/" + std::to_string(static_cast<int>(e.severity)) + "/" + e.name +
         "(l):" + e.text;
}

constexpr int kFacilityLocal7 = 23;
constexpr timeval kSendWait{0, 20'000};
constexpr uint64_t kCongestedMs = 1000;

}  // namespace

std::string_view severity_name(Severity s) {
  static constexpr std::string_view kNames[] = {"emergencies",   "alerts",   "critical",
                                                "errors",        "warnings", "notifications",
                                                "informational", "debugging"};
  const auto i = static_cast<size_t>(s);
  return i < std::size(kNames) ? kNames[i] : "?";
}

std::string buffer_line(const Event& e, const std::string& host) {
  return strtime(e.wall_ms, "%b %e %Y %H:%M:%S") + " " + host + " " + body(e);
}

std::string syslog_datagram(const Event& e, SyslogFormat f, const std::string& host, int pid) {
  const std::string pri =
      "<" + std::to_string(kFacilityLocal7 * 8 + static_cast<int>(e.severity)) + ">";
  if (f == SyslogFormat::kRfc5424) {
    char ms[8];
    std::snprintf(ms, sizeof ms, ".%03u", static_cast<unsigned>(e.wall_ms % 1000));
    return pri + "1 " + strtime(e.wall_ms, "%Y-%m-%dT%H:%M:%S") + ms + "Z " + host + " fwd " +
           std::to_string(pid) + " " + e.name + " - " + body(e);
  }
  return pri + strtime(e.wall_ms, "%b %e %H:%M:%S") + " fwd[" + std::to_string(pid) +
         "]: " + body(e);
}

// ---- KvText ---------------------------------------------------------------------------

void KvText::put(std::string_view s) {
  const size_t n = std::min(s.size(), kMaxText - len_);
  if (n < s.size()) overflow_ = true;
  std::memcpy(buf_ + len_, s.data(), n);
  len_ += n;
}

KvText& KvText::add(std::string_view key, std::string_view value) {
  if (len_) put(",");
  put(key);
  put("=");
  put(value);
  return *this;
}

KvText& KvText::add(std::string_view key, uint64_t value) {
  char b[24];
  const int n = std::snprintf(b, sizeof b, "%llu", static_cast<unsigned long long>(value));
  return add(key, std::string_view(b, static_cast<size_t>(n)));
}

// ---- EventLog -------------------------------------------------------------------------

EventLog::EventLog(Options o) : opt_(std::move(o)) {
  const size_t n = std::bit_ceil(std::max<size_t>(opt_.queue_slots, 2));
  mask_ = n - 1;
  slots_ = std::make_unique<Slot[]>(n);
  for (size_t i = 0; i < n; ++i) slots_[i].turn.store(i, std::memory_order_relaxed);
  opt_.queue_slots = n;
  sock_path_.clear();
}

EventLog::~EventLog() {
  stop();
  if (sock_ >= 0) ::close(sock_);
}

uint64_t EventLog::wall_ms() const { return opt_.wall_ms ? opt_.wall_ms() : realtime_ms(); }

bool EventLog::post(Severity sev, std::string_view module, std::string_view name,
                    std::string_view text) {
  if (text.size() > kMaxText) {
    lost_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  uint64_t pos = enq_.load(std::memory_order_relaxed);
  Slot* s;
  for (;;) {
    s = &slots_[pos & mask_];
    const uint64_t turn = s->turn.load(std::memory_order_acquire);
    if (turn == pos) {
      if (enq_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
    } else if (turn < pos) {
      lost_.fetch_add(1, std::memory_order_relaxed);  // full: the writer is behind
      return false;
    } else {
      pos = enq_.load(std::memory_order_relaxed);
    }
  }
  s->wall_ms = wall_ms();
  s->severity = sev;
  s->module_len = static_cast<uint8_t>(std::min(module.size(), kMaxModule));
  std::memcpy(s->module, module.data(), s->module_len);
  s->name_len = static_cast<uint8_t>(std::min(name.size(), kMaxName));
  std::memcpy(s->name, name.data(), s->name_len);
  s->text_len = static_cast<uint16_t>(text.size());
  std::memcpy(s->text, text.data(), text.size());
  s->turn.store(pos + 1, std::memory_order_release);
  posted_.fetch_add(1, std::memory_order_relaxed);
  pushes_.fetch_add(1, std::memory_order_seq_cst);
  if (waiting_.load(std::memory_order_seq_cst)) pushes_.notify_one();
  return true;
}

size_t EventLog::drain() {
  std::lock_guard<std::mutex> lk(drain_mu_);
  return drain_locked();
}

size_t EventLog::drain_locked() {
  size_t n = 0;
  for (;;) {
    const uint64_t pos = deq_.load(std::memory_order_relaxed);
    Slot& s = slots_[pos & mask_];
    if (s.turn.load(std::memory_order_acquire) != pos + 1) return n;  // empty (or not yet written)
    Event e;
    e.wall_ms = s.wall_ms;
    e.severity = s.severity;
    e.module.assign(s.module, s.module_len);
    e.name.assign(s.name, s.name_len);
    e.text.assign(s.text, s.text_len);
    s.turn.store(pos + mask_ + 1, std::memory_order_release);
    deq_.store(pos + 1, std::memory_order_relaxed);
    deliver(std::move(e));
    ++n;
  }
}

void EventLog::deliver(Event&& e) {
  std::lock_guard<std::mutex> lk(mu_);
  e.seq = ++seq_;
  ++written_;
  send_syslog(e);
  buffer_.push_back(std::move(e));
  while (buffer_.size() > opt_.buffer_size) {
    buffer_.pop_front();
    ++overwritten_;
  }
}

// mu_ held. A receiver that is slow (its queue full: EAGAIN) is waited for up to kSendWait per
// datagram - the events meanwhile wait in the lock-free queue, and only what overflows that is
// lost; a receiver that stays full for that long is then not waited for during kCongestedMs (the
// log buffer and the monitors must not stall behind it). What is not sent is counted.
void EventLog::send_syslog(const Event& e) {
  if (opt_.syslog_path.empty()) return;
  if (sock_ < 0 || sock_path_ != opt_.syslog_path) {
    if (sock_ >= 0) ::close(sock_);
    sock_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock_ >= 0) ::setsockopt(sock_, SOL_SOCKET, SO_SNDTIMEO, &kSendWait, sizeof kSendWait);
    sock_path_ = opt_.syslog_path;
  }
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (sock_ < 0 || opt_.syslog_path.size() >= sizeof sa.sun_path) {
    ++send_failed_;
    return;
  }
  std::memcpy(sa.sun_path, opt_.syslog_path.data(), opt_.syslog_path.size());
  const std::string d = syslog_datagram(e, opt_.syslog_format, opt_.host, ::getpid());
  const uint64_t now = realtime_ms();
  const int wait = now >= congested_until_ ? 0 : MSG_DONTWAIT;
  ssize_t r;
  int tries = 0;
  do {  // a signal (SIGCHLD of the daemon's iptables runs) ends a blocking send early
    r = ::sendto(sock_, d.data(), d.size(), wait | MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
  } while (r < 0 && errno == EINTR && ++tries < 4);
  if (r == static_cast<ssize_t>(d.size())) {
    ++sent_;
    return;
  }
  ++send_failed_;
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !wait)
    congested_until_ = now + kCongestedMs;
}

void EventLog::writer_loop() {
  sigset_t all;  // signals go to the daemon's other threads, not into a syslog send
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  while (!stop_.load(std::memory_order_acquire)) {
    waiting_.store(true, std::memory_order_seq_cst);
    const uint64_t seen = pushes_.load(std::memory_order_seq_cst);
    size_t n;
    {
      std::lock_guard<std::mutex> lk(drain_mu_);
      n = drain_locked();
    }
    if (n == 0 && !stop_.load(std::memory_order_acquire)) pushes_.wait(seen);
    waiting_.store(false, std::memory_order_relaxed);
  }
}

void EventLog::start() {
  if (writer_.joinable()) return;
  stop_.store(false);
  writer_ = std::thread([this] { writer_loop(); });
}

void EventLog::stop() {
  if (!writer_.joinable()) return;
  stop_.store(true, std::memory_order_release);
  pushes_.fetch_add(1, std::memory_order_seq_cst);
  pushes_.notify_all();
  writer_.join();
}

void EventLog::set_buffer_size(size_t n) {
  std::lock_guard<std::mutex> lk(mu_);
  opt_.buffer_size = n;
  while (buffer_.size() > n) {
    buffer_.pop_front();
    ++overwritten_;
  }
}

void EventLog::set_host(std::string host) {
  std::lock_guard<std::mutex> lk(mu_);
  opt_.host = std::move(host);
}

std::string EventLog::host() const {
  std::lock_guard<std::mutex> lk(mu_);
  return opt_.host;
}

void EventLog::set_syslog(std::string path, SyslogFormat f) {
  std::lock_guard<std::mutex> lk(mu_);
  opt_.syslog_path = std::move(path);
  opt_.syslog_format = f;
}

void EventLog::clear_buffer() {
  std::lock_guard<std::mutex> lk(mu_);
  buffer_.clear();
}

std::vector<Event> EventLog::buffer(uint64_t after) const {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<Event> v;
  for (const auto& e : buffer_) {
    if (e.seq > after) v.push_back(e);
  }
  return v;
}

Stats EventLog::stats() const {
  Stats s;
  s.posted = posted_.load(std::memory_order_relaxed);
  s.lost = lost_.load(std::memory_order_relaxed);
  s.queue_slots = opt_.queue_slots;
  std::lock_guard<std::mutex> lk(mu_);
  s.written = written_;
  s.overwritten = overwritten_;
  s.syslog_sent = sent_;
  s.syslog_failed = send_failed_;
  s.buffered = buffer_.size();
  s.buffer_size = opt_.buffer_size;
  s.last_seq = seq_;
  return s;
}

}  // namespace fw::evlog
