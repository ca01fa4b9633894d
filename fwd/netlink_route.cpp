#include "fwd/netlink_route.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/log.h"

namespace fw::fwd {
namespace {

constexpr int kReplyTimeoutMs = 1000;
constexpr size_t kEventBufferBytes = 64 * 1024;
constexpr int kEventSocketBytes = 1 << 20;
constexpr int kMaxDrainReads = 4096;  // bounds the drain before a resync

std::string errno_text(int e) { return std::strerror(e); }

// mnl_attr_for_each() does not compile as C++ (void* to nlattr*).
template <typename Fn>
void for_each_attr(const nlmsghdr* m, size_t hdr_size, Fn&& fn) {
  const char* p = static_cast<const char*>(mnl_nlmsg_get_payload_offset(m, hdr_size));
  const char* end = static_cast<const char*>(mnl_nlmsg_get_payload_tail(m));
  for (auto* a = reinterpret_cast<const nlattr*>(p);
       mnl_attr_ok(a, static_cast<int>(end - reinterpret_cast<const char*>(a)));
       a = mnl_attr_next(a))
    fn(a);
}

common::IpAddr addr_from_attr(const nlattr* a, uint8_t family) {
  size_t len = mnl_attr_get_payload_len(a);
  const auto* p = static_cast<const uint8_t*>(mnl_attr_get_payload(a));
  if (family == AF_INET && len >= 4) return common::IpAddr::v4_bytes(p);
  if (family == AF_INET6 && len >= 16) return common::IpAddr::v6_bytes(p);
  return {};
}

// A libmnl socket on NETLINK_ROUTE with a blocking request/reply helper.
struct RtSocket {
  mnl_socket* nl = nullptr;
  uint32_t portid = 0;
  uint32_t seq = 0;
  std::vector<uint8_t> buf = std::vector<uint8_t>(MNL_SOCKET_BUFFER_SIZE * 4);

  ~RtSocket() {
    if (nl) mnl_socket_close(nl);
  }

  bool open(std::string* err) {
    nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (!nl) {
      if (err) *err = "cannot open rtnetlink socket: " + errno_text(errno);
      return false;
    }
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
      if (err) *err = "cannot bind rtnetlink socket: " + errno_text(errno);
      return false;
    }
    portid = mnl_socket_get_portid(nl);
    // Extended ACKs are not needed; strict checking is not either (the
    // requests are well-formed and old kernels lack it).
    return true;
  }

  // Sends nlh (seq assigned here) and feeds replies carrying that seq to cb
  // until the reply is complete. Returns 0, or a positive errno (the kernel's
  // error reply, or a local failure / ETIMEDOUT).
  template <typename Cb>
  int transact(nlmsghdr* nlh, bool dump, Cb&& cb) {
    uint32_t my_seq = ++seq;
    if (my_seq == 0) my_seq = ++seq;
    nlh->nlmsg_seq = my_seq;
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) return errno;
    int fd = mnl_socket_get_fd(nl);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kReplyTimeoutMs);
    for (;;) {
      // The kernel answers a plain request while sendto runs, so the reply is
      // usually there already: try first, wait only when it is not.
      ssize_t n = recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return errno;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return ETIMEDOUT;
        pollfd pfd{fd, POLLIN, 0};
        int pr = poll(&pfd, 1, static_cast<int>(left.count()));
        if (pr < 0 && errno != EINTR) return errno;
        if (pr == 0) return ETIMEDOUT;
        continue;
      }
      int remaining = static_cast<int>(n);
      for (auto* m = reinterpret_cast<nlmsghdr*>(buf.data()); mnl_nlmsg_ok(m, remaining);
           m = mnl_nlmsg_next(m, &remaining)) {
        // Replies to an earlier request that timed out are skipped here.
        if (m->nlmsg_seq != my_seq || (m->nlmsg_pid != 0 && m->nlmsg_pid != portid)) continue;
        if (m->nlmsg_type == NLMSG_ERROR) {
          if (m->nlmsg_len < mnl_nlmsg_size(sizeof(nlmsgerr))) return EPROTO;
          const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(m));
          return -e->error;  // 0 = plain ACK
        }
        if (m->nlmsg_type == NLMSG_DONE) return 0;
        if (m->nlmsg_type == NLMSG_NOOP) continue;
        cb(m);
        if (!dump) return 0;
      }
    }
  }
};

struct RouteReply {
  bool got = false;
  RouteResult r;
};

