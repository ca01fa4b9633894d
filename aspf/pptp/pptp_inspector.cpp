// The PPTP inspector (RFC 2637). Behind source NAT, the client's (PNS's) call
// id is replaced by one allocated per (public address, server) - the FreeBSD
// libalias model - so several clients behind one address, which may all pick
// the same call id, stay apart; the server's messages naming that id are
// mapped back. For each call two server-map entries admit the GRE flows of
// both directions without a policy match; the GRE session translates the
// address both ways and the key (call id) on the way in.
#include "aspf/pptp/pptp_inspector.h"

#include <algorithm>
#include <array>
#include <map>

#include "aspf/pptp/call_id_alloc.h"
#include "aspf/pptp/pptp_parser.h"
#include "common/bytes.h"

namespace fw::aspf::pptp {
namespace {

constexpr size_t kMaxMessage = 1024;
constexpr uint8_t kProtoGre = 47;

// Counters (below "aspf.pptp."), by index. The parser's errors come first, in
// the order of pptp::Error, so an error is its own index.
enum : size_t {
  kRefParseFirst = 0,
  kParsed = 6,
  kMalformed,
  kCallsClosed,
  kRefCallIdExhausted,
  kRefSplit,
};
constexpr std::array<std::string_view, 11> kCounters = {"refused.truncated",
                                                        "refused.bad-length",
                                                        "refused.bad-message-type",
                                                        "refused.bad-magic",
                                                        "refused.unknown-type",
                                                        "refused.zero-call-id",
                                                        "parsed",
                                                        "malformed",
                                                        "calls-closed",
                                                        "refused.call-id-exhausted",
                                                        "refused.split"};

constexpr uint8_t kGreChannel = 0;
constexpr std::array<Channel, 1> kChannels = {{{"pptp-gre", "gre"}}};

constexpr AlgSpec kSpec = {"pptp",   "Point-to-Point Tunneling Protocol", {6}, 1723, kCounters,
                           kChannels};

// A GRE entry carries, for the child it admits, the call id the other
// direction's packets carry on the wire (the reply key) and what that id
// becomes when delivered (the same value when it is not translated).
uint32_t gre_data(uint16_t reply_key, uint16_t delivered) {
  return static_cast<uint32_t>(reply_key) << 16 | delivered;
}

// Length-framed PPTP messages of one direction of the TCP stream.
class MessageFramer final : public Framer {
 public:
  void start(uint32_t seq) override {
    started_ = true;
    next_ = seq;
    buf_.clear();
    dead_ = false;
  }
  bool started() const override { return started_; }
  std::vector<aspf::Message> feed(uint32_t seq, std::span<const uint8_t> payload) override {
    std::vector<aspf::Message> out;
    if (!started_ || dead_) return out;
    int32_t off = static_cast<int32_t>(next_ - seq);
    if (off < 0) {
      // A gap: message boundaries are lost for good on this stream.
      dead_ = true;
      return out;
    }
    if (static_cast<size_t>(off) >= payload.size()) return out;  // retransmission
    buf_.insert(buf_.end(), payload.begin() + off, payload.end());
    next_ = seq + static_cast<uint32_t>(payload.size());
    while (buf_.size() >= 2) {
      size_t len = static_cast<size_t>((buf_[0] << 8) | buf_[1]);
      if (len < 12 || len > kMaxMessage) {
        dead_ = true;
        break;
      }
      if (buf_.size() < len) break;
      aspf::Message m;
      m.seq = next_ - static_cast<uint32_t>(buf_.size());
      m.bytes.assign(buf_.begin(), buf_.begin() + static_cast<long>(len));
      buf_.erase(buf_.begin(), buf_.begin() + static_cast<long>(len));
      out.push_back(std::move(m));
    }
    if (buf_.size() > kMaxMessage) dead_ = true;
    return out;
  }

 private:
  bool started_ = false, dead_ = false;
  uint32_t next_ = 0;
  std::vector<uint8_t> buf_;
};

struct Call {
  uint16_t pns = 0;       // the client's own call id
  uint16_t pns_xlat = 0;  // what the server sees
  uint16_t pac = 0;       // the server's call id (known from OCRP / ICRQ)
  bool mapped = false;    // pns_xlat came from the allocator
  bool open = false;      // GRE entries opened
};

struct PptpState final : State {
  std::map<uint16_t, Call> by_xlat;  // key: pns_xlat
  common::IpAddr pub, server;        // allocator scope
};

Edit put16(size_t at, uint16_t v) {
  std::string b(2, '\0');
  common::wr16(reinterpret_cast<uint8_t*>(b.data()), v);
  return {at, 2, b};
}

// Whether the field at `at` may be rewritten: the start of a message split
// across TCP segments has already left.
bool editable(size_t at, size_t editable_from) { return at >= editable_from; }

class PptpInspector final : public Inspector {
 public:
  const AlgSpec& spec() const override { return kSpec; }
  std::unique_ptr<Framer> new_framer() const override { return std::make_unique<MessageFramer>(); }
  std::unique_ptr<State> new_state() const override { return std::make_unique<PptpState>(); }

