// The whole packet path fed with crafted control streams: an FTP control
// session and a PPTP control session through easy-ip, whose payload segments
// (sequence numbers, directions, contents) come from the fuzzer, followed by
// raw packets. Invariants: nothing crashes, and no ASPF server-map entry ever
// names a third party or a data port below 1024 (no pinhole an attacker chose).
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "common/log.h"
#include "fwd/controller.h"
#include "fwd/dataplane.h"
#include "fwd/pipeline.h"
#include "packet/checksum.h"

using namespace fw;

namespace {

class Routes : public fwd::RouteSource {
 public:
  fwd::RouteInfo route(const common::IpAddr& dst) override {
    fwd::RouteInfo r;
    std::string s = dst.str();
    if (s == "203.0.113.1") {
      r.ok = r.local = true;
    } else if (s.rfind("198.18.1.", 0) == 0) {
      r.ok = true;
      r.oif = 2;
    } else if (s.rfind("203.0.113.", 0) == 0) {
      r.ok = true;
      r.oif = 3;
      r.prefsrc = *common::IpAddr::parse("203.0.113.1");
    }
    return r;
  }
  std::string ifname(uint32_t i) override { return i == 2 ? "in0" : i == 3 ? "out0" : ""; }
};

const char* kConfig =
    "firewall zone trust\n add interface in0\nfirewall zone untrust\n add interface out0\n"
    "firewall detect ftp\nfirewall detect pptp\nsecurity-policy\n rule name t2u\n  source-zone "
    "trust\n"
    "  destination-zone untrust\n  action permit\nnat-policy\n rule name e\n  source-zone trust\n"
    "  destination-zone untrust\n  action source-nat easy-ip\n";

std::vector<uint8_t> tcp_packet(const char* src, const char* dst, uint16_t sp, uint16_t dp,
                                uint32_t seq, uint32_t ack, uint8_t flags, const uint8_t* data,
                                size_t n) {
  std::vector<uint8_t> b(40 + n, 0);
  b[0] = 0x45;
  b[2] = static_cast<uint8_t>((40 + n) >> 8);
  b[3] = static_cast<uint8_t>(40 + n);
  b[8] = 64;
  b[9] = 6;
  auto s = *common::IpAddr::parse(src);
  auto d = *common::IpAddr::parse(dst);
  std::memcpy(&b[12], s.b.data(), 4);
  std::memcpy(&b[16], d.b.data(), 4);
  b[20] = static_cast<uint8_t>(sp >> 8);
  b[21] = static_cast<uint8_t>(sp);
  b[22] = static_cast<uint8_t>(dp >> 8);
  b[23] = static_cast<uint8_t>(dp);
  for (int i = 0; i < 4; ++i) {
    b[24 + i] = static_cast<uint8_t>(seq >> (24 - 8 * i));
    b[28 + i] = static_cast<uint8_t>(ack >> (24 - 8 * i));
  }
  b[32] = 0x50;
  b[33] = flags;
  b[34] = 0xff;
  if (n) std::memcpy(&b[40], data, n);
  packet::fix_checksums(b, false);
  return b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool once = [] {
    common::set_log_level(common::LogLevel::kOff);
    return true;
  }();
  (void)once;
  common::ManualClock clock;
  Routes routes;
  fwd::DataPlaneOptions opt;
  opt.max_sessions = 4096;
  fwd::DataPlane dp(clock, routes, opt);
  fwd::Pipeline& pipe = dp.pipeline();
  session::ServerMap& sm = dp.servermap();
  fwd::ControllerHooks h;
  h.dataplane = &dp;
  fwd::Controller ctl(h);
  std::string err;
  if (!ctl.load_text(kConfig, "fuzz", &err)) __builtin_trap();

  std::vector<uint8_t> buf;
  auto send = [&](std::vector<uint8_t> pkt, uint32_t indev) {
    size_t n = pkt.size();
    pkt.resize(n + 256);
    pipe.process_bytes(pkt.data(), static_cast<uint32_t>(n),
                       indev);  // capacity = len: no growth here
  };
  // Two control sessions, handshakes done.
  const uint16_t ports[2] = {21, 1723};
  uint16_t xports[2];
  for (int i = 0; i < 2; ++i) {
    uint16_t sp = static_cast<uint16_t>(40000 + i);
    send(tcp_packet("198.18.1.2", "203.0.113.2", sp, ports[i], 1000, 0, 0x02, nullptr, 0), 2);
    xports[i] = sp;  // easy-ip keeps the port when free
    send(
        tcp_packet("203.0.113.2", "203.0.113.1", ports[i], xports[i], 5000, 1001, 0x12, nullptr, 0),
        3);
    send(tcp_packet("198.18.1.2", "203.0.113.2", sp, ports[i], 1001, 5001, 0x10, nullptr, 0), 2);
  }
  // Segments: [flags byte][seq offset lo][len][bytes...]
  size_t i = 0;
  uint32_t cseq[2] = {1001, 1001}, sseq[2] = {5001, 5001};
  while (i + 3 <= size) {
    uint8_t ctl_byte = data[i];
    uint8_t off = data[i + 1];
    size_t n = data[i + 2];
    i += 3;
    if (n > size - i) n = size - i;
    int which = ctl_byte & 1;
    bool from_server = ctl_byte & 2;
    bool raw = ctl_byte & 4;
    uint16_t sp = static_cast<uint16_t>(40000 + which);
    if (raw) {
      std::vector<uint8_t> pkt(data + i, data + i + n);
      send(pkt, from_server ? 3 : 2);
    } else if (!from_server) {
      uint32_t seq = cseq[which] + (ctl_byte & 8 ? off : 0) - (ctl_byte & 16 ? off : 0);
      send(tcp_packet("198.18.1.2", "203.0.113.2", sp, ports[which], seq, sseq[which], 0x18,
                      data + i, n),
           2);
      if (!(ctl_byte & 24)) cseq[which] += static_cast<uint32_t>(n);
    } else {
      uint32_t seq = sseq[which] + (ctl_byte & 8 ? off : 0);
      send(tcp_packet("203.0.113.2", "203.0.113.1", ports[which], xports[which], seq, cseq[which],
                      0x18, data + i, n),
           3);
      if (!(ctl_byte & 8)) sseq[which] += static_cast<uint32_t>(n);
    }
    i += n;
    if (ctl_byte & 0x80) clock.advance_s(off);
  }
  const auto client = *common::IpAddr::parse("198.18.1.2");
  const auto server = *common::IpAddr::parse("203.0.113.2");
  for (const auto& e : sm.snapshot()) {
    if (e.type != session::MapType::kAspf || e.proto != 6) continue;
    if (e.alg != dp.algs().id_of("ftp") || e.channel != 0) __builtin_trap();
    if (e.peer == server) {  // active: the server connects to the client
      if (!(e.xaddr == client) || e.xport < 1024) __builtin_trap();
    } else {  // passive: the client connects to the server
      if (!(e.peer == client) || !(e.addr == server) || e.port < 1024) __builtin_trap();
    }
  }
  pipe.maintain();
  return 0;
}
