#include "fwd/pipeline.h"

#include <linux/netfilter.h>

#include "common/log.h"
#include "fwd/app.h"
#include "nat/rewrite.h"

namespace fw::fwd {

using packet::Parsed;
using session::Dir;
using session::FlowKey;
using session::Session;

namespace {

constexpr uint64_t kRetireGraceMs = 5000;
constexpr uint64_t kFragLifetimeMs = 30'000;
constexpr size_t kFragCacheMax = 8192;
constexpr uint16_t kPatPortLow = 2048;  // PortAllocator's default range starts here

const char* kDropNames[] = {
    "malformed",          "tcp-not-syn",   "policy-deny",         "no-zone",
    "no-route",           "session-limit", "fragment-no-session", "icmp-error-no-session",
    "nat-pool-exhausted", "nat-collision", "ttl-expired-nat"};

FlowKey key_of(const Parsed& p) {
  FlowKey k;
  k.src = p.src;
  k.dst = p.dst;
  k.proto = p.proto;
  k.sport = p.sport;
  k.dport = p.dport;
  return k;
}

// ICMPv6 the network cannot work without (neighbour discovery, MLD): never
// subject to policy, never a session.
bool icmpv6_infrastructure(const Parsed& p) {
  if (p.proto != packet::kProtoIcmpv6) return false;
  uint8_t t = p.icmp_type;
  return (t >= 130 && t <= 137) || t == 143;
}

// The allocator's protocol for a flow: ICMP echo ids and TCP/UDP ports are
// separate spaces; other protocols have no port to translate.
uint8_t alloc_proto(uint8_t proto) {
  switch (proto) {
    case packet::kProtoTcp:
    case packet::kProtoUdp:
    case packet::kProtoIcmp:
    case packet::kProtoIcmpv6:
      return proto;
    default:
      return 0;
  }
}

}  // namespace

const std::vector<std::string>& drop_reason_names() {
  static const std::vector<std::string> v(std::begin(kDropNames), std::end(kDropNames));
  return v;
}

Pipeline::Pipeline(const common::Clock& clock, session::SessionTable& table, RouteSource& routes,
                   session::ServerMap& servermap, nat::NatState& nat, aspf::Engine& aspf)
    : clock_(clock),
      table_(table),
      routes_(routes),
      servermap_(servermap),
      nat_(nat),
      aspf_(aspf),
      ftp_data_app_(app_by_name("ftp-data")),
      c_received_(common::counters().get("packet.received")),
      c_accepted_(common::counters().get("packet.accepted")),
      c_dropped_(common::counters().get("packet.dropped")),
      c_related_(common::counters().get("packet.accepted.icmp-error-related")),
      c_translated_(common::counters().get("nat.translated")),
      c_local_icmp_(common::counters().get("packet.accepted.local-icmp-error")) {
  table_.set_on_remove([this](const Session& s) {
    if (s.alg) aspf_.session_ended(s);
    release_nat(s);
  });
  // A call ended (PPTP): its GRE flows age out like a closed TCP session.
  aspf_.set_child_ager([this](uint64_t parent, uint8_t proto, uint16_t a, uint16_t b) {
    const Runtime* rt = rt_.load(std::memory_order_acquire);
    uint32_t t = rt ? rt->timeouts.fin_rst : 10;
    auto kids = table_.snapshot([&](const Session& s) {
      return s.parent_id == parent && s.orig.proto == proto &&
             (s.orig.dport == a || s.orig.dport == b || s.reply.dport == a || s.reply.dport == b);
    });
    for (const auto& k : kids) {
      table_.with_session_id(k.id, [&](Session& s) { s.timeout_s = std::min(s.timeout_s, t); });
    }
  });
  // A data-channel port reserved for an ASPF entry that was never used goes back.
  servermap_.set_on_remove([this](const session::ServerMapEntry& e) {
    if (e.reserved) nat_.ports.release(e.addr, e.proto, e.port);
  });
  for (size_t i = 0; i < c_drop_.size(); ++i) {
    c_drop_[i] = &common::counters().get(std::string("packet.drop.") + kDropNames[i]);
  }
  for (size_t i = 0; i <= static_cast<size_t>(packet::Malformed::kBadFragment); ++i) {
    c_malformed_[i] = &common::counters().get(
        "packet.malformed." +
        std::string(packet::malformed_name(static_cast<packet::Malformed>(i))));
  }
}

void Pipeline::install_static_servermap(const config::Config& c) {
  std::vector<session::ServerMapEntry> v;
  for (const auto& ns : c.nat_servers) {
    session::ServerMapEntry f;
    f.type = session::MapType::kNatServer;
    f.proto = ns.proto;
    f.addr = ns.global;
    f.port = ns.global_port;
    f.xaddr = ns.inside;
    f.xport = ns.inside_port;
    f.owner = ns.name;
    f.zone = "---";
    v.push_back(f);
    if (!ns.no_reverse) {
      session::ServerMapEntry r;
      r.type = session::MapType::kNatServerReverse;
      r.proto = ns.proto;
      r.addr = ns.inside;
      r.xaddr = ns.global;
      r.owner = ns.name;
      r.zone = "---";
      v.push_back(r);
    }
  }
  servermap_.set_static(std::move(v));
}

void Pipeline::set_runtime(std::unique_ptr<Runtime> rt) {
  install_static_servermap(rt->cfg);
  std::lock_guard<std::mutex> lk(retire_mu_);
  rt_.store(rt.get(), std::memory_order_release);
  if (current_) retired_.emplace_back(clock_.now_ms(), std::move(current_));
  current_ = std::move(rt);
}

void Pipeline::retire_old() {
  std::lock_guard<std::mutex> lk(retire_mu_);
  uint64_t now = clock_.now_ms();
  std::erase_if(retired_, [&](const auto& e) { return now - e.first > kRetireGraceMs; });
}

Decision Pipeline::drop(Drop why) {
  c_dropped_.inc();
  c_drop_[static_cast<size_t>(why)]->inc();
  return {Verdict::kDrop, false, 0};
}

Decision Pipeline::accept() {
  c_accepted_.inc();
  return {Verdict::kAccept, false, 0};
}

Decision Pipeline::process_bytes(uint8_t* data, uint32_t len, uint32_t indev, uint8_t hook) {
  QueuedPacket qp;
  qp.data = data;
  qp.len = len;
  qp.capacity = len;
  qp.indev = indev;
  qp.hook = hook;
  return process(qp);
}

void Pipeline::update_session(Session& s, Dir d, const Parsed& p, uint32_t len, const Runtime& rt) {
  auto di = static_cast<size_t>(d);
  s.packets[di]++;
  s.bytes[di] += len;
  s.last_seen_ms = clock_.now_ms();
  if (p.proto == packet::kProtoTcp) {
    // A new SYN on a closed 4-tuple reuses the entry (port reuse after close).
    if (d == Dir::kOriginal &&
        (p.tcp_flags & (packet::kTcpSyn | packet::kTcpAck)) == packet::kTcpSyn &&
        s.tcp_state == session::TcpState::kClosing) {
      s.tcp_state = session::TcpState::kNone;
    }
    s.tcp_state = session::tcp_next(s.tcp_state, d, p.tcp_flags);
  }
  s.timeout_s = session::timeout_for(rt.timeouts, s.orig.proto, s.tcp_state, s.orig.dport,
                                     s.app == ftp_data_app_);
}

Decision Pipeline::process(QueuedPacket& qp) {
  c_received_.inc();
  const Runtime* rt = rt_.load(std::memory_order_acquire);
  auto res = packet::parse(std::span<const uint8_t>(qp.data, qp.len));
  if (const auto* m = std::get_if<packet::Malformed>(&res)) {
    c_malformed_[static_cast<size_t>(*m)]->inc();
    return drop(Drop::kMalformed);
  }
  const Parsed& p = std::get<Parsed>(res);
  if (!rt) return drop(Drop::kNoZone);

  if (p.is_fragment && !p.first_fragment) {
    return fragment_known(p) ? accept() : drop(Drop::kFragment);
  }
  if (icmpv6_infrastructure(p)) return accept();

  FlowKey key = key_of(p);
  // Hit: update the session under its lock, copy what the rewrite needs.
  session::NatInfo nat;
  FlowKey orig;
  Dir dir = Dir::kOriginal;
  Session alg_copy;                          // only filled for sessions an ALG inspects
  policy::ZoneId to_zone = policy::kNoZone;  // the zone this packet is headed for
  bool hit = table_.with_session(key, [&](Session& s, Dir d) {
    update_session(s, d, p, qp.len, *rt);
    nat = s.nat;
    orig = s.orig;
    dir = d;
    to_zone = d == Dir::kOriginal ? s.dst_zone : s.src_zone;
    if (s.alg) alg_copy = s;
  });
  if (!hit && p.proto == packet::kProtoGre && key.dport != 0) {
    // GRE admitted without an ALG is tracked by address only (like a kernel
    // without the PPTP helper): one tunnel per address pair.
    FlowKey any = key;
    any.dport = 0;
    hit = table_.with_session(any, [&](Session& s, Dir d) {
      update_session(s, d, p, qp.len, *rt);
      nat = s.nat;
      orig = s.orig;
      dir = d;
    });
  }
  if (!hit && p.icmp_error) {
    // An error about a packet of a known flow is part of that flow (and is
    // translated like it).
    auto inner = packet::parse_quoted(
        std::span<const uint8_t>(qp.data + p.inner_offset, qp.len - p.inner_offset));
    if (inner && !inner->icmp_error) {
      FlowKey ik = key_of(*inner).reversed();
      bool related = table_.with_session(ik, [&](Session& s, Dir d) {
        nat = s.nat;
        orig = s.orig;
        dir = d;
      });
      if (related) {
        c_related_.inc();
        if (nat.snat || nat.dnat) return translate_icmp_error(qp, p, orig, nat, dir);
        return accept();
      }
    }
    // An error the firewall's own stack sends about a packet it forwarded
    // (time exceeded for a TTL-expiring packet we left untranslated,
    // fragmentation needed): the kernel quotes only what it was given.
    if (qp.hook == NF_INET_LOCAL_OUT || qp.indev == 0) {
      c_local_icmp_.inc();
      return accept();
    }
    return drop(Drop::kIcmpNoSession);
  }
  if (!hit) {
    Drop why;
    if (!first_packet(qp, p, key, *rt, &why, &alg_copy)) return drop(why);
    nat = alg_copy.nat;
    orig = alg_copy.orig;
    dir = Dir::kOriginal;
    to_zone = alg_copy.dst_zone;
    if (!alg_copy.alg) alg_copy.id = 0;
  }
  if (p.is_fragment) remember_fragment(p);
  Decision dec = (nat.snat || nat.dnat || nat.reply_key >= 0)
                     ? translate(qp, p, orig, nat, dir, to_zone != rt->zones.local())
                     : accept();
  if (alg_copy.alg && alg_copy.id && dec.verdict == Verdict::kAccept)
    return run_alg(qp, dec, alg_copy, dir);
  return dec;
}

Decision Pipeline::run_alg(QueuedPacket& qp, Decision d, const Session& s, Dir dir) {
  uint32_t len = qp.len;
  aspf::EngineResult r = aspf_.process(qp.data, &len, qp.capacity, s, dir);
  if (r.opened) table_.with_session_id(s.id, [](Session& cs) { cs.has_servermap = true; });
  if (r.drop) return drop(Drop::kMalformed);
  if (r.modified) {
    qp.len = len;
    return {Verdict::kAccept, true, len};
  }
  return d;
}

Decision Pipeline::translate(QueuedPacket& qp, const Parsed& p, const FlowKey& orig,
                             const session::NatInfo& nat, Dir d, bool forwarded) {
  nat::Endpoint src, dst;
  const nat::Endpoint* ns = nullptr;
  const nat::Endpoint* nd = nullptr;
  if (d == Dir::kOriginal) {
    if (nat.snat) {
      src = {nat.snat_addr, nat.snat_port};
      ns = &src;
    }
    if (nat.dnat) {
      dst = {nat.dnat_addr, nat.dnat_port};
      nd = &dst;
    }
  } else {
    // Replies: the server's address back to the global one, the client's back to its own.
    if (nat.dnat) {
      src = {orig.dst, orig.dport};
      ns = &src;
    }
    if (nat.snat) {
      dst = {orig.src, orig.sport};
      nd = &dst;
    }
  }
  if (p.proto == packet::kProtoGre) {
    // The key is the receiver's call id: keep it unless the session maps it
    // (PPTP: translated id -> the client's own on the way in).
    bool rk = d == Dir::kReply && nat.reply_key >= 0;
    uint16_t key = (d == Dir::kOriginal && nat.dnat) ? nat.dnat_port
                   : rk                              ? static_cast<uint16_t>(nat.reply_key)
                                                     : p.dport;
    if (nd) dst.port = key;
    if (!nd && rk) {
      dst = {p.dst, key};
      nd = &dst;
    }
  }
  // A packet about to expire in our forwarding: the kernel answers it with a
  // time-exceeded to its sender, so it must keep the sender's own addresses.
  if (p.ttl <= 1) {
    if (d == Dir::kOriginal && !nat.dnat) return accept();
    return drop(Drop::kTtlExpiredNat);
  }
  // A forwarded TCP GSO super-packet is segmented in software after a mangled
  // verdict (the kernel marks it CHECKSUM_NONE), and tcp4_gso_segment then
  // re-seeds every segment's checksum itself: a full recompute of up to 64 KiB
  // here would be thrown away. Anything delivered locally, or not GSO, must
  // leave fully checksummed.
  bool full = qp.csum_not_ready && !(qp.gso && forwarded && p.proto == packet::kProtoTcp);
  if (!nat::rewrite(std::span<uint8_t>(qp.data, qp.len), p, ns, nd, full)) {
    return drop(Drop::kMalformed);
  }
  c_translated_.inc();
  c_accepted_.inc();
  return {Verdict::kAccept, true, qp.len};
}

Decision Pipeline::translate_icmp_error(QueuedPacket& qp, const Parsed& p, const FlowKey& orig,
                                        const session::NatInfo& nat, Dir d) {
  // d is the direction the error travels in (toward the initiator = reply).
  // The quoted packet went the other way, translated.
  nat::Endpoint os, od, is, id;
  const nat::Endpoint *pos = nullptr, *pod = nullptr, *pis = nullptr, *pid = nullptr;
  if (d == Dir::kReply) {
    // Quoted: initiator -> responder after translation (src snat, dst dnat'ed inside).
    if (nat.snat) {
      od = {orig.src, 0};
      pod = &od;
      is = {orig.src, orig.sport};
      pis = &is;
    }
    if (nat.dnat) {
      id = {orig.dst, orig.dport};
      pid = &id;
      if (p.src == nat.dnat_addr) {
        os = {orig.dst, 0};
        pos = &os;
      }
    }
  } else {
    // Quoted: a reply as the inside initiator received it; the error goes to the responder.
    if (nat.snat) {
      id = {nat.snat_addr, nat.snat_port};
      pid = &id;
      if (p.src == orig.src) {
        os = {nat.snat_addr, 0};
        pos = &os;
      }
    }
    if (nat.dnat) {
      od = {nat.dnat_addr, 0};
      pod = &od;
      is = {nat.dnat_addr, nat.dnat_port};
      pis = &is;
    }
  }
  if (!nat::rewrite_icmp_error(std::span<uint8_t>(qp.data, qp.len), p, pos, pod, pis, pid)) {
    return drop(Drop::kMalformed);
  }
  c_translated_.inc();
  c_accepted_.inc();
  return {Verdict::kAccept, true, qp.len};
}

bool Pipeline::source_nat(const Parsed& p, const common::IpAddr& dst, policy::ZoneId sz,
                          policy::ZoneId dz, const RouteInfo& r, const Runtime& rt,
                          session::NatInfo* nat) {
  if (p.ip_version != 4) return true;  // NAT44 only
  uint8_t ap = alloc_proto(p.proto);
  // A NAT server's own outbound connections leave with its global address
  // (Nat Server Reverse beats the NAT policy).
  if (auto rev = servermap_.match_src(p.proto, p.src, p.sport);
      rev && rev->type == session::MapType::kNatServerReverse) {
    nat->snat = true;
    nat->snat_addr = rev->xaddr;
    nat->snat_port = p.sport;
    if (ap) {
      auto port = nat_.ports.allocate(rev->xaddr, ap, p.sport);
      if (!port) return false;
      nat->snat_port = *port;
      nat->snat_kind = 1;
    }
    return true;
  }
  if (rt.nat.empty()) return true;
  auto d = rt.nat.match(sz, dz, p.src, dst, r.ok && r.oif ? routes_.ifname(r.oif) : std::string());
  using K = nat::SnatDecision::Kind;
  switch (d.kind) {
    case K::kNone:
    case K::kNoNat:
      return true;
    case K::kEasyIp:
    case K::kPat: {
      std::vector<common::IpAddr> one;
      const std::vector<common::IpAddr>* pool = d.pool;
      if (d.kind == K::kEasyIp) {
        if (!r.prefsrc.is_v4()) return false;
        one.push_back(r.prefsrc);
        pool = &one;
      }
      if (!pool || pool->empty()) return false;
      size_t start = p.src.hash() % pool->size();
      for (size_t i = 0; i < pool->size(); ++i) {
        const auto& a = (*pool)[(start + i) % pool->size()];
        if (!ap) {
          nat->snat = true;
          nat->snat_addr = a;
          nat->snat_port = p.sport;
          return true;
        }
        if (auto port = nat_.ports.allocate(a, ap, p.sport)) {
          nat->snat = true;
          nat->snat_addr = a;
          nat->snat_port = *port;
          nat->snat_kind = 1;
          return true;
        }
      }
      return false;
    }
    case K::kNoPat: {
      if (!d.pool || d.pool->empty()) return false;
      auto& b = nat_.bindings(*d.group, *d.pool);
      bool existed = b.lookup(p.src).has_value();
      auto g = b.acquire(p.src);
      if (!g) return false;
      nat->snat = true;
      nat->snat_addr = *g;
      nat->snat_port = p.sport;
      nat->snat_kind = 2;
      nat->snat_group = session::intern_name(*d.group);
      if (!existed) {
        session::ServerMapEntry fwd;
        fwd.type = session::MapType::kNoPat;
        fwd.addr = p.src;
        fwd.xaddr = *g;
        fwd.owner = *d.group;
        fwd.zone = policy::zone_name_of(dz);
        servermap_.add(fwd);
        session::ServerMapEntry rev;
        rev.type = session::MapType::kNoPatReverse;
        rev.addr = *g;
        rev.xaddr = p.src;
        rev.owner = *d.group;
        rev.zone = policy::zone_name_of(dz);
        servermap_.add(rev);
      }
      return true;
    }
  }
  return true;
}

void Pipeline::release_nat(const Session& s) {
  servermap_.remove_parent(s.id);
  if (s.nat.dnat_release) nat_.ports.release(s.orig.dst, alloc_proto(s.orig.proto), s.orig.dport);
  if (s.nat.snat_kind == 1) {
    nat_.ports.release(s.nat.snat_addr, alloc_proto(s.orig.proto), s.nat.snat_port);
  } else if (s.nat.snat_kind == 2) {
    std::string group = session::name_of(s.nat.snat_group);
    if (auto* b = nat_.find_bindings(group)) {
      b->release(s.orig.src);
      if (!b->lookup(s.orig.src)) {
        const common::IpAddr inside = s.orig.src, global = s.nat.snat_addr;
        servermap_.remove_if([&](const session::ServerMapEntry& e) {
          return (e.type == session::MapType::kNoPat && e.addr == inside) ||
                 (e.type == session::MapType::kNoPatReverse && e.addr == global);
        });
      }
    }
  }
}

bool Pipeline::first_packet(QueuedPacket& qp, const Parsed& p, const FlowKey& key,
                            const Runtime& rt, Drop* why, Session* created) {
  // Only a SYN opens a TCP session; a stray ACK/data/RST is not a flow of ours.
  if (p.proto == packet::kProtoTcp &&
      (p.tcp_flags & (packet::kTcpSyn | packet::kTcpAck | packet::kTcpRst)) != packet::kTcpSyn) {
    *why = Drop::kTcpNotSyn;
    return false;
  }
  // The server-map comes before policy: a NAT server (or no-PAT reverse)
  // translates the destination; the policy then sees the private address.
  session::NatInfo nat;
  common::IpAddr dst = p.dst;
  uint16_t dport = p.dport;
  auto sm = servermap_.match_dst(p.proto, p.src, p.dst, p.dport);
  if (sm && !sm->xaddr.empty()) {
    nat.dnat = true;
    nat.dnat_addr = sm->xaddr;
    // GRE call id 0 is a real id: a PPTP entry's xport always applies.
    nat.dnat_port = (sm->xport || p.proto == packet::kProtoGre) ? sm->xport : p.dport;
    dst = nat.dnat_addr;
    dport = nat.dnat_port;
  }
  bool aspf = sm && sm->type == session::MapType::kAspf;

  policy::FlowInfo f;
  f.src = p.src;
  f.dst = dst;
  f.proto = p.proto;
  f.sport = p.sport;
  f.dport = dport;
  if (p.proto == packet::kProtoIcmp || p.proto == packet::kProtoIcmpv6) f.icmp_type = p.icmp_type;

  // Source zone: the ingress interface's, or local for the firewall's own packets.
  bool local_out = qp.hook == NF_INET_LOCAL_OUT || qp.indev == 0;
  f.src_zone = local_out ? rt.zones.local() : rt.zone_of_ifindex(qp.indev, routes_);
  if (f.src_zone == policy::kNoZone) {
    *why = Drop::kNoZone;
    return false;
  }
  // Destination zone: where the kernel's FIB sends it.
  RouteInfo r;
  if (local_out && qp.outdev != 0) {
    r.ok = true;
    r.oif = qp.outdev;
    RouteInfo full = routes_.route(dst);
    if (full.ok) {
      r.gateway = full.gateway;
      r.prefsrc = full.prefsrc;
    }
  } else {
    r = routes_.route(dst);
  }
  if (!r.ok) {
    *why = Drop::kNoRoute;
    return false;
  }
  f.dst_zone = r.local ? rt.zones.local() : rt.zone_of_ifindex(r.oif, routes_);
  if (f.dst_zone == policy::kNoZone) {
    *why = Drop::kNoZone;
    return false;
  }
  static const std::string kAspfName = "aspf";
  const std::string* rule = &kAspfName;
  if (!aspf) {
    policy::Verdict v = rt.policy.match(f);
    if (!v.permit) {
      *why = Drop::kPolicyDeny;
      return false;
    }
    rule = v.rule;
  }
  // A packet the kernel will answer with time-exceeded is not translated
  // (the error must quote what the sender sent) and opens no session.
  if (p.ttl <= 1 && !r.local) {
    if (nat.dnat) {
      *why = Drop::kTtlExpiredNat;
      return false;
    }
    *created = Session{};
    return true;
  }
  if (aspf && sm->reserved) nat.dnat_release = true;
  if (aspf && !sm->sxaddr.empty() && p.ip_version == 4) {
    // The data channel leaves with its control session's translated address.
    nat.snat = true;
    nat.snat_addr = sm->sxaddr;
    nat.snat_port = p.sport;
    // A source port below the PAT range (FTP data from port 20) is kept as it
    // is: PAT never hands those out, and the reply key (with the peer's address
    // and port) keeps concurrent data connections apart. Others are allocated.
    if (uint8_t ap = alloc_proto(p.proto); ap && p.sport >= kPatPortLow) {
      auto port = nat_.ports.allocate(sm->sxaddr, ap, p.sport);
      if (!port) {
        *why = Drop::kNatExhausted;
        return false;
      }
      nat.snat_port = *port;
      nat.snat_kind = 1;
    }
  } else if (!nat.dnat && !source_nat(p, dst, f.src_zone, f.dst_zone, r, rt, &nat)) {
    *why = Drop::kNatExhausted;
    return false;
  }

  Session s;
  s.orig = key;
  // Replies come from the (translated) server to the (translated) client.
  s.reply.src = dst;
  s.reply.sport = dport;
  s.reply.dst = nat.snat ? nat.snat_addr : p.src;
  s.reply.dport = nat.snat ? nat.snat_port : p.sport;
  s.reply.proto = p.proto;
  if (p.proto == packet::kProtoIcmp || p.proto == packet::kProtoIcmpv6) {
    // Echo: the identifier is both "ports"; a translated id is the reply's.
    s.reply.sport = s.reply.dport;
  }
  if (p.proto == packet::kProtoGre) {
    // GRE carries only the receiver's call id. With a PPTP entry both keys are
    // known; without one the session is by address only.
    s.reply.sport = 0;
    if (aspf) {
      s.reply.dport = sm->reply_port;
      s.nat.reply_key = sm->reply_xport;
    } else {
      s.orig.dport = 0;
      s.reply.dport = 0;
    }
  }
  s.nat = nat;
  s.app = aspf && !sm->app.empty() ? app_by_name(sm->app) : app_for(p.proto, dport);
  if (s.app == 0xff) s.app = app_for(p.proto, dport);
  if (aspf) s.parent_id = sm->parent;
  if (!aspf) {
    s.alg = rt.detect.classify(f.src_zone, f.dst_zone, p.proto, dport);
  }
  s.src_zone = f.src_zone;
  s.dst_zone = f.dst_zone;
  s.policy = session::intern_name(*rule);
  s.in_ifindex = qp.indev;
  s.out_ifindex = r.oif;
  s.next_hop = r.gateway;
  s.created_ms = s.last_seen_ms = clock_.now_ms();
  s.packets[0] = 1;
  s.bytes[0] = qp.len;
  if (p.proto == packet::kProtoTcp)
    s.tcp_state = session::tcp_next(session::TcpState::kNone, Dir::kOriginal, p.tcp_flags);
  s.timeout_s =
      session::timeout_for(rt.timeouts, p.proto, s.tcp_state, dport, s.app == ftp_data_app_);

  Session copy = s;
  uint64_t id = 0;
  switch (table_.insert(std::move(s), &id)) {
    case session::InsertResult::kOk:
      *created = copy;
      created->id = id;
      return true;
    case session::InsertResult::kExists: {
      release_nat(copy);
      // Another worker created it a moment ago: follow that session.
      bool found = table_.with_session(key, [&](Session& es, Dir d) {
        update_session(es, d, p, qp.len, rt);
        *created = es;
      });
      if (!found) {
        *why = Drop::kNatCollision;
        return false;
      }
      return true;
    }
    case session::InsertResult::kFull:
      release_nat(copy);
      *why = Drop::kTableFull;
      return false;
  }
  return false;
}

void Pipeline::remember_fragment(const Parsed& p) {
  std::lock_guard<std::mutex> lk(frag_mu_);
  if (frags_.size() >= kFragCacheMax) return;
  frags_[{p.src, p.dst, p.frag_id, p.proto}] = clock_.now_ms() + kFragLifetimeMs;
}

bool Pipeline::fragment_known(const Parsed& p) {
  std::lock_guard<std::mutex> lk(frag_mu_);
  auto it = frags_.find({p.src, p.dst, p.frag_id, p.proto});
  return it != frags_.end() && it->second > clock_.now_ms();
}

void Pipeline::maintain() {
  size_t n = table_.size();
  table_.expire(n / 8 + 4096);
  servermap_.expire();
  retire_old();
  std::lock_guard<std::mutex> lk(frag_mu_);
  uint64_t now = clock_.now_ms();
  std::erase_if(frags_, [&](const auto& e) { return e.second <= now; });
}

}  // namespace fw::fwd