void parse_route(const nlmsghdr* m, RouteReply* out) {
  if (m->nlmsg_type != RTM_NEWROUTE || m->nlmsg_len < mnl_nlmsg_size(sizeof(rtmsg))) return;
  const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(m));
  RouteResult& r = out->r;
  out->got = true;
  switch (rtm->rtm_type) {
    case RTN_UNICAST:
      r.type = RouteResult::Type::kUnicast;
      break;
    case RTN_LOCAL:
      r.type = RouteResult::Type::kLocal;
      break;
    case RTN_BROADCAST:
      r.type = RouteResult::Type::kBroadcast;
      break;
    case RTN_UNREACHABLE:
    case RTN_PROHIBIT:
    case RTN_BLACKHOLE:
      r.type = RouteResult::Type::kUnreachable;
      break;
    default:
      r.type = RouteResult::Type::kOther;
      break;
  }
  for_each_attr(m, sizeof(rtmsg), [&](const nlattr* a) {
    switch (mnl_attr_get_type(a)) {
      case RTA_OIF:
        if (mnl_attr_get_payload_len(a) >= 4) r.oif = mnl_attr_get_u32(a);
        break;
      case RTA_GATEWAY:
        r.gateway = addr_from_attr(a, rtm->rtm_family);
        break;
      case RTA_PREFSRC:
        r.prefsrc = addr_from_attr(a, rtm->rtm_family);
        break;
      case RTA_VIA: {
        // IPv4 route with an IPv6 next hop (RFC 5549).
        if (mnl_attr_get_payload_len(a) >= sizeof(rtvia)) {
          const auto* v = static_cast<const rtvia*>(mnl_attr_get_payload(a));
          size_t alen = mnl_attr_get_payload_len(a) - sizeof(rtvia);
          if (v->rtvia_family == AF_INET6 && alen >= 16)
            r.gateway = common::IpAddr::v6_bytes(v->rtvia_addr);
          else if (v->rtvia_family == AF_INET && alen >= 4)
            r.gateway = common::IpAddr::v4_bytes(v->rtvia_addr);
        }
        break;
      }
      default:
        break;
    }
  });
}

// A netlink request in its own buffer: the header, then the zeroed family header T.
template <class T, size_t N = 512>
struct Request {
  alignas(nlmsghdr) char buf[N];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  T* hdr = static_cast<T*>(mnl_nlmsg_put_extra_header(nlh, sizeof(T)));
  Request(uint16_t type, uint16_t flags) {
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = flags;
  }
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;
};

struct AddrEntry {
  uint32_t ifindex;
  common::IpAddr addr;
  uint8_t prefix_len;
};

// RTM_GETADDR dump over an open socket.
int dump_addrs(RtSocket& s, std::vector<AddrEntry>* out) {
  Request<ifaddrmsg, 256> req(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP);
  nlmsghdr* nlh = req.nlh;
  auto* ifa = req.hdr;
  ifa->ifa_family = AF_UNSPEC;
  return s.transact(nlh, true, [&](const nlmsghdr* m) {
    if (m->nlmsg_type != RTM_NEWADDR || m->nlmsg_len < mnl_nlmsg_size(sizeof(ifaddrmsg))) return;
    const auto* a = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(m));
    if (a->ifa_family != AF_INET && a->ifa_family != AF_INET6) return;
    common::IpAddr local, address;
    for_each_attr(m, sizeof(ifaddrmsg), [&](const nlattr* at) {
      if (mnl_attr_get_type(at) == IFA_LOCAL) local = addr_from_attr(at, a->ifa_family);
      if (mnl_attr_get_type(at) == IFA_ADDRESS) address = addr_from_attr(at, a->ifa_family);
    });
    // On point-to-point links IFA_ADDRESS is the peer; IFA_LOCAL is ours.
    common::IpAddr mine = local.empty() ? address : local;
    if (!mine.empty()) out->push_back({a->ifa_index, mine, a->ifa_prefixlen});
  });
}

// RTM_GETLINK dump over an open socket.
int dump_link_messages(RtSocket& s, std::vector<LinkMessage>* out) {
  Request<ifinfomsg, 256> req(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP);
  nlmsghdr* nlh = req.nlh;
  auto* ifi = req.hdr;
  ifi->ifi_family = AF_UNSPEC;
  return s.transact(nlh, true, [&](const nlmsghdr* m) {
    if (auto lm = parse_link_message(m, m->nlmsg_len); lm && !lm->removed)
      out->push_back(std::move(*lm));
  });
}

// The kernel gives the loopback device ifindex 1 in every namespace; asked
// once anyway, by its flag.
constexpr uint32_t kLoopbackIfindex = 1;

uint32_t find_loopback(RtSocket& s) {
  std::vector<LinkMessage> links;
  if (dump_link_messages(s, &links) == 0)
    for (const auto& l : links)
      if (l.flags & IFF_LOOPBACK) return l.ifindex;
  return kLoopbackIfindex;
}

}  // namespace

