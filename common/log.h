#pragma once
// Minimal leveled logging to stderr. Use FW_LOG(kInfo, "x=" << x).
// When stderr is connected to the systemd journal (JOURNAL_STREAM names stderr's device and
// inode, as systemd documents for services), every line starts with the kernel-style priority
// prefix ("<3>" error, "<4>" warning, "<6>" info, "<7>" debug; sd-daemon.h's SD_ERR...) that
// journald turns into the entry's priority; on a terminal or in a file the lines are as always.
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
// Writes `text` (one or more lines, no trailing newline needed) to stderr at level l: as it is
// on a terminal, each line with its priority prefix when stderr is the journal. For messages
// that are not log lines, such as fwd's "fwd: ..." start-up errors.
void stderr_write(LogLevel l, const std::string& text);

// The pieces, for tests. Whether the descriptor fd is the stream JOURNAL_STREAM names
// ("DEVICE:INODE" in decimal; null or malformed: no).
bool is_journal_stream(const char* journal_stream, int fd);
// `text` as written: with journal set, "<N>" in front of every line; every line ends in '\n'.
std::string format_for_stream(LogLevel l, const std::string& text, bool journal);

}  // namespace fw::common

#define FW_LOG(level, expr)                                                     \
  do {                                                                          \
    if (::fw::common::LogLevel::level >= ::fw::common::log_level()) {           \
      std::ostringstream fw_log_os_;                                            \
      fw_log_os_ << expr;                                                       \
      ::fw::common::log_write(::fw::common::LogLevel::level, fw_log_os_.str()); \
    }                                                                           \
  } while (0)
