// Times Controller::load_text on a generated configuration (no pipeline attached, so only the
// controller's part is measured: parsing, handlers, validation; not the runtime compile).
//
//   bench_config_load [--rules N] [--nat N] [--seed S] [--invalid-at K] [--interactive N]
//                     [--emit] [--lab-nat]
//
// --emit prints the generated configuration instead of loading it. --invalid-at K puts two
// conflicting NAT servers before security rule K: only the final validation sees it, so this
// times the error path (finding the line). --interactive N then times N single commands through
// Controller::execute (each checked and applied on its own, as from fwcli). --lab-nat gives the
// address groups the lab's NAT addresses (one of 203.0.113.100-110 each, 11 groups) instead of
// 100.64.0.0/16: the real fwd installs every NAT address on the interface that routes to it, so
// it can load the configuration only where those addresses have a route. Memory comes from
// /proc/self/status: VmRSS before the load (the generated text included) and VmHWM after it.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>

#include "fwd/controller.h"

namespace {

struct Options {
  int rules = 10000;
  int nat = 1000;
  unsigned seed = 1;
  int invalid_at = -1;
  int interactive = 0;
  bool emit = false;
  bool lab_nat = false;
};

constexpr int kZones = 8;  // custom zones besides the four built-in ones
constexpr int kServiceSets = 50;
constexpr int kGroups = 20;
constexpr int kLabGroups = 11;  // 203.0.113.100-110 (docs/LAB.md)
const char* const kPredefined[] = {"http", "https", "ssh", "dns", "ftp", "smtp", "ntp", "icmp"};

class Gen {
 public:
  explicit Gen(unsigned seed) : rng_(seed) {}
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  static std::string hex(int v) {
    char b[16];
    std::snprintf(b, sizeof b, "%x", v);
    return b;
  }

  std::string zone() {
    int z = pick(kZones + 3);
    if (z == kZones) return "trust";
    if (z == kZones + 1) return "untrust";
    if (z == kZones + 2) return "dmz";
    return "z" + std::to_string(z);
  }
  std::string service() {
    int n = pick(kServiceSets + 8);
    return n < 8 ? kPredefined[n] : "svc" + std::to_string(n - 8);
  }
  std::string v4_net() {
    return "10." + std::to_string(pick(256)) + "." + std::to_string(pick(256)) + ".0";
  }
  std::string address() {
    switch (pick(3)) {
      case 0:
        return v4_net() + " mask 255.255.255.0";
      case 1:
        return "172.16." + std::to_string(pick(256)) + "." + std::to_string(pick(256)) + " 32";
      default:
        return "2001:db8:" + hex(pick(65536)) + ":: 64";
    }
  }