std::optional<LinkMessage> parse_link_message(const void* msg, size_t len) {
  if (len < sizeof(nlmsghdr)) return std::nullopt;
  const auto* m = static_cast<const nlmsghdr*>(msg);
  if (m->nlmsg_len > len || m->nlmsg_len < mnl_nlmsg_size(sizeof(ifinfomsg))) return std::nullopt;
  if (m->nlmsg_type != RTM_NEWLINK && m->nlmsg_type != RTM_DELLINK) return std::nullopt;
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(m));
  // AF_BRIDGE messages are about bridge ports: a DELLINK there is a port
  // leaving its bridge, not a link going away.
  if (ifi->ifi_family != AF_UNSPEC || ifi->ifi_index <= 0) return std::nullopt;
  LinkMessage lm;
  lm.removed = m->nlmsg_type == RTM_DELLINK;
  lm.ifindex = static_cast<uint32_t>(ifi->ifi_index);
  lm.flags = ifi->ifi_flags;
  for_each_attr(m, sizeof(ifinfomsg), [&](const nlattr* at) {
    if (mnl_attr_get_type(at) == IFLA_IFNAME && mnl_attr_validate(at, MNL_TYPE_NUL_STRING) >= 0 &&
        mnl_attr_get_payload_len(at) <= IF_NAMESIZE)
      lm.name = mnl_attr_get_str(at);
  });
  if (!lm.removed && lm.name.empty()) return std::nullopt;
  return lm;
}

struct RouteResolver::Impl {
  std::mutex mu;
  RtSocket sock;
  uint32_t loopback = kLoopbackIfindex;
};

RouteResolver::RouteResolver() : impl_(std::make_unique<Impl>()) {}
RouteResolver::~RouteResolver() = default;

std::unique_ptr<RouteResolver> RouteResolver::open(std::string* err) {
  std::unique_ptr<RouteResolver> r(new RouteResolver());
  if (!r->impl_->sock.open(err)) return nullptr;
  r->impl_->loopback = find_loopback(r->impl_->sock);
  return r;
}

std::optional<RouteResult> RouteResolver::lookup(const common::IpAddr& dst,
                                                 const common::IpAddr& src, uint32_t iif) {
  if (dst.empty() || (!src.empty() && src.family != dst.family)) return std::nullopt;
  Request<rtmsg> req(RTM_GETROUTE, NLM_F_REQUEST);
  nlmsghdr* nlh = req.nlh;
  auto* rtm = req.hdr;
  rtm->rtm_family = dst.is_v4() ? AF_INET : AF_INET6;
  rtm->rtm_dst_len = dst.is_v4() ? 32 : 128;
  mnl_attr_put(nlh, RTA_DST, dst.size(), dst.b.data());
  if (!src.empty()) {
    rtm->rtm_src_len = src.is_v4() ? 32 : 128;
    mnl_attr_put(nlh, RTA_SRC, src.size(), src.b.data());
  }
  if (iif) mnl_attr_put_u32(nlh, RTA_IIF, iif);

  RouteReply reply;
  std::lock_guard<std::mutex> lock(impl_->mu);
  int e = impl_->sock.transact(nlh, false, [&](const nlmsghdr* m) { parse_route(m, &reply); });
  if (e == ENETUNREACH || e == EHOSTUNREACH || e == EACCES || e == EINVAL) {
    // IPv4 answers unreachable/prohibit/blackhole routes with an error, not a
    // type: EHOSTUNREACH, EACCES, EINVAL. EINVAL also means a martian source
    // on an input lookup (iif given); the kernel would not route it either.
    RouteResult r;
    r.type = RouteResult::Type::kUnreachable;
    return r;
  }
  if (e != 0 || !reply.got) return std::nullopt;
  if (reply.r.type == RouteResult::Type::kLocal && reply.r.oif && reply.r.oif == impl_->loopback) {
    // The kernel answers "dev lo" for every local address; callers want the
    // interface that holds the address (its zone).
    std::vector<AddrEntry> addrs;
    if (dump_addrs(impl_->sock, &addrs) == 0) {
      for (const auto& a : addrs)
        if (a.addr == dst) {
          reply.r.oif = a.ifindex;
          break;
        }
    }
  }
  return reply.r;
}

