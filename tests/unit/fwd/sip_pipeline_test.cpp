// The SIP ALG through the whole packet path (pipeline + engine + inspector +
// NAT) with a fake FIB: a call from a phone behind easy-ip, its INVITE and 200
// OK rewritten both ways with consistent lengths and checksums, the phone's RTP
// leaving from the public port its SDP announced (whichever side sends first),
// the callee's RTP admitted back to the phone, BYE closing the entries; and the
// same call without the ALG, where the callee's RTP is dropped.
#include <gtest/gtest.h>

#include <string>

#include "aspf/sip/sip_parser.h"
#include "common/counters.h"
#include "fwd/controller.h"
#include "fwd/dataplane.h"
#include "fwd/pipeline.h"
#include "packet/checksum.h"
#include "tests/unit/packet/builders.h"

namespace fw::fwd {
namespace {

using namespace fw::packet::testing;

class SipRoutes : public RouteSource {
 public:
  RouteInfo route(const common::IpAddr& dst) override {
    RouteInfo r;
    std::string s = dst.str();
    if (s == "203.0.113.1") {
      r.ok = r.local = true;
    } else if (s.rfind("198.18.1.", 0) == 0) {
      r.ok = true;
      r.oif = 2;
      r.prefsrc = addr("198.18.1.1");
    } else if (s.rfind("203.0.113.", 0) == 0) {
      r.ok = true;
      r.oif = 3;
      r.prefsrc = addr("203.0.113.1");
    }
    return r;
  }
  std::string ifname(uint32_t i) override { return i == 2 ? "in0" : i == 3 ? "out0" : ""; }
};

const char* kSipConfig = R"(
firewall zone trust
 add interface in0
firewall zone untrust
 add interface out0
firewall detect sip
security-policy
 rule name t2u
  source-zone trust
  destination-zone untrust
  action permit
nat-policy
 rule name easy
  source-zone trust
  destination-zone untrust
  action source-nat easy-ip
)";

std::string sdp(const std::string& a, int port) {
  return "v=0\r\no=- 1 1 IN IP4 " + a + "\r\ns=-\r\nc=IN IP4 " + a + "\r\nt=0 0\r\nm=audio " +
         std::to_string(port) + " RTP/AVP 0\r\n";
}

std::string message(const std::string& head, const std::string& body) {
  return head + (body.empty() ? "" : "Content-Type: application/sdp\r\n") +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string invite() {
  return message(
      "INVITE sip:bob@203.0.113.2 SIP/2.0\r\nVia: SIP/2.0/UDP 198.18.1.2:5060;branch=z9hG4bK-1\r\n"
      "From: <sip:alice@198.18.1.2>;tag=a\r\nTo: <sip:bob@203.0.113.2>\r\nCall-ID: pipe-1\r\n"
      "CSeq: 1 INVITE\r\nContact: <sip:alice@198.18.1.2:5060>\r\n",
      sdp("198.18.1.2", 6000));
}

std::string ok200(const std::string& via) {
  return message("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP " + via +
                     ";branch=z9hG4bK-1\r\nFrom: <sip:alice@" + via +
                     ">;tag=a\r\nTo: <sip:bob@203.0.113.2>;tag=b\r\nCall-ID: pipe-1\r\n"
                     "CSeq: 1 INVITE\r\nContact: <sip:bob@203.0.113.2>\r\n",
                 sdp("203.0.113.2", 7000));
}

std::string bye() {
  return message(
      "BYE sip:bob@203.0.113.2 SIP/2.0\r\nVia: SIP/2.0/UDP 198.18.1.2:5060;branch=z9hG4bK-2\r\n"
      "From: <sip:alice@198.18.1.2>;tag=a\r\nTo: <sip:bob@203.0.113.2>;tag=b\r\nCall-ID: pipe-1\r\n"
      "CSeq: 2 BYE\r\n",
      "");
}

struct Out {
  Decision d;
  Bytes pkt;
  packet::Parsed p;
};

class SipPipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    ControllerHooks h;
    h.dataplane = &dp;
    ctl = std::make_unique<Controller>(h);
    std::string err;
    ASSERT_TRUE(ctl->load_text(kSipConfig, "test", &err)) << err;
  }
  Out run(Bytes pkt, uint32_t indev) {
    packet::fix_checksums(pkt, false);
    pkt.resize(pkt.size() + 256);  // room to grow
    uint32_t len = static_cast<uint32_t>(pkt.size() - 256);
    QueuedPacket qp;
    qp.data = pkt.data();
    qp.len = len;
    qp.capacity = static_cast<uint32_t>(pkt.size());
    qp.indev = indev;
    Out o;
    o.d = pipe.process(qp);
    pkt.resize(o.d.modified ? o.d.len : len);
    o.pkt = pkt;
    auto r = packet::parse(o.pkt);
    if (auto* p = std::get_if<packet::Parsed>(&r)) o.p = *p;
    return o;
  }
  static std::string payload(const Out& o) {
    return std::string(o.pkt.begin() + o.p.payload_offset,
                       o.pkt.begin() + o.p.payload_offset + o.p.payload_len);
  }
  static void expect_consistent(const std::string& m) {
    auto r = aspf::sip::parse(std::vector<uint8_t>(m.begin(), m.end()));
    ASSERT_TRUE(r.message) << m;
    EXPECT_EQ(r.message->content_length.value_or(0), m.size() - r.message->body_off) << m;
  }
  size_t aspf_entries() {
    size_t n = 0;
    for (const auto& e : dp.servermap().snapshot()) n += e.type == session::MapType::kAspf;
    return n;
  }
  // The INVITE out and the 200 OK back; returns the public RTP port the INVITE announced.
  uint16_t call() {
    auto inv = run(ipv4(17, "198.18.1.2", "203.0.113.2", udp(5060, 5060, text(invite()))), 2);
    EXPECT_EQ(inv.d.verdict, Verdict::kAccept);
    EXPECT_EQ(inv.p.src.str(), "203.0.113.1");
    EXPECT_TRUE(packet::verify_checksums(inv.pkt));
    const std::string out = payload(inv);
    EXPECT_EQ(out.find("198.18.1.2"), std::string::npos) << out;
    EXPECT_NE(out.find("c=IN IP4 203.0.113.1\r\n"), std::string::npos) << out;
    expect_consistent(out);
    const size_t m = out.find("m=audio ");
    EXPECT_NE(m, std::string::npos);
    const auto media = static_cast<uint16_t>(std::stoi(out.substr(m + 8)));
    EXPECT_EQ(media % 2, 0) << "an even RTP port";
    const uint16_t sig = inv.p.sport;
    const std::string pub = "203.0.113.1:" + std::to_string(sig);
    auto ok = run(ipv4(17, "203.0.113.2", "203.0.113.1", udp(5060, sig, text(ok200(pub)))), 3);
    EXPECT_EQ(ok.d.verdict, Verdict::kAccept);
    EXPECT_EQ(ok.p.dst.str(), "198.18.1.2");
    EXPECT_TRUE(packet::verify_checksums(ok.pkt));
    const std::string back = payload(ok);
    EXPECT_NE(back.find("Via: SIP/2.0/UDP 198.18.1.2:5060;branch"), std::string::npos) << back;
    expect_consistent(back);
    return media;
  }