  // The GRE of a call: keyed by call ids both ways; the client's own id is
  // given back on the way in when it was translated.
  void child_flow(const session::ServerMapEntry& e, ChildFlow& c) const override {
    const auto reply_key = static_cast<uint16_t>(e.alg_data >> 16);
    const auto delivered = static_cast<uint16_t>(e.alg_data & 0xffff);
    c.reply.sport = 0;
    c.reply.dport = reply_key;
    if (delivered != reply_key) c.nat.reply_dport = delivered;
  }
  // Call id 0 is a real id (pptpd's first call): always shown.
  bool entry_port_always_shown(const session::ServerMapEntry&) const override { return true; }
  // GRE sessions show call ids: the initiator's own, and in brackets the one its peer uses.
  std::pair<uint16_t, uint16_t> shown_ports(const session::Session& s) const override {
    const uint16_t own =
        s.nat.reply_dport >= 0 ? static_cast<uint16_t>(s.nat.reply_dport) : s.reply.dport;
    return {own, s.reply.dport};
  }

  std::vector<Edit> on_message(Context& ctx, State* st, session::Dir d,
                               const aspf::Message& msg) override {
    auto& ps = static_cast<PptpState&>(*st);
    const session::Session& s = ctx.control();
    auto parsed = parse(std::span<const uint8_t>(msg.bytes.data(), msg.bytes.size()));
    auto& m = parsed.first;
    auto& err = parsed.second;
    if (!m) {
      ctx.count(kMalformed);
      ctx.refuse(err ? static_cast<size_t>(*err) : kRefParseFirst, "bad PPTP control message");
      return {};
    }
    ctx.count(kParsed);
    if (auto* t = ctx.trace()) {
      t->parsed(std::string(msg_name(m->type)) + ": call id " + std::to_string(m->call_id) +
                ", peer call id " + std::to_string(m->peer_call_id));
    }
    bool from_client = d == session::Dir::kOriginal;  // the client (PNS) opened the control session
    ps.pub = s.nat.snat ? s.nat.snat_addr : s.orig.src;
    ps.server = s.reply.src;
    std::vector<Edit> edits;
    bool ok = true;  // false: refused, the message passes without edits

    switch (m->type) {
      case MsgType::kOutgoingCallRequest:
      case MsgType::kIncomingCallReply:
        if (from_client) ok = call_from_client(ctx, ps, *m, msg.editable_from, edits);
        break;
      case MsgType::kOutgoingCallReply:
      case MsgType::kIncomingCallConnected:
      case MsgType::kWanErrorNotify:
      case MsgType::kSetLinkInfo:
        if (!from_client) ok = call_from_server(ctx, ps, *m, msg.editable_from, edits);
        break;
      case MsgType::kCallClearRequest:
        if (from_client) clear_call(ctx, ps, *m, msg.editable_from, edits);
        break;
      case MsgType::kCallDisconnectNotify:
        if (!from_client) disconnect_call(ctx, ps, *m, msg.editable_from, edits);
        break;
      case MsgType::kStopCtrlConnRequest:
      case MsgType::kStopCtrlConnReply:
        close_all(ctx, ps);
        break;
      default:
        break;
    }
    if (!ok) return {};
    return edits;
  }

  void on_close(Context& ctx, State* st) override { close_all(ctx, static_cast<PptpState&>(*st)); }

 private:
  // OCRQ or ICRP from the client: a call with the client's own id, translated
  // behind source NAT. False when refused.
  bool call_from_client(Context& ctx, PptpState& ps, const Message& m, size_t editable_from,
                        std::vector<Edit>& edits) {
    const session::Session& s = ctx.control();
    Call c;
    c.pns = m.call_id;
    c.pns_xlat = m.call_id;
    if (s.nat.snat) {
      auto x = alloc_.map(ps.pub, ps.server, s.orig.src, m.call_id);
      if (!x) {
        ctx.refuse(kRefCallIdExhausted, "no free call id towards " + ps.server.str());
        return false;
      }
      c.pns_xlat = *x;
      c.mapped = true;
      if (*x != m.call_id) {
        if (!editable(m.call_id_at, editable_from)) {
          ctx.refuse(kRefSplit, "call id split across segments");
          return false;
        }
        edits.push_back(put16(m.call_id_at, *x));
      }
    }
    if (m.type == MsgType::kIncomingCallReply) c.pac = m.peer_call_id;
    Call& kept = ps.by_xlat[c.pns_xlat] = c;
    if (m.type == MsgType::kIncomingCallReply) open_call(ctx, ps, kept);
    return true;
  }

