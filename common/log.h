#pragma once
// Minimal leveled logging to stderr. Use FW_LOG(kInfo, "x=" << x).
#include <atomic>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace fw::common {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

std::optional<LogLevel> parse_log_level(std::string_view s);
void set_log_level(LogLevel l);
LogLevel log_level();
void log_write(LogLevel l, const std::string& msg);

}  // namespace fw::common

#define FW_LOG(level, expr)                                                     \
  do {                                                                          \
    if (::fw::common::LogLevel::level >= ::fw::common::log_level()) {           \
      std::ostringstream fw_log_os_;                                            \
      fw_log_os_ << expr;                                                       \
      ::fw::common::log_write(::fw::common::LogLevel::level, fw_log_os_.str()); \
    }                                                                           \
  } while (0)