std::vector<LinkInfo> dump_links(std::string* err) {
  std::vector<LinkInfo> links;
  RtSocket s;
  if (!s.open(err)) return links;
  std::vector<LinkMessage> msgs;
  int e = dump_link_messages(s, &msgs);
  if (e != 0) {
    if (err) *err = "RTM_GETLINK dump failed: " + errno_text(e);
    return {};
  }
  std::map<uint32_t, size_t> by_index;
  for (auto& m : msgs) {
    LinkInfo li;
    li.ifindex = m.ifindex;
    li.up = (m.flags & IFF_UP) != 0;
    li.name = std::move(m.name);
    by_index[li.ifindex] = links.size();
    links.push_back(std::move(li));
  }
  std::vector<AddrEntry> addrs;
  e = dump_addrs(s, &addrs);
  if (e != 0) {
    if (err) *err = "RTM_GETADDR dump failed: " + errno_text(e);
    return {};
  }
  for (const auto& a : addrs) {
    auto it = by_index.find(a.ifindex);
    if (it == by_index.end()) continue;
    links[it->second].addrs.push_back(a.addr);
    links[it->second].prefix_lens.push_back(a.prefix_len);
  }
  return links;
}

std::string ifname_of(uint32_t ifindex) {
  char name[IF_NAMESIZE] = {};
  if (ifindex == 0 || !if_indextoname(ifindex, name)) return {};
  return name;
}

uint32_t ifindex_of(const std::string& name) {
  if (name.empty() || name.size() >= IF_NAMESIZE) return 0;
  return if_nametoindex(name.c_str());
}

// ---- LinkTable ----

struct LinkTable::Impl {
  struct Link {
    std::string name;
    uint32_t flags = 0;
  };
  using Map = std::unordered_map<uint32_t, Link>;

  mutable std::shared_mutex mu;
  Map by_index;
  std::unordered_map<std::string, uint32_t> by_name;
  Callback cb;
  RtSocket req;              // dumps
  mnl_socket* ev = nullptr;  // RTMGRP_LINK notifications
  int stop_fd = -1;          // eventfd: wakes the thread to stop
  std::thread thread;
  std::atomic<uint64_t> resyncs{0};
  std::vector<uint8_t> buf = std::vector<uint8_t>(kEventBufferBytes);

  ~Impl() {
    if (ev) mnl_socket_close(ev);
    if (stop_fd >= 0) close(stop_fd);
  }
  bool open_events(std::string* err);
  std::optional<LinkEvent> apply(const LinkMessage& m);
  void replace_all(const std::vector<LinkMessage>& links, std::vector<LinkEvent>* events);
  bool load(std::vector<LinkEvent>* events, std::string* err);
  void read_events();
  void resync();
  void run();
  void fire(const std::vector<LinkEvent>& events) const {
    if (!cb) return;
    for (const auto& e : events) cb(e);
  }
};

bool LinkTable::Impl::open_events(std::string* err) {
  ev = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (!ev || mnl_socket_bind(ev, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0) {
    if (err) *err = "cannot open the rtnetlink link notification socket: " + errno_text(errno);
    return false;
  }
  // Bursts (many veths created at once) should not overflow the socket; an
  // overflow is survived anyway (resync).
  int bytes = kEventSocketBytes;
  setsockopt(mnl_socket_get_fd(ev), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
  stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd < 0) {
    if (err) *err = "eventfd: " + errno_text(errno);
    return false;
  }
  return true;
}

// The caller holds no lock.
std::optional<LinkEvent> LinkTable::Impl::apply(const LinkMessage& m) {
  std::unique_lock lock(mu);
  auto it = by_index.find(m.ifindex);
  auto unname = [&](const std::string& n) {
    auto bn = by_name.find(n);
    if (bn != by_name.end() && bn->second == m.ifindex) by_name.erase(bn);
  };
  if (m.removed) {
    if (it == by_index.end()) return std::nullopt;
    LinkEvent e{LinkEvent::Kind::kRemoved, m.ifindex, it->second.name, {}};
    unname(it->second.name);
    by_index.erase(it);
    return e;
  }
  if (it == by_index.end()) {
    by_index[m.ifindex] = Link{m.name, m.flags};
    by_name[m.name] = m.ifindex;
    return LinkEvent{LinkEvent::Kind::kAdded, m.ifindex, m.name, {}};
  }
  it->second.flags = m.flags;
  if (it->second.name == m.name) return std::nullopt;
  LinkEvent e{LinkEvent::Kind::kRenamed, m.ifindex, m.name, it->second.name};
  unname(it->second.name);
  it->second.name = m.name;
  by_name[m.name] = m.ifindex;
  return e;
}

// Replaces the table by a full dump; the differences become events.
void LinkTable::Impl::replace_all(const std::vector<LinkMessage>& links,
                                  std::vector<LinkEvent>* events) {
  Map fresh;
  std::unordered_map<std::string, uint32_t> names;
  for (const auto& l : links) {
    fresh[l.ifindex] = Link{l.name, l.flags};
    names[l.name] = l.ifindex;
  }
  std::unique_lock lock(mu);
  for (const auto& [idx, old] : by_index) {
    auto it = fresh.find(idx);
    if (it == fresh.end())
      events->push_back({LinkEvent::Kind::kRemoved, idx, old.name, {}});
    else if (it->second.name != old.name)
      events->push_back({LinkEvent::Kind::kRenamed, idx, it->second.name, old.name});
  }
  for (const auto& [idx, l] : fresh)
    if (!by_index.count(idx)) events->push_back({LinkEvent::Kind::kAdded, idx, l.name, {}});
  by_index.swap(fresh);
  by_name.swap(names);
}

bool LinkTable::Impl::load(std::vector<LinkEvent>* events, std::string* err) {
  std::vector<LinkMessage> links;
  int e = dump_link_messages(req, &links);
  if (e != 0) {
    if (err) *err = "RTM_GETLINK dump failed: " + errno_text(e);
    return false;
  }
  replace_all(links, events);
  return true;
}

// After an overflow the queued notifications are a gap-ridden history: drop
// them and dump. Changes after the drain arrive as notifications again and
// apply on top of the dump.
void LinkTable::Impl::resync() {
  int fd = mnl_socket_get_fd(ev);
  for (int i = 0; i < kMaxDrainReads; ++i) {
    ssize_t n = recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0 && errno != EINTR && errno != ENOBUFS) break;
  }
  resyncs.fetch_add(1, std::memory_order_relaxed);
  std::vector<LinkEvent> events;
  std::string err;
  if (!load(&events, &err)) FW_LOG(kWarn, "link table: " << err);
  fire(events);
}

