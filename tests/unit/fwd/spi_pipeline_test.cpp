// "spi" area (issue 16 item 8): ESP and AH sessions keyed by SPI in the packet path. An inside
// host's SA opens a session (trust -> untrust permitted); the peer's answer, with its own SPI,
// passes and binds the session's reply; a packet from outside with any other SPI is a new flow,
// which the policy denies (untrust -> trust is not permitted); SPI 0 is dropped and counted.
// Through easy-ip the keys stay consistent after translation; the verbose display shows the
// SPIs; a planned restart keeps the bound keys.
#include <gtest/gtest.h>

#include <string>
#include <variant>

#include "cli/grammar.h"
#include "fwd/controller.h"
#include "fwd/dataplane.h"
#include "fwd/pipeline.h"
#include "session/session.h"
#include "tests/unit/fwd/pipeline_fixture.h"
#include "tests/unit/packet/builders.h"

namespace fw::fwd {
namespace {

using namespace fw::packet::testing;
using testing::Out;

constexpr uint8_t kEsp = 50, kAh = 51;
constexpr uint32_t kIn = 2, kOut = 3;  // in0 (trust), out0 (untrust)

const std::string kTrustToUntrust = std::string(testing::kLabZones) +
                                    "security-policy\n rule name t2u\n  source-zone trust\n"
                                    "  destination-zone untrust\n  action permit\n";

Bytes be32(uint32_t v) {
  return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
          static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}
// ESP: SPI, sequence number, then the (opaque) payload.
Bytes esp(uint32_t spi, uint32_t seq = 1) {
  return cat({be32(spi), be32(seq), text("ciphertext")});
}
// AH: next header (4 = IPv4), length (24 bytes: 4 words + 2 = 6 - 2 = 4), reserved, SPI, seq,
// a 12-byte ICV, then the protected packet's bytes.
Bytes ah(uint32_t spi, uint32_t seq = 1) {
  return cat({Bytes{4, 4, 0, 0}, be32(spi), be32(seq), Bytes(12, 0xaa), text("inner")});
}
Bytes l4(uint8_t proto, uint32_t spi) { return proto == kEsp ? esp(spi) : ah(spi); }

class SpiPipeline : public testing::PipelineFixture {
 protected:
  SpiPipeline() : PipelineFixture(kTrustToUntrust) {}
  Out out(uint8_t proto, uint32_t spi, const char* src = "198.18.1.5") {
    return run(ipv4(proto, src, "203.0.113.2", l4(proto, spi)), kIn);
  }
  Out in(uint8_t proto, uint32_t spi, const char* dst = "198.18.1.5") {
    return run(ipv4(proto, "203.0.113.2", dst, l4(proto, spi)), kOut);
  }
  std::string show(const std::string& cmd) { return ctl->execute(cli::user_view(), cmd).output; }
  // The SPIs of the (only) session of `proto`, as the verbose display shows them.
  std::string spis(uint8_t proto) {
    std::string o;
    dp.sessions().snapshot([&](const session::Session& s) {
      if (s.orig.proto != proto) return false;
      o = std::to_string(session::key_spi(s.orig)) + "/" +
          (session::spi_unbound(s.reply) ? "-" : std::to_string(session::key_spi(s.reply)));
      return false;
    });
    return o;
  }

