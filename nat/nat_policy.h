#pragma once
// Source-NAT policy at run time (compiled from config::NatRule), and the NAT
// state that outlives configuration changes (port allocations, no-PAT bindings).
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/counters.h"
#include "config/config.h"
#include "nat/port_alloc.h"
#include "policy/classifier.h"
#include "policy/policy.h"

namespace fw::nat {

struct SnatDecision {
  enum class Kind : uint8_t { kNone, kEasyIp, kPat, kNoPat, kNoNat } kind = Kind::kNone;
  const std::vector<common::IpAddr>* pool = nullptr;  // kPat / kNoPat
  const std::string* group = nullptr;
  const std::string* rule = nullptr;
};

class CompiledNatPolicy {
 public:
  CompiledNatPolicy(const config::Config& c, const policy::ZoneTable& zones,
                    common::CounterTable& counters);
  // First enabled rule that matches; kNone if none does. Counts the hit (unless !count:
  // packet-trace).
  SnatDecision match(policy::ZoneId src_zone, policy::ZoneId dst_zone, const common::IpAddr& src,
                     const common::IpAddr& dst, const std::string& egress_if,
                     bool count = true) const;
  bool empty() const { return rules_.empty(); }
  static common::Counter& hit_counter(common::CounterTable& t, const std::string& rule);
  // First packets no enabled rule matched (the `default` no-nat row).
  static common::Counter& default_counter(common::CounterTable& t);

 private:
  struct Rule {
    std::string name;
    std::vector<std::string> egress;  // empty = any; checked on the classifier's candidate
    SnatDecision::Kind kind;
    std::string group;
    const std::vector<common::IpAddr>* pool = nullptr;
    common::Counter* hits;
  };
  std::vector<Rule> rules_;
  // The conditions of the rules that can match (enabled, with an action); classifier rule i is
  // rules_[active_[i]].
  policy::Classifier classifier_;
  std::vector<uint32_t> active_;
  std::map<std::string, std::vector<common::IpAddr>> pools_;
  common::Counter* default_hits_ = nullptr;
};

// State that lives across configuration changes.
class NatState {
 public:
  PortAllocator ports;
  // The no-PAT bindings of a group (created on first use; rebuilt if the
  // group's addresses change - bindings of the old address list then end as
  // their sessions age out).
  NoPatBindings& bindings(const std::string& group, const std::vector<common::IpAddr>& pool);
  NoPatBindings* find_bindings(const std::string& group);
  std::map<std::string, std::vector<NoPatBindings::Binding>> all_bindings() const;

 private:
  mutable std::mutex mu_;
  struct G {
    std::vector<common::IpAddr> pool;
    std::unique_ptr<NoPatBindings> b;
  };
  std::map<std::string, G> groups_;
  std::vector<std::unique_ptr<NoPatBindings>> retired_;  // still referenced by live sessions
};

}  // namespace fw::nat