 private:
  std::mt19937 rng_;
};

int group_count(bool lab_nat) { return lab_nat ? kLabGroups : kGroups; }

void objects(std::ostream& os, bool lab_nat) {
  os << "sysname BENCH\n#\n";
  for (int i = 0; i < kServiceSets; ++i) {
    os << "ip service-set svc" << i << " type object\n"
       << " service 0 protocol tcp destination-port " << 8000 + i << "\n"
       << " service 1 protocol udp destination-port " << 9000 + i << " to " << 9010 + i << "\n";
  }
  os << "firewall zone trust\n add interface in0\nfirewall zone untrust\n add interface out0\n"
     << "firewall zone dmz\n add interface dmz0\n";
  for (int i = 0; i < kZones; ++i) {
    os << "firewall zone name z" << i << "\n set priority " << 10 + i << "\n add interface bz" << i
       << "\n";
  }
  for (int i = 0; i < group_count(lab_nat); ++i) {
    os << "nat address-group g" << i << "\n mode pat\n section 0 ";
    if (lab_nat) {
      os << "203.0.113." << 100 + i << " 203.0.113." << 100 + i << "\n";
    } else {
      os << "100.64." << i << ".0 100.64." << i << ".15\n";
    }
  }
  os << "#\n";
}

void security_rules(std::ostream& os, Gen& g, int n, int invalid_at) {
  os << "security-policy\n";
  for (int i = 0; i < n; ++i) {
    if (i == invalid_at) {
      os << "nat server a protocol tcp global 203.0.113.9 80 inside 10.0.0.1 80\n"
         << "nat server b protocol tcp global 203.0.113.9 80 inside 10.0.0.2 80\n"
         << "security-policy\n";
    }
    os << " rule name r" << i << "\n";
    if (g.pick(10) == 0) os << "  description generated rule " << i << "\n";
    os << "  source-zone " << g.zone() << "\n  destination-zone " << g.zone() << "\n";
    for (int k = g.pick(3); k >= 0; --k) os << "  source-address " << g.v4_net() << " 24\n";
    for (int k = g.pick(3); k >= 0; --k) os << "  destination-address " << g.address() << "\n";
    for (int k = g.pick(3); k >= 0; --k) os << "  service " << g.service() << "\n";
    os << "  action " << (g.pick(4) ? "permit" : "deny") << "\n";
  }
}

void nat_rules(std::ostream& os, Gen& g, int n, int groups) {
  os << "#\nnat-policy\n";
  for (int i = 0; i < n; ++i) {
    os << " rule name n" << i << "\n  source-zone trust\n  destination-zone untrust\n";
    for (int k = g.pick(2); k >= 0; --k) os << "  source-address " << g.v4_net() << " 24\n";
    if (g.pick(2)) os << "  egress-interface out0\n";
    switch (g.pick(3)) {
      case 0:
        os << "  action source-nat address-group g" << g.pick(groups) << "\n";
        break;
      case 1:
        os << "  action source-nat easy-ip\n";
        break;
      default:
        os << "  action no-nat\n";
    }
  }
  os << "#\nreturn\n";
}

// User + system CPU seconds of this process: the machine may be shared, wall time alone lies.
double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

// A /proc/self/status field in kB ("VmRSS", "VmHWM"), 0 if absent.
long status_kb(const std::string& field) {
  std::ifstream f("/proc/self/status");
  for (std::string l; std::getline(f, l);) {
    if (l.rfind(field + ":", 0) == 0) return std::strtol(l.c_str() + field.size() + 1, nullptr, 10);
  }
  return 0;
}

// Edits one rule's description n times from its rule view, as typed in fwcli.
void time_interactive(fw::fwd::Controller& ctl, int n) {
  using fw::cli::View;
  using fw::cli::ViewKind;
  fw::cli::ViewStack vs = {View{ViewKind::kUser, {}}, View{ViewKind::kSystem, {}},
                           View{ViewKind::kSecurityPolicy, {}},
                           View{ViewKind::kSecurityRule, {"r0"}}};
  double cpu0 = cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    auto r = ctl.execute(vs, "description edit " + std::to_string(i));
    if (!r.ok) {
      std::cerr << r.output;
      return;
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu = cpu_seconds() - cpu0;
  std::printf("interactive: %d commands, %.3f ms wall, %.3f ms CPU per command\n", n,
              secs * 1e3 / n, cpu * 1e3 / n);
}

bool parse_args(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool has_value = i + 1 < argc;
    if (a == "--emit") {
      o->emit = true;
    } else if (a == "--lab-nat") {
      o->lab_nat = true;
    } else if (a == "--rules" && has_value) {
      o->rules = std::atoi(argv[++i]);
    } else if (a == "--nat" && has_value) {
      o->nat = std::atoi(argv[++i]);
    } else if (a == "--interactive" && has_value) {
      o->interactive = std::atoi(argv[++i]);
    } else if (a == "--invalid-at" && has_value) {
      o->invalid_at = std::atoi(argv[++i]);
    } else if (a == "--seed" && has_value) {
      o->seed = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
    } else {
      return false;
    }
  }
  return o->rules >= 0 && o->nat >= 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse_args(argc, argv, &o)) {
    std::cerr << "usage: bench_config_load [--rules N] [--nat N] [--seed S] [--invalid-at K]"
                 " [--interactive N] [--emit] [--lab-nat]\n";
    return 2;
  }
  Gen g(o.seed);
  std::ostringstream os;
  objects(os, o.lab_nat);
  security_rules(os, g, o.rules, o.invalid_at);
  nat_rules(os, g, o.nat, group_count(o.lab_nat));
  std::string text = os.str();
  if (o.emit) {
    std::cout << text;
    return 0;
  }
  size_t lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
  fw::fwd::Controller ctl({});
  long rss_before = status_kb("VmRSS");
  long hwm_before = status_kb("VmHWM");
  double cpu0 = cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  std::string err;
  bool ok = ctl.load_text(text, "generated", &err);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu = cpu_seconds() - cpu0;
  long hwm_after = status_kb("VmHWM");
  long rss_after = status_kb("VmRSS");
  auto cfg = ctl.running();
  if (!ok) {
    std::printf("load failed (%.3f s wall, %.3f s CPU, %zu rules kept): %s", secs, cpu,
                cfg.security.rules.size(), err.c_str());
    return o.invalid_at >= 0 ? 0 : 1;
  }
  std::printf("config: %zu security rules, %zu NAT rules, %zu lines, %.1f MB of text\n",
              cfg.security.rules.size(), cfg.nat_rules.size(), lines, text.size() / 1e6);
  std::printf("load_text: %.3f s wall, %.3f s CPU (%.1f us CPU/line)\n", secs, cpu,
              cpu * 1e6 / static_cast<double>(lines));
  std::printf(
      "memory: VmRSS %.1f MB before, %.1f MB after; VmHWM %.1f MB before, %.1f MB after"
      " (peak growth during the load %.1f MB)\n",
      rss_before / 1024.0, rss_after / 1024.0, hwm_before / 1024.0, hwm_after / 1024.0,
      (hwm_after - rss_before) / 1024.0);
  if (o.interactive > 0) time_interactive(ctl, o.interactive);
  return 0;
}
