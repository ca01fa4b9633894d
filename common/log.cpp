#include "common/log.h"

#include <cstdio>
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

void log_write(LogLevel l, const std::string& msg) {
  char ts[32];
  time_t t = time(nullptr);
  tm tmv{};
  localtime_r(&t, &tmv);
  strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tmv);
  std::lock_guard<std::mutex> lk(g_mu);
  std::fprintf(stderr, "%s fwd[%s] %s\n", ts, name(l), msg.c_str());
}

}  // namespace fw::common
