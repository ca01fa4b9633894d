#include "fwd/controller.h"

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "aspf/registry.h"
#include "cli/output.h"
#include "common/counters.h"
#include "fwd/appid_stage.h"
#include "fwd/ctl_context.h"
#include "fwd/dataplane.h"

namespace fw::fwd {

using cli::ViewKind;

struct Controller::Line {
  int number = 0;    // 1-based line number in the source
  std::string body;  // without leading/trailing blanks
};

struct Controller::LineResult {
  bool ok = true;
  bool changed = false;  // the working configuration was changed
  std::string output;
  cli::ViewStack views;
  std::function<bool(std::ostream&)> slow;    // area route: run after the line, unlocked
  std::function<void(ctl::Emitter&)> stream;  // "stream" area: run after the line, unlocked
  std::optional<cli::OutputFilter> filter;    // the display's pipe, for `stream`
};

namespace {

cli::ViewStack system_views() {
  return {cli::View{ViewKind::kUser, {}}, cli::View{ViewKind::kSystem, {}}};
}

// Displays, resets and save read the configuration (or act on the data plane); they never
// change it and never move the session to another view.
// compare configuration and the shell's terminal settings (screen-length) are read-only too.
bool is_read_only(const std::string& id) {
  return id.rfind("display.", 0) == 0 || id.rfind("reset.", 0) == 0 || id == "save" ||
         id.rfind("probe.", 0) == 0 ||  // area route: ping, tracert
         id == "compare" || id == "screen-length" || id == "undo.screen-length" ||
         id == "terminal.monitor" || id == "undo.terminal.monitor";  // "evlog"
}

// The lines of a configuration text that are commands (not blank, not comments), trimmed.
template <typename LineT>
std::vector<LineT> command_lines(const std::string& text) {
  std::vector<LineT> out;
  std::istringstream is(text);
  std::string line;
  int n = 0;
  while (std::getline(is, line)) {
    ++n;
    size_t a = line.find_first_not_of(" \t\r");
    if (a == std::string::npos || line[a] == '#' || line[a] == '!') continue;
    size_t b = line.find_last_not_of(" \t\r");
    out.push_back(LineT{n, line.substr(a, b - a + 1)});
  }
  return out;
}

// A rule the new configuration keeps (same name, same kind) keeps its display id and its hit
// count: only the rules that are really new are counted as created (their hits start at 0).
// Rules kept by name take their old ids (unique among themselves); a new rule whose id (given
// by `rule name R id N` in the text) is one of those gets the next free id instead.
template <typename Rule>
void keep_ids(const std::vector<Rule>& old_rules, std::vector<Rule>& rules,
              std::set<uint32_t>& kept) {
  std::map<std::string, uint32_t> ids;
  for (const auto& r : old_rules) ids.emplace(r.name, r.id);
  for (auto& r : rules) {
    if (auto it = ids.find(r.name); it != ids.end()) kept.insert(r.id = it->second);
  }
}

template <typename Rule>
void renumber_clashes(const std::vector<Rule>& old_rules, std::vector<Rule>& rules,
                      const std::set<uint32_t>& kept, uint32_t* next_id) {
  std::set<std::string> old_names;
  for (const auto& r : old_rules) old_names.insert(r.name);
  for (auto& r : rules) {
    if (!old_names.count(r.name) && kept.count(r.id)) r.id = (*next_id)++;
  }
}

void keep_rule_identities(const ctl::Working& old, ctl::Working& w, uint32_t* next_id) {
  std::set<uint32_t> kept;
  keep_ids(old.cfg.security.rules, w.cfg.security.rules, kept);
  keep_ids(old.cfg.nat_rules, w.cfg.nat_rules, kept);
  renumber_clashes(old.cfg.security.rules, w.cfg.security.rules, kept, next_id);
  renumber_clashes(old.cfg.nat_rules, w.cfg.nat_rules, kept, next_id);
  std::set<std::string> old_security, old_nat;
  for (const auto& r : old.cfg.security.rules) old_security.insert(r.name);
  for (const auto& r : old.cfg.nat_rules) old_nat.insert(r.name);
  std::erase_if(w.created_rules, [&](const ctl::CreatedRule& c) {
    return (c.nat ? old_nat : old_security).count(c.name) > 0;
  });
}

// The line as the user typed it after its prompt, with a caret under the error.
std::string echo_error(const ctl::Working& w, const cli::ViewStack& vs, const std::string& line,
                       const cli::ParseOutcome& po) {
  std::string pr = cli::prompt(vs, w.cfg.sysname);
  return pr + line + "\n" + cli::render_error(po, pr.size());
}

}  // namespace

Controller::Controller(ControllerHooks hooks)
    : hooks_(std::move(hooks)),
      run_(std::make_unique<ctl::Working>()),
      handlers_(std::make_unique<ctl::HandlerTable>()) {
  if (hooks_.dataplane) {
    counters_ = &hooks_.dataplane->counters();
    algs_ = &hooks_.dataplane->algs();
  } else {
    own_counters_ = std::make_unique<common::CounterTable>();
    auto algs = std::make_unique<aspf::Registry>(*own_counters_);
    aspf::add_builtin_algs(*algs);
    own_algs_ = std::move(algs);
    counters_ = own_counters_.get();
    algs_ = own_algs_.get();
  }
  keyword_sets_[std::string(cli::kAlgSet)] = algs_->keywords();
  keyword_sets_[std::string(cli::kAppSet)] = appid_keywords();  // "appid"
  grammar_ = cli::firewall_grammar(keyword_sets_);
  run_->cfg = config::Config::defaults();
  ctl::register_system(*handlers_);
  ctl::register_zone(*handlers_);
  ctl::register_policy(*handlers_);
  ctl::register_service(*handlers_);
  ctl::register_nat(*handlers_);
  ctl::register_aspf(*handlers_);
  ctl::register_session_display(*handlers_);
  ctl::register_address_set(*handlers_);
  ctl::register_route(*handlers_);
  ctl::register_interface(*handlers_);
  ctl::register_source_limit(*handlers_);  // srclimit (issue 16)
  ctl::register_anti_ddos(*handlers_);     // flood defence (issue 16)
  ctl::register_trace(*handlers_);         // trace (issue 15)
  ctl::register_evlog(*handlers_);         // evlog (issue 15)
  ctl::register_sip(*handlers_);           // siptcp (issue 13)
}

Controller::~Controller() = default;

std::vector<std::string> Controller::check_handlers() const {
  std::vector<std::string> bad;
  std::map<std::string, int> seen;
  for (const auto& s : grammar_->specs()) {
    if (++seen[s.id] > 1) bad.push_back("duplicate spec id " + s.id);
    if (!handlers_->find(s.id)) bad.push_back("no handler for " + s.id);
  }
  for (const auto& [id, _] : handlers_->all()) {
    if (!seen.count(id)) bad.push_back("handler without a command spec: " + id);
  }
  for (const auto& id : handlers_->duplicates()) bad.push_back("handler registered twice: " + id);
  return bad;
}

config::Config Controller::running() const {
  std::lock_guard<std::mutex> lk(mu_);
  return run_->cfg;
}

bool Controller::runs_long(const cli::ViewStack& vs, const std::string& line) const {
  if (line.empty() || line.back() == '?') return false;
  cli::ParseOutcome po = grammar_->parse(vs.empty() ? cli::user_view() : vs, line, true);
  if (!po.match) return false;
  const std::string& id = po.match->spec->id;
  // "stream" area: a display of a million sessions streams for seconds at the reader's pace.
  return id.rfind("probe.", 0) == 0 || id == "display.session.table" ||
         id == "display.session.ipv6" || id == "display.servermap" ||
         id == "trace.live";  // live trace: waits for packets
}

std::string Controller::prompt(const cli::ViewStack& vs) const {
  std::lock_guard<std::mutex> lk(mu_);
  return cli::prompt(vs, run_->cfg.sysname);
}

void Controller::commit(ctl::Working&& w) {
  *run_ = std::move(w);
  ctl::reset_hit_counters(run_->created_rules, *counters_);
}

std::string Controller::apply_now() {
  if (hooks_.dataplane) hooks_.dataplane->apply(run_->cfg);
  if (hooks_.on_apply) return hooks_.on_apply(run_->cfg);
  return "";
}

std::ostream& Controller::fresh_output() {
  out_.str("");
  out_.clear();
  out_.flags(std::ios_base::dec | std::ios_base::skipws);
  out_.fill(' ');
  out_.width(0);
  out_.precision(6);
  return out_;
}

// Parses and runs one line against `w` (help, parse errors and handler errors rendered as the
// user sees them). Does not validate or apply: the callers decide when.
Controller::LineResult Controller::run_line(ctl::Working& w, const cli::ViewStack& vs,
                                            const std::string& line, bool search_parents,
                                            bool with_side_effects) {
  LineResult r;
  r.views = vs;
  const cli::Grammar& g = *grammar_;
  if (!line.empty() && line.back() == '?') {
    cli::ParseOutcome err;
    auto items = g.help(vs.back().kind, line.substr(0, line.size() - 1), &err);
    r.ok = items.has_value();
    r.output = items ? cli::render_help(*items) : echo_error(w, vs, line, err);
    return r;
  }
  cli::ParseOutcome po = g.parse(vs, line, search_parents);
  if (!po.match) {
    if (po.error == cli::ErrorKind::kNone) return r;  // empty line or comment
    r.ok = false;
    r.output = echo_error(w, vs, line, po);
    return r;
  }
  const std::string& id = po.match->spec->id;
  const ctl::Handler* h = handlers_->find(id);
  if (!h) {
    r.ok = false;
    r.output = "Error: The command is not supported yet.\n";
    return r;
  }
  if (!with_side_effects && is_read_only(id)) return r;
  ctl::Ctx c(*po.match, vs, w, hooks_, *counters_, *algs_, fresh_output());
  c.next_rule_id = &next_rule_id_;
  // VRP: a configuration command found in an upper view runs there and the
  // session moves up. Displays, resets and save never move the session.
  for (size_t i = 0; !is_read_only(id) && i < po.views_up && c.views.size() > 1; ++i)
    c.views.pop_back();
  (*h)(c);
  take_result(r, c, po, w, vs, line);
  return r;
}

void Controller::take_result(LineResult& r, ctl::Ctx& c, const cli::ParseOutcome& po,
                             const ctl::Working& w, const cli::ViewStack& vs,
                             const std::string& line) {
  r.changed = c.changed;
  if (!c.err.empty()) {
    r.ok = false;
    if (c.bad_param) {
      cli::ParseOutcome pe;
      pe.error = cli::ErrorKind::kWrongParameter;
      pe.error_column = c.bad_param->column;
      r.output = echo_error(w, vs, line, pe);
    }
    r.output += c.err + (c.err.back() == '\n' ? "" : "\n");
    return;
  }
  // The pipe of a display command (`| include REGEX`), here so every client gets it.
  r.output = po.match->filter ? cli::apply_filter(*po.match->filter, out_.str()) : out_.str();
  r.views = std::move(c.views);
  r.slow = std::move(c.slow);
  if (c.stream) {  // its output (after what the handler printed) goes through the pipe later
    r.output = out_.str();
    r.stream = std::move(c.stream);
    r.filter = po.match->filter;
  }
}

namespace {

constexpr size_t kStreamPiece = 64 * 1024;  // what the renderer gathers before sending it on

// "stream" area: runs a display's renderer with its pipe applied as the text comes, sending
// pieces of about kStreamPiece through `sink`; returns what is left for the answer itself.
std::string run_stream(const std::function<void(ctl::Emitter&)>& stream,
                       const std::optional<cli::OutputFilter>& filter, std::string head,
                       const Controller::Sink& sink) {
  cli::StreamFilter f(filter);
  std::string pending = f.feed(head);
  bool gone = false;
  ctl::Emitter em;
  em.count_only = f.counts_only();
  em.lines = [&](uint64_t n) { f.add_lines(n); };
  em.text = [&](std::string_view t) {
    if (gone) return false;
    pending += f.feed(t);
    if (sink && pending.size() >= kStreamPiece) {
      gone = !sink(pending);
      pending.clear();
    }
    return !gone;
  };
  em.flush = [&] {  // live trace: a record goes out as soon as it is there
    if (!gone && sink) {
      gone = !sink(pending);
      pending.clear();
    }
    return !gone;
  };
  stream(em);
  if (gone) return "";
  return pending + f.finish();
}

}  // namespace

ExecResult Controller::execute(const cli::ViewStack& vs_in, const std::string& raw,
                               bool search_parents, const Sink& sink) {
  std::unique_lock<std::mutex> lk(mu_);
  cli::ViewStack vs = vs_in.empty() ? cli::user_view() : vs_in;
  std::string line = raw;
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();

  // A configuration command edits a copy, so a command that fails (in its handler or in the
  // validation) leaves the running configuration as it was. Read-only commands, help and lines
  // that do not parse need no copy.
  bool help = !line.empty() && line.back() == '?';
  auto po = help ? cli::ParseOutcome{} : grammar_->parse(vs, line, search_parents);
  bool edits = po.match && !is_read_only(po.match->spec->id);
  std::optional<ctl::Working> copy;
  if (edits) copy.emplace(*run_);
  ctl::Working& w = edits ? *copy : *run_;

  LineResult lr = run_line(w, vs, line, search_parents, true);
  ExecResult r{lr.ok, std::move(lr.output), std::move(lr.views)};
  if (r.ok && lr.slow) {  // area route: ping/tracert wait without holding the configuration
    lk.unlock();
    std::ostringstream os;
    r.ok = lr.slow(os);
    r.output += os.str();
    return r;
  }
  if (r.ok && lr.stream) {  // "stream" area: rendered in batches without the mutex
    lk.unlock();
    r.output = run_stream(lr.stream, lr.filter, std::move(r.output), sink);
    return r;
  }
  if (!r.ok || !lr.changed || !edits) return r;
  if (auto e = config::validate(w.cfg)) {
    return ExecResult{false, *e + "\n", vs};
  }
  commit(std::move(w));
  std::string e = apply_now();
  if (!e.empty()) r.output += "Warning: " + e + "\n";
  if (hooks_.dataplane) hooks_.dataplane->events().command(line);  // "evlog": CMDRECORD
  return r;
}

// (disp) "FILE:LINE: " and the error on the first line; an echoed line with a caret comes after
// it on lines of their own (whatever a caller prints before the location, the caret stays under
// the bad word), then any further error lines.
static std::string located_error(const std::string& source, size_t number, const std::string& why) {
  const std::string at = source + ":" + std::to_string(number) + ": ";
  const size_t nl = why.find('\n');
  const size_t nl2 = nl == std::string::npos ? nl : why.find('\n', nl + 1);
  if (nl2 == std::string::npos) return at + why;
  const std::string caret = why.substr(nl + 1, nl2 - nl - 1);
  if (caret.find('^') == std::string::npos || caret.find_first_not_of(" ^") != std::string::npos)
    return at + why;
  const size_t nl3 = why.find('\n', nl2 + 1);
  if (nl3 == std::string::npos) return at + why;
  return at + why.substr(nl2 + 1, nl3 - nl2) + why.substr(0, nl2 + 1) + why.substr(nl3 + 1);
}

bool Controller::load_text(const std::string& text, const std::string& source, std::string* err) {
  std::lock_guard<std::mutex> lk(mu_);
  const auto lines = command_lines<Line>(text);
  const uint32_t first_rule_id = next_rule_id_;
  ctl::Working w = *run_;
  cli::ViewStack vs = system_views();
  bool changed = false;
  size_t bad = 0;  // the first line that fails, lines.size() if none
  std::string why;
  for (; bad < lines.size(); ++bad) {
    LineResult lr = run_line(w, vs, lines[bad].body, true, true);
    if (!lr.ok) {
      why = std::move(lr.output);
      break;
    }
    changed |= lr.changed;
    // A configuration file is a system-view script: `return`/`quit` to the
    // user view ends a section, it does not end the file.
    vs = lr.views.size() < 2 ? system_views() : std::move(lr.views);
  }
  // One validation for the whole batch. If it fails, an earlier line than `bad` broke the
  // configuration: find it, so the error still names its line.
  if (changed && config::validate(w.cfg)) {
    bad = find_invalid_line(lines, bad, *run_, first_rule_id, &w, &why, &changed);
  }
  commit(std::move(w));
  if (changed) apply_now();
  if (bad == lines.size()) return true;
  if (err) *err = located_error(source, lines[bad].number, why);
  return false;
}

bool Controller::replace_text(const std::string& text, const std::string& source, std::string* err,
                              std::string* apply_note) {
  std::lock_guard<std::mutex> lk(mu_);
  const auto lines = command_lines<Line>(text);
  const uint32_t first_rule_id = next_rule_id_;
  ctl::Working empty;
  empty.cfg = config::Config::defaults();
  ctl::Working w = empty;
  cli::ViewStack vs = system_views();
  size_t bad = 0;
  std::string why;
  for (; bad < lines.size(); ++bad) {
    LineResult lr = run_line(w, vs, lines[bad].body, true, false);
    if (!lr.ok) {
      why = std::move(lr.output);
      break;
    }
    vs = lr.views.size() < 2 ? system_views() : std::move(lr.views);
  }
  if (bad == lines.size() && config::validate(w.cfg)) {
    bool changed = false;
    bad = find_invalid_line(lines, bad, empty, first_rule_id, &w, &why, &changed);
  }
  if (bad < lines.size()) {
    next_rule_id_ = first_rule_id;  // nothing of the text is kept
    if (err) *err = located_error(source, lines[bad].number, why);
    return false;
  }
  keep_rule_identities(*run_, w, &next_rule_id_);
  commit(std::move(w));
  std::string note = apply_now();
  if (apply_note) *apply_note = std::move(note);
  return true;
}

// The running configuration is valid and lines [0, n) applied to it are not: bisects for a line
// after which the configuration stops validating (the first such line when, as usual, a broken
// configuration stays broken). Sets *w to the configuration before that line, *why to the
// validation error after it, and returns the line's index. Replays are made without side
// effects (displays, resets and save are skipped).
size_t Controller::find_invalid_line(const std::vector<Line>& lines, size_t n,
                                     const ctl::Working& base, uint32_t first_rule_id,
                                     ctl::Working* w, std::string* why, bool* changed) {
  struct Checkpoint {
    ctl::Working w;
    cli::ViewStack vs;
    uint32_t next_rule_id;
    size_t at;     // lines [0, at) applied
    bool changed;  // one of them changed the configuration
  };
  Checkpoint good{base, system_views(), first_rule_id, 0, false};
  size_t bad_at = n;  // lines [0, bad_at) do not validate
  *why = *config::validate(w->cfg) + "\n";
  while (bad_at - good.at > 1) {
    Checkpoint probe = good;
    size_t mid = good.at + (bad_at - good.at) / 2;
    next_rule_id_ = probe.next_rule_id;
    for (; probe.at < mid; ++probe.at) {
      LineResult lr = run_line(probe.w, probe.vs, lines[probe.at].body, true, false);
      probe.changed |= lr.changed;
      if (lr.ok) probe.vs = lr.views.size() < 2 ? system_views() : std::move(lr.views);
    }
    probe.next_rule_id = next_rule_id_;
    if (auto e = config::validate(probe.w.cfg)) {
      bad_at = mid;
      *why = *e + "\n";
    } else {
      good = std::move(probe);
    }
  }
  *w = std::move(good.w);
  *changed = good.changed;
  next_rule_id_ = good.next_rule_id;
  return bad_at - 1;
}

}  // namespace fw::fwd
