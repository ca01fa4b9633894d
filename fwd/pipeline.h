#pragma once
// The packet path: parse once -> session lookup -> hit: update, NAT, ALG; miss
// (first packet): a list of stages - ingress zone, server-map (NAT server / ALG
// entry), route and egress zone, security policy, expiring TTL, NAT, ALG,
// session creation - each a short function. Shared by all worker threads.
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "aspf/engine.h"
#include "common/clock.h"
#include "common/counters.h"
#include "common/interner.h"
#include "fwd/app.h"
#include "fwd/guard.h"
#include "fwd/nfqueue.h"
#include "fwd/route_source.h"
#include "fwd/runtime.h"
#include "nat/translator.h"
#include "packet/parse.h"
#include "session/flood_limit.h"
#include "session/half_open.h"
#include "session/server_map.h"
#include "session/session_table.h"
#include "session/source_limit.h"
#include "session/syn_proxy.h"

namespace fw::fwd {

struct Trace;       // fwd/trace.h
class LiveTraces;   // fwd/trace_live.h
struct LiveRecord;  // fwd/trace_live.h
struct Trace;       // fwd/trace.h
class Events;       // fwd/evlog_events.h ("evlog" area)

// Drop reasons (counter packet.drop.<name>), in display order.
enum class Drop : uint8_t {
  kMalformed,
  kTcpNotSyn,
  kPolicyDeny,
  kNoZone,
  kNoRoute,
  kTableFull,
  kFragment,
  kIcmpNoSession,
  kNatExhausted,
  kNatCollision,
  kTtlExpiredNat,
  kServiceManage,  // `service-manage ping deny` on the ingress interface ("iface" area)
  // guard (issue 16 item 8): packets no honest stack sends, a source failing uRPF.
  kTcpInvalidFlags,
  kLand,
  kPortZero,
  kUrpf,
  // "srclimit" area: the source address holds its maximum of sessions / opens too many per second.
  kSourceSessionLimit,
  kSourceRateLimit,
  // flood defence (`anti-ddos ... max-rate`): new sessions to one destination above its rate.
  kSynFlood,
  kUdpFlood,
  kIcmpFlood,
  // "appid" area: a packet of a session a deny rule's application condition matched.
  kAppDeny,
  // "synproxy" area: an ACK opening no session without a valid cookie; a client's packet
  // before the server answered the proxy's SYN.
  kSynProxyBadAck,
  kSynProxyOpening,
  kMissAckRateLimit,  // `firewall reverse-session miss-ack rate-limit`: SYN-ACKs over the rate
  // "spi" area
  kSpiZero,  // ESP/AH with SPI 0 (reserved: RFC 4303 2.1, RFC 4302 2.4), never a session's key
  kCount
};
const std::vector<std::string>& drop_reason_names();

// What the pipeline works with (all owned by the DataPlane).
struct PipelineParts {
  const common::Clock& clock;
  common::CounterTable& counters;
  common::Interner& names;  // policy rule names in sessions
  session::SessionTable& table;
  session::ServerMap& servermap;
  nat::Translator& nat;
  aspf::Engine& aspf;
  const AppTable& apps;
  RouteSource& routes;
  RuntimeHolder& runtimes;
  session::SourceLimiter& sources;      // "srclimit" area: per-source limits
  session::FloodLimiter& floods;        // flood defence: per-destination new-session rates
  session::SynProxy& synproxy;          // "synproxy" area: the TCP SYN proxy
  session::HalfOpenLimiter& half_open;  // "halfopen" area: half-open sessions per destination
};

class Pipeline {
 public:
  explicit Pipeline(const PipelineParts& parts);
  ~Pipeline();

  // One packet, from a worker thread holding its own Reader.
  Decision process(QueuedPacket& qp, RuntimeHolder::Reader& reader);
  // The same for callers without a Reader of their own (tests, replay, fuzzing).
  Decision process(QueuedPacket& qp);
  Decision process_bytes(uint8_t* data, uint32_t len, uint32_t indev, uint8_t hook = 0);
  // packet-trace: what process() would do with this packet, told to `t` stage by stage, with
  // every side effect replaced by a peek (no session, port, binding, entry or counter changes).
  void trace(QueuedPacket& qp, Trace& t);

