// ASPF through the whole packet path (pipeline + engine + inspectors) with a
// fake FIB: FTP PORT rewrite under easy-ip, seq/ack adjustment, retransmission,
// one-shot data-channel entries, refusals; PPTP call-id translation for two
// clients behind one address and GRE key translation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

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

const std::string kConfig = std::string(testing::kLabZones) +
                            "firewall detect ftp\nfirewall detect pptp\n" +
                            testing::kTrustToUntrustEasyIp;

class AspfPipeline : public testing::PipelineFixture {
 protected:
  AspfPipeline() : PipelineFixture(kConfig) {}

  session::SessionTable& table = dp.sessions();
  session::ServerMap& servermap = dp.servermap();
};

TEST_F(AspfPipeline, ActivePortIsRewrittenSeqAdjustedAndOpensAOneShotEntry) {
  handshake("198.18.1.2", 40000, 21);
  const std::string cmd = "PORT 198,18,1,2,156,80\r\n";  // port 40016
  auto o = run(ipv4(6, "198.18.1.2", "203.0.113.2",
                    tcp(40000, 21, 1001, 5001, packet::kTcpAck | packet::kTcpPsh, {}, text(cmd))),
               2);
  ASSERT_EQ(o.d.verdict, Verdict::kAccept);
  ASSERT_TRUE(o.d.modified);
  EXPECT_EQ(payload(o), "PORT 203,0,113,1,156,80\r\n");
  EXPECT_TRUE(packet::verify_checksums(o.pkt));
  EXPECT_EQ(o.p.src, addr("203.0.113.1"));
  EXPECT_EQ(o.p.seq, 1001u);
  EXPECT_EQ(aspf_entries(), 1u);

  // The server acks the longer (wire) stream; the client must see its own numbering.
  uint32_t wire_end = 1001 + static_cast<uint32_t>(cmd.size()) + 1;
  auto ack = run(ipv4(6, "203.0.113.2", "203.0.113.1",
                      tcp(21, xport, 5001, wire_end, packet::kTcpAck, {}, text("200 PORT ok\r\n"))),
                 3);
  ASSERT_EQ(ack.d.verdict, Verdict::kAccept);
  EXPECT_EQ(ack.p.ack, 1001u + cmd.size());
  EXPECT_TRUE(packet::verify_checksums(ack.pkt));

  // The next client segment moves by the delta on the wire.
  auto next = run(ipv4(6, "198.18.1.2", "203.0.113.2",
                       tcp(40000, 21, 1001 + static_cast<uint32_t>(cmd.size()), 5014,
                           packet::kTcpAck, {}, text("RETR x\r\n"))),
                  2);
  EXPECT_EQ(next.p.seq, wire_end);

  // A retransmission of the PORT segment is rewritten byte for byte the same, and opens nothing
  // new.
  auto again =
      run(ipv4(6, "198.18.1.2", "203.0.113.2",
               tcp(40000, 21, 1001, 5001, packet::kTcpAck | packet::kTcpPsh, {}, text(cmd))),
          2);
  EXPECT_EQ(payload(again), "PORT 203,0,113,1,156,80\r\n");
  EXPECT_EQ(again.p.seq, 1001u);
  EXPECT_EQ(aspf_entries(), 1u);

  // The server's data connection matches the entry without any untrust->trust rule.
  auto data =
      run(ipv4(6, "203.0.113.2", "203.0.113.1", tcp(20, 40016, 9000, 0, packet::kTcpSyn)), 3);
  ASSERT_EQ(data.d.verdict, Verdict::kAccept);
  EXPECT_EQ(data.p.dst, addr("198.18.1.2"));
  EXPECT_EQ(data.p.dport, 40016);
  EXPECT_EQ(aspf_entries(), 0u) << "one-shot";
  bool child = false, plus = false;
  for (const auto& s : table.snapshot()) {
    if (s.parent_id) child = true;
    if (s.has_servermap) plus = true;
  }
  EXPECT_TRUE(child);
  EXPECT_TRUE(plus) << "the control session shows +->";
  // A second connection to the same port is not admitted.
  auto data2 =
      run(ipv4(6, "203.0.113.2", "203.0.113.1", tcp(21000, 40016, 9000, 0, packet::kTcpSyn)), 3);
  EXPECT_EQ(data2.d.verdict, Verdict::kDrop);
}