void LinkTable::Impl::read_events() {
  int fd = mnl_socket_get_fd(ev);
  for (;;) {
    sockaddr_nl from{};
    socklen_t fromlen = sizeof(from);
    ssize_t n = recvfrom(fd, buf.data(), buf.size(), MSG_DONTWAIT,
                         reinterpret_cast<sockaddr*>(&from), &fromlen);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS)
        resync();
      else if (errno != EAGAIN && errno != EWOULDBLOCK)
        FW_LOG(kWarn, "link table: recv: " << errno_text(errno));
      return;
    }
    if (from.nl_pid != 0) continue;  // only the kernel speaks for links
    std::vector<LinkEvent> events;
    int remaining = static_cast<int>(n);
    for (auto* m = reinterpret_cast<const nlmsghdr*>(buf.data()); mnl_nlmsg_ok(m, remaining);
         m = mnl_nlmsg_next(m, &remaining)) {
      auto lm = parse_link_message(m, m->nlmsg_len);
      if (!lm) continue;
      if (auto e = apply(*lm)) events.push_back(std::move(*e));
    }
    fire(events);
  }
}

void LinkTable::Impl::run() {
  pollfd fds[2] = {{mnl_socket_get_fd(ev), POLLIN, 0}, {stop_fd, POLLIN, 0}};
  for (;;) {
    int n = poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      FW_LOG(kError, "link table: poll: " << errno_text(errno) << "; names no longer follow");
      return;
    }
    if (fds[1].revents) return;
    if (fds[0].revents) read_events();
  }
}

LinkTable::LinkTable() : impl_(std::make_unique<Impl>()) {}

LinkTable::~LinkTable() {
  if (impl_->thread.joinable()) {
    uint64_t one = 1;
    (void)!write(impl_->stop_fd, &one, sizeof(one));
    impl_->thread.join();
  }
}

std::unique_ptr<LinkTable> LinkTable::open(Callback on_change, std::string* err) {
  std::unique_ptr<LinkTable> t(new LinkTable());
  Impl& im = *t->impl_;
  // Subscribed before the dump: a change during the dump is then queued as a
  // notification and applied after it.
  if (!im.req.open(err) || !im.open_events(err)) return nullptr;
  std::vector<LinkEvent> initial;  // not reported: the caller reads links()
  if (!im.load(&initial, err)) return nullptr;
  im.cb = std::move(on_change);
  im.thread = std::thread([&im] { im.run(); });
  return t;
}

std::string LinkTable::name_of(uint32_t ifindex) const {
  std::shared_lock lock(impl_->mu);
  auto it = impl_->by_index.find(ifindex);
  return it == impl_->by_index.end() ? std::string() : it->second.name;
}

uint32_t LinkTable::index_of(const std::string& name) const {
  std::shared_lock lock(impl_->mu);
  auto it = impl_->by_name.find(name);
  return it == impl_->by_name.end() ? 0 : it->second;
}

