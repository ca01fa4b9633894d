#pragma once
// packet-trace (issue 15 item 1): what the pipeline would do with a packet nobody sent. The
// pipeline (Pipeline::trace) runs its real lookups and first-packet stages in dry mode on a
// synthesised packet and reports to a Trace: the stages in the order they ran and what each
// decided. explain() turns that into numbered steps, each with the configuration lines that
// decided it as `display current-configuration` shows them; render_text / render_json print it.
// Nothing here is on the packet path: a null Trace pointer costs the pipeline one test per stage.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "fwd/pipeline.h"
#include "fwd/route_source.h"
#include "packet/build.h"
#include "policy/classifier.h"
#include "session/server_map.h"
#include "session/session.h"

namespace fw::fwd {

class DataPlane;

// The first-packet stages, in the order Pipeline::first_packet runs them.
enum class TraceStage : uint8_t {
  kOpensFlow,
  kIngressZone,
  kUrpf,
  kAntiDdos,
  kServerMap,
  kRoute,
  kServiceManage,
  kPolicy,
  kExpiring,
  kNat,
  kAlg,
  kSourceLimit,
  kCreate,
};

// What Pipeline::trace found. Zone ids are the data plane's.
struct Trace {
  std::string malformed;       // the parser's reason when the packet does not parse
  uint8_t infrastructure = 0;  // ND / MLD (ICMPv6) or IGMP on the link: its protocol; no policy
  bool guard = false;          // dropped before the session lookup (flags, LAND, port 0)
  bool fragment = false;       // a non-first fragment (follows its first fragment)
  std::optional<session::Session> hit;  // the session the packet belongs to
  session::Dir hit_dir = session::Dir::kOriginal;
  uint64_t reopens = 0;            // a SYN on a closed session's tuple: that session would go
  bool icmp_error = false;         // an ICMP error about no known flow
  std::vector<TraceStage> stages;  // first-packet stages, as they ran
  policy::ZoneId src_zone = policy::kNoZone, dst_zone = policy::kNoZone;
  bool local_out = false;
  std::optional<session::ServerMapEntry> sm;
  common::IpAddr dst;  // the destination after a NAT server's translation
  RouteInfo route;
  std::string policy_rule;  // the rule that matched (also when it denies), "default"
  std::string snat_rule;    // the nat-policy rule that matched ("" none)
  bool aspf = false, managed = false, pickup = false, reversed = false, no_session = false;
  session::Session s;        // the session the packet would create
  std::optional<Drop> drop;  // empty: permitted
};

// What packet-trace was asked: the packet and where it comes in.
struct TraceRequest {
  packet::BuildSpec spec;
  std::string in_linux;  // the input interface's Linux name ("" = the firewall's own packet)
  std::string in_shown;  // as typed / shown (VRP name when mapped)
  uint32_t ifindex = 0;
};

struct TraceStep {
  std::string stage;                // "ingress-zone"
  std::string title;                // "Ingress zone"
  std::string result;               // one line
  std::vector<std::string> config;  // the lines that decided it, as the configuration shows them
};

struct TraceReport {
  std::string packet;  // "tcp 198.18.1.2:40000 --> 203.0.113.2:21 flags syn input in0"
  std::vector<TraceStep> steps;
  bool permit = false;
  std::string reason;         // a drop: the name of fwd/pipeline.h's drop reason
  std::string before, after;  // session-table notation; after: the reply's view of the tuple
};

// Builds the packet, runs the trace and explains it. *err when the packet cannot be built.
std::optional<TraceReport> packet_trace(DataPlane& dp, const config::Config& cfg,
                                        const TraceRequest& req, std::string* err);
TraceReport explain(const Trace& t, DataPlane& dp, const config::Config& cfg,
                    const TraceRequest& req);
std::string render_text(const TraceReport& r);
std::string render_json(const TraceReport& r);
// Helpers shared with the live trace (fwd/trace_live.cpp).
std::string json_string(const std::string& s);  // a JSON string literal
std::string session_id_text(uint64_t id);       // as the verbose session display shows it

}  // namespace fw::fwd
