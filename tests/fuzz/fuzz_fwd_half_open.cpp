// "halfopen" area: the half-open accounting of the packet path (`anti-ddos syn-flood
// half-open-limit 3`) fed with crafted TCP packets. The input is a list of 4-byte steps
// [op][client][flags][seq]: a packet of one of 8 clients to one of 2 servers (or the server's
// answer) with fuzzer-chosen flags, or a clock step (aging, attack end), or a reset of some
// sessions. Invariants after every step: nothing crashes, no destination holds more half-open
// sessions than the limit, and the limiter tracks exactly the sessions that carry
// Session::half_open (none leaks, none is forgotten).
#include <cstdint>
#include <cstring>
#include <vector>

#include "common/bytes.h"
#include "fwd/pipeline.h"
#include "packet/checksum.h"
#include "tests/fuzz/fwd_world.h"

using namespace fw;

namespace {

const char* kConfig =
    "firewall zone trust\n add interface in0\nfirewall zone untrust\n add interface out0\n"
    " anti-ddos syn-flood half-open-limit 3\nsecurity-policy\n rule name u2t\n  source-zone "
    "untrust\n  destination-zone trust\n  action permit\n";

std::vector<uint8_t> tcp_packet(const std::string& src, const std::string& dst, uint16_t sp,
                                uint16_t dp, uint32_t seq, uint32_t ack, uint8_t flags) {
  std::vector<uint8_t> b(40, 0);
  b[0] = 0x45;
  common::wr16(&b[2], 40);
  b[8] = 64;
  b[9] = 6;
  std::memcpy(&b[12], common::IpAddr::parse(src)->b.data(), 4);
  std::memcpy(&b[16], common::IpAddr::parse(dst)->b.data(), 4);
  common::wr16(&b[20], sp);
  common::wr16(&b[22], dp);
  common::wr32(&b[24], seq);
  common::wr32(&b[28], ack);
  b[32] = 5 << 4;
  b[33] = flags;
  common::wr16(&b[34], 502);
  packet::fix_checksums(b, false);
  return b;
}

void check(fwd::DataPlane& dp) {
  size_t flagged = 0;
  dp.sessions().snapshot([&](const session::Session& s) {
    flagged += s.half_open;
    return false;
  });
  if (flagged != dp.half_open().size()) __builtin_trap();  // a leak or a forgotten session
  for (const char* d : {"198.18.1.5", "198.18.1.6"})
    if (dp.half_open().count(*common::IpAddr::parse(d)) > 3) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto* w = new fuzzing::FwdWorld(kConfig);
  fwd::DataPlane& dp = w->dp;
  dp.sessions().erase_if([](const session::Session&) { return true; });
  w->clock.advance_ms(1'000'000);
  if (dp.half_open().size() != 0) __builtin_trap();
  for (size_t i = 0; i + 4 <= size; i += 4) {
    const uint8_t op = data[i], c = data[i + 1] & 7, flags = data[i + 2], seq = data[i + 3];
    const std::string client = "203.0.113." + std::to_string(10 + c);
    const std::string server = (op & 2) ? "198.18.1.6" : "198.18.1.5";
    const uint16_t cport = static_cast<uint16_t>(40000 + (data[i + 1] >> 3));
    if ((op & 0xf0) == 0xf0) {  // time passes: aging, the attack's end
      w->clock.advance_ms(uint64_t{seq} * 100);
      dp.pipeline().maintain();
    } else if ((op & 0xf0) == 0xe0) {  // `reset firewall session table` of one client
      dp.sessions().erase_if([&](const session::Session& s) { return s.orig.src.str() == client; });
    } else {
      std::vector<uint8_t> pkt =
          (op & 1) ? tcp_packet(server, client, 80, cport, 7000 + seq, 1001, flags)
                   : tcp_packet(client, server, cport, 80, 1000 + seq, 7001, flags);
      dp.pipeline().process_bytes(pkt.data(), static_cast<uint32_t>(pkt.size()), (op & 1) ? 2 : 3);
    }
    check(dp);
  }
  return 0;
}
