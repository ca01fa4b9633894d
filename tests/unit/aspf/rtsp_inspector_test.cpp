// The RTSP inspector against a fake context: what a SETUP and its reply open
// under no NAT, source NAT and a NAT server, the rewrites, what TEARDOWN and
// the end of the control session undo, and what is refused and counted.
#include "aspf/rtsp/rtsp_inspector.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace fw::aspf {
namespace {

using common::IpAddr;
using session::Dir;

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

class FakeContext : public Context {
 public:
  explicit FakeContext(session::Session s) : s_(s) {}
  const session::Session& control() const override { return s_; }
  uint64_t now_ms() const override { return 1'000'000; }
  bool open(session::ServerMapEntry e) override {
    if (refuse_open) {
      if (e.reserved) held.erase(e.port);  // the engine gives a refused entry's port back
      return false;
    }
    entries.push_back(e);
    return true;
  }
  void close_entries(const std::function<bool(const session::ServerMapEntry&)>& pred) override {
    std::erase_if(entries, [&](const session::ServerMapEntry& e) {
      if (!pred(e)) return false;
      if (e.reserved) held.erase(e.port);
      return true;
    });
  }
  void age_children(uint8_t proto, uint16_t a, uint16_t b) override {
    aged.push_back({proto, a, b});
  }
  std::optional<uint16_t> reserve_port(const IpAddr&, uint8_t, uint16_t) override {
    return std::nullopt;
  }
  std::optional<uint16_t> reserve_port_pair(const IpAddr& a, uint8_t proto) override {
    EXPECT_EQ(a, s_.nat.snat_addr);
    EXPECT_EQ(proto, 17);
    if (no_ports) return std::nullopt;
    const uint16_t p = next_pair;
    next_pair += 2;
    held.insert(p);
    held.insert(p + 1);
    return p;
  }
  void release_port(const IpAddr&, uint8_t, uint16_t port) override {
    EXPECT_EQ(held.erase(port), 1u) << "released twice or never held: " << port;
  }
  void count(size_t i) override { ++counts[i]; }
  void refuse(size_t i, std::string_view) override { ++counts[i]; }

