#include "fwd/pipeline.h"

#include <linux/netfilter.h>

#include "common/log.h"
#include "fwd/app.h"

namespace fw::fwd {

using packet::Parsed;
using session::Dir;
using session::FlowKey;
using session::Session;

namespace {

constexpr uint64_t kRetireGraceMs = 5000;
constexpr uint64_t kFragLifetimeMs = 30'000;
constexpr size_t kFragCacheMax = 8192;

const char* kDropNames[] = {"malformed", "tcp-not-syn", "policy-deny", "no-zone", "no-route",
                            "session-limit", "fragment-no-session", "icmp-error-no-session"};

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

}  // namespace

Pipeline::Pipeline(const common::Clock& clock, session::SessionTable& table, RouteSource& routes)
    : clock_(clock),
      table_(table),
      routes_(routes),
      c_received_(common::counters().get("packet.received")),
      c_accepted_(common::counters().get("packet.accepted")),
      c_dropped_(common::counters().get("packet.dropped")),
      c_related_(common::counters().get("packet.accepted.icmp-error-related")) {
  for (size_t i = 0; i < c_drop_.size(); ++i) {
    c_drop_[i] = &common::counters().get(std::string("packet.drop.") + kDropNames[i]);
  }
  for (size_t i = 0; i <= static_cast<size_t>(packet::Malformed::kBadFragment); ++i) {
    c_malformed_[i] = &common::counters().get(
        "packet.malformed." + std::string(packet::malformed_name(static_cast<packet::Malformed>(i))));
  }
}

void Pipeline::set_runtime(std::unique_ptr<Runtime> rt) {
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
    if (d == Dir::kOriginal && (p.tcp_flags & (packet::kTcpSyn | packet::kTcpAck)) == packet::kTcpSyn &&
        s.tcp_state == session::TcpState::kClosing) {
      s.tcp_state = session::TcpState::kNone;
    }
    s.tcp_state = session::tcp_next(s.tcp_state, d, p.tcp_flags);
  }
  s.timeout_s = session::timeout_for(rt.timeouts, s.orig.proto, s.tcp_state, s.orig.dport, false);
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
  bool hit = table_.with_session(key, [&](Session& s, Dir d) { update_session(s, d, p, qp.len, *rt); });
  if (!hit && p.icmp_error) {
    // An error about a packet of a known flow is part of that flow.
    auto inner = packet::parse_quoted(
        std::span<const uint8_t>(qp.data + p.inner_offset, qp.len - p.inner_offset));
    if (inner) {
      FlowKey ik = key_of(*inner).reversed();
      if (table_.with_session(ik, [&](Session&, Dir) {})) {
        c_related_.inc();
        return accept();
      }
    }
    return drop(Drop::kIcmpNoSession);
  }
  if (!hit) {
    Drop why;
    if (!first_packet(qp, p, key, *rt, &why)) return drop(why);
  }
  if (p.is_fragment) remember_fragment(p);
  return accept();
}

bool Pipeline::first_packet(QueuedPacket& qp, const Parsed& p, const FlowKey& key, const Runtime& rt,
                            Drop* why) {
  // Only a SYN opens a TCP session; a stray ACK/data/RST is not a flow of ours.
  if (p.proto == packet::kProtoTcp &&
      (p.tcp_flags & (packet::kTcpSyn | packet::kTcpAck | packet::kTcpRst)) != packet::kTcpSyn) {
    *why = Drop::kTcpNotSyn;
    return false;
  }
  policy::FlowInfo f;
  f.src = p.src;
  f.dst = p.dst;
  f.proto = p.proto;
  f.sport = p.sport;
  f.dport = p.dport;
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
    RouteInfo full = routes_.route(p.dst);
    if (full.ok) r.gateway = full.gateway;
  } else {
    r = routes_.route(p.dst);
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
  policy::Verdict v = rt.policy.match(f);
  if (!v.permit) {
    *why = Drop::kPolicyDeny;
    return false;
  }

  Session s;
  s.orig = key;
  s.reply = key.reversed();
  s.app = app_for(p.proto, p.dport);
  s.src_zone = f.src_zone;
  s.dst_zone = f.dst_zone;
  s.policy = session::intern_name(*v.rule);
  s.in_ifindex = qp.indev;
  s.out_ifindex = r.oif;
  s.next_hop = r.gateway;
  s.created_ms = s.last_seen_ms = clock_.now_ms();
  s.packets[0] = 1;
  s.bytes[0] = qp.len;
  if (p.proto == packet::kProtoTcp) s.tcp_state = session::tcp_next(session::TcpState::kNone, Dir::kOriginal, p.tcp_flags);
  s.timeout_s = session::timeout_for(rt.timeouts, p.proto, s.tcp_state, p.dport, false);

  switch (table_.insert(std::move(s))) {
    case session::InsertResult::kOk:
      return true;
    case session::InsertResult::kExists:
      // Another worker created it a moment ago: follow that session.
      table_.with_session(key, [&](Session& es, Dir d) { update_session(es, d, p, qp.len, rt); });
      return true;
    case session::InsertResult::kFull:
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
  retire_old();
  std::lock_guard<std::mutex> lk(frag_mu_);
  uint64_t now = clock_.now_ms();
  std::erase_if(frags_, [&](const auto& e) { return e.second <= now; });
}

}  // namespace fw::fwd