  // Periodic work: aging sweep, server-map expiry, retired snapshots, fragments.
  void maintain();
  // Make children of `parent` of `proto` whose key carries port a or b age quickly.
  void age_children(uint64_t parent, uint8_t proto, uint16_t a, uint16_t b);
  // Until this time (clock ms; 0 = never, UINT64_MAX = always) a TCP packet that is not a SYN
  // may open a session if the policy permits and no source NAT applies (a flow picked up
  // mid-stream, e.g. after fwd crashed and restarted).
  void set_tcp_pickup_until(uint64_t ms) { pickup_until_.store(ms, std::memory_order_relaxed); }
  // Live trace (fwd/trace_live.h): the watches `packet-trace live` arms.
  LiveTraces& live() { return *live_; }
  // "evlog" area: where session creation, refused flows and attacks are told (null: nowhere).
  // Set before any worker runs.
  void set_events(Events* e) { events_ = e; }

 private:
  struct NewFlow;
  struct RunState;  // run(): the packet and what its session lookup learns (pipeline.cpp)
  Decision drop(Drop why);
  Decision accept();
  // Whether the session's packet in direction `d` is forwarded (not for the firewall itself).
  static bool forwarded_by(const session::Session& s, session::Dir d, const Runtime& rt);
  Decision run(QueuedPacket& qp, const Runtime& rt, aspf::TraceSink* alg_trace = nullptr);
  // The pieces of run(): the checks before the lookup, the visit of the packet's session, the
  // lookups by an unbound key, a first packet, and the hit's (or new session's) translation.
  std::optional<Decision> screen_packet(const QueuedPacket& qp, const packet::Parsed& p);
  void visit_session(RunState& st, session::Session& s, session::Dir d);
  bool lookup_fallback(RunState& st, const session::FlowKey& key);
  std::optional<Decision> run_new_flow(RunState& st, const session::FlowKey& key);
  Decision run_translate(RunState& st);
  // Live trace (fwd/trace_live.cpp): run() for a packet while a watch is armed.
  Decision run_live(QueuedPacket& qp, const Runtime& rt);
  void live_before(QueuedPacket& qp, const packet::Parsed& p, const Runtime& rt, LiveRecord& r);
  void live_after(const QueuedPacket& qp, const packet::Parsed& p, Decision d, LiveRecord& r);
  std::optional<Decision> on_icmp_error(QueuedPacket& qp, const packet::Parsed& p);
  std::optional<Decision> guard_bogus(const QueuedPacket& qp, const packet::Parsed& p);  // guard
  Decision drop_no_route(const NewFlow& nf);                                             // guard
  Decision on_hit(QueuedPacket& qp, packet::Parsed& p, session::Session& s, session::Dir d,
                  const Runtime& rt, std::vector<aspf::EngineResult::ChildAging>* aging,
                  aspf::TraceSink* alg_trace = nullptr);
  Decision translate(QueuedPacket& qp, const packet::Parsed& p, const session::Session& s,
                     session::Dir d, bool forwarded);
  void update_session(session::Session& s, session::Dir d, const packet::Parsed& p, uint32_t len,
                      const Runtime& rt);

  // First-packet stages: each returns false with nf.why set to drop.
  bool first_packet(NewFlow& nf);
  bool stage_opens_flow(NewFlow& nf);
  bool stage_ingress_zone(NewFlow& nf);
  bool stage_servermap(NewFlow& nf);
  bool stage_route(NewFlow& nf);
  bool stage_service_manage(NewFlow& nf);
  bool stage_urpf(NewFlow& nf);       // guard
  bool stage_anti_ddos(NewFlow& nf);  // flood defence
  bool stage_policy(NewFlow& nf);
  bool stage_expiring(NewFlow& nf);
  bool stage_nat(NewFlow& nf);
  bool stage_alg(NewFlow& nf);
  bool stage_source_limit(NewFlow& nf);  // "srclimit" area
  // "appid" area (fwd/appid_stage.cpp): the first packet's payload, then the session's label.
  bool stage_appid(NewFlow& nf);
  bool stage_appid_label(NewFlow& nf);
  // A packet of a session still being identified or denied (under its lock); false = drop.
  bool appid_on_hit(session::Session& s, session::Dir d, const packet::Parsed& p,
                    const uint8_t* data, const Runtime& rt);
  bool follow_with_aspf(session::Session& s, appid::App a, const packet::Parsed& p, session::Dir d,
                        const Runtime& rt);
  // A packet of a denied session: a TCP packet becomes a RST (the first toward its receiver,
  // translated like the session's packets; later ones back to their sender), anything else is
  // dropped. Counted as application-deny either way.
  Decision appid_reset(QueuedPacket& qp, const session::Session& s, session::Dir d,
                       bool toward_receiver);
  bool stage_create(NewFlow& nf);
  uint32_t build_session(NewFlow& nf);  // stage_create: the session; returns its half-open limit
  bool insert_session(NewFlow& nf, uint32_t half_open_limit);
  // "synproxy" area (fwd/synproxy_stage.cpp): the TCP SYN proxy.
  bool stage_syn_proxy(NewFlow& nf);
  Decision proxy_answer_syn(QueuedPacket& qp, const packet::Parsed& p);
  std::optional<session::SynOptions> proxy_check_ack(const packet::Parsed& p, bool peek);
  Decision proxy_open_server(QueuedPacket& qp, const session::SynOptions& o,
                             const session::Session& s, const Runtime& rt);
  std::optional<Decision> proxy_on_hit(QueuedPacket& qp, packet::Parsed& p, session::Session& s,
                                       session::Dir d);
  Decision proxy_translated(Decision d, const QueuedPacket& qp);
  Decision replace_packet(QueuedPacket& qp, const std::vector<uint8_t>& bytes);
  // "halfopen" area (fwd/half_open_stage.cpp): a new session `id` opened by a SYN to `dst` joins
  // its destination's half-open sessions (the oldest above `limit` go); one that completed its
  // handshake (or was reset) leaves them (under the session's lock); ended attacks are told.
  void half_open_track(uint64_t id, const common::IpAddr& dst, uint32_t limit);
  void half_open_update(session::Session& s);
  void half_open_maintain();

