// "evlog" area (issue 15 item 4): the event log's commands. `session logging` in a security rule
// view, `info-center logbuffer size N`, `info-center loghost unix-socket PATH [rfc5424]`,
// `display logbuffer [summary | since N]`, `reset logbuffer`, and `terminal monitor` (which
// fwcli answers: it polls `display logbuffer since N` while the monitor is on).
#include <array>
#include <iomanip>
#include <sstream>

#include "fwd/ctl_context.h"
#include "fwd/dataplane.h"

namespace fw::fwd::ctl {
namespace {

void session_logging(Ctx& c, bool on) {
  if (auto* r = c.rule()) {
    r->session_logging = on;
    c.changed = true;
  }
}

void logbuffer_size(Ctx& c) {
  c.cfg.info_center.logbuffer_size = static_cast<uint32_t>(c.m.integer("buffersize").value_or(1));
  c.changed = true;
}

void undo_logbuffer_size(Ctx& c) {
  c.cfg.info_center.logbuffer_size = config::InfoCenter::kDefaultLogbuffer;
  c.changed = true;
}

void loghost(Ctx& c) {
  const std::string path = c.p("socket-path");
  if (path.empty() || path[0] != '/') {
    c.param_error("socket-path", "Error: The socket path must be absolute.");
    return;
  }
  c.cfg.info_center.loghost_socket = path;
  c.cfg.info_center.rfc5424 = c.m.has("rfc5424");
  c.changed = true;
}

void undo_loghost(Ctx& c) {
  c.cfg.info_center.loghost_socket.clear();
  c.cfg.info_center.rfc5424 = false;
  c.changed = true;
}

bool need_dataplane(Ctx& c) {
  if (c.dp) return true;
  c.out << "Info: The event log belongs to the running daemon.\n";
  return false;
}

// VRP lists the newest event first.
void display_logbuffer(Ctx& c) {
  if (!need_dataplane(c)) return;
  evlog::EventLog& log = c.dp->evlog();
  log.drain();
  const evlog::Stats s = log.stats();
  const auto events = log.buffer();
  c.out << "Logging buffer configuration and contents : enabled\n"
        << "Allowed max buffer size : 65536\n"
        << "Actual buffer size : " << s.buffer_size << "\n"
        << "Channel number : 4 , Channel name : logbuffer\n"
        << "Dropped messages : " << s.lost << "\n"
        << "Overwritten messages : " << s.overwritten << "\n"
        << "Current messages : " << events.size() << "\n";
  if (!events.empty()) c.out << "\n";
  const std::string host = log.host();
  for (auto it = events.rbegin(); it != events.rend(); ++it)
    c.out << evlog::buffer_line(*it, host) << "\n";
}

void display_summary(Ctx& c) {
  if (!need_dataplane(c)) return;
  evlog::EventLog& log = c.dp->evlog();
  log.drain();
  const evlog::Stats s = log.stats();
  std::array<uint64_t, 8> by_sev{};
  for (const auto& e : log.buffer()) by_sev[static_cast<size_t>(e.severity) & 7]++;
  c.out << " EMERG ALERT  CRIT ERROR  WARN NOTIF  INFO DEBUG\n";
  for (uint64_t n : by_sev) c.out << std::setw(6) << n;
  c.out << "\n";
  const auto& ic = c.cfg.info_center;
  const std::string dest = ic.loghost_socket.empty() ? "/dev/log" : ic.loghost_socket;
  auto row = [&](const char* what, const auto& v) {
    c.out << " " << std::left << std::setw(28) << what << ": " << v << "\n";
  };
  row("Events queued", s.posted);
  row("Events lost (queue full)", s.lost);
  row("Events sampled out", c.dp->events().suppressed());
  row("Events written", s.written);
  row("Overwritten in the buffer", s.overwritten);
  row("Queue size", s.queue_slots);
  row("Syslog destination", dest + (ic.rfc5424 ? " (RFC 5424)" : " (RFC 3164)"));
  row("Syslog datagrams sent", s.syslog_sent);
  row("Syslog datagrams not sent", s.syslog_failed);
}

// For fwcli's terminal monitor: "Sequence : LAST", then the events after N, oldest first;
// "Missed : K" when some of them already left the buffer.
void display_since(Ctx& c) {
  if (!need_dataplane(c)) return;
  evlog::EventLog& log = c.dp->evlog();
  log.drain();
  const uint64_t after = static_cast<uint64_t>(c.m.integer("sequence").value_or(0));
  const auto events = log.buffer(after);
  const evlog::Stats s = log.stats();
  c.out << "Sequence : " << s.last_seq << "\n";
  const uint64_t first = events.empty() ? s.last_seq + 1 : events.front().seq;
  if (after > 0 && first > after + 1) c.out << "Missed : " << first - after - 1 << "\n";
  const std::string host = log.host();
  for (const auto& e : events) c.out << evlog::buffer_line(e, host) << "\n";
}

void reset_logbuffer(Ctx& c) {
  if (c.dp) c.dp->evlog().clear_buffer();
}

void terminal_monitor(Ctx& c) {
  c.out << "Info: The terminal monitor works in an interactive fwcli session only.\n";
}

}  // namespace

void register_evlog(HandlerTable& t) {
  t.add({
      {"rule.session-logging", [](Ctx& c) { session_logging(c, true); }},
      {"undo.rule.session-logging", [](Ctx& c) { session_logging(c, false); }},
      {"infocenter.logbuffer", logbuffer_size},
      {"undo.infocenter.logbuffer", undo_logbuffer_size},
      {"infocenter.loghost", loghost},
      {"undo.infocenter.loghost", undo_loghost},
      {"display.logbuffer", display_logbuffer},
      {"display.logbuffer.summary", display_summary},
      {"display.logbuffer.since", display_since},
      {"reset.logbuffer", reset_logbuffer},
      {"terminal.monitor", terminal_monitor},
      {"undo.terminal.monitor", terminal_monitor},
  });
}

}  // namespace fw::fwd::ctl
