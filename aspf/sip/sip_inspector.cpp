// The SIP inspector. Each message of the control flow (a UDP datagram) is
// parsed with its SDP; the flow's behaviour follows its NAT:
//  - translate (source NAT of the initiator, or a NAT server in front of the
//    responder): the translated party's private address and signalling port
//    become the public ones in the headers that carry them (top Via, Contact,
//    Route/Record-Route, From/To, Request-URI) and in its SDP (o=, c=, a=rtcp
//    address); its media ports become a public even/odd pair held per stream;
//    messages towards it get the inverse. Call-ID, branches and tags are never
//    touched; Content-Length is recomputed.
//  - pinhole-only (no NAT): entries are opened, no byte changes.
//  - leave alone: the translated party already handles NAT (its Contact names
//    the public address, or its SDP has ICE candidates): nothing is done.
// Media: for each stream with a port that can receive (not port 0, not
// 0.0.0.0, not sendonly/inactive), an RTP and an RTCP entry towards the side
// that announced it, from the other side's announced address once known (any
// source, for a minute, before). Dialogs (Call-ID) end with BYE, CANCEL, a
// final 3xx-6xx to the initial INVITE, or after 12 hours; their entries and
// ports go with them.
#include "aspf/sip/sip_inspector.h"

#include <array>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "aspf/message_framer.h"
#include "aspf/sip/sdp_parser.h"
#include "aspf/sip/sip_parser.h"

namespace fw::aspf::sip {
namespace {

using common::IpAddr;
using session::Dir;

constexpr uint8_t kUdp = 17, kTcp = 6;
constexpr size_t kMaxMessage = 8192;  // as the parser's bound: larger passes untouched
constexpr uint8_t kRtpChannel = 0, kRtcpChannel = 1;
constexpr std::array<Channel, 2> kChannels = {
    {{"sip-rtp", "sip-media"}, {"sip-rtcp", "sip-media"}}};
constexpr uint64_t kOfferLifetimeMs = 60'000;         // an entry before the answer
constexpr uint64_t kMaxCallMs = 12ull * 3600 * 1000;  // maximum call duration
constexpr size_t kMaxDialogs = 1024;  // per control flow (a PBX trunk carries many calls on one)
constexpr size_t kMaxStreams = 4;     // streams with entries, per side
constexpr uint16_t kLowestMediaPort = 1024;
constexpr uint64_t kDialogRefillMs = 5;             // new dialogs per source: 200 a second ...
constexpr uint64_t kDialogBurst = 400;              // ... after a burst of 400
constexpr size_t kMaxSources = 4096;                // rate table size
constexpr uint64_t kRegistrationMarginMs = 30'000;  // kept past the granted expiry
constexpr size_t kMaxRegistrations = 32;            // per control flow

// Counters: the SIP parser's errors, the SDP parser's errors, then these.
constexpr size_t kSdpBase = kErrorCount;
enum : size_t {
  kParsed = kErrorCount + kSdpErrorCount,
  kTranslated,
  kPinholeOnly,
  kLeftAlone,
  kDialogsOpened,
  kDialogsClosed,
  kRefThirdParty,
  kRefLowPort,
  kRefDialogCap,
  kRefRate,
  kRefNoPort,
  kRefTooManyStreams,
  kUnframed,
  kRefSplit,
  kRegistered,
  kUnregistered,
  kRefRegCap,
};
constexpr std::array<std::string_view, 17> kOwnCounters = {"parsed",
                                                           "translated",
                                                           "pinhole-only",
                                                           "left-alone",
                                                           "dialogs",
                                                           "dialogs-closed",
                                                           "refused.third-party",
                                                           "refused.low-port",
                                                           "refused.dialog-cap",
                                                           "refused.rate",
                                                           "refused.no-port",
                                                           "refused.too-many-streams",
                                                           "unframed",
                                                           "refused.split",
                                                           "registrations",
                                                           "registrations-removed",
                                                           "refused.registration-cap"};

// One media stream a side announced (addresses as that side wrote them).
struct Stream {
  IpAddr addr;
  uint16_t rtp = 0, rtcp = 0;
  uint16_t pub_rtp = 0, pub_rtcp = 0;  // held public ports (translated side), 0 = none
  bool receives = false;               // entries towards it
};

struct Dialog {
  uint32_t id = 0;
  uint64_t created_ms = 0;
  bool confirmed = false;                    // a 2xx to the INVITE was seen
  std::array<std::vector<Stream>, 2> media;  // by the direction its announcer sends in
  std::array<bool, 2> announced{};
};

// A binding the registrar granted to the translated party (REGISTER through source NAT): the
// control session and its mapping are held until `expires_ms` (granted expiry + margin).
struct Registration {
  std::string binding;  // "public addr:port -> private addr:port" (display)
  uint64_t expires_ms = 0;
};

struct SipState final : State {
  std::map<std::string, Dialog> dialogs;              // by Call-ID
  std::map<std::string, Registration> registrations;  // by Call-ID (kept across refreshes)
  uint32_t next_id = 1;
  bool leave_alone = false;
};

// The translated party of the control flow, if any.
struct NatView {
  bool on = false;
  Dir t = Dir::kOriginal;  // the direction its messages travel in
  IpAddr priv, pub;
  uint16_t priv_port = 0, pub_port = 0;
};

NatView nat_view(const session::Session& s) {
  NatView v;
  if (s.nat.snat && s.orig.src.is_v4()) {
    v = {true, Dir::kOriginal, s.orig.src, s.reply.dst, s.orig.sport, s.reply.dport};
  } else if (s.nat.dnat && s.reply.src.is_v4()) {
    v = {true, Dir::kReply, s.reply.src, s.orig.dst, s.reply.sport, s.orig.dport};
  }
  return v;
}

size_t idx(Dir d) { return static_cast<size_t>(d); }
Dir other_dir(Dir d) { return d == Dir::kOriginal ? Dir::kReply : Dir::kOriginal; }

std::optional<IpAddr> host_addr(std::string_view host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return IpAddr::parse(host);
}

// New dialogs per source address: a token bucket each.
class DialogRate {
 public:
  bool allow(const IpAddr& src, uint64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    if (buckets_.size() >= kMaxSources && !buckets_.count(src)) buckets_.clear();
    Bucket& b = buckets_.try_emplace(src, Bucket{kDialogBurst, now}).first->second;
    if (now < b.last_ms) b.last_ms = now;
    b.tokens = std::min(kDialogBurst, b.tokens + (now - b.last_ms) / kDialogRefillMs);
    b.last_ms += (now - b.last_ms) / kDialogRefillMs * kDialogRefillMs;
    if (b.tokens == 0) return false;
    --b.tokens;
    return true;
  }

