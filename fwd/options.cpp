#include "fwd/options.h"

#include <sched.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <iostream>
#include <vector>

namespace po = boost::program_options;

namespace fw::fwd {
namespace {

using AddOptions = po::options_description_easy_init;

// describe(): help, version, and where the configuration and the state come from.
void describe_files(AddOptions add, Options& o) {
  add("help,h", "print this help and exit")("version,V", "print the version and exit")(
      "config,c", po::value(&o.config_file),
      "file of VRP commands: the configuration when there is no saved one (it then seeds the "
      "database); ignored when the database holds a saved configuration, unless "
      "--config-replace")(
      "config-replace", po::bool_switch(&o.config_replace),
      "apply --config instead of the saved configuration, and save it in its place")(
      "check-config", po::bool_switch(&o.check_config),
      "load the configuration (--config, or the saved one of --db), report and exit: 0 if it "
      "loads, 1 if not")(
      "db,d", po::value(&o.db_file),
      "SQLite database: the saved configuration is loaded from it at start; `save` writes it. "
      "An existing file that is not an intact database of fwd is refused and left as it is")(
      "db-replace-unusable", po::bool_switch(&o.db_replace_unusable),
      "move an unusable database file aside (renamed, never deleted) and start a new one")(
      "state", po::value(&o.state_file),
      "where sessions, server-map entries and NAT bindings are kept across a stop and the next "
      "start (default: the database path + .state)")("no-state", po::bool_switch(&o.no_state),
                                                     "do not save or restore sessions");
}

// describe(): the socket for fwcli, the queues and their workers.
void describe_queues(AddOptions add, Options& o, unsigned& queue_num, unsigned& queues,
                     bool& no_syn_queue, bool& no_kernel_drops) {
  add("socket,s", po::value(&o.socket_path)->default_value(o.socket_path), "Unix socket for fwcli")(
      "group,g", po::value(&o.group), "group whose members may use the socket besides root")(
      "max-clients", po::value(&o.max_clients)->default_value(o.max_clients),
      "concurrent fwcli connections (root may evict an idle one beyond it)")(
      "queue-num,q", po::value(&queue_num)->default_value(0), "first NFQUEUE number")(
      "queues,k", po::value(&queues)->default_value(queues, "CPUs"),
      "number of queues/worker threads (--queue-balance); default: the number of CPUs fwd may "
      "run on (sched_getaffinity), at most 8")(
      "no-syn-queue", po::bool_switch(&no_syn_queue),
      "do not give TCP SYNs a queue and worker of their own (by default queue --queue-num + "
      "--queues takes the SYNs of the zone interfaces, so a SYN flood cannot push established "
      "traffic out of its queue)")(
      "no-kernel-flood-drops", po::bool_switch(&no_kernel_drops),
      "while an `anti-ddos ... max-rate` refuses a flood to a destination, do not drop its "
      "packets above twice the rate in the kernel (by default they never reach the queue)");
}

// describe(): which traffic and interfaces fwd handles, pickup, logging and limits.
void describe_traffic(AddOptions add, Options& o, std::string& pickup,
                      std::vector<std::string>& unmanaged, std::vector<std::string>& absent) {
  add("fail-open", po::bool_switch(&o.fail_open),
      "let traffic of zone interfaces pass when fwd is gone or the queue is full "
      "(--queue-bypass); default is fail-closed. Interfaces in no zone never pass")(
      "no-rules", po::bool_switch(&o.no_rules),
      "do not install or remove the iptables queueing rules")(
      "unmanaged-interface", po::value(&unmanaged)->composing(),
      "an interface fwd leaves alone (e.g. management); repeatable. Everything else that is in "
      "no zone is dropped")(
      "allow-absent-interface", po::value(&absent)->composing(),
      "a zone interface that may not exist yet (it is picked up when it appears); repeatable, "
      "'*' for any. Otherwise naming an interface that does not exist is an error")(
      "tcp-pickup", po::value(&pickup)->default_value("after-crash"),
      "when a TCP packet that is not a SYN may open a session: never, after-crash (for "
      "--pickup-window seconds after a start that found the rules of a crashed fwd), always")(
      "pickup-window", po::value(&o.pickup_window_s)->default_value(o.pickup_window_s),
      "seconds of mid-stream pickup after a crash")(
      "log-level,l", po::value(&o.log_level)->default_value(o.log_level),
      "debug, info, warn, error")("max-sessions",
                                  po::value(&o.max_sessions)->default_value(o.max_sessions),
                                  "hard cap on the session table")(
      "queue-maxlen", po::value(&o.queue_maxlen)->default_value(o.queue_maxlen),
      "kernel queue length per queue");
}

po::options_description describe(Options& o, unsigned& queue_num, unsigned& queues,
                                 bool& no_syn_queue, bool& no_kernel_drops, std::string& pickup,
                                 std::vector<std::string>& unmanaged,
                                 std::vector<std::string>& absent) {
  po::options_description d(
      "fwd - a Huawei USG-style zone firewall for Linux (NFQUEUE)\n\nOptions");
  describe_files(d.add_options(), o);
  describe_queues(d.add_options(), o, queue_num, queues, no_syn_queue, no_kernel_drops);
  describe_traffic(d.add_options(), o, pickup, unmanaged, absent);
  return d;
}

// "replay" area (issue 15 item 3): the offline replay of a capture.
po::options_description describe_replay(Options& o) {
  po::options_description d("Offline replay (no root, no kernel: fwd --replay FILE --config CFG)");
  d.add_options()("replay", po::value(&o.replay_file),
                  "feed the packets of a pcap/pcapng capture through the pipeline with the "
                  "capture's timestamps as the clock, print a line per packet and the session "
                  "table and server-map at the end, then exit")(
      "ingress", po::value(&o.replay_ingress)->composing(),
      "PREFIX=IF: packets from PREFIX arrived on IF (longest prefix first; repeatable); a pcapng "
      "interface name that is a configured interface wins")(
      "route", po::value(&o.replay_routes)->composing(),
      "PREFIX=IF[,NEXTHOP]: a route besides the configured interfaces' subnets and static "
      "routes (repeatable)")("local", po::value(&o.replay_locals)->composing(),
                             "ADDRESS=IF: an address of the firewall on IF (repeatable; the "
                             "configured interface addresses are added)")(
      "write", po::value(&o.replay_write),
      "write the packets as they would have left (rewritten, dropped ones omitted) to this "
      "pcapng file")("json", po::bool_switch(&o.replay_json), "print the replay as JSON");
  return d;
}

// Flags for tests only: parsed like the others, never listed by --help (nor the man page).
po::options_description describe_hidden(Options& o) {
  po::options_description d("testing only");
  d.add_options()("debug-stall-worker",
                  po::value(&o.debug_stall_worker_s)->default_value(o.debug_stall_worker_s),
                  "testing only: SIGUSR1 makes the worker of the first queue sleep this many "
                  "seconds (the watchdog pings stop while it is stuck)");
  return d;
}

std::optional<std::string> check(const Options& o, unsigned queue_num, unsigned queues,
                                 bool no_syn_queue, const std::string& pickup) {
  if (queues < 1 || queues > 64 || queue_num > 65535 || queue_num + queues - 1 > 65535)
    return "--queues must be 1..64 and --queue-num + --queues - 1 <= 65535";
  if (!no_syn_queue && queue_num + queues > 65535)
    return "the SYN queue (--queue-num + --queues) must be <= 65535 (or --no-syn-queue)";
  if (o.max_sessions < 1 || o.max_sessions > 100'000'000)
    return "--max-sessions must be 1..100000000";
  if (o.max_clients < 1 || o.max_clients > 4096) return "--max-clients must be 1..4096";
  if (pickup != "never" && pickup != "after-crash" && pickup != "always")
    return "--tcp-pickup must be never, after-crash or always";
  if (o.pickup_window_s > 86400) return "--pickup-window must be 0..86400";
  if (o.config_replace && o.config_file.empty()) return "--config-replace needs --config";
  if (o.debug_stall_worker_s > 3600) return "--debug-stall-worker must be 0..3600";
  if (o.replay_file.empty() &&
      (!o.replay_ingress.empty() || !o.replay_routes.empty() || !o.replay_locals.empty() ||
       !o.replay_write.empty() || o.replay_json))
    return "--ingress, --route, --local, --write and --json go with --replay";
  if (!o.replay_file.empty() && o.config_file.empty()) return "--replay needs --config";
  if (o.socket_path.empty() || o.socket_path.size() > 107)
    return "--socket must be a path of 1..107 bytes";
  return std::nullopt;
}

}  // namespace

unsigned default_queues() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  return std::clamp<unsigned>(static_cast<unsigned>(CPU_COUNT(&set)), 1, kMaxDefaultQueues);
}

