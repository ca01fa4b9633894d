#pragma once
// Zones and security-policy matching, compiled from config:: structs into a
// read-only snapshot the packet path uses without locks.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/counters.h"
#include "common/interner.h"
#include "common/ip_addr.h"
#include "config/config.h"
#include "policy/classifier.h"  // ZoneId, kNoZone, FlowInfo

namespace fw::policy {

// Zone ids are stable for the life of the data plane (sessions keep them across
// configuration changes): a zone name gets an id once, from the data plane's
// zone registry (an Interner of at most kMaxZoneIds names), and keeps it.
inline constexpr uint32_t kMaxZoneIds = 254;

class ZoneTable {
 public:
  ZoneTable(const config::Config& c, common::Interner& registry);
  ZoneId by_interface(const std::string& ifname) const;  // kNoZone if not in a zone
  ZoneId by_name(const std::string& name) const;         // kNoZone if unknown
  ZoneId local() const { return local_; }
  std::string name(ZoneId id) const;
  int priority(ZoneId id) const;
  std::vector<std::string> interfaces() const;  // every interface bound to a zone

 private:
  std::unordered_map<std::string, ZoneId> by_name_;
  std::unordered_map<ZoneId, int> prios_;
  std::unordered_map<std::string, ZoneId> by_if_;
  ZoneId local_ = kNoZone;
  const common::Interner* registry_;
};

// A rule's zone names as classifier zone ids: "any" anywhere in the list means any zone (an empty
// list); an unknown name becomes kNoZone, which matches flows whose zone is unknown.
std::vector<ZoneId> rule_zone_ids(const std::vector<std::string>& names, const ZoneTable& zones);

// The address sets of a configuration by name, to expand rules' address conditions into the
// classifier's prefixes and ranges (security and NAT rules alike).
class AddressSets {
 public:
  explicit AddressSets(const config::Config& c);
  // Appends a rule's source or destination condition: its prefixes and ranges, and the items of
  // each address set it names. A set without items (or unknown, which validate() refuses) adds a
  // range that matches nothing, so a rule never turns into "any address" by naming empty sets.
  void expand(const config::AddressCond& a, std::vector<common::Prefix>& prefixes,
              std::vector<AddrRange>& ranges) const;

 private:
  std::unordered_map<std::string, const config::AddressSet*> by_name_;
};

// "appid" area: what the policy knows of a flow's application when it matches: kAppUndecided
// while the identifier still looks at the flow, kAppNone when it found nothing (or gave up),
// else an appid::App value.
inline constexpr int kAppUndecided = -1;
inline constexpr int kAppNone = 0;

struct Verdict {
  bool permit = false;
  const std::string* rule =
      nullptr;  // name of the rule that matched ("default" for the default action)
  // "appid": the rule names applications and the flow's is undecided: the flow is admitted until
  // it is identified, then the policy is asked again (match with the application). Not counted.
  bool pending = false;
  bool session_logging = false;  // "evlog" area: the rule has `session logging`
};

struct RuleView {
  uint32_t id;
  std::string name;
  bool enabled;
  std::string action;  // "permit" / "deny", "-" for a rule without an action
  uint64_t hits;
};

class CompiledPolicy {
 public:
  CompiledPolicy(const config::Config& c, const ZoneTable& zones, common::CounterTable& counters);
  // First enabled rule that matches, else the default action. Counts the hit. A rule with an
  // application condition matches a flow of one of its applications, and (pending, not counted)
  // a flow whose application is undecided; never one of another application or of none.
  Verdict match(const FlowInfo& f, int app = kAppNone) const;
  // The same decision without counting the hit (packet-trace).
  Verdict peek(const FlowInfo& f, int app = kAppNone) const;
  // Some enabled rule has an application condition.
  bool has_applications() const { return any_app_; }
  // Rules in order, then "default" (id 0), with hit counts.
  std::vector<RuleView> rules() const;

  // The hit counter of a rule name (shared across rebuilds, by name).
  static common::Counter& hit_counter(common::CounterTable& t, const std::string& rule);

 private:
  uint32_t first(const FlowInfo& f, int app) const;
  Verdict decide(const FlowInfo& f, int app, bool count) const;
  struct Rule {
    uint32_t id;
    std::string name;
    bool enabled;
    bool has_action;  // false: the rule matches nothing
    bool permit;
    common::Counter* hits;
    uint32_t apps = 0;  // "appid": bit a = appid::App a; 0 = any application
    // "evlog" area: the rule has `session logging`.
    bool session_logging = false;
  };
  std::vector<Rule> rules_;
  // The enabled rules' conditions; classifier rule i is rules_[active_[i]].
  Classifier classifier_;
  std::vector<uint32_t> active_;
  bool default_permit_ = false;
  bool any_app_ = false;
  std::string default_name_ = "default";
  common::Counter* default_hits_;
};

}  // namespace fw::policy
