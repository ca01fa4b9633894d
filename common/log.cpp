#include "common/log.h"

#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

namespace fw::common {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_mu;
const char* name(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
    default:
      return "off";
  }
}

// sd-daemon.h's prefixes (syslog priorities): what journald reads at the start of a line.
const char* priority_prefix(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return SD_DEBUG;
    case LogLevel::kInfo:
      return SD_INFO;
    case LogLevel::kWarn:
      return SD_WARNING;
    default:
      return SD_ERR;
  }
}

// Decided once: stderr does not change under a running daemon.
bool stderr_is_journal() {
  static const bool journal = is_journal_stream(std::getenv("JOURNAL_STREAM"), STDERR_FILENO);
  return journal;
}
}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view s) {
  if (s == "debug") return LogLevel::kDebug;
  if (s == "info") return LogLevel::kInfo;
  if (s == "warn" || s == "warning") return LogLevel::kWarn;
  if (s == "error") return LogLevel::kError;
  if (s == "off" || s == "none") return LogLevel::kOff;
  return std::nullopt;
}

void set_log_level(LogLevel l) { g_level.store(static_cast<int>(l)); }
LogLevel log_level() { return static_cast<LogLevel>(g_level.load(std::memory_order_relaxed)); }

bool is_journal_stream(const char* journal_stream, int fd) {
  if (!journal_stream) return false;
  uintmax_t dev = 0, ino = 0;
  int used = 0;
  if (std::sscanf(journal_stream, "%ju:%ju%n", &dev, &ino, &used) != 2 ||
      journal_stream[used] != '\0')
    return false;
  struct stat st {};
  if (fstat(fd, &st) != 0) return false;
  return static_cast<uintmax_t>(st.st_dev) == dev && static_cast<uintmax_t>(st.st_ino) == ino;
}

std::string format_for_stream(LogLevel l, const std::string& text, bool journal) {
  std::string out;
  size_t at = 0;
  do {
    size_t nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    if (journal) out += priority_prefix(l);
    out.append(text, at, nl - at);
    out += '\n';
    at = nl + 1;
  } while (at < text.size());
  return out;
}

void stderr_write(LogLevel l, const std::string& text) {
  const std::string out = format_for_stream(l, text, stderr_is_journal());
  std::lock_guard<std::mutex> lk(g_mu);
  std::fwrite(out.data(), 1, out.size(), stderr);
  std::fflush(stderr);
}

void log_write(LogLevel l, const std::string& msg) {
  // journald stamps its entries itself; a terminal or a file needs the time in the line.
  if (stderr_is_journal()) {
    stderr_write(l, std::string(name(l)) + ": " + msg);
    return;
  }
  char ts[32];
  time_t t = time(nullptr);
  tm tmv{};
  localtime_r(&t, &tmv);
  strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tmv);
  stderr_write(l, std::string(ts) + " fwd[" + name(l) + "] " + msg);
}

}  // namespace fw::common