  // OCRP, ICCN, WEN or SLI from the server, naming the client's (translated)
  // call id: given back the client's own. False when refused.
  bool call_from_server(Context& ctx, PptpState& ps, const Message& m, size_t editable_from,
                        std::vector<Edit>& edits) {
    auto it = ps.by_xlat.find(m.peer_call_id);
    if (it == ps.by_xlat.end()) return true;
    Call& c = it->second;
    if (c.pns != c.pns_xlat) {
      if (!editable(m.peer_call_id_at, editable_from)) {
        ctx.refuse(kRefSplit, "call id split across segments");
        return false;
      }
      edits.push_back(put16(m.peer_call_id_at, c.pns));
    }
    if (m.type == MsgType::kOutgoingCallReply) {
      if (m.result_code != 1) {  // refused by the server: the call never exists
        release(ps, c);
        ps.by_xlat.erase(it);
        return true;
      }
      c.pac = m.call_id;
      open_call(ctx, ps, c);
    }
    return true;
  }

  // CCRQ from the client.
  void clear_call(Context& ctx, PptpState& ps, const Message& m, size_t editable_from,
                  std::vector<Edit>& edits) {
    // CCRQ names the client's own call id.
    // The call ends here: pptp-linux sends no Stop-Control-Connection and
    // pptpd may answer with a FIN only, so this is the teardown we get.
    for (auto it = ps.by_xlat.begin(); it != ps.by_xlat.end(); ++it) {
      Call& c = it->second;
      if (c.pns != m.call_id) continue;
      if (it->first != c.pns && editable(m.call_id_at, editable_from)) {
        edits.push_back(put16(m.call_id_at, it->first));
      }
      close_call(ctx, ps, c);
      ps.by_xlat.erase(it);
      break;
    }
  }

  // CDN from the server.
  void disconnect_call(Context& ctx, PptpState& ps, const Message& m, size_t editable_from,
                       std::vector<Edit>& edits) {
    // The PAC's own id per RFC 2637; some PACs send the PNS's (translated) id.
    auto it = ps.by_xlat.find(m.call_id);
    if (it != ps.by_xlat.end() && it->second.pac != m.call_id) {
      if (it->second.pns != it->second.pns_xlat && editable(m.call_id_at, editable_from)) {
        edits.push_back(put16(m.call_id_at, it->second.pns));
      }
    } else {
      it = std::find_if(ps.by_xlat.begin(), ps.by_xlat.end(),
                        [&](const auto& kv) { return kv.second.pac == m.call_id; });
    }
    if (it != ps.by_xlat.end()) {
      close_call(ctx, ps, it->second);
      ps.by_xlat.erase(it);
    }
  }

  void close_all(Context& ctx, PptpState& ps) {
    for (auto& [x, c] : ps.by_xlat) close_call(ctx, ps, c);
    ps.by_xlat.clear();
  }

  void release(PptpState& ps, const Call& c) {
    if (c.mapped) alloc_.release(ps.pub, ps.server, c.pns_xlat);
  }

  void close_call(Context& ctx, PptpState& ps, const Call& c) {
    release(ps, c);
    if (c.open) {
      ctx.close_entries([&](const session::ServerMapEntry& e) {
        return e.proto == kProtoGre && (e.port == c.pac || e.port == c.pns_xlat);
      });
      ctx.age_children(kProtoGre, c.pac, c.pns_xlat);
      ctx.count(kCallsClosed);
    }
  }

  // Two entries per call: GRE from the client (key = the server's call id)
  // and GRE from the server (key = the client's translated call id).
  static void open_call(Context& ctx, PptpState& ps, Call& c) {
    if (c.open) return;
    const session::Session& s = ctx.control();
    session::ServerMapEntry out;
    out.proto = kProtoGre;
    out.channel = kGreChannel;
    out.port_exact = true;  // call id 0 is a real id, not "any"
    out.peer = s.orig.src;
    out.addr = s.orig.dst;
    out.port = c.pac;
    if (s.nat.dnat) out.xaddr = s.reply.src;
    if (s.nat.snat) out.sxaddr = s.nat.snat_addr;
    out.alg_data = gre_data(c.pns_xlat, c.pns);
    session::ServerMapEntry in = out;
    in.peer = s.reply.src;
    in.addr = ps.pub;
    in.port = c.pns_xlat;
    in.xaddr = {};
    in.sxaddr = {};
    if (s.nat.snat) {
      in.xaddr = s.orig.src;
      in.xport = c.pns;
    }
    if (s.nat.dnat) in.sxaddr = s.orig.dst;
    in.alg_data = gre_data(c.pac, c.pac);
    if (ctx.open(out) && ctx.open(in)) c.open = true;
  }

  // Translated call ids per (public address, server): this ALG's own state.
  CallIdAllocator alloc_;
};

}  // namespace

std::unique_ptr<Inspector> make_inspector() { return std::make_unique<PptpInspector>(); }

}  // namespace fw::aspf::pptp
