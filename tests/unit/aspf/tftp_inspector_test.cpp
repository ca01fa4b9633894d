// The TFTP inspector against a fake context: which requests open an entry, what
// the entry admits under each kind of NAT, and what is refused and counted.
#include "aspf/tftp/tftp_inspector.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "aspf/tftp/tftp_parser.h"

namespace fw::aspf {
namespace {

using common::IpAddr;

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

class FakeContext : public Context {
 public:
  explicit FakeContext(session::Session s) : s_(s) {}
  const session::Session& control() const override { return s_; }
  uint64_t now_ms() const override { return 1'000'000; }
  bool open(session::ServerMapEntry e) override {
    if (refuse_open) return false;
    opened.push_back(e);
    return true;
  }
  void close_entries(const std::function<bool(const session::ServerMapEntry&)>&) override {}
  void age_children(uint8_t, uint16_t, uint16_t) override {}
  std::optional<uint16_t> reserve_port(const IpAddr&, uint8_t, uint16_t) override {
    return std::nullopt;
  }
  void count(size_t i) override { ++counts[i]; }
  void refuse(size_t i, std::string_view) override { ++counts[i]; }

  session::Session s_;
  bool refuse_open = false;
  std::vector<session::ServerMapEntry> opened;
  std::map<size_t, int> counts;
};

// Client 198.18.1.2:40000 -> server 203.0.113.2:69.
session::Session control() {
  session::Session s;
  s.id = 42;
  s.orig.src = ip("198.18.1.2");
  s.orig.dst = ip("203.0.113.2");
  s.orig.sport = 40000;
  s.orig.dport = 69;
  s.orig.proto = 17;
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

// Outside client 203.0.113.2:40000 -> global 203.0.113.100:69 = dmz 198.18.2.2:69.
session::Session nat_server() {
  session::Session s;
  s.orig.src = ip("203.0.113.2");
  s.orig.dst = ip("203.0.113.100");
  s.orig.sport = 40000;
  s.orig.dport = 69;
  s.orig.proto = 17;
  s.nat.dnat = true;
  s.nat.dnat_addr = ip("198.18.2.2");
  s.nat.dnat_port = 69;
  s.reply.src = s.nat.dnat_addr;
  s.reply.sport = 69;
  s.reply.dst = s.orig.src;
  s.reply.dport = 40000;
  s.reply.proto = 17;
  return s;
}

Message datagram(const std::string& bytes) {
  Message m;
  m.bytes.assign(bytes.begin(), bytes.end());
  return m;
}

const std::string kRrq = std::string("\0\1file.bin\0octet\0blksize\0001468\0", 30);
const std::string kWrq = std::string("\0\2up.bin\0octet\0", 15);

size_t counter(const Inspector& ins, std::string_view name) {
  const auto& c = ins.spec().counters;
  for (size_t i = 0; i < c.size(); ++i) {
    if (c[i] == name) return i;
  }
  ADD_FAILURE() << "no counter " << name;
  return 0;
}

TEST(TftpInspector, SpecIsUdpPort69WithATftpDataChannel) {
  auto ins = tftp::make_inspector();
  EXPECT_EQ(ins->spec().name, "tftp");
  EXPECT_TRUE(ins->spec().carries(17));
  EXPECT_FALSE(ins->spec().carries(6));
  EXPECT_EQ(ins->spec().default_port, 69);
  ASSERT_EQ(ins->spec().channels.size(), 1u);
  EXPECT_EQ(ins->spec().channels[0].app, "tftp-data");
  EXPECT_EQ(ins->new_framer(), nullptr) << "a datagram is one message";
}

TEST(TftpInspector, ReadRequestWithoutNatAdmitsTheServersAnswerOnce) {
  auto ins = tftp::make_inspector();
  FakeContext ctx(control());
  auto edits = ins->on_message(ctx, nullptr, session::Dir::kOriginal, datagram(kRrq));
  EXPECT_TRUE(edits.empty()) << "TFTP requests carry no address: nothing to rewrite";
  ASSERT_EQ(ctx.opened.size(), 1u);
  const auto& e = ctx.opened[0];
  EXPECT_EQ(e.proto, 17);
  EXPECT_EQ(e.peer, ip("203.0.113.2"));
  EXPECT_EQ(e.addr, ip("198.18.1.2"));
  EXPECT_EQ(e.port, 40000);
  EXPECT_TRUE(e.one_shot);
  EXPECT_EQ(e.expires_ms, 1'000'000u + 60'000u);
  EXPECT_TRUE(e.xaddr.empty());
  EXPECT_TRUE(e.sxaddr.empty());
  EXPECT_EQ(ctx.counts[counter(*ins, "parsed")], 1);
}

TEST(TftpInspector, UnderSourceNatTheEntryPointsAtTheTranslatedPortAndBack) {
  auto ins = tftp::make_inspector();
  FakeContext ctx(easy_ip());
  ins->on_message(ctx, nullptr, session::Dir::kOriginal, datagram(kWrq));
  ASSERT_EQ(ctx.opened.size(), 1u);
  const auto& e = ctx.opened[0];
  EXPECT_EQ(e.addr, ip("203.0.113.1"));
  EXPECT_EQ(e.port, 2050);
  EXPECT_EQ(e.xaddr, ip("198.18.1.2"));
  EXPECT_EQ(e.xport, 40000);
}

TEST(TftpInspector, BehindANatServerTheAnswerLeavesWithTheGlobalAddress) {
  auto ins = tftp::make_inspector();
  FakeContext ctx(nat_server());
  ins->on_message(ctx, nullptr, session::Dir::kOriginal, datagram(kRrq));
  ASSERT_EQ(ctx.opened.size(), 1u);
  const auto& e = ctx.opened[0];
  EXPECT_EQ(e.peer, ip("198.18.2.2")) << "the server answers from its own address";
  EXPECT_EQ(e.addr, ip("203.0.113.2"));
  EXPECT_EQ(e.port, 40000);
  EXPECT_EQ(e.sxaddr, ip("203.0.113.100"));
}

struct Bad {
  std::string bytes;
  std::string counter;
};

TEST(TftpInspector, MalformedRequestsAreRefusedAndCountedByReason) {
  const Bad cases[] = {
      {std::string("\0\1file", 6), "refused.filename-unterminated"},
      {std::string("\0\1file\0octet", 12), "refused.mode-unterminated"},
      {std::string("\0\1file\0bogus\0", 13), "refused.bad-mode"},
      {std::string("\0\1file\0octet\0blksize\0", 21), "refused.missing-value"},
      {std::string("\0\1file\0octet\0blksize\0"
                   "7\0",
                   23),
       "refused.bad-blksize"},
      {std::string("\0\1file\0octet\0timeout\0x\0", 23), "refused.not-a-number"},
      {std::string("\0\1\0octet\0", 9), "refused.empty-filename"},
      {std::string("\0\7x\0", 4), "refused.bad-opcode"},
      {std::string("\0", 1), "refused.too-short"},
  };
  for (const auto& c : cases) {
    auto ins = tftp::make_inspector();
    FakeContext ctx(easy_ip());
    ins->on_message(ctx, nullptr, session::Dir::kOriginal, datagram(c.bytes));
    EXPECT_TRUE(ctx.opened.empty()) << c.counter;
    EXPECT_EQ(ctx.counts[counter(*ins, c.counter)], 1) << c.counter;
    EXPECT_EQ(ctx.counts[counter(*ins, "parsed")], 0) << c.counter;
  }
}

TEST(TftpInspector, OtherOpcodesAndTheServerDirectionOpenNothing) {
  auto ins = tftp::make_inspector();
  FakeContext ctx(easy_ip());
  ins->on_message(ctx, nullptr, session::Dir::kOriginal,
                  datagram(std::string("\0\4\0\1", 4)));  // ACK to port 69
  ins->on_message(ctx, nullptr, session::Dir::kReply,
                  datagram(std::string("\0\5\0\1oops\0", 9)));  // ERROR from port 69
  ins->on_message(ctx, nullptr, session::Dir::kReply, datagram(kRrq));
  EXPECT_TRUE(ctx.opened.empty());
  EXPECT_EQ(ctx.counts[counter(*ins, "not-request")], 1);
}

TEST(TftpInspector, ARefusedOpenIsNotACrash) {
  auto ins = tftp::make_inspector();
  FakeContext ctx(easy_ip());
  ctx.refuse_open = true;
  EXPECT_TRUE(ins->on_message(ctx, nullptr, session::Dir::kOriginal, datagram(kRrq)).empty());
  EXPECT_TRUE(ctx.opened.empty());
}

}  // namespace
}  // namespace fw::aspf
