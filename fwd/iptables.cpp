#include "fwd/iptables.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common/log.h"
#include "fwd/exec.h"

namespace fw::fwd {
namespace {

bool is_missing_rule_error(const std::string& out) {
  return out.find("does a matching rule exist") != std::string::npos ||
         out.find("No chain/target/match by that name") != std::string::npos ||
         out.find("does not exist") != std::string::npos;
}

}  // namespace

RuleInstaller::RuleInstaller(RuleOptions opt) : opt_(std::move(opt)) {
  if (opt_.tag.empty()) opt_.tag = "fwd-q" + std::to_string(opt_.queue_num);
  if (opt_.queues == 0) opt_.queues = 1;
}

RuleInstaller::~RuleInstaller() { remove_all(); }

std::string RuleInstaller::check_interface_name(const std::string& name) {
  if (name.empty()) return "empty interface name";
  if (name.size() >= IF_NAMESIZE) return "interface name too long: " + name;
  if (name[0] == '-' || name[0] == '!') return "bad interface name: " + name;
  for (char c : name)
    if (c == '/' || c == ' ' || c == '\t' || c == '\n' || c == ':' ||
        static_cast<unsigned char>(c) < 0x20)
      return "bad interface name: " + name;
  return {};
}

std::vector<RuleInstaller::Rule> RuleInstaller::rules_for(const RuleOptions& opt,
                                                          const std::string& iface) {
  std::vector<std::string> queue_target = {"-j", "NFQUEUE"};
  if (opt.queues > 1) {
    queue_target.push_back("--queue-balance");
    queue_target.push_back(std::to_string(opt.queue_num) + ":" +
                           std::to_string(static_cast<unsigned>(opt.queue_num) + opt.queues - 1));
  } else {
    queue_target.push_back("--queue-num");
    queue_target.push_back(std::to_string(opt.queue_num));
  }
  if (opt.fail_open) queue_target.push_back("--queue-bypass");
  const std::vector<std::string> notrack = {"-j", "CT", "--notrack"};
  const std::vector<std::string> comment = {"-m", "comment", "--comment", opt.tag};

  std::vector<Rule> rules;
  for (bool v6 : {false, true}) {
    auto add = [&](const char* table, const char* chain, const char* dir,
                   const std::vector<std::string>& target) {
      Rule r{v6, table, chain, {dir, iface}, iface};
      r.spec.insert(r.spec.end(), comment.begin(), comment.end());
      r.spec.insert(r.spec.end(), target.begin(), target.end());
      rules.push_back(std::move(r));
    };
    // Notrack before queueing: no packet is ever queued while the kernel
    // would still build its own conntrack state for it.
    add("raw", "PREROUTING", "-i", notrack);
    add("raw", "OUTPUT", "-o", notrack);
    add("mangle", "PREROUTING", "-i", queue_target);
    add("mangle", "OUTPUT", "-o", queue_target);
  }
  return rules;
}

std::vector<RuleInstaller::Rule> RuleInstaller::rules_for(const std::string& iface) const {
  return rules_for(opt_, iface);
}

std::vector<std::string> RuleInstaller::argv_of(const Rule& r, bool add) {
  // -I: our rules go in front of whatever else is in the chain.
  std::vector<std::string> argv = {
      r.v6 ? "ip6tables" : "iptables", "-w", "-t", r.table, add ? "-I" : "-D", r.chain};
  argv.insert(argv.end(), r.spec.begin(), r.spec.end());
  return argv;
}

std::vector<std::vector<std::string>> RuleInstaller::commands(
    const RuleOptions& opt_in, const std::set<std::string>& interfaces, bool add) {
  RuleOptions opt = opt_in;
  if (opt.tag.empty()) opt.tag = "fwd-q" + std::to_string(opt.queue_num);
  if (opt.queues == 0) opt.queues = 1;
  std::vector<std::vector<std::string>> out;
  for (const auto& iface : interfaces)
    for (const auto& r : rules_for(opt, iface)) out.push_back(argv_of(r, add));
  if (!add) std::reverse(out.begin(), out.end());
  return out;
}

bool RuleInstaller::sync(const std::set<std::string>& interfaces, std::string* err) {
  for (const auto& i : interfaces) {
    std::string bad = check_interface_name(i);
    if (!bad.empty()) {
      if (err) *err = bad;
      return false;
    }
  }
  // Remove rules of interfaces that left, newest first.
  for (size_t k = installed_.size(); k-- > 0;) {
    if (interfaces.count(installed_[k].iface)) continue;
    std::string e;
    if (!run(argv_of(installed_[k], false), &e) && !is_missing_rule_error(e))
      FW_LOG(kWarn, "removing rule failed: " << e);
    installed_.erase(installed_.begin() + static_cast<std::ptrdiff_t>(k));
  }
  std::set<std::string> have;
  for (const auto& r : installed_) have.insert(r.iface);
  for (const auto& iface : interfaces) {
    if (have.count(iface)) continue;
    for (auto& r : rules_for(iface)) {
      if (!run(argv_of(r, true), err)) return false;
      installed_.push_back(std::move(r));
    }
  }
  return true;
}

void RuleInstaller::remove_all() {
  for (size_t k = installed_.size(); k-- > 0;) {
    std::string e;
    if (!run(argv_of(installed_[k], false), &e) && !is_missing_rule_error(e))
      FW_LOG(kWarn, "removing rule failed: " << e);
  }
  installed_.clear();
}

std::vector<std::vector<std::string>> RuleInstaller::installed() const {
  std::vector<std::vector<std::string>> out;
  for (const auto& r : installed_) out.push_back(argv_of(r, true));
  return out;
}

bool RuleInstaller::run(const std::vector<std::string>& argv, std::string* err) {
  return run_program(argv, err);
}

}  // namespace fw::fwd
