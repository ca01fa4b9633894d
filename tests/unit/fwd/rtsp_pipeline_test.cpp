// The RTSP ALG through the whole packet path (pipeline + engine + inspector)
// with a fake FIB: a SETUP split across segments rewritten under easy-ip with
// seq/ack adjusted, the reply's echo mapped back, media admitted once to the
// client's own ports, TEARDOWN removing what is left.
#include <gtest/gtest.h>

#include <string>

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

const std::string kRtspConfig =
    std::string(testing::kLabZones) + "firewall detect rtsp\n" + testing::kTrustToUntrustEasyIp;

class RtspPipeline : public testing::PipelineFixture {
 protected:
  RtspPipeline() : PipelineFixture(kRtspConfig) {}

  session::SessionTable& table = dp.sessions();
  session::ServerMap& servermap = dp.servermap();
};

// SETUP split across two segments, the port value in the second: rewritten to
// the public pair (shorter text: seq/ack adjusted), the reply's echo mapped
// back, the server's RTP and RTCP admitted once each to the client's own
// ports; TEARDOWN removes what is left.
TEST_F(RtspPipeline, SplitSetupRewrittenEchoMappedBackMediaAdmitted) {
  handshake("198.18.1.2", 40000, 554);
  const std::string head = "SETUP rtsp://203.0.113.2/v RTSP/1.0\r\nCSeq: 3\r\nTrans";
  const std::string tail = "port: RTP/AVP;unicast;client_port=41000-41001\r\n\r\n";
  auto a = run(ipv4(6, "198.18.1.2", "203.0.113.2",
                    tcp(40000, 554, 1001, 5001, packet::kTcpAck, {}, text(head))),
               2);
  ASSERT_EQ(a.d.verdict, Verdict::kAccept);
  EXPECT_EQ(payload(a), head);
  const uint32_t seq2 = 1001 + static_cast<uint32_t>(head.size());
  auto b = run(ipv4(6, "198.18.1.2", "203.0.113.2",
                    tcp(40000, 554, seq2, 5001, packet::kTcpAck | packet::kTcpPsh, {}, text(tail))),
               2);
  ASSERT_EQ(b.d.verdict, Verdict::kAccept);
  const std::string sent = payload(b);
  const size_t at = sent.find("client_port=");
  ASSERT_NE(at, std::string::npos) << sent;
  const std::string ports = sent.substr(at + 12, sent.find('\r', at) - at - 12);
  const uint16_t pub = static_cast<uint16_t>(std::stoi(ports));
  EXPECT_EQ(pub % 2, 0);
  EXPECT_EQ(ports, std::to_string(pub) + "-" + std::to_string(pub + 1));
  EXPECT_TRUE(packet::verify_checksums(b.pkt));
  EXPECT_EQ(aspf_entries(), 0u) << "nothing before the reply";

  // The reply acks the wire stream and echoes the public pair.
  const uint32_t wire_end = seq2 + static_cast<uint32_t>(sent.size());
  const std::string reply =
      "RTSP/1.0 200 OK\r\nCSeq: 3\r\nTransport: RTP/AVP;unicast;client_port=" + ports +
      ";server_port=6000-6001\r\nSession: 77;timeout=30\r\n\r\n";
  auto r =
      run(ipv4(6, "203.0.113.2", "203.0.113.1",
               tcp(554, xport, 5001, wire_end, packet::kTcpAck | packet::kTcpPsh, {}, text(reply))),
          3);
  ASSERT_EQ(r.d.verdict, Verdict::kAccept);
  EXPECT_EQ(r.p.ack, seq2 + tail.size()) << "the client's own numbering";
  EXPECT_NE(payload(r).find("client_port=41000-41001;server_port=6000-6001"), std::string::npos)
      << payload(r);
  EXPECT_TRUE(packet::verify_checksums(r.pkt));
  EXPECT_EQ(aspf_entries(), 4u) << "2 from the server, 2 from the client";

  for (uint16_t i = 0; i < 2; ++i) {
    auto m = run(ipv4(17, "203.0.113.2", "203.0.113.1", udp(6000 + i, pub + i, text("rtp"))), 3);
    ASSERT_EQ(m.d.verdict, Verdict::kAccept) << i;
    EXPECT_EQ(m.p.dst, addr("198.18.1.2"));
    EXPECT_EQ(m.p.dport, 41000 + i);
  }
  EXPECT_EQ(aspf_entries(), 2u) << "one-shot: the media sessions took over (the client's are left)";
  size_t children = 0;
  for (const auto& s : table.snapshot()) children += s.parent_id != 0;
  EXPECT_EQ(children, 2u);
  // Another host may not use the public ports.
  auto other = run(ipv4(17, "203.0.113.3", "203.0.113.1", udp(6000, pub, text("x"))), 3);
  EXPECT_EQ(other.d.verdict, Verdict::kDrop);
  EXPECT_EQ(dp.counters().value("aspf.rtsp.setups"), 1u);
}

