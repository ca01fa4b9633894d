// "synproxy" area: the TCP SYN proxy in the packet path (`anti-ddos syn-flood tcp-proxy`). The
// whole handshake packet by packet: SYN -> the firewall's SYN-ACK (cookie, no session); ACK ->
// session + SYN to the server; the server's SYN-ACK -> ACK to the server; then data both ways
// with seq/ack/SACK/window translated; bad ACKs dropped and counted; through a NAT server.
#include <gtest/gtest.h>

#include <cstring>

#include "common/bytes.h"
#include "common/counters.h"
#include "fwd/controller.h"
#include "fwd/dataplane.h"
#include "fwd/pipeline.h"
#include "packet/checksum.h"
#include "packet/parse.h"
#include "session/syn_proxy.h"
#include "tests/unit/fwd/pipeline_fixture.h"
#include "tests/unit/packet/builders.h"

namespace fw::fwd {
namespace {

using namespace fw::packet::testing;

const std::string kConfig =
    std::string(testing::kLabZones) + " anti-ddos syn-flood tcp-proxy\n" + testing::kPermitAll;

// MSS 1460, SACK-permitted, timestamp, NOP, window scale 7: what Linux sends.
const Bytes kLinuxSynOpts{2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};

using testing::Out;

class SynProxyPipeline : public testing::PipelineFixture {
 protected:
  SynProxyPipeline() : PipelineFixture(kConfig) {}
  // What leaves, parsed and with its checksums right when accepted.
  Out send(Bytes pkt, uint32_t indev) {
    const auto room = static_cast<uint32_t>(2048 - pkt.size());
    Out o = run(std::move(pkt), indev, room);
    if (o.d.verdict == Verdict::kAccept) {
      EXPECT_TRUE(std::holds_alternative<packet::Parsed>(packet::parse(o.pkt)));
      EXPECT_TRUE(packet::verify_checksums(o.pkt)) << "checksums of what leaves";
    }
    return o;
  }
  Out client(uint32_t seq, uint32_t ack, uint8_t flags, Bytes opts = {}, Bytes data = {},
             uint16_t win = 502) {
    return send(ipv4(6, cli_, srv_, tcp(cport_, sport_, seq, ack, flags, opts, data, win)), 3);
  }
  Out server(uint32_t seq, uint32_t ack, uint8_t flags, Bytes opts = {}, Bytes data = {},
             uint16_t win = 509) {
    return send(ipv4(6, inside_, cli_, tcp(80, cport_, seq, ack, flags, opts, data, win)), 2);
  }
  session::SynOptions opts_of(const Out& o) { return session::syn_options(o.pkt, o.p); }
  // The three-way handshake through the proxy; returns the cookie.
  uint32_t handshake(uint8_t server_ws = 7) {
    Out sa = client(1000, 0, 0x02, kLinuxSynOpts);
    EXPECT_EQ(sa.d.verdict, Verdict::kAccept);
    const uint32_t k = sa.p.seq;
    Out syn = client(1001, k + 1, 0x10);
    EXPECT_TRUE(syn.d.modified);
    const Bytes ws{1, 3, 3, server_ws};
    Bytes sopts{2, 4, 0x05, 0xb4, 1, 1, 4, 2};
    if (server_ws != session::kNoWscale) sopts.insert(sopts.end(), ws.begin(), ws.end());
    Out ack = server(kS, 1001, 0x12, sopts);
    EXPECT_TRUE(ack.d.modified);
    return k;
  }
  const char* cli_ = "203.0.113.7";
  const char* srv_ = "198.18.1.5";
  const char* inside_ = "198.18.1.5";
  uint16_t cport_ = 40000, sport_ = 80;
  static constexpr uint32_t kS = 0xfffff000;  // the server's ISN (the seq space wraps)
};

TEST_F(SynProxyPipeline, HandshakeThenDataBothWaysTranslated) {
  clock.advance_ms(1'000'000);
  // SYN -> the firewall's own SYN-ACK back to the client, nothing kept.
  Out sa = client(1000, 0, 0x02, kLinuxSynOpts);
  ASSERT_EQ(sa.d.verdict, Verdict::kAccept);
  ASSERT_TRUE(sa.d.modified);
  EXPECT_EQ(sa.p.src.str(), "198.18.1.5");
  EXPECT_EQ(sa.p.dst.str(), "203.0.113.7");
  EXPECT_EQ(sa.p.sport, 80);
  EXPECT_EQ(sa.p.dport, 40000);
  EXPECT_EQ(sa.p.tcp_flags, 0x12);
  EXPECT_EQ(sa.p.ack, 1001u);
  EXPECT_EQ(opts_of(sa), (session::SynOptions{1460, session::kProxyWscale, true}));
  EXPECT_EQ(dp.sessions().size(), 0u) << "a SYN creates no session";
  const uint32_t k = sa.p.seq;

  // The client's ACK -> the session, and the SYN to the server with the client's options.
  Out syn = client(1001, k + 1, 0x10);
  ASSERT_TRUE(syn.d.modified);
  EXPECT_EQ(syn.p.src.str(), "203.0.113.7");
  EXPECT_EQ(syn.p.dst.str(), "198.18.1.5");
  EXPECT_EQ(syn.p.tcp_flags, 0x02);
  EXPECT_EQ(syn.p.seq, 1000u) << "the client's ISN";
  EXPECT_EQ(opts_of(syn), (session::SynOptions{1460, 7, true}));
  EXPECT_EQ(dp.sessions().size(), 1u);

  // The client's data before the server answered waits (the client will retransmit it).
  EXPECT_EQ(client(1001, k + 1, 0x18, {}, text("GET / HTTP/1.0\r\n\r\n")).d.verdict,
            Verdict::kDrop);
  EXPECT_EQ(ctr("packet.drop.syn-proxy-opening"), 1u);

  // The server's SYN-ACK -> the ACK that completes its handshake, back to the server.
  Out ack = server(kS, 1001, 0x12, {2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7});
  ASSERT_TRUE(ack.d.modified);
  EXPECT_EQ(ack.p.src.str(), "203.0.113.7");
  EXPECT_EQ(ack.p.dst.str(), "198.18.1.5");
  EXPECT_EQ(ack.p.tcp_flags, 0x10);
  EXPECT_EQ(ack.p.seq, 1001u);
  EXPECT_EQ(ack.p.ack, kS + 1);
  // Repeated (our ACK was lost): answered again.
  EXPECT_EQ(server(kS, 1001, 0x12).p.ack, kS + 1);

  // Client -> server: ack and SACK edges in the server's numbering; seq untouched.
  const Bytes sack{1, 1, 5, 10, 0, 0, 0, 0, 0, 0, 0, 0};
  Bytes s1 = sack;
  common::wr32(&s1[4], k + 3001), common::wr32(&s1[8], k + 4001);
  Out up = client(1001, k + 1001, 0x18, s1, text("GET / HTTP/1.0\r\n\r\n"));
  ASSERT_TRUE(up.d.modified);
  EXPECT_EQ(up.p.seq, 1001u);
  EXPECT_EQ(up.p.ack, kS + 1001);
  EXPECT_EQ(common::rd32(&up.pkt[up.p.l4_offset + 24]), kS + 3001);
  EXPECT_EQ(common::rd32(&up.pkt[up.p.l4_offset + 28]), kS + 4001);
  EXPECT_EQ(up.p.window, 502) << "both ends scale by 7: windows unchanged";
  EXPECT_EQ(up.p.payload_len, 18);

  // Server -> client: seq in the client's numbering (the cookie's), ack untouched.
  Out down = server(kS + 1, 1019, 0x18, {}, text("HTTP/1.0 200 OK\r\n"));
  ASSERT_TRUE(down.d.modified);
  EXPECT_EQ(down.p.seq, k + 1);
  EXPECT_EQ(down.p.ack, 1019u);
  EXPECT_EQ(down.p.window, 509);
  EXPECT_EQ(std::string(down.pkt.end() - 17, down.pkt.end()), "HTTP/1.0 200 OK\r\n");
  const auto s = dp.synproxy().stats().server_opened.load();
  EXPECT_EQ(s, 1u);
  EXPECT_EQ(dp.synproxy().stats().syn_answered.load(), 1u);
  EXPECT_EQ(dp.synproxy().stats().ack_valid.load(), 1u);
}

TEST_F(SynProxyPipeline, BadAcksAreDroppedAndCounted) {
  clock.advance_ms(500'000);
  const uint32_t k = client(1000, 0, 0x02, kLinuxSynOpts).p.seq;
  EXPECT_EQ(client(1001, k + 2, 0x10).d.verdict, Verdict::kDrop) << "not the cookie";
  EXPECT_EQ(client(1002, k + 1, 0x10).d.verdict, Verdict::kDrop) << "not the client's ISN";
  cport_ = 40001;
  EXPECT_EQ(client(1001, k + 1, 0x10).d.verdict, Verdict::kDrop) << "another tuple";
  cport_ = 40000;
  clock.advance_ms(2 * session::SynCookies::kWindowMs);
  EXPECT_EQ(client(1001, k + 1, 0x10).d.verdict, Verdict::kDrop) << "too old";
  EXPECT_EQ(ctr("packet.drop.syn-proxy-bad-ack"), 4u);
  EXPECT_EQ(dp.synproxy().stats().ack_invalid.load(), 4u);
  EXPECT_EQ(dp.sessions().size(), 0u);
}

TEST_F(SynProxyPipeline, SpoofedSynsCreateNothing) {
  for (int i = 0; i < 1000; ++i) {
    const std::string src = "203.0.113." + std::to_string(1 + i % 250);
    Out o = send(ipv4(6, src.c_str(), srv_, tcp(static_cast<uint16_t>(1024 + i), 80, i, 0, 2)), 3);
    ASSERT_EQ(o.p.tcp_flags, 0x12);
  }
  EXPECT_EQ(dp.sessions().size(), 0u);
  EXPECT_EQ(dp.synproxy().stats().syn_answered.load(), 1000u);
}

TEST_F(SynProxyPipeline, ServerWindowScaleDiffersThenWindowsAreRescaled) {
  const uint32_t k = handshake(2);  // the server scales by 2, the client was told 7
  Out down = server(kS + 1, 1001, 0x10, {}, {}, 1000);
  EXPECT_EQ(down.p.window, (1000 * 4 + 127) / 128);
  EXPECT_EQ(down.p.seq, k + 1);
  Out up = client(1001, k + 1, 0x10, {}, {}, 300);
  EXPECT_EQ(up.p.window, 300) << "the server reads the client's windows as the client meant";
}

TEST_F(SynProxyPipeline, ServerWithoutWindowScaling) {
  const uint32_t k = handshake(session::kNoWscale);
  EXPECT_EQ(server(kS + 1, 1001, 0x10, {}, {}, 64000).p.window, 500);
  EXPECT_EQ(client(1001, k + 1, 0x10, {}, {}, 300).p.window, 38400) << "300 << 7 unscaled";
  EXPECT_EQ(client(1001, k + 1, 0x10, {}, {}, 600).p.window, 65535) << "clamped";
}

TEST_F(SynProxyPipeline, ServerRefusesThenTheClientGetsARst) {
  const uint32_t k = client(1000, 0, 0x02, kLinuxSynOpts).p.seq;
  client(1001, k + 1, 0x10);
  Out rst = server(0, 1001, 0x14);
  ASSERT_EQ(rst.d.verdict, Verdict::kAccept);
  EXPECT_EQ(rst.p.seq, k + 1) << "in the client's window";
  EXPECT_EQ(rst.p.tcp_flags, 0x14);
}

TEST_F(SynProxyPipeline, AlertRateProxiesOnlyAboveIt) {
  config("firewall zone untrust\n anti-ddos syn-flood tcp-proxy alert-rate 10\n");
  int answered = 0;
  for (uint16_t i = 0; i < 30; ++i) {
    Out o = send(ipv4(6, cli_, srv_, tcp(static_cast<uint16_t>(2000 + i), 80, 7, 0, 2)), 3);
    answered += o.p.tcp_flags == 0x12;
  }
  EXPECT_EQ(answered, 20) << "the first 10 pass to the server";
  EXPECT_EQ(dp.sessions().size(), 10u);
  // Another destination is below its rate.
  EXPECT_EQ(send(ipv4(6, cli_, "198.18.1.6", tcp(3000, 80, 7, 0, 2)), 3).p.tcp_flags, 0x02);
  // Still proxied for kHoldMs after the last SYN above the rate.
  clock.advance_ms(session::SynProxy::kHoldMs - 1000);
  EXPECT_EQ(send(ipv4(6, cli_, srv_, tcp(3001, 80, 7, 0, 2)), 3).p.tcp_flags, 0x12);
  clock.advance_ms(session::SynProxy::kHoldMs);
  EXPECT_EQ(send(ipv4(6, cli_, srv_, tcp(3002, 80, 7, 0, 2)), 3).p.tcp_flags, 0x02);
}

TEST_F(SynProxyPipeline, DeniedDestinationsAreNotAnswered) {
  config("security-policy\n rule name any\n  action deny\n");
  EXPECT_EQ(client(1000, 0, 0x02, kLinuxSynOpts).d.verdict, Verdict::kDrop);
  EXPECT_EQ(dp.synproxy().stats().syn_answered.load(), 0u);
}

TEST_F(SynProxyPipeline, ThroughANatServer) {
  config("nat server web protocol tcp global 203.0.113.100 8080 inside 198.18.1.5 80\n");
  srv_ = "203.0.113.100";
  sport_ = 8080;
  Out sa = client(1000, 0, 0x02, kLinuxSynOpts);
  ASSERT_EQ(sa.p.tcp_flags, 0x12);
  EXPECT_EQ(sa.p.src.str(), "203.0.113.100") << "answered from the global address";
  EXPECT_EQ(sa.p.sport, 8080);
  Out syn = client(1001, sa.p.seq + 1, 0x10);
  EXPECT_EQ(syn.p.dst.str(), "198.18.1.5") << "the SYN goes to the inside server";
  EXPECT_EQ(syn.p.dport, 80);
  Out ack = server(kS, 1001, 0x12, {1, 3, 3, 7});
  EXPECT_EQ(ack.p.dst.str(), "198.18.1.5");
  EXPECT_EQ(ack.p.ack, kS + 1);
  Out down = server(kS + 1, 1001, 0x18, {}, text("hello"));
  EXPECT_EQ(down.p.src.str(), "203.0.113.100");
  EXPECT_EQ(down.p.sport, 8080);
  EXPECT_EQ(down.p.seq, sa.p.seq + 1);
}

TEST_F(SynProxyPipeline, SynAcksMatchingNoSessionAreRateLimited) {
  config(
      "undo anti-ddos syn-flood tcp-proxy\nfirewall zone untrust\n undo anti-ddos syn-flood "
      "tcp-proxy\nfirewall reverse-session miss-ack rate-limit 20\n");
  for (uint16_t i = 0; i < 100; ++i)
    EXPECT_EQ(send(ipv4(6, cli_, srv_, tcp(static_cast<uint16_t>(5000 + i), 80, 9, 9, 0x12)), 3)
                  .d.verdict,
              Verdict::kDrop);
  EXPECT_EQ(ctr("packet.drop.tcp-not-syn"), 20u) << "within the rate: judged as before";
  EXPECT_EQ(ctr("packet.drop.miss-ack-rate-limit"), 80u);
  EXPECT_EQ(dp.synproxy().stats().miss_ack_limited.load(), 80u);
  clock.advance_ms(1000);
  send(ipv4(6, cli_, srv_, tcp(6000, 80, 9, 9, 0x12)), 3);
  EXPECT_EQ(ctr("packet.drop.tcp-not-syn"), 21u) << "a second later: 20 more";
  // A SYN-ACK of a session is no miss, even while misses are over the rate.
  ASSERT_EQ(send(ipv4(6, "198.18.1.5", "203.0.113.7", tcp(7000, 80, 1, 0, 0x02)), 2).d.verdict,
            Verdict::kAccept);
  for (uint16_t i = 0; i < 30; ++i) send(ipv4(6, cli_, srv_, tcp(6001 + i, 80, 9, 9, 0x12)), 3);
  EXPECT_EQ(send(ipv4(6, "203.0.113.7", "198.18.1.5", tcp(80, 7000, 50, 2, 0x12)), 3).d.verdict,
            Verdict::kAccept);
}

TEST_F(SynProxyPipeline, CommandsRenderAndDisplay) {
  config(
      "anti-ddos syn-flood tcp-proxy alert-rate 500 max-rate 9000\n"
      "firewall reverse-session miss-ack rate-limit 300\n");
  const std::string cfg = config::render(ctl->running());
  EXPECT_NE(cfg.find(" anti-ddos syn-flood tcp-proxy alert-rate 500\n"), std::string::npos) << cfg;
  EXPECT_NE(cfg.find(" anti-ddos syn-flood max-rate 9000\n"), std::string::npos) << cfg;
  EXPECT_NE(cfg.find(" anti-ddos syn-flood tcp-proxy alert-rate 0\n"), std::string::npos)
      << "the zone's";
  EXPECT_NE(cfg.find("#\n firewall reverse-session miss-ack rate-limit 300\n"), std::string::npos)
      << cfg;
  testing::Plane again(clock, *routes_);
  std::string err;
  ASSERT_TRUE(again.load(cfg, &err, "saved")) << err;
  EXPECT_EQ(config::render(again.ctl->running()), cfg);
  config(
      "undo anti-ddos syn-flood tcp-proxy\nfirewall zone untrust\n undo anti-ddos syn-flood "
      "tcp-proxy\n");
  const std::string off = config::render(ctl->running());
  EXPECT_EQ(off.find("tcp-proxy"), std::string::npos) << off;
  EXPECT_NE(off.find(" anti-ddos syn-flood max-rate 9000\n"), std::string::npos) << "undo keeps it";
}

}  // namespace
}  // namespace fw::fwd
