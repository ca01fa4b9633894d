#pragma once
// Installs and removes the daemon's own queueing rules (iptables / ip6tables,
// run with fork+exec, no shell). Each rule carries a comment naming this
// daemon instance so exactly those rules are removed at exit.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace fw::fwd {

struct RuleOptions {
  uint16_t queue_num = 0;
  uint16_t queues = 1;     // --queue-balance queue_num:queue_num+queues-1 when > 1
  bool fail_open = false;  // adds --queue-bypass
  std::string tag;         // comment, e.g. "fwd-q0"
};

class RuleInstaller {
 public:
  explicit RuleInstaller(RuleOptions opt);
  ~RuleInstaller();  // removes everything still installed

  // Make the installed set equal to the rules for these interfaces (zone
  // interfaces), for IPv4 and IPv6:
  //   raw PREROUTING  -i IF -j CT --notrack
  //   raw OUTPUT      -o IF -j CT --notrack
  //   mangle PREROUTING -i IF -j NFQUEUE --queue-num N | --queue-balance A:B [--queue-bypass]
  //   mangle OUTPUT     -o IF -j NFQUEUE ...   (traffic of the firewall itself: local zone)
  // Returns false with *err on the first failing command (already added rules stay tracked).
  bool sync(const std::set<std::string>& interfaces, std::string* err);
  void remove_all();

  // The exact argv lists installed (for tests and logs).
  std::vector<std::vector<std::string>> installed() const;

  // Pure: the argv lists (argv[0] "iptables" / "ip6tables") that add (-I) or
  // delete (-D) the rules for these interfaces, in the order sync() runs them
  // (deletes are in reverse order).
  static std::vector<std::vector<std::string>> commands(const RuleOptions& opt,
                                                        const std::set<std::string>& interfaces,
                                                        bool add);
  // "" if the name is acceptable as an iptables interface argument.
  static std::string check_interface_name(const std::string& name);

 private:
  struct Rule {
    bool v6;
    std::string table, chain;
    std::vector<std::string> spec;  // after -A CHAIN
    std::string iface;
  };
  bool run(const std::vector<std::string>& argv, std::string* err);
  std::vector<Rule> rules_for(const std::string& iface) const;
  static std::vector<Rule> rules_for(const RuleOptions& opt, const std::string& iface);
  static std::vector<std::string> argv_of(const Rule& r, bool add);
  RuleOptions opt_;
  std::vector<Rule> installed_;
};

}  // namespace fw::fwd
