#pragma once
// Internal to the controller (fwd/controller.cpp and fwd/ctl_*.cpp): the configuration being
// edited with name indexes over its lists, the context one command handler works in, the
// handler table, and one registration function per area.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "aspf/registry.h"
#include "cli/grammar.h"
#include "common/counters.h"
#include "config/config.h"
#include "fwd/controller.h"

namespace fw::fwd::ctl {

// Name -> position in one list of named items, so a configuration of thousands of rules is not
// searched line by line. A push_back is recorded as it happens (`added`); anything else that
// changes the list (erase, reorder) drops the index (`reset`), and the next lookup rebuilds it.
// A hit is always checked against the list, so a stale index can cost a rebuild but never
// return the wrong item.
template <typename T>
class NameIndex {
 public:
  T* find(std::vector<T>& v, const std::string& name) {
    for (int pass = 0; pass < 2; ++pass) {
      if (!built_ || size_ != v.size()) rebuild(v);
      auto it = pos_.find(name);
      if (it == pos_.end()) return nullptr;
      if (v[it->second].name == name) return &v[it->second];
      built_ = false;
    }
    return nullptr;
  }
  void added(const std::vector<T>& v) {
    if (built_ && size_ + 1 == v.size()) {
      pos_.emplace(v.back().name, size_);
      ++size_;
    } else {
      built_ = false;
    }
  }
  void reset() { built_ = false; }

 private:
  void rebuild(const std::vector<T>& v) {
    pos_.clear();
    pos_.reserve(v.size());
    for (size_t i = 0; i < v.size(); ++i) pos_.emplace(v[i].name, i);  // first of a name wins
    size_ = v.size();
    built_ = true;
  }

  std::unordered_map<std::string, size_t> pos_;
  size_t size_ = 0;
  bool built_ = false;
};

// A rule created since the configuration was last committed: its hit counter starts from zero
// once the configuration is committed (see reset_hit_counters).
struct CreatedRule {
  bool nat = false;
  std::string name;
};

// A configuration and the indexes over its lists. Handlers find items through it; a handler that
// adds to or removes from an indexed list tells the matching index.
struct Working {
  config::Config cfg;
  NameIndex<config::SecurityRule> rules;
  NameIndex<config::NatRule> nat_rules;
  NameIndex<config::Zone> zones;
  NameIndex<config::AddressGroup> groups;
  NameIndex<config::ServiceSet> service_sets;
  NameIndex<config::NatServer> nat_servers;
  NameIndex<config::AddressSet> address_sets;
  std::vector<CreatedRule> created_rules;

  config::SecurityRule* rule(const std::string& n) { return rules.find(cfg.security.rules, n); }
  config::NatRule* nat_rule(const std::string& n) { return nat_rules.find(cfg.nat_rules, n); }
  config::Zone* zone(const std::string& n) { return zones.find(cfg.zones, n); }
  config::AddressGroup* group(const std::string& n) { return groups.find(cfg.address_groups, n); }
  config::ServiceSet* service_set(const std::string& n) {
    return service_sets.find(cfg.service_sets, n);
  }
  config::NatServer* nat_server(const std::string& n) {
    return nat_servers.find(cfg.nat_servers, n);
  }
  config::AddressSet* address_set(const std::string& n) {
    return address_sets.find(cfg.address_sets, n);
  }
  // A predefined or user-defined service (config::lookup_service without the linear search).
  const config::ServiceSet* service(const std::string& n);
};

// "stream" area: where a display of any size writes, a batch at a time (Ctx::stream).
struct Emitter {
  // The pipe is `| count`: call lines(n) for what would be printed instead of rendering it.
  bool count_only = false;
  // Appends output; false when the reader has gone (Ctrl+C): stop rendering.
  std::function<bool(std::string_view)> text;
  std::function<void(uint64_t)> lines;
  // Live trace: sends what was appended now instead of gathering a batch; false when the reader
  // has gone (also with nothing to send: a way to notice Ctrl+C while waiting).
  std::function<bool()> flush;
};

// What one command handler works on. A handler checks, then changes: one that sets `err` must
// leave the configuration as it found it, because load_text runs every line of a file on one
// working configuration in place (execute gives each command a copy).
struct Ctx {
  Ctx(const cli::Match& match, cli::ViewStack vs, Working& work, const ControllerHooks& h,
      common::CounterTable& ctr, const aspf::Registry& registry, std::ostream& output)
      : m(match),
        views(std::move(vs)),
        w(work),
        cfg(work.cfg),
        hooks(h),
        dp(h.dataplane),
        counters(ctr),
        algs(registry),
        out(output) {}