bool LinkTable::is_loopback(uint32_t ifindex) const {
  std::shared_lock lock(impl_->mu);
  auto it = impl_->by_index.find(ifindex);
  return it != impl_->by_index.end() && (it->second.flags & IFF_LOOPBACK) != 0;
}

std::vector<std::pair<uint32_t, std::string>> LinkTable::links() const {
  std::vector<std::pair<uint32_t, std::string>> out;
  {
    std::shared_lock lock(impl_->mu);
    for (const auto& [idx, l] : impl_->by_index) out.emplace_back(idx, l.name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

uint64_t LinkTable::resyncs() const { return impl_->resyncs.load(std::memory_order_relaxed); }

// ---- Links: details and changes ("iface" area) ----

namespace {

std::string mac_text(const nlattr* a) {
  size_t n = mnl_attr_get_payload_len(a);
  const auto* p = static_cast<const uint8_t*>(mnl_attr_get_payload(a));
  std::string out;
  char b[4];
  for (size_t i = 0; i < n && i < 32; ++i) {
    std::snprintf(b, sizeof b, i ? ":%02x" : "%02x", p[i]);
    out += b;
  }
  return out;
}

void parse_link_detail(const nlmsghdr* m, std::vector<LinkDetail>* out) {
  if (m->nlmsg_type != RTM_NEWLINK || m->nlmsg_len < mnl_nlmsg_size(sizeof(ifinfomsg))) return;
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(m));
  LinkDetail d;
  d.ifindex = static_cast<uint32_t>(ifi->ifi_index);
  d.flags = ifi->ifi_flags;
  for_each_attr(m, sizeof(ifinfomsg), [&](const nlattr* a) {
    size_t len = mnl_attr_get_payload_len(a);
    switch (mnl_attr_get_type(a)) {
      case IFLA_IFNAME:
        if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0) d.name = mnl_attr_get_str(a);
        break;
      case IFLA_IFALIAS:
        d.alias.assign(static_cast<const char*>(mnl_attr_get_payload(a)), len);
        d.alias.resize(std::strlen(d.alias.c_str()));
        break;
      case IFLA_MTU:
        if (len >= 4) d.mtu = mnl_attr_get_u32(a);
        break;
      case IFLA_OPERSTATE:
        if (len >= 1) d.operstate = mnl_attr_get_u8(a);
        break;
      case IFLA_ADDRESS:
        d.mac = mac_text(a);
        break;
      case IFLA_STATS64:
        if (len >= sizeof(rtnl_link_stats64)) {
          rtnl_link_stats64 st;
          std::memcpy(&st, mnl_attr_get_payload(a), sizeof st);
          d.rx_packets = st.rx_packets;
          d.tx_packets = st.tx_packets;
          d.rx_bytes = st.rx_bytes;
          d.tx_bytes = st.tx_bytes;
          d.rx_errors = st.rx_errors;
          d.tx_errors = st.tx_errors;
          d.rx_dropped = st.rx_dropped;
          d.tx_dropped = st.tx_dropped;
        }
        break;
      default:
        break;
    }
  });
  if (!d.name.empty()) out->push_back(std::move(d));
}

// One request that the kernel acknowledges.
int acked_request(nlmsghdr* nlh) {
  RtSocket s;
  if (!s.open(nullptr)) return errno ? errno : EIO;
  nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  return s.transact(nlh, false, [](const nlmsghdr*) {});
}

}  // namespace

std::vector<LinkDetail> dump_link_details(std::string* err) {
  RtSocket s;
  if (!s.open(err)) return {};
  Request<ifinfomsg, 256> req(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP);
  nlmsghdr* nlh = req.nlh;
  auto* ifi = req.hdr;
  ifi->ifi_family = AF_UNSPEC;
  std::vector<LinkDetail> links;
  int e = s.transact(nlh, true, [&](const nlmsghdr* m) { parse_link_detail(m, &links); });
  std::vector<AddrEntry> addrs;
  if (e == 0) e = dump_addrs(s, &addrs);
  if (e != 0) {
    if (err) *err = "rtnetlink dump failed: " + errno_text(e);
    return {};
  }
  for (const auto& a : addrs) {
    for (auto& l : links) {
      if (l.ifindex != a.ifindex) continue;
      l.addrs.push_back(a.addr);
      l.prefix_lens.push_back(a.prefix_len);
    }
  }
  std::sort(links.begin(), links.end(),
            [](const LinkDetail& a, const LinkDetail& b) { return a.ifindex < b.ifindex; });
  return links;
}

int set_link_up(uint32_t ifindex, bool up) {
  Request<ifinfomsg, 256> req(RTM_NEWLINK, 0);
  nlmsghdr* nlh = req.nlh;
  auto* ifi = req.hdr;
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = static_cast<int>(ifindex);
  ifi->ifi_change = IFF_UP;
  ifi->ifi_flags = up ? IFF_UP : 0;
  return acked_request(nlh);
}

int set_link_alias(uint32_t ifindex, const std::string& alias) {
  constexpr size_t kAliasMax = 256;  // IFALIASZ
  if (alias.size() >= kAliasMax) return EINVAL;
  Request<ifinfomsg> req(RTM_NEWLINK, 0);
  nlmsghdr* nlh = req.nlh;
  auto* ifi = req.hdr;
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = static_cast<int>(ifindex);
  // A zero-length alias removes it; a longer one is copied and terminated by the kernel.
  mnl_attr_put(nlh, IFLA_IFALIAS, alias.size(), alias.data());
  return acked_request(nlh);
}

int change_address(uint32_t ifindex, const common::IpAddr& a, uint8_t len, bool add) {
  if (!a.is_v4() || len > 32) return EINVAL;
  Request<ifaddrmsg, 256> req(add ? RTM_NEWADDR : RTM_DELADDR,
                              add ? (NLM_F_CREATE | NLM_F_EXCL) : 0);
  nlmsghdr* nlh = req.nlh;
  auto* ifa = req.hdr;
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = len;
  ifa->ifa_index = ifindex;
  mnl_attr_put(nlh, IFA_LOCAL, 4, a.b.data());
  mnl_attr_put(nlh, IFA_ADDRESS, 4, a.b.data());
  if (add && len < 31) {
    uint32_t host_mask = len == 0 ? ~uint32_t{0} : ~(~uint32_t{0} << (32 - len));
    uint32_t brd = htonl(a.v4_host() | host_mask);
    mnl_attr_put(nlh, IFA_BROADCAST, 4, &brd);
  }
  return acked_request(nlh);
}

}  // namespace fw::fwd

