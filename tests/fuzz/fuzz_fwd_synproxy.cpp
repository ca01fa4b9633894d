// "synproxy" area: the TCP SYN proxy's handshake handling fed with crafted packets. The input is
// a list of steps [op][a][b][len][bytes]: op picks the sender (client or server), whether the
// bytes are a whole raw packet or a TCP header built around them (flags, seq/ack offsets from
// the cookie, the client's and the server's ISN, options = the bytes), and may advance the
// clock. The proxy is on for every SYN (alert-rate 0), through a NAT server. Invariants: nothing
// crashes, whatever the pipeline sends out (a rewritten packet) parses, and a SYN never leaves a
// session behind.
#include <cstdint>
#include <cstring>
#include <vector>

#include "common/bytes.h"
#include "fwd/pipeline.h"
#include "packet/checksum.h"
#include "packet/parse.h"
#include "tests/fuzz/fwd_world.h"

using namespace fw;

namespace {

const char* kConfig =
    "firewall zone trust\n add interface in0\nfirewall zone untrust\n add interface out0\n"
    " anti-ddos syn-flood tcp-proxy\nsecurity-policy\n rule name u2t\n  source-zone untrust\n"
    "  destination-zone trust\n  action permit\n"
    "nat server web protocol tcp global 203.0.113.100 8080 inside 198.18.1.5 80\n";

std::vector<uint8_t> tcp_packet(const char* src, const char* dst, uint16_t sp, uint16_t dp,
                                uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
                                const uint8_t* opts, size_t n) {
  n &= ~size_t{3};  // options: whole words, at most 40 bytes
  if (n > 40) n = 40;
  std::vector<uint8_t> b(40 + n, 0);
  b[0] = 0x45;
  common::wr16(&b[2], static_cast<uint16_t>(40 + n));
  b[8] = 64;
  b[9] = 6;
  std::memcpy(&b[12], common::IpAddr::parse(src)->b.data(), 4);
  std::memcpy(&b[16], common::IpAddr::parse(dst)->b.data(), 4);
  common::wr16(&b[20], sp);
  common::wr16(&b[22], dp);
  common::wr32(&b[24], seq);
  common::wr32(&b[28], ack);
  b[32] = static_cast<uint8_t>((5 + n / 4) << 4);
  b[33] = flags;
  common::wr16(&b[34], win);
  if (n) std::memcpy(&b[40], opts, n);
  packet::fix_checksums(b, false);
  return b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto* w = new fuzzing::FwdWorld(kConfig, [] {
    fwd::DataPlaneOptions o;
    o.max_sessions = 1024;
    return o;
  }());
  common::ManualClock& clock = w->clock;
  fwd::DataPlane& dp = w->dp;
  dp.sessions().erase_if([](const session::Session&) { return true; });
  clock.advance_ms(1'000'000);

  uint32_t cookie = 0, server_isn = 0x7000;
  std::vector<uint8_t> buf(2048);
  auto send = [&](const std::vector<uint8_t>& pkt, uint32_t indev) {
    if (pkt.empty() || pkt.size() > 1500) return;
    std::memcpy(buf.data(), pkt.data(), pkt.size());
    fwd::QueuedPacket qp;
    qp.data = buf.data();
    qp.len = static_cast<uint32_t>(pkt.size());
    qp.capacity = static_cast<uint32_t>(buf.size());
    qp.indev = indev;
    const size_t before = dp.sessions().size();
    const fwd::Decision d = dp.pipeline().process(qp);
    if (d.verdict != fwd::Verdict::kAccept || !d.modified) return;
    auto r = packet::parse(std::span<const uint8_t>(buf.data(), d.len));
    const auto* p = std::get_if<packet::Parsed>(&r);
    if (!p) __builtin_trap();  // the proxy sent out something unparsable
    if (p->proto == 6 && (p->tcp_flags & 0x12) == 0x12 && indev == 3) {
      cookie = p->seq;                                      // the proxy's SYN-ACK
      if (dp.sessions().size() > before) __builtin_trap();  // a SYN left a session
    }
  };
  // A valid start: SYN, ACK of the cookie, the server's SYN-ACK.
  const uint8_t syn_opts[] = {2, 4, 5, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7};
  send(tcp_packet("203.0.113.7", "203.0.113.100", 40000, 8080, 1000, 0, 0x02, 502, syn_opts, 12),
       3);
  send(tcp_packet("203.0.113.7", "203.0.113.100", 40000, 8080, 1001, cookie + 1, 0x10, 502, nullptr,
                  0),
       3);
  send(
      tcp_packet("198.18.1.5", "203.0.113.7", 80, 40000, server_isn, 1001, 0x12, 509, syn_opts, 12),
      2);
  size_t i = 0;
  while (i + 4 <= size) {
    const uint8_t op = data[i], a = data[i + 1], b = data[i + 2];
    size_t n = data[i + 3];
    i += 4;
    if (n > size - i) n = size - i;
    const bool from_server = op & 1;
    const uint16_t cport = (op & 2) ? 40000 : static_cast<uint16_t>(40000 + b);
    if (op & 4) {
      send(std::vector<uint8_t>(data + i, data + i + n), from_server ? 2 : 3);
    } else if (!from_server) {
      const uint32_t base = (op & 8) ? 1001 : 1001 + a;
      send(tcp_packet("203.0.113.7", "203.0.113.100", cport, 8080, base, cookie + 1 + b, a, 502,
                      data + i, n),
           3);
    } else {
      send(tcp_packet("198.18.1.5", "203.0.113.7", 80, cport, server_isn + b, 1001 + (op >> 4), a,
                      static_cast<uint16_t>(a << 8 | b), data + i, n),
           2);
    }
    i += n;
    if (op & 0x80) clock.advance_s(a);
  }
  dp.pipeline().maintain();
  return 0;
}
