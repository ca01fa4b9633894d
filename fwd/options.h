#pragma once
// fwd's command-line flags (Boost.Program_options).
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace fw::fwd {

// When a TCP packet that is not a SYN may open a session (a flow picked up mid-stream), like
// conntrack's nf_conntrack_tcp_loose: never; for a while after a start that found the rules a
// crashed fwd left (flows that were established keep working without a reconnect); always.
enum class TcpPickup : uint8_t { kNever, kAfterCrash, kAlways };

struct Options {
  std::string config_file;
  bool config_replace = false;  // the --config file replaces the saved configuration
  std::string db_file;
  bool db_replace_unusable = false;
  std::string state_file;  // "" = <db>.state when --db is given
  bool no_state = false;
  std::string socket_path = "/run/fwd/fwd.sock";  // the unit's RuntimeDirectory=fwd
  std::string group;
  uint16_t queue_num = 0;
  uint16_t queues = 1;  // parse_options: --queues, default default_queues()
  // TCP SYNs (without ACK) of the zone interfaces go to a queue and worker of their own
  // (number queue_num + queues), so a SYN flood fills that queue and never the one the
  // established traffic waits in (issue 16 item 1). --no-syn-queue turns it off.
  bool syn_queue = true;
  // While a flood the anti-ddos rates refuse lasts, its packets above twice the rate are dropped
  // in the kernel (fwd/iptables.h FloodDrop). --no-kernel-flood-drops: every packet reaches fwd.
  bool kernel_flood_drops = true;
  bool fail_open = false;
  bool no_rules = false;
  std::string log_level = "info";
  size_t max_sessions = 1'000'000;
  uint32_t queue_maxlen = 8192;
  size_t max_clients = 32;
  std::set<std::string> unmanaged;       // interfaces fwd leaves alone (management)
  std::set<std::string> absent_allowed;  // zone interfaces that may not exist yet ("*" = any)
  TcpPickup tcp_pickup = TcpPickup::kAfterCrash;
  uint32_t pickup_window_s = 120;
  bool check_config = false;  // load the configuration, report, exit (no root needed)
  // Testing only (not in --help): SIGUSR1 makes the first queue's worker sleep this long, so
  // the watchdog's reaction to a stuck packet path can be seen. 0 = off (SIGUSR1 then keeps its
  // default action).
  uint32_t debug_stall_worker_s = 0;
  // "replay" area (issue 15 item 3): `--replay FILE` runs the capture through the pipeline
  // offline (fwd/replay.h) instead of starting the daemon.
  std::string replay_file;
  std::vector<std::string> replay_ingress;  // PREFIX=IF: ingress by source address
  std::vector<std::string> replay_routes;   // PREFIX=IF[,NEXTHOP]
  std::vector<std::string> replay_locals;   // ADDRESS=IF: the firewall's own addresses
  std::string replay_write;                 // pcapng of the packets as they would have left
  bool replay_json = false;
};

// The default of --queues: the number of CPUs this process may run on (sched_getaffinity),
// 1..kMaxDefaultQueues (issue 16 item 1: multi-queue by default on a multi-core machine).
inline constexpr unsigned kMaxDefaultQueues = 8;
unsigned default_queues();

// Parses argv. Returns nullopt and fills *exit_code when the program should
// stop (--help or --version printed: 0; bad flags: 2, with the message on stderr).
std::optional<Options> parse_options(int argc, char** argv, int* exit_code);

// The state file the options name ("" when there is none).
std::string state_path(const Options& o);

}  // namespace fw::fwd
