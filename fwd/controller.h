#pragma once
// The configuration side of the daemon: holds the running configuration,
// executes command lines (matched by the shared grammar, dispatched by command
// id to exactly one handler), renders the display commands, saves/loads.
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "cli/commands.h"
#include "common/clock.h"
#include "config/config.h"

namespace fw::db {
class ConfigStore;
}
namespace fw::aspf {
class Registry;
}
namespace fw::common {
class CounterTable;
}

namespace fw::fwd {

class DataPlane;

struct ExecResult {
  bool ok = true;
  std::string output;
  cli::ViewStack views;
};

// What the controller needs from the rest of the daemon (all optional, so
// transcript tests can run the controller alone).
struct ControllerHooks {
  DataPlane* dataplane = nullptr;    // gets every configuration change; displays read it
  db::ConfigStore* store = nullptr;  // `save`
  // Called with the zone interfaces after every change (iptables rules); returns an error text or
  // "".
  std::function<std::string(const config::Config&)> on_apply;
  // Extra lines for `display firewall statistics` (queue stats).
  std::function<std::string()> extra_statistics;
};

class Controller {
 public:
  explicit Controller(ControllerHooks hooks);
  ~Controller();

  // Every grammar spec id has exactly one handler: returns the ids without one
  // (and handlers without a spec) - fwd refuses to start if this is not empty.
  std::vector<std::string> check_handlers() const;

  // Execute one line in view stack `vs`. search_parents: VRP's rule that a
  // command not found in the current view is looked up in the views above
  // (used for configuration files and by fwcli). A line ending in '?' gets help.
  ExecResult execute(const cli::ViewStack& vs, const std::string& line, bool search_parents = true);

  // Apply a whole configuration text (config file or saved configuration),
  // starting in the system view. On the first error returns false and sets
  // *err to "SOURCE:LINE: <line>\n<caret>\n<error>".
  bool load_text(const std::string& text, const std::string& source, std::string* err);

  // Build and install the runtime snapshot for the current configuration.
  std::string apply_now();

  config::Config running() const;
  std::string prompt(const cli::ViewStack& vs) const;

 private:
  struct Ctx;
  using Handler = std::function<void(Ctx&)>;
  void register_handlers();
  void add(const std::string& id, Handler h);
  std::string render_session_table(Ctx& c, bool verbose);

  common::CounterTable& counters();
  const aspf::Registry& algs() const;

  ControllerHooks hooks_;
  DataPlane* dp_;
  std::unique_ptr<common::CounterTable> own_counters_;  // without a data plane
  std::unique_ptr<aspf::Registry> own_algs_;
  mutable std::mutex mu_;
  config::Config cfg_;
  std::map<std::string, Handler> handlers_;
  uint32_t next_rule_id_ = 1;
};

}  // namespace fw::fwd