  common::ManualClock clock;
  SipRoutes routes;
  DataPlane dp{clock, routes};
  Pipeline& pipe = dp.pipeline();
  std::unique_ptr<Controller> ctl;
};

TEST_F(SipPipeline, CallerSendsFirstAndBothDirectionsFlowThroughTheAnnouncedPort) {
  const uint16_t media = call();
  EXPECT_EQ(aspf_entries(), 4u);
  const Bytes rtp = text("rtp-payload");
  auto up = run(ipv4(17, "198.18.1.2", "203.0.113.2", udp(6000, 7000, rtp)), 2);
  ASSERT_EQ(up.d.verdict, Verdict::kAccept);
  EXPECT_EQ(up.p.src.str(), "203.0.113.1");
  EXPECT_EQ(up.p.sport, media) << "leaves from the port its SDP announced";
  auto down = run(ipv4(17, "203.0.113.2", "203.0.113.1", udp(7000, media, rtp)), 3);
  ASSERT_EQ(down.d.verdict, Verdict::kAccept);
  EXPECT_EQ(down.p.dst.str(), "198.18.1.2");
  EXPECT_EQ(down.p.dport, 6000);
  bool child = false;
  for (const auto& s : dp.sessions().snapshot()) {
    if (dp.apps().name(s.app) == "sip-rtp") {
      child = true;
      EXPECT_NE(s.parent_id, 0u);
    }
  }
  EXPECT_TRUE(child);
  // Another host may not use the phone's port.
  auto stranger = run(ipv4(17, "203.0.113.9", "203.0.113.1", udp(7000, media + 1, rtp)), 3);
  EXPECT_EQ(stranger.d.verdict, Verdict::kDrop);
  auto b = run(ipv4(17, "198.18.1.2", "203.0.113.2", udp(5060, 5060, text(bye()))), 2);
  EXPECT_EQ(b.d.verdict, Verdict::kAccept);
  EXPECT_EQ(aspf_entries(), 0u) << "BYE closes the call's entries";
}