TEST_F(AspfPipeline, BounceLowPortAndSplitArgumentsOpenNothing) {
  handshake("198.18.1.2", 40001, 21);
  uint64_t bounce = dp.counters().value("aspf.ftp.refused.bounce");
  uint64_t low = dp.counters().value("aspf.ftp.refused.low-port");
  uint32_t seq = 1001;
  auto send = [&](const std::string& t) {
    auto o = run(ipv4(6, "198.18.1.2", "203.0.113.2",
                      tcp(40001, 21, seq, 5001, packet::kTcpAck, {}, text(t))),
                 2);
    seq += static_cast<uint32_t>(t.size());
    return o;
  };
  send("PORT 198,18,1,99,156,64\r\n");
  EXPECT_EQ(dp.counters().value("aspf.ftp.refused.bounce"), bounce + 1);
  send("PORT 198,18,1,2,0,80\r\n");
  EXPECT_EQ(dp.counters().value("aspf.ftp.refused.low-port"), low + 1);
  EXPECT_EQ(aspf_entries(), 0u);
  // Keyword split from the argument: recognised and rewritten in the second segment.
  send("PO");
  auto o = send("RT 198,18,1,2,156,65\r\n");
  EXPECT_EQ(payload(o).rfind("RT 203,0,113,1,", 0), 0u) << payload(o);
  EXPECT_EQ(aspf_entries(), 1u);
  // Two commands in one segment: both handled.
  auto two = send("PORT 198,18,1,2,156,66\r\nPORT 198,18,1,2,156,67\r\n");
  EXPECT_EQ(payload(two).rfind("PORT 203,0,113,1,", 0), 0u) << payload(two);
  EXPECT_NE(payload(two).find("\r\nPORT 203,0,113,1,"), std::string::npos) << payload(two);
  EXPECT_EQ(aspf_entries(), 3u);
}

TEST_F(AspfPipeline, PortTextInAnHttpBodyOpensNothing) {
  handshake("198.18.1.2", 40002, 80);
  run(ipv4(6, "198.18.1.2", "203.0.113.2",
           tcp(40002, 80, 1001, 5001, packet::kTcpAck, {},
               text("POST / HTTP/1.1\r\nContent-Length: 24\r\n\r\nPORT 198,18,1,2,39,16\r\n"))),
      2);
  EXPECT_EQ(aspf_entries(), 0u);
}

TEST_F(AspfPipeline, TextAfterAGapOpensNothingUntilTheNextLineBoundary) {
  handshake("198.18.1.2", 40003, 21);
  // Segment at 1001 lost; this one starts mid-stream: its first line is not trusted.
  run(ipv4(6, "198.18.1.2", "203.0.113.2",
           tcp(40003, 21, 1101, 5001, packet::kTcpAck, {}, text("PORT 198,18,1,2,156,70\r\n"))),
      2);
  EXPECT_EQ(aspf_entries(), 0u);
}

Bytes pptp_msg(uint16_t type, uint16_t len,
               std::initializer_list<std::pair<size_t, uint16_t>> fields) {
  Bytes b(len, 0);
  set16(b, 0, len);
  set16(b, 2, 1);
  b[4] = 0x1a;
  b[5] = 0x2b;
  b[6] = 0x3c;
  b[7] = 0x4d;
  set16(b, 8, type);
  for (auto [at, v] : fields) set16(b, at, v);
  return b;
}

