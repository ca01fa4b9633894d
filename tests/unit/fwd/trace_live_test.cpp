// Live trace (issue 15 item 2): the filter, the trace of a packet of an existing session (the
// session it hit, the NAT applied), what the FTP inspector reports through the ALG sink (parsed,
// rewrote, opened), the packet limit, and `packet-trace live` through the controller (streamed,
// one at a time).
#include "fwd/trace_live.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "fwd/controller.h"
#include "fwd/dataplane.h"
#include "fwd/pipeline.h"
#include "packet/checksum.h"
#include "tests/unit/fwd/pipeline_fixture.h"
#include "tests/unit/packet/builders.h"

namespace fw::fwd {
namespace {

using namespace fw::packet::testing;

const std::string kConfig = std::string(testing::kLabZones) +
                            "firewall detect ftp\nfirewall detect pptp\nfirewall detect tftp\n" +
                            testing::kTrustToUntrustEasyIp;

packet::Parsed parsed(Bytes pkt) {
  packet::fix_checksums(pkt, false);
  return std::get<packet::Parsed>(packet::parse(pkt));
}

TEST(LiveFilter, MatchesProtocolAddressesPortsZoneAndTheOtherDirectionOnlyWhenAsked) {
  auto p = parsed(ipv4(6, "198.18.1.2", "203.0.113.2", tcp(40000, 21, 1, 0, packet::kTcpSyn)));
  auto back = parsed(ipv4(6, "203.0.113.2", "198.18.1.2", tcp(21, 40000, 1, 0, packet::kTcpAck)));
  LiveFilter any;
  EXPECT_TRUE(any.matches(p, 1));
  LiveFilter f;
  f.proto = 6;
  f.dst = addr("203.0.113.2");
  f.dport = 21;
  EXPECT_TRUE(f.matches(p, 1));
  EXPECT_FALSE(f.matches(back, 2));
  f.both = true;
  EXPECT_TRUE(f.matches(back, 2));
  f.dport = 22;
  EXPECT_FALSE(f.matches(p, 1));
  LiveFilter udp;
  udp.proto = 17;
  EXPECT_FALSE(udp.matches(p, 1));
  LiveFilter src;
  src.src = addr("198.18.1.3");
  EXPECT_FALSE(src.matches(p, 1));
  src.src = addr("198.18.1.2");
  src.sport = 40000;
  EXPECT_TRUE(src.matches(p, 1));
  LiveFilter zone;
  zone.zone = 3;
  EXPECT_FALSE(zone.matches(p, 1));
  EXPECT_TRUE(zone.matches(p, 3));
}

class LiveTrace : public testing::PipelineFixture {
 protected:
  LiveTrace() : PipelineFixture(kConfig) {}
  Decision run(Bytes pkt, uint32_t indev) { return PipelineFixture::run(std::move(pkt), indev).d; }
  // Client 198.18.1.2:40000 <-> server 203.0.113.2:port through easy-ip, handshake done.
  void handshake(uint16_t port = 21) { PipelineFixture::handshake("198.18.1.2", 40000, port); }
  std::string render(const LiveRecord& r, size_t n = 1, bool json = false) {
    return render_live(r, dp, ctl->running(), n, 0, json);
  }
  LiveFilter to_ftp() {
    LiveFilter f;
    f.proto = 6;
    f.dst = addr("203.0.113.2");
    f.dport = 21;
    return f;
  }
};

TEST_F(LiveTrace, APacketOfAnExistingSessionShowsTheSessionItHitAndTheNatApplied) {
  handshake();
  auto w = dp.pipeline().live().arm(to_ftp(), 5);
  ASSERT_TRUE(w);
  // Not matching: the server's packet (the filter is one-way) and another port.
  run(ipv4(6, "203.0.113.2", "203.0.113.1", tcp(21, 40000, 5001, 1001, packet::kTcpAck)), 3);
  run(ipv4(6, "198.18.1.2", "203.0.113.2", tcp(40001, 80, 1, 0, packet::kTcpSyn)), 2);
  ASSERT_EQ(run(ipv4(6, "198.18.1.2", "203.0.113.2",
                     tcp(40000, 21, 1001, 5001, packet::kTcpAck, {}, text("NOOP\r\n"))),
                2)
                .verdict,
            Verdict::kAccept);
  auto recs = w->take(std::chrono::milliseconds(0));
  dp.pipeline().live().disarm(w);
  ASSERT_EQ(recs.size(), 1u);
  const LiveRecord& r = recs[0];
  ASSERT_TRUE(r.dry.hit) << "the session lookup found it";
  ASSERT_TRUE(r.session);
  EXPECT_EQ(r.session->id, r.dry.hit->id);
  EXPECT_EQ(r.dir, session::Dir::kOriginal);
  EXPECT_EQ(r.verdict, Verdict::kAccept);
  EXPECT_EQ(r.before, "198.18.1.2:40000 --> 203.0.113.2:21");
  EXPECT_EQ(r.after, "203.0.113.1:40000 --> 203.0.113.2:21");
  const std::string id = session_id_text(r.session->id);
  const std::string t = render(r);
  EXPECT_NE(t.find(" Packet: tcp 198.18.1.2:40000 --> 203.0.113.2:21 flags ack ttl 64 input in0\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("  1. Session lookup    : hit: session " + id +
                   " (ftp, original direction, policy t2u)\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find(" Session " + id +
                   " (original direction): ftp  VPN: public --> public  "
                   "198.18.1.2:40000[203.0.113.1:40000] --> 203.0.113.2:21\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find(" NAT applied: 198.18.1.2:40000 --> 203.0.113.2:21 became "
                   "203.0.113.1:40000 --> 203.0.113.2:21\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find(" Action: permit (translated or rewritten)\n"), std::string::npos) << t;
  EXPECT_EQ(t.find("Ingress zone"), std::string::npos) << "no first-packet stages for a hit";
}

TEST_F(LiveTrace, TheFtpInspectorReportsWhatItParsedRewroteAndOpened) {
  handshake();
  auto w = dp.pipeline().live().arm(to_ftp(), 1);
  const std::string cmd = "PORT 198,18,1,2,156,80\r\n";  // port 40016
  ASSERT_TRUE(
      run(ipv4(6, "198.18.1.2", "203.0.113.2",
               tcp(40000, 21, 1001, 5001, packet::kTcpAck | packet::kTcpPsh, {}, text(cmd))),
          2)
          .modified);
  // The next packet is not traced: the watch took its one packet.
  run(ipv4(6, "198.18.1.2", "203.0.113.2", tcp(40000, 21, 1025, 5001, packet::kTcpAck)), 2);
  EXPECT_TRUE(w->exhausted());
  auto recs = w->take(std::chrono::milliseconds(0));
  dp.pipeline().live().disarm(w);
  ASSERT_EQ(recs.size(), 1u);
  const LiveRecord& r = recs[0];
  ASSERT_EQ(r.alg.size(), 3u);
  EXPECT_EQ(r.alg[0].kind, LiveAlgEvent::Kind::kParsed);
  EXPECT_EQ(r.alg[0].text, "PORT: data connection to 198.18.1.2:40016");
  // The inspector opens the entry; the engine then applies the edit it returned.
  EXPECT_EQ(r.alg[1].kind, LiveAlgEvent::Kind::kOpened);
  EXPECT_EQ(r.alg[1].entry.addr, addr("203.0.113.1"));
  EXPECT_EQ(r.alg[1].entry.port, 40016);
  EXPECT_EQ(r.alg[1].entry.xaddr, addr("198.18.1.2"));
  EXPECT_EQ(r.alg[2].kind, LiveAlgEvent::Kind::kRewrote);
  EXPECT_EQ(r.alg[2].text, "PORT 198,18,1,2,156,80");
  EXPECT_EQ(r.alg[2].after, "PORT 203,0,113,1,156,80");
  const std::string t = render(r);
  EXPECT_NE(
      t.find(" ALG ftp parsed: PORT: data connection to 198.18.1.2:40016\n"
             " ALG ftp opened: Type: ASPF,  203.0.113.2 -> 203.0.113.1:40016[198.18.1.2:40016],"
             "  protocol:tcp(Appro: ftp-data)\n"
             " ALG ftp rewrote: PORT 198,18,1,2,156,80\n"
             "              to: PORT 203,0,113,1,156,80\n"),
      std::string::npos)
      << t;
  // The session line shows the entry it opened (+->).
  EXPECT_NE(t.find("198.18.1.2:40000[203.0.113.1:40000] +-> 203.0.113.2:21"), std::string::npos)
      << t;
  const std::string j = render(r, 1, true);
  EXPECT_NE(j.find("{\"alg\": \"ftp\", \"event\": \"rewrote\", \"before\": \"PORT "
                   "198,18,1,2,156,80\", \"after\": \"PORT 203,0,113,1,156,80\"}"),
            std::string::npos)
      << j;
  EXPECT_NE(j.find("\"action\": \"permit (translated or rewritten)\""), std::string::npos) << j;
}

// A PPTP Outgoing-Call-Request (RFC 2637: 168 bytes, call id at 12) with call id 0.
Bytes pptp_ocrq() {
  Bytes b(168, 0);
  b[1] = 168;
  b[3] = 1;
  b[4] = 0x1a, b[5] = 0x2b, b[6] = 0x3c, b[7] = 0x4d;
  b[9] = 7;
  b[15] = 1;  // call serial number
  return b;
}

TEST_F(LiveTrace, ThePptpInspectorReportsTheCallAndTheCallIdRewriteInHex) {
  handshake(1723);
  LiveFilter f;
  f.dport = 1723;
  f.proto = 6;
  auto w = dp.pipeline().live().arm(f, 1);
  run(ipv4(6, "198.18.1.2", "203.0.113.2",
           tcp(40000, 1723, 1001, 5001, packet::kTcpAck, {}, pptp_ocrq())),
      2);
  auto recs = w->take(std::chrono::milliseconds(0));
  dp.pipeline().live().disarm(w);
  ASSERT_EQ(recs.size(), 1u);
  const auto& alg = recs[0].alg;
  ASSERT_FALSE(alg.empty());
  EXPECT_EQ(alg[0].text, "Outgoing-Call-Request: call id 0, peer call id 0");
  // Call id 0 is never used on the public side: it is translated (a binary edit, in hex).
  auto rw = std::find_if(alg.begin(), alg.end(),
                         [](const auto& e) { return e.kind == LiveAlgEvent::Kind::kRewrote; });
  ASSERT_NE(rw, alg.end());
  EXPECT_EQ(rw->text, "bytes 12: 00 00");
  EXPECT_EQ(rw->after.rfind("bytes 12: ", 0), 0u) << rw->after;
  EXPECT_NE(rw->after, rw->text);
  const std::string t = render(recs[0]);
  EXPECT_NE(t.find(" ALG pptp parsed: Outgoing-Call-Request: call id 0, peer call id 0\n"),
            std::string::npos)
      << t;
}

TEST_F(LiveTrace, TheFirstDatagramOfATftpControlFlowIsInspectedAndWhatThePeerSentIsPrintable) {
  auto w = dp.pipeline().live().arm(LiveFilter{}, 1);
  const std::string rrq = std::string("\0\1a\nb\0octet\0", 12);
  ASSERT_EQ(run(ipv4(17, "198.18.1.2", "203.0.113.2", udp(40000, 69, text(rrq))), 2).verdict,
            Verdict::kAccept);
  auto recs = w->take(std::chrono::milliseconds(0));
  dp.pipeline().live().disarm(w);
  ASSERT_EQ(recs.size(), 1u);
  ASSERT_GE(recs[0].alg.size(), 2u);
  EXPECT_EQ(recs[0].alg[0].text, "RRQ a\nb");
  EXPECT_EQ(recs[0].alg[1].kind, LiveAlgEvent::Kind::kOpened);
  const std::string t = render(recs[0]);
  EXPECT_NE(t.find(" ALG tftp parsed: RRQ a\\x0ab\n"), std::string::npos) << t;
  EXPECT_NE(t.find(" ALG tftp opened: Type: ASPF,  203.0.113.2 -> 203.0.113.1:40000[198.18.1.2:"
                   "40000],  protocol:udp(Appro: tftp-data)\n"),
            std::string::npos)
      << t;
}

TEST_F(LiveTrace, AFirstPacketShowsItsStagesAndADropItsReason) {
  auto w = dp.pipeline().live().arm(LiveFilter{}, 2);
  run(ipv4(6, "198.18.1.2", "203.0.113.2", tcp(40000, 22, 1, 0, packet::kTcpSyn)), 2);
  EXPECT_EQ(
      run(ipv4(6, "203.0.113.2", "198.18.1.2", tcp(40000, 22, 1, 0, packet::kTcpSyn)), 3).verdict,
      Verdict::kDrop);
  auto recs = w->take(std::chrono::milliseconds(0));
  dp.pipeline().live().disarm(w);
  ASSERT_EQ(recs.size(), 2u);
  const std::string first = render(recs[0]);
  EXPECT_NE(first.find("Security policy   : rule t2u"), std::string::npos) << first;
  ASSERT_TRUE(recs[0].session) << "the session it created";
  EXPECT_NE(first.find(" Session " + session_id_text(recs[0].session->id) + " (original"),
            std::string::npos)
      << first;
  const std::string second = render(recs[1], 2);
  EXPECT_NE(second.find(" Live trace packet 2 "), std::string::npos) << second;
  EXPECT_NE(second.find(" Action: drop\n Drop reason: policy-deny\n"), std::string::npos) << second;
  EXPECT_FALSE(recs[1].session);
}

TEST_F(LiveTrace, OneAtATimeAndDisarmedAfterwards) {
  auto w = dp.pipeline().live().arm(LiveFilter{}, 1);
  ASSERT_TRUE(w);
  EXPECT_FALSE(dp.pipeline().live().arm(LiveFilter{}, 1)) << "kMax is 1";
  dp.pipeline().live().disarm(w);
  run(ipv4(6, "198.18.1.2", "203.0.113.2", tcp(40000, 22, 1, 0, packet::kTcpSyn)), 2);
  EXPECT_TRUE(w->take(std::chrono::milliseconds(0)).empty()) << "disarmed: nothing traced";
  auto again = dp.pipeline().live().arm(LiveFilter{}, 1);
  EXPECT_TRUE(again);
  dp.pipeline().live().disarm(again);
}

TEST_F(LiveTrace, TheCommandStreamsTheTraceAndASecondOneIsRefusedMeanwhile) {
  std::string streamed;
  ExecResult r{};
  std::thread t([&] {
    r = ctl->execute(cli::user_view(),
                     "packet-trace live max-packets 1 max-time 5 protocol tcp destination "
                     "203.0.113.2 22",
                     true, [&](const std::string& piece) {
                       streamed += piece;
                       return true;
                     });
  });
  // Wait until it is armed (arming one here fails then); a second command is refused meanwhile.
  for (int i = 0; i < 500; ++i) {
    auto probe = dp.pipeline().live().arm(LiveFilter{}, 0);
    if (!probe) break;
    dp.pipeline().live().disarm(probe);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ExecResult second = ctl->execute(cli::user_view(), "packet-trace live max-time 1");
  EXPECT_FALSE(second.ok);
  EXPECT_NE(second.output.find("A live packet trace is running already"), std::string::npos)
      << second.output;
  run(ipv4(6, "198.18.1.2", "203.0.113.2", tcp(40000, 22, 1, 0, packet::kTcpSyn)), 2);
  t.join();
  EXPECT_TRUE(r.ok) << r.output;
  EXPECT_NE(streamed.find(" Tracing the next 1 matching packets for at most 5 s"),
            std::string::npos)
      << streamed;
  EXPECT_NE(streamed.find(" Live trace packet 1 "), std::string::npos)
      << "streamed as it came: " << streamed;
  EXPECT_NE(r.output.find(" Live trace ended: 1 packet.\n"), std::string::npos) << r.output;
  EXPECT_TRUE(ctl->execute(cli::user_view(), "packet-trace live max-time 1 zone nosuch")
                  .output.find("The zone nosuch does not exist") != std::string::npos);
}

}  // namespace
}  // namespace fw::fwd
