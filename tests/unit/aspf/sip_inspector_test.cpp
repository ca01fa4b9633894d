// The SIP inspector against a fake Context: the rewrite set under easy-ip and a
// NAT server (and its inverse on responses), pinhole-only without NAT (no byte
// changed), leave-alone, media entries per stream, dialog state (answer
// narrows, re-INVITE moves, hold opens nothing, BYE/CANCEL/486 close), limits.
#include "aspf/sip/sip_inspector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "aspf/sip/sip_parser.h"

namespace fw::aspf {
namespace {

using common::IpAddr;
using session::Dir;

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

class FakeContext : public Context {
 public:
  explicit FakeContext(session::Session s) : s_(s) {}
  const session::Session& control() const override { return s_; }
  uint64_t now_ms() const override { return now; }
  bool open(session::ServerMapEntry e) override {
    if (opened.size() >= cap) return false;
    e.id = ++next_id;
    opened.push_back(e);
    return true;
  }
  void close_entries(const std::function<bool(const session::ServerMapEntry&)>& pred) override {
    opened.erase(std::remove_if(opened.begin(), opened.end(), pred), opened.end());
  }
  void age_children(uint8_t, uint16_t a, uint16_t) override { aged.push_back(a); }
  std::optional<uint16_t> reserve_port(const IpAddr&, uint8_t, uint16_t hint) override {
    if (no_ports) return std::nullopt;
    for (uint32_t p = std::max<uint16_t>(hint, 1024); p < 65536; ++p) {
      if (!held.count(static_cast<uint16_t>(p)) && !busy.count(static_cast<uint16_t>(p))) {
        held.insert(static_cast<uint16_t>(p));
        return static_cast<uint16_t>(p);
      }
    }
    return std::nullopt;
  }
  // Like the NAT port allocator's pair: the first free even/odd pair from `pair_from`.
  std::optional<uint16_t> reserve_port_pair(const IpAddr&, uint8_t) override {
    if (no_ports) return std::nullopt;
    for (uint32_t p = pair_from; p + 1 < 65536; p += 2) {
      const auto a = static_cast<uint16_t>(p), b = static_cast<uint16_t>(p + 1);
      if (held.count(a) || held.count(b) || busy.count(a) || busy.count(b)) continue;
      held.insert(a);
      held.insert(b);
      return a;
    }
    return std::nullopt;
  }
  void release_port(const IpAddr&, uint8_t, uint16_t port) override {
    EXPECT_EQ(held.erase(port), 1u) << "released a port not held: " << port;
  }
  void count(size_t i) override { ++counts[i]; }
  void refuse(size_t i, std::string_view) override { ++counts[i]; }
  void hold_control(uint64_t until_ms) override { hold = until_ms; }

