#include "fwd/pipeline.h"

#include <linux/netfilter.h>

#include <algorithm>

#include "common/log.h"
#include "fwd/appid_stage.h"
#include "fwd/evlog_events.h"
#include "fwd/trace.h"
#include "fwd/trace_live.h"

namespace fw::fwd {

using packet::Parsed;
using session::Dir;
using session::FlowKey;
using session::Session;

namespace {

constexpr uint64_t kFragLifetimeMs = 30'000;
constexpr size_t kFragCacheMax = 8192;

// One block per area, appended at the end.
// clang-format off
const char* kDropNames[] = {
    "malformed",          "tcp-not-syn",   "policy-deny",         "no-zone",
    "no-route",           "session-limit", "fragment-no-session", "icmp-error-no-session",
    "nat-pool-exhausted", "nat-collision", "ttl-expired-nat",     "service-manage-deny",
    // guard
    "tcp-invalid-flags", "land", "port-zero", "urpf",
    // "srclimit" area
    "source-session-limit", "source-rate-limit",
    // flood defence
    "syn-flood", "udp-flood", "icmp-flood",
    // "appid" area
    "application-deny",
    // "synproxy" area
    "syn-proxy-bad-ack", "syn-proxy-opening", "miss-ack-rate-limit",
    // "spi" area
    "spi-zero"};
// clang-format on
static_assert(std::size(kDropNames) == static_cast<size_t>(Drop::kCount));

FlowKey key_of(const Parsed& p) {
  FlowKey k;
  k.src = p.src;
  k.dst = p.dst;
  k.proto = p.proto;
  k.sport = p.sport;
  k.dport = p.dport;
  if (session::keyed_by_spi(p.proto)) session::set_key_spi(k, p.spi);  // "spi" area
  return k;
}

// ICMPv6 the network cannot work without (neighbour discovery, MLD): never
// subject to policy, never a session.
bool icmpv6_infrastructure(const Parsed& p) {
  if (p.proto != packet::kProtoIcmpv6) return false;
  uint8_t t = p.icmp_type;
  return (t >= 130 && t <= 137) || t == 143;
}

// IGMP, IPv4's MLD: membership messages to a multicast group with TTL 1 never leave the link
// (the kernel does not forward them); like MLD, never subject to policy, never a session. A
// bridge or a host on a firewall's interface sends its reports at random moments after an
// interface comes up: counting them as policy denies made the deny counter lie.
bool igmp_link_local(const Parsed& p) {
  return p.proto == packet::kProtoIgmp && p.dst.is_v4() && (p.dst.b[0] & 0xF0) == 224 && p.ttl <= 1;
}

// The link's own control traffic (ND, MLD, IGMP): accepted without policy or session.
bool link_control(const Parsed& p) { return icmpv6_infrastructure(p) || igmp_link_local(p); }

bool is_icmp(uint8_t proto) { return proto == packet::kProtoIcmp || proto == packet::kProtoIcmpv6; }

// Whether a rewritten packet's transport checksum is computed whole. A forwarded TCP GSO
// super-packet is segmented in software after a mangled verdict (the kernel marks it
// CHECKSUM_NONE), and tcp4_gso_segment then re-seeds every segment's checksum itself: a full
// recompute of up to 64 KiB here would be thrown away. Anything delivered locally, or not GSO,
// must leave fully checksummed.
bool full_checksum(const QueuedPacket& qp, const Parsed& p, bool forwarded) {
  return qp.csum_not_ready && !(qp.gso && forwarded && p.proto == packet::kProtoTcp);
}

}  // namespace

// Everything the first-packet stages learn about a new flow.
struct Pipeline::NewFlow {
  NewFlow(QueuedPacket& q, const Parsed& pp, const FlowKey& k, const Runtime& r)
      : qp(q), p(pp), key(k), rt(r) {}
  QueuedPacket& qp;
  const Parsed& p;
  const FlowKey& key;
  const Runtime& rt;
  Drop why = Drop::kMalformed;
  bool local_out = false;
  std::optional<session::ServerMapEntry> sm;  // the server-map entry it matched
  bool aspf = false;                          // admitted by an ALG entry: no policy
  bool managed = false;  // a ping to the firewall that `service-manage ping permit` admits
  common::IpAddr dst;    // destination after NAT server
  uint16_t dport = 0;
  policy::FlowInfo f;
  RouteInfo route;
  const std::string* rule = nullptr;
  session::NatInfo nat;
  bool no_session = false;     // expiring TTL: forwarded untranslated, no session
  bool pickup = false;         // a TCP flow picked up mid-stream (no SYN seen)
  int app = policy::kAppNone;  // "appid": what the first packet's payload says (policy.h)
  bool app_wait = false;       // "appid": admitted by a rule naming applications, undecided
  bool reversed = false;   // picked up from its responder's packet: the session runs the other way
  Session s;               // the session being built
  Session created;         // what is in the table afterwards (id set)
  Trace* trace = nullptr;  // packet-trace: report to it, and peek instead of changing anything
  // "synproxy" area: an ACK whose cookie is valid (the options it carries), and the SYN-ACK
  // that answered a SYN the proxy took.
  std::optional<session::SynOptions> proxy_ack;
  std::optional<Decision> answer;
  void reached(TraceStage st) const {
    if (trace) trace->stages.push_back(st);
  }
  // "evlog": the rule (or "default") that denied it.
  const std::string* deny_rule = nullptr;
};

const std::vector<std::string>& drop_reason_names() {
  static const std::vector<std::string> v(std::begin(kDropNames), std::end(kDropNames));
  return v;
}

Pipeline::Pipeline(const PipelineParts& parts)
    : parts_(parts),
      c_received_(parts.counters.get("packet.received")),
      c_accepted_(parts.counters.get("packet.accepted")),
      c_dropped_(parts.counters.get("packet.dropped")),
      c_related_(parts.counters.get("packet.accepted.icmp-error-related")),
      c_translated_(parts.counters.get("nat.translated")),
      c_local_icmp_(parts.counters.get("packet.accepted.local-icmp-error")),
      c_picked_up_(parts.counters.get("session.picked-up")),
      c_unreach_kernel_(parts.counters.get("packet.no-route.unreachable-by-kernel")),
      c_unreach_suppressed_(parts.counters.get("packet.no-route.unreachable-suppressed")),
      c_appid_identified_(parts.counters.get("appid.identified")),
      c_appid_unidentified_(parts.counters.get("appid.unidentified")),
      c_appid_denied_(parts.counters.get("appid.denied")),
      c_half_open_evicted_(parts.counters.get("session.half-open.evicted")) {
  live_ = std::make_unique<LiveTraces>(live_armed_);
  for (size_t i = 0; i < c_drop_.size(); ++i) {
    c_drop_[i] = &parts.counters.get(std::string("packet.drop.") + kDropNames[i]);
  }
  for (size_t i = 0; i <= static_cast<size_t>(packet::Malformed::kBadFragment); ++i) {
    c_malformed_[i] =
        &parts.counters.get("packet.malformed." +
                            std::string(packet::malformed_name(static_cast<packet::Malformed>(i))));
  }
}

Pipeline::~Pipeline() = default;

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

Decision Pipeline::process(QueuedPacket& qp) {
  std::lock_guard<std::mutex> lk(shared_reader_mu_);
  if (!shared_reader_) shared_reader_ = std::make_unique<RuntimeHolder::Reader>(parts_.runtimes);
  return process(qp, *shared_reader_);
}

Decision Pipeline::process(QueuedPacket& qp, RuntimeHolder::Reader& reader) {
  c_received_.inc();
  const Runtime* rt = reader.acquire();
  Decision d = !rt                                           ? drop(Drop::kNoZone)
               : live_armed_.load(std::memory_order_relaxed) ? run_live(qp, *rt)
                                                             : run(qp, *rt);
  reader.release();
  return d;
}

void Pipeline::update_session(Session& s, Dir d, const Parsed& p, uint32_t len, const Runtime& rt) {
  auto di = static_cast<size_t>(d);
  s.packets[di]++;
  s.bytes[di] += len;
  s.last_seen_ms = parts_.clock.now_ms();
  if (p.proto == packet::kProtoTcp) s.tcp_state = session::tcp_next(s.tcp_state, d, p.tcp_flags);
  if (s.half_open) half_open_update(s);           // "halfopen" area
  if (s.evlog && p.proto == packet::kProtoTcp) {  // "evlog": the close reason of a logged session
    if (p.tcp_flags & packet::kTcpRst) s.evlog |= session::kEvlogRst;
    if (p.tcp_flags & packet::kTcpFin) s.evlog |= session::kEvlogFin;
  }
  s.timeout_s = session::timeout_for(rt.timeouts, s.orig.proto, s.tcp_state, s.aging);
}

bool Pipeline::forwarded_by(const Session& s, Dir d, const Runtime& rt) {
  return (d == Dir::kOriginal ? s.dst_zone : s.src_zone) != rt.zones.local();
}

// run(): the packet, and what the visit of its session (under the session's lock) leaves for
// the rest of run().
struct Pipeline::RunState {
  RunState(QueuedPacket& q, Parsed& pp, const Runtime& r, aspf::TraceSink* t)
      : qp(q), p(pp), rt(r), alg_trace(t) {}
  QueuedPacket& qp;
  Parsed& p;
  const Runtime& rt;
  aspf::TraceSink* alg_trace;
  std::optional<Decision> dec;
  std::vector<aspf::EngineResult::ChildAging> aging;
  Session copy;  // a copy of a hit session without an ALG (translated outside its lock)
  Dir dir = Dir::kOriginal;
  uint64_t alg_session = 0;
  uint64_t reopened = 0;
  session::CloseReason reopened_why = session::CloseReason::kFin;  // "evlog"
  uint8_t appid_reset_to = 0;  // "appid": 1 = reset toward the receiver, 2 = back to the sender
  std::optional<Decision> proxy_dec;  // "synproxy": what a proxied session's packet became
};

Decision Pipeline::run(QueuedPacket& qp, const Runtime& rt, aspf::TraceSink* alg_trace) {
  auto res = packet::parse(std::span<const uint8_t>(qp.data, qp.len));
  if (const auto* m = std::get_if<packet::Malformed>(&res)) {
    c_malformed_[static_cast<size_t>(*m)]->inc();
    return drop(Drop::kMalformed);
  }
  Parsed& p = std::get<Parsed>(res);
  if (auto d = screen_packet(qp, p)) return *d;

  FlowKey key = key_of(p);
  RunState st{qp, p, rt, alg_trace};
  bool hit =
      parts_.table.with_session(key, [this, &st](Session& s, Dir d) { visit_session(st, s, d); });
  if (st.reopened) {
    parts_.table.erase(st.reopened, st.reopened_why);
    hit = false;
  }
  if (st.proxy_dec) return *st.proxy_dec;
  if (!hit) hit = lookup_fallback(st, key);
  if (st.appid_reset_to) return appid_reset(qp, st.copy, st.dir, st.appid_reset_to == 1);
  if (!hit && p.icmp_error) {
    if (auto d = on_icmp_error(qp, p)) return *d;
  }
  if (!hit) {
    if (auto d = run_new_flow(st, key)) return *d;
  }
  return run_translate(st);
}

// Before the session lookup: later fragments, the link's own traffic, bogus packets, SPI 0.
std::optional<Decision> Pipeline::screen_packet(const QueuedPacket& qp, const Parsed& p) {
  if (p.is_fragment && !p.first_fragment) {
    return fragment_known(p) ? accept() : drop(Drop::kFragment);
  }
  if (link_control(p)) return accept();
  if (auto d = guard_bogus(qp, p)) return *d;  // on a new flow and on a session alike
  // "spi" area: SPI 0 is the key of a direction not bound yet (session.h): never a packet's.
  if (session::keyed_by_spi(p.proto) && p.spi == 0) return drop(Drop::kSpiZero);
  return std::nullopt;
}

// run()'s work on the packet's session, under its lock.
void Pipeline::visit_session(RunState& st, Session& s, Dir d) {
  Parsed& p = st.p;
  // A new SYN on a closed 4-tuple is a new connection (port reuse after close): the old
  // session goes and the SYN is judged like any first packet (policy, NAT) - a changed
  // policy must not be bypassed through a reused tuple.
  if (d == Dir::kOriginal && p.proto == packet::kProtoTcp &&
      (p.tcp_flags & (packet::kTcpSyn | packet::kTcpAck)) == packet::kTcpSyn &&
      s.tcp_state == session::TcpState::kClosing) {
    st.reopened = s.id;
    st.reopened_why = session::closed_reason(s);
    return;
  }
  update_session(s, d, p, st.qp.len, st.rt);
  if (s.proxy && (st.proxy_dec = proxy_on_hit(st.qp, p, s, d))) return;  // "synproxy" area
  if ((s.appid & session::kAppidActive) && !appid_on_hit(s, d, p, st.qp.data, st.rt)) {
    st.appid_reset_to = (s.appid & session::kAppidReset) ? 2 : 1;  // "appid": denied
    s.appid |= session::kAppidReset;
    st.copy = s;
    st.dir = d;
    return;
  }
  st.dir = d;
  st.alg_session = s.alg ? s.id : 0;
  // A control session's ALG state lives in it: NAT and the ALG run under its lock.
  if (s.alg) {
    st.dec = on_hit(st.qp, p, s, d, st.rt, &st.aging, st.alg_trace);
  } else {
    st.copy = s;
  }
}

// No session under the packet's own key: one tracked by address pair alone, or a direction
// whose SPI is not bound yet.
bool Pipeline::lookup_fallback(RunState& st, const FlowKey& key) {
  auto visit = [this, &st](Session& s, Dir d) { visit_session(st, s, d); };
  bool hit = false;
  if (packet::key_is_optional(st.p.proto) && key.dport != 0) {
    // Tracked by address pair alone when no ALG knew its keys.
    FlowKey wide = key;
    wide.dport = 0;
    hit = parts_.table.with_session(wide, visit);
  }
  // "spi" area: the first packet of a direction whose SPI is not known yet binds it.
  if (!hit && session::keyed_by_spi(st.p.proto) && parts_.table.bind_spi(key)) {
    hit = parts_.table.with_session(key, visit);
  }
  return hit;
}

// A first packet: the stages, then the new session like a hit (nullopt) - unless it is
// refused, answered by the proxy, or forwarded without a session.
std::optional<Decision> Pipeline::run_new_flow(RunState& st, const FlowKey& key) {
  NewFlow nf{st.qp, st.p, key, st.rt};
  if (!first_packet(nf)) {
    if (nf.answer) return *nf.answer;  // "synproxy": the proxy's SYN-ACK
    if (events_) log_refused(nf);      // "evlog"
    return nf.why == Drop::kNoRoute ? drop_no_route(nf) : drop(nf.why);
  }
  if (nf.no_session) return accept();
  if (nf.proxy_ack) {  // "synproxy"
    return proxy_open_server(st.qp, *nf.proxy_ack, nf.created, st.rt);
  }
  st.copy = nf.created;
  st.dir = nf.reversed ? Dir::kReply : Dir::kOriginal;
  if (st.copy.alg) {
    // The first packet of a control session (a UDP request) is inspected too.
    st.alg_session = st.copy.id;
    parts_.table.with_session_id(st.copy.id, [&](Session& s) {
      st.dec = on_hit(st.qp, st.p, s, Dir::kOriginal, st.rt, &st.aging, st.alg_trace);
    });
  }
  return std::nullopt;
}

// The end of run(): the fragment remembered, an ALG's children aged, then the ALG's decision or
// the session's translation.
Decision Pipeline::run_translate(RunState& st) {
  if (st.p.is_fragment) remember_fragment(st.p);
  for (const auto& a : st.aging) age_children(st.alg_session, a.proto, a.port_a, a.port_b);
  if (st.dec) return *st.dec;
  const bool forwarded = forwarded_by(st.copy, st.dir, st.rt);
  if (st.copy.proxy) {  // "synproxy"
    return proxy_translated(translate(st.qp, st.p, st.copy, st.dir, forwarded), st.qp);
  }
  return translate(st.qp, st.p, st.copy, st.dir, forwarded);
}

Decision Pipeline::on_hit(QueuedPacket& qp, Parsed& p, Session& s, Dir d, const Runtime& rt,
                          std::vector<aspf::EngineResult::ChildAging>* aging,
                          aspf::TraceSink* alg_trace) {
  Decision dec = translate(qp, p, s, d, forwarded_by(s, d, rt));
  if (dec.verdict != Verdict::kAccept) return dec;
  uint32_t len = qp.len;
  aspf::EngineResult r = parts_.aspf.process(qp.data, &len, qp.capacity, p, s, d, alg_trace);
  *aging = std::move(r.age_children);
  if (r.hold_until_ms) {
    // The ALG holds the session (a SIP registration): age it no sooner.
    const uint64_t left_s = (r.hold_until_ms - parts_.clock.now_ms() + 999) / 1000;
    s.timeout_s = std::max<uint32_t>(s.timeout_s,
                                     static_cast<uint32_t>(std::min<uint64_t>(left_s, UINT32_MAX)));
  }
  if (r.drop) return drop(Drop::kMalformed);
  if (!r.modified) return dec;
  qp.len = len;
  return {Verdict::kAccept, true, len};
}

std::optional<Decision> Pipeline::on_icmp_error(QueuedPacket& qp, const Parsed& p) {
  // An error about a packet of a known flow is part of that flow (and is
  // translated like it).
  auto inner = packet::parse_quoted(
      std::span<const uint8_t>(qp.data + p.inner_offset, qp.len - p.inner_offset));
  if (inner && !inner->icmp_error) {
    Session s;
    Dir dir = Dir::kOriginal;
    if (session::keyed_by_spi(inner->proto)  // "spi" area
            ? spi_error_session(*inner, &s, &dir)
            : parts_.table.with_session(key_of(*inner).reversed(), [&](Session& hs, Dir d) {
                s = hs;
                dir = d;
              })) {
      c_related_.inc();
      switch (parts_.nat.apply_icmp_error(std::span<uint8_t>(qp.data, qp.len), p, s, dir)) {
        case nat::Translator::Applied::kUntouched:
          return accept();
        case nat::Translator::Applied::kRewritten:
          c_translated_.inc();
          c_accepted_.inc();
          return Decision{Verdict::kAccept, true, qp.len};
        default:
          return drop(Drop::kMalformed);
      }
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

Decision Pipeline::translate(QueuedPacket& qp, const Parsed& p, const Session& s, Dir d,
                             bool forwarded) {
  switch (parts_.nat.apply(std::span<uint8_t>(qp.data, qp.len), p, s, d,
                           full_checksum(qp, p, forwarded))) {
    case nat::Translator::Applied::kUntouched:
      return accept();
    case nat::Translator::Applied::kRewritten:
      c_translated_.inc();
      c_accepted_.inc();
      return {Verdict::kAccept, true, qp.len};
    case nat::Translator::Applied::kTtlExpired:
      return drop(Drop::kTtlExpiredNat);
    case nat::Translator::Applied::kMalformed:
      break;
  }
  return drop(Drop::kMalformed);
}

void Pipeline::age_children(uint64_t parent, uint8_t proto, uint16_t a, uint16_t b) {
  const Runtime* rt = parts_.runtimes.current();
  const uint32_t t = rt ? rt->timeouts.of(rt->timeouts.fin_rst) : 10;
  auto kids = parts_.table.snapshot([&](const Session& s) {
    return s.parent_id == parent && s.orig.proto == proto &&
           (s.orig.dport == a || s.orig.dport == b || s.reply.dport == a || s.reply.dport == b);
  });
  for (const auto& k : kids) {
    parts_.table.with_session_id(k.id, [&](Session& s) { s.timeout_s = std::min(s.timeout_s, t); });
  }
}

// ---- first packet ---------------------------------------------------------------

bool Pipeline::first_packet(NewFlow& nf) {
  return stage_opens_flow(nf) && stage_ingress_zone(nf) && stage_urpf(nf) && stage_anti_ddos(nf) &&
         stage_servermap(nf) && stage_route(nf) && stage_service_manage(nf) && stage_appid(nf) &&
         stage_policy(nf) && stage_expiring(nf) && stage_syn_proxy(nf) && stage_nat(nf) &&
         stage_alg(nf) && stage_appid_label(nf) && stage_source_limit(nf) && stage_create(nf);
}

// Only a SYN opens a TCP session; a stray ACK/data/RST is not a flow of ours -
// unless mid-stream pickup is on (never a RST).
bool Pipeline::stage_opens_flow(NewFlow& nf) {
  nf.reached(TraceStage::kOpensFlow);
  if (nf.p.proto != packet::kProtoTcp) return true;
  const auto flags = nf.p.tcp_flags & (packet::kTcpSyn | packet::kTcpAck | packet::kTcpRst);
  if (flags == packet::kTcpSyn) return true;
  if (flags == (packet::kTcpSyn | packet::kTcpAck) && nf.rt.miss_ack_rate && !nf.trace &&
      !parts_.synproxy.admit_miss_ack(nf.rt.miss_ack_rate)) {  // "synproxy": a SYN-ACK flood
    nf.why = Drop::kMissAckRateLimit;
    return false;
  }
  if (flags == packet::kTcpAck && nf.rt.syn_proxy_any) {  // "synproxy": the ACK of a cookie?
    nf.proxy_ack = proxy_check_ack(nf.p, nf.trace != nullptr);
    if (nf.proxy_ack) return true;
    if (pickup_until_.load(std::memory_order_relaxed) <= parts_.clock.now_ms()) {
      nf.why = Drop::kSynProxyBadAck;
      return false;
    }
  }
  if (!(flags & packet::kTcpRst) &&
      pickup_until_.load(std::memory_order_relaxed) > parts_.clock.now_ms()) {
    nf.pickup = true;
    return true;
  }
  nf.why = Drop::kTcpNotSyn;
  return false;
}

// Source zone: the ingress interface's, or local for the firewall's own packets.
bool Pipeline::stage_ingress_zone(NewFlow& nf) {
  nf.reached(TraceStage::kIngressZone);
  nf.local_out = nf.qp.hook == NF_INET_LOCAL_OUT || nf.qp.indev == 0;
  nf.f.src_zone =
      nf.local_out ? nf.rt.zones.local() : nf.rt.zone_of_ifindex(nf.qp.indev, parts_.routes);
  if (nf.f.src_zone == policy::kNoZone) {
    nf.why = Drop::kNoZone;
    return false;
  }
  return true;
}

// The server-map comes before policy: a NAT server (or an ALG entry naming the
// inside endpoint) translates the destination; the policy then sees the
// private address, and a flow an ALG admitted bypasses policy.
bool Pipeline::stage_servermap(NewFlow& nf) {
  nf.reached(TraceStage::kServerMap);
  const Parsed& p = nf.p;
  nf.dst = p.dst;
  nf.dport = p.dport;
  nf.sm = nf.trace ? parts_.servermap.peek_dst(p.proto, p.src, p.dst, p.dport)
                   : parts_.servermap.match_dst(p.proto, p.src, p.dst, p.dport);
  if (nf.sm) {
    parts_.nat.destination(*nf.sm, p, &nf.nat);
    if (nf.nat.dnat) {
      nf.dst = nf.nat.dnat_addr;
      nf.dport = nf.nat.dnat_port;
    }
    nf.aspf = nf.sm->type == session::MapType::kAspf;
  }
  nf.f.src = p.src;
  nf.f.dst = nf.dst;
  nf.f.proto = p.proto;
  nf.f.sport = p.sport;
  nf.f.dport = nf.dport;
  if (is_icmp(p.proto)) nf.f.icmp_type = p.icmp_type;
  return true;
}

// Destination zone: where the kernel's FIB sends it.
bool Pipeline::stage_route(NewFlow& nf) {
  nf.reached(TraceStage::kRoute);
  if (nf.local_out && nf.qp.outdev != 0) {
    nf.route.ok = true;
    nf.route.oif = nf.qp.outdev;
    RouteInfo full = parts_.routes.route(nf.dst);
    if (full.ok) {
      nf.route.gateway = full.gateway;
      nf.route.prefsrc = full.prefsrc;
    }
  } else {
    nf.route = parts_.routes.route(nf.dst);
  }
  if (!nf.route.ok) {
    nf.why = Drop::kNoRoute;
    return false;
  }
  nf.f.dst_zone =
      nf.route.local ? nf.rt.zones.local() : nf.rt.zone_of_ifindex(nf.route.oif, parts_.routes);
  if (nf.f.dst_zone == policy::kNoZone) {
    nf.why = Drop::kNoZone;
    return false;
  }
  return true;
}

// `service-manage ping permit|deny` on the ingress interface decides whether an echo request
// to the firewall itself is answered (permit: without asking the security policy); without it
// the policy decides. Forwarded pings are not concerned.
bool Pipeline::stage_service_manage(NewFlow& nf) {
  nf.reached(TraceStage::kServiceManage);
  if (nf.local_out || !nf.route.local || !nf.p.icmp_echo_request || nf.sm) return true;
  switch (nf.rt.ping_manage(nf.qp.indev, parts_.routes)) {
    case config::InterfaceSettings::Manage::kDeny:
      nf.why = Drop::kServiceManage;
      return false;
    case config::InterfaceSettings::Manage::kPermit:
      nf.managed = true;
      return true;
    default:
      return true;
  }
}

bool Pipeline::stage_policy(NewFlow& nf) {
  nf.reached(TraceStage::kPolicy);
  static const std::string kAspfName = "aspf";
  static const std::string kManageName = "service-manage";
  if (nf.aspf) {
    nf.rule = &kAspfName;
    return true;
  }
  if (nf.managed) {
    nf.rule = &kManageName;
    return true;
  }
  policy::Verdict v = policy_match(nf, nf.f);
  if (v.pending) {  // "appid": admitted until identified, then judged again
    nf.app_wait = true;
    v.permit = true;
  }
  if (!v.permit && nf.pickup && !nf.sm) {
    // Mid-stream, the packet may be the responder's: it belongs to a connection the policy
    // permits the other way (as conntrack's loose pickup admits either direction).
    policy::FlowInfo r = nf.f;
    std::swap(r.src, r.dst);
    std::swap(r.sport, r.dport);
    std::swap(r.src_zone, r.dst_zone);
    if (policy::Verdict rv = policy_match(nf, r); rv.permit) {
      nf.reversed = true;
      v = rv;
    }
  }
  if (nf.trace && v.rule) nf.trace->policy_rule = *v.rule;
  if (v.session_logging) nf.s.evlog = session::kEvlogOn;  // "evlog"
  if (!v.permit) {
    nf.deny_rule = v.rule;  // "evlog"
    nf.why = Drop::kPolicyDeny;
    return false;
  }
  nf.rule = v.rule;
  return true;
}

// A packet the kernel will answer with time-exceeded is not translated (the
// error must quote what the sender sent) and opens no session. The firewall's own packets
// (tracert's TTL 1 probes) are not forwarded: their TTL does not expire here, and their
// answers need the session.
bool Pipeline::stage_expiring(NewFlow& nf) {
  nf.reached(TraceStage::kExpiring);
  if (nf.p.ttl > 1 || nf.route.local || nf.local_out) return true;
  if (nf.nat.dnat) {
    nf.why = Drop::kTtlExpiredNat;
    return false;
  }
  nf.no_session = true;
  return true;
}

bool Pipeline::stage_nat(NewFlow& nf) {
  nf.reached(TraceStage::kNat);
  if (nf.no_session) return true;
  if (nf.pickup && nf.aspf) {
    nf.why = Drop::kTcpNotSyn;  // an ALG entry admits a connection being opened, not a stream
    return false;
  }
  if (nf.aspf) {
    if (parts_.nat.inherit(*nf.sm, nf.p, &nf.nat, nf.trace != nullptr)) return true;
    nf.why = Drop::kNatExhausted;
    return false;
  }
  if (nf.nat.dnat) return true;  // a NAT server's inbound flow: no source NAT
  nat::FlowRequest r;
  r.p = &nf.p;
  r.dst = nf.dst;
  r.src_zone = nf.f.src_zone;
  r.dst_zone = nf.f.dst_zone;
  std::string egress;
  if (nf.route.ok && nf.route.oif) egress = parts_.routes.ifname(nf.route.oif);
  r.egress_if = egress;
  r.egress_addr = nf.route.prefsrc;
  if (nf.pickup) {
    // Its translation died with the fwd that made it: only a flow that needs none resumes.
    packet::Parsed rp = nf.p;
    if (nf.reversed) {
      std::swap(rp.src, rp.dst);
      std::swap(rp.sport, rp.dport);
      std::swap(r.src_zone, r.dst_zone);
      r.p = &rp;
      r.dst = nf.p.src;
      egress = parts_.routes.ifname(nf.qp.indev);
      r.egress_if = egress;
    }
    if (!parts_.nat.translates_source(r, nf.rt.nat, !nf.trace)) return true;
    nf.why = Drop::kTcpNotSyn;
    return false;
  }
  const nat::SourceDecision sd = parts_.nat.source(r, nf.rt.nat, &nf.nat, nf.trace != nullptr);
  if (nf.trace && sd.rule) nf.trace->snat_rule = *sd.rule;
  if (sd.ok) return true;
  nf.why = Drop::kNatExhausted;
  return false;
}

// Keys, application and aging of the new session; an ALG completes the flows
// its entries admit, or is chosen to inspect a new control session.
bool Pipeline::stage_alg(NewFlow& nf) {
  nf.reached(TraceStage::kAlg);
  if (nf.no_session) return true;
  const Parsed& p = nf.p;
  Session& s = nf.s;
  if (nf.reversed) {
    // Picked up from the responder: no NAT, no ALG, the connection's own direction.
    s.orig = nf.key.reversed();
    s.reply = nf.key;
    s.app = parts_.apps.for_flow(p.proto, p.sport);
    return true;
  }
  s.orig = nf.key;
  // Replies come from the (translated) server to the (translated) client.
  s.reply.src = nf.dst;
  s.reply.sport = nf.dport;
  s.reply.dst = nf.nat.snat ? nf.nat.snat_addr : p.src;
  s.reply.dport = nf.nat.snat ? nf.nat.snat_port : p.sport;
  s.reply.proto = p.proto;
  // Echo: the identifier is both "ports"; a translated id is the reply's.
  if (is_icmp(p.proto)) s.reply.sport = s.reply.dport;
  s.nat = nf.nat;
  if (nf.aspf) {
    aspf::ChildFlow c{s.orig, s.reply, s.nat};
    parts_.aspf.child_flow(*nf.sm, c);
    s.orig = c.orig;
    s.reply = c.reply;
    s.nat = c.nat;
    s.app = parts_.apps.for_channel(nf.sm->alg, nf.sm->channel);
    s.parent_id = nf.sm->parent;
    return true;
  }
  if (packet::key_is_optional(p.proto)) {
    // Nothing knows both directions' keys: track the address pair alone.
    s.orig.sport = s.orig.dport = 0;
    s.reply.sport = s.reply.dport = 0;
  }
  // "spi" area: the reply's SPI is the other peer's choice, bound by its first packet.
  if (session::keyed_by_spi(p.proto)) session::set_key_spi(s.reply, 0);
  s.app = parts_.apps.for_flow(p.proto, nf.dport);
  s.alg = nf.rt.detect.classify(nf.f.src_zone, nf.f.dst_zone, p.proto, nf.dport);
  return true;
}

// "srclimit" area: one more session of this source address, if its zone's limits allow it. The
// firewall's own flows, flows picked up mid-stream and flows without a session are not counted.
bool Pipeline::stage_source_limit(NewFlow& nf) {
  nf.reached(TraceStage::kSourceLimit);
  if (nf.no_session || nf.pickup || nf.local_out || !nf.rt.source_limits_any) return true;
  const session::SourceLimits lim = nf.rt.source_limits_of(nf.f.src_zone);
  if (!lim.any()) return true;
  switch (nf.trace ? parts_.sources.peek(nf.p.src, lim) : parts_.sources.acquire(nf.p.src, lim)) {
    case session::SourceVerdict::kOk:
      nf.s.nat.source_counted = !nf.trace;
      return true;
    case session::SourceVerdict::kSessionLimit:
      nf.why = Drop::kSourceSessionLimit;
      break;
    case session::SourceVerdict::kRateLimit:
      nf.why = Drop::kSourceRateLimit;
      break;
  }
  if (!nf.trace) parts_.nat.release(nf.s.orig, nf.s.nat);
  return false;
}

// "appid" area (fwd/appid_stage.cpp): what the first payload says, before the policy is asked.
// Flows an ALG's entry admitted are its children (their name is the channel's), pings to the
// firewall are not applications, and a stream picked up mid-way has lost its beginning.
bool Pipeline::stage_appid(NewFlow& nf) {
  if (nf.aspf || nf.managed || nf.pickup) return true;
  nf.app = appid_first(nf.p, nf.qp.data);
  return true;
}

// "appid" area: an identified flow shows the application's name; an undecided one is looked at
// further (on_session -> appid_on_hit).
bool Pipeline::stage_appid_label(NewFlow& nf) {
  if (nf.no_session || nf.aspf || nf.reversed || nf.pickup) return true;
  if (nf.app == policy::kAppUndecided) {
    nf.s.appid = session::kAppidPending | (nf.app_wait ? session::kAppidPolicyWait : 0);
  } else if (nf.app > 0) {
    const auto a = static_cast<appid::App>(nf.app);
    nf.s.appid = static_cast<uint8_t>(nf.app);
    nf.s.app = parts_.apps.for_identified(a, nf.p.proto);
    if (!nf.s.alg) {  // ASPF follows identification (see appid_on_hit)
      nf.s.alg = nf.rt.detect.classify_application(nf.f.src_zone, nf.f.dst_zone, nf.p.proto,
                                                   appid::name(a));
    }
    if (!nf.trace) c_appid_identified_.inc();  // (a trace counts nothing: live traces run one)
  } else if (!nf.trace && (nf.p.proto == packet::kProtoTcp || nf.p.proto == packet::kProtoUdp)) {
    c_appid_unidentified_.inc();
  }
  return true;
}

bool Pipeline::stage_create(NewFlow& nf) {
  nf.reached(TraceStage::kCreate);
  if (nf.no_session) return true;
  const uint32_t half_open_limit = build_session(nf);
  if (nf.trace) return trace_create(nf);
  // "evlog": a flow an ALG entry admitted is logged when its control session is.
  if (events_ && nf.aspf && nf.sm && nf.sm->parent) {
    parts_.table.with_session_id(nf.sm->parent,
                                 [&](Session& ps) { nf.s.evlog = ps.evlog & session::kEvlogOn; });
  }
  return insert_session(nf, half_open_limit);
}

// The new session's zones, interfaces, counts, state and timeout; returns the half-open limit
// of its zone.
uint32_t Pipeline::build_session(NewFlow& nf) {
  const Parsed& p = nf.p;
  Session& s = nf.s;
  const Dir d = nf.reversed ? Dir::kReply : Dir::kOriginal;
  s.aging = parts_.apps.aging(s.app, p.proto);
  s.src_zone = nf.reversed ? nf.f.dst_zone : nf.f.src_zone;
  s.dst_zone = nf.reversed ? nf.f.src_zone : nf.f.dst_zone;
  if (!nf.trace) s.policy = static_cast<uint16_t>(parts_.names.intern(*nf.rule));
  s.in_ifindex = nf.reversed ? nf.route.oif : nf.qp.indev;
  s.out_ifindex = nf.reversed ? nf.qp.indev : nf.route.oif;
  if (!nf.reversed) s.next_hop = nf.route.gateway;
  s.created_ms = s.last_seen_ms = parts_.clock.now_ms();
  s.packets[static_cast<size_t>(d)] = 1;
  s.bytes[static_cast<size_t>(d)] = nf.qp.len;
  if (p.proto == packet::kProtoTcp) {
    s.tcp_state = session::tcp_next(session::TcpState::kNone, d, p.tcp_flags);
  }
  if (nf.proxy_ack) {  // "synproxy": the proxy now sends the SYN to the server
    s.tcp_state = session::TcpState::kSynSent;
    s.proxy = session::kProxyOn | session::kProxyOpening;
    s.proxy_seq = p.ack - 1;  // the cookie
    s.proxy_wscale = nf.proxy_ack->wscale & 0x0f;
  }
  // "halfopen" area: a plain SYN opens a half-open session (limited per destination).
  const uint32_t half_open_limit = nf.rt.half_open_limit_of(s.src_zone);
  s.half_open = !nf.proxy_ack && !nf.reversed && !nf.pickup && half_open_limit &&
                s.tcp_state == session::TcpState::kSynSent;
  s.timeout_s = session::timeout_for(nf.rt.timeouts, p.proto, s.tcp_state, s.aging);
  return half_open_limit;
}

// The new session into the table; when it cannot go in, its NAT port and source count are given
// back.
bool Pipeline::insert_session(NewFlow& nf, uint32_t half_open_limit) {
  Session& s = nf.s;
  uint64_t id = 0;
  switch (parts_.table.insert(s, &id)) {
    case session::InsertResult::kOk:
      if (nf.pickup) c_picked_up_.inc();
      nf.created = s;
      nf.created.id = id;
      if (s.evlog && events_) events_->session_created(nf.created);       // "evlog"
      if (s.half_open) half_open_track(id, s.orig.dst, half_open_limit);  // "halfopen"
      return true;
    case session::InsertResult::kExists: {
      parts_.nat.release(s.orig, s.nat);
      if (s.nat.source_counted) parts_.sources.release(s.orig.src);
      // Another worker created it a moment ago: follow that session.
      bool found = parts_.table.with_session(nf.key, [&](Session& es, Dir d) {
        update_session(es, d, nf.p, nf.qp.len, nf.rt);
        nf.created = es;
      });
      if (!found) nf.why = Drop::kNatCollision;
      return found;
    }
    case session::InsertResult::kFull:
      parts_.nat.release(s.orig, s.nat);
      if (s.nat.source_counted) parts_.sources.release(s.orig.src);
      nf.why = Drop::kTableFull;
      return false;
  }
  return false;
}

// ---- guard (issue 16 items 7, 8) ---------------------------------------------------

// Invalid TCP flags, LAND, port 0: dropped before the session lookup, so a SYN+FIN cannot
// ride an existing session either. lo (ifindex 1 in every namespace) and the firewall's own
// packets may carry src == dst.
std::optional<Decision> Pipeline::guard_bogus(const QueuedPacket& qp, const Parsed& p) {
  const bool loopback = qp.hook == NF_INET_LOCAL_OUT || qp.indev == 0 || qp.indev == 1;
  switch (bogus_packet(p, loopback)) {
    case Bogus::kNone:
      return std::nullopt;
    case Bogus::kTcpFlags:
      return drop(Drop::kTcpInvalidFlags);
    case Bogus::kLand:
      return drop(Drop::kLand);
    case Bogus::kPortZero:
      return drop(Drop::kPortZero);
  }
  return std::nullopt;
}

// `urpf strict|loose` of the ingress zone: the route back to the source (one FIB lookup,
// only in a zone that has it on).
bool Pipeline::stage_urpf(NewFlow& nf) {
  nf.reached(TraceStage::kUrpf);
  if (nf.local_out || nf.f.src_zone == policy::kNoZone) return true;
  const config::Urpf mode = nf.rt.urpf_by_zone[nf.f.src_zone];
  if (mode == config::Urpf::kOff) return true;
  if (urpf_passes(mode, parts_.routes.route(nf.p.src), nf.qp.indev)) return true;
  nf.why = Drop::kUrpf;
  return false;
}

// Flood defence: a new session to a destination that already receives its zone's `anti-ddos
// ... max-rate` per second is refused - before the server-map, route, policy and table work, so
// a random-source flood costs little. The first refusal of a quiet kind is logged.
bool Pipeline::stage_anti_ddos(NewFlow& nf) {
  nf.reached(TraceStage::kAntiDdos);
  if (!nf.rt.anti_ddos_any || nf.local_out || nf.proxy_ack) return true;
  const config::AntiDdos a = nf.rt.anti_ddos_of(nf.f.src_zone);
  session::FloodKind k;
  uint32_t rate;
  if (nf.p.proto == packet::kProtoTcp) {
    k = session::FloodKind::kSyn, rate = a.syn_max_rate;
  } else if (nf.p.proto == packet::kProtoUdp) {
    k = session::FloodKind::kUdp, rate = a.udp_max_rate;
  } else if (nf.p.proto == packet::kProtoIcmp || nf.p.proto == packet::kProtoIcmpv6) {
    k = session::FloodKind::kIcmp, rate = a.icmp_max_rate;
  } else {
    return true;
  }
  if (rate == 0) return true;
  const session::FloodVerdict v =
      nf.trace ? parts_.floods.peek(k, nf.p.dst, rate) : parts_.floods.admit(k, nf.p.dst, rate);
  if (v == session::FloodVerdict::kOk) return true;
  if (v == session::FloodVerdict::kAttackStarts) {
    FW_LOG(kWarn, "anti-ddos: " << session::flood_kind_name(k)
                                << " attack started: new sessions to " << nf.p.dst.str()
                                << " above " << rate << "/s are refused");
    if (events_) events_->attack_started(session::flood_kind_name(k), nf.p.dst, rate);  // "evlog"
  }
  nf.why = static_cast<Drop>(static_cast<int>(Drop::kSynFlood) + static_cast<int>(k));
  return false;
}

// "synproxy" area: above its zone's alert rate of SYNs to the destination (always with 0), a
// SYN the policy permits is answered by the proxy (SYN-ACK with a cookie) and leaves nothing
// behind. Not for an ALG's control port (its rewrites and the proxy's translation would have
// to be ordered), nor for the firewall's own flows.
bool Pipeline::stage_syn_proxy(NewFlow& nf) {
  if (!nf.rt.syn_proxy_any || nf.p.proto != packet::kProtoTcp || nf.proxy_ack || nf.trace ||
      nf.local_out || nf.no_session || nf.pickup || nf.aspf || nf.reversed) {
    return true;
  }
  const config::AntiDdos a = nf.rt.anti_ddos_of(nf.f.src_zone);
  if (!a.tcp_proxy || nf.rt.detect.classify(nf.f.src_zone, nf.f.dst_zone, nf.p.proto, nf.dport))
    return true;
  if (!parts_.synproxy.should_proxy(nf.p.dst, a.proxy_alert_rate)) return true;
  nf.answer = proxy_answer_syn(nf.qp, nf.p);
  return false;
}

// No route: counted as a no-route drop, but a forwarded packet that may be answered is
// (within 100/s, burst 100; beyond: dropped, counted suppressed) accepted, so that the kernel's own
// routing finds no route either and answers ICMP net unreachable (ip_error / ip6_pkt_drop:
// rate-limited and counted by the kernel, sent through OUTPUT where fwd accepts it as
// local-icmp-error). The firewall's own packets get the kernel's error from their socket anyway.
Decision Pipeline::drop_no_route(const NewFlow& nf) {
  Decision d = drop(Drop::kNoRoute);
  // (Not after a NAT server's translation: the kernel would route the untranslated address.)
  if (nf.local_out || nf.sm || !may_answer_unreachable(nf.p)) return d;
  if (!unreach_limit_.take(parts_.clock.now_ms())) {
    c_unreach_suppressed_.inc();
    return d;
  }
  c_unreach_kernel_.inc();
  return {Verdict::kAccept, false, 0, kMarkNoForward};
}

// ---- fragments and maintenance ----------------------------------------------------

void Pipeline::remember_fragment(const Parsed& p) {
  std::lock_guard<std::mutex> lk(frag_mu_);
  if (frags_.size() >= kFragCacheMax) return;
  frags_[{p.src, p.dst, p.frag_id, p.proto}] = parts_.clock.now_ms() + kFragLifetimeMs;
}

bool Pipeline::fragment_known(const Parsed& p) {
  std::lock_guard<std::mutex> lk(frag_mu_);
  auto it = frags_.find({p.src, p.dst, p.frag_id, p.proto});
  return it != frags_.end() && it->second > parts_.clock.now_ms();
}

void Pipeline::maintain() {
  size_t n = parts_.table.size();
  parts_.table.expire(n / 8 + 4096);
  parts_.servermap.expire();
  parts_.sources.expire();
  for (const auto& e : parts_.floods.tick()) {
    FW_LOG(kWarn, "anti-ddos: " << session::flood_kind_name(e.kind) << " attack ended: "
                                << e.stats.refused_this_attack << " new sessions refused in "
                                << (e.stats.ended_ms - e.stats.started_ms) / 1000 << " s");
    if (events_)  // "evlog"
      events_->attack_ended(session::flood_kind_name(e.kind), e.stats.refused_this_attack,
                            (e.stats.ended_ms - e.stats.started_ms) / 1000);
  }
  half_open_maintain();  // "halfopen" area
  parts_.runtimes.reclaim();
  std::lock_guard<std::mutex> lk(frag_mu_);
  uint64_t now = parts_.clock.now_ms();
  std::erase_if(frags_, [&](const auto& e) { return e.second <= now; });
}

// "evlog" area: a refused first packet the event log reports (sampled there).
void Pipeline::log_refused(const NewFlow& nf) {
  Events::Sampled kind;
  if (nf.why == Drop::kPolicyDeny) {
    kind = Events::Sampled::kPolicyDeny;
  } else if (nf.why == Drop::kNatExhausted) {
    kind = Events::Sampled::kNatExhausted;
  } else if (nf.why == Drop::kTableFull) {
    kind = Events::Sampled::kTableFull;
  } else {
    return;
  }
  const std::string* rule = nf.deny_rule ? nf.deny_rule : nf.rule;
  events_->flow_refused(kind, nf.key, nf.f.src_zone, nf.f.dst_zone, rule ? *rule : "");
}

// ---- packet-trace (issue 15 item 1) ------------------------------------------------

policy::Verdict Pipeline::policy_match(const NewFlow& nf, const policy::FlowInfo& f) const {
  return nf.trace ? nf.rt.policy.peek(f, nf.app) : nf.rt.policy.match(f, nf.app);
}

// Instead of the insert, what insert() would answer (the session gets no id): a key of the new
// session already in the table is kExists - then the packet follows the session its own key
// finds, or is a NAT collision - and a full table is kFull.
bool Pipeline::trace_create(NewFlow& nf) {
  auto none = [](Session&, Dir) {};
  if (parts_.table.with_session(nf.s.orig, none) || parts_.table.with_session(nf.s.reply, none)) {
    if (parts_.table.with_session(nf.key, none)) {
      nf.created = nf.s;
      return true;
    }
    nf.why = Drop::kNatCollision;
    return false;
  }
  if (parts_.table.size() >= parts_.table.capacity()) {
    nf.why = Drop::kTableFull;
    return false;
  }
  nf.created = nf.s;
  return true;
}

void Pipeline::trace(QueuedPacket& qp, Trace& t) {
  std::lock_guard<std::mutex> lk(shared_reader_mu_);
  if (!shared_reader_) shared_reader_ = std::make_unique<RuntimeHolder::Reader>(parts_.runtimes);
  const Runtime* rt = shared_reader_->acquire();
  if (rt) {
    trace_run(qp, *rt, t);
  } else {
    t.drop = Drop::kNoZone;
  }
  shared_reader_->release();
}

// "spi" area: the session an ICMP error quoting an ESP/AH packet is about. The quoted packet
// shows one direction's SPI only, so its own key is looked up (the error travels the other
// way), then the other direction's key while that one is unbound. A packet quoted after source
// NAT whose session's reply is bound already finds nothing (the error is then judged alone).
bool Pipeline::spi_error_session(const Parsed& inner, Session* s, Dir* dir) {
  auto take = [&](Session& hs, Dir d) {
    *s = hs;
    *dir = session::other(d);
  };
  if (inner.spi != 0 && parts_.table.with_session(key_of(inner), take)) return true;
  FlowKey back = key_of(inner).reversed();
  session::set_key_spi(back, 0);
  bool found = false;
  parts_.table.with_session(back, [&](Session& hs, Dir d) {
    // The quoted packet went the other way: that direction's SPI must be the quoted one.
    if (session::key_spi(d == Dir::kReply ? hs.orig : hs.reply) != inner.spi) return;
    *s = hs;
    *dir = d;
    found = true;
  });
  return found;
}

// The session lookup of run(), reading only: true when the packet belongs to a session.
bool Pipeline::trace_lookup(const Parsed& p, const FlowKey& key, Trace& t) {
  auto peek = [&](Session& s, Dir d) {
    t.hit = s;
    t.hit->alg_data = nullptr;
    t.hit_dir = d;
  };
  bool hit = parts_.table.with_session(key, peek);
  if (hit && t.hit_dir == Dir::kOriginal && p.proto == packet::kProtoTcp &&
      (p.tcp_flags & (packet::kTcpSyn | packet::kTcpAck)) == packet::kTcpSyn &&
      t.hit->tcp_state == session::TcpState::kClosing) {
    t.reopens = t.hit->id;
    t.hit.reset();
    return false;
  }
  if (!hit && packet::key_is_optional(p.proto) && key.dport != 0) {
    FlowKey wide = key;
    wide.dport = 0;
    hit = parts_.table.with_session(wide, peek);
  }
  if (!hit && session::keyed_by_spi(p.proto)) {  // "spi" area: the session run() would bind
    FlowKey unbound = key;
    session::set_key_spi(unbound, 0);
    hit = parts_.table.with_session(unbound, peek);
  }
  return hit;
}

// run() in dry mode: the same order, the same decisions, nothing changed or counted.
void Pipeline::trace_run(QueuedPacket& qp, const Runtime& rt, Trace& t) {
  auto res = packet::parse(std::span<const uint8_t>(qp.data, qp.len));
  if (const auto* m = std::get_if<packet::Malformed>(&res)) {
    t.malformed = packet::malformed_name(*m);
    t.drop = Drop::kMalformed;
    return;
  }
  const Parsed& p = std::get<Parsed>(res);
  if (trace_screen(qp, p, t)) return;
  const FlowKey key = key_of(p);
  if (trace_lookup(p, key, t)) {
    trace_translate(qp, p, rt, t);
    return;
  }
  if (p.icmp_error && !(qp.hook == NF_INET_LOCAL_OUT || qp.indev == 0)) {
    t.icmp_error = true;  // (a synthesised error quotes no packet of a known flow)
    t.drop = Drop::kIcmpNoSession;
    return;
  }
  NewFlow nf{qp, p, key, rt};
  nf.trace = &t;
  if (!first_packet(nf)) t.drop = nf.why;
  trace_report(nf, t);
}

// The checks of run() before its lookup (screen_packet): true when one of them decided.
bool Pipeline::trace_screen(const QueuedPacket& qp, const Parsed& p, Trace& t) {
  if (p.is_fragment && !p.first_fragment) {
    t.fragment = true;
    if (!fragment_known(p)) t.drop = Drop::kFragment;
    return true;
  }
  if (link_control(p)) {
    t.infrastructure = p.proto;
    return true;
  }
  const bool loopback = qp.hook == NF_INET_LOCAL_OUT || qp.indev == 0 || qp.indev == 1;
  switch (bogus_packet(p, loopback)) {
    case Bogus::kNone:
      break;
    case Bogus::kTcpFlags:
      t.guard = true, t.drop = Drop::kTcpInvalidFlags;
      return true;
    case Bogus::kLand:
      t.guard = true, t.drop = Drop::kLand;
      return true;
    case Bogus::kPortZero:
      t.guard = true, t.drop = Drop::kPortZero;
      return true;
  }
  if (session::keyed_by_spi(p.proto) && p.spi == 0) {  // "spi" area, as in run()
    t.guard = true, t.drop = Drop::kSpiZero;
    return true;
  }
  return false;
}

// The session's translation, applied to a copy (an ALG's inspection is not run).
void Pipeline::trace_translate(const QueuedPacket& qp, const Parsed& p, const Runtime& rt,
                               Trace& t) {
  std::vector<uint8_t> copy(qp.data, qp.data + qp.len);
  const Session& s = *t.hit;
  const bool full = full_checksum(qp, p, forwarded_by(s, t.hit_dir, rt));
  switch (parts_.nat.apply(std::span<uint8_t>(copy), p, s, t.hit_dir, full)) {
    case nat::Translator::Applied::kTtlExpired:
      t.drop = Drop::kTtlExpiredNat;
      break;
    case nat::Translator::Applied::kMalformed:
      t.drop = Drop::kMalformed;
      break;
    default:
      break;
  }
}

// What the first-packet stages learned, for the trace's report.
void Pipeline::trace_report(const NewFlow& nf, Trace& t) {
  t.src_zone = nf.f.src_zone;
  t.dst_zone = nf.f.dst_zone;
  t.local_out = nf.local_out;
  t.sm = nf.sm;
  t.route = nf.route;
  t.aspf = nf.aspf;
  t.managed = nf.managed;
  t.pickup = nf.pickup;
  t.reversed = nf.reversed;
  t.no_session = nf.no_session;
  t.s = nf.s;
  t.dst = nf.dst;
  if (std::find(t.stages.begin(), t.stages.end(), TraceStage::kAlg) == t.stages.end()) {
    t.s.nat = nf.nat;  // (the ALG stage copies it into the session)
  }
  if (nf.rule) t.policy_rule = *nf.rule;
}

}  // namespace fw::fwd
