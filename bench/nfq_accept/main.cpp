// nfq_accept: accepts every queued packet unmodified. The baseline for the
// NFQUEUE round trip that fwd adds on top of the kernel's forwarding path.
#include <signal.h>

#include <atomic>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fwd/iptables.h"
#include "fwd/nfqueue.h"

namespace po = boost::program_options;
using namespace fw::fwd;

namespace {

std::atomic<bool> g_signal{false};  // set by SIGINT/SIGTERM

void on_signal(int) { g_signal.store(true); }

uint32_t sum16(const uint8_t* p, size_t n, uint32_t s = 0) {
  for (; n > 1; p += 2, n -= 2) s += (uint32_t(p[0]) << 8) | p[1];
  if (n) s += uint32_t(p[0]) << 8;
  return s;
}

// --modify: the kernel takes a packet returned with a verdict as fully
// checksummed (CHECKSUM_NONE), so a partial TCP/UDP checksum must be completed
// first. Handles plain IPv4/IPv6 + TCP/UDP (no extension headers); enough for
// measuring the payload-verdict path.
void complete_checksum(uint8_t* d, uint32_t len) {
  if (len < 20) return;
  uint32_t l4off, l4len, s = 0;
  uint8_t proto;
  if ((d[0] >> 4) == 4) {
    l4off = (d[0] & 0xf) * 4u;
    proto = d[9];
    uint32_t tot = (uint32_t(d[2]) << 8) | d[3];
    if (tot > len || tot < l4off) return;
    l4len = tot - l4off;
    s = sum16(d + 12, 8);
  } else if ((d[0] >> 4) == 6 && len >= 40) {
    l4off = 40;
    proto = d[6];
    uint32_t pl = (uint32_t(d[4]) << 8) | d[5];
    if (40 + pl > len) return;
    l4len = pl;
    s = sum16(d + 8, 32);
  } else {
    return;
  }
  uint32_t coff;
  if (proto == 6 && l4len >= 20)
    coff = 16;
  else if (proto == 17 && l4len >= 8)
    coff = 6;
  else
    return;
  s += proto + l4len;
  uint8_t* l4 = d + l4off;
  l4[coff] = l4[coff + 1] = 0;
  s = sum16(l4, l4len, s);
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  uint16_t c = static_cast<uint16_t>(~s);
  if (c == 0 && proto == 17) c = 0xffff;
  l4[coff] = uint8_t(c >> 8);
  l4[coff + 1] = uint8_t(c);
}

std::set<std::string> split_list(const std::string& s) {
  std::set<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.insert(item);
  return out;
}

void print_stats(const std::vector<std::unique_ptr<NfQueue>>& queues, double secs) {
  uint64_t total = 0;
  for (const auto& q : queues) {
    QueueStats s = q->stats();
    KernelQueueStats k = kernel_queue_stats(q->queue_num());
    total += s.received;
    std::printf(
        "queue %u: received %llu accepted %llu dropped %llu enobufs %llu verdict_errors %llu"
        " recv_errors %llu | kernel queue_total %llu queue_dropped %llu user_dropped %llu\n",
        q->queue_num(), (unsigned long long)s.received, (unsigned long long)s.accepted,
        (unsigned long long)s.dropped, (unsigned long long)s.enobufs,
        (unsigned long long)s.verdict_errors, (unsigned long long)s.recv_errors,
        (unsigned long long)k.queue_total, (unsigned long long)k.queue_dropped,
        (unsigned long long)k.user_dropped);
  }
  std::printf("total received %llu in %.1f s (%.0f pkt/s)\n", (unsigned long long)total, secs,
              secs > 0 ? total / secs : 0.0);
  std::fflush(stdout);
}

struct Options {
  uint16_t queue_num = 0, queues = 1;
  bool fail_open = false, rules_only = false, modify = false;
  std::string install, unmanaged;
  unsigned stats_every = 0;
  uint32_t batch = QueueOptions{}.batch;
  uint32_t rcvbuf = QueueOptions{}.rcvbuf_bytes;
};

// The command line into *o, or the exit code (help, an error).
std::optional<int> parse_options(int argc, char** argv, Options* o) {
  const QueueOptions defaults;
  po::options_description desc("nfq_accept options");
  desc.add_options()("help,h", "this help")("queue-num", po::value(&o->queue_num)->default_value(0),
                                            "first queue number")(
      "queues", po::value(&o->queues)->default_value(1), "number of queues (one thread each)")(
      "fail-open", po::bool_switch(&o->fail_open), "NFQA_CFG_F_FAIL_OPEN and --queue-bypass")(
      "install-rules", po::value(&o->install),
      "comma-separated interfaces: install fwd's rules on them (chains NFQA-*; traffic on any "
      "other interface but lo is dropped)")(
      "unmanaged", po::value(&o->unmanaged),
      "comma-separated interfaces the rules leave alone (e.g. the one you are logged in on)")(
      "rules-only", po::bool_switch(&o->rules_only),
      "install the rules but bind no queue (shows fail-closed vs --fail-open without a consumer)")(
      "modify", po::bool_switch(&o->modify),
      "send every packet back with its payload (the verdict path of rewritten packets)")(
      "batch", po::value(&o->batch)->default_value(defaults.batch), "messages per receive round")(
      "rcvbuf", po::value(&o->rcvbuf)->default_value(defaults.rcvbuf_bytes),
      "socket receive buffer bytes (small values provoke ENOBUFS)")(
      "stats-every", po::value(&o->stats_every)->default_value(0), "print stats every S seconds");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "nfq_accept: " << e.what() << "\n" << desc;
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc;
    return 0;
  }
  if (o->queues == 0 || o->queue_num + o->queues - 1 > 0xffff) {
    std::cerr << "nfq_accept: bad --queues\n";
    return 2;
  }
  return std::nullopt;
}