  session::Session s_;
  bool refuse_open = false, no_ports = false;
  uint16_t next_pair = 30000;
  std::set<uint16_t> held;  // reserved public ports not yet given back
  std::vector<session::ServerMapEntry> entries;
  std::vector<std::array<uint16_t, 3>> aged;
  std::map<size_t, int> counts;
};

// Client 198.18.1.2:40000 -> server 203.0.113.2:554.
session::Session control() {
  session::Session s;
  s.id = 42;
  s.orig.src = ip("198.18.1.2");
  s.orig.dst = ip("203.0.113.2");
  s.orig.sport = 40000;
  s.orig.dport = 554;
  s.orig.proto = 6;
  s.reply = s.orig.reversed();
  return s;
}

session::Session easy_ip() {
  session::Session s = control();
  s.nat.snat = true;
  s.nat.snat_addr = ip("203.0.113.1");
  s.nat.snat_port = 2050;
  s.reply.dst = s.nat.snat_addr;
  s.reply.dport = 2050;
  return s;
}

// Outside client 203.0.113.2:40000 -> global 203.0.113.100:554 = dmz 198.18.2.2:554.
session::Session nat_server() {
  session::Session s = control();
  s.orig.src = ip("203.0.113.2");
  s.orig.dst = ip("203.0.113.100");
  s.nat.dnat = true;
  s.nat.dnat_addr = ip("198.18.2.2");
  s.nat.dnat_port = 554;
  s.reply.src = s.nat.dnat_addr;
  s.reply.dst = s.orig.src;
  return s;
}

Message msg(const std::string& t) {
  Message m;
  m.bytes.assign(t.begin(), t.end());
  return m;
}

std::string apply(std::string t, std::vector<Edit> edits) {
  std::sort(edits.begin(), edits.end(), [](auto& a, auto& b) { return a.offset > b.offset; });
  for (const auto& e : edits) t.replace(e.offset, e.old_len, e.replacement);
  return t;
}

std::string setup(int cseq, const std::string& transport, const std::string& session = "") {
  return "SETUP rtsp://203.0.113.2/test/stream=0 RTSP/1.0\r\nCSeq: " + std::to_string(cseq) +
         "\r\nTransport: " + transport + "\r\n" +
         (session.empty() ? "" : "Session: " + session + "\r\n") + "\r\n";
}

std::string ok(int cseq, const std::string& transport,
               const std::string& session = "s1;timeout=30") {
  return "RTSP/1.0 200 OK\r\nCSeq: " + std::to_string(cseq) + "\r\nTransport: " + transport +
         "\r\nSession: " + session + "\r\n\r\n";
}

size_t counter(const Inspector& ins, std::string_view name) {
  const auto& c = ins.spec().counters;
  for (size_t i = 0; i < c.size(); ++i) {
    if (c[i] == name) return i;
  }
  ADD_FAILURE() << "no counter " << name;
  return 0;
}

struct Fixture {
  std::unique_ptr<Inspector> ins = rtsp::make_inspector();
  std::unique_ptr<State> st = ins->new_state();
  FakeContext ctx;
  explicit Fixture(session::Session s) : ctx(s) {}
  std::string send(Dir d, const std::string& t) {
    return apply(t, ins->on_message(ctx, st.get(), d, msg(t)));
  }
  int count(std::string_view name) { return ctx.counts[counter(*ins, name)]; }
};

TEST(RtspInspector, Spec) {
  auto ins = rtsp::make_inspector();
  EXPECT_EQ(ins->spec().name, "rtsp");
  EXPECT_TRUE(ins->spec().carries(6));
  EXPECT_FALSE(ins->spec().carries(17));
  EXPECT_EQ(ins->spec().default_port, 554);
  ASSERT_EQ(ins->spec().channels.size(), 2u);
  EXPECT_EQ(ins->spec().channels[0].app, "rtsp-rtp");
  EXPECT_EQ(ins->spec().channels[1].app, "rtsp-rtcp");
  EXPECT_NE(ins->new_framer(), nullptr);
}

TEST(RtspInspector, NoNatOpensRtpAndRtcpFromTheServerOnTheReply) {
  Fixture f(control());
  const std::string req = setup(3, "RTP/AVP;unicast;client_port=40000-40001");
  EXPECT_EQ(f.send(Dir::kOriginal, req), req);
  EXPECT_TRUE(f.ctx.entries.empty()) << "nothing before the server accepts";
  const std::string rep = ok(3, "RTP/AVP;unicast;client_port=40000-40001;server_port=6000-6001");
  EXPECT_EQ(f.send(Dir::kReply, rep), rep);
  ASSERT_EQ(f.ctx.entries.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const auto& e = f.ctx.entries[i];
    EXPECT_EQ(e.proto, 17);
    EXPECT_EQ(e.channel, i);
    EXPECT_EQ(e.peer, ip("203.0.113.2"));
    EXPECT_EQ(e.addr, ip("198.18.1.2"));
    EXPECT_EQ(e.port, 40000 + i);
    EXPECT_TRUE(e.xaddr.empty());
    EXPECT_TRUE(e.sxaddr.empty());
    EXPECT_FALSE(e.reserved);
    EXPECT_TRUE(e.one_shot);
    EXPECT_EQ(e.expires_ms, 1'000'000u + 30'000u);  // the Session timeout
  }
  EXPECT_EQ(f.count("setups"), 1);
}

TEST(RtspInspector, SourceNatRewritesToAPublicPairAndMapsTheEchoBack) {
  Fixture f(easy_ip());
  EXPECT_EQ(f.send(Dir::kOriginal, setup(3, "RTP/AVP;unicast;client_port=40000-40001")),
            setup(3, "RTP/AVP;unicast;client_port=30000-30001"));
  EXPECT_EQ(f.ctx.held.size(), 2u);
  EXPECT_EQ(
      f.send(Dir::kReply, ok(3, "RTP/AVP;unicast;client_port=30000-30001;server_port=6000-6001")),
      ok(3, "RTP/AVP;unicast;client_port=40000-40001;server_port=6000-6001"));
  ASSERT_EQ(f.ctx.entries.size(), 4u);
  for (int i = 0; i < 2; ++i) {
    const auto& e = f.ctx.entries[i];  // the server's media to the client's public pair
    EXPECT_EQ(e.peer, ip("203.0.113.2"));
    EXPECT_EQ(e.addr, ip("203.0.113.1"));
    EXPECT_EQ(e.port, 30000 + i);
    EXPECT_EQ(e.xaddr, ip("198.18.1.2"));
    EXPECT_EQ(e.xport, 40000 + i);
    EXPECT_FALSE(e.reserved) << "the stream holds the pair, not the entry";
  }
  for (int i = 0; i < 2; ++i) {
    // The client's own media to the server's ports leave from the same public pair (a client
    // RTCP sent first must not take another port: the server's RTCP would collide with it).
    const auto& e = f.ctx.entries[2 + i];
    EXPECT_EQ(e.channel, i);
    EXPECT_EQ(e.peer, ip("198.18.1.2"));
    EXPECT_EQ(e.addr, ip("203.0.113.2"));
    EXPECT_EQ(e.port, 6000 + i);
    EXPECT_TRUE(e.port_exact);
    EXPECT_EQ(e.sxaddr, ip("203.0.113.1"));
    EXPECT_EQ(e.sxport, 30000 + i);
    EXPECT_TRUE(e.xaddr.empty());
    EXPECT_TRUE(e.one_shot);
  }
  EXPECT_EQ(f.ctx.held.size(), 2u) << "the pair is held while the stream lives";
  // TEARDOWN: the entries go, the pair is given back, the media sessions age.
  f.send(Dir::kOriginal,
         "TEARDOWN rtsp://203.0.113.2/test RTSP/1.0\r\nCSeq: 5\r\nSession: s1\r\n\r\n");
  EXPECT_TRUE(f.ctx.entries.empty());
  EXPECT_TRUE(f.ctx.held.empty());
  ASSERT_EQ(f.ctx.aged.size(), 1u);
  EXPECT_EQ(f.ctx.aged[0], (std::array<uint16_t, 3>{17, 30000, 30001}));
}

// Under source NAT the other unicast UDP alternatives of a SETUP (private ports we do not
// translate) are taken out, so the server cannot choose one; without NAT nothing changes.
TEST(RtspInspector, SourceNatRemovesUntranslatedAlternatives) {
  const std::string offer =
      "RTP/AVP;unicast;client_port=40000-40001,RTP/AVP;multicast,"
      "RTP/AVP/UDP;unicast;client_port=40002-40003,RTP/AVP/TCP;interleaved=0-1";
  {
    Fixture f(easy_ip());
    EXPECT_EQ(f.send(Dir::kOriginal, setup(3, offer)),
              setup(3,
                    "RTP/AVP;unicast;client_port=30000-30001,RTP/AVP;multicast,"
                    "RTP/AVP/TCP;interleaved=0-1"));
    EXPECT_EQ(f.count("alternatives-removed"), 1);
    EXPECT_EQ(f.ctx.held.size(), 2u);
  }
  {
    Fixture f(control());
    EXPECT_EQ(f.send(Dir::kOriginal, setup(3, offer)), setup(3, offer));
    EXPECT_EQ(f.count("alternatives-removed"), 0);
  }
}

TEST(RtspInspector, OnePortAndDiscontinuousPairs) {
  Fixture f(easy_ip());
  EXPECT_EQ(f.send(Dir::kOriginal, setup(1, "RTP/AVP;client_port=41000")),
            setup(1, "RTP/AVP;client_port=30000"));
  EXPECT_EQ(f.send(Dir::kReply, ok(1, "RTP/AVP;client_port=30000;server_port=6000")),
            ok(1, "RTP/AVP;client_port=41000;server_port=6000"));
  EXPECT_EQ(f.send(Dir::kOriginal, setup(2, "RTP/AVP;client_port=42000-42007", "s1")),
            setup(2, "RTP/AVP;client_port=30002-30003", "s1"));
  EXPECT_EQ(f.send(Dir::kReply, ok(2, "RTP/AVP;client_port=30002-30003;server_port=6002-6003")),
            ok(2, "RTP/AVP;client_port=42000-42007;server_port=6002-6003"));
  ASSERT_EQ(f.ctx.entries.size(), 8u);  // per stream: 2 from the server, 2 from the client
  EXPECT_EQ(f.ctx.entries[0].xport, 41000);
  EXPECT_EQ(f.ctx.entries[1].xport, 41001);  // RTCP of a single port: the next one
  EXPECT_EQ(f.ctx.entries[3].port, 6001);    // the server's RTCP of a single port: the next one
  EXPECT_EQ(f.ctx.entries[4].xport, 42000);
  EXPECT_EQ(f.ctx.entries[5].xport, 42007);
  EXPECT_EQ(f.ctx.entries[7].port, 6003);
  EXPECT_EQ(f.ctx.entries[7].sxport, 30003);
  // The end of the control session: pending and stream pairs go back, media age.
  f.send(Dir::kOriginal, setup(3, "RTP/AVP;client_port=43000-43001", "s1"));
  EXPECT_EQ(f.ctx.held.size(), 6u);
  f.ins->on_close(f.ctx, f.st.get());
  EXPECT_TRUE(f.ctx.held.empty()) << "every pair given back";
  EXPECT_EQ(f.ctx.aged.size(), 2u);
}

TEST(RtspInspector, NatServerMediaLeaveWithTheGlobalAddress) {
  Fixture f(nat_server());
  f.send(Dir::kOriginal, setup(3, "RTP/AVP;unicast;client_port=50000-50001"));
  f.send(Dir::kReply, ok(3,
                         "RTP/AVP;unicast;client_port=50000-50001;server_port=6000-6001;"
                         "source=198.18.2.2"));
  ASSERT_EQ(f.ctx.entries.size(), 2u);
  for (const auto& e : f.ctx.entries) {
    EXPECT_EQ(e.peer, ip("198.18.2.2"));
    EXPECT_EQ(e.addr, ip("203.0.113.2"));
    EXPECT_EQ(e.sxaddr, ip("203.0.113.100"));
  }
  EXPECT_EQ(f.count("refused.source"), 0);
}

TEST(RtspInspector, ErrorReplyGivesThePairBack) {
  Fixture f(easy_ip());
  f.send(Dir::kOriginal, setup(3, "RTP/AVP;client_port=40000-40001"));
  f.send(Dir::kReply, "RTSP/1.0 461 Unsupported Transport\r\nCSeq: 3\r\n\r\n");
  EXPECT_TRUE(f.ctx.entries.empty());
  EXPECT_TRUE(f.ctx.held.empty());
  // A reply to a CSeq never sent opens nothing.
  f.send(Dir::kReply, ok(9, "RTP/AVP;client_port=40000-40001;server_port=6000-6001"));
  EXPECT_TRUE(f.ctx.entries.empty());
}

TEST(RtspInspector, InterleavedAndMulticastOpenNothing) {
  Fixture f(easy_ip());
  const std::string il = setup(1, "RTP/AVP/TCP;unicast;interleaved=0-1");
  EXPECT_EQ(f.send(Dir::kOriginal, il), il);
  const std::string mc = setup(2, "RTP/AVP;multicast;port=5000-5001");
  EXPECT_EQ(f.send(Dir::kOriginal, mc), mc);
  f.send(Dir::kReply, ok(1, "RTP/AVP/TCP;unicast;interleaved=0-1"));
  EXPECT_TRUE(f.ctx.entries.empty());
  EXPECT_TRUE(f.ctx.held.empty());
  EXPECT_EQ(f.count("interleaved"), 1);
  EXPECT_EQ(f.count("multicast"), 1);
  // Offered UDP, answered interleaved: the pair goes back.
  f.send(Dir::kOriginal, setup(3, "RTP/AVP;client_port=40000-40001,RTP/AVP/TCP;interleaved=0-1"));
  f.send(Dir::kReply, ok(3, "RTP/AVP/TCP;interleaved=0-1"));
  EXPECT_TRUE(f.ctx.entries.empty());
  EXPECT_TRUE(f.ctx.held.empty());
}

TEST(RtspInspector, Refusals) {
  Fixture f(easy_ip());
  struct R {
    std::string req;
    const char* counter;
  } cases[] = {
      {setup(1, "RTP/AVP;client_port=1000-1001"), "refused.low-port"},
      {setup(2, "RTP/AVP;destination=198.18.1.9;client_port=40000-40001"), "refused.third-party"},
      {setup(3, "RTP/AVP;client_port=x"), "refused.malformed"},
      {setup(4, "RTP/AVP;unicast"), "refused.malformed"},
      {"SETUP rtsp://h/a RTSP/1.0\r\nTransport: RTP/AVP;client_port=40000\r\n\r\n",
       "refused.malformed"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(f.send(Dir::kOriginal, c.req), c.req) << c.counter;
    EXPECT_EQ(f.count(c.counter) > 0, true) << c.counter;
  }
  EXPECT_EQ(f.count("refused.malformed"), 3);
  EXPECT_TRUE(f.ctx.held.empty());
  // The server's answer: a low server_port, a foreign source.
  f.send(Dir::kOriginal, setup(7, "RTP/AVP;client_port=40000-40001"));
  f.send(Dir::kReply, ok(7, "RTP/AVP;client_port=30000-30001;server_port=100-101"));
  EXPECT_EQ(f.count("refused.low-port"), 2);
  EXPECT_TRUE(f.ctx.held.empty());
  f.send(Dir::kOriginal, setup(8, "RTP/AVP;client_port=40000-40001"));
  f.send(Dir::kReply,
         ok(8, "RTP/AVP;client_port=30002-30003;server_port=6000-6001;source=192.0.2.7"));
  EXPECT_EQ(f.count("refused.source"), 1);
  ASSERT_EQ(f.ctx.entries.size(), 4u);  // 2 from the server, 2 from the client
  EXPECT_EQ(f.ctx.entries[0].peer, ip("203.0.113.2")) << "from the server only";
  // The client's own address as destination is fine (and rewritten under NAT).
  EXPECT_EQ(f.send(Dir::kOriginal, setup(9, "RTP/AVP;destination=198.18.1.2;client_port=40000")),
            setup(9, "RTP/AVP;destination=203.0.113.1;client_port=30004"));
}

TEST(RtspInspector, CapPerSessionAndNoPorts) {
  Fixture f(easy_ip());
  for (int i = 0; i < 8; ++i) {
    f.send(Dir::kOriginal, setup(i, "RTP/AVP;client_port=" + std::to_string(40000 + 2 * i)));
  }
  EXPECT_EQ(f.count("refused.cap-session"), 0);
  const std::string ninth = setup(8, "RTP/AVP;client_port=50000");
  EXPECT_EQ(f.send(Dir::kOriginal, ninth), ninth);
  EXPECT_EQ(f.count("refused.cap-session"), 1);
  EXPECT_EQ(f.ctx.held.size(), 16u);
  Fixture g(easy_ip());
  g.ctx.no_ports = true;
  const std::string req = setup(1, "RTP/AVP;client_port=40000");
  EXPECT_EQ(g.send(Dir::kOriginal, req), req);
  EXPECT_EQ(g.count("refused.nat-exhausted"), 1);
  // Entries refused by the server-map: the pair is not leaked.
  Fixture h(easy_ip());
  h.send(Dir::kOriginal, setup(1, "RTP/AVP;client_port=40000-40001"));
  h.ctx.refuse_open = true;
  h.send(Dir::kReply, ok(1, "RTP/AVP;client_port=30000-30001;server_port=6000-6001"));
  EXPECT_TRUE(h.ctx.held.empty());
}

TEST(RtspInspector, SplitClientPortIsRefusedUnframedCounted) {
  Fixture f(easy_ip());
  const std::string req = setup(1, "RTP/AVP;client_port=40000-40001");
  Message m = msg(req);
  m.editable_from = req.find("40000") + 2;  // the value began in an earlier segment
  EXPECT_TRUE(f.ins->on_message(f.ctx, f.st.get(), Dir::kOriginal, m).empty());
  EXPECT_EQ(f.count("refused.split"), 1);
  EXPECT_TRUE(f.ctx.held.empty());
  EXPECT_TRUE(f.ins->on_message(f.ctx, f.st.get(), Dir::kOriginal, Message{}).empty());
  EXPECT_EQ(f.count("unframed"), 1);
  f.send(Dir::kOriginal, "GARBAGE\r\n\r\n");
  EXPECT_EQ(f.count("malformed"), 1);
}

}  // namespace
}  // namespace fw::aspf
