// The RTSP inspector. A SETUP's unicast UDP Transport names the client's RTP
// and RTCP ports; under source NAT they are replaced by a public even/odd pair
// (and the reply's echo mapped back). When the server accepts (2xx), two
// server-map entries let the server's RTP and RTCP reach the client: from the
// server's address, to the client's (public) ports, once each, for at most the
// Session timeout if unused. TEARDOWN or the end of the control session
// removes them and lets the media sessions age out.
#include "aspf/rtsp/rtsp_inspector.h"

#include <array>
#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "aspf/message_framer.h"
#include "aspf/rtsp/rtsp_parser.h"

namespace fw::aspf::rtsp {
namespace {

constexpr uint8_t kUdp = 17;
constexpr uint16_t kLowestPort = 1024;
constexpr uint32_t kDefaultTimeoutS = 60;  // RFC 2326 section 12.37
constexpr uint32_t kMinTimeoutS = 5, kMaxTimeoutS = 3600;
constexpr size_t kMaxStreamsPerSession = 8;  // 16 entries: the server-map's per-parent cap
constexpr size_t kMaxStreamsTotal = 16384;
constexpr size_t kMaxPending = 8;  // SETUPs waiting for their reply
constexpr size_t kMaxMessage = 16384;

// Counters (below "aspf.rtsp."), by index.
enum : size_t {
  kParsed,
  kMalformed,
  kUnframed,
  kInterleaved,
  kMulticast,
  kSetups,
  kTeardowns,
  kRefMalformed,
  kRefLowPort,
  kRefThirdParty,
  kRefSource,
  kRefCapSession,
  kRefCapTotal,
  kRefSplit,
  kRefNat,
  kAltRemoved,
};
constexpr std::array<std::string_view, 16> kCounters = {"parsed",
                                                        "malformed",
                                                        "unframed",
                                                        "interleaved",
                                                        "multicast",
                                                        "setups",
                                                        "teardowns",
                                                        "refused.malformed",
                                                        "refused.low-port",
                                                        "refused.third-party",
                                                        "refused.source",
                                                        "refused.cap-session",
                                                        "refused.cap-total",
                                                        "refused.split",
                                                        "refused.nat-exhausted",
                                                        "alternatives-removed"};

constexpr uint8_t kRtp = 0, kRtcp = 1;
constexpr std::array<Channel, 2> kChannels = {{{"rtsp-rtp", ""}, {"rtsp-rtcp", ""}}};

constexpr AlgSpec kSpec = {"rtsp", "Real Time Streaming Protocol", {6}, 554, kCounters, kChannels};

// A SETUP sent, waiting for its reply.
struct Pending {
  uint16_t rtp = 0, rtcp = 0;  // the client's own ports
  bool pair = false;           // the client named both
  uint16_t pub = 0;            // source NAT: the public pair's even port (0 = none)
};

// A stream whose entries were opened.
struct Stream {
  std::string session;
  uint16_t port_rtp = 0, port_rtcp = 0;  // the entries' ports (public under source NAT)
  uint32_t key = 0;                      // the entries' alg_data
  uint16_t pub = 0;  // source NAT: the public pair (even port), held until the stream ends
};

struct RtspState final : State {
  std::map<uint32_t, Pending> pending;  // by CSeq
  std::vector<Stream> streams;
  common::IpAddr pub;  // the address the pending pairs are on
  uint32_t next_key = 1;
};

std::string_view text(const Message& m) {
  return {reinterpret_cast<const char*>(m.bytes.data()), m.bytes.size()};
}

// The spec a SETUP acts on: the first unicast UDP one (multicast and
// interleaved ones open nothing).
const TransportSpec* udp_unicast(const Parsed& m) {
  for (const auto& t : m.transports) {
    if (!t.tcp && !t.multicast && !t.interleaved) return &t;
  }
  return nullptr;
}

// Under source NAT: the other unicast UDP specs of a SETUP name private ports that are not
// translated; offered to the server, it could choose one and send its media to a private port.
// They are taken out (each with the comma before it). One that starts in bytes already sent
// cannot be: the SETUP is then refused.
bool remove_alternatives(Context& ctx, const Parsed& m, const TransportSpec* chosen,
                         size_t editable, std::vector<Edit>* edits) {
  for (size_t i = 1; i < m.transports.size(); ++i) {
    const TransportSpec& x = m.transports[i];
    if (&x == chosen || x.tcp || x.multicast || x.interleaved || !x.client_port.present) continue;
    const size_t from = m.transports[i - 1].end;
    if (from < editable) return false;
    edits->push_back({from, x.end - from, ""});
    ctx.count(kAltRemoved);
  }
  return true;
}

class RtspInspector final : public Inspector {
 public:
  const AlgSpec& spec() const override { return kSpec; }
  std::unique_ptr<Framer> new_framer() const override {
    return make_message_framer({.max_message = kMaxMessage, .interleaved = true});
  }
  std::unique_ptr<State> new_state() const override { return std::make_unique<RtspState>(); }