TEST_F(RtspPipeline, TeardownRemovesUnusedEntriesAtOnce) {
  handshake("198.18.1.2", 40002, 554);
  const std::string setup =
      "SETUP rtsp://203.0.113.2/v RTSP/1.0\r\nCSeq: 1\r\nTransport: "
      "RTP/AVP;client_port=42000\r\n\r\n";
  auto s = run(ipv4(6, "198.18.1.2", "203.0.113.2",
                    tcp(40002, 554, 1001, 5001, packet::kTcpAck, {}, text(setup))),
               2);
  const std::string sent = payload(s);
  const uint32_t wire_end = 1001 + static_cast<uint32_t>(sent.size());
  const size_t at = sent.find("client_port=") + 12;
  const std::string port = sent.substr(at, sent.find('\r', at) - at);
  const std::string reply = "RTSP/1.0 200 OK\r\nCSeq: 1\r\nTransport: RTP/AVP;client_port=" + port +
                            ";server_port=6000\r\nSession: 9\r\n\r\n";
  run(ipv4(6, "203.0.113.2", "203.0.113.1",
           tcp(554, xport, 5001, wire_end, packet::kTcpAck, {}, text(reply))),
      3);
  ASSERT_EQ(aspf_entries(), 4u);
  const std::string td = "TEARDOWN rtsp://203.0.113.2/v RTSP/1.0\r\nCSeq: 2\r\nSession: 9\r\n\r\n";
  const uint32_t next = 1001 + static_cast<uint32_t>(setup.size());
  auto t = run(ipv4(6, "198.18.1.2", "203.0.113.2",
                    tcp(40002, 554, next, 5001 + static_cast<uint32_t>(reply.size()),
                        packet::kTcpAck, {}, text(td))),
               2);
  ASSERT_EQ(t.d.verdict, Verdict::kAccept);
  EXPECT_EQ(aspf_entries(), 0u);
  auto late = run(ipv4(17, "203.0.113.2", "203.0.113.1",
                       udp(6000, static_cast<uint16_t>(std::stoi(port)), text("rtp"))),
                  3);
  EXPECT_EQ(late.d.verdict, Verdict::kDrop);
}

// The client's RTCP (and RTP) leaves first: it takes the announced public pair, so the server's
// RTCP to the odd port is a reply of that session (it used to be dropped as nat-collision: the
// client's RTCP had got another port from PAT and the entry's child collided with it).
TEST_F(RtspPipeline, ClientMediaFirstLeaveFromThePublicPair) {
  handshake("198.18.1.2", 40004, 554);
  const std::string setup =
      "SETUP rtsp://203.0.113.2/v RTSP/1.0\r\nCSeq: 1\r\nTransport: "
      "RTP/AVP;client_port=44000-44001\r\n\r\n";
  auto s = run(ipv4(6, "198.18.1.2", "203.0.113.2",
                    tcp(40004, 554, 1001, 5001, packet::kTcpAck, {}, text(setup))),
               2);
  const std::string sent = payload(s);
  const uint32_t wire_end = 1001 + static_cast<uint32_t>(sent.size());
  const size_t at = sent.find("client_port=") + 12;
  const std::string ports = sent.substr(at, sent.find('\r', at) - at);
  const uint16_t pub = static_cast<uint16_t>(std::stoi(ports));
  const std::string reply =
      "RTSP/1.0 200 OK\r\nCSeq: 1\r\nTransport: RTP/AVP;client_port=" + ports +
      ";server_port=6100-6101\r\nSession: 5\r\n\r\n";
  run(ipv4(6, "203.0.113.2", "203.0.113.1",
           tcp(554, xport, 5001, wire_end, packet::kTcpAck, {}, text(reply))),
      3);
  for (uint16_t i = 0; i < 2; ++i) {
    auto out = run(ipv4(17, "198.18.1.2", "203.0.113.2", udp(44000 + i, 6100 + i, text("rr"))), 2);
    ASSERT_EQ(out.d.verdict, Verdict::kAccept) << i;
    EXPECT_EQ(out.p.src, addr("203.0.113.1"));
    EXPECT_EQ(out.p.sport, pub + i) << "the announced public port";
    auto in = run(ipv4(17, "203.0.113.2", "203.0.113.1", udp(6100 + i, pub + i, text("sr"))), 3);
    ASSERT_EQ(in.d.verdict, Verdict::kAccept) << i;
    EXPECT_EQ(in.p.dst, addr("198.18.1.2"));
    EXPECT_EQ(in.p.dport, 44000 + i);
  }
  EXPECT_EQ(dp.counters().value("packet.drop.nat-collision"), 0u);
  size_t children = 0;
  for (const auto& x : table.snapshot()) children += x.parent_id != 0;
  EXPECT_EQ(children, 2u) << "one media session per channel, opened by the client's packet";
}

}  // namespace
}  // namespace fw::fwd
