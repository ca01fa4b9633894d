#include "session/syn_proxy.h"

#include <algorithm>

#include "common/bytes.h"
#include "packet/build.h"
#include "packet/checksum.h"
#include "packet/tcp_options.h"

namespace fw::session {

using common::rd16;
using common::rd32;
using common::wr16;
using common::wr32;

SynProxy::SynProxy(const common::Clock& clock)
    : clock_(clock), slots_(std::make_unique<Slot[]>(kSlots)) {}

bool SynProxy::should_proxy(const common::IpAddr& dst, uint32_t alert_rate) {
  if (alert_rate == 0) return true;
  const uint64_t now = clock_.now_ms();
  const size_t i = dst.hash() % kSlots;
  std::lock_guard<std::mutex> lk(stripes_[i % kStripes]);
  Slot& s = slots_[i];
  if (!s.bucket.take(alert_rate, alert_rate, now)) s.hold_until_ms = now + kHoldMs;
  return s.hold_until_ms > now;
}

bool SynProxy::admit_miss_ack(uint32_t rate) {
  bool ok;
  {
    std::lock_guard<std::mutex> lk(miss_ack_mu_);
    ok = miss_ack_.take(rate, rate, clock_.now_ms());
  }
  if (!ok) stats_.miss_ack_limited.fetch_add(1, std::memory_order_relaxed);
  return ok;
}

CookieTuple cookie_tuple(const packet::Parsed& p) { return {p.src, p.dst, p.sport, p.dport}; }

SynOptions syn_options(std::span<const uint8_t> pkt, const packet::Parsed& p) {
  if (p.proto != packet::kProtoTcp || p.l4_len <= 20 ||
      size_t{p.l4_offset} + p.l4_len > pkt.size()) {
    return {};
  }
  return read_syn_options(pkt.subspan(p.l4_offset + 20, p.l4_len - 20u));
}

namespace {

// MSS, then SACK-permitted and window scale (each padded to 4 bytes with NOPs), as asked.
std::vector<uint8_t> syn_option_bytes(uint16_t mss, bool sack, uint8_t wscale) {
  std::vector<uint8_t> o{packet::kTcpOptMss, 4, static_cast<uint8_t>(mss >> 8),
                         static_cast<uint8_t>(mss)};
  if (sack) o.insert(o.end(), {packet::kOptNop, packet::kOptNop, packet::kTcpOptSackPermitted, 2});
  if (wscale != kNoWscale) o.insert(o.end(), {packet::kOptNop, packet::kTcpOptWscale, 3, wscale});
  return o;
}

packet::BuildSpec reply_spec(const packet::Parsed& p) {
  packet::BuildSpec b;
  b.proto = packet::kProtoTcp;
  b.src = p.dst, b.dst = p.src, b.sport = p.dport, b.dport = p.sport;
  return b;
}

}  // namespace

std::vector<uint8_t> make_synack(const packet::Parsed& p, uint32_t cookie, const SynOptions& o) {
  const bool v4 = p.src.is_v4();
  const uint16_t mss =
      (v4 ? SynCookies::kMss4 : SynCookies::kMss6)[SynCookies::mss_index(v4, o.mss ? o.mss : 536)];
  const auto opts = syn_option_bytes(mss, o.sack, o.wscale == kNoWscale ? kNoWscale : kProxyWscale);
  packet::BuildSpec b = reply_spec(p);
  b.tcp_flags = packet::kTcpSyn | packet::kTcpAck;
  b.seq = cookie;
  b.ack = p.seq + 1;
  b.window = 65535;
  b.tcp_options = opts;
  return packet::build(b);
}

std::vector<uint8_t> make_server_syn(const packet::Parsed& p, const SynOptions& o) {
  const auto opts = syn_option_bytes(o.mss, o.sack, o.wscale);
  packet::BuildSpec b;
  b.proto = packet::kProtoTcp;
  b.src = p.src, b.dst = p.dst, b.sport = p.sport, b.dport = p.dport;
  b.tcp_flags = packet::kTcpSyn;
  b.seq = p.seq - 1;
  // A SYN's window is never scaled: the client's (scaled) window, as far as 16 bits hold it.
  const uint64_t win = uint64_t{p.window} << (o.wscale == kNoWscale ? 0 : o.wscale);
  b.window = static_cast<uint16_t>(std::min<uint64_t>(win, 65535));
  b.tcp_options = opts;
  return packet::build(b);
}

std::vector<uint8_t> make_server_ack(const packet::Parsed& p, uint8_t client_wscale) {
  packet::BuildSpec b = reply_spec(p);
  b.tcp_flags = packet::kTcpAck;
  b.seq = p.ack;
  b.ack = p.seq + 1;
  // The client's real window is not known yet (its next segment tells): 64 KiB in its scale.
  const uint8_t sh = client_wscale == kNoWscale ? 0 : client_wscale;
  b.window = static_cast<uint16_t>(std::max(1, 65535 >> sh));
  return packet::build(b);
}

namespace {

// The window field of a segment toward the client (which believes the server scales by
// kProxyWscale) or toward the server (which believes what the client offered, unless the server
// itself has no window scaling: then it reads windows unscaled).
uint16_t rescale(uint16_t win, bool to_client, uint8_t wscales) {
  const uint8_t client = wscales & 0x0f, server = wscales >> 4;
  if (client == kNoWscale) return win;  // nobody scales
  if (to_client) {
    const uint8_t from = server == kNoWscale ? 0 : server;
    if (from == kProxyWscale) return win;
    const uint64_t bytes = uint64_t{win} << from;
    const uint64_t v = (bytes + (uint64_t{1} << kProxyWscale) - 1) >> kProxyWscale;
    return static_cast<uint16_t>(std::min<uint64_t>(v, 65535));
  }
  if (server != kNoWscale) return win;
  return static_cast<uint16_t>(std::min<uint64_t>(uint64_t{win} << client, 65535));
}

}  // namespace

bool proxy_translate(std::span<uint8_t> pkt, const packet::Parsed& p, bool to_client,
                     uint32_t delta, uint8_t wscales, CsumUpdate csum) {
  if (p.proto != packet::kProtoTcp || !p.has_l4 || p.l4_len < 20) return false;
  const size_t end = size_t{p.l4_offset} + p.l4_len;
  if (end > pkt.size()) return false;
  uint8_t* t = pkt.data() + p.l4_offset;
  if (static_cast<size_t>(t[12] >> 4) * 4 != p.l4_len) return false;
  std::span<uint8_t> opts(t + 20, p.l4_len - 20u);
  if (!packet::options_ok(opts)) return false;
  uint16_t c = rd16(t + 16);
  auto set32 = [&](uint8_t* at, uint32_t v) {
    c = packet::csum_update32(c, rd32(at), v);
    wr32(at, v);
  };
  if (to_client) {
    set32(t + 4, rd32(t + 4) - delta);
  } else {
    if (t[13] & packet::kTcpAck) set32(t + 8, rd32(t + 8) + delta);
    packet::for_each_option(opts, [&](uint8_t kind, size_t at, size_t len) {
      if (kind != packet::kTcpOptSack || len < 10 || (len - 2) % 8 != 0) return;
      for (size_t b = at + 2; b + 4 <= at + len; b += 4) set32(&opts[b], rd32(&opts[b]) + delta);
    });
  }
  if (!(t[13] & packet::kTcpSyn)) {
    const uint16_t w = rescale(rd16(t + 14), to_client, wscales);
    c = packet::csum_update16(c, rd16(t + 14), w);
    wr16(t + 14, w);
  }
  switch (csum) {
    case CsumUpdate::kIncremental:
      wr16(t + 16, c);
      break;
    case CsumUpdate::kFull:
      packet::fix_checksums(pkt, p, false);
      break;
    case CsumUpdate::kNone:
      break;
  }
  return true;
}

}  // namespace fw::session
