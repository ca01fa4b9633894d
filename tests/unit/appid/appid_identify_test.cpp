// The identifier, table-driven: real first payloads of each protocol (on their usual ports and
// on others), near misses, short beginnings (undecided) and things it must not claim.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "appid/identify.h"

namespace fw::appid {
namespace {

constexpr uint8_t kTcp = 6, kUdp = 17;
using B = std::vector<uint8_t>;

B text(const std::string& s) { return B(s.begin(), s.end()); }

B ike(uint8_t version, uint8_t exchange, size_t extra = 0) {
  B b(28 + extra, 0);
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(0x11 * (i + 1));
  b[16] = 33;  // next payload: SA
  b[17] = version;
  b[18] = exchange;
  b[27] = static_cast<uint8_t>(b.size());
  return b;
}

B l2tp_sccrq() {
  // T L S, version 2, length 20, tunnel 0, session 0, Ns 0, Nr 0, one AVP (message type 1 = SCCRQ).
  B b{0xc8, 0x02, 0x00, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x08, 0, 0, 0, 0, 0, 1};
  return b;
}

B pptp_sccrq() {
  B b(156, 0);
  b[1] = 156;
  b[3] = 1;  // control message
  b[4] = 0x1a, b[5] = 0x2b, b[6] = 0x3c, b[7] = 0x4d;
  b[9] = 1;  // start-control-connection-request
  return b;
}

B dns_query() {
  B b{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  for (uint8_t c : text("\x07"
                        "example"
                        "\x03"
                        "com"))
    b.push_back(c);
  B tail{0, 0, 1, 0, 1};
  b.insert(b.end(), tail.begin(), tail.end());
  return b;
}

B tftp_rrq(const std::string& mode) {
  B b{0, 1};
  for (uint8_t c : text("boot.img")) b.push_back(c);
  b.push_back(0);
  for (uint8_t c : text(mode)) b.push_back(c);
  b.push_back(0);
  return b;
}

B tls_hello() { return B{0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03}; }

struct Case {
  const char* what;
  uint8_t proto;
  uint16_t sport, dport;
  bool from_initiator;
  B payload;
  Outcome outcome;
  App app;
};

std::vector<Case> cases() {
  const auto I = Outcome::kIdentified, U = Outcome::kUndecided, N = Outcome::kUnidentifiable;
  return {
      {"ftp greeting", kTcp, 21, 40000, false, text("220 (vsFTPd 3.0.3)\r\n"), I, App::kFtp},
      {"ftp greeting on 2121", kTcp, 2121, 40000, false, text("220-Welcome\r\n"), I, App::kFtp},
      {"smtp greeting is not ftp", kTcp, 25, 40000, false, text("220 mx ESMTP Postfix\r\n"), N,
       App::kNone},
      {"220 from the client is nothing", kTcp, 40000, 21, true, text("220 hello\r\n"), N,
       App::kNone},
      {"short 22", kTcp, 21, 40000, false, text("22"), U, App::kNone},
      {"sip invite udp 5080", kUdp, 5060, 5080, true,
       text("INVITE sip:service@203.0.113.2:5080 SIP/2.0\r\nVia: SIP/2.0/UDP x\r\n\r\n"), I,
       App::kSip},
      {"sip response udp", kUdp, 5080, 5060, false, text("SIP/2.0 200 OK\r\n\r\n"), I, App::kSip},
      {"sip over tcp", kTcp, 40000, 5060, true, text("REGISTER sip:a.example SIP/2.0\r\n"), I,
       App::kSip},
      {"rtsp options on 8000", kTcp, 40000, 8000, true,
       text("OPTIONS rtsp://203.0.113.2:8000/test RTSP/1.0\r\nCSeq: 1\r\n\r\n"), I, App::kRtsp},
      {"rtsp reply", kTcp, 554, 40000, false, text("RTSP/1.0 200 OK\r\n"), I, App::kRtsp},
      {"http get on 8001", kTcp, 40000, 8001, true, text("GET /x HTTP/1.1\r\nHost: h\r\n\r\n"), I,
       App::kHttp},
      {"http reply", kTcp, 80, 40000, false, text("HTTP/1.1 200 OK\r\n"), I, App::kHttp},
      {"request line not finished", kTcp, 40000, 80, true, text("GET /very/long/pa"), U,
       App::kNone},
      {"method alone", kTcp, 40000, 80, true, text("GE"), U, App::kNone},
      {"unknown version", kTcp, 40000, 80, true, text("GET / FOO/1.0\r\n"), N, App::kNone},
      {"no version", kTcp, 40000, 80, true, text("GET /\r\n"), N, App::kNone},
      {"control byte in line", kTcp, 40000, 80, true, text(std::string("GET /\x01 HTTP/1.1\r\n")),
       N, App::kNone},
      {"lower-case method", kTcp, 40000, 80, true, text("get / HTTP/1.1\r\n"), N, App::kNone},
      {"pptp on 1723", kTcp, 40000, 1723, true, pptp_sccrq(), I, App::kPptp},
      {"pptp on 443", kTcp, 40000, 443, true, pptp_sccrq(), I, App::kPptp},
      {"pptp short", kTcp, 40000, 1723, true, B{0, 156, 0, 1}, U, App::kNone},
      {"pptp wrong magic", kTcp, 40000, 1723, true, B{0, 156, 0, 1, 0x1a, 0x2b, 0x3c, 0x4e}, N,
       App::kNone},
      {"ssh client", kTcp, 40000, 22, true, text("SSH-2.0-OpenSSH_9.2\r\n"), I, App::kSsh},
      {"ssh server on 2222", kTcp, 2222, 40000, false, text("SSH-2.0-x\r\n"), I, App::kSsh},
      {"ssh partial", kTcp, 40000, 22, true, text("SS"), U, App::kNone},
      {"tls client hello on 8443", kTcp, 40000, 8443, true, tls_hello(), I, App::kTls},
      {"tls short", kTcp, 40000, 443, true, B{0x16, 0x03}, U, App::kNone},
      {"tls alert is not a hello", kTcp, 40000, 443, true, B{0x16, 0x03, 0x01, 0, 8, 0x0b}, N,
       App::kNone},
      {"binary tcp", kTcp, 40000, 9000, true, B{0xde, 0xad, 0xbe, 0xef}, N, App::kNone},
      {"l2tp sccrq on 1701", kUdp, 1701, 1701, true, l2tp_sccrq(), I, App::kL2tp},
      {"l2tp on 5000", kUdp, 40000, 5000, true, l2tp_sccrq(), I, App::kL2tp},
      {"l2tp bad length", kUdp, 1701, 1701, true, B{0xc8, 0x02, 0x00, 0x15, 0, 0, 0, 0, 0, 0, 0, 0},
       N, App::kNone},
      {"l2tp data message", kUdp, 1701, 1701, true, B{0x40, 0x02, 0, 12, 0, 1, 0, 1, 0, 0, 0, 0}, N,
       App::kNone},
      {"ikev2 sa_init on 500", kUdp, 500, 500, true, ike(0x20, 34), I, App::kIke},
      {"ikev1 main mode on 600", kUdp, 40000, 600, true, ike(0x10, 2, 20), I, App::kIke},
      {"ike bad length", kUdp, 500, 500, true,
       [] {
         B b = ike(0x20, 34);
         b[27] = 99;
         return b;
       }(),
       N, App::kNone},
      {"ike bad version", kUdp, 500, 500, true, ike(0x30, 34), N, App::kNone},
      {"nat-t non-esp marker", kUdp, 4500, 4500, true,
       [] {
         B b{0, 0, 0, 0};
         B h = ike(0x20, 35);
         b.insert(b.end(), h.begin(), h.end());
         return b;
       }(),
       I, App::kIke},
      {"nat-t esp", kUdp, 4500, 4500, true, B{0, 0, 1, 0, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8}, I,
       App::kIke},
      {"nat-t keepalive", kUdp, 40000, 4500, true, B{0xff}, I, App::kIke},
      {"zero spi elsewhere", kUdp, 40000, 4501, true, B{0, 0, 0, 0, 1, 2, 3, 4}, N, App::kNone},
      {"tftp rrq on 69", kUdp, 40000, 69, true, tftp_rrq("octet"), I, App::kTftp},
      {"tftp wrq on 6969 NETASCII", kUdp, 40000, 6969, true, tftp_rrq("NETASCII"), I, App::kTftp},
      {"tftp unknown mode", kUdp, 40000, 69, true, tftp_rrq("binary"), N, App::kNone},
      {"dns query on 53", kUdp, 40000, 53, true, dns_query(), I, App::kDns},
      {"dns query on 5353", kUdp, 40000, 5353, true, dns_query(), I, App::kDns},
      {"dns label too long", kUdp, 40000, 53, true,
       [] {
         B b = dns_query();
         b[12] = 64;
         return b;
       }(),
       N, App::kNone},
      {"dns truncated", kUdp, 40000, 53, true,
       [] {
         B b = dns_query();
         b.resize(b.size() - 3);
         return b;
       }(),
       N, App::kNone},
      {"udp http is not sip", kUdp, 40000, 1900, true, text("M-SEARCH * HTTP/1.1\r\n\r\n"), N,
       App::kNone},
      {"empty payload", kTcp, 40000, 80, true, B{}, U, App::kNone},
      {"icmp", 1, 0, 0, true, text("GET / HTTP/1.1\r\n"), N, App::kNone},
      {"esp, by its protocol", 50, 0, 0, true, B{0, 0, 1, 0, 0, 0, 0, 1}, I, App::kEsp},
      {"esp, reply direction", 50, 0, 0, false, B{0, 0, 2, 0, 0, 0, 0, 1}, I, App::kEsp},
      {"ah, by its protocol", 51, 0, 0, true, B{50, 4, 0, 0, 0, 0, 1, 0}, I, App::kAh},
      {"gre is not identified", 47, 0, 0, true, B{0, 0, 0x88, 0x0b}, N, App::kNone},
  };
}

TEST(AppidIdentify, Table) {
  for (const auto& c : cases()) {
    Input in;
    in.proto = c.proto;
    in.sport = c.sport;
    in.dport = c.dport;
    in.from_initiator = c.from_initiator;
    in.payload = c.payload;
    Result r = identify(in);
    EXPECT_EQ(r.outcome, c.outcome) << c.what;
    EXPECT_EQ(r.app, c.app) << c.what << ": " << name(r.app);
  }
}

TEST(AppidIdentify, NamesRoundTrip) {
  for (int i = 1; i < static_cast<int>(App::kCount); ++i) {
    auto a = static_cast<App>(i);
    ASSERT_FALSE(name(a).empty());
    EXPECT_FALSE(description(a).empty());
    EXPECT_EQ(by_name(name(a)), a);
  }
  EXPECT_EQ(name(App::kNone), "");
  EXPECT_EQ(name(App::kCount), "");
  EXPECT_EQ(by_name("FTP"), std::nullopt);
  EXPECT_EQ(by_name(""), std::nullopt);
  EXPECT_EQ(by_name("bittorrent"), std::nullopt);
}

// Every prefix of an identified TCP message is undecided or the same verdict: a segment cut
// anywhere never makes the identifier claim another application.
TEST(AppidIdentify, PrefixesNeverClaimAnother) {
  for (const auto& c : cases()) {
    if (c.proto != kTcp || c.outcome != Outcome::kIdentified) continue;
    for (size_t n = 1; n < c.payload.size(); ++n) {
      Input in{c.proto, c.sport, c.dport, c.from_initiator,
               std::span<const uint8_t>(c.payload.data(), n)};
      Result r = identify(in);
      if (r.outcome == Outcome::kIdentified) {
        EXPECT_EQ(r.app, c.app) << c.what << " cut at " << n;
      }
    }
  }
}

}  // namespace
}  // namespace fw::appid