// ---- Area route: routes and neighbours ----
namespace fw::fwd {
namespace {

KernelRoute parse_kernel_route(const nlmsghdr* m) {
  const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(m));
  KernelRoute r;
  r.dst_len = rtm->rtm_dst_len;
  r.table = rtm->rtm_table;
  r.protocol = rtm->rtm_protocol;
  r.scope = rtm->rtm_scope;
  r.type = rtm->rtm_type;
  for_each_attr(m, sizeof(rtmsg), [&](const nlattr* a) {
    switch (mnl_attr_get_type(a)) {
      case RTA_DST:
        r.dst = addr_from_attr(a, rtm->rtm_family);
        break;
      case RTA_GATEWAY:
        r.gateway = addr_from_attr(a, rtm->rtm_family);
        break;
      case RTA_PREFSRC:
        r.prefsrc = addr_from_attr(a, rtm->rtm_family);
        break;
      case RTA_OIF:
        if (mnl_attr_get_payload_len(a) >= 4) r.oif = mnl_attr_get_u32(a);
        break;
      case RTA_PRIORITY:
        if (mnl_attr_get_payload_len(a) >= 4) r.priority = mnl_attr_get_u32(a);
        break;
      case RTA_TABLE:
        if (mnl_attr_get_payload_len(a) >= 4) r.table = mnl_attr_get_u32(a);
        break;
      default:
        break;
    }
  });
  if (r.dst.empty()) {  // the default route carries no RTA_DST
    r.dst = rtm->rtm_family == AF_INET6 ? common::IpAddr::v6_bytes(std::array<uint8_t, 16>{}.data())
                                        : common::IpAddr::v4(0);
  }
  return r;
}

// One RTM_NEWROUTE / RTM_DELROUTE for a route of ours, acknowledged.
int route_request(uint16_t type, uint16_t flags, const KernelRoute& r) {
  RtSocket s;
  if (!s.open(nullptr)) return errno ? errno : EIO;
  Request<rtmsg> req(type, NLM_F_REQUEST | NLM_F_ACK | flags);
  nlmsghdr* nlh = req.nlh;
  auto* rtm = req.hdr;
  const bool v6 = r.dst.is_v6();
  rtm->rtm_family = v6 ? AF_INET6 : AF_INET;
  rtm->rtm_dst_len = r.dst_len;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = kFwdRouteProtocol;
  rtm->rtm_type = RTN_UNICAST;
  if (type == RTM_DELROUTE) {
    rtm->rtm_scope = RT_SCOPE_NOWHERE;  // any scope
  } else {
    rtm->rtm_scope = r.gateway.empty() ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  }
  mnl_attr_put(nlh, RTA_DST, r.dst.size(), r.dst.b.data());
  if (!r.gateway.empty()) mnl_attr_put(nlh, RTA_GATEWAY, r.gateway.size(), r.gateway.b.data());
  if (r.oif) mnl_attr_put_u32(nlh, RTA_OIF, r.oif);
  mnl_attr_put_u32(nlh, RTA_PRIORITY, r.priority);
  return s.transact(nlh, false, [](const nlmsghdr*) {});
}

}  // namespace

