#include "fwd/appid_stage.h"

#include <algorithm>
#include <cstring>
#include <span>
#include <vector>

#include "fwd/pipeline.h"
#include "packet/build.h"

namespace fw::fwd {

using session::Dir;
using session::Session;

// Session::appid holds an application in its low bits.
static_assert(static_cast<unsigned>(appid::App::kCount) <= session::kAppidMask + 1u);

appid::Result appid_look(const packet::Parsed& p, const uint8_t* data, bool from_initiator) {
  if (p.proto != packet::kProtoTcp && p.proto != packet::kProtoUdp &&
      p.proto != packet::kProtoEsp && p.proto != packet::kProtoAh) {
    return {appid::Outcome::kUnidentifiable, appid::App::kNone};
  }
  appid::Input in;
  in.proto = p.proto;
  in.sport = p.sport;
  in.dport = p.dport;
  in.from_initiator = from_initiator;
  in.payload = std::span<const uint8_t>(data + p.payload_offset, p.payload_len);
  return appid::identify(in);
}

int appid_first(const packet::Parsed& p, const uint8_t* data) {
  const appid::Result r = appid_look(p, data, true);
  switch (r.outcome) {
    case appid::Outcome::kIdentified:
      return static_cast<int>(r.app);
    case appid::Outcome::kUndecided:
      return policy::kAppUndecided;
    case appid::Outcome::kUnidentifiable:
      break;
  }
  return policy::kAppNone;
}

std::vector<std::pair<std::string, std::string>> appid_keywords() {
  std::vector<std::pair<std::string, std::string>> v;
  for (int i = 1; i < static_cast<int>(appid::App::kCount); ++i) {
    const auto a = static_cast<appid::App>(i);
    v.emplace_back(std::string(appid::name(a)), std::string(appid::description(a)));
  }
  return v;
}

policy::FlowInfo appid_flow_of(const Session& s) {
  policy::FlowInfo f;
  f.src_zone = s.src_zone;
  f.dst_zone = s.dst_zone;
  f.src = s.orig.src;
  f.dst = s.nat.dnat ? s.nat.dnat_addr : s.orig.dst;
  f.proto = s.orig.proto;
  f.sport = s.orig.sport;
  f.dport = s.nat.dnat ? s.nat.dnat_port : s.orig.dport;
  return f;
}

// ASPF follows identification: an ALG detected for these zones inspects its protocol on any
// port, from this packet on (aspf/ decides which ALG, by the application's name).
bool Pipeline::follow_with_aspf(Session& s, appid::App a, const packet::Parsed& p, Dir d,
                                const Runtime& rt) {
  if (s.alg || a == appid::App::kNone) return true;
  s.alg = rt.detect.classify_application(s.src_zone, s.dst_zone, s.orig.proto, appid::name(a));
  if (s.alg) parts_.aspf.take_over(s, p, d);
  return true;
}

// Runs only while the session is pending or denied: a decided session never comes here.
bool Pipeline::appid_on_hit(Session& s, Dir d, const packet::Parsed& p, const uint8_t* data,
                            const Runtime& rt) {
  if (s.appid & session::kAppidDenied) {
    // Dropped from then on; it ages out as a reset connection does.
    s.timeout_s = std::min(s.timeout_s, rt.timeouts.of(rt.timeouts.fin_rst));
    return false;
  }
  appid::Result r;
  if (p.payload_len) r = appid_look(p, data, d == Dir::kOriginal);
  if (r.outcome == appid::Outcome::kUndecided && s.packets[0] + s.packets[1] < rt.appid_packets) {
    return true;
  }
  const appid::App a = r.outcome == appid::Outcome::kIdentified ? r.app : appid::App::kNone;
  const bool wait = s.appid & session::kAppidPolicyWait;
  s.appid = static_cast<uint8_t>(a);
  if (a != appid::App::kNone) {
    s.app = parts_.apps.for_identified(a, s.orig.proto);
    c_appid_identified_.inc();
  } else {
    c_appid_unidentified_.inc();
  }
  if (!wait) return follow_with_aspf(s, a, p, d, rt);
  // Admitted by a rule naming applications: now the policy knows the application (or that
  // there is none, and such rules no longer match).
  const policy::Verdict v = rt.policy.match(appid_flow_of(s), static_cast<int>(a));
  s.policy = static_cast<uint16_t>(parts_.names.intern(*v.rule));
  if (v.permit) return follow_with_aspf(s, a, p, d, rt);
  s.appid |= session::kAppidDenied;
  s.timeout_s = std::min(s.timeout_s, rt.timeouts.of(rt.timeouts.fin_rst));
  c_appid_denied_.inc();
  return false;
}

Decision Pipeline::appid_reset(QueuedPacket& qp, const Session& s, Dir d, bool toward_receiver) {
  const Decision dropped = drop(Drop::kAppDeny);
  auto res = packet::parse(std::span<const uint8_t>(qp.data, qp.len));
  const packet::Parsed* p = std::get_if<packet::Parsed>(&res);
  if (!p || p->proto != packet::kProtoTcp || (p->tcp_flags & packet::kTcpRst) || qp.truncated) {
    return dropped;
  }
  packet::BuildSpec b;
  b.proto = packet::kProtoTcp;
  b.tcp_flags = packet::kTcpRst | packet::kTcpAck;
  if (toward_receiver) {
    b.src = p->src, b.dst = p->dst, b.sport = p->sport, b.dport = p->dport;
    b.seq = p->seq, b.ack = p->ack;
  } else {
    const bool syn_fin = p->tcp_flags & (packet::kTcpSyn | packet::kTcpFin);
    b.src = p->dst, b.dst = p->src, b.sport = p->dport, b.dport = p->sport;
    b.seq = p->ack, b.ack = p->seq + p->payload_len + (syn_fin ? 1 : 0);
  }
  const std::vector<uint8_t> rst = packet::build(b);
  if (rst.empty() || rst.size() > qp.capacity) return dropped;
  std::memcpy(qp.data, rst.data(), rst.size());
  qp.len = static_cast<uint32_t>(rst.size());
  qp.gso = qp.csum_not_ready = false;
  if (!toward_receiver) return {Verdict::kAccept, true, qp.len};
  // Onward: the receiver knows the session by its translated addresses.
  auto again = packet::parse(std::span<const uint8_t>(qp.data, qp.len));
  const packet::Parsed* rp = std::get_if<packet::Parsed>(&again);
  if (!rp) return dropped;
  const Runtime* rt = parts_.runtimes.current();
  const Decision t = translate(qp, *rp, s, d, !rt || forwarded_by(s, d, *rt));
  if (t.verdict != Verdict::kAccept) return dropped;
  return {Verdict::kAccept, true, qp.len};
}

}  // namespace fw::fwd