// The queues bound (none with --rules-only); false (reported) when one cannot be.
bool open_queues(const Options& o, std::vector<std::unique_ptr<NfQueue>>* qs) {
  for (uint16_t i = 0; i < o.queues && !o.rules_only; ++i) {
    QueueOptions qo;
    qo.queue_num = static_cast<uint16_t>(o.queue_num + i);
    qo.fail_open = o.fail_open;
    qo.batch = o.batch;
    qo.rcvbuf_bytes = o.rcvbuf;
    std::string err;
    auto q = NfQueue::open(qo, &err);
    if (!q) {
      std::cerr << "nfq_accept: " << err << "\n";
      return false;
    }
    qs->push_back(std::move(q));
  }
  return true;
}

// fwd's rules on --install-rules' interfaces (none without it); false (reported) on failure.
bool install_rules(const Options& o, std::unique_ptr<RuleInstaller>* rules) {
  if (o.install.empty()) return true;
  RuleOptions ro;
  ro.queue_num = o.queue_num;
  ro.queues = o.queues;
  ro.fail_open = o.fail_open;
  ro.tag = "nfq_accept-q" + std::to_string(o.queue_num);  // rules of the old layout
  ro.chain_prefix = "NFQA";                               // apart from fwd's own chains
  ro.unmanaged = split_list(o.unmanaged);
  *rules = std::make_unique<RuleInstaller>(ro);
  std::string err;
  if (!(*rules)->sync(split_list(o.install), &err)) {
    std::cerr << "nfq_accept: " << err << "\n";
    return false;  // the destructor removes what was added
  }
  if ((*rules)->leftovers().found())
    std::fprintf(stderr, "nfq_accept: replaced the rules a previous run left\n");
  return true;
}

// One reader thread per queue, accepting everything (with its payload under --modify).
std::vector<std::thread> start_readers(const std::vector<std::unique_ptr<NfQueue>>& qs, bool modify,
                                       std::atomic<bool>& stop) {
  std::vector<std::thread> threads;
  for (const auto& q : qs) {
    NfQueue* qp = q.get();
    threads.emplace_back([qp, modify, &stop] {
      qp->run(stop, [modify](QueuedPacket& p) {
        if (!modify || p.truncated) return Decision{Verdict::kAccept, false, 0};
        if (p.csum_not_ready) complete_checksum(p.data, p.len);
        return Decision{Verdict::kAccept, true, p.len};
      });
    });
  }
  return threads;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (auto code = parse_options(argc, argv, &o)) return *code;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  std::vector<std::unique_ptr<NfQueue>> qs;
  if (!open_queues(o, &qs)) return 1;
  // Rules after the queues are bound: with fail-closed rules and no reader
  // every packet would be dropped.
  std::unique_ptr<RuleInstaller> rules;
  if (!install_rules(o, &rules)) return 1;
  std::fprintf(stderr, "nfq_accept: queues %u..%u %s%s\n", o.queue_num, o.queue_num + o.queues - 1,
               o.rules_only ? "not bound" : "bound", rules ? ", rules installed" : "");

  auto t0 = std::chrono::steady_clock::now();
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads = start_readers(qs, o.modify, stop);
  auto next = t0 + std::chrono::seconds(o.stats_every);
  while (!g_signal.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto now = std::chrono::steady_clock::now();
    if (o.stats_every && now >= next) {
      print_stats(qs, std::chrono::duration<double>(now - t0).count());
      next += std::chrono::seconds(o.stats_every);
    }
  }
  // Rules first, while the readers still run: packets already queued get
  // their verdicts and none is left to be dropped when the queue unbinds.
  rules.reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  stop.store(true);
  for (auto& t : threads) t.join();
  print_stats(qs, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  qs.clear();
  return 0;
}
