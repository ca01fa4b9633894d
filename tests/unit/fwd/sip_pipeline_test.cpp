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
#include "tests/unit/fwd/pipeline_fixture.h"
#include "tests/unit/packet/builders.h"

namespace fw::fwd {
namespace {

using namespace fw::packet::testing;

using testing::Out;
using testing::payload;

const std::string kSipConfig =
    std::string(testing::kLabZones) + "firewall detect sip\n" + testing::kTrustToUntrustEasyIp;

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

class SipPipeline : public testing::PipelineFixture {
 protected:
  SipPipeline() : PipelineFixture(kSipConfig) {}
  Out run(Bytes pkt, uint32_t indev) { return PipelineFixture::run(std::move(pkt), indev, 256); }
  static void expect_consistent(const std::string& m) {
    auto r = aspf::sip::parse(std::vector<uint8_t>(m.begin(), m.end()));
    ASSERT_TRUE(r.message) << m;
    EXPECT_EQ(r.message->content_length.value_or(0), m.size() - r.message->body_off) << m;
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

// ---- SIP over TCP ------------------------------------------------------------------------

std::string tcp_invite(uint16_t via_port) {
  std::string m = invite();
  const std::string from = "SIP/2.0/UDP 198.18.1.2:5060";
  m.replace(m.find(from), from.size(), "SIP/2.0/TCP 198.18.1.2:" + std::to_string(via_port));
  return m;
}

class SipTcpPipeline : public SipPipeline {
 protected:
  // Phone 198.18.1.2:40000 -> 203.0.113.2:5060, handshake done.
  void handshake() { PipelineFixture::handshake("198.18.1.2", 40000, 5060); }
  Out up(uint32_t seq, uint32_t ack, const std::string& data) {
    return run(ipv4(6, "198.18.1.2", "203.0.113.2",
                    tcp(40000, 5060, seq, ack, packet::kTcpAck | packet::kTcpPsh, {}, text(data))),
               2);
  }
  Out down(uint32_t seq, uint32_t ack, const std::string& data) {
    return run(ipv4(6, "203.0.113.2", "203.0.113.1",
                    tcp(5060, xport, seq, ack, packet::kTcpAck | packet::kTcpPsh, {}, text(data))),
               3);
  }
  uint64_t counter(const std::string& name) { return dp.counters().value("aspf.sip." + name); }
};

// A keep-alive and an INVITE in one segment: the INVITE is rewritten (longer
// text), seq of the next segment and ack of the answer adjusted; the 200 OK
// comes back rewritten towards the phone, with media entries open.
TEST_F(SipTcpPipeline, InviteRewrittenSeqAckAdjustedAnswerMappedBack) {
  handshake();
  const std::string inv = "\r\n\r\n" + tcp_invite(40000);
  auto a = up(1001, 5001, inv);
  ASSERT_EQ(a.d.verdict, Verdict::kAccept);
  ASSERT_TRUE(a.d.modified);
  EXPECT_TRUE(packet::verify_checksums(a.pkt));
  const std::string sent = payload(a);
  EXPECT_EQ(sent.find("198.18.1.2"), std::string::npos) << sent;
  EXPECT_NE(sent.find("Via: SIP/2.0/TCP 203.0.113.1:" + std::to_string(xport) + ";branch"),
            std::string::npos)
      << sent;
  expect_consistent(sent.substr(4));
  EXPECT_EQ(a.p.seq, 1001u);
  const uint32_t wire_end = 1001 + static_cast<uint32_t>(sent.size());
  const uint32_t orig_end = 1001 + static_cast<uint32_t>(inv.size());
  EXPECT_NE(wire_end, orig_end) << "the rewrite changes the length";

  const std::string ok = ok200("203.0.113.1:" + std::to_string(xport));
  auto b = down(5001, wire_end, ok);
  ASSERT_EQ(b.d.verdict, Verdict::kAccept);
  EXPECT_EQ(b.p.dst.str(), "198.18.1.2");
  EXPECT_EQ(b.p.ack, orig_end) << "the phone's own numbering";
  EXPECT_TRUE(packet::verify_checksums(b.pkt));
  const std::string back = payload(b);
  EXPECT_NE(back.find("From: <sip:alice@198.18.1.2:40000>"), std::string::npos) << back;
  expect_consistent(back);
  EXPECT_EQ(aspf_entries(), 4u);
  EXPECT_EQ(counter("dialogs"), 1u);
  // display firewall sip session: the flow, its mode, the dialog and its media.
  auto user = cli::ViewStack{{cli::ViewKind::kUser, {}}};
  const std::string shown = ctl->execute(user, "display firewall sip session").output;
  EXPECT_NE(shown.find(" SIP signalling flows: 1\n sip  tcp  198.18.1.2:40000[203.0.113.1:" +
                       std::to_string(xport) + "] --> 203.0.113.2:5060\n  Mode: translate"),
            std::string::npos)
      << shown;
  EXPECT_NE(shown.find("  Dialog 1  Call-ID: pipe-1  State: confirmed"), std::string::npos)
      << shown;
  EXPECT_NE(shown.find("    media initiator: 198.18.1.2:6000/6001["), std::string::npos) << shown;
  EXPECT_NE(shown.find("    media responder: 203.0.113.2:7000/7001\n"), std::string::npos) << shown;
  // display firewall detect verbose: the mode chosen for the flow.
  const std::string det = ctl->execute(user, "display firewall detect verbose").output;
  EXPECT_NE(det.find(" Flows:\n  sip tcp 198.18.1.2:40000[203.0.113.1:" + std::to_string(xport) +
                     "] --> 203.0.113.2:5060  translate\n"),
            std::string::npos)
      << det;

  // The phone's next segment (its own numbering) leaves at the shifted position; the BYE
  // closes the call.
  auto c = up(orig_end, 5001 + static_cast<uint32_t>(back.size()), bye());
  ASSERT_EQ(c.d.verdict, Verdict::kAccept);
  EXPECT_EQ(c.p.seq, wire_end);
  EXPECT_EQ(c.p.ack, 5001 + ok.size()) << "the server's numbering";
  EXPECT_TRUE(packet::verify_checksums(c.pkt));
  EXPECT_EQ(aspf_entries(), 0u);
}

// Two messages in one segment are both seen; a message split across segments
// is framed; when a rewrite would fall in the part already forwarded, the
// message passes untouched and is counted (never a partial rewrite).
TEST_F(SipTcpPipeline, SeveralMessagesPerSegmentAndSplitMessages) {
  handshake();
  const std::string two = tcp_invite(40000) + bye();
  auto a = up(1001, 5001, two);
  ASSERT_EQ(a.d.verdict, Verdict::kAccept);
  const std::string sent = payload(a);
  EXPECT_EQ(sent.find("198.18.1.2"), std::string::npos) << sent;
  EXPECT_EQ(counter("dialogs"), 1u);
  EXPECT_EQ(counter("dialogs-closed"), 1u);
  EXPECT_EQ(aspf_entries(), 0u);
  uint32_t seq = 1001 + static_cast<uint32_t>(two.size());
  uint32_t wire = 1001 + static_cast<uint32_t>(sent.size());

  // Split after the headers: the headers' rewrites are in the first segment, which is
  // edited only once the message is complete -> refused.split, nothing changed.
  std::string inv = tcp_invite(40000);
  const std::string callid = "Call-ID: pipe-1";
  inv.replace(inv.find(callid), callid.size(), "Call-ID: pipe-2");
  const size_t cut = inv.find("\r\n\r\n") + 4;
  auto h = up(seq, 5001, inv.substr(0, cut));
  EXPECT_EQ(h.p.seq, wire);
  EXPECT_EQ(payload(h), inv.substr(0, cut));
  auto t = up(seq + static_cast<uint32_t>(cut), 5001, inv.substr(cut));
  EXPECT_EQ(payload(t), inv.substr(cut));
  EXPECT_EQ(counter("refused.split"), 1u);
  EXPECT_EQ(aspf_entries(), 0u);
}

// A message larger than 8192 bytes is not framed: it passes untouched, counted.
TEST_F(SipTcpPipeline, OversizedMessageUntouchedAndCounted) {
  handshake();
  // The body makes it too long: skipped by its Content-Length, the stream stays in sync.
  std::string big = tcp_invite(40000);
  const std::string m_line = "m=audio 6000 RTP/AVP 0\r\n";
  const std::string pad = "a=x-pad:" + std::string(9000, 'x') + "\r\n";
  big.insert(big.find(m_line) + m_line.size(), pad);
  const std::string cl = "Content-Length: 89";
  ASSERT_NE(big.find(cl), std::string::npos);
  big.replace(big.find(cl), cl.size(), "Content-Length: " + std::to_string(89 + pad.size()));
  uint32_t seq = 1001;
  for (size_t off = 0; off < big.size(); off += 1400) {
    const std::string part = big.substr(off, 1400);
    auto o = up(seq, 5001, part);
    ASSERT_EQ(o.d.verdict, Verdict::kAccept);
    EXPECT_EQ(payload(o), part);
    seq += static_cast<uint32_t>(part.size());
  }
  EXPECT_EQ(counter("unframed"), 1u);
  EXPECT_EQ(aspf_entries(), 0u);
  // The stream stays in sync: the next INVITE is rewritten.
  auto n = up(seq, 5001, tcp_invite(40000));
  EXPECT_EQ(payload(n).find("198.18.1.2"), std::string::npos) << payload(n);
}

}  // namespace
}  // namespace fw::fwd
