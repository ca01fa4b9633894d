#include "fwd/daemon.h"

#include <grp.h>
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <tuple>

#include "cli/commands.h"
#include "common/log.h"
#include "config/config.h"
#include "db/config_store.h"
#include "fwd/addresses.h"
#include "fwd/controller.h"
#include "fwd/dataplane.h"
#include "fwd/iface_apply.h"
#include "fwd/iptables.h"
#include "fwd/netlink_route.h"
#include "fwd/nfqueue.h"
#include "fwd/options.h"
#include "fwd/replay.h"
#include "fwd/service.h"
#include "fwd/static_routes.h"
#include "fwd/sysctl.h"
#include "ipc/ipc.h"

namespace fw::fwd {
namespace {

// Route lookups over rtnetlink; interface names from the link table (kept current by
// link events: no descriptor, no system call per lookup).
class KernelRoutes final : public RouteSource {
 public:
  KernelRoutes(std::unique_ptr<RouteResolver> r, const LinkTable& links)
      : r_(std::move(r)), links_(links) {}
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
  std::string ifname(uint32_t ifindex) override { return links_.name_of(ifindex); }
  uint32_t ifindex(const std::string& name) override { return links_.index_of(name); }

 private:
  std::unique_ptr<RouteResolver> r_;
  const LinkTable& links_;
};

int fail(const std::string& msg) {
  common::stderr_write(common::LogLevel::kError, "fwd: " + msg);
  return 1;
}

std::set<std::string> zone_interfaces(const config::Config& c) {
  std::set<std::string> s;
  for (const auto& z : c.zones) s.insert(z.interfaces.begin(), z.interfaces.end());
  return s;
}

// The text of the file a flag names: a readable regular file, nothing else.
std::optional<std::string> read_file(const std::string& path, const char* flag, std::string* err) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    *err = std::string("cannot read ") + flag + " " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    *err = std::string(flag) + " " + path + " is not a regular file" +
           (S_ISDIR(st.st_mode) ? " (it is a directory)" : "");
    return std::nullopt;
  }
  std::ifstream f(path);
  std::stringstream ss;
  if (!f || !(ss << f.rdbuf())) {
    *err = std::string("cannot read ") + flag + " " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  return ss.str();
}

// Descriptors are cheap and the management socket, netlink and the queues all need some:
// take what the hard limit allows.
void raise_fd_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

// One queue's worker thread, with what the watchdog and the stall test reach it by.
struct Worker {
  NfQueue* queue = nullptr;
  Heartbeat heartbeat;               // every round of its loop
  std::atomic<uint32_t> stall_s{0};  // testing (--debug-stall-worker): sleep this long once
  std::thread thread;
};

class Daemon {
 public:
  explicit Daemon(Options o) : opt_(std::move(o)) {}
  int run();
  int check_config();

 private:
  bool open_links(std::string* err);
  bool open_store(std::string* err);
  ControllerHooks hooks();
  bool load_configuration(Controller& ctl, std::string* err);
  bool open_queues(std::string* err);
  std::string syn_queue_text() const;
  bool install_rules(std::string* err);
  void restore_state();
  void save_state();
  bool start_socket(std::string* err);
  void start_workers();
  void worker_round(Worker& w);
  void maintenance_round(uint64_t* next_status_ms);
  void update_flood_drops(uint64_t now);
  void start_watchdog();
  int wait_for_signal();
  void reload();
  std::string reload_configuration();
  void set_config_source(std::string s);
  std::string status_text();
  void stop(bool hold);
  void remove_kernel_state(bool hold);
  std::string on_apply(const config::Config& c);
  std::string extra_statistics();
  void on_link_event(const LinkEvent& e);
  bool interface_allowed(const std::string& name) const;

