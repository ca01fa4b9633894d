#pragma once
// fwd's command-line flags (Boost.Program_options).
#include <cstdint>
#include <optional>
#include <string>

namespace fw::fwd {

struct Options {
  std::string config_file;
  std::string db_file;
  std::string socket_path = "/run/fwd.sock";
  std::string group;
  uint16_t queue_num = 0;
  uint16_t queues = 1;
  bool fail_open = false;
  bool no_rules = false;
  std::string log_level = "info";
  size_t max_sessions = 1'000'000;
  uint32_t queue_maxlen = 8192;
};

// Parses argv. Returns nullopt and fills *exit_code when the program should
// stop (--help printed: 0; bad flags: 2, with the message on stderr).
std::optional<Options> parse_options(int argc, char** argv, int* exit_code);

}  // namespace fw::fwd
