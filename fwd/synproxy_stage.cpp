// "synproxy" area (issue 16 item 2): the TCP SYN proxy in the packet path. The cookies, the
// detection and the packet transformations are session/syn_proxy.h's; here: which packet
// becomes which, and how it leaves. Every packet the proxy makes replaces the queued one and
// leaves with its verdict (as the application-deny RSTs do): toward the client (SYN-ACK) or
// back toward the server (ACK) from PREROUTING, where the kernel routes it by its addresses.
#include <cstring>

#include "fwd/pipeline.h"

namespace fw::fwd {

using packet::Parsed;
using session::Dir;
using session::Session;

Decision Pipeline::replace_packet(QueuedPacket& qp, const std::vector<uint8_t>& bytes) {
  if (bytes.empty() || bytes.size() > qp.capacity) return drop(Drop::kMalformed);
  std::memcpy(qp.data, bytes.data(), bytes.size());
  qp.len = static_cast<uint32_t>(bytes.size());
  qp.gso = qp.csum_not_ready = false;
  c_accepted_.inc();
  return {Verdict::kAccept, true, qp.len};
}

Decision Pipeline::proxy_answer_syn(QueuedPacket& qp, const Parsed& p) {
  const auto o = session::syn_options(std::span<const uint8_t>(qp.data, qp.len), p);
  auto& px = parts_.synproxy;
  const uint32_t cookie =
      px.cookies().make(session::cookie_tuple(p), p.seq, o, parts_.clock.now_ms());
  px.stats().syn_answered.fetch_add(1, std::memory_order_relaxed);
  return replace_packet(qp, session::make_synack(p, cookie, o));
}

std::optional<session::SynOptions> Pipeline::proxy_check_ack(const Parsed& p, bool peek) {
  auto o = parts_.synproxy.cookies().check(session::cookie_tuple(p), p.seq - 1, p.ack - 1,
                                           parts_.clock.now_ms());
  if (!peek) (o ? parts_.synproxy.stats().ack_valid : parts_.synproxy.stats().ack_invalid)++;
  return o;
}

// The client's ACK opened the session: it becomes the SYN to the server, translated like the
// session's packets (NAT server, source NAT).
Decision Pipeline::proxy_open_server(QueuedPacket& qp, const session::SynOptions& o,
                                     const Session& s, const Runtime& rt) {
  auto res = packet::parse(std::span<const uint8_t>(qp.data, qp.len));
  const Parsed* p = std::get_if<Parsed>(&res);
  if (!p) return drop(Drop::kMalformed);
  const std::vector<uint8_t> syn = session::make_server_syn(*p, o);
  if (syn.empty() || syn.size() > qp.capacity) return drop(Drop::kMalformed);
  std::memcpy(qp.data, syn.data(), syn.size());
  qp.len = static_cast<uint32_t>(syn.size());
  qp.gso = qp.csum_not_ready = false;
  auto again = packet::parse(std::span<const uint8_t>(qp.data, qp.len));
  const Parsed* sp = std::get_if<Parsed>(&again);
  if (!sp) return drop(Drop::kMalformed);
  return proxy_translated(translate(qp, *sp, s, Dir::kOriginal, s.dst_zone != rt.zones.local()),
                          qp);
}

// A translated (or untouched) packet of a proxied session leaves as rewritten bytes.
Decision Pipeline::proxy_translated(Decision d, const QueuedPacket& qp) {
  if (d.verdict != Verdict::kAccept || d.modified) return d;
  return {Verdict::kAccept, true, qp.len};
}

// A packet of a session the proxy opened, under its lock. The server's SYN-ACK is answered with
// the ACK that completes its handshake (again if it repeats it); while the server has not
// answered, the client's packets wait (dropped: the client retransmits) and a RST from the
// server goes to the client in the client's numbering. Afterwards seq/ack/SACK/window are
// translated in place and the packet goes on (std::nullopt) to NAT.
std::optional<Decision> Pipeline::proxy_on_hit(QueuedPacket& qp, Parsed& p, Session& s, Dir d) {
  auto& st = parts_.synproxy.stats();
  const std::span<uint8_t> pkt(qp.data, qp.len);
  const bool from_server = d == Dir::kReply;
  const uint8_t syn_ack = packet::kTcpSyn | packet::kTcpAck;
  if (from_server && (p.tcp_flags & syn_ack) == syn_ack) {
    if (s.proxy & session::kProxyOpening) {
      const session::SynOptions so = session::syn_options(pkt, p);
      s.proxy_seq = p.seq - s.proxy_seq;  // the server's ISN - the cookie
      s.proxy_wscale = static_cast<uint8_t>(so.wscale << 4 | (s.proxy_wscale & 0x0f));
      s.proxy &= static_cast<uint8_t>(~session::kProxyOpening);
      st.server_opened.fetch_add(1, std::memory_order_relaxed);
    }
    return replace_packet(qp, session::make_server_ack(p, s.proxy_wscale & 0x0f));
  }
  const bool full = qp.csum_not_ready && !qp.gso;
  const auto cu = !qp.csum_not_ready ? session::CsumUpdate::kIncremental
                  : full             ? session::CsumUpdate::kFull
                                     : session::CsumUpdate::kNone;
  uint32_t delta = s.proxy_seq;
  if (s.proxy & session::kProxyOpening) {
    if (!from_server || !(p.tcp_flags & packet::kTcpRst)) {
      if (!from_server) st.client_waiting.fetch_add(1, std::memory_order_relaxed);
      return drop(Drop::kSynProxyOpening);
    }
    delta = p.seq - (s.proxy_seq + 1);  // the RST's seq becomes the cookie + 1
  }
  if (!session::proxy_translate(pkt, p, from_server, delta, s.proxy_wscale, cu))
    return drop(Drop::kMalformed);
  if (from_server) {
    p.seq -= delta;
  } else if (p.tcp_flags & packet::kTcpAck) {
    p.ack += delta;
  }
  return std::nullopt;
}

}  // namespace fw::fwd