  // packet-trace (fwd/trace.cpp): the lookups of run() and first_packet() in dry mode.
  void trace_run(QueuedPacket& qp, const Runtime& rt, Trace& t);
  bool trace_screen(const QueuedPacket& qp, const packet::Parsed& p, Trace& t);
  void trace_translate(const QueuedPacket& qp, const packet::Parsed& p, const Runtime& rt,
                       Trace& t);
  static void trace_report(const NewFlow& nf, Trace& t);
  policy::Verdict policy_match(const NewFlow& nf, const policy::FlowInfo& f) const;
  bool trace_create(NewFlow& nf);
  // "spi" area: the session an ICMP error quoting ESP/AH is about (pipeline.cpp).
  bool spi_error_session(const packet::Parsed& inner, session::Session* s, session::Dir* dir);
  bool trace_lookup(const packet::Parsed& p, const session::FlowKey& key, Trace& t);

  void remember_fragment(const packet::Parsed& p);
  bool fragment_known(const packet::Parsed& p);

  void log_refused(const NewFlow& nf);  // "evlog" area

  PipelineParts parts_;
  Events* events_ = nullptr;  // "evlog" area
  std::atomic<uint64_t> pickup_until_{0};
  std::atomic<bool> live_armed_{false};  // live trace: a watch is armed (the one hot-path test)
  std::unique_ptr<LiveTraces> live_;
  std::mutex shared_reader_mu_;
  std::unique_ptr<RuntimeHolder::Reader> shared_reader_;

  struct FragKey {
    common::IpAddr src, dst;
    uint32_t id;
    uint8_t proto;
    bool operator==(const FragKey& o) const {
      return src == o.src && dst == o.dst && id == o.id && proto == o.proto;
    }
  };
  struct FragHash {
    size_t operator()(const FragKey& k) const {
      return k.src.hash() ^ (k.dst.hash() << 1) ^ k.id ^ k.proto;
    }
  };
  std::mutex frag_mu_;
  std::unordered_map<FragKey, uint64_t, FragHash> frags_;  // -> expiry ms

  common::Counter& c_received_;
  common::Counter& c_accepted_;
  common::Counter& c_dropped_;
  common::Counter& c_related_;
  common::Counter& c_translated_;
  common::Counter& c_local_icmp_;
  common::Counter& c_picked_up_;
  common::Counter& c_unreach_kernel_;      // guard: no-route packets left to the kernel to answer
  common::Counter& c_unreach_suppressed_;  // guard: ... not, over the rate limit
  common::Counter& c_appid_identified_;    // "appid": sessions identified
  common::Counter& c_appid_unidentified_;  // "appid": sessions given up on
  common::Counter& c_appid_denied_;        // "appid": sessions denied by an application rule
  common::Counter& c_half_open_evicted_;   // "halfopen": oldest half-open sessions evicted
  LockedTokenBucket unreach_limit_{kUnreachableRate, kUnreachableBurst};
  std::array<common::Counter*, static_cast<size_t>(Drop::kCount)> c_drop_{};
  std::array<common::Counter*, 16> c_malformed_{};
};

}  // namespace fw::fwd