 private:
  struct Bucket {
    uint64_t tokens;
    uint64_t last_ms;
  };
  std::mutex mu_;
  std::unordered_map<IpAddr, Bucket> buckets_;
};

class SipInspector final : public Inspector {
 public:
  SipInspector() {
    for (size_t i = 0; i < kErrorCount; ++i) {
      names_.push_back("refused." + std::string(error_name(static_cast<Error>(i))));
    }
    for (size_t i = 0; i < kSdpErrorCount; ++i) {
      names_.push_back("refused.sdp-" + std::string(sdp_error_name(static_cast<SdpError>(i))));
    }
    for (auto n : kOwnCounters) names_.emplace_back(n);
    for (const auto& n : names_) views_.push_back(n);
    spec_ = {"sip", "Session Initiation Protocol", {kUdp, kTcp}, 5060, views_, kChannels};
  }

  const AlgSpec& spec() const override { return spec_; }
  // Every dialog of the flow may hold its streams' entries (RTP and RTCP, each side).
  size_t max_entries_per_session() const override { return kMaxDialogs * 4; }
  std::unique_ptr<State> new_state() const override { return std::make_unique<SipState>(); }
  // SIP over TCP (RFC 3261 18.3): headers + Content-Length, at most 8192 bytes.
  std::unique_ptr<Framer> new_framer() const override {
    return make_message_framer({.max_message = kMaxMessage, .interleaved = false});
  }

  std::vector<Edit> on_message(Context& ctx, State* st, Dir d, const aspf::Message& msg) override;
  void on_close(Context& ctx, State* st) override;
  std::string describe(const session::Session& s, const State* st, uint64_t now) const override;