TEST_F(SipPipeline, CalleeSendsFirst) {
  const uint16_t media = call();
  const Bytes rtp = text("rtp-payload");
  auto down = run(ipv4(17, "203.0.113.2", "203.0.113.1", udp(7000, media, rtp)), 3);
  ASSERT_EQ(down.d.verdict, Verdict::kAccept);
  EXPECT_EQ(down.p.dst.str(), "198.18.1.2");
  auto up = run(ipv4(17, "198.18.1.2", "203.0.113.2", udp(6000, 7000, rtp)), 2);
  ASSERT_EQ(up.d.verdict, Verdict::kAccept);
  EXPECT_EQ(up.p.sport, media);
}

TEST_F(SipPipeline, WithoutTheAlgTheCalleesMediaIsDropped) {
  auto sys = cli::ViewStack{{cli::ViewKind::kUser, {}}, {cli::ViewKind::kSystem, {}}};
  ASSERT_TRUE(ctl->execute(sys, "undo firewall detect sip").ok);
  auto inv = run(ipv4(17, "198.18.1.2", "203.0.113.2", udp(5060, 5060, text(invite()))), 2);
  ASSERT_EQ(inv.d.verdict, Verdict::kAccept);
  EXPECT_NE(payload(inv).find("198.18.1.2"), std::string::npos) << "nothing rewritten";
  EXPECT_EQ(aspf_entries(), 0u);
  auto down = run(ipv4(17, "203.0.113.2", "203.0.113.1", udp(7000, 6000, text("rtp-payload"))), 3);
  EXPECT_EQ(down.d.verdict, Verdict::kDrop);
}

// A trunk: many calls on one signalling flow (one 5060 <-> 5060 pair) each get their entries; the
// server-map's default cap of 16 entries per session (FTP, RTSP) would stop the fifth call.
TEST_F(SipPipeline, ManyCallsOnOneSignallingFlow) {
  for (int i = 0; i < 12; ++i) {
    std::string inv = invite();
    inv.replace(inv.find("pipe-1"), 6, "trunk-" + std::to_string(i + 10));
    const std::string port = std::to_string(6000 + 2 * i);
    inv.replace(inv.find("m=audio 6000"), 12, "m=audio " + port);
    // The body grew by as many bytes as "trunk-NN" is longer than "pipe-1" (none): same length.
    auto o = run(ipv4(17, "198.18.1.2", "203.0.113.2", udp(5060, 5060, text(inv))), 2);
    ASSERT_EQ(o.d.verdict, Verdict::kAccept) << i;
    expect_consistent(payload(o));
  }
  EXPECT_EQ(aspf_entries(), 24u) << "RTP and RTCP towards the caller, for each of the 12 offers";
  bool refused = false;
  for (const auto& [name, v] : dp.counters().snapshot()) {
    if (name.find("refused") != std::string::npos && name.find("aspf.sip") == 0 && v)
      refused = true;
  }
  EXPECT_FALSE(refused);
}

}  // namespace
}  // namespace fw::fwd