std::optional<Options> parse_options(int argc, char** argv, int* exit_code) {
  Options o;
  unsigned queue_num = 0, queues = default_queues();
  bool no_syn_queue = false;
  bool no_kernel_drops = false;
  std::string pickup;
  std::vector<std::string> unmanaged, absent;
  po::options_description d =
      describe(o, queue_num, queues, no_syn_queue, no_kernel_drops, pickup, unmanaged, absent);
  d.add(describe_replay(o));
  po::options_description all;
  all.add(d).add(describe_hidden(o));
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).run(), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "fwd: " << e.what() << "\n(see fwd --help)\n";
    *exit_code = 2;
    return std::nullopt;
  }
  if (vm.count("help")) {
    std::cout << d << "\n";
    *exit_code = 0;
    return std::nullopt;
  }
  if (vm.count("version")) {
    std::cout << "fwd " FW_VERSION "\n";
    *exit_code = 0;
    return std::nullopt;
  }
  if (auto bad = check(o, queue_num, queues, no_syn_queue, pickup)) {
    std::cerr << "fwd: " << *bad << "\n";
    *exit_code = 2;
    return std::nullopt;
  }
  o.queue_num = static_cast<uint16_t>(queue_num);
  o.queues = static_cast<uint16_t>(queues);
  o.syn_queue = !no_syn_queue;
  o.kernel_flood_drops = !no_kernel_drops;
  o.unmanaged.insert(unmanaged.begin(), unmanaged.end());
  o.absent_allowed.insert(absent.begin(), absent.end());
  o.tcp_pickup = pickup == "never"    ? TcpPickup::kNever
                 : pickup == "always" ? TcpPickup::kAlways
                                      : TcpPickup::kAfterCrash;
  return o;
}

std::string state_path(const Options& o) {
  if (o.no_state) return "";
  if (!o.state_file.empty()) return o.state_file;
  return o.db_file.empty() ? "" : o.db_file + ".state";
}

}  // namespace fw::fwd
