// Application identification in the packet path ("appid" area, issue 14 part 2): the identified
// name on sessions, `application` rules admitting a flow until it is identified and then denying
// it (counted per rule, every later packet dropped) or letting it fall through, the packet limit,
// UDP decided by its first datagram, and the rule's save/render round trip.
#include <gtest/gtest.h>

#include "common/counters.h"
#include "fwd/controller.h"
#include "fwd/dataplane.h"
#include "fwd/pipeline.h"
#include "packet/checksum.h"
#include "tests/unit/fwd/pipeline_fixture.h"
#include "tests/unit/packet/builders.h"

namespace fw::fwd {
namespace {

using namespace fw::packet::testing;

constexpr uint8_t kSyn = 0x02, kAck = 0x10, kSynAck = 0x12, kPsh = 0x08;

class AppidPipeline : public testing::PipelineFixture {
 protected:
  AppidPipeline() : PipelineFixture(testing::kLabZones) {}
  Verdict send(Bytes pkt, uint32_t indev) {
    testing::Out o = run(std::move(pkt), indev, 0);
    last = o.d;
    sent = std::move(o.pkt);
    return last.verdict;
  }
  // The packet that left, when it was turned into a RST: "src>dst flags payload-bytes".
  std::string rst_sent() {
    if (!last.modified) return "not modified";
    auto r = packet::parse(std::span<const uint8_t>(sent.data(), sent.size()));
    const auto* p = std::get_if<packet::Parsed>(&r);
    if (!p) return "malformed";
    return p->src.str() + ":" + std::to_string(p->sport) + ">" + p->dst.str() + ":" +
           std::to_string(p->dport) + " flags " + std::to_string(p->tcp_flags) + " len " +
           std::to_string(p->payload_len);
  }
  Decision last;
  Bytes sent;
  // Client 198.18.1.2:sport -> 203.0.113.2:dport.
  Verdict c2s(uint16_t sport, uint16_t dport, uint8_t flags, const std::string& data = "") {
    return send(
        ipv4(6, "198.18.1.2", "203.0.113.2", tcp(sport, dport, 1000, 2000, flags, {}, text(data))),
        2);
  }
  Verdict s2c(uint16_t sport, uint16_t dport, uint8_t flags, const std::string& data = "") {
    return send(
        ipv4(6, "203.0.113.2", "198.18.1.2", tcp(dport, sport, 2000, 1000, flags, {}, text(data))),
        3);
  }
  Verdict handshake(uint16_t sport, uint16_t dport) {
    Verdict v = c2s(sport, dport, kSyn);
    if (v != Verdict::kAccept) return v;
    if ((v = s2c(sport, dport, kSynAck)) != Verdict::kAccept) return v;
    return c2s(sport, dport, kAck);
  }
  std::string app_of(uint16_t sport) {
    auto v =
        dp.sessions().snapshot([&](const session::Session& s) { return s.orig.sport == sport; });
    return v.size() == 1 ? std::string(dp.apps().name(v[0].app)) : "(none)";
  }
  uint64_t hits(const std::string& rule) {
    for (const auto& r : dp.runtimes().current()->policy.rules())
      if (r.name == rule) return r.hits;
    return ~0ull;
  }
};

TEST_F(AppidPipeline, SessionsShowTheIdentifiedNameWhateverThePort) {
  config("security-policy\n rule name any\n  action permit\n");
  ASSERT_EQ(handshake(40000, 8000), Verdict::kAccept);
  EXPECT_EQ(app_of(40000), "tcp") << "undecided: the port's name";
  ASSERT_EQ(c2s(40000, 8000, kAck | kPsh, "OPTIONS rtsp://203.0.113.2:8000/x RTSP/1.0\r\n\r\n"),
            Verdict::kAccept);
  EXPECT_EQ(app_of(40000), "rtsp");
  // FTP is told by the server's greeting, on a port nobody mapped.
  ASSERT_EQ(handshake(40001, 2121), Verdict::kAccept);
  ASSERT_EQ(s2c(40001, 2121, kAck | kPsh, "220 (vsFTPd 3.0.3)\r\n"), Verdict::kAccept);
  EXPECT_EQ(app_of(40001), "ftp");
  // TLS has no port row: a row of its own.
  ASSERT_EQ(handshake(40002, 8443), Verdict::kAccept);
  ASSERT_EQ(send(ipv4(6, "198.18.1.2", "203.0.113.2",
                      tcp(40002, 8443, 1000, 2000, kAck | kPsh, {},
                          Bytes{0x16, 3, 1, 0, 0xc8, 1, 0, 0, 0xc4, 3, 3})),
                 2),
            Verdict::kAccept);
  EXPECT_EQ(app_of(40002), "tls");
  // Something else: after 10 packets it keeps the port's name, and is decided.
  ASSERT_EQ(handshake(40003, 80), Verdict::kAccept);
  for (int i = 0; i < 8; ++i) ASSERT_EQ(c2s(40003, 80, kAck | kPsh, "xx"), Verdict::kAccept);
  EXPECT_EQ(app_of(40003), "http");
  EXPECT_EQ(ctr("appid.identified"), 3u);
  EXPECT_EQ(ctr("appid.unidentified"), 1u);
  // A UDP flow is decided by its first datagram.
  ASSERT_EQ(send(ipv4(17, "198.18.1.2", "203.0.113.2",
                      udp(5060, 5080, text("INVITE sip:a@203.0.113.2 SIP/2.0\r\n\r\n"))),
                 2),
            Verdict::kAccept);
  EXPECT_EQ(app_of(5060), "sip");
}

TEST_F(AppidPipeline, DenyRuleDropsTheFlowOnceIdentifiedAndCountsTheRule) {
  config(
      "security-policy\n rule name no-rtsp\n  application rtsp\n  action deny\n"
      " rule name any\n  action permit\n");
  ASSERT_EQ(handshake(40000, 8000), Verdict::kAccept) << "admitted until identified";
  EXPECT_EQ(hits("no-rtsp"), 0u);
  // The request becomes a RST to the server (RST|ACK = 20, no payload) ...
  EXPECT_EQ(c2s(40000, 8000, kAck | kPsh, "OPTIONS rtsp://h/x RTSP/1.0\r\n\r\n"), Verdict::kAccept);
  EXPECT_EQ(rst_sent(), "198.18.1.2:40000>203.0.113.2:8000 flags 20 len 0");
  EXPECT_EQ(hits("no-rtsp"), 1u);
  EXPECT_EQ(ctr("appid.denied"), 1u);
  // ... and from then on every packet of the session goes back to its sender as a RST.
  EXPECT_EQ(c2s(40000, 8000, kAck | kPsh, "OPTIONS rtsp://h/x RTSP/1.0\r\n\r\n"), Verdict::kAccept);
  EXPECT_EQ(rst_sent(), "203.0.113.2:8000>198.18.1.2:40000 flags 20 len 0");
  EXPECT_EQ(s2c(40000, 8000, kAck), Verdict::kAccept);
  EXPECT_EQ(rst_sent(), "198.18.1.2:40000>203.0.113.2:8000 flags 20 len 0");
  EXPECT_EQ(s2c(40000, 8000, 0x04), Verdict::kDrop) << "a RST is not answered";
  EXPECT_EQ(ctr("packet.drop.application-deny"), 4u);
  // HTTP on the neighbouring port: not RTSP, so the rule does not match; "any" permits it.
  ASSERT_EQ(handshake(40001, 8001), Verdict::kAccept);
  EXPECT_EQ(c2s(40001, 8001, kAck | kPsh, "GET / HTTP/1.1\r\n\r\n"), Verdict::kAccept);
  EXPECT_EQ(s2c(40001, 8001, kAck | kPsh, "HTTP/1.1 200 OK\r\n\r\n"), Verdict::kAccept);
  EXPECT_EQ(hits("no-rtsp"), 1u);
  EXPECT_EQ(hits("any"), 1u);
  EXPECT_EQ(app_of(40001), "http");
}

TEST_F(AppidPipeline, UnidentifiedFlowFallsThroughToTheNextRules) {
  config(
      "security-policy\n rule name sip-ok\n  application sip\n  action permit\n"
      " rule name rest\n  destination-address 203.0.113.2 32\n  action deny\n");
  ASSERT_EQ(handshake(40000, 5060), Verdict::kAccept) << "admitted by sip-ok until identified";
  // Not SIP: sip-ok no longer matches, "rest" denies (the request goes on as a RST).
  EXPECT_EQ(c2s(40000, 5060, kAck | kPsh, "GET / HTTP/1.1\r\n\r\n"), Verdict::kAccept);
  EXPECT_EQ(rst_sent(), "198.18.1.2:40000>203.0.113.2:5060 flags 20 len 0");
  EXPECT_EQ(hits("rest"), 1u);
  EXPECT_EQ(hits("sip-ok"), 0u);
  // SIP over TCP passes and stays permitted.
  ASSERT_EQ(handshake(40001, 5060), Verdict::kAccept);
  EXPECT_EQ(c2s(40001, 5060, kAck | kPsh, "OPTIONS sip:a@b SIP/2.0\r\n\r\n"), Verdict::kAccept);
  EXPECT_EQ(c2s(40001, 5060, kAck | kPsh, "anything"), Verdict::kAccept);
  EXPECT_EQ(hits("sip-ok"), 1u);
  // A flow that never says anything we know: given up on after the limit, then judged without
  // sip-ok.
  config("firewall application identify packets 5\n");
  ASSERT_EQ(handshake(40002, 5060), Verdict::kAccept);
  EXPECT_EQ(c2s(40002, 5060, kAck | kPsh, "GET /a"), Verdict::kAccept);  // 4 packets: undecided
  EXPECT_EQ(c2s(40002, 5060, kAck | kPsh, "GET /b"), Verdict::kAccept);  // 5: gave up, "rest"
  EXPECT_EQ(rst_sent(), "198.18.1.2:40002>203.0.113.2:5060 flags 20 len 0");
  EXPECT_EQ(hits("rest"), 2u);
}

TEST_F(AppidPipeline, UdpIsJudgedOnItsFirstDatagram) {
  config(
      "security-policy\n rule name no-l2tp-ike\n  application l2tp ike\n  action deny\n"
      " rule name any\n  action permit\n");
  Bytes l2tp{0xc8, 0x02, 0x00, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x08, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(send(ipv4(17, "198.18.1.2", "203.0.113.2", udp(1701, 1701, l2tp)), 2), Verdict::kDrop);
  EXPECT_EQ(ctr("packet.drop.policy-deny"), 1u);
  EXPECT_EQ(hits("no-l2tp-ike"), 1u);
  EXPECT_EQ(dp.sessions().size(), 0u);
  // DNS passes, named dns whatever the port.
  Bytes dns{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1};
  EXPECT_EQ(send(ipv4(17, "198.18.1.2", "203.0.113.2", udp(3333, 5353, dns)), 2), Verdict::kAccept);
  EXPECT_EQ(app_of(3333), "dns");
  EXPECT_EQ(hits("any"), 1u);
}

// ASPF follows identification: FTP identified on tcp/2121 (no port-mapping) is inspected when
// `firewall detect ftp` is on (the factory default): its PORT opens a server-map entry.
TEST_F(AppidPipeline, AspfInspectsFtpIdentifiedOnAnUnmappedPort) {
  config("security-policy\n rule name any\n  action permit\n");
  auto alg_of = [&](uint16_t sport) {
    auto v =
        dp.sessions().snapshot([&](const session::Session& s) { return s.orig.sport == sport; });
    return v.size() == 1 ? int(v[0].alg) : -1;
  };
  ASSERT_EQ(handshake(40000, 2121), Verdict::kAccept);
  EXPECT_EQ(alg_of(40000), 0);
  ASSERT_EQ(s2c(40000, 2121, kAck | kPsh, "220 (vsFTPd 3.0.3)\r\n"), Verdict::kAccept);
  EXPECT_NE(alg_of(40000), 0) << "the ftp inspector took the session";
  const size_t before = dp.servermap().size();
  ASSERT_EQ(c2s(40000, 2121, kAck | kPsh, "PORT 198,18,1,2,156,64\r\n"), Verdict::kAccept);
  EXPECT_EQ(dp.servermap().size(), before + 1) << "PORT opened the data channel's entry";
  EXPECT_EQ(dp.counters().value("aspf.ftp.opened"), 1u);
  // Detection off: identified and named, but not inspected.
  config("undo firewall detect ftp\n");
  ASSERT_EQ(handshake(40001, 2121), Verdict::kAccept);
  ASSERT_EQ(s2c(40001, 2121, kAck | kPsh, "220 ready\r\n"), Verdict::kAccept);
  EXPECT_EQ(app_of(40001), "ftp");
  EXPECT_EQ(alg_of(40001), 0);
}

// IPsec blocked: IKE and NAT-T by application, ESP and AH by service (protocols 50, 51).
TEST_F(AppidPipeline, IpsecBlockedByApplicationAndService) {
  config(
      "security-policy\n rule name no-ike\n  application ike\n  action deny\n"
      " rule name no-esp-ah\n  service esp ah\n  action deny\n"
      " rule name any\n  action permit\n");
  Bytes ike(28, 0);
  ike[0] = 0x11, ike[17] = 0x20, ike[18] = 34, ike[27] = 28;
  EXPECT_EQ(send(ipv4(17, "198.18.1.2", "203.0.113.2", udp(500, 500, ike)), 2), Verdict::kDrop);
  Bytes natt{0, 0, 0, 0};
  natt.insert(natt.end(), ike.begin(), ike.end());
  natt[4 + 27] = 28;
  EXPECT_EQ(send(ipv4(17, "198.18.1.2", "203.0.113.2", udp(4500, 4500, natt)), 2), Verdict::kDrop);
  EXPECT_EQ(hits("no-ike"), 2u);
  Bytes esp{0, 0, 1, 0, 0, 0, 0, 1, 9, 9, 9, 9};
  EXPECT_EQ(send(ipv4(50, "198.18.1.2", "203.0.113.2", esp), 2), Verdict::kDrop);
  Bytes ah{59, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};  // next header none, 12 bytes, SPI, sequence
  EXPECT_EQ(send(ipv4(51, "198.18.1.2", "203.0.113.2", ah), 2), Verdict::kDrop);
  EXPECT_EQ(hits("no-esp-ah"), 2u);
  EXPECT_EQ(hits("any"), 0u);
}

TEST_F(AppidPipeline, RuleAndLimitRenderAndReloadExactly) {
  config(
      "firewall application identify packets 6\n"
      "security-policy\n rule name r\n  application sip rtsp\n  action deny\n");
  const std::string text = config::render(ctl->running());
  EXPECT_NE(text.find("\n firewall application identify packets 6\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  application sip\n  application rtsp\n  action deny\n"), std::string::npos)
      << text;
  testing::Plane again(clock, *routes_);
  std::string err;
  ASSERT_TRUE(again.load(text, &err, "saved")) << err;
  EXPECT_EQ(config::render(again.ctl->running()), text);
  EXPECT_EQ(again.dp.runtimes().current()->appid_packets, 6u);
}

}  // namespace
}  // namespace fw::fwd