  // The SA's packets pass both ways; a third SPI from outside is denied by the policy.
  void sa_both_ways_and_a_third_spi_denied(uint8_t proto) {
    ASSERT_EQ(out(proto, 0x1001).d.verdict, Verdict::kAccept);
    EXPECT_EQ(dp.sessions().size(), 1u);
    EXPECT_EQ(spis(proto), std::to_string(0x1001) + "/-") << "the reply's SPI not known yet";
    const uint64_t denied = ctr("packet.drop.policy-deny");
    Out r = in(proto, 0x2002);
    ASSERT_EQ(r.d.verdict, Verdict::kAccept) << "the peer's answer binds the reply";
    EXPECT_EQ(r.p.spi, 0x2002u);
    EXPECT_EQ(spis(proto), std::to_string(0x1001) + "/" + std::to_string(0x2002));
    EXPECT_EQ(dp.sessions().size(), 1u);
    EXPECT_EQ(in(proto, 0x3003).d.verdict, Verdict::kDrop) << "another SPI: a new flow, denied";
    EXPECT_EQ(ctr("packet.drop.policy-deny"), denied + 1);
    EXPECT_EQ(in(proto, 0x2002).d.verdict, Verdict::kAccept) << "the bound SPI goes on";
    EXPECT_EQ(out(proto, 0x1001).d.verdict, Verdict::kAccept);
    EXPECT_EQ(dp.sessions().size(), 1u);
    dp.sessions().snapshot([&](const session::Session& s) {
      EXPECT_EQ(s.packets[0], 2u);
      EXPECT_EQ(s.packets[1], 2u);
      return false;
    });
    // A second SA of the inside host is a session of its own, and binds its own reply.
    ASSERT_EQ(out(proto, 0x4004).d.verdict, Verdict::kAccept);
    EXPECT_EQ(dp.sessions().size(), 2u);
    EXPECT_EQ(in(proto, 0x5005).d.verdict, Verdict::kAccept);
    EXPECT_EQ(in(proto, 0x6006).d.verdict, Verdict::kDrop);
    EXPECT_EQ(dp.sessions().size(), 2u);
  }
};

TEST_F(SpiPipeline, EspSaPassesBothWaysAndAThirdSpiIsDenied) {
  sa_both_ways_and_a_third_spi_denied(kEsp);
}

TEST_F(SpiPipeline, AhSaPassesBothWaysAndAThirdSpiIsDenied) {
  sa_both_ways_and_a_third_spi_denied(kAh);
}

TEST_F(SpiPipeline, AnUnansweredSaDoesNotAdmitOtherHostsOrProtocols) {
  ASSERT_EQ(out(kEsp, 0x1001).d.verdict, Verdict::kAccept);
  EXPECT_EQ(in(kEsp, 0x2002, "198.18.1.6").d.verdict, Verdict::kDrop) << "another inside host";
  EXPECT_EQ(in(kAh, 0x2002).d.verdict, Verdict::kDrop) << "AH does not bind an ESP session";
  EXPECT_EQ(in(kEsp, 0x2002).d.verdict, Verdict::kAccept);
}

TEST_F(SpiPipeline, SpiZeroIsDroppedAndCounted) {
  ASSERT_EQ(out(kEsp, 0x1001).d.verdict, Verdict::kAccept);
  // SPI 0 would be the unbound reply key itself: refused before the lookup, both ways.
  EXPECT_EQ(in(kEsp, 0).d.verdict, Verdict::kDrop);
  EXPECT_EQ(out(kEsp, 0).d.verdict, Verdict::kDrop);
  EXPECT_EQ(in(kAh, 0).d.verdict, Verdict::kDrop);
  EXPECT_EQ(ctr("packet.drop.spi-zero"), 3u);
  EXPECT_EQ(spis(kEsp), std::to_string(0x1001) + "/-") << "nothing bound";
  const std::string st = show("display firewall statistics");
  EXPECT_NE(st.find("spi-zero"), std::string::npos) << st;
}

TEST_F(SpiPipeline, VerboseDisplayShowsTheSpisAndFiltersStillWork) {
  ASSERT_EQ(out(kEsp, 0x1234abcd).d.verdict, Verdict::kAccept);
  std::string v = show("display firewall session table verbose");
  EXPECT_NE(v.find(" 198.18.1.5:0 --> 203.0.113.2:0 PolicyName: t2u  SPI: 0x1234abcd/-\n"),
            std::string::npos)
      << v;
  ASSERT_EQ(in(kEsp, 0x5678ef01).d.verdict, Verdict::kAccept);
  v = show("display firewall session table verbose");
  EXPECT_NE(v.find("  SPI: 0x1234abcd/0x5678ef01\n"), std::string::npos) << v;
  const std::string c = show("display firewall session table");
  EXPECT_NE(c.find(" 198.18.1.5:0 --> 203.0.113.2:0\n"), std::string::npos) << c;
  EXPECT_EQ(c.find("SPI"), std::string::npos) << "only the verbose form shows SPIs";
  v = show("display firewall session table protocol 50 source-port 0 destination-port 0");
  EXPECT_NE(v.find(" Current Total Sessions : 1\n"), std::string::npos) << v;
  v = show("display firewall session table source-port 4660");  // 0x1234: the SPI is no port
  EXPECT_NE(v.find(" Current Total Sessions : 0\n"), std::string::npos) << v;
}

// An ICMP error about the SA's packets (a router's "fragmentation needed", PMTU discovery of an
// IPsec tunnel) is part of its session; one about another SPI of the pair is not.
TEST_F(SpiPipeline, AnIcmpErrorQuotingTheSaIsRelated) {
  ASSERT_EQ(out(kEsp, 0x1001).d.verdict, Verdict::kAccept);
  auto error_about = [&](uint32_t spi) {
    Bytes quoted = ipv4(kEsp, "198.18.1.5", "203.0.113.2", esp(spi));
    return run(ipv4(1, "203.0.113.9", "198.18.1.5", icmp(3, 4, 1400, quoted)), kOut).d.verdict;
  };
  const uint64_t related = ctr("packet.accepted.icmp-error-related");
  EXPECT_EQ(error_about(0x1001), Verdict::kAccept);
  EXPECT_EQ(ctr("packet.accepted.icmp-error-related"), related + 1);
  EXPECT_EQ(error_about(0x9999), Verdict::kDrop) << "no session of that SPI";
  EXPECT_EQ(ctr("packet.accepted.icmp-error-related"), related + 1);
}

class SpiEasyIp : public testing::PipelineFixture {
 protected:
  SpiEasyIp() : PipelineFixture(std::string(testing::kLabZones) + testing::kTrustToUntrustEasyIp) {}
};

TEST_F(SpiEasyIp, KeysAreConsistentAfterTranslation) {
  Out o = run(ipv4(kEsp, "198.18.1.5", "203.0.113.2", esp(0x1001)), kIn);
  ASSERT_EQ(o.d.verdict, Verdict::kAccept);
  EXPECT_EQ(o.p.src.str(), "203.0.113.1") << "easy-ip, as before";
  EXPECT_EQ(o.p.spi, 0x1001u) << "the SPI is never rewritten";
  // A router's error about the translated packet reaches the inside host, translated back (while
  // the reply is unbound: the quoted packet shows neither the inside address nor the reply's SPI).
  Out e = run(ipv4(1, "203.0.113.9", "203.0.113.1",
                   icmp(3, 4, 1400, ipv4(kEsp, "203.0.113.1", "203.0.113.2", esp(0x1001)))),
              kOut);
  ASSERT_EQ(e.d.verdict, Verdict::kAccept);
  EXPECT_EQ(e.p.dst.str(), "198.18.1.5");
  // The peer answers the public address with its own SPI: bound, translated back inside.
  Out r = run(ipv4(kEsp, "203.0.113.2", "203.0.113.1", esp(0x2002)), kOut);
  ASSERT_EQ(r.d.verdict, Verdict::kAccept);
  EXPECT_EQ(r.p.dst.str(), "198.18.1.5");
  EXPECT_EQ(r.p.spi, 0x2002u);
  dp.sessions().snapshot([&](const session::Session& s) {
    EXPECT_EQ(session::key_spi(s.orig), 0x1001u);
    EXPECT_EQ(s.reply.src.str(), "203.0.113.2");
    EXPECT_EQ(s.reply.dst.str(), "203.0.113.1") << "the reply key is the translated one";
    EXPECT_EQ(session::key_spi(s.reply), 0x2002u);
    return false;
  });
  EXPECT_EQ(run(ipv4(kEsp, "203.0.113.2", "203.0.113.1", esp(0x3003)), kOut).d.verdict,
            Verdict::kDrop)
      << "another SPI to the public address reaches nobody";
  const std::string v =
      ctl->execute(cli::user_view(), "display firewall session table verbose").output;
  EXPECT_NE(v.find("198.18.1.5:0[203.0.113.1:0] --> 203.0.113.2:0"), std::string::npos) << v;
  EXPECT_NE(v.find("SPI: 0x00001001/0x00002002"), std::string::npos) << v;
}

TEST_F(SpiPipeline, APlannedRestartKeepsTheBoundAndTheUnboundKeys) {
  ASSERT_EQ(out(kEsp, 0x1001).d.verdict, Verdict::kAccept);
  ASSERT_EQ(in(kEsp, 0x2002).d.verdict, Verdict::kAccept);
  ASSERT_EQ(out(kEsp, 0x4004).d.verdict, Verdict::kAccept);  // its reply not seen yet
  const std::string path = ::testing::TempDir() + "/spi-state.bin";
  std::string err;
  ASSERT_TRUE(dp.save_state(path, &err)) << err;
  testing::Plane b(clock, *routes_);
  ASSERT_TRUE(b.load(config_, &err)) << err;
  auto rep = b.dp.restore_state(path, &err);
  ASSERT_TRUE(rep) << err;
  EXPECT_EQ(rep->sessions, 2u) << rep->summary();
  auto send = [&](uint32_t src_spi, bool inbound) {
    return b
        .run(inbound ? ipv4(kEsp, "203.0.113.2", "198.18.1.5", esp(src_spi))
                     : ipv4(kEsp, "198.18.1.5", "203.0.113.2", esp(src_spi)),
             inbound ? kOut : kIn)
        .d.verdict;
  };
  EXPECT_EQ(send(0x2002, true), Verdict::kAccept) << "bound before the restart";
  EXPECT_EQ(send(0x1001, false), Verdict::kAccept);
  EXPECT_EQ(send(0x7007, true), Verdict::kAccept) << "binds the second SA's reply";
  EXPECT_EQ(send(0x3003, true), Verdict::kDrop) << "both bound: a new flow, denied";
  EXPECT_EQ(b.dp.sessions().size(), 2u);
}

}  // namespace
}  // namespace fw::fwd