TEST_F(AspfPipeline, PptpTwoClientsWithTheSameCallIdGetDistinctIdsAndTheirOwnGre) {
  uint16_t xports[2];
  uint16_t xlated[2];
  const char* clients[2] = {"198.18.1.2", "198.18.1.3"};
  for (int i = 0; i < 2; ++i) {
    handshake(clients[i], static_cast<uint16_t>(41000 + i), 1723);
    xports[i] = xport;
    // OCRQ with call id 0 from both clients.
    auto o = run(ipv4(6, clients[i], "203.0.113.2",
                      tcp(static_cast<uint16_t>(41000 + i), 1723, 1001, 5001, packet::kTcpAck, {},
                          pptp_msg(7, 168, {{12, 0}, {14, 1}}))),
                 2);
    ASSERT_EQ(o.d.verdict, Verdict::kAccept);
    xlated[i] = get16(o.pkt, o.p.payload_offset + 12);
    EXPECT_NE(xlated[i], 0) << "translated ids are never 0";
    EXPECT_TRUE(packet::verify_checksums(o.pkt));
    // OCRP from the server: its own call id 100+i, peer = the translated id.
    auto r = run(
        ipv4(6, "203.0.113.2", "203.0.113.1",
             tcp(1723, xports[i], 5001, 1169, packet::kTcpAck, {},
                 pptp_msg(8, 32,
                          {{12, static_cast<uint16_t>(100 + i)}, {14, xlated[i]}, {16, 0x0100}}))),
        3);
    ASSERT_EQ(r.d.verdict, Verdict::kAccept);
    EXPECT_EQ(get16(r.pkt, r.p.payload_offset + 14), 0) << "the client sees its own call id back";
  }
  EXPECT_NE(xlated[0], xlated[1]);
  size_t gre_entries = 0;
  for (const auto& e : servermap.snapshot()) gre_entries += e.proto == 47;
  EXPECT_EQ(gre_entries, 4u) << "two entries per call";
  // GRE from the server to each translated id reaches the right client with key 0.
  for (int i = 0; i < 2; ++i) {
    auto g = run(
        ipv4(47, "203.0.113.2", "203.0.113.1", gre_v1(xlated[i], text("ppp-frame"), true, false)),
        3);
    ASSERT_EQ(g.d.verdict, Verdict::kAccept) << i;
    EXPECT_EQ(g.p.dst, addr(clients[i]));
    EXPECT_EQ(g.p.dport, 0) << "key translated back to the client's call id";
    // And the client's GRE (key = the server's call id) leaves with the public address.
    auto c = run(ipv4(47, clients[i], "203.0.113.2",
                      gre_v1(static_cast<uint16_t>(100 + i), text("ppp-frame"), true, false)),
                 2);
    ASSERT_EQ(c.d.verdict, Verdict::kAccept);
    EXPECT_EQ(c.p.src, addr("203.0.113.1"));
    EXPECT_EQ(c.p.dport, 100 + i);
  }
  // GRE with a key that matches no call is dropped (no session, no policy for untrust->trust).
  auto stray = run(ipv4(47, "203.0.113.2", "203.0.113.1", gre_v1(4242, text("x"), true, false)), 3);
  EXPECT_EQ(stray.d.verdict, Verdict::kDrop);
}

}  // namespace
}  // namespace fw::fwd

namespace fw::fwd {
namespace {

TEST_F(AspfPipeline, PortMappingBindsFtpToAnotherPortAndUndoDetectTurnsItOff) {
  auto sys = cli::ViewStack{{cli::ViewKind::kUser, {}}, {cli::ViewKind::kSystem, {}}};
  // Without a mapping, port 2121 is plain TCP: nothing is parsed.
  handshake("198.18.1.2", 42000, 2121);
  run(ipv4(6, "198.18.1.2", "203.0.113.2",
           tcp(42000, 2121, 1001, 5001, packet::kTcpAck, {}, text("PORT 198,18,1,2,160,0\r\n"))),
      2);
  EXPECT_EQ(aspf_entries(), 0u);
  ASSERT_TRUE(ctl->execute(sys, "port-mapping ftp port 2121").ok);
  handshake("198.18.1.2", 42001, 2121);
  auto o = run(
      ipv4(6, "198.18.1.2", "203.0.113.2",
           tcp(42001, 2121, 1001, 5001, packet::kTcpAck, {}, text("PORT 198,18,1,2,160,1\r\n"))),
      2);
  EXPECT_EQ(payload(o).rfind("PORT 203,0,113,1,", 0), 0u) << payload(o);
  EXPECT_EQ(aspf_entries(), 1u);
  // Unknown ALG names are refused by the grammar (its values are the registry's ALGs).
  auto bad = ctl->execute(sys, "firewall detect gopher");
  EXPECT_FALSE(bad.ok);
  EXPECT_NE(bad.output.find("Error: Wrong parameter found at '^' position."), std::string::npos)
      << bad.output;
  // ASPF off: new control sessions are not inspected.
  ASSERT_TRUE(ctl->execute(sys, "undo firewall detect ftp").ok);
  handshake("198.18.1.2", 42002, 21);
  auto off =
      run(ipv4(6, "198.18.1.2", "203.0.113.2",
               tcp(42002, 21, 1001, 5001, packet::kTcpAck, {}, text("PORT 198,18,1,2,160,2\r\n"))),
          2);
  EXPECT_EQ(payload(off), "PORT 198,18,1,2,160,2\r\n");
  EXPECT_EQ(aspf_entries(), 1u);
}

}  // namespace
}  // namespace fw::fwd