  std::vector<Edit> on_message(Context& ctx, State* st, session::Dir d,
                               const Message& msg) override {
    auto& s = static_cast<RtspState&>(*st);
    if (msg.bytes.empty()) {
      ctx.count(kUnframed);  // too large or not framed: left untouched
      return {};
    }
    ParseResult r = parse(text(msg));
    if (!r.ok) {
      ctx.count(kMalformed);
      if (r.m.has_transport || r.m.method == "SETUP") ctx.refuse(kRefMalformed, r.why);
      return {};
    }
    ctx.count(kParsed);
    if (auto* t = ctx.trace()) {
      t->parsed(r.m.request ? std::string(r.m.method) + " " + std::string(r.m.uri)
                            : "reply " + std::to_string(r.m.status) + " (CSeq " +
                                  (r.m.cseq ? std::to_string(*r.m.cseq) : "-") + ")");
    }
    if (d == session::Dir::kOriginal && r.m.request) {
      if (r.m.method == "SETUP") return setup(ctx, s, r.m, msg.editable_from);
      if (r.m.method == "TEARDOWN") teardown(ctx, s, r.m.session);
      return {};
    }
    if (d == session::Dir::kReply && !r.m.request && r.m.cseq) {
      auto it = s.pending.find(*r.m.cseq);
      if (it == s.pending.end()) return {};
      const Pending p = it->second;
      s.pending.erase(it);
      return reply(ctx, s, p, r.m, msg.editable_from);
    }
    return {};
  }

  void on_close(Context& ctx, State* st) override {
    auto& s = static_cast<RtspState&>(*st);
    for (const auto& [cseq, p] : s.pending) release(ctx, s, p);
    s.pending.clear();
    for (const auto& m : s.streams) {
      ctx.age_children(kUdp, m.port_rtp, m.port_rtcp);
      release_pair(ctx, s, m.pub);
    }
    total_ -= s.streams.size();
    s.streams.clear();
  }

 private:
  std::vector<Edit> setup(Context& ctx, RtspState& s, const Parsed& m, size_t editable);
  std::vector<Edit> reply(Context& ctx, RtspState& s, const Pending& p, const Parsed& m,
                          size_t editable);
  bool acceptable(Context& ctx, RtspState& s, const Parsed& m, const TransportSpec& t);
  void open(Context& ctx, RtspState& s, const Pending& p, const std::string& session,
            uint32_t timeout_s, const PortRange& server);
  static void open_outbound(Context& ctx, const RtspState& s, const Pending& p,
                            const PortRange& server, uint32_t key, uint64_t expires_ms);
  void teardown(Context& ctx, RtspState& s, std::string_view session);
  static void release(Context& ctx, const RtspState& s, const Pending& p) {
    release_pair(ctx, s, p.pub);
  }
  static void release_pair(Context& ctx, const RtspState& s, uint16_t pub) {
    if (!pub) return;
    ctx.release_port(s.pub, kUdp, pub);
    ctx.release_port(s.pub, kUdp, static_cast<uint16_t>(pub + 1));
  }