  Options opt_;
  sigset_t sigs_{};
  common::SteadyClock clock_;
  std::unique_ptr<LinkTable> links_;
  std::unique_ptr<KernelRoutes> routes_;
  std::unique_ptr<DataPlane> dp_;
  std::unique_ptr<db::ConfigStore> store_;
  std::unique_ptr<Controller> ctl_;
  std::vector<std::unique_ptr<NfQueue>> queues_;
  std::unique_ptr<RuleInstaller> rules_;
  std::unique_ptr<AddressInstaller> addrs_;
  std::unique_ptr<StaticRouteInstaller> static_routes_;  // area route: `ip route-static`
  std::unique_ptr<InterfaceSysctls> sysctls_;
  InterfaceApplier ifaces_;  // `interface X` settings -> the Linux interfaces
  std::unique_ptr<ipc::Server> server_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> trim_pending_{false};
  // "stream" area: the most sessions since the last trim (maintenance thread only).
  size_t peak_sessions_ = 0;
  // After a drain trim, a few more every 500 ms: memory the drain's aftermath frees (per-source
  // and per-flow maps aging out, display buffers) goes back too (maintenance thread only).
  int settle_trims_ = 0;
  uint64_t next_settle_ms_ = 0;
  // "kernel drops": the floods dropped in the kernel now, and when to look again (maintenance
  // thread only).
  std::vector<FloodDrop> flood_drops_;
  uint64_t next_flood_ms_ = 0;
  // "rss" area (issue 16 item 6): a table that was big and is draining gets one more round of
  // trims once it is (nearly) empty (maintenance thread only).
  bool drained_trim_due_ = false;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::thread maint_;
  ServiceNotifier notifier_;
  std::unique_ptr<Watchdog> watchdog_;  // when the service manager asks for one
  std::mutex status_mu_;
  std::string config_source_;  // for STATUS=: where the running configuration came from
  std::mutex zone_ifs_mu_;
  std::map<std::string, std::string> zone_ifs_;  // interface -> zone, for link event logs
};

bool Daemon::interface_allowed(const std::string& name) const {
  return opt_.absent_allowed.count("*") || opt_.absent_allowed.count(name) ||
         (links_ ? links_->exists(name) : ifindex_of(name) != 0);
}

void Daemon::on_link_event(const LinkEvent& e) {
  std::string zone;
  {
    std::lock_guard<std::mutex> lk(zone_ifs_mu_);
    // A rename matters if either name is a zone interface's.
    for (const auto* n : {&e.name, &e.old_name}) {
      auto it = zone_ifs_.find(*n);
      if (it != zone_ifs_.end()) zone = it->second;
    }
  }
  if (zone.empty()) return;
  switch (e.kind) {
    case LinkEvent::Kind::kRemoved:
      FW_LOG(kWarn, "interface " << e.name << " of zone " << zone
                                 << " is gone: it keeps its zone and is picked up if it returns");
      break;
    case LinkEvent::Kind::kAdded:
      FW_LOG(kInfo, "interface " << e.name << " of zone " << zone << " appeared (ifindex "
                                 << e.ifindex << "): traffic through it is filtered");
      break;
    case LinkEvent::Kind::kRenamed:
      FW_LOG(kWarn,
             "interface " << e.old_name << " was renamed " << e.name << " (zone " << zone << ")");
      break;
  }
}

bool Daemon::open_links(std::string* err) {
  links_ = LinkTable::open([this](const LinkEvent& e) { on_link_event(e); }, err);
  if (!links_) return false;
  auto resolver = RouteResolver::open(err);
  if (!resolver) {
    *err = "route lookups unavailable: " + *err;
    return false;
  }
  routes_ = std::make_unique<KernelRoutes>(std::move(resolver), *links_);
  DataPlaneOptions dopt;
  dopt.max_sessions = opt_.max_sessions;
  dp_ = std::make_unique<DataPlane>(clock_, *routes_, dopt);
  dp_->evlog().start();  // "evlog": the event log's writer thread
  return true;
}

bool Daemon::open_store(std::string* err) {
  if (opt_.db_file.empty()) return true;
  db::OpenOptions o;
  o.replace_unusable = opt_.db_replace_unusable;
  db::OpenInfo info;
  store_ = db::ConfigStore::open(opt_.db_file, o, &info, err);
  for (const auto& n : info.notes) FW_LOG(kInfo, n);
  if (!store_ && info.unusable) *err += " (--db-replace-unusable moves it aside and starts anew)";
  return store_ != nullptr;
}

ControllerHooks Daemon::hooks() {
  ControllerHooks h;
  h.dataplane = dp_.get();
  h.store = store_.get();
  h.on_apply = [this](const config::Config& c) { return on_apply(c); };
  h.extra_statistics = [this] { return extra_statistics(); };
  h.kernel_flood_drops = [this] {
    std::string e;
    return rules_ ? rules_->flood_dropped(&e) : std::vector<uint64_t>();
  };
  h.interface_exists = [this](const std::string& n) { return interface_allowed(n); };
  h.ifname = [this](uint32_t i) { return links_ ? links_->name_of(i) : ifname_of(i); };
  h.link_details = [] {
    std::string e;
    auto links = dump_link_details(&e);
    if (!e.empty()) FW_LOG(kWarn, e);
    return links;
  };
  return h;
}

// One source of truth: the saved configuration. --config seeds a database that has none (or
// replaces it with --config-replace); without --db it is the configuration.
bool Daemon::load_configuration(Controller& ctl, std::string* err) {
  std::optional<std::string> saved;
  if (store_) {
    saved = store_->load(err);
    if (!saved && !err->empty()) return false;
  }
  if (!opt_.config_file.empty() && (!saved || opt_.config_replace)) {
    auto text = read_file(opt_.config_file, "--config", err);
    if (!text) return false;
    if (!ctl.load_text(*text, opt_.config_file, err)) {
      *err = "configuration error at " + *err;
      return false;
    }
    set_config_source(opt_.config_file);
    if (!store_) return true;
    if (!store_->save(config::render(ctl.running()), err)) return false;
    FW_LOG(kInfo, (saved ? "the saved configuration of " : "new database ")
                      << opt_.db_file << (saved ? " replaced by " : " seeded from ")
                      << opt_.config_file);
    return true;
  }
  if (!saved) return true;
  if (!ctl.load_text(*saved, opt_.db_file + " (saved configuration)", err)) return false;
  set_config_source("the saved configuration of " + opt_.db_file);
  if (!opt_.config_file.empty()) {
    FW_LOG(kInfo, "using the saved configuration of " << opt_.db_file << "; --config "
                                                      << opt_.config_file
                                                      << " ignored (--config-replace applies it)");
  }
  return true;
}

bool Daemon::open_queues(std::string* err) {
  // Queues before rules: if the queue is taken we must not steer traffic to it.
  const uint16_t n = static_cast<uint16_t>(opt_.queues + (opt_.syn_queue ? 1 : 0));
  for (uint16_t i = 0; i < n; ++i) {  // the last one is the SYN queue when there is one
    QueueOptions q;
    q.queue_num = static_cast<uint16_t>(opt_.queue_num + i);
    q.fail_open = opt_.fail_open;
    q.max_len = opt_.queue_maxlen;
    auto nq = NfQueue::open(q, err);
    if (!nq) return false;
    queues_.push_back(std::move(nq));
  }
  return true;
}

bool Daemon::install_rules(std::string* err) {
  bool crashed = false;
  if (!opt_.no_rules) {
    RuleOptions r;
    r.queue_num = opt_.queue_num;
    r.queues = opt_.queues;
    r.syn_queue = opt_.syn_queue;
    r.fail_open = opt_.fail_open;
    r.tag = "fwd-q" + std::to_string(opt_.queue_num);
    r.unmanaged = opt_.unmanaged;
    if (std::string bad = RuleInstaller::check_options(r); !bad.empty()) {
      *err = bad;
      return false;
    }
    rules_ = std::make_unique<RuleInstaller>(r);
    sysctls_ = std::make_unique<InterfaceSysctls>(opt_.db_file.empty() ? std::string()
                                                                       : opt_.db_file + ".sysctl");
    addrs_ = std::make_unique<AddressInstaller>(
        [this](const common::IpAddr& a) {
          RouteInfo ri = routes_->route(a);
          return ri.ok && !ri.local ? routes_->ifname(ri.oif) : std::string();
        },
        [this](const common::IpAddr& a) { return routes_->route(a).local; });
  }
  // Area route: static routes are configuration, installed with or without --no-rules.
  static_routes_ = std::make_unique<StaticRouteInstaller>(
      [this](const std::string& n) { return links_ ? links_->index_of(n) : ifindex_of(n); });
  if (std::string e = ctl_->apply_now(); !e.empty()) {
    *err = e;
    return false;
  }
  if (rules_) {
    const Leftovers& l = rules_->leftovers();
    crashed = l.found() && !l.held();
    if (l.held()) FW_LOG(kInfo, "took over the rules the previous fwd held for a restart");
    if (crashed) {
      FW_LOG(kWarn, "found the rules of an fwd that did not stop cleanly ("
                        << l.jumps << " hooks, " << l.chains << " chains, " << l.legacy_rules
                        << " old-layout rules): replaced by one set");
    }
  }
  const uint64_t now = clock_.now_ms();
  uint64_t until = 0;
  if (opt_.tcp_pickup == TcpPickup::kAlways) until = UINT64_MAX;
  if (opt_.tcp_pickup == TcpPickup::kAfterCrash && crashed) {
    until = now + uint64_t{opt_.pickup_window_s} * 1000;
    FW_LOG(kInfo, "picking up permitted TCP flows mid-stream for " << opt_.pickup_window_s << " s");
  }
  dp_->pipeline().set_tcp_pickup_until(until);
  return true;
}

// Sessions, server-map entries and NAT bindings a planned stop saved. The file is consumed:
// a later start (after a crash, say) must not bring back sessions that are long gone.
void Daemon::restore_state() {
  const std::string path = state_path(opt_);
  if (path.empty()) return;
  std::string err;
  auto report = dp_->restore_state(path, &err);
  if (!report) {
    FW_LOG(kWarn, err);
  } else if (report->found) {
    FW_LOG(kInfo, report->summary() << " from " << path);
  }
  if (std::remove(path.c_str()) != 0 && errno != ENOENT) {
    FW_LOG(kWarn, "cannot remove the state file " << path << ": " << std::strerror(errno));
  }
}

void Daemon::save_state() {
  const std::string path = state_path(opt_);
  if (path.empty()) return;
  const size_t n = dp_->sessions().size();
  std::string err;
  if (dp_->save_state(path, &err)) {
    FW_LOG(kInfo, "saved " << n << " sessions to " << path);
  } else {
    FW_LOG(kWarn, err);
  }
}

bool Daemon::start_socket(std::string* err) {
  ipc::ServerOptions so;
  so.max_clients = opt_.max_clients;
  // Area route: ping and tracert take seconds; they run beside the other commands.
  so.runs_apart = [this](const ipc::Request& rq) {
    auto vs = cli::parse_views(rq.view);
    return vs && ctl_->runs_long(*vs, rq.line);
  };
  server_ = ipc::Server::start(
      opt_.socket_path, opt_.group,
      ipc::Server::StreamingHandler(
          [this](const ipc::Request& rq, const ipc::PeerCred&, const ipc::Server::Emit& emit) {
            ipc::Response resp;
            auto vs = cli::parse_views(rq.view);
            if (!vs) {
              resp.ok = false;
              resp.output = "Error: bad view from client.\n";
              vs = cli::user_view();
            } else if (!rq.line.empty()) {
              // "stream": a large display goes out in pieces as it is rendered (ipc version 4).
              ExecResult r = ctl_->execute(*vs, rq.line, true, emit);
              resp.ok = r.ok;
              resp.output = r.output;
              vs = r.views;
            }
            resp.view = cli::serialize_views(*vs);
            resp.prompt = ctl_->prompt(*vs);
            // The first exchange tells fwcli the keyword sets (the ALGs) to build its grammar from.
            if (rq.line.empty()) resp.keyword_sets = ctl_->keyword_sets();
            return resp;
          }),
      so, err);
  if (!server_) *err = "cannot serve the CLI socket " + opt_.socket_path + ": " + *err;
  return server_ != nullptr;
}

void Daemon::start_workers() {
  for (auto& q : queues_) {
    auto w = std::make_unique<Worker>();
    w->queue = q.get();
    w->heartbeat.beat(clock_.now_ms());
    if (watchdog_)
      watchdog_->watch("the worker of queue " + std::to_string(q->queue_num()), w->heartbeat);
    workers_.push_back(std::move(w));
  }
  for (auto& w : workers_) {
    w->thread = std::thread([this, wp = w.get()] {
      RuntimeHolder::Reader reader(dp_->runtimes());
      wp->queue->run(
          stop_, [&](QueuedPacket& p) { return dp_->pipeline().process(p, reader); },
          [this, wp] { worker_round(*wp); });
    });
  }
  maint_ = std::thread([this] {
    uint64_t next_status_ms = clock_.now_ms() + 5000;  // READY=1 carries the first
    while (!stop_.load()) {
      maintenance_round(&next_status_ms);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
}

// Every round of a worker's receive loop (at least every 200 ms when its queue is idle).
void Daemon::worker_round(Worker& w) {
  w.heartbeat.beat(clock_.now_ms());
  const uint32_t stall = w.stall_s.exchange(0);
  if (stall == 0) return;
  FW_LOG(kWarn, "testing (--debug-stall-worker): the worker of queue "
                    << w.queue->queue_num() << " stops for " << stall << " s");
  // Stuck as far as packets and the heartbeat go; only a stop ends it early.
  for (uint64_t i = 0; i < uint64_t{stall} * 10 && !stop_.load(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  FW_LOG(kInfo, "testing (--debug-stall-worker): the worker of queue " << w.queue->queue_num()
                                                                       << " goes on");
}

// Aging, memory of replaced snapshots, the watchdog and the service status: every 100 ms.
void Daemon::maintenance_round(uint64_t* next_status_ms) {
  dp_->pipeline().maintain();
  // A replaced snapshot is freed once no worker uses it; give the memory back too.
  if (trim_pending_.load() && dp_->runtimes().reclaim() == 0) {
    trim_pending_.store(false);
    malloc_trim(0);
  }
  // "stream" area (issue 16 item 6): once a large table has drained below a quarter of its
  // peak, the heap memory its index and the per-flow maps gave up goes back to the kernel too
  // (the session slab returns its empty pages by itself).
  const size_t n = dp_->sessions().size();
  peak_sessions_ = std::max(peak_sessions_, n);
  const uint64_t now = clock_.now_ms();
  if (peak_sessions_ >= 10'000 && n < peak_sessions_ / 4) {
    malloc_trim(0);
    peak_sessions_ = n;
    settle_trims_ = 4;
    next_settle_ms_ = now + 500;
  } else if (settle_trims_ > 0 && now >= next_settle_ms_) {
    malloc_trim(0);
    --settle_trims_;
    next_settle_ms_ = now + 500;
  }
  // "rss" area (issue 16 item 6): the trims above come at each quarter of the way down, the last
  // of them while a few thousand sessions are left; what those free as they age (index parts
  // shrinking, per-flow maps) stayed resident in the workers' arenas as free chunks (2 MB after
  // bench/flood's UDP flood of ~400,000 sessions). Once the table is nearly empty: one more round.
  if (n >= 10'000) drained_trim_due_ = true;
  if (drained_trim_due_ && n < 1'000) {
    drained_trim_due_ = false;
    malloc_trim(0);
    settle_trims_ = 4;
    next_settle_ms_ = now + 500;
  }
  if (rules_ && opt_.kernel_flood_drops && now >= next_flood_ms_) {
    next_flood_ms_ = now + 500;
    update_flood_drops(now);
  }
  if (watchdog_) watchdog_->tick();
  if (now >= *next_status_ms) {
    notifier_.status(status_text());
    *next_status_ms = now + 5000;
  }
}

// "kernel drops" (issue 16 item 1): the destinations the anti-ddos rates refused in the last 3
// s get their flood dropped in the kernel above twice the rate, so the flood stops costing a
// copy to user space per packet; fwd still sees twice its limit, keeps refusing the half above
// it and so knows the attack goes on. Quiet for 3 s: the drop goes. At most 64 destinations
// (the latest refused). Runs iptables-restore only when the set changes.
void Daemon::update_flood_drops(uint64_t now) {
  constexpr uint64_t kHotMs = 3000;
  constexpr size_t kMaxDrops = 64;
  std::vector<FloodDrop> want;
  for (const auto& h : dp_->floods().hot(kHotMs, kMaxDrops)) {
    const uint64_t pass = std::min<uint64_t>(uint64_t{h.max_rate} * 2, 1'000'000);
    want.push_back(FloodDrop{h.kind, h.dst, static_cast<uint32_t>(std::max<uint64_t>(pass, 2))});
  }
  std::sort(want.begin(), want.end(), [](const FloodDrop& a, const FloodDrop& b) {
    return std::tie(a.kind, a.dst, a.pass_rate) < std::tie(b.kind, b.dst, b.pass_rate);
  });
  if (want == flood_drops_) return;
  auto has = [](const std::vector<FloodDrop>& v, const FloodDrop& d) {
    return std::find(v.begin(), v.end(), d) != v.end();
  };
  std::string e;
  if (!rules_->set_flood_drops(want, &e)) {
    FW_LOG(kWarn, "anti-ddos: dropping floods in the kernel failed: " << e);
    next_flood_ms_ = now + 5000;  // not again at once
    return;
  }
  for (const auto& d : want)
    if (!has(flood_drops_, d))
      FW_LOG(kInfo, "anti-ddos: " << session::flood_kind_name(d.kind) << " to " << d.dst.str()
                                  << ": the kernel drops it above " << d.pass_rate << "/s");
  for (const auto& d : flood_drops_)
    if (!has(want, d))
      FW_LOG(kInfo, "anti-ddos: " << session::flood_kind_name(d.kind) << " to " << d.dst.str()
                                  << ": no longer dropped in the kernel");
  flood_drops_ = std::move(want);
}

// Pings only when systemd asks for them (WATCHDOG_USEC), from the maintenance thread, while every
// worker's heartbeat is younger than the interval.
void Daemon::start_watchdog() {
  const uint64_t ms = ServiceNotifier::watchdog_interval_ms();
  if (ms == 0) return;
  watchdog_ = std::make_unique<Watchdog>(clock_, ms, [this] { notifier_.watchdog(); });
  FW_LOG(kInfo, "watchdog: " << ms << " ms; pinging every " << ms / 2
                             << " ms while every queue worker makes progress");
}

void Daemon::set_config_source(std::string s) {
  std::lock_guard<std::mutex> lk(status_mu_);
  config_source_ = std::move(s);
}

std::string Daemon::status_text() {
  std::string source;
  {
    std::lock_guard<std::mutex> lk(status_mu_);
    source = config_source_.empty() ? "none (empty)" : config_source_;
  }
  std::ostringstream os;
  os << dp_->sessions().size() << " sessions, " << dp_->servermap().size()
     << " server-map entries; queues " << opt_.queue_num << ".." << opt_.queue_num + opt_.queues - 1
     << syn_queue_text() << "; configuration: " << source;
  return os.str();
}

int Daemon::wait_for_signal() {
  int sig = 0;
  for (;;) {
    sigwait(&sigs_, &sig);
    if (sig == SIGHUP) {
      reload();
    } else if (sig == SIGUSR1 && !workers_.empty()) {
      workers_.front()->stall_s.store(opt_.debug_stall_worker_s);
    } else {
      return sig;
    }
  }
}

// SIGHUP: the --config file becomes the running configuration (all or nothing) and is saved;
// sessions, server-map entries and NAT bindings stay.
void Daemon::reload() {
  notifier_.reloading("reloading the configuration from " + opt_.config_file);
  FW_LOG(kInfo, "SIGHUP: reloading the configuration from " << opt_.config_file);
  const std::string err = reload_configuration();
  if (!err.empty()) FW_LOG(kError, "reload refused, the running configuration stays: " << err);
  notifier_.ready(status_text());
}

std::string Daemon::reload_configuration() {
  if (opt_.config_file.empty()) return "fwd was started without --config: nothing to reload";
  std::string err, note;
  auto text = read_file(opt_.config_file, "--config", &err);
  if (!text) return err;
  if (!ctl_->replace_text(*text, opt_.config_file, &err, &note))
    return "configuration error at " + err;
  if (!note.empty()) FW_LOG(kWarn, "reload: " << note);
  set_config_source(opt_.config_file);
  if (store_ && !store_->save(config::render(ctl_->running()), &err)) {
    FW_LOG(kError, "reload: applied, but not saved to " << opt_.db_file << ": " << err);
    return "";
  }
  FW_LOG(kInfo, "reloaded the configuration from "
                    << opt_.config_file << (store_ ? " (saved to " + opt_.db_file + ")" : ""));
  return "";
}

void Daemon::remove_kernel_state(bool hold) {
  if (rules_) {
    std::string e;
    if (!(hold ? rules_->hold(&e) : rules_->remove_all(&e))) FW_LOG(kWarn, "rules: " << e);
  }
  if (addrs_) addrs_->remove_all();
  if (sysctls_) sysctls_->restore_all();
  if (static_routes_ && !hold) static_routes_->remove_all();  // a restart keeps them
}

void Daemon::stop(bool hold) {
  stop_.store(true);
  for (auto& w : workers_) w->thread.join();
  if (maint_.joinable()) maint_.join();
  server_.reset();
  save_state();
  remove_kernel_state(hold);
  queues_.clear();
  if (hold) FW_LOG(kInfo, "stopped for a restart: the rules stay (traffic held) for the next fwd");
}

std::string Daemon::on_apply(const config::Config& c) {
  trim_pending_.store(true);
  {
    std::lock_guard<std::mutex> lk(zone_ifs_mu_);
    zone_ifs_.clear();
    for (const auto& z : c.zones)
      for (const auto& i : z.interfaces) zone_ifs_[i] = z.name;
  }
  std::string out;
  auto note = [&](const std::string& e) {
    if (!e.empty() && out.empty()) out = e;
  };
  if (rules_) {
    std::string e;
    if (!rules_->sync(zone_interfaces(c), &e)) note("iptables: " + e);
  }
  if (sysctls_) note(sysctls_->sync(zone_interfaces(c)));
  note(ifaces_.sync(c));  // netlink requests: answered at once, no waiting
  if (addrs_) {
    std::set<common::IpAddr> want;
    for (const auto& g : c.address_groups) {
      for (const auto& a : g.addresses()) want.insert(a);
    }
    for (const auto& s : c.nat_servers) want.insert(s.global);
    note(addrs_->sync(want));
  }
  if (static_routes_) {
    // An inactive route is configuration, not a failure: a warning to the command that made
    // it, a log line at start (where a note would stop fwd).
    std::string w = static_routes_->sync(c.static_routes);
    if (server_) {
      note(w);
    } else if (!w.empty()) {
      FW_LOG(kWarn, w);
    }
  }
  return out;
}

// " (SYNs: queue N)" when TCP SYNs have a queue of their own, else "".
std::string Daemon::syn_queue_text() const {
  if (!opt_.syn_queue) return "";
  return " (SYNs: queue " + std::to_string(opt_.queue_num + opt_.queues) + ")";
}

std::string Daemon::extra_statistics() {
  std::ostringstream os;
  uint64_t enobufs = 0, qdrop = 0, udrop = 0, syn_drop = 0;
  for (const auto& q : queues_) {
    enobufs += q->stats().enobufs;
    auto k = kernel_queue_stats(q->queue_num());
    bool syn = opt_.syn_queue && q->queue_num() == opt_.queue_num + opt_.queues;
    (syn ? syn_drop : qdrop) += k.queue_dropped;
    udrop += k.user_dropped;
  }
  auto line = [&](const std::string& l, uint64_t v) {
    char b[128];
    std::snprintf(b, sizeof b, "  %-32s: %llu\n", l.c_str(), static_cast<unsigned long long>(v));
    os << b;
  };
  if (rules_) {
    std::string e;
    if (auto d = rules_->kernel_drops(&e)) {  // one iptables-save per family for both lines
      line("Dropped no-zone (kernel rules)", d->no_zone.total());
      uint64_t floods = 0;
      for (uint64_t n : d->floods) floods += n;
      line("Dropped floods (kernel rules)", floods);
    }
  }
  line("Queue dropped (kernel)", qdrop);
  if (opt_.syn_queue) line("SYN queue dropped (kernel)", syn_drop);
  line("Queue user-dropped (kernel)", udrop);
  line("Queue ENOBUFS", enobufs);
  return os.str();
}

// --check-config: the file (or the saved configuration) must load as it would at start, the
// interfaces it names must exist here (or be allowed absent). Needs no root.
int Daemon::check_config() {
  std::string err, text, source;
  if (!opt_.config_file.empty()) {
    auto t = read_file(opt_.config_file, "--config", &err);
    if (!t) return fail(err);
    text = *t;
    source = opt_.config_file;
  } else if (!opt_.db_file.empty()) {
    db::OpenOptions o;
    o.create_if_missing = false;
    auto store = db::ConfigStore::open(opt_.db_file, o, nullptr, &err);
    auto t = store ? store->load(&err) : std::nullopt;
    if (!t) return fail(err.empty() ? "no saved configuration in " + opt_.db_file : err);
    text = *t;
    source = opt_.db_file + " (saved configuration)";
  } else {
    return fail("--check-config needs --config or --db");
  }
  ControllerHooks h;
  h.interface_exists = [this](const std::string& n) { return interface_allowed(n); };
  Controller ctl(h);
  if (!ctl.load_text(text, source, &err)) return fail("configuration error at " + err);
  const config::Config c = ctl.running();
  std::cout << source << ": configuration OK (" << c.security.rules.size() << " security rules, "
            << c.nat_rules.size() << " NAT rules)\n";
  return 0;
}

int Daemon::run() {
  if (opt_.check_config) return check_config();
  if (geteuid() != 0)
    return fail("must run as root (it binds NFQUEUE and installs iptables rules)");
  if (!opt_.group.empty() && !getgrnam(opt_.group.c_str()))
    return fail("unknown group '" + opt_.group + "'");
  raise_fd_limit();
  // Block the signals in every thread (the link table's too); this thread waits for them.
  sigemptyset(&sigs_);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR2}) sigaddset(&sigs_, s);
  if (opt_.debug_stall_worker_s) sigaddset(&sigs_, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &sigs_, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::string err;
  if (!open_links(&err) || !open_store(&err)) return fail(err);
  ctl_ = std::make_unique<Controller>(hooks());
  if (auto bad = ctl_->check_handlers(); !bad.empty()) {
    std::string m = "internal error: command specs and handlers disagree:";
    for (const auto& b : bad) m += "\n  " + b;
    return fail(m);
  }
  if (!load_configuration(*ctl_, &err) || !open_queues(&err)) return fail(err);
  if (!install_rules(&err)) {
    remove_kernel_state(false);
    return fail(err);
  }
  restore_state();
  if (!start_socket(&err)) {
    remove_kernel_state(false);
    return fail(err);
  }
  start_watchdog();
  start_workers();
  FW_LOG(kInfo, "ready: queues " << opt_.queue_num << ".." << opt_.queue_num + opt_.queues - 1
                                 << syn_queue_text() << ", socket " << opt_.socket_path
                                 << (opt_.fail_open ? ", fail-open" : ", fail-closed")
                                 << (opt_.no_rules ? ", no rules installed" : ""));
  notifier_.ready(status_text());
  const int sig = wait_for_signal();
  FW_LOG(kInfo, "signal " << sig << (sig == SIGUSR2 ? ": stopping for a restart" : ": stopping"));
  notifier_.stopping(sig == SIGUSR2 ? "stopping for a restart (the rules stay)"
                                    : "stopping: removing the rules");
  stop(sig == SIGUSR2);
  return 0;
}

}  // namespace

int run_daemon(int argc, char** argv) {
  int code = 0;
  auto opt = parse_options(argc, argv, &code);
  if (!opt) return code;
  auto lvl = common::parse_log_level(opt->log_level);
  if (!lvl) return fail("unknown --log-level '" + opt->log_level + "' (debug, info, warn, error)");
  common::set_log_level(*lvl);
  if (!opt->replay_file.empty()) return run_replay(*opt);  // "replay" area: offline, no daemon
  // Memory comes back after a flood (issue 16 item 6). glibc raises its mmap and trim thresholds
  // each time a large block (a session index part, a display batch) is freed, up to 32 MiB and
  // 64 MiB, and malloc_trim() does not shrink a worker thread's heap top: a drained million-session
  // table left ~30 MB free but resident in the workers' arenas. Fixed thresholds keep large blocks
  // in their own mappings (given back on free) and let each heap shrink once 1 MiB is free at its
  // top.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
  Daemon d(std::move(*opt));
  return d.run();
}

}  // namespace fw::fwd
