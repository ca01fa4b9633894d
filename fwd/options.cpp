#include "fwd/options.h"

#include <boost/program_options.hpp>
#include <iostream>

namespace po = boost::program_options;

namespace fw::fwd {

std::optional<Options> parse_options(int argc, char** argv, int* exit_code) {
  Options o;
  unsigned queue_num = 0, queues = 1;
  po::options_description d(
      "fwd - a Huawei USG-style zone firewall for Linux (NFQUEUE)\n\nOptions");
  d.add_options()("help,h", "print this help and exit")(
      "config,c", po::value(&o.config_file),
      "file of VRP commands applied at start (after the saved configuration)")(
      "db,d", po::value(&o.db_file),
      "SQLite database: the saved configuration is loaded from it at start; `save` writes it")(
      "socket,s", po::value(&o.socket_path)->default_value(o.socket_path), "Unix socket for fwcli")(
      "group,g", po::value(&o.group), "group whose members may use the socket besides root")(
      "queue-num,q", po::value(&queue_num)->default_value(0), "first NFQUEUE number")(
      "queues,k", po::value(&queues)->default_value(1),
      "number of queues/worker threads (--queue-balance)")(
      "fail-open", po::bool_switch(&o.fail_open),
      "let traffic pass when fwd is gone or the queue is full (--queue-bypass); default is "
      "fail-closed")("no-rules", po::bool_switch(&o.no_rules),
                     "do not install or remove the iptables queueing rules")(
      "log-level,l", po::value(&o.log_level)->default_value(o.log_level),
      "debug, info, warn, error")("max-sessions",
                                  po::value(&o.max_sessions)->default_value(o.max_sessions),
                                  "hard cap on the session table")(
      "queue-maxlen", po::value(&o.queue_maxlen)->default_value(o.queue_maxlen),
      "kernel queue length per queue");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(d).run(), vm);
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
  if (queues < 1 || queues > 64 || queue_num > 65535 || queue_num + queues - 1 > 65535) {
    std::cerr << "fwd: --queues must be 1..64 and --queue-num + --queues - 1 <= 65535\n";
    *exit_code = 2;
    return std::nullopt;
  }
  if (o.max_sessions < 1 || o.max_sessions > 100'000'000) {
    std::cerr << "fwd: --max-sessions must be 1..100000000\n";
    *exit_code = 2;
    return std::nullopt;
  }
  o.queue_num = static_cast<uint16_t>(queue_num);
  o.queues = static_cast<uint16_t>(queues);
  return o;
}

}  // namespace fw::fwd