  const cli::Match& m;
  cli::ViewStack views;  // the handler may push or pop views
  Working& w;
  config::Config& cfg;  // == w.cfg
  const ControllerHooks& hooks;
  DataPlane* dp;                     // null when the controller runs alone
  common::CounterTable& counters;    // the data plane's (or the controller's own)
  const aspf::Registry& algs;        // the ALGs `firewall detect` knows
  uint32_t* next_rule_id = nullptr;  // display id of the next rule created
  std::ostream& out;                 // what the command prints (empty, default format, at start)
  std::string err;
  // Set with err when a parameter is refused: err is shown under a caret at that parameter.
  const cli::MatchedToken* bad_param = nullptr;
  bool changed = false;  // the configuration was changed: validate and apply
  // Area route: work that takes seconds (ping, tracert). The controller runs it after the
  // command, without its mutex, and appends what it writes; false = the command failed. Only
  // interactive commands run it (configuration files skip it).
  std::function<bool(std::ostream&)> slow;
  // "stream" area: a display of any size (session table, server-map). The controller runs it
  // after the command, without its mutex, and sends its text on as it comes (the pipe applied
  // piece by piece), so no reply holds it all. It must capture what it needs by value (the
  // match and the configuration are gone by then) and read only the data plane.
  std::function<void(Emitter&)> stream;

  const cli::View& view() const { return views.back(); }
  const std::string& arg(size_t i = 0) const { return views.back().args.at(i); }
  std::string p(std::string_view name) const { return m.param(name).value_or(""); }
  config::SecurityRule* rule() { return w.rule(arg()); }
  // Refuses parameter `name` like a VRP parameter error, with `msg` as the reason.
  void param_error(std::string_view name, std::string msg);
};

using Handler = std::function<void(Ctx&)>;

// Command id -> handler. Registering an id twice is recorded and reported by check_handlers().
class HandlerTable {
 public:
  void add(std::initializer_list<std::pair<const char*, Handler>> list);
  const Handler* find(const std::string& id) const;
  const std::map<std::string, Handler>& all() const { return handlers_; }
  const std::vector<std::string>& duplicates() const { return duplicates_; }

 private:
  std::map<std::string, Handler> handlers_;
  std::vector<std::string> duplicates_;
};

// One per area (fwd/ctl_<area>.cpp).
void register_system(HandlerTable& t);           // views, sysname, aging, display this/current
void register_zone(HandlerTable& t);             // security zones
void register_policy(HandlerTable& t);           // security policy and the rule views
void register_service(HandlerTable& t);          // service sets
void register_nat(HandlerTable& t);              // address groups, NAT policy, NAT servers
void register_aspf(HandlerTable& t);             // detect, interzones, port mapping
void register_session_display(HandlerTable& t);  // sessions, server-map, statistics
void register_address_set(HandlerTable& t);      // address sets (objects)
void register_route(HandlerTable& t);            // static routes, routing table, ARP, ping
void register_interface(HandlerTable& t);        // interface map, interface view, displays
void register_source_limit(HandlerTable& t);     // "srclimit": per-source limits
void register_anti_ddos(HandlerTable& t);        // flood defence: anti-ddos ... max-rate
void register_trace(HandlerTable& t);            // "trace": packet-trace
void register_evlog(HandlerTable& t);            // "evlog": event log, info-center
void register_sip(HandlerTable& t);              // "siptcp": display firewall sip session

// "iface" area (fwd/ctl_interface.cpp). The Linux name of interface parameter `param` (typed as
// a VRP name of the interface map or as a Linux name), or "" after refusing it like a wrong
// parameter when it does not exist (or is a VRP name the map does not have).
std::string interface_param(Ctx& c, std::string_view param);
void this_interface(Ctx& c);  // `display this` in the interface view

// A created rule may reuse the name of an earlier one: its hit counter must not inherit the old
// count. Called when the configuration that created them is committed; clears `created`.
void reset_hit_counters(std::vector<CreatedRule>& created, common::CounterTable& counters);

// Shared by several areas.
std::string rule_state(bool enabled);  // "enable" / "disable"
template <typename T>
void add_unique(std::vector<T>& v, const T& x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

}  // namespace fw::fwd::ctl
