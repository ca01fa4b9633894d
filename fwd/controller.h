#pragma once
// The configuration side of the daemon: holds the running configuration,
// executes command lines (matched by its own copy of the command grammar, built with
// the keywords of its ALG registry, and dispatched by command id to exactly one
// handler), renders the display commands, saves/loads.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "common/clock.h"
#include "config/config.h"
#include "fwd/netlink_route.h"

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
  DataPlane* dataplane = nullptr;    // gets every applied change (once per load); displays read it
  db::ConfigStore* store = nullptr;  // `save`
  // Called with the zone interfaces after every change (iptables rules); returns an error text or
  // "".
  std::function<std::string(const config::Config&)> on_apply;
  // Extra lines for `display firewall statistics` (queue stats).
  std::function<std::string()> extra_statistics;
  // Whether `add interface NAME` may name this interface; null accepts any name.
  std::function<bool(const std::string&)> interface_exists;
  // ifindex -> interface name for the verbose session display; null or "" shows the number.
  std::function<std::string(uint32_t)> ifname;
  // "iface" area: every link with its state, addresses and counters (`display interface`);
  // null shows none.
  std::function<std::vector<LinkDetail>()> link_details;
  // "kernel drops" (issue 16 item 1): packets of each flood kind (index: session::FloodKind) the
  // kernel dropped while attacks lasted; null shows nothing.
  std::function<std::vector<uint64_t>()> kernel_flood_drops;
};

namespace ctl {
struct Working;
struct Ctx;
class HandlerTable;
}  // namespace ctl

class Controller {
 public:
  explicit Controller(ControllerHooks hooks);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // The grammar this controller matches with, and the values of its keyword sets (the ALGs
  // of the registry it works with under cli::kAlgSet): fwd sends them to fwcli, which builds
  // the same grammar from them. Both are fixed at construction.
  const cli::Grammar& grammar() const { return *grammar_; }
  const cli::KeywordSets& keyword_sets() const { return keyword_sets_; }

  // Every grammar spec id has exactly one handler: returns the ids without one
  // (and handlers without a spec, and ids registered twice) - fwd refuses to
  // start if this is not empty.
  std::vector<std::string> check_handlers() const;

  // Execute one line in view stack `vs`. search_parents: VRP's rule that a
  // command not found in the current view is looked up in the views above
  // (used for configuration files and by fwcli). A line ending in '?' gets help.
  // A configuration command is validated and applied at once; if it fails, the
  // running configuration is left as it was.
  // sink ("stream" area): a display of any size sends its output through it in pieces as it
  // is rendered (false from it stops the rendering: the reader has gone); the result carries
  // the rest. Without a sink the whole output is in the result.
  using Sink = std::function<bool(const std::string&)>;
  ExecResult execute(const cli::ViewStack& vs, const std::string& line, bool search_parents = true,
                     const Sink& sink = {});

  // Apply a whole configuration text (config file or saved configuration),
  // starting in the system view, as one batch: every line edits one working
  // configuration, which is validated once at the end and applied once (one
  // apply_now) if anything changed. On an error returns false and sets *err to
  // "SOURCE:LINE: <line>\n<caret>\n<error>" for the first line that fails,
  // counting a line after which the configuration no longer validates as
  // failing (found by replaying, only on this error path); the lines before it
  // are applied, as if they had been typed one by one.
  bool load_text(const std::string& text, const std::string& source, std::string* err);

  // Replace the running configuration with a whole configuration text (a reload, SIGHUP): the
  // text is the configuration, built from the defaults as at a start with --config-replace, as
  // one batch (one validation, one snapshot). Displays, resets and `save` in it are skipped.
  // All or nothing: on an error returns false, sets *err as load_text does, and the running
  // configuration is left exactly as it was. Rules kept by name keep their id and hit count.
  // Sessions, server-map entries and NAT bindings are the data plane's and stay.
  // *apply_note: what applying it to the kernel reported ("" when all went well).
  bool replace_text(const std::string& text, const std::string& source, std::string* err,
                    std::string* apply_note = nullptr);

  // Build and install the runtime snapshot for the current configuration.
  std::string apply_now();

  // Area route: whether `line` is a command that takes seconds (ping, tracert; "stream": the
  // streamed displays of the session table and the server-map), which the
  // management socket runs beside the other commands. Thread-safe, takes no lock.
  bool runs_long(const cli::ViewStack& vs, const std::string& line) const;

  config::Config running() const;
  std::string prompt(const cli::ViewStack& vs) const;

 private:
  struct Line;
  struct LineResult;
  LineResult run_line(ctl::Working& w, const cli::ViewStack& vs, const std::string& line,
                      bool search_parents, bool with_side_effects);
  // run_line(): what the command's handler left in `c` (and printed), as the line's result.
  void take_result(LineResult& r, ctl::Ctx& c, const cli::ParseOutcome& po, const ctl::Working& w,
                   const cli::ViewStack& vs, const std::string& line);
  void commit(ctl::Working&& w);
  std::ostream& fresh_output();  // out_, emptied, in the default format
  size_t find_invalid_line(const std::vector<Line>& lines, size_t bad, const ctl::Working& base,
                           uint32_t first_rule_id, ctl::Working* w, std::string* why,
                           bool* changed);

  ControllerHooks hooks_;
  // Without a data plane (transcript tests, configuration checks): counters and the ALG list.
  std::unique_ptr<common::CounterTable> own_counters_;
  std::unique_ptr<aspf::Registry> own_algs_;
  common::CounterTable* counters_;
  const aspf::Registry* algs_;
  cli::KeywordSets keyword_sets_;
  std::unique_ptr<cli::Grammar> grammar_;
  mutable std::mutex mu_;
  std::unique_ptr<ctl::Working> run_;  // the running configuration
  std::unique_ptr<ctl::HandlerTable> handlers_;
  uint32_t next_rule_id_ = 1;
  std::ostringstream out_;  // reused by every command: building a stream costs more than a line
};

}  // namespace fw::fwd
