#include "fwd/daemon.h"

#include <grp.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "aspf/engine.h"
#include "cli/commands.h"
#include "common/counters.h"
#include "common/log.h"
#include "db/config_store.h"
#include "fwd/addresses.h"
#include "fwd/controller.h"
#include "fwd/dataplane.h"
#include "fwd/iptables.h"
#include "fwd/netlink_route.h"
#include "fwd/nfqueue.h"
#include "fwd/options.h"
#include "fwd/sysctl.h"
#include "ipc/ipc.h"
#include "nat/nat_policy.h"
#include "policy/policy.h"
#include "session/server_map.h"
#include "session/session_table.h"

namespace fw::fwd {
namespace {

class KernelRoutes final : public RouteSource {
 public:
  explicit KernelRoutes(std::unique_ptr<RouteResolver> r) : r_(std::move(r)) {}
  RouteInfo route(const common::IpAddr& dst) override {
    RouteInfo out;
    auto res = r_->lookup(dst);
    if (!res) return out;
    switch (res->type) {
      case RouteResult::Type::kUnicast:
        out.ok = true;
        out.oif = res->oif;
        out.gateway = res->gateway;
        out.prefsrc = res->prefsrc;
        break;
      case RouteResult::Type::kLocal:
      case RouteResult::Type::kBroadcast:
        out.ok = true;
        out.local = true;
        out.oif = res->oif;
        break;
      default:
        break;
    }
    return out;
  }
  // if_indextoname costs a socket, an ioctl and a close, and every new flow asks
  // for its egress interface's name (nat-policy egress-interface): names are kept
  // per index for kNameTtl, so a renamed interface is seen within a second.
  std::string ifname(uint32_t ifindex) override {
    auto now = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lock(mu_);
    auto it = names_.find(ifindex);
    if (it != names_.end() && now - it->second.fetched < kNameTtl) return it->second.name;
    if (names_.size() >= kMaxNames) names_.clear();
    Name& n = names_[ifindex];
    n.name = ifname_of(ifindex);
    n.fetched = now;
    return n.name;
  }

