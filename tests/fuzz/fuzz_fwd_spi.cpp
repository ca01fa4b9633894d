// "spi" area (issue 16 item 8): ESP/AH sessions keyed by SPI through the whole packet path.
// Steps from the fuzzer: an ESP or AH packet (or an ICMP error quoting one) from one of 4 inside
// hosts to one of 2 outside peers or back (to the host or to the easy-ip address), its SPI from
// a small set (0 included) so that SAs of one pair, bindings and collisions are frequent; clock
// steps (aging); a reset of the sessions of one host. Traps if: an outside packet opened a
// session (untrust -> trust is denied: a pinhole), a session has SPI 0 in its original key, a
// session's original key or bound reply key does not find it (in that direction).
#include <cstdint>
#include <cstring>
#include <vector>

#include "common/bytes.h"
#include "fwd/pipeline.h"
#include "packet/checksum.h"
#include "tests/fuzz/fwd_world.h"

using namespace fw;

namespace {

// Trust -> untrust permitted; the peer 203.0.113.3 through easy-ip, 203.0.113.2 routed.
const char* kConfig =
    "firewall zone trust\n add interface in0\nfirewall zone untrust\n add interface out0\n"
    "security-policy\n rule name t2u\n  source-zone trust\n  destination-zone untrust\n"
    "  action permit\nnat-policy\n rule name e\n  source-zone trust\n  destination-zone untrust\n"
    "  destination-address 203.0.113.3 32\n  action source-nat easy-ip\n";

// An IPv4 packet of `proto` (ESP: SPI, seq, 8 bytes; AH: a 24-byte header, 8 bytes).
std::vector<uint8_t> ipsec(const common::IpAddr& src, const common::IpAddr& dst, uint8_t proto,
                           uint32_t spi) {
  const size_t l4 = proto == 50 ? 16 : 32;
  std::vector<uint8_t> b(20 + l4, 0);
  b[0] = 0x45;
  b[3] = static_cast<uint8_t>(b.size());
  b[8] = 64;
  b[9] = proto;
  std::memcpy(&b[12], src.b.data(), 4);
  std::memcpy(&b[16], dst.b.data(), 4);
  if (proto == 50) {
    common::wr32(&b[20], spi);
    common::wr32(&b[24], 1);
  } else {
    b[20] = 4;
    b[21] = 4;  // (24 / 4) - 2
    common::wr32(&b[24], spi);
    common::wr32(&b[28], 1);
  }
  packet::fix_checksums(b, false);
  return b;
}

// An ICMP "fragmentation needed" from a router to `to`, quoting `quoted`'s first 28 bytes.
std::vector<uint8_t> icmp_error(const common::IpAddr& to, const std::vector<uint8_t>& quoted) {
  std::vector<uint8_t> b(28 + 28, 0);
  b[0] = 0x45;
  b[3] = static_cast<uint8_t>(b.size());
  b[8] = 64;
  b[9] = 1;
  const auto router = *common::IpAddr::parse("203.0.113.9");
  std::memcpy(&b[12], router.b.data(), 4);
  std::memcpy(&b[16], to.b.data(), 4);
  b[20] = 3;
  b[21] = 4;
  b[26] = 0x05;
  b[27] = 0x78;  // next-hop MTU 1400
  std::memcpy(&b[28], quoted.data(), 28);
  packet::fix_checksums(b, false);
  return b;
}

bool session_is_consistent(fwd::DataPlane& dp, const session::Session& s) {
  if (!session::keyed_by_spi(s.orig.proto)) return true;
  if (session::spi_unbound(s.orig)) return false;  // a packet of SPI 0 opened it
  auto finds = [&](const session::FlowKey& k, session::Dir want) {
    bool ok = false;
    dp.sessions().with_session(
        k, [&](session::Session& x, session::Dir d) { ok = x.id == s.id && d == want; });
    return ok;
  };
  if (!finds(s.orig, session::Dir::kOriginal)) return false;
  return session::spi_unbound(s.reply) || finds(s.reply, session::Dir::kReply);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto* world = new fuzzing::FwdWorld(kConfig,
                                             [] {  // never freed: lives as long as the run
                                               fwd::DataPlaneOptions opt;
                                               opt.max_sessions = 1024;
                                               return opt;
                                             }(),
                                             {"203.0.113.1=out0"});
  common::ManualClock& clock = world->clock;
  fwd::DataPlane& dp = world->dp;
  fwd::Pipeline& pipe = dp.pipeline();
  dp.sessions().erase_if([](const session::Session&) { return true; });

  const uint32_t kSpis[8] = {0, 1, 0x1001, 0x2002, 0x10000, 0xffffffff, 0x00010001, 0x100};
  common::IpAddr hosts[4], peers[2];
  for (int i = 0; i < 4; ++i) {
    hosts[i] = *common::IpAddr::parse("198.18.1." + std::to_string(2 + i));
  }
  peers[0] = *common::IpAddr::parse("203.0.113.2");
  peers[1] = *common::IpAddr::parse("203.0.113.3");
  const auto nat = *common::IpAddr::parse("203.0.113.1");

  // Steps of 2 bytes: [op][arg].
  for (size_t i = 0; i + 2 <= size; i += 2) {
    const uint8_t op = data[i], arg = data[i + 1];
    const common::IpAddr& host = hosts[arg & 3];
    const common::IpAddr& peer = peers[(arg >> 2) & 1];
    const uint8_t proto = (arg & 8) ? 51 : 50;
    const uint32_t spi = kSpis[(arg >> 4) & 7];
    switch (op & 7) {
      case 0:
      case 1: {  // inside -> outside
        std::vector<uint8_t> pkt = ipsec(host, peer, proto, spi);
        pkt.resize(pkt.size() + 64);
        pipe.process_bytes(pkt.data(), static_cast<uint32_t>(pkt.size() - 64), 2);
        break;
      }
      case 2:
      case 3: {  // outside -> inside (the host itself, or the easy-ip address)
        std::vector<uint8_t> pkt = ipsec(peer, (op & 8) ? nat : host, proto, spi);
        pkt.resize(pkt.size() + 64);
        pipe.process_bytes(pkt.data(), static_cast<uint32_t>(pkt.size() - 64), 3);
        break;
      }
      case 4: {  // an ICMP error about a packet of either direction
        std::vector<uint8_t> q =
            (op & 8) ? ipsec(nat, peer, proto, spi) : ipsec(peer, host, proto, spi);
        std::vector<uint8_t> pkt = icmp_error((op & 8) ? nat : host, q);
        pkt.resize(pkt.size() + 64);
        pipe.process_bytes(pkt.data(), static_cast<uint32_t>(pkt.size() - 64), 3);
        break;
      }
      case 5:
        clock.advance_s(arg);
        pipe.maintain();
        break;
      case 6:
        dp.sessions().erase_if([&](const session::Session& s) { return s.orig.src == host; });
        break;
      default:
        break;
    }
    bool bad = false;
    dp.sessions().snapshot([&](const session::Session& s) {
      if (dp.zone_name(s.src_zone) != "trust") bad = true;  // opened from outside: a pinhole
      if (!bad && !session::spi_unbound(s.orig) && session::key_spi(s.orig) == 0) bad = true;
      return false;
    });
    if (bad) __builtin_trap();
    for (const auto& s : dp.sessions().snapshot()) {
      if (!session_is_consistent(dp, s)) __builtin_trap();
    }
  }
  return 0;
}
