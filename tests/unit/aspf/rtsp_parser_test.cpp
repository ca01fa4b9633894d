// aspf/rtsp/rtsp_parser: start lines, CSeq, Session, Transport and the offsets
// of the values an inspector rewrites.
#include "aspf/rtsp/rtsp_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace fw::aspf::rtsp {
namespace {

std::string at(const std::string& s, size_t b, size_t e) { return s.substr(b, e - b); }

TEST(RtspParser, SetupRequest) {
  const std::string m =
      "SETUP rtsp://203.0.113.2:8554/test/stream=0 RTSP/1.0\r\n"
      "CSeq: 3\r\n"
      "Transport: RTP/AVP;unicast;client_port=40000-40001\r\n"
      "User-Agent: x\r\n\r\n";
  auto r = parse(m);
  ASSERT_TRUE(r.ok) << r.why;
  EXPECT_TRUE(r.m.request);
  EXPECT_EQ(r.m.method, "SETUP");
  EXPECT_EQ(r.m.uri, "rtsp://203.0.113.2:8554/test/stream=0");
  EXPECT_EQ(r.m.version, "RTSP/1.0");
  EXPECT_EQ(r.m.cseq, 3u);
  ASSERT_EQ(r.m.transports.size(), 1u);
  const auto& t = r.m.transports[0];
  EXPECT_EQ(t.protocol, "RTP/AVP");
  EXPECT_FALSE(t.tcp || t.multicast || t.interleaved);
  EXPECT_TRUE(t.client_port.present && t.client_port.pair);
  EXPECT_EQ(t.client_port.lo, 40000);
  EXPECT_EQ(t.client_port.hi, 40001);
  EXPECT_EQ(at(m, t.client_port.begin, t.client_port.end), "40000-40001");
  EXPECT_EQ(at(m, t.begin, t.end), "RTP/AVP;unicast;client_port=40000-40001");
  EXPECT_FALSE(t.server_port.present);
}

TEST(RtspParser, SetupReply) {
  const std::string m =
      "RTSP/1.0 200 OK\r\n"
      "cseq: 3\r\n"
      "transport: RTP/AVP/UDP;unicast;client_port=5000;server_port=6256-6257;"
      "source=\"203.0.113.2\";ssrc=1A2B;mode=\"PLAY\"\r\n"
      "Session: 1bQcXtGAPNO2Ld8q;timeout=60\r\n\r\n";
  auto r = parse(m);
  ASSERT_TRUE(r.ok) << r.why;
  EXPECT_FALSE(r.m.request);
  EXPECT_EQ(r.m.status, 200);
  EXPECT_EQ(r.m.cseq, 3u);
  EXPECT_EQ(r.m.session, "1bQcXtGAPNO2Ld8q");
  EXPECT_EQ(r.m.session_timeout, 60u);
  const auto& t = r.m.transports.at(0);
  EXPECT_EQ(t.protocol, "RTP/AVP/UDP");
  EXPECT_FALSE(t.tcp);
  EXPECT_TRUE(t.client_port.present);
  EXPECT_FALSE(t.client_port.pair);
  EXPECT_EQ(t.client_port.lo, 5000);
  EXPECT_EQ(t.client_port.hi, 5000);
  EXPECT_EQ(at(m, t.client_port.begin, t.client_port.end), "5000");
  EXPECT_EQ(t.server_port.lo, 6256);
  EXPECT_EQ(t.server_port.hi, 6257);
  EXPECT_EQ(t.source.text, "203.0.113.2");
  EXPECT_EQ(at(m, t.source.begin, t.source.end), "203.0.113.2");
}

TEST(RtspParser, SeveralSpecsInterleavedMulticastDestination) {
  const std::string m =
      "SETUP rtsp://h/a RTSP/1.0\r\nCSeq: 9\r\n"
      "Transport: RTP/AVP/TCP;unicast;interleaved=0-1, RTP/AVP;multicast;port=5000-5001 ,"
      "RTP/AVP;unicast;destination=198.18.1.2;client_port=7000-7003\r\n\r\n";
  auto r = parse(m);
  ASSERT_TRUE(r.ok) << r.why;
  ASSERT_EQ(r.m.transports.size(), 3u);
  EXPECT_TRUE(r.m.transports[0].tcp && r.m.transports[0].interleaved);
  EXPECT_TRUE(r.m.transports[1].multicast);
  const auto& t = r.m.transports[2];
  EXPECT_EQ(t.destination.text, "198.18.1.2");
  EXPECT_EQ(at(m, t.destination.begin, t.destination.end), "198.18.1.2");
  EXPECT_EQ(t.client_port.lo, 7000);
  EXPECT_EQ(t.client_port.hi, 7003);  // discontinuous
  EXPECT_EQ(at(m, t.client_port.begin, t.client_port.end), "7000-7003");
}

TEST(RtspParser, HeadersAcrossLfOnlyAndBody) {
  const std::string m = "TEARDOWN rtsp://h/a RTSP/1.0\nCSeq: 12\nSession: abc\n\nbody: x\n";
  auto r = parse(m);
  ASSERT_TRUE(r.ok) << r.why;
  EXPECT_EQ(r.m.method, "TEARDOWN");
  EXPECT_EQ(r.m.session, "abc");
  EXPECT_FALSE(r.m.session_timeout);
  EXPECT_FALSE(r.m.has_transport);
}

struct Bad {
  const char* name;
  std::string msg;
};

TEST(RtspParser, Malformed) {
  const std::string req = "SETUP rtsp://h/a RTSP/1.0\r\n";
  const Bad cases[] = {
      {"empty", ""},
      {"blank lines only", "\r\n\r\n"},
      {"no version", "SETUP rtsp://h/a\r\n\r\n"},
      {"http", "GET / HTTP/1.1\r\n\r\n"},
      {"bad status", "RTSP/1.0 2x0 OK\r\n\r\n"},
      {"status too low", "RTSP/1.0 099 X\r\n\r\n"},
      {"status too long", "RTSP/1.0 2000 X\r\n\r\n"},
      {"no colon", req + "CSeq 1\r\n\r\n"},
      {"bad cseq", req + "CSeq: x\r\n\r\n"},
      {"cseq too big", req + "CSeq: 4294967296\r\n\r\n"},
      {"cseq twice", req + "CSeq: 1\r\nCSeq: 1\r\n\r\n"},
      {"empty session", req + "Session: ;timeout=3\r\n\r\n"},
      {"bad timeout", req + "Session: a;timeout=x\r\n\r\n"},
      {"timeout too big", req + "Session: a;timeout=86401\r\n\r\n"},
      {"empty spec", req + "Transport: RTP/AVP;client_port=5000,\r\n\r\n"},
      {"empty transport", req + "Transport:\r\n\r\n"},
      {"port 0", req + "Transport: RTP/AVP;client_port=0-1\r\n\r\n"},
      {"port too big", req + "Transport: RTP/AVP;client_port=65536\r\n\r\n"},
      {"port not a number", req + "Transport: RTP/AVP;client_port=50a0\r\n\r\n"},
      {"second port empty", req + "Transport: RTP/AVP;client_port=5000-\r\n\r\n"},
      {"client_port twice", req + "Transport: RTP/AVP;client_port=5000;client_port=6000\r\n\r\n"},
      {"server_port empty", req + "Transport: RTP/AVP;server_port=\r\n\r\n"},
      {"empty source", req + "Transport: RTP/AVP;source=\r\n\r\n"},
      {"too many specs", req + "Transport: a,b,c,d,e,f,g,h,i\r\n\r\n"},
  };
  for (const auto& c : cases) {
    auto r = parse(c.msg);
    EXPECT_FALSE(r.ok) << c.name;
    EXPECT_FALSE(r.why.empty()) << c.name;
  }
  std::string many = req;
  for (int i = 0; i < 65; ++i) many += "X-H: 1\r\n";
  EXPECT_FALSE(parse(many + "\r\n").ok);
}

TEST(RtspParser, Boundaries) {
  const std::string req = "SETUP rtsp://h/a RTSP/1.0\r\n";
  auto r = parse(req + "Transport: RTP/AVP;client_port=65535-1\r\nSession: s;timeout=86400\r\n");
  ASSERT_TRUE(r.ok) << r.why;
  EXPECT_EQ(r.m.transports[0].client_port.lo, 65535);
  EXPECT_EQ(r.m.transports[0].client_port.hi, 1);
  EXPECT_EQ(r.m.session_timeout, 86400u);
  r = parse(req + "Transport: RTP/AVP;unicast;destination;;client_port=1024\r\n\r\n");
  ASSERT_TRUE(r.ok) << r.why;
  EXPECT_TRUE(r.m.transports[0].destination.present);
  EXPECT_TRUE(r.m.transports[0].destination.text.empty());
  EXPECT_EQ(format_ports(5000, std::nullopt), "5000");
  EXPECT_EQ(format_ports(5000, 5001), "5000-5001");
}

}  // namespace
}  // namespace fw::aspf::rtsp
