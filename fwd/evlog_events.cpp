#include "fwd/evlog_events.h"

#include "aspf/registry.h"
#include "fwd/app.h"
#include "packet/proto_name.h"

namespace fw::fwd {

using evlog::KvText;
using evlog::Severity;
using session::Dir;

namespace {

constexpr std::string_view kSeclog = "SECLOG";

std::string_view sampled_name(Events::Sampled k) {
  switch (k) {
    case Events::Sampled::kPolicyDeny:
      return "PACKET_DENY";
    case Events::Sampled::kNatExhausted:
      return "NAT_EXHAUSTED";
    default:
      return "SESSION_TABLE_FULL";
  }
}

}  // namespace

Events::Events(evlog::EventLog& log, const common::Clock& clock, const common::Interner& names,
               const common::Interner& zones, const AppTable& apps, const aspf::Registry& algs)
    : log_(log), clock_(clock), names_(names), zones_(zones), apps_(apps), algs_(algs) {}

uint64_t Events::wall_s_of(uint64_t mono_ms) const {
  const uint64_t now = clock_.now_ms();
  const uint64_t ago = now > mono_ms ? now - mono_ms : 0;
  const uint64_t wall = log_.wall_ms();
  return (wall > ago ? wall - ago : 0) / 1000;
}

std::string Events::zone(uint8_t id) const {
  std::string n = zones_.name(id);
  return n.empty() ? "---" : n;
}

// The tuple as the initiator sent it, and the translations (Huawei: SourceNatIP/Port for source
// NAT, DestinationNatIP/Port for a NAT server; both shown when set).
void Events::tuple(KvText& kv, const session::Session& s) const {
  const session::FlowKey& o = s.orig;
  kv.add("IPVer", o.src.is_v6() ? 6 : 4)
      .add("Protocol", packet::ip_proto_name(o.proto))
      .add("SourceIP", o.src.str())
      .add("DestinationIP", o.dst.str())
      .add("SourcePort", session::shown_ports(o).first)  // "spi" area: ESP/AH show none
      .add("DestinationPort", session::shown_ports(o).second);
  if (s.nat.snat)
    kv.add("SourceNatIP", s.nat.snat_addr.str()).add("SourceNatPort", s.nat.snat_port);
  if (s.nat.dnat)
    kv.add("DestinationNatIP", s.nat.dnat_addr.str()).add("DestinationNatPort", s.nat.dnat_port);
}

void Events::session_created(const session::Session& s) {
  KvText kv;
  tuple(kv, s);
  kv.add("BeginTime", wall_s_of(s.created_ms))
      .add("SourceZone", zone(s.src_zone))
      .add("DestinationZone", zone(s.dst_zone))
      .add("PolicyName", names_.name(s.policy))
      .add("Application", apps_.name(s.app))
      .add("SessionID", s.id);
  if (s.parent_id) kv.add("ParentSession", s.parent_id);
  log_.post(Severity::kInformational, kSeclog, "SESSION_CREATE", kv.view());
}

void Events::session_closed(const session::Session& s, session::CloseReason why) {
  if (why == session::CloseReason::kShutdown) return;
  const auto o = static_cast<size_t>(Dir::kOriginal), r = static_cast<size_t>(Dir::kReply);
  KvText kv;
  tuple(kv, s);
  kv.add("BeginTime", wall_s_of(s.created_ms))
      .add("EndTime", wall_s_of(clock_.now_ms()))
      .add("SendPkts", s.packets[o])
      .add("SendBytes", s.bytes[o])
      .add("RcvPkts", s.packets[r])
      .add("RcvBytes", s.bytes[r])
      .add("SourceZone", zone(s.src_zone))
      .add("DestinationZone", zone(s.dst_zone))
      .add("PolicyName", names_.name(s.policy))
      .add("Application", apps_.name(s.app))
      .add("SessionID", s.id)
      .add("CloseReason", session::close_reason_name(why));
  log_.post(Severity::kInformational, kSeclog, "SESSION_TEARDOWN", kv.view());
}

void Events::servermap(const session::ServerMapEntry& e, session::MapEvent what) {
  KvText kv;
  kv.add("Type", session::map_type_name(e.type))
      .add("Protocol", e.proto ? packet::ip_proto_name(e.proto) : "any");
  const aspf::Inspector* ins = algs_.get(e.alg);
  if (e.type == session::MapType::kAspf && ins && e.channel < ins->spec().channels.size())
    kv.add("Appro", ins->spec().channels[e.channel].app);
  kv.add("PeerIP", e.peer.empty() ? std::string("any") : e.peer.str())
      .add("DestinationIP", e.addr.str())
      .add("DestinationPort", e.port);
  if (!e.xaddr.empty()) kv.add("TranslatedIP", e.xaddr.str());
  if (e.xport >= 0) kv.add("TranslatedPort", static_cast<uint64_t>(e.xport));
  if (e.parent) kv.add("ParentSession", e.parent);
  kv.add("EntryID", e.id);
  const bool added = what == session::MapEvent::kAdded;
  if (!added) kv.add("Reason", session::map_event_name(what));
  log_.post(Severity::kInformational, kSeclog, added ? "SERVERMAP_ADD" : "SERVERMAP_DELETE",
            kv.view());
}

// At most kSampledPerSecond of a kind per wall second (a racy window: a few more at the turn
// of a second, never unbounded); the rest are counted.
bool Events::sample(Sampled kind) {
  Window& w = windows_[static_cast<size_t>(kind)];
  const uint64_t sec = clock_.now_ms() / 1000 + 1;
  uint64_t cur = w.second.load(std::memory_order_relaxed);
  if (cur != sec && w.second.compare_exchange_strong(cur, sec, std::memory_order_relaxed))
    w.count.store(0, std::memory_order_relaxed);
  if (w.count.fetch_add(1, std::memory_order_relaxed) < kSampledPerSecond) return true;
  w.suppressed.fetch_add(1, std::memory_order_relaxed);
  return false;
}

uint64_t Events::suppressed() const {
  uint64_t n = 0;
  for (const auto& w : windows_) n += w.suppressed.load(std::memory_order_relaxed);
  return n;
}

void Events::flow_refused(Sampled kind, const session::FlowKey& k, uint8_t src_zone,
                          uint8_t dst_zone, std::string_view rule) {
  if (!sample(kind)) return;
  KvText kv;
  kv.add("IPVer", k.src.is_v6() ? 6 : 4)
      .add("Protocol", packet::ip_proto_name(k.proto))
      .add("SourceIP", k.src.str())
      .add("DestinationIP", k.dst.str())
      .add("SourcePort", session::shown_ports(k).first)
      .add("DestinationPort", session::shown_ports(k).second)
      .add("SourceZone", zone(src_zone))
      .add("DestinationZone", zone(dst_zone));
  if (!rule.empty()) kv.add("PolicyName", rule);
  const Severity sev = kind == Sampled::kPolicyDeny ? Severity::kInformational : Severity::kWarning;
  log_.post(sev, kind == Sampled::kNatExhausted ? "NAT" : kSeclog, sampled_name(kind), kv.view());
}

void Events::attack_started(std::string_view kind, const common::IpAddr& dst, uint32_t rate,
                            std::string_view rate_key) {
  KvText kv;
  kv.add("AttackType", kind).add("DestinationIP", dst.str()).add(rate_key, rate);
  log_.post(Severity::kWarning, "ANTIDDOS", "ATTACK_START", kv.view());
}

void Events::attack_ended(std::string_view kind, uint64_t refused, uint64_t seconds,
                          std::string_view count_key) {
  KvText kv;
  kv.add("AttackType", kind).add(count_key, refused).add("Duration", seconds);
  log_.post(Severity::kWarning, "ANTIDDOS", "ATTACK_END", kv.view());
}

void Events::command(std::string_view line) {
  KvText kv;
  std::string quoted = "\"" + std::string(line.substr(0, 300)) + "\"";
  kv.add("Command", quoted);
  log_.post(Severity::kNotice, "SHELL", "CMDRECORD", kv.view());
}

}  // namespace fw::fwd