namespace fw::fwd {
namespace {

// TFTP through easy-ip: the request opens a one-shot entry; the server's answer
// from a new port is admitted, translated back to the client and becomes a
// tftp-data child; the transfer then flows both ways through that session.
TEST_F(AspfPipeline, TftpAnswerFromANewServerPortIsAdmittedOnceAndTranslated) {
  auto sys = cli::ViewStack{{cli::ViewKind::kUser, {}}, {cli::ViewKind::kSystem, {}}};
  const Bytes rrq = text(std::string("\0\1file.bin\0octet\0", 17));
  const Bytes data1 = text(std::string("\0\3\0\1hello", 9));
  // Without detect, the answer is a new flow from outside: denied by policy.
  auto req0 = run(ipv4(17, "198.18.1.2", "203.0.113.2", udp(41000, 69, rrq)), 2);
  ASSERT_EQ(req0.d.verdict, Verdict::kAccept);
  EXPECT_EQ(aspf_entries(), 0u);
  auto ans0 = run(ipv4(17, "203.0.113.2", "203.0.113.1", udp(50000, req0.p.sport, data1)), 3);
  EXPECT_EQ(ans0.d.verdict, Verdict::kDrop);

  ASSERT_TRUE(ctl->execute(sys, "firewall detect tftp").ok);
  auto req = run(ipv4(17, "198.18.1.2", "203.0.113.2", udp(41001, 69, rrq)), 2);
  ASSERT_EQ(req.d.verdict, Verdict::kAccept);
  ASSERT_EQ(req.p.src.str(), "203.0.113.1");
  const uint16_t xport = req.p.sport;
  ASSERT_EQ(aspf_entries(), 1u);
  const auto entry = servermap.snapshot().back();
  EXPECT_EQ(entry.port, xport);
  EXPECT_EQ(entry.peer.str(), "203.0.113.2");

  // Another host may not use it.
  auto stranger = run(ipv4(17, "203.0.113.9", "203.0.113.1", udp(50001, xport, data1)), 3);
  EXPECT_EQ(stranger.d.verdict, Verdict::kDrop);
  auto ans = run(ipv4(17, "203.0.113.2", "203.0.113.1", udp(50000, xport, data1)), 3);
  ASSERT_EQ(ans.d.verdict, Verdict::kAccept);
  EXPECT_EQ(ans.p.dst.str(), "198.18.1.2");
  EXPECT_EQ(ans.p.dport, 41001);
  EXPECT_TRUE(packet::verify_checksums(ans.pkt));
  EXPECT_EQ(aspf_entries(), 0u) << "one-shot";
  auto ack = run(
      ipv4(17, "198.18.1.2", "203.0.113.2", udp(41001, 50000, text(std::string("\0\4\0\1", 4)))),
      2);
  ASSERT_EQ(ack.d.verdict, Verdict::kAccept);
  EXPECT_EQ(ack.p.src.str(), "203.0.113.1");
  EXPECT_EQ(ack.p.sport, xport);

  bool child = false, control = false;
  for (const auto& s : table.snapshot()) {
    if (dp.apps().name(s.app) == "tftp-data") {
      child = true;
      EXPECT_NE(s.parent_id, 0u);
      EXPECT_EQ(s.packets[0], 1u);
      EXPECT_EQ(s.packets[1], 1u);
    }
    if (s.orig.dport == 69 && s.orig.sport == 41001) control = s.has_servermap;
  }
  EXPECT_TRUE(child);
  EXPECT_TRUE(control) << "the request session shows +->";
  // A second answer to the same port from yet another server port is a new flow: denied.
  auto late = run(ipv4(17, "203.0.113.2", "203.0.113.1", udp(50002, xport, data1)), 3);
  EXPECT_EQ(late.d.verdict, Verdict::kDrop);
  // A malformed request is counted and opens nothing.
  const uint64_t bad0 = dp.counters().value("aspf.tftp.refused.mode-unterminated");
  run(ipv4(17, "198.18.1.2", "203.0.113.2", udp(41002, 69, text(std::string("\0\1f\0oct", 7)))), 2);
  EXPECT_EQ(dp.counters().value("aspf.tftp.refused.mode-unterminated"), bad0 + 1);
  EXPECT_EQ(aspf_entries(), 0u);
}

}  // namespace
}  // namespace fw::fwd

