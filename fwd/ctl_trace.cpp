// "trace" area (issue 15 item 1): `packet-trace ...` - what the firewall would do with a packet,
// asked of the running data plane (fwd/trace.h). Nothing is sent and no table changes; the
// trace reads the live configuration snapshot, sessions and server-map like a worker does.
#include "fwd/ctl_context.h"
#include "fwd/dataplane.h"
#include "fwd/trace.h"
#include "fwd/trace_live.h"

namespace fw::fwd::ctl {
namespace {

constexpr std::pair<const char*, uint8_t> kFlags[] = {{"syn", 0x02}, {"ack", 0x10}, {"fin", 0x01},
                                                      {"rst", 0x04}, {"psh", 0x08}, {"urg", 0x20}};

uint8_t protocol_of(const cli::Match& m) {
  static const std::pair<const char*, uint8_t> kProtos[] = {
      {"tcp", 6}, {"udp", 17}, {"icmp", 1}, {"icmpv6", 58}, {"gre", 47}, {"esp", 50}, {"ah", 51}};
  for (const auto& [k, p] : kProtos) {
    if (m.has(k)) return p;
  }
  return static_cast<uint8_t>(m.integer("protocol-number").value_or(0));
}

// The packet of the command; false (c.err set) when it is refused.
bool request_of(Ctx& c, TraceRequest* req) {
  packet::BuildSpec& s = req->spec;
  auto src = common::IpAddr::parse(c.p("source-address"));
  auto dst = common::IpAddr::parse(c.p("destination-address"));
  if (!src || !dst) return false;  // (the grammar checked them)
  s.src = *src;
  s.dst = *dst;
  if (src->family != dst->family) {
    c.param_error("destination-address",
                  "Error: The source and destination addresses must be of one family.");
    return false;
  }
  s.proto = protocol_of(c.m);
  if ((s.proto == 1 && !src->is_v4()) || (s.proto == 58 && src->is_v4())) {
    c.param_error("source-address", "Error: ICMP goes with IPv4 addresses, ICMPv6 with IPv6.");
    return false;
  }
  s.sport = static_cast<uint16_t>(c.m.integer("source-port").value_or(0));
  s.dport = static_cast<uint16_t>(c.m.integer("destination-port").value_or(0));
  if (s.proto == 1 || s.proto == 58) {
    s.sport = static_cast<uint16_t>(c.m.integer("icmp-id").value_or(1));
    if (auto t = c.m.integer("icmp-type")) s.icmp_type = static_cast<int>(*t);
    s.icmp_code = static_cast<uint8_t>(c.m.integer("icmp-code").value_or(0));
  }
  s.ttl = static_cast<uint8_t>(c.m.integer("ttl-value").value_or(64));
  if (s.proto == 50 || s.proto == 51) {  // "spi" area
    s.spi = static_cast<uint32_t>(c.m.integer("spi-value").value_or(1));
  } else if (c.m.integer("spi-value")) {
    c.err = "Error: An SPI goes with protocol esp or ah.";
    return false;
  }
  if (c.m.has("tcp-flags")) {
    if (s.proto != 6) {
      c.err = "Error: TCP flags go with protocol tcp.";
      return false;
    }
    s.tcp_flags = 0;
    for (const auto& [k, bit] : kFlags) {
      if (c.m.has(k)) s.tcp_flags |= bit;
    }
  }
  return true;
}

// The input interface: its Linux name, the name shown, its index in the data plane's view.
bool input_of(Ctx& c, TraceRequest* req) {
  if (c.m.has("local")) return true;
  req->in_linux = interface_param(c, "interface");
  if (req->in_linux.empty()) return false;
  req->in_shown = c.cfg.shown_ifname(req->in_linux);
  req->ifindex = c.dp->routes().ifindex(req->in_linux);
  if (req->ifindex == 0) {
    c.param_error("interface", "Error: The interface " + c.p("interface") + " does not exist.");
    return false;
  }
  return true;
}

void packet_trace_cmd(Ctx& c) {
  if (!c.dp) {
    c.err = "Error: packet-trace needs the data plane (fwd is running without one).";
    return;
  }
  TraceRequest req;
  if (!request_of(c, &req) || !input_of(c, &req)) return;
  auto report = packet_trace(*c.dp, c.cfg, req, &c.err);
  if (!report) return;
  c.out << (c.m.has("json") ? render_json(*report) : render_text(*report));
}

// ---- live trace (issue 15 item 2) ----------------------------------------------------------

constexpr uint32_t kLiveDefaultPackets = 10;
constexpr uint32_t kLiveDefaultSeconds = 60;
// Silence longer than this is reported (it also keeps fwcli's 60 s reply timeout from firing).
constexpr std::chrono::seconds kLiveQuiet{20};

// The filter of `packet-trace live`; false (c.err set) when it is refused.
bool live_filter_of(Ctx& c, LiveFilter* f) {
  f->proto = protocol_of(c.m);
  if (c.m.has("source")) f->src = common::IpAddr::parse(c.p("source-address"));
  if (c.m.has("destination")) f->dst = common::IpAddr::parse(c.p("destination-address"));
  f->sport = static_cast<uint16_t>(c.m.integer("source-port").value_or(0));
  f->dport = static_cast<uint16_t>(c.m.integer("destination-port").value_or(0));
  f->both = c.m.has("both-directions");
  if (f->src && f->dst && f->src->family != f->dst->family) {
    c.param_error("destination-address",
                  "Error: The source and destination addresses must be of one family.");
    return false;
  }
  if ((f->sport || f->dport) && f->proto != 6 && f->proto != 17) {
    c.err = "Error: Ports go with protocol tcp or udp.";
    return false;
  }
  if (c.m.has("zone")) {
    const std::string z = c.p("zone-name");
    const auto id = c.dp->zone_ids().find(z);
    if (!c.cfg.find_zone(z) || !id) {
      c.param_error("zone-name", "Error: The zone " + z + " does not exist.");
      return false;
    }
    f->zone = static_cast<policy::ZoneId>(*id);
  }
  return true;
}

// Disarms its watch when the command's stream is done or dropped unrun.
struct ArmedWatch {
  LiveTraces& traces;
  std::shared_ptr<LiveWatch> watch;
  ~ArmedWatch() { traces.disarm(watch); }
};

struct LiveRun {
  std::shared_ptr<ArmedWatch> armed;
  DataPlane* dp;
  config::Config cfg;
  uint32_t packets, seconds;
  bool json;
  void operator()(Emitter& em) const;
};

void LiveRun::operator()(Emitter& em) const {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(seconds);
  const uint64_t t0 = dp->clock().now_ms();
  LiveWatch& w = *armed->watch;
  size_t n = 0;
  auto quiet_since = Clock::now();
  if (!json) {
    em.text(" Tracing the next " + std::to_string(packets) + " matching packets for at most " +
            std::to_string(seconds) + " s (Ctrl+C stops).\n\n");
  }
  if (!em.flush()) return;
  while (n < packets && Clock::now() < deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    auto recs = w.take(std::min<std::chrono::milliseconds>(left, std::chrono::seconds(1)));
    for (const auto& r : recs) {
      if (!em.text(render_live(r, *dp, cfg, ++n, t0, json))) return;
    }
    if (!recs.empty()) quiet_since = Clock::now();
    if (!json && Clock::now() - quiet_since >= kLiveQuiet) {
      em.text(" (no matching packet for " + std::to_string(kLiveQuiet.count()) + " s)\n");
      quiet_since = Clock::now();
    }
    if (!em.flush()) return;  // Ctrl+C
  }
  if (json) return;
  std::string end = " Live trace ended: " + std::to_string(n) + " packet" + (n == 1 ? "" : "s");
  end += n < packets ? " (time limit reached)" : "";
  if (uint64_t lost = w.lost())
    end += ", " + std::to_string(lost) + " not shown (printed too slowly)";
  em.text(end + ".\n");
}

void packet_trace_live_cmd(Ctx& c) {
  if (!c.dp) {
    c.err = "Error: packet-trace live needs the data plane (fwd is running without one).";
    return;
  }
  LiveFilter f;
  if (!live_filter_of(c, &f)) return;
  const auto packets =
      static_cast<uint32_t>(c.m.integer("max-packets").value_or(kLiveDefaultPackets));
  LiveTraces& traces = c.dp->pipeline().live();
  auto w = traces.arm(std::move(f), packets);
  if (!w) {
    c.err = "Error: A live packet trace is running already (at most " +
            std::to_string(LiveTraces::kMax) + " at a time); try again when it ends.";
    return;
  }
  LiveRun run{std::shared_ptr<ArmedWatch>(new ArmedWatch{traces, std::move(w)}),
              c.dp,
              c.cfg,
              packets,
              static_cast<uint32_t>(c.m.integer("max-seconds").value_or(kLiveDefaultSeconds)),
              c.m.has("json")};
  c.stream = std::move(run);
}

}  // namespace

void register_trace(HandlerTable& t) {
  t.add({
      {"trace.ports", packet_trace_cmd},
      {"trace.icmp", packet_trace_cmd},
      {"trace.other", packet_trace_cmd},
      {"trace.live", packet_trace_live_cmd},
  });
}

}  // namespace fw::fwd::ctl