  session::Session s_;
  uint64_t now = 1'000'000;
  size_t cap = 64;
  uint32_t pair_from = 6000;
  bool no_ports = false;
  uint64_t next_id = 0;
  std::vector<session::ServerMapEntry> opened;
  std::vector<uint16_t> aged;
  std::set<uint16_t> held, busy;
  std::map<size_t, int> counts;
  uint64_t hold = 0;
};

// Phone 10.0.0.2:5060 -> proxy 203.0.113.5:5060.
session::Session plain() {
  session::Session s;
  s.id = 7;
  s.orig.src = ip("10.0.0.2");
  s.orig.dst = ip("203.0.113.5");
  s.orig.sport = 5060;
  s.orig.dport = 5060;
  s.orig.proto = 17;
  s.reply = s.orig.reversed();
  return s;
}

// ... leaving as 198.51.100.1:2001 (easy-ip).
session::Session easy_ip() {
  session::Session s = plain();
  s.nat.snat = true;
  s.nat.snat_addr = ip("198.51.100.1");
  s.nat.snat_port = 2001;
  s.reply.dst = s.nat.snat_addr;
  s.reply.dport = 2001;
  return s;
}

// Outside caller 203.0.113.5:5060 -> global 198.51.100.10:5060 = dmz UAS 10.1.0.2:5070.
session::Session nat_server() {
  session::Session s;
  s.id = 9;
  s.orig.src = ip("203.0.113.5");
  s.orig.dst = ip("198.51.100.10");
  s.orig.sport = 5060;
  s.orig.dport = 5060;
  s.orig.proto = 17;
  s.nat.dnat = true;
  s.nat.dnat_addr = ip("10.1.0.2");
  s.nat.dnat_port = 5070;
  s.reply.src = ip("10.1.0.2");
  s.reply.sport = 5070;
  s.reply.dst = s.orig.src;
  s.reply.dport = 5060;
  s.reply.proto = 17;
  return s;
}

std::string sdp(const std::string& addr, int port, const std::string& extra = "") {
  return "v=0\r\no=- 1 1 IN IP4 " + addr + "\r\ns=-\r\nc=IN IP4 " + addr + "\r\nt=0 0\r\nm=audio " +
         std::to_string(port) + " RTP/AVP 0\r\n" + extra;
}

std::string with_body(std::string head, const std::string& body) {
  if (!body.empty()) head += "Content-Type: application/sdp\r\n";
  head += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return head;
}

std::string invite(const std::string& body, const std::string& call = "call1",
                   const std::string& to_tag = "") {
  return with_body(
      "INVITE sip:bob@203.0.113.5 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK-1\r\n"
      "From: <sip:alice@10.0.0.2>;tag=a1\r\n"
      "To: <sip:bob@203.0.113.5>" +
          (to_tag.empty() ? "" : ";tag=" + to_tag) +
          "\r\n"
          "Call-ID: " +
          call +
          "\r\n"
          "CSeq: 1 INVITE\r\n"
          "Contact: <sip:alice@10.0.0.2:5060>\r\n",
      body);
}

std::string response(int code, const std::string& via_host, const std::string& body,
                     const std::string& call = "call1", const std::string& method = "INVITE") {
  return with_body("SIP/2.0 " + std::to_string(code) +
                       " X\r\n"
                       "Via: SIP/2.0/UDP " +
                       via_host +
                       ";branch=z9hG4bK-1\r\n"
                       "From: <sip:alice@" +
                       via_host +
                       ">;tag=a1\r\n"
                       "To: <sip:bob@203.0.113.5>;tag=b1\r\n"
                       "Call-ID: " +
                       call +
                       "\r\n"
                       "CSeq: 1 " +
                       method +
                       "\r\n"
                       "Contact: <sip:bob@203.0.113.5:5060>\r\n",
                   body);
}

std::string bye(const std::string& call = "call1") {
  return with_body(
      "BYE sip:bob@203.0.113.5 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK-2\r\n"
      "From: <sip:alice@10.0.0.2>;tag=a1\r\nTo: <sip:bob@203.0.113.5>;tag=b1\r\nCall-ID: " +
          call + "\r\nCSeq: 2 BYE\r\n",
      "");
}

Message msg(const std::string& s) {
  Message m;
  m.bytes.assign(s.begin(), s.end());
  return m;
}

// What the engine does with the edits: apply them back to front.
std::string apply(std::string s, std::vector<Edit> edits) {
  std::sort(edits.begin(), edits.end(),
            [](const Edit& a, const Edit& b) { return a.offset > b.offset; });
  for (const auto& e : edits) s.replace(e.offset, e.old_len, e.replacement);
  return s;
}

size_t counter(const Inspector& ins, std::string_view name) {
  const auto& c = ins.spec().counters;
  for (size_t i = 0; i < c.size(); ++i) {
    if (c[i] == name) return i;
  }
  ADD_FAILURE() << "no counter " << name;
  return 0;
}

struct Call {
  std::unique_ptr<Inspector> ins = sip::make_inspector();
  std::unique_ptr<State> st = ins->new_state();
  FakeContext ctx;
  explicit Call(session::Session s) : ctx(s) {}
  std::string send(Dir d, const std::string& text) {
    return apply(text, ins->on_message(ctx, st.get(), d, msg(text)));
  }
  int count(std::string_view name) { return ctx.counts[counter(*ins, name)]; }
};

// The body after the empty line and the Content-Length header agree.
void expect_consistent(const std::string& text) {
  auto r = sip::parse(std::vector<uint8_t>(text.begin(), text.end()));
  ASSERT_TRUE(r.message) << text;
  ASSERT_TRUE(r.message->content_length);
  EXPECT_EQ(*r.message->content_length, text.size() - r.message->body_off) << text;
}

TEST(SipInspector, Spec) {
  auto ins = sip::make_inspector();
  EXPECT_EQ(ins->spec().name, "sip");
  EXPECT_TRUE(ins->spec().carries(17));
  EXPECT_TRUE(ins->spec().carries(6));
  EXPECT_FALSE(ins->spec().carries(0));
  EXPECT_NE(ins->new_framer(), nullptr);
  EXPECT_EQ(ins->spec().default_port, 5060);
  ASSERT_EQ(ins->spec().channels.size(), 2u);
  EXPECT_EQ(ins->spec().channels[0].app, "sip-rtp");
  EXPECT_EQ(ins->spec().channels[1].app, "sip-rtcp");
  EXPECT_EQ(ins->spec().channels[0].aging, "sip-media");
  std::set<std::string_view> names(ins->spec().counters.begin(), ins->spec().counters.end());
  EXPECT_EQ(names.size(), ins->spec().counters.size()) << "counter names are unique";
}

TEST(SipInspector, PinholeOnlyChangesNoByteAndOpensBothSides) {
  Call r(plain());
  std::string offer = invite(sdp("10.0.0.2", 6000));
  EXPECT_EQ(r.send(Dir::kOriginal, offer), offer);
  // Before the answer: RTP + RTCP towards the caller from anyone, for a minute.
  ASSERT_EQ(r.ctx.opened.size(), 2u);
  const auto& rtp = r.ctx.opened[0];
  EXPECT_EQ(rtp.addr, ip("10.0.0.2"));
  EXPECT_EQ(rtp.port, 6000);
  EXPECT_TRUE(rtp.peer.empty());
  EXPECT_TRUE(rtp.xaddr.empty());
  EXPECT_EQ(rtp.channel, 0);
  EXPECT_EQ(rtp.expires_ms, r.ctx.now + 60'000);
  EXPECT_EQ(r.ctx.opened[1].port, 6001);
  EXPECT_EQ(r.ctx.opened[1].channel, 1);
  std::string answer = response(200, "10.0.0.2:5060", sdp("203.0.113.5", 7000));
  EXPECT_EQ(r.send(Dir::kReply, answer), answer);
  // After it: narrowed to each other's media address, both ways.
  ASSERT_EQ(r.ctx.opened.size(), 4u);
  for (const auto& e : r.ctx.opened) {
    EXPECT_FALSE(e.peer.empty());
    EXPECT_EQ(e.expires_ms, r.ctx.now + 12ull * 3600 * 1000);
  }
  EXPECT_EQ(r.ctx.opened[0].peer, ip("203.0.113.5"));
  EXPECT_EQ(r.ctx.opened[2].addr, ip("203.0.113.5"));
  EXPECT_EQ(r.ctx.opened[2].port, 7000);
  EXPECT_EQ(r.ctx.opened[2].peer, ip("10.0.0.2"));
  EXPECT_TRUE(r.ctx.held.empty()) << "no NAT: no port reserved";
  EXPECT_EQ(r.count("pinhole-only"), 2);
  r.send(Dir::kOriginal, bye());
  EXPECT_TRUE(r.ctx.opened.empty()) << "BYE closes the dialog's entries";
  EXPECT_EQ(r.count("dialogs-closed"), 1);
}

TEST(SipInspector, EasyIpRewritesTheCallerAndItsMediaAndResponsesBack) {
  Call r(easy_ip());
  std::string out = r.send(Dir::kOriginal, invite(sdp("10.0.0.2", 6000, "a=rtcp:6001\r\n")));
  EXPECT_EQ(out.find("10.0.0.2"), std::string::npos) << out;
  EXPECT_NE(out.find("Via: SIP/2.0/UDP 198.51.100.1:2001;branch=z9hG4bK-1\r\n"), std::string::npos);
  EXPECT_NE(out.find("Contact: <sip:alice@198.51.100.1:2001>"), std::string::npos);
  EXPECT_NE(out.find("From: <sip:alice@198.51.100.1:2001>;tag=a1"), std::string::npos);
  EXPECT_NE(out.find("Call-ID: call1\r\n"), std::string::npos);
  EXPECT_NE(out.find("To: <sip:bob@203.0.113.5>\r\n"), std::string::npos) << "not ours: kept";
  EXPECT_NE(out.find("c=IN IP4 198.51.100.1\r\n"), std::string::npos);
  EXPECT_NE(out.find("o=- 1 1 IN IP4 198.51.100.1\r\n"), std::string::npos);
  EXPECT_NE(out.find("m=audio 6000 RTP/AVP 0\r\na=rtcp:6001\r\n"), std::string::npos)
      << "the first free pair of the (fake) allocator";
  expect_consistent(out);
  EXPECT_EQ(r.ctx.held, (std::set<uint16_t>{6000, 6001}));
  ASSERT_EQ(r.ctx.opened.size(), 2u);
  EXPECT_EQ(r.ctx.opened[0].addr, ip("198.51.100.1"));
  EXPECT_EQ(r.ctx.opened[0].port, 6000);
  EXPECT_EQ(r.ctx.opened[0].xaddr, ip("10.0.0.2"));
  EXPECT_EQ(r.ctx.opened[0].xport, 6000);
  EXPECT_FALSE(r.ctx.opened[0].reserved) << "the dialog holds the port, not the entry";

  // The 200 OK comes back to the public address: its Via and From name the phone again.
  std::string back =
      r.send(Dir::kReply, response(200, "198.51.100.1:2001", sdp("203.0.113.5", 7000)));
  EXPECT_NE(back.find("Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK-1\r\n"), std::string::npos)
      << back;
  EXPECT_NE(back.find("From: <sip:alice@10.0.0.2:5060>;tag=a1"), std::string::npos);
  EXPECT_NE(back.find("c=IN IP4 203.0.113.5"), std::string::npos) << "the callee's SDP is kept";
  EXPECT_NE(back.find(";tag=b1"), std::string::npos);
  expect_consistent(back);
  // Entry towards the callee: the phone's media leaves from the public port it announced.
  ASSERT_EQ(r.ctx.opened.size(), 4u);
  const auto& out_rtp = r.ctx.opened[2];
  EXPECT_EQ(out_rtp.addr, ip("203.0.113.5"));
  EXPECT_EQ(out_rtp.port, 7000);
  EXPECT_EQ(out_rtp.peer, ip("10.0.0.2"));
  EXPECT_EQ(out_rtp.sxaddr, ip("198.51.100.1"));
  EXPECT_EQ(out_rtp.sxport, 6000);
  EXPECT_EQ(r.ctx.opened[3].sxport, 6001);
  EXPECT_EQ(r.ctx.opened[0].peer, ip("203.0.113.5"));

  r.send(Dir::kOriginal, bye());
  EXPECT_TRUE(r.ctx.opened.empty());
  EXPECT_TRUE(r.ctx.held.empty()) << "the ports go back with the dialog";
  EXPECT_FALSE(r.ctx.aged.empty()) << "its media flows age out";
}

TEST(SipInspector, PortPairIsEvenOddEvenWhenThePrivatePortIsTaken) {
  Call r(easy_ip());
  r.ctx.busy = {6000, 6003};
  std::string out = r.send(Dir::kOriginal, invite(sdp("10.0.0.2", 6000)));
  // 6000 busy, 6003 busy: the first free even/odd pair is 6004/6005.
  EXPECT_NE(out.find("m=audio 6004 RTP/AVP 0"), std::string::npos) << out;
  EXPECT_EQ(r.ctx.held, (std::set<uint16_t>{6004, 6005}));
  EXPECT_EQ(r.ctx.opened.at(1).port, 6005);
  EXPECT_EQ(r.ctx.opened.at(1).xport, 6001);
  expect_consistent(out);
  r.ctx.no_ports = true;
  r.ctx.held.clear();
  Call r2(easy_ip());
  r2.ctx.no_ports = true;
  std::string o2 = r2.send(Dir::kOriginal, invite(sdp("10.0.0.2", 6000), "call2"));
  EXPECT_TRUE(r2.ctx.opened.empty());
  EXPECT_EQ(r2.count("refused.no-port"), 1);
}

TEST(SipInspector, NatServerRewritesTheCalleeInItsResponses) {
  Call r(nat_server());
  r.ctx.pair_from = 9000;
  std::string offer = with_body(
      "INVITE sip:uas@198.51.100.10 SIP/2.0\r\nVia: SIP/2.0/UDP "
      "203.0.113.5:5060;branch=z9hG4bK-9\r\n"
      "From: <sip:caller@203.0.113.5>;tag=c\r\nTo: <sip:uas@198.51.100.10>\r\nCall-ID: ns\r\n"
      "CSeq: 1 INVITE\r\nContact: <sip:caller@203.0.113.5>\r\n",
      sdp("203.0.113.5", 8000));
  std::string in = r.send(Dir::kOriginal, offer);
  EXPECT_NE(in.find("INVITE sip:uas@10.1.0.2:5070 SIP/2.0"), std::string::npos) << in;
  EXPECT_NE(in.find("To: <sip:uas@10.1.0.2:5070>"), std::string::npos);
  EXPECT_NE(in.find("c=IN IP4 203.0.113.5"), std::string::npos);
  expect_consistent(in);
  std::string ok = with_body(
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bK-9\r\n"
      "From: <sip:caller@203.0.113.5>;tag=c\r\nTo: <sip:uas@10.1.0.2:5070>;tag=u\r\nCall-ID: ns\r\n"
      "CSeq: 1 INVITE\r\nContact: <sip:uas@10.1.0.2:5070>\r\n",
      sdp("10.1.0.2", 9000));
  std::string out = r.send(Dir::kReply, ok);
  EXPECT_EQ(out.find("10.1.0.2"), std::string::npos) << out;
  EXPECT_NE(out.find("Contact: <sip:uas@198.51.100.10:5060>"), std::string::npos);
  EXPECT_NE(out.find("m=audio 9000 "), std::string::npos);
  expect_consistent(out);
  // Towards the UAS: global address and held port, delivered inside.
  bool found = false;
  for (const auto& e : r.ctx.opened) {
    if (e.addr == ip("198.51.100.10") && e.port == 9000) {
      found = true;
      EXPECT_EQ(e.xaddr, ip("10.1.0.2"));
      EXPECT_EQ(e.xport, 9000);
      EXPECT_EQ(e.peer, ip("203.0.113.5"));
    }
    if (e.addr == ip("203.0.113.5")) {
      EXPECT_EQ(e.peer, ip("10.1.0.2"));
      EXPECT_EQ(e.sxaddr, ip("198.51.100.10"));
    }
  }
  EXPECT_TRUE(found);
}

TEST(SipInspector, LeaveAloneWhenTheContactIsAlreadyPublicOrIce) {
  Call r(easy_ip());
  std::string stun = invite(sdp("198.51.100.1", 6000));
  stun.replace(stun.find("<sip:alice@10.0.0.2:5060>"), 25, "<sip:alice@198.51.100.1:2001>");
  stun = with_body(stun.substr(0, stun.find("Content-Type")), sdp("198.51.100.1", 6000));
  EXPECT_EQ(r.send(Dir::kOriginal, stun), stun);
  EXPECT_TRUE(r.ctx.opened.empty());
  EXPECT_EQ(r.count("left-alone"), 1);
  std::string later = invite(sdp("10.0.0.2", 6000), "call9");
  EXPECT_EQ(r.send(Dir::kOriginal, later), later) << "the choice holds for the flow";

  Call ice(easy_ip());
  std::string cand =
      invite(sdp("10.0.0.2", 6000, "a=candidate:1 1 UDP 1 10.0.0.2 6000 typ host\r\n"));
  EXPECT_EQ(ice.send(Dir::kOriginal, cand), cand);
  EXPECT_EQ(ice.count("left-alone"), 1);
}

TEST(SipInspector, ReInviteMovesMediaAndHoldOpensNothing) {
  Call r(easy_ip());
  r.send(Dir::kOriginal, invite(sdp("10.0.0.2", 6000)));
  r.send(Dir::kReply, response(200, "198.51.100.1:2001", sdp("203.0.113.5", 7000)));
  ASSERT_EQ(r.ctx.opened.size(), 4u);
  // Hold: sendonly from the phone: nothing towards it any more.
  std::string hold = invite(sdp("10.0.0.2", 6000, "a=sendonly\r\n"), "call1", "b1");
  std::string out = r.send(Dir::kOriginal, hold);
  expect_consistent(out);
  for (const auto& e : r.ctx.opened) EXPECT_NE(e.addr, ip("198.51.100.1")) << "hold opens nothing";
  EXPECT_EQ(r.ctx.opened.size(), 2u) << "towards the callee stays";
  // Resume on a new port: the old pair went back, a new one is used.
  r.ctx.pair_from = 6100;
  std::string moved = r.send(Dir::kOriginal, invite(sdp("10.0.0.2", 6100), "call1", "b1"));
  EXPECT_NE(moved.find("m=audio 6100 "), std::string::npos) << moved;
  EXPECT_EQ(r.ctx.held, (std::set<uint16_t>{6100, 6101}));
  ASSERT_EQ(r.ctx.opened.size(), 4u);
  bool towards_phone = false;
  for (const auto& e : r.ctx.opened) {
    if (e.addr == ip("198.51.100.1")) {
      towards_phone = true;
      EXPECT_TRUE(e.port == 6100 || e.port == 6101);
    } else {
      EXPECT_TRUE(e.sxport == 6100 || e.sxport == 6101) << "leaves from the new public port";
    }
  }
  EXPECT_TRUE(towards_phone);
  // Port 0 on a re-offer: the stream is gone.
  r.send(Dir::kOriginal, invite(sdp("10.0.0.2", 0), "call1", "b1"));
  for (const auto& e : r.ctx.opened) EXPECT_NE(e.addr, ip("198.51.100.1"));
  EXPECT_TRUE(r.ctx.held.empty());
}

TEST(SipInspector, CancelAnd486CloseTheDialog) {
  Call r(easy_ip());
  r.send(Dir::kOriginal, invite(sdp("10.0.0.2", 6000)));
  EXPECT_EQ(r.ctx.opened.size(), 2u);
  r.send(Dir::kReply, response(486, "198.51.100.1:2001", ""));
  EXPECT_TRUE(r.ctx.opened.empty());
  EXPECT_TRUE(r.ctx.held.empty());

  r.send(Dir::kOriginal, invite(sdp("10.0.0.2", 6000), "call2"));
  EXPECT_EQ(r.ctx.opened.size(), 2u);
  std::string cancel = with_body(
      "CANCEL sip:bob@203.0.113.5 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK-1\r\n"
      "From: <sip:alice@10.0.0.2>;tag=a1\r\nTo: <sip:bob@203.0.113.5>\r\nCall-ID: call2\r\n"
      "CSeq: 1 CANCEL\r\n",
      "");
  r.send(Dir::kOriginal, cancel);
  EXPECT_TRUE(r.ctx.opened.empty());
  EXPECT_EQ(r.count("dialogs-closed"), 2);
  // A 4xx to a re-INVITE (491) does not end a confirmed call.
  r.send(Dir::kOriginal, invite(sdp("10.0.0.2", 6000), "call3"));
  r.send(Dir::kReply, response(200, "198.51.100.1:2001", sdp("203.0.113.5", 7000), "call3"));
  r.send(Dir::kReply, response(491, "198.51.100.1:2001", "", "call3"));
  EXPECT_EQ(r.ctx.opened.size(), 4u);
}

TEST(SipInspector, MaximumCallDuration) {
  Call r(plain());
  r.send(Dir::kOriginal, invite(sdp("10.0.0.2", 6000)));
  r.send(Dir::kReply, response(200, "10.0.0.2:5060", sdp("203.0.113.5", 7000)));
  EXPECT_EQ(r.ctx.opened.size(), 4u);
  r.ctx.now += 12ull * 3600 * 1000 + 1;
  r.send(Dir::kOriginal, invite(sdp("10.0.0.2", 6002), "other"));
  for (const auto& e : r.ctx.opened) EXPECT_NE(e.port, 6000) << "the 12 h old dialog is gone";
  EXPECT_EQ(r.count("dialogs-closed"), 1);
}

TEST(SipInspector, Refusals) {
  Call r(easy_ip());
  // Another host's media address in translate mode.
  r.send(Dir::kOriginal, invite(sdp("10.0.0.99", 6000)));
  EXPECT_TRUE(r.ctx.opened.empty());
  EXPECT_EQ(r.count("refused.third-party"), 1);
  // A media port below 1024.
  r.send(Dir::kOriginal, invite(sdp("10.0.0.2", 80), "low"));
  EXPECT_TRUE(r.ctx.opened.empty());
  EXPECT_EQ(r.count("refused.low-port"), 1);
  // Malformed: passes untouched and counted.
  std::string bad = "INVITE sip:x SIP/9.9\r\n\r\n";
  EXPECT_TRUE(r.ins->on_message(r.ctx, r.st.get(), Dir::kOriginal, msg(bad)).empty());
  EXPECT_EQ(r.count("refused.bad-version"), 1);
  std::string bad_sdp = invite("v=0\r\nm=audio x RTP/AVP 0\r\n", "badsdp");
  EXPECT_TRUE(r.ins->on_message(r.ctx, r.st.get(), Dir::kOriginal, msg(bad_sdp)).empty())
      << "no partial rewrite: the headers stay too";
  EXPECT_EQ(r.count("refused.sdp-bad-media"), 1);
  // Dialog cap per flow.
  Call many(plain());
  for (int i = 0; i < 500; ++i) many.send(Dir::kOriginal, invite("", "c" + std::to_string(i)));
  EXPECT_EQ(many.count("dialogs"), 400) << "200 a second after a burst of 400";
  EXPECT_EQ(many.count("refused.rate"), 100);
  many.ctx.now += 10'000;
  for (int i = 500; i < 1200; ++i) {  // 100 a second: under the rate, up to the cap
    many.send(Dir::kOriginal, invite("", "c" + std::to_string(i)));
    many.ctx.now += 10;
  }
  EXPECT_EQ(many.count("dialogs"), 1024);
  EXPECT_EQ(many.count("refused.dialog-cap"), 76);
  EXPECT_EQ(many.count("refused.rate"), 100);
}

}  // namespace
}  // namespace fw::aspf

namespace fw::aspf {
namespace {

std::string register_req(const std::string& contact_params, const std::string& expires_hdr) {
  return with_body(
      "REGISTER sip:203.0.113.5 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK-r\r\n"
      "From: <sip:alice@203.0.113.5>;tag=r1\r\nTo: <sip:alice@203.0.113.5>\r\n"
      "Call-ID: reg1\r\nCSeq: 1 REGISTER\r\n"
      "Contact: <sip:alice@10.0.0.2:5060>" +
          contact_params + "\r\n" + expires_hdr,
      "");
}

std::string register_ok(const std::string& contacts, const std::string& extra = "") {
  return with_body(
      "SIP/2.0 200 OK\r\n"
      "Via: SIP/2.0/UDP 198.51.100.1:2001;branch=z9hG4bK-r\r\n"
      "From: <sip:alice@203.0.113.5>;tag=r1\r\nTo: <sip:alice@203.0.113.5>;tag=x\r\n"
      "Call-ID: reg1\r\nCSeq: 1 REGISTER\r\n" +
          contacts + extra,
      "");
}

// A REGISTER through easy-ip: the granted expiry (Contact parameter, else the Expires header)
// plus 30 s holds the control session; a refresh moves it; expires=0 (a 2xx listing no binding
// of ours) ends it; bindings of other addresses do not count; no NAT, no hold.
TEST(SipInspector, RegistrationHoldsTheSignallingSession) {
  Call r(easy_ip());
  std::string out = r.send(Dir::kOriginal, register_req("", "Expires: 600\r\n"));
  EXPECT_NE(out.find("Contact: <sip:alice@198.51.100.1:2001>"), std::string::npos) << out;
  EXPECT_EQ(r.ctx.hold, 0u) << "nothing before the registrar's answer";
  std::string back =
      r.send(Dir::kReply, register_ok("Contact: <sip:alice@198.51.100.1:2001>;expires=300\r\n"
                                      "Contact: <sip:alice@192.0.2.9:5060>;expires=7200\r\n",
                                      "Expires: 900\r\n"));
  EXPECT_NE(back.find("Contact: <sip:alice@10.0.0.2:5060>;expires=300"), std::string::npos) << back;
  EXPECT_EQ(r.ctx.hold, r.ctx.now + 300'000 + 30'000) << "the Contact parameter, not Expires";
  EXPECT_EQ(r.count("registrations"), 1);

  // A refresh with only the Expires header.
  r.ctx.now += 100'000;
  r.send(Dir::kOriginal, register_req("", "Expires: 600\r\n"));
  r.send(Dir::kReply,
         register_ok("Contact: <sip:alice@198.51.100.1:2001>\r\n", "Expires: 1200\r\n"));
  EXPECT_EQ(r.ctx.hold, r.ctx.now + 1'200'000 + 30'000);
  EXPECT_EQ(r.count("registrations"), 1) << "the same registration, refreshed";

  // A failure answer changes nothing.
  r.send(Dir::kReply, register_ok("").replace(8, 6, "403 No"));
  EXPECT_EQ(r.ctx.hold, r.ctx.now + 1'200'000 + 30'000);

  // Unregistration: expires=0 is answered by a 2xx without our binding.
  r.send(Dir::kOriginal, register_req(";expires=0", ""));
  r.send(Dir::kReply, register_ok("Contact: <sip:alice@192.0.2.9:5060>;expires=7200\r\n"));
  EXPECT_EQ(r.ctx.hold, 0u);
  EXPECT_EQ(r.count("registrations-removed"), 1);

  // A granted registration lapses on its own.
  r.send(Dir::kReply, register_ok("Contact: <sip:alice@198.51.100.1:2001>;expires=60\r\n"));
  EXPECT_EQ(r.ctx.hold, r.ctx.now + 90'000);
  r.ctx.now += 90'001;
  r.send(Dir::kOriginal, register_req("", ""));
  EXPECT_EQ(r.ctx.hold, 0u);

  Call n(plain());
  n.send(Dir::kOriginal, register_req("", "Expires: 600\r\n"));
  n.send(Dir::kReply, register_ok("Contact: <sip:alice@10.0.0.2:5060>;expires=300\r\n"));
  EXPECT_EQ(n.ctx.hold, 0u) << "no NAT: nothing to keep";
}

// The registrar's INVITE to the public address (through the held session) reaches the phone:
// its Request-URI and To are mapped back to the private contact, media entries open.
TEST(SipInspector, IncomingInviteAfterRegistrationIsMappedToThePhone) {
  Call r(easy_ip());
  r.send(Dir::kOriginal, register_req("", "Expires: 600\r\n"));
  r.send(Dir::kReply, register_ok("Contact: <sip:alice@198.51.100.1:2001>;expires=300\r\n"));
  std::string inv = with_body(
      "INVITE sip:alice@198.51.100.1:2001 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bK-i\r\n"
      "From: <sip:bob@203.0.113.5>;tag=b9\r\nTo: <sip:alice@198.51.100.1:2001>\r\n"
      "Call-ID: in1\r\nCSeq: 1 INVITE\r\nContact: <sip:bob@203.0.113.5:5060>\r\n",
      sdp("203.0.113.5", 7000));
  std::string out = r.send(Dir::kReply, inv);
  EXPECT_NE(out.find("INVITE sip:alice@10.0.0.2:5060 SIP/2.0\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("To: <sip:alice@10.0.0.2:5060>\r\n"), std::string::npos) << out;
  expect_consistent(out);
  EXPECT_EQ(r.count("dialogs"), 1);
  EXPECT_EQ(r.ctx.opened.size(), 2u) << "RTP and RTCP towards the caller";
  EXPECT_GT(r.ctx.hold, r.ctx.now);
}

}  // namespace
}  // namespace fw::aspf