namespace fw::fwd {
namespace {

// "srclimit" area: `firewall source-ip-limit server-map N` caps the ASPF entries one source
// address holds over all its control sessions (so one host cannot take a PAT address's ports
// through PORT commands); refusals are counted; other hosts are not concerned.
TEST_F(AspfPipeline, ServerMapEntriesAreCappedPerSourceAddress) {
  std::string err;
  ASSERT_TRUE(ctl->load_text("firewall source-ip-limit server-map 5\n", "test", &err)) << err;
  uint16_t next_port = 40100;
  auto port_cmds = [&](const char* client, uint16_t sport, int n) {
    uint32_t seq = 1001;
    for (int i = 0; i < n; ++i) {
      const uint16_t p = next_port++;
      std::string a = client;
      std::replace(a.begin(), a.end(), '.', ',');
      std::string t =
          "PORT " + a + "," + std::to_string(p / 256) + "," + std::to_string(p % 256) + "\r\n";
      run(ipv4(6, client, "203.0.113.2", tcp(sport, 21, seq, 5001, packet::kTcpAck, {}, text(t))),
          2);
      seq += static_cast<uint32_t>(t.size());
    }
  };
  handshake("198.18.1.2", 40010, 21);
  port_cmds("198.18.1.2", 40010, 3);
  handshake("198.18.1.2", 40011, 21);
  const size_t ports_before = dp.nat_state().ports.used(addr("203.0.113.1"));
  port_cmds("198.18.1.2", 40011, 3);
  // Two entries reserved a port each; the refused one's port went back at once.
  EXPECT_EQ(dp.nat_state().ports.used(addr("203.0.113.1")), ports_before + 2);
  EXPECT_EQ(aspf_entries(), 5u);
  EXPECT_EQ(servermap.of_source(addr("198.18.1.2")), 5u);
  EXPECT_EQ(dp.counters().value("servermap.refused.source-cap"), 1u);
  // Another inside host still gets its entries.
  handshake("198.18.1.3", 40012, 21);
  port_cmds("198.18.1.3", 40012, 2);
  EXPECT_EQ(aspf_entries(), 7u);
  EXPECT_EQ(dp.counters().value("servermap.refused.source-cap"), 1u);
  // The first control session ends: its 3 entries go and the host may open entries again.
  uint64_t first = 0;
  for (const auto& s : table.snapshot())
    if (s.orig.sport == 40010) first = s.id;
  ASSERT_NE(first, 0u);
  table.erase(first);
  EXPECT_EQ(servermap.of_source(addr("198.18.1.2")), 2u);
  handshake("198.18.1.2", 40013, 21);
  port_cmds("198.18.1.2", 40013, 3);
  EXPECT_EQ(servermap.of_source(addr("198.18.1.2")), 5u);
  EXPECT_EQ(dp.counters().value("servermap.refused.source-cap"), 1u);
  // No cap: back to the per-session cap only.
  ASSERT_TRUE(ctl->load_text("undo firewall source-ip-limit server-map\n", "test", &err)) << err;
  handshake("198.18.1.2", 40014, 21);
  port_cmds("198.18.1.2", 40014, 1);
  EXPECT_EQ(servermap.of_source(addr("198.18.1.2")), 6u);
}

}  // namespace
}  // namespace fw::fwd
