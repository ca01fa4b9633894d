#include "fwd/netlink_route.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <vector>

namespace fw::fwd {
namespace {

constexpr int kReplyTimeoutMs = 1000;

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

struct AddrEntry {
  uint32_t ifindex;
  common::IpAddr addr;
  uint8_t prefix_len;
};

// RTM_GETADDR dump over an open socket.
int dump_addrs(RtSocket& s, std::vector<AddrEntry>* out) {
  alignas(nlmsghdr) char req[256];
  nlmsghdr* nlh = mnl_nlmsg_put_header(req);
  nlh->nlmsg_type = RTM_GETADDR;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
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

bool is_loopback_ifindex(uint32_t ifindex) {
  char name[IF_NAMESIZE] = {};
  if (!if_indextoname(ifindex, name)) return false;
  return std::strcmp(name, "lo") == 0;
}

}  // namespace

struct RouteResolver::Impl {
  std::mutex mu;
  RtSocket sock;
};

RouteResolver::RouteResolver() : impl_(std::make_unique<Impl>()) {}
RouteResolver::~RouteResolver() = default;

std::unique_ptr<RouteResolver> RouteResolver::open(std::string* err) {
  std::unique_ptr<RouteResolver> r(new RouteResolver());
  if (!r->impl_->sock.open(err)) return nullptr;
  return r;
}

std::optional<RouteResult> RouteResolver::lookup(const common::IpAddr& dst,
                                                 const common::IpAddr& src, uint32_t iif) {
  if (dst.empty() || (!src.empty() && src.family != dst.family)) return std::nullopt;
  alignas(nlmsghdr) char req[512];
  nlmsghdr* nlh = mnl_nlmsg_put_header(req);
  nlh->nlmsg_type = RTM_GETROUTE;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
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
  if (reply.r.type == RouteResult::Type::kLocal && reply.r.oif &&
      is_loopback_ifindex(reply.r.oif) && !dst.empty()) {
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
  alignas(nlmsghdr) char req[256];
  nlmsghdr* nlh = mnl_nlmsg_put_header(req);
  nlh->nlmsg_type = RTM_GETLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  std::map<uint32_t, size_t> by_index;
  int e = s.transact(nlh, true, [&](const nlmsghdr* m) {
    if (m->nlmsg_type != RTM_NEWLINK || m->nlmsg_len < mnl_nlmsg_size(sizeof(ifinfomsg))) return;
    const auto* i = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(m));
    LinkInfo li;
    li.ifindex = static_cast<uint32_t>(i->ifi_index);
    li.up = (i->ifi_flags & IFF_UP) != 0;
    for_each_attr(m, sizeof(ifinfomsg), [&](const nlattr* at) {
      if (mnl_attr_get_type(at) == IFLA_IFNAME && mnl_attr_validate(at, MNL_TYPE_NUL_STRING) >= 0)
        li.name = mnl_attr_get_str(at);
    });
    by_index[li.ifindex] = links.size();
    links.push_back(std::move(li));
  });
  if (e != 0) {
    if (err) *err = "RTM_GETLINK dump failed: " + errno_text(e);
    return {};
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

}  // namespace fw::fwd