 private:
  Dialog* dialog_for(Context& ctx, SipState& S, const Message& m, Dir d);
  void media(Context& ctx, Dialog& dg, Dir d, const Sdp& sdp, size_t base, const NatView& nv,
             bool translate, std::vector<Edit>& edits);
  std::vector<Stream> streams(Context& ctx, const Sdp& sdp, Dir d, const NatView& nv,
                              bool translate) const;
  bool hold_ports(Context& ctx, const NatView& nv, const std::vector<Stream>& old,
                  const std::vector<Stream>& fresh, Stream& s);
  void open_side(Context& ctx, const Dialog& dg, Dir x, const NatView& nv);
  void close_dialog(Context& ctx, SipState& S, std::map<std::string, Dialog>::iterator it,
                    const NatView& nv);
  void expire_dialogs(Context& ctx, SipState& S, const NatView& nv);
  void follow_dialog(Context& ctx, SipState& S, Dialog& dg, const Message& m, const NatView& nv);
  void release(Context& ctx, const NatView& nv, const Stream& s);
  void registration(Context& ctx, SipState& S, const Message& m, const NatView& nv);

  std::vector<std::string> names_;
  std::vector<std::string_view> views_;
  AlgSpec spec_;
  DialogRate rate_;
};

// ---- headers ----------------------------------------------------------------------------

bool names_public(const Message& m, const NatView& nv) {
  for (const auto& c : m.contacts) {
    if (!c.hostport) continue;
    auto a = host_addr(c.hostport->host);
    if (a && *a == nv.pub) return true;
  }
  return false;
}

// From the translated party: private -> public; towards it: public -> private.
void header_edits(const Message& m, const NatView& nv, Dir d, std::vector<Edit>& out) {
  const bool outward = d == nv.t;
  const IpAddr& from = outward ? nv.priv : nv.pub;
  const IpAddr& to = outward ? nv.pub : nv.priv;
  const uint16_t from_port = outward ? nv.priv_port : nv.pub_port;
  const uint16_t to_port = outward ? nv.pub_port : nv.priv_port;
  auto apply = [&](const std::optional<HostPort>& hp) {
    if (!hp) return;
    auto a = host_addr(hp->host);
    if (!a || *a != from) return;
    // The signalling port (or none written) becomes the other side's; any other port is kept.
    uint16_t port = hp->port == 0 || hp->port == from_port ? to_port : hp->port;
    out.push_back({hp->off, hp->len, to.str() + ":" + std::to_string(port)});
  };
  if (m.is_request) apply(m.request_uri.hostport);
  apply(m.via_sent_by);
  for (const auto& u : m.contacts) apply(u.hostport);
  for (const auto& u : m.routes) apply(u.hostport);
  apply(m.from.hostport);
  apply(m.to.hostport);
}

void fix_content_length(const Message& m, std::vector<Edit>& edits) {
  if (!m.content_length) return;
  long delta = 0;
  for (const auto& e : edits) {
    if (e.offset >= m.body_off) {
      delta += static_cast<long>(e.replacement.size()) - static_cast<long>(e.old_len);
    }
  }
  if (delta == 0) return;
  edits.push_back({m.content_length_off, m.content_length_len,
                   std::to_string(static_cast<long>(m.body_len) + delta)});
}

// ---- registrations ----------------------------------------------------------------------

// The seconds a 2xx to a REGISTER grants the translated party: the largest expires= of the
// Contacts naming its public address, else the Expires header; 0 when it lists none of them
// (an unregistration, RFC 3261 10.3: the 2xx lists the bindings that remain).
uint32_t granted_seconds(const Message& m, const NatView& nv) {
  std::optional<uint32_t> best;
  for (const auto& c : m.contacts) {
    if (!c.hostport) continue;
    auto a = host_addr(c.hostport->host);
    if (!a || *a != nv.pub) continue;
    const uint32_t e = c.expires ? *c.expires : m.expires.value_or(3600);
    best = std::max(best.value_or(0), e);
  }
  return best.value_or(0);
}

// A final answer to a REGISTER travelling towards the translated initiator.
void SipInspector::registration(Context& ctx, SipState& S, const Message& m, const NatView& nv) {
  const uint64_t now = ctx.now_ms();
  std::erase_if(S.registrations, [now](const auto& r) { return r.second.expires_ms <= now; });
  const uint32_t secs = granted_seconds(m, nv);
  auto it = S.registrations.find(m.call_id);
  if (secs == 0) {
    if (it != S.registrations.end()) {
      S.registrations.erase(it);
      ctx.count(kUnregistered);
    }
  } else if (it == S.registrations.end() && S.registrations.size() >= kMaxRegistrations) {
    ctx.refuse(kRefRegCap, "more than 32 registrations on one signalling flow");
  } else {
    Registration& r = S.registrations[m.call_id];
    if (r.expires_ms == 0) ctx.count(kRegistered);
    r.binding = nv.pub.str() + ":" + std::to_string(nv.pub_port) + " -> " + nv.priv.str() + ":" +
                std::to_string(nv.priv_port);
    r.expires_ms = now + uint64_t{secs} * 1000 + kRegistrationMarginMs;
  }
}

// The latest expiry of the flow's registrations (0 = none): the control session is held so long.
uint64_t hold_until(const SipState& S, uint64_t now) {
  uint64_t until = 0;
  for (const auto& [id, r] : S.registrations) {
    if (r.expires_ms > now) until = std::max(until, r.expires_ms);
  }
  return until;
}

// ---- dialogs ----------------------------------------------------------------------------

// The refusals a message brings are logged once per dialog: its scope is its Call-ID (dialogs
// are kept by Call-ID; the From tag would split a dialog, as the callee's requests carry its own).
void log_dialog_scope(Context& ctx, const Message& m) {
  if (m.call_id.empty()) return;
  const uint64_t h = std::hash<std::string_view>{}(m.call_id);
  ctx.log_scope(h != 0 ? h : 1, "dialog " + m.call_id);
}

Dialog* SipInspector::dialog_for(Context& ctx, SipState& S, const Message& m, Dir d) {
  auto it = S.dialogs.find(m.call_id);
  if (it != S.dialogs.end()) return &it->second;
  if (!m.is_request || m.method != "INVITE" || !m.to.tag.empty()) return nullptr;
  // Refusing a new dialog is about the flow (a flood of INVITEs logs once, not per Call-ID).
  if (S.dialogs.size() >= kMaxDialogs) {
    ctx.log_scope(0, {});
    ctx.refuse(kRefDialogCap, std::to_string(kMaxDialogs) + " dialogs on one signalling flow");
    return nullptr;
  }
  const session::Session& s = ctx.control();
  const IpAddr& sender = d == Dir::kOriginal ? s.orig.src : s.reply.src;
  if (!rate_.allow(sender, ctx.now_ms())) {
    ctx.log_scope(0, {});
    ctx.refuse(kRefRate, "new dialogs from " + sender.str() + " faster than 200 a second");
    return nullptr;
  }
  Dialog& dg = S.dialogs[m.call_id];
  dg.id = S.next_id++;
  dg.created_ms = ctx.now_ms();
  ctx.count(kDialogsOpened);
  return &dg;
}

void SipInspector::release(Context& ctx, const NatView& nv, const Stream& s) {
  if (s.pub_rtp) ctx.release_port(nv.pub, kUdp, s.pub_rtp);
  if (s.pub_rtcp) ctx.release_port(nv.pub, kUdp, s.pub_rtcp);
}

void SipInspector::close_dialog(Context& ctx, SipState& S,
                                std::map<std::string, Dialog>::iterator it, const NatView& nv) {
  const uint32_t id = it->second.id;
  ctx.close_entries([id](const session::ServerMapEntry& e) { return e.alg_data >> 1 == id; });
  for (const auto& side : it->second.media) {
    for (const auto& s : side) {
      release(ctx, nv, s);
      if (s.receives) ctx.age_children(kUdp, s.pub_rtp ? s.pub_rtp : s.rtp, s.rtp);
    }
  }
  S.dialogs.erase(it);
  ctx.count(kDialogsClosed);
}

// The SDP body of a message, if it has one, into `sdp`; false when the SDP parser refuses it.
bool parse_body(Context& ctx, const aspf::Message& msg, const Message& m, std::optional<Sdp>& sdp) {
  if (!m.sdp_off) return true;
  SdpResult sr = parse_sdp(std::span<const uint8_t>(msg.bytes).subspan(*m.sdp_off, m.sdp_len));
  if (sr.error) {
    ctx.refuse(kSdpBase + static_cast<size_t>(*sr.error), "an SDP body the parser refuses");
    return false;
  }
  sdp = std::move(sr.sdp);
  return true;
}

// Dialogs older than the maximum call duration end.
void SipInspector::expire_dialogs(Context& ctx, SipState& S, const NatView& nv) {
  for (auto it = S.dialogs.begin(); it != S.dialogs.end();) {
    auto next = std::next(it);
    if (ctx.now_ms() - it->second.created_ms > kMaxCallMs) close_dialog(ctx, S, it, nv);
    it = next;
  }
}

// A 2xx to the INVITE confirms the dialog; BYE, CANCEL or a final 3xx-6xx to the INVITE of an
// unconfirmed dialog ends it.
void SipInspector::follow_dialog(Context& ctx, SipState& S, Dialog& dg, const Message& m,
                                 const NatView& nv) {
  const bool invite_answer = !m.is_request && m.cseq_method == "INVITE";
  if (invite_answer && m.status >= 200 && m.status < 300) dg.confirmed = true;
  if ((m.is_request && (m.method == "BYE" || m.method == "CANCEL")) ||
      (invite_answer && m.status >= 300 && !dg.confirmed)) {
    close_dialog(ctx, S, S.dialogs.find(m.call_id), nv);
  }
}

std::vector<Edit> SipInspector::on_message(Context& ctx, State* st, Dir d,
                                           const aspf::Message& msg) {
  auto& S = static_cast<SipState&>(*st);
  if (msg.bytes.empty()) {
    ctx.count(kUnframed);  // TCP: too long, bad Content-Length or a gap: left untouched
    return {};
  }
  ParseResult r = parse(msg.bytes);
  if (r.error) {
    ctx.refuse(static_cast<size_t>(*r.error), "a message the SIP parser refuses");
    return {};
  }
  const Message& m = *r.message;
  log_dialog_scope(ctx, m);
  std::optional<Sdp> sdp;
  if (!parse_body(ctx, msg, m, sdp)) return {};
  ctx.count(kParsed);
  const NatView nv = nat_view(ctx.control());
  expire_dialogs(ctx, S, nv);
  if (nv.on && d == nv.t && !S.leave_alone && (names_public(m, nv) || (sdp && sdp->candidate))) {
    S.leave_alone = true;
  }
  if (S.leave_alone) {
    ctx.count(kLeftAlone);
    return {};
  }
  ctx.count(nv.on ? kTranslated : kPinholeOnly);
  std::vector<Edit> edits;
  if (nv.on) header_edits(m, nv, d, edits);
  // TCP: the start of the message already left in an earlier segment. If it needs a rewrite
  // (its headers, or its translated SDP and so Content-Length), it passes untouched and opens
  // nothing: all or nothing. Its dialog state still counts (a BYE still ends the call).
  const bool split = msg.editable_from > 0 && nv.on && (!edits.empty() || (sdp && d == nv.t));
  if (split) {
    ctx.refuse(kRefSplit, "a message to rewrite split across TCP segments");
    edits.clear();
  }
  Dialog* dg = dialog_for(ctx, S, m, d);
  if (dg && sdp && !split) media(ctx, *dg, d, *sdp, *m.sdp_off, nv, nv.on, edits);
  if (nv.on && nv.t == Dir::kOriginal && d != nv.t && !m.is_request &&
      m.cseq_method == "REGISTER" && m.status >= 200 && m.status < 300) {
    registration(ctx, S, m, nv);
  }
  ctx.hold_control(hold_until(S, ctx.now_ms()));
  if (dg) follow_dialog(ctx, S, *dg, m, nv);
  fix_content_length(m, edits);
  return edits;
}

void SipInspector::on_close(Context& ctx, State* st) {
  auto& S = static_cast<SipState&>(*st);
  const NatView nv = nat_view(ctx.control());
  for (const auto& [id, dg] : S.dialogs) {
    for (const auto& side : dg.media) {
      for (const auto& s : side) release(ctx, nv, s);
    }
  }
  S.dialogs.clear();
}

// ---- display ----------------------------------------------------------------------------

std::string stream_text(const Stream& s) {
  std::string t = s.addr.str() + ":" + std::to_string(s.rtp) + "/" + std::to_string(s.rtcp);
  if (s.pub_rtp) t += "[" + std::to_string(s.pub_rtp) + "/" + std::to_string(s.pub_rtcp) + "]";
  return t + (s.receives ? "" : " (no entry)");
}

std::string SipInspector::describe(const session::Session& s, const State* st, uint64_t now) const {
  const auto* S = dynamic_cast<const SipState*>(st);
  if (!S) return {};
  const NatView nv = nat_view(s);
  std::string out = "  Mode: ";
  out += S->leave_alone ? "leave-alone" : nv.on ? "translate" : "pinhole-only";
  out += "  Dialogs: " + std::to_string(S->dialogs.size()) +
         "  Registrations: " + std::to_string(S->registrations.size()) + "\n";
  for (const auto& [call_id, dg] : S->dialogs) {
    out += "  Dialog " + std::to_string(dg.id) + "  Call-ID: " + call_id +
           "  State: " + (dg.confirmed ? "confirmed" : "early") +
           "  Age: " + std::to_string((now - std::min(now, dg.created_ms)) / 1000) + " s\n";
    for (Dir x : {Dir::kOriginal, Dir::kReply}) {
      for (const auto& m : dg.media[idx(x)]) {
        out += std::string("    media ") + (x == Dir::kOriginal ? "initiator" : "responder") +
               ": " + stream_text(m) + "\n";
      }
    }
  }
  for (const auto& [call_id, r] : S->registrations) {
    const uint64_t left = r.expires_ms > now ? (r.expires_ms - now) / 1000 : 0;
    out += "  Registration  Call-ID: " + call_id + "  " + r.binding +
           "  Expires in: " + std::to_string(left) + " s\n";
  }
  return out;
}

// ---- media ------------------------------------------------------------------------------

// The streams of an SDP from direction d; those that may not have entries do not receive.
std::vector<Stream> SipInspector::streams(Context& ctx, const Sdp& sdp, Dir d, const NatView& nv,
                                          bool translate) const {
  const session::Session& s = ctx.control();
  const IpAddr sender = translate && d == nv.t ? nv.priv
                        : d == Dir::kOriginal  ? s.orig.src
                                               : s.reply.src;
  std::vector<Stream> out;
  for (const Media& md : sdp.media) {
    if (out.size() >= kMaxStreams) {
      ctx.refuse(kRefTooManyStreams, "more than 4 media streams");
      break;
    }
    Stream st;
    const SdpAddr* a = sdp.address(md);
    auto addr = a && a->in ? IpAddr::parse(a->text) : std::nullopt;
    st.addr = addr.value_or(IpAddr());
    st.rtp = md.port.value;
    st.rtcp = md.rtcp ? md.rtcp->value : static_cast<uint16_t>(md.port.value + 1);
    const Direction dir = sdp.direction(md);
    st.receives = st.rtp != 0 && addr && *addr != IpAddr::v4(0) &&
                  (dir == Direction::kSendRecv || dir == Direction::kRecvOnly);
    if (st.receives && translate && *addr != sender) {
      ctx.refuse(kRefThirdParty, "media address " + addr->str() + " is not the sender's");
      st.receives = false;
    } else if (st.receives &&
               (st.rtp < kLowestMediaPort || st.rtcp < kLowestMediaPort || st.rtp == 65535)) {
      ctx.refuse(kRefLowPort, "media port " + std::to_string(st.rtp) + " below 1024");
      st.receives = false;
    }
    out.push_back(st);
  }
  return out;
}

// Public RTP/RTCP ports for a translated stream: the ones it had, or a new even/odd pair.
bool SipInspector::hold_ports(Context& ctx, const NatView& nv, const std::vector<Stream>& old,
                              const std::vector<Stream>& fresh, Stream& s) {
  for (const auto& o : old) {
    // An old pair goes to one new stream only (two identical streams would share it).
    bool taken = false;
    for (const auto& f : fresh) taken = taken || (&f != &s && f.pub_rtp == o.pub_rtp);
    if (!taken && o.pub_rtp && o.addr == s.addr && o.rtp == s.rtp && o.rtcp == s.rtcp) {
      s.pub_rtp = o.pub_rtp;
      s.pub_rtcp = o.pub_rtcp;
      return true;
    }
  }
  // The private pair itself when it is free on the public address: the phone's media flow of
  // an earlier call on the same ports (still aging) keeps matching the new call's entries.
  const auto want = static_cast<uint16_t>(s.rtp & ~1u);
  if (auto a = ctx.reserve_port(nv.pub, kUdp, want)) {
    if (*a == want) {
      if (auto b = ctx.reserve_port(nv.pub, kUdp, static_cast<uint16_t>(want + 1))) {
        if (*b == want + 1) {
          s.pub_rtp = want;
          s.pub_rtcp = *b;
          return true;
        }
        ctx.release_port(nv.pub, kUdp, *b);
      }
    }
    ctx.release_port(nv.pub, kUdp, *a);
  }
  if (auto even = ctx.reserve_port_pair(nv.pub, kUdp)) {
    s.pub_rtp = *even;
    s.pub_rtcp = static_cast<uint16_t>(*even + 1);
    return true;
  }
  ctx.refuse(kRefNoPort, "no free even/odd port pair on " + nv.pub.str());
  return false;
}

void SipInspector::media(Context& ctx, Dialog& dg, Dir d, const Sdp& sdp, size_t base,
                         const NatView& nv, bool translate, std::vector<Edit>& edits) {
  std::vector<Stream> fresh = streams(ctx, sdp, d, nv, translate);
  std::vector<Stream>& old = dg.media[idx(d)];
  const bool own = translate && d == nv.t;
  if (own) {
    for (size_t i = 0; i < fresh.size(); ++i) {
      Stream& s = fresh[i];
      const Media& md = sdp.media[i];
      if (s.receives && !hold_ports(ctx, nv, old, fresh, s)) s.receives = false;
      if (!s.pub_rtp) continue;
      edits.push_back({base + md.port.off, md.port.len, std::to_string(s.pub_rtp)});
      if (md.rtcp) edits.push_back({base + md.rtcp->off, md.rtcp->len, std::to_string(s.pub_rtcp)});
    }
    auto addr_edit = [&](const std::optional<SdpAddr>& a) {
      if (a && a->in && IpAddr::parse(a->text) == nv.priv) {
        edits.push_back({base + a->off, a->len, nv.pub.str()});
      }
    };
    addr_edit(sdp.origin);
    addr_edit(sdp.conn);
    for (const auto& md : sdp.media) {
      addr_edit(md.conn);
      addr_edit(md.rtcp_addr);
    }
  }
  // Ports of streams that are gone go back; their flows age out.
  for (const auto& o : old) {
    bool kept = false;
    for (const auto& s : fresh) kept = kept || (o.pub_rtp && s.pub_rtp == o.pub_rtp);
    if (!kept) release(ctx, nv, o);
    if (!kept && o.receives) ctx.age_children(kUdp, o.pub_rtp ? o.pub_rtp : o.rtp, o.rtp);
  }
  old = std::move(fresh);
  dg.announced[idx(d)] = true;
  // Both sides' entries depend on both announcements: open them anew.
  const uint32_t id = dg.id;
  ctx.close_entries([id](const session::ServerMapEntry& e) { return e.alg_data >> 1 == id; });
  open_side(ctx, dg, Dir::kOriginal, nv);
  open_side(ctx, dg, Dir::kReply, nv);
}

// RTP and RTCP entries towards the streams side x announced.
void SipInspector::open_side(Context& ctx, const Dialog& dg, Dir x, const NatView& nv) {
  const auto& mine = dg.media[idx(x)];
  const auto& theirs = dg.media[idx(other_dir(x))];
  const bool answered = dg.announced[0] && dg.announced[1];
  for (size_t i = 0; i < mine.size(); ++i) {
    const Stream& s = mine[i];
    if (!s.receives) continue;
    const Stream* peer =
        i < theirs.size() && !theirs[i].addr.empty() && theirs[i].addr != IpAddr::v4(0) ? &theirs[i]
                                                                                        : nullptr;
    for (uint8_t ch : {kRtpChannel, kRtcpChannel}) {
      session::ServerMapEntry e;
      e.proto = kUdp;
      e.channel = ch;
      e.port_exact = true;
      e.alg_data = dg.id << 1 | static_cast<uint32_t>(idx(x));
      e.expires_ms = ctx.now_ms() + (answered && peer ? kMaxCallMs : kOfferLifetimeMs);
      if (peer) e.peer = peer->addr;
      const uint16_t port = ch == kRtpChannel ? s.rtp : s.rtcp;
      if (nv.on && x == nv.t) {
        e.addr = nv.pub;
        e.port = ch == kRtpChannel ? s.pub_rtp : s.pub_rtcp;
        e.xaddr = s.addr;
        e.xport = port;
      } else {
        e.addr = s.addr;
        e.port = port;
        if (nv.on) e.sxaddr = nv.pub;  // from the translated side: leaves as the public address
        if (nv.on && peer && peer->pub_rtp) {
          e.sxport = ch == kRtpChannel ? peer->pub_rtp : peer->pub_rtcp;
        }
      }
      if (!ctx.open(e)) return;
    }
  }
}

}  // namespace

std::unique_ptr<Inspector> make_inspector() { return std::make_unique<SipInspector>(); }

}  // namespace fw::aspf::sip