 private:
  static constexpr auto kNameTtl = std::chrono::seconds(1);
  static constexpr size_t kMaxNames = 4096;
  struct Name {
    std::string name;
    std::chrono::steady_clock::time_point fetched;
  };
  std::unique_ptr<RouteResolver> r_;
  std::mutex mu_;
  std::unordered_map<uint32_t, Name> names_;
};

int fail(const std::string& msg) {
  std::cerr << "fwd: " << msg << "\n";
  return 1;
}

std::set<std::string> zone_interfaces(const config::Config& c) {
  std::set<std::string> s;
  for (const auto& z : c.zones) s.insert(z.interfaces.begin(), z.interfaces.end());
  return s;
}

}  // namespace

int run_daemon(int argc, char** argv) {
  int code = 0;
  auto opt = parse_options(argc, argv, &code);
  if (!opt) return code;
  auto lvl = common::parse_log_level(opt->log_level);
  if (!lvl) return fail("unknown --log-level '" + opt->log_level + "' (debug, info, warn, error)");
  common::set_log_level(*lvl);

  if (geteuid() != 0)
    return fail("must run as root (it binds NFQUEUE and installs iptables rules)");
  if (!opt->group.empty() && !getgrnam(opt->group.c_str()))
    return fail("unknown group '" + opt->group + "'");

  // Block the stop signals in every thread; the main thread waits for them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  common::SteadyClock clock;
  std::string err;
  auto resolver = RouteResolver::open(&err);
  if (!resolver) return fail("route lookups unavailable: " + err);
  KernelRoutes routes(std::move(resolver));
  DataPlaneOptions dopt;
  dopt.max_sessions = opt->max_sessions;
  DataPlane dp(clock, routes, dopt);
  Pipeline& pipeline = dp.pipeline();

  std::unique_ptr<db::ConfigStore> store;
  if (!opt->db_file.empty()) {
    store = db::ConfigStore::open(opt->db_file, &err);
    if (!store) return fail(err);
  }

  RuleOptions ropt;
  ropt.queue_num = opt->queue_num;
  ropt.queues = opt->queues;
  ropt.fail_open = opt->fail_open;
  ropt.tag = "fwd-q" + std::to_string(opt->queue_num);
  std::unique_ptr<RuleInstaller> rules;
  std::unique_ptr<AddressInstaller> addrs;
  std::unique_ptr<InterfaceSysctls> sysctls;

  std::vector<std::unique_ptr<NfQueue>> queues;
  ControllerHooks hooks;
  hooks.dataplane = &dp;
  hooks.store = store.get();
  hooks.on_apply = [&](const config::Config& c) -> std::string {
    std::string out;
    if (rules) {
      std::string e;
      if (!rules->sync(zone_interfaces(c), &e)) out = "iptables: " + e;
    }
    if (sysctls) {
      std::string e = sysctls->sync(zone_interfaces(c));
      if (!e.empty() && out.empty()) out = e;
    }
    if (addrs) {
      std::set<common::IpAddr> want;
      for (const auto& g : c.address_groups) {
        for (const auto& a : g.addresses()) want.insert(a);
      }
      for (const auto& s : c.nat_servers) want.insert(s.global);
      std::string e = addrs->sync(want);
      if (!e.empty() && out.empty()) out = e;
    }
    return out;
  };
  hooks.extra_statistics = [&]() {
    std::ostringstream os;
    uint64_t enobufs = 0, qdrop = 0, udrop = 0;
    for (const auto& q : queues) {
      enobufs += q->stats().enobufs;
      auto k = kernel_queue_stats(q->queue_num());
      qdrop += k.queue_dropped;
      udrop += k.user_dropped;
    }
    auto line = [&](const std::string& l, uint64_t v) {
      char b[128];
      std::snprintf(b, sizeof b, "  %-32s: %llu\n", l.c_str(), static_cast<unsigned long long>(v));
      os << b;
    };
    line("Queue dropped (kernel)", qdrop);
    line("Queue user-dropped (kernel)", udrop);
    line("Queue ENOBUFS", enobufs);
    return os.str();
  };
  Controller ctl(hooks);
  if (auto bad = ctl.check_handlers(); !bad.empty()) {
    std::string m = "internal error: command specs and handlers disagree:";
    for (const auto& b : bad) m += "\n  " + b;
    return fail(m);
  }

  // Configuration: the saved one first, then the --config file on top.
  if (store) {
    auto text = store->load(&err);
    if (!text && !err.empty()) return fail(err);
    if (text && !ctl.load_text(*text, opt->db_file + " (saved configuration)", &err))
      return fail(err);
  }
  if (!opt->config_file.empty()) {
    std::ifstream f(opt->config_file);
    if (!f) return fail("cannot read --config " + opt->config_file + ": " + std::strerror(errno));
    std::stringstream ss;
    ss << f.rdbuf();
    if (!ctl.load_text(ss.str(), opt->config_file, &err))
      return fail("configuration error at " + err);
  }

  // Queues before rules: if the queue is taken we must not steer traffic to it.
  for (uint16_t i = 0; i < opt->queues; ++i) {
    QueueOptions q;
    q.queue_num = static_cast<uint16_t>(opt->queue_num + i);
    q.fail_open = opt->fail_open;
    q.max_len = opt->queue_maxlen;
    auto nq = NfQueue::open(q, &err);
    if (!nq) return fail(err);
    queues.push_back(std::move(nq));
  }
  if (!opt->no_rules) {
    rules = std::make_unique<RuleInstaller>(ropt);
    sysctls = std::make_unique<InterfaceSysctls>();
    addrs = std::make_unique<AddressInstaller>(
        [&routes](const common::IpAddr& a) {
          RouteInfo r = routes.route(a);
          return r.ok && !r.local ? routes.ifname(r.oif) : std::string();
        },
        [&routes](const common::IpAddr& a) { return routes.route(a).local; });
  }
  std::string apply_err = ctl.apply_now();
  if (!apply_err.empty()) {
    if (rules) rules->remove_all();
    if (addrs) addrs->remove_all();
    return fail(apply_err);
  }

  auto server = ipc::Server::start(
      opt->socket_path, opt->group,
      [&](const ipc::Request& rq, const ipc::PeerCred&) {
        ipc::Response resp;
        auto vs = cli::parse_views(rq.view);
        if (!vs) {
          resp.ok = false;
          resp.output = "Error: bad view from client.\n";
          vs = cli::user_view();
        } else if (!rq.line.empty()) {
          ExecResult r = ctl.execute(*vs, rq.line, true);
          resp.ok = r.ok;
          resp.output = r.output;
          vs = r.views;
        }
        resp.view = cli::serialize_views(*vs);
        resp.prompt = ctl.prompt(*vs);
        return resp;
      },
      &err);
  if (!server) {
    if (rules) rules->remove_all();
    if (addrs) addrs->remove_all();
    return fail("cannot serve the CLI socket " + opt->socket_path + ": " + err);
  }

  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  for (auto& q : queues) {
    workers.emplace_back([&stop, &pipeline, &dp, qp = q.get()] {
      RuntimeHolder::Reader reader(dp.runtimes());
      qp->run(stop, [&](QueuedPacket& p) { return pipeline.process(p, reader); });
    });
  }
  std::thread maint([&] {
    while (!stop.load()) {
      pipeline.maintain();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  FW_LOG(kInfo, "ready: queues " << opt->queue_num << ".." << opt->queue_num + opt->queues - 1
                                 << ", socket " << opt->socket_path
                                 << (opt->fail_open ? ", fail-open" : ", fail-closed")
                                 << (opt->no_rules ? ", no rules installed" : ""));

  int sig = 0;
  while (true) {
    sigwait(&sigs, &sig);
    if (sig == SIGHUP) continue;
    break;
  }
  FW_LOG(kInfo, "signal " << sig << ": stopping");
  stop.store(true);
  for (auto& t : workers) t.join();
  maint.join();
  server.reset();
  if (rules) rules->remove_all();
  if (addrs) addrs->remove_all();
  if (sysctls) sysctls->restore_all();
  queues.clear();
  return 0;
}

}  // namespace fw::fwd
