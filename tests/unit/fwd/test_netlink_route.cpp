#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>

#include "fwd/exec.h"
#include "fwd/iface_apply.h"
#include "fwd/netlink_route.h"

namespace fw::fwd {
namespace {

TEST(RouteResolver, LoopbackIsLocalViaLo) {
  std::string err;
  auto r = RouteResolver::open(&err);
  ASSERT_TRUE(r) << err;
  auto res = r->lookup(*common::IpAddr::parse("127.0.0.1"));
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->type, RouteResult::Type::kLocal);
  EXPECT_EQ(ifname_of(res->oif), "lo");
  EXPECT_TRUE(res->gateway.empty());
}

TEST(RouteResolver, RepeatedLookupsKeepSequence) {
  std::string err;
  auto r = RouteResolver::open(&err);
  ASSERT_TRUE(r) << err;
  for (int i = 0; i < 100; ++i) {
    auto res = r->lookup(*common::IpAddr::parse("127.0.0.2"));
    ASSERT_TRUE(res.has_value());
    EXPECT_EQ(res->type, RouteResult::Type::kLocal);
  }
}

TEST(Links, DumpHasLoopbackWithAddress) {
  std::string err;
  auto links = dump_links(&err);
  ASSERT_FALSE(links.empty()) << err;
  bool found = false;
  for (const auto& l : links) {
    if (l.name != "lo") continue;
    found = true;
    EXPECT_EQ(l.ifindex, ifindex_of("lo"));
    ASSERT_EQ(l.addrs.size(), l.prefix_lens.size());
    bool has127 = false;
    for (size_t i = 0; i < l.addrs.size(); ++i)
      if (l.addrs[i] == *common::IpAddr::parse("127.0.0.1")) has127 = l.prefix_lens[i] == 8;
    EXPECT_TRUE(has127);
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(ifindex_of("no-such-if0"), 0u);
  EXPECT_EQ(ifname_of(0), "");
}

// ---- parse_link_message ----

struct LinkMsgCase {
  const char* what;
  uint16_t type;
  uint8_t family;
  int index;
  const char* name;  // nullptr: no IFLA_IFNAME
  size_t cut;        // bytes cut off the end of the buffer handed over
  bool ok;
  bool removed;
};

TEST(ParseLinkMessage, Table) {
  const LinkMsgCase cases[] = {
      {"new link", RTM_NEWLINK, AF_UNSPEC, 7, "eth7", 0, true, false},
      {"removed link", RTM_DELLINK, AF_UNSPEC, 7, "eth7", 0, true, true},
      {"removal without name", RTM_DELLINK, AF_UNSPEC, 7, nullptr, 0, true, true},
      {"new link without name", RTM_NEWLINK, AF_UNSPEC, 7, nullptr, 0, false, false},
      {"bridge port leaves", RTM_DELLINK, AF_BRIDGE, 7, "eth7", 0, false, false},
      {"bridge port event", RTM_NEWLINK, AF_BRIDGE, 7, "eth7", 0, false, false},
      {"address message", RTM_NEWADDR, AF_UNSPEC, 7, "eth7", 0, false, false},
      {"index 0", RTM_NEWLINK, AF_UNSPEC, 0, "eth7", 0, false, false},
      {"truncated", RTM_NEWLINK, AF_UNSPEC, 7, "eth7", 4, false, false},
  };
  for (const auto& c : cases) {
    alignas(nlmsghdr) char buf[512] = {};
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = c.type;
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifi->ifi_family = c.family;
    ifi->ifi_index = c.index;
    ifi->ifi_flags = IFF_UP | IFF_LOOPBACK;
    if (c.name) mnl_attr_put_strz(nlh, IFLA_IFNAME, c.name);
    auto m = parse_link_message(buf, nlh->nlmsg_len - c.cut);
    ASSERT_EQ(m.has_value(), c.ok) << c.what;
    if (!m) continue;
    EXPECT_EQ(m->removed, c.removed) << c.what;
    EXPECT_EQ(m->ifindex, 7u) << c.what;
    EXPECT_EQ(m->name, c.name ? c.name : "") << c.what;
    EXPECT_EQ(m->flags, unsigned{IFF_UP | IFF_LOOPBACK}) << c.what;
  }
}

TEST(ParseLinkMessage, UnterminatedNameAndTinyBuffers) {
  alignas(nlmsghdr) char buf[512] = {};
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_NEWLINK;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_index = 3;
  mnl_attr_put(nlh, IFLA_IFNAME, 4, "eth0");  // no NUL
  EXPECT_FALSE(parse_link_message(buf, nlh->nlmsg_len).has_value());
  EXPECT_FALSE(parse_link_message(buf, 3).has_value());
  EXPECT_FALSE(parse_link_message(buf, 0).has_value());
}

// ---- In a network namespace of its own ----

// Runs `scenario` in a forked child inside a new network namespace (the test
// binary's namespace is untouched; links die with the namespace). Returns the
// scenario's failures ("" = passed), or "SKIP: ..." without a namespace.
std::string in_private_netns(const std::function<std::string()>& scenario) {
  int p[2];
  if (pipe(p) != 0) return "pipe failed";
  pid_t pid = fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    close(p[0]);
    alarm(60);
    std::string out = unshare(CLONE_NEWNET) == 0
                          ? scenario()
                          : "SKIP: unshare(CLONE_NEWNET): " + std::string(strerror(errno));
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = write(p[1], out.data() + done, out.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    _exit(0);
  }
  close(p[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  close(p[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    out += "\nscenario process died (status " + std::to_string(status) + ")";
  return out;
}

#define FW_NETNS_TEST(result)                           \
  do {                                                  \
    std::string r_ = (result);                          \
    if (r_.rfind("SKIP: ", 0) == 0) GTEST_SKIP() << r_; \
    EXPECT_EQ(r_, "");                                  \
  } while (0)

struct Checks {
  std::string failures;
  bool expect(bool ok, const std::string& what) {
    if (!ok) failures += what + "\n";
    return ok;
  }
};

bool run(const std::vector<std::string>& argv, Checks* c) {
  std::string err;
  return c->expect(run_program(argv, &err), err);
}

// Events as the callback saw them, with the name the table gave inside the
// callback (a lookup from the callback must not deadlock).
class EventLog {
 public:
  void push(const LinkEvent& e, std::string looked_up) {
    std::lock_guard<std::mutex> l(mu_);
    events_.push_back({e, std::move(looked_up)});
    cv_.notify_all();
  }
  // Waits for an event of this kind about this name; false after 5 s.
  bool wait(LinkEvent::Kind kind, const std::string& name, LinkEvent* out = nullptr,
            std::string* looked_up = nullptr) {
    std::unique_lock<std::mutex> l(mu_);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (;;) {
      for (auto it = events_.begin(); it != events_.end(); ++it) {
        if (it->first.kind != kind || it->first.name != name) continue;
        if (out) *out = it->first;
        if (looked_up) *looked_up = it->second;
        events_.erase(it);
        return true;
      }
      if (cv_.wait_until(l, deadline) == std::cv_status::timeout) return false;
    }
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<LinkEvent, std::string>> events_;
};

bool is_root() { return geteuid() == 0; }

TEST(LinkTableNetns, FollowsAddRenameDelete) {
  if (!is_root()) GTEST_SKIP() << "needs root";
  FW_NETNS_TEST(in_private_netns([] {
    Checks c;
    EventLog log;
    std::string err;
    LinkTable* self = nullptr;
    auto table = LinkTable::open(
        [&](const LinkEvent& e) { log.push(e, self ? self->name_of(e.ifindex) : "?"); }, &err);
    if (!c.expect(table != nullptr, "open: " + err)) return c.failures;
    self = table.get();
    c.expect(table->index_of("lo") != 0 && table->is_loopback(table->index_of("lo")),
             "lo missing or not loopback");
    c.expect(table->links().size() == 1, "a new namespace has only lo");
    c.expect(!table->exists("fwt0"), "fwt0 before it was made");

    run({"ip", "link", "add", "fwt0", "type", "veth", "peer", "name", "fwt1"}, &c);
    LinkEvent e;
    std::string seen;
    c.expect(log.wait(LinkEvent::Kind::kAdded, "fwt0", &e, &seen), "no event: fwt0 added");
    c.expect(seen == "fwt0", "name inside the callback: '" + seen + "'");
    c.expect(log.wait(LinkEvent::Kind::kAdded, "fwt1"), "no event: fwt1 added");
    c.expect(table->exists("fwt0") && table->name_of(table->index_of("fwt0")) == "fwt0",
             "fwt0 not in the table");
    c.expect(!table->is_loopback(table->index_of("fwt0")), "fwt0 taken for loopback");
    const uint32_t idx = table->index_of("fwt0");

    run({"ip", "link", "set", "dev", "fwt0", "name", "fwt2"}, &c);
    c.expect(log.wait(LinkEvent::Kind::kRenamed, "fwt2", &e), "no event: renamed");
    c.expect(e.old_name == "fwt0" && e.ifindex == idx, "rename event: " + e.old_name);
    c.expect(!table->exists("fwt0") && table->index_of("fwt2") == idx, "rename not in table");
    c.expect(table->name_of(idx) == "fwt2", "name_of after rename");

    run({"ip", "link", "del", "fwt2"}, &c);  // takes its peer along
    c.expect(log.wait(LinkEvent::Kind::kRemoved, "fwt2", &e) && e.ifindex == idx,
             "no event: fwt2 removed");
    c.expect(log.wait(LinkEvent::Kind::kRemoved, "fwt1"), "no event: fwt1 removed");
    c.expect(!table->exists("fwt2") && !table->exists("fwt1") && table->name_of(idx).empty(),
             "removed links still in the table");
    c.expect(table->links().size() == 1, "table not back to lo only");
    c.expect(table->resyncs() == 0, "unexpected resync");
    return c.failures;
  }));
}

// The packet path must keep working at the descriptor limit: route lookups of
// local addresses (which map "dev lo" to the owning interface) and names.
TEST(LinkTableNetns, LookupsWorkAtTheDescriptorLimit) {
  if (!is_root()) GTEST_SKIP() << "needs root";
  FW_NETNS_TEST(in_private_netns([] {
    Checks c;
    run({"ip", "link", "add", "fwt0", "type", "veth", "peer", "name", "fwt1"}, &c);
    run({"ip", "addr", "add", "198.18.1.1/24", "dev", "fwt0"}, &c);
    run({"ip", "link", "set", "fwt0", "up"}, &c);
    run({"ip", "link", "set", "fwt1", "up"}, &c);
    std::string err;
    auto resolver = RouteResolver::open(&err);
    auto table = LinkTable::open({}, &err);
    if (!c.expect(resolver && table, "open: " + err)) return c.failures;
    const uint32_t fwt0 = table->index_of("fwt0");
    c.expect(fwt0 != 0, "fwt0 unknown");

    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    rlimit low = rl;
    low.rlim_cur = 64;
    c.expect(setrlimit(RLIMIT_NOFILE, &low) == 0, "setrlimit");
    std::vector<int> fillers;
    for (int fd; (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) fillers.push_back(fd);
    c.expect(errno == EMFILE, "descriptors not exhausted");
    c.expect(ifname_of(fwt0).empty(), "if_indextoname worked without a free descriptor");

    auto local = resolver->lookup(*common::IpAddr::parse("198.18.1.1"));
    c.expect(local && local->type == RouteResult::Type::kLocal && local->oif == fwt0,
             "local address not mapped to fwt0 at the limit");
    auto peer = resolver->lookup(*common::IpAddr::parse("198.18.1.2"));
    c.expect(peer && peer->type == RouteResult::Type::kUnicast && peer->oif == fwt0,
             "route to the peer at the limit");
    c.expect(table->name_of(fwt0) == "fwt0" && table->exists("fwt1"), "names at the limit");

    for (int fd : fillers) close(fd);
    setrlimit(RLIMIT_NOFILE, &rl);
    return c.failures;
  }));
}

// ---- "iface" area: interface settings applied through rtnetlink ----

const LinkDetail* find_link(const std::vector<LinkDetail>& links, const std::string& name) {
  for (const auto& l : links)
    if (l.name == name) return &l;
  return nullptr;
}

bool has_addr(const LinkDetail& l, const char* a, uint8_t len) {
  for (size_t i = 0; i < l.addrs.size(); ++i)
    if (l.addrs[i].str() == a && l.prefix_lens[i] == len) return true;
  return false;
}

TEST(Links, DetailsOfLoopback) {
  std::string err;
  auto links = dump_link_details(&err);
  ASSERT_EQ(err, "");
  const LinkDetail* lo = find_link(links, "lo");
  ASSERT_NE(lo, nullptr);
  EXPECT_TRUE(lo->flags & IFF_LOOPBACK);
  EXPECT_GT(lo->mtu, 0u);
  EXPECT_TRUE(has_addr(*lo, "127.0.0.1", 8));
}

TEST(InterfaceApplierNetns, AppliesUndoesAndLeavesForeignAddresses) {
  if (!is_root()) GTEST_SKIP() << "needs root";
  FW_NETNS_TEST(in_private_netns([] {
    Checks c;
    run({"ip", "link", "add", "fwt0", "type", "veth", "peer", "name", "fwt1"}, &c);
    run({"ip", "link", "set", "fwt0", "up"}, &c);
    run({"ip", "addr", "add", "203.0.113.100/32", "dev", "fwt0"}, &c);  // like a NAT /32
    config::Config cfg;
    config::InterfaceSettings s;
    s.name = "fwt0";
    s.description = "lab side";
    s.shutdown = true;
    s.addresses = {{*common::IpAddr::parse("198.18.1.1"), 24, false},
                   {*common::IpAddr::parse("198.18.9.1"), 30, true}};
    cfg.interfaces = {s};
    InterfaceApplier ap;
    c.expect(ap.sync(cfg).empty(), "first sync");
    c.expect(ap.sync(cfg).empty(), "second sync (idempotent)");
    std::string err;
    auto links = dump_link_details(&err);
    const LinkDetail* l = find_link(links, "fwt0");
    if (!c.expect(l != nullptr, "fwt0 missing: " + err)) return c.failures;
    c.expect(has_addr(*l, "198.18.1.1", 24) && has_addr(*l, "198.18.9.1", 30), "addresses");
    c.expect(!(l->flags & IFF_UP), "not shut down");
    c.expect(l->alias == "lab side", "alias '" + l->alias + "'");

    cfg.interfaces[0].addresses.pop_back();  // undo the sub address, undo shutdown/description
    cfg.interfaces[0].shutdown = false;
    cfg.interfaces[0].description.clear();
    c.expect(ap.sync(cfg).empty(), "sync after undo");
    links = dump_link_details(&err);
    l = find_link(links, "fwt0");
    if (!c.expect(l != nullptr, "fwt0 missing")) return c.failures;
    c.expect(has_addr(*l, "198.18.1.1", 24) && !has_addr(*l, "198.18.9.1", 30), "sub removed");
    c.expect(has_addr(*l, "203.0.113.100", 32), "an address fwd did not set was removed");
    c.expect((l->flags & IFF_UP) != 0, "not up again");
    c.expect(l->alias.empty(), "alias not removed: '" + l->alias + "'");

    cfg.interfaces.clear();  // the whole section removed
    c.expect(ap.sync(cfg).empty(), "sync without the section");
    links = dump_link_details(&err);
    l = find_link(links, "fwt0");
    if (!c.expect(l != nullptr, "fwt0 missing")) return c.failures;
    c.expect(!has_addr(*l, "198.18.1.1", 24), "primary not removed");
    c.expect(has_addr(*l, "203.0.113.100", 32), "foreign address removed at the end");

    config::InterfaceSettings gone;
    gone.name = "fwt9";
    gone.shutdown = true;
    cfg.interfaces = {gone};
    c.expect(!ap.sync(cfg).empty(), "a missing interface is reported");
    run({"ip", "link", "del", "fwt0"}, &c);
    return c.failures;
  }));
}

}  // namespace
}  // namespace fw::fwd