std::optional<std::vector<KernelRoute>> dump_routes(uint8_t family, std::string* err) {
  RtSocket s;
  if (!s.open(err)) return std::nullopt;
  Request<rtmsg, 256> req(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP);
  nlmsghdr* nlh = req.nlh;
  auto* rtm = req.hdr;
  rtm->rtm_family = family;
  std::vector<KernelRoute> out;
  int e = s.transact(nlh, true, [&](const nlmsghdr* m) {
    if (m->nlmsg_type != RTM_NEWROUTE || m->nlmsg_len < mnl_nlmsg_size(sizeof(rtmsg))) return;
    const auto* r = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(m));
    if (r->rtm_family != family || (r->rtm_flags & RTM_F_CLONED)) return;
    out.push_back(parse_kernel_route(m));
  });
  if (e != 0) {
    if (err) *err = "RTM_GETROUTE dump failed: " + errno_text(e);
    return std::nullopt;
  }
  return out;
}

// Create, or append beside a route to the same prefix with the same metric (another next hop);
// an identical route is EEXIST.
int add_route(const KernelRoute& r) {
  return route_request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_APPEND, r);
}

int delete_route(const KernelRoute& r) { return route_request(RTM_DELROUTE, 0, r); }

std::optional<std::vector<Neighbour>> dump_neighbours(uint8_t family, std::string* err) {
  RtSocket s;
  if (!s.open(err)) return std::nullopt;
  Request<ndmsg, 256> req(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP);
  nlmsghdr* nlh = req.nlh;
  auto* ndm = req.hdr;
  ndm->ndm_family = family;
  std::vector<Neighbour> out;
  int e = s.transact(nlh, true, [&](const nlmsghdr* m) {
    if (m->nlmsg_type != RTM_NEWNEIGH || m->nlmsg_len < mnl_nlmsg_size(sizeof(ndmsg))) return;
    const auto* n = static_cast<const ndmsg*>(mnl_nlmsg_get_payload(m));
    if (n->ndm_family != family) return;
    Neighbour nb;
    nb.ifindex = static_cast<uint32_t>(n->ndm_ifindex);
    nb.state = n->ndm_state;
    for_each_attr(m, sizeof(ndmsg), [&](const nlattr* a) {
      if (mnl_attr_get_type(a) == NDA_DST) nb.addr = addr_from_attr(a, n->ndm_family);
      if (mnl_attr_get_type(a) == NDA_LLADDR) {
        const auto* p = static_cast<const uint8_t*>(mnl_attr_get_payload(a));
        nb.lladdr.assign(p, p + mnl_attr_get_payload_len(a));
      }
    });
    if (!nb.addr.empty()) out.push_back(std::move(nb));
  });
  if (e != 0) {
    if (err) *err = "RTM_GETNEIGH dump failed: " + errno_text(e);
    return std::nullopt;
  }
  return out;
}

std::optional<std::map<uint32_t, std::vector<uint8_t>>> dump_link_addresses(std::string* err) {
  RtSocket s;
  if (!s.open(err)) return std::nullopt;
  Request<ifinfomsg, 256> req(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP);
  nlmsghdr* nlh = req.nlh;
  auto* ifi = req.hdr;
  ifi->ifi_family = AF_UNSPEC;
  std::map<uint32_t, std::vector<uint8_t>> out;
  int e = s.transact(nlh, true, [&](const nlmsghdr* m) {
    if (m->nlmsg_type != RTM_NEWLINK || m->nlmsg_len < mnl_nlmsg_size(sizeof(ifinfomsg))) return;
    const auto* i = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(m));
    for_each_attr(m, sizeof(ifinfomsg), [&](const nlattr* a) {
      if (mnl_attr_get_type(a) != IFLA_ADDRESS) return;
      const auto* p = static_cast<const uint8_t*>(mnl_attr_get_payload(a));
      out[static_cast<uint32_t>(i->ifi_index)].assign(p, p + mnl_attr_get_payload_len(a));
    });
  });
  if (e != 0) {
    if (err) *err = "RTM_GETLINK dump failed: " + errno_text(e);
    return std::nullopt;
  }
  return out;
}

}  // namespace fw::fwd