  std::atomic<size_t> total_{0};  // streams with entries, all control sessions
};

// Whether a SETUP's spec may open anything (refusals counted).
bool RtspInspector::acceptable(Context& ctx, RtspState& s, const Parsed& m,
                               const TransportSpec& t) {
  const session::Session& c = ctx.control();
  if (!m.cseq || !t.client_port.present) {
    ctx.refuse(kRefMalformed, !m.cseq ? "SETUP without CSeq" : "Transport without client_port");
    return false;
  }
  if (t.destination.present && !t.destination.text.empty() &&
      common::IpAddr::parse(std::string(t.destination.text)) != c.orig.src) {
    ctx.refuse(kRefThirdParty, "destination=" + std::string(t.destination.text) +
                                   " is not the client " + c.orig.src.str());
    return false;
  }
  if (t.client_port.lo < kLowestPort || t.client_port.hi < kLowestPort) {
    ctx.refuse(kRefLowPort, "client_port below 1024");
    return false;
  }
  if (s.streams.size() + s.pending.size() >= kMaxStreamsPerSession ||
      s.pending.size() >= kMaxPending) {
    ctx.refuse(kRefCapSession, "more than 8 media streams on one RTSP connection");
    return false;
  }
  if (total_.load() >= kMaxStreamsTotal) {
    ctx.refuse(kRefCapTotal, "too many RTSP media streams in total");
    return false;
  }
  return true;
}

std::vector<Edit> RtspInspector::setup(Context& ctx, RtspState& s, const Parsed& m,
                                       size_t editable) {
  ctx.count(kSetups);
  const TransportSpec* t = udp_unicast(m);
  if (!t) {
    bool il = false;
    for (const auto& x : m.transports) il = il || x.interleaved || x.tcp;
    ctx.count(il ? kInterleaved : kMulticast);  // nothing to open: media in the TCP stream
    return {};
  }
  if (!acceptable(ctx, s, m, *t)) return {};
  Pending p;
  p.rtp = t->client_port.lo;
  p.pair = t->client_port.pair;
  p.rtcp = p.pair ? t->client_port.hi : static_cast<uint16_t>(p.rtp + 1);
  const session::Session& c = ctx.control();
  std::vector<Edit> edits;
  if (c.nat.snat) {
    if (t->client_port.begin < editable) {
      ctx.refuse(kRefSplit, "the client_port of a SETUP split across segments");
      return {};
    }
    auto pub = ctx.reserve_port_pair(c.nat.snat_addr, kUdp);
    if (!pub) {
      ctx.refuse(kRefNat, "no free port pair on " + c.nat.snat_addr.str());
      return {};
    }
    s.pub = c.nat.snat_addr;
    p.pub = *pub;
    const std::optional<uint16_t> hi = p.pair ? std::optional<uint16_t>(*pub + 1) : std::nullopt;
    edits.push_back(
        {t->client_port.begin, t->client_port.end - t->client_port.begin, format_ports(*pub, hi)});
    if (t->destination.present && !t->destination.text.empty() &&
        t->destination.begin >= editable) {
      edits.push_back(
          {t->destination.begin, t->destination.end - t->destination.begin, c.nat.snat_addr.str()});
    }
    if (!remove_alternatives(ctx, m, t, editable, &edits)) {
      ctx.release_port(c.nat.snat_addr, kUdp, *pub);
      ctx.release_port(c.nat.snat_addr, kUdp, static_cast<uint16_t>(*pub + 1));
      ctx.refuse(kRefSplit, "a SETUP's Transport alternatives split across segments");
      return {};
    }
  }
  auto old = s.pending.find(*m.cseq);
  if (old != s.pending.end()) release(ctx, s, old->second);  // a CSeq used twice
  s.pending[*m.cseq] = p;
  return edits;
}

std::vector<Edit> RtspInspector::reply(Context& ctx, RtspState& s, const Pending& p,
                                       const Parsed& m, size_t editable) {
  const session::Session& c = ctx.control();
  const TransportSpec* t = udp_unicast(m);
  if (m.status < 200 || m.status > 299 || !t) {
    release(ctx, s, p);  // refused by the server, or it chose interleaved/multicast
    if (m.status >= 200 && m.status <= 299) ctx.count(kInterleaved);
    return {};
  }
  const uint16_t sent = p.pub ? p.pub : p.rtp;
  if (t->client_port.present && t->client_port.lo != sent) {
    release(ctx, s, p);
    ctx.refuse(kRefMalformed, "the reply names other client ports than the SETUP");
    return {};
  }
  if (t->server_port.present &&
      (t->server_port.lo < kLowestPort || t->server_port.hi < kLowestPort)) {
    release(ctx, s, p);
    ctx.refuse(kRefLowPort, "server_port below 1024");
    return {};
  }
  if (t->source.present && !t->source.text.empty() &&
      common::IpAddr::parse(std::string(t->source.text)) != c.reply.src) {
    // Media are admitted from the server's own address only.
    ctx.refuse(kRefSource,
               "source=" + std::string(t->source.text) + " is not the server " + c.reply.src.str());
  }
  std::vector<Edit> edits;
  if (p.pub && t->client_port.present && t->client_port.begin >= editable) {
    const std::optional<uint16_t> hi =
        t->client_port.pair ? std::optional<uint16_t>(p.rtcp) : std::nullopt;
    edits.push_back(
        {t->client_port.begin, t->client_port.end - t->client_port.begin, format_ports(p.rtp, hi)});
  }
  uint32_t timeout = m.session_timeout.value_or(kDefaultTimeoutS);
  timeout = std::clamp(timeout, kMinTimeoutS, kMaxTimeoutS);
  open(ctx, s, p, std::string(m.session), timeout, t->server_port);
  return edits;
}

// The server's RTP and RTCP to the client (its public pair under source NAT), once each. Under
// source NAT the stream holds the public pair until it ends (TEARDOWN, the control session's end):
// a media session admitted either way uses it without owning it.
void RtspInspector::open(Context& ctx, RtspState& s, const Pending& p, const std::string& session,
                         uint32_t timeout_s, const PortRange& server) {
  const session::Session& c = ctx.control();
  Stream st;
  st.session = session;
  st.key = s.next_key++;
  st.port_rtp = p.pub ? p.pub : p.rtp;
  st.port_rtcp = p.pub ? static_cast<uint16_t>(p.pub + 1) : p.rtcp;
  const uint64_t expires = ctx.now_ms() + uint64_t{timeout_s} * 1000;
  bool any = false;
  for (uint8_t ch : {kRtp, kRtcp}) {
    session::ServerMapEntry e;
    e.proto = kUdp;
    e.channel = ch;
    e.one_shot = true;  // the media session it admits takes over
    e.expires_ms = expires;
    e.alg_data = st.key;
    e.peer = c.reply.src;  // the server, as it sends
    e.port = ch == kRtp ? st.port_rtp : st.port_rtcp;
    if (p.pub) {
      e.addr = s.pub;
      e.xaddr = c.orig.src;
      e.xport = ch == kRtp ? p.rtp : p.rtcp;
    } else {
      e.addr = c.orig.src;
    }
    if (c.nat.dnat) e.sxaddr = c.orig.dst;  // behind a NAT server: leaves as the global address
    if (ctx.open(e)) {
      any = true;
    } else if (ch == kRtp) {
      break;  // (refused: counted by the engine) the RTCP half is not opened either
    }
  }
  if (!any) {
    release(ctx, s, p);
    return;
  }
  st.pub = p.pub;
  if (p.pub && server.present) open_outbound(ctx, s, p, server, st.key, expires);
  s.streams.push_back(std::move(st));
  ++total_;
}

// Source NAT: the client's own RTP and RTCP to the server's ports leave from the public pair,
// whichever side sends first. Otherwise a client RTCP sent before the server's would get another
// public port from PAT, and the server's RTCP to the announced odd port, admitted by its entry,
// would collide with that session (nat-collision). Only from the client, only to the server's
// announced ports.
void RtspInspector::open_outbound(Context& ctx, const RtspState& s, const Pending& p,
                                  const PortRange& server, uint32_t key, uint64_t expires_ms) {
  const session::Session& c = ctx.control();
  for (uint8_t ch : {kRtp, kRtcp}) {
    session::ServerMapEntry e;
    e.proto = kUdp;
    e.channel = ch;
    e.one_shot = true;
    e.expires_ms = expires_ms;
    e.alg_data = key;
    if (ch == kRtcp && !server.pair && server.lo == 65535) break;  // no port after it
    e.addr = c.orig.dst;  // the server, as the client sends to it
    e.port =
        ch == kRtp ? server.lo : (server.pair ? server.hi : static_cast<uint16_t>(server.lo + 1));
    e.port_exact = true;
    e.peer = c.orig.src;  // the client only
    e.sxaddr = s.pub;
    e.sxport = ch == kRtp ? p.pub : p.pub + 1;
    ctx.open(e);  // a refusal is counted; the server-side entry still admits the media
  }
}

void RtspInspector::teardown(Context& ctx, RtspState& s, std::string_view session) {
  ctx.count(kTeardowns);
  std::vector<uint32_t> keys;
  std::vector<uint16_t> pubs;
  std::erase_if(s.streams, [&](const Stream& m) {
    if (!session.empty() && m.session != session) return false;
    keys.push_back(m.key);
    pubs.push_back(m.pub);
    ctx.age_children(kUdp, m.port_rtp, m.port_rtcp);
    return true;
  });
  if (keys.empty()) return;
  total_ -= keys.size();
  ctx.close_entries([&](const session::ServerMapEntry& e) {
    return std::find(keys.begin(), keys.end(), e.alg_data) != keys.end();
  });
  for (uint16_t pub : pubs) release_pair(ctx, s, pub);
}

}  // namespace

std::unique_ptr<Inspector> make_inspector() { return std::make_unique<RtspInspector>(); }

}  // namespace fw::aspf::rtsp
