// aspf/ftp/ftp_parser: every accepted form, hostile/malformed inputs, exact rewrites.
#include "aspf/ftp/ftp_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace fw::aspf::ftp {
namespace {

using common::IpAddr;

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

struct OkCase {
  std::string line;
  Kind kind;
  const char* addr;  // nullptr: empty (229)
  uint16_t port;
  std::string arg;  // expected text of [arg_begin, arg_end)
};

void expect_ok(const ParseResult& r, const OkCase& c) {
  ASSERT_EQ(r.status, ParseStatus::kOk) << c.line << " why=" << r.why;
  EXPECT_EQ(r.a.kind, c.kind) << c.line;
  if (c.addr) {
    EXPECT_EQ(r.a.addr, ip(c.addr)) << c.line << " got " << r.a.addr.str();
  } else {
    EXPECT_TRUE(r.a.addr.empty()) << c.line;
  }
  EXPECT_EQ(r.a.port, c.port) << c.line;
  ASSERT_LE(r.a.arg_begin, r.a.arg_end);
  ASSERT_LE(r.a.arg_end, c.line.size());
  EXPECT_EQ(c.line.substr(r.a.arg_begin, r.a.arg_end - r.a.arg_begin), c.arg) << c.line;
}

TEST(FtpParser, ClientValidForms) {
  const std::vector<OkCase> cases = {
      {"PORT 198,18,1,2,156,64", Kind::kPort, "198.18.1.2", 40000, "198,18,1,2,156,64"},
      {"port 198,18,1,2,156,64", Kind::kPort, "198.18.1.2", 40000, "198,18,1,2,156,64"},
      {"Port 10,0,0,1,0,21", Kind::kPort, "10.0.0.1", 21, "10,0,0,1,0,21"},
      {"pOrT 0,0,0,0,255,255", Kind::kPort, "0.0.0.0", 65535, "0,0,0,0,255,255"},
      {"PORT 255,255,255,255,0,1", Kind::kPort, "255.255.255.255", 1, "255,255,255,255,0,1"},
      // Leading zeros within three digits are decimal (atoi/sscanf on servers).
      {"PORT 010,001,000,009,004,001", Kind::kPort, "10.1.0.9", 1025, "010,001,000,009,004,001"},
      // Trailing spaces are tolerated and not part of the argument.
      {"PORT 1,2,3,4,5,6  ", Kind::kPort, "1.2.3.4", 1286, "1,2,3,4,5,6"},
      {"EPRT |1|132.235.1.2|6275|", Kind::kEprt, "132.235.1.2", 6275, "|1|132.235.1.2|6275|"},
      {"eprt |1|132.235.1.2|6275|", Kind::kEprt, "132.235.1.2", 6275, "|1|132.235.1.2|6275|"},
      {"EPRT |2|1080::8:800:200C:417A|5282|", Kind::kEprt, "1080::8:800:200c:417a", 5282,
       "|2|1080::8:800:200C:417A|5282|"},
      {"EPRT |2|::ffff:1.2.3.4|65535|", Kind::kEprt, "::ffff:1.2.3.4", 65535,
       "|2|::ffff:1.2.3.4|65535|"},
      {"EPRT !1!10.0.0.1!1024!", Kind::kEprt, "10.0.0.1", 1024, "!1!10.0.0.1!1024!"},
      {"EPRT ~2~fe80::1~80~", Kind::kEprt, "fe80::1", 80, "~2~fe80::1~80~"},
      {"EPRT |1|0.0.0.0|1| ", Kind::kEprt, "0.0.0.0", 1, "|1|0.0.0.0|1|"},
      {"EPRT |1|1.2.3.4|00080|", Kind::kEprt, "1.2.3.4", 80, "|1|1.2.3.4|00080|"},
  };
  for (const OkCase& c : cases) expect_ok(parse_client_line(c.line), c);
}

TEST(FtpParser, ServerValidForms) {
  const std::vector<OkCase> cases = {
      {"227 Entering Passive Mode (198,18,2,2,195,80).", Kind::kPasv227, "198.18.2.2", 50000,
       "198,18,2,2,195,80"},
      {"227 Entering Passive Mode (198,18,2,2,195,80)", Kind::kPasv227, "198.18.2.2", 50000,
       "198,18,2,2,195,80"},
      // RFC 1123 4.1.2.6: without parentheses.
      {"227 Entering Passive Mode 198,18,2,2,195,80", Kind::kPasv227, "198.18.2.2", 50000,
       "198,18,2,2,195,80"},
      {"227 =10,0,0,1,4,1", Kind::kPasv227, "10.0.0.1", 1025, "10,0,0,1,4,1"},
      {"227 10,0,0,1,4,1", Kind::kPasv227, "10.0.0.1", 1025, "10,0,0,1,4,1"},
      // Earlier digit runs that do not form six numbers are skipped.
      {"227 Mode 2 ok, 3,4 (10,0,0,1,4,1) 5", Kind::kPasv227, "10.0.0.1", 1025, "10,0,0,1,4,1"},
      {"227 1,2,3,4,5 x (10,0,0,1,4,1)", Kind::kPasv227, "10.0.0.1", 1025, "10,0,0,1,4,1"},
      // Localised text (UTF-8) around the numbers is fine.
      {"227 Passiver Modus \xc3\xa4 (10,0,0,1,4,1).", Kind::kPasv227, "10.0.0.1", 1025,
       "10,0,0,1,4,1"},
      {"227 (10,0,0,1,4,1),", Kind::kPasv227, "10.0.0.1", 1025, "10,0,0,1,4,1"},
      {"229 Entering Extended Passive Mode (|||6446|)", Kind::kEpsv229, nullptr, 6446, "|||6446|"},
      {"229 Entering Extended Passive Mode (|||6446|).", Kind::kEpsv229, nullptr, 6446, "|||6446|"},
      {"229 (!!!1!)", Kind::kEpsv229, nullptr, 1, "!!!1!"},
      {"229 ok (###65535#) bye", Kind::kEpsv229, nullptr, 65535, "###65535#"},
  };
  for (const OkCase& c : cases) expect_ok(parse_server_line(c.line), c);
}

struct BadCase {
  std::string line;
  ParseStatus status;
  std::string why;  // expected reason for kMalformed ("" = any)
};

TEST(FtpParser, ClientMalformedAndIrrelevant) {
  using S = ParseStatus;
  const std::vector<BadCase> cases = {
      {"PORT 256,1,1,1,1,1", S::kMalformed, "octet > 255"},
      {"PORT 1,1,1,999,1,1", S::kMalformed, "octet > 255"},
      {"PORT 1,1,1,1,256,1", S::kMalformed, "port byte > 255"},
      {"PORT 1,1,1,1,1,256", S::kMalformed, "port byte > 255"},
      {"PORT 1,1,1,1,0,0", S::kMalformed, "port 0"},
      {"PORT 1,1,1,1,0001,1", S::kMalformed, "number too long"},
      {"PORT 1,1,1,1,1,00000000000000000000000000000000000001", S::kMalformed, "number too long"},
      {"PORT 1,1,1,99999999999999999999999999999999999999999,1,1", S::kMalformed,
       "number too long"},
      {"PORT 1,2,3,4,5", S::kMalformed, "missing field"},
      {"PORT 1,2,3,4", S::kMalformed, "missing field"},
      {"PORT 1,2,3,4,5,", S::kMalformed, "empty field"},
      {"PORT 1,2,,3,4,5", S::kMalformed, "empty field"},
      {"PORT 1,2,3,4,5,6,7", S::kMalformed, "extra field"},
      {"PORT 1,2,3,4,5,6,", S::kMalformed, "extra field"},
      {"PORT 1,2,3,4,5,6 extra", S::kMalformed, "extra text"},
      {"PORT 1,2,3,4,5,6)", S::kMalformed, "extra text"},
      {"PORT 1,2,3,4,5,6\t", S::kMalformed, "extra text"},
      {"PORT 1,2,3,4,5,6\r", S::kMalformed, "extra text"},
      {"PORT +1,2,3,4,5,6", S::kMalformed, "not a number"},
      {"PORT 1,-2,3,4,5,6", S::kMalformed, "not a number"},
      {"PORT 1, 2,3,4,5,6", S::kMalformed, ""},
      {"PORT 0x1,2,3,4,5,6", S::kMalformed, "not a number"},
      {"PORT (1,2,3,4,5,6)", S::kMalformed, "not a number"},
      {"PORT 1.2.3.4,5,6", S::kMalformed, ""},
      {std::string("PORT 1,2,3,4,5,6\0", 17), S::kMalformed, "NUL byte"},
      {std::string("PORT 1,2,3\0,4,5,6", 17), S::kMalformed, "NUL byte"},
      {"PORT 1,2,3,4,5,\xd9\xa6", S::kMalformed, ""},      // Arabic-Indic digit six
      {"PORT \xef\xbc\x91,2,3,4,5,6", S::kMalformed, ""},  // fullwidth digit one
      {"PORT", S::kMalformed, "missing argument"},
      {"PORT ", S::kMalformed, "missing argument"},
      {"PORT  1,2,3,4,5,6", S::kMalformed, "more than one space"},
      {"PORT\t1,2,3,4,5,6", S::kMalformed, "bad separator after keyword"},
      {"PORT,1,2,3,4,5,6", S::kMalformed, "bad separator after keyword"},
      {" PORT 1,2,3,4,5,6", S::kMalformed, "leading space"},
      {"\tPORT 1,2,3,4,5,6", S::kMalformed, "leading space"},
      {"   eprt |1|1.2.3.4|5|", S::kMalformed, "leading space"},
      // "PORT" inside other text is not a command.
      {"NOOP PORT 1,2,3,4,5,6", S::kIrrelevant, ""},
      {"SITE EXEC PORT 1,2,3,4,5,6", S::kIrrelevant, ""},
      {"XPORT 1,2,3,4,5,6", S::kIrrelevant, ""},
      {"PORTS 1,2,3,4,5,6", S::kIrrelevant, ""},
      {"PORT1,2,3,4,5,6", S::kIrrelevant, ""},
      {"PASV", S::kIrrelevant, ""},
      {"EPSV", S::kIrrelevant, ""},
      {"USER anonymous", S::kIrrelevant, ""},
      {"", S::kIrrelevant, ""},
      {"  ", S::kIrrelevant, ""},
      {"227 Entering Passive Mode (1,2,3,4,5,6)", S::kIrrelevant, ""},  // a reply, not a command
      // EPRT
      {"EPRT |3|1.2.3.4|21|", S::kMalformed, "bad address family"},
      {"EPRT |0|1.2.3.4|21|", S::kMalformed, "bad address family"},
      {"EPRT |01|1.2.3.4|21|", S::kMalformed, "bad address family"},
      {"EPRT ||1.2.3.4|21|", S::kMalformed, "bad address family"},
      {"EPRT |1|::1|21|", S::kMalformed, "bad IPv4 address"},
      {"EPRT |2|1.2.3.4|21|", S::kMalformed, "bad IPv6 address"},
      {"EPRT |1|1.2.3.256|21|", S::kMalformed, "bad IPv4 address"},
      {"EPRT |1|1.2.3|21|", S::kMalformed, "bad IPv4 address"},
      {"EPRT |1|1.2.3.4.5|21|", S::kMalformed, "bad IPv4 address"},
      {"EPRT |1|01.2.3.4|21|", S::kMalformed, "bad IPv4 address"},
      {"EPRT |1|1.2.3.4 |21|", S::kMalformed, "bad IPv4 address"},
      {"EPRT |1||21|", S::kMalformed, "bad IPv4 address"},
      {"EPRT |1|+1.2.3.4|21|", S::kMalformed, "bad IPv4 address"},
      {"EPRT |2|fe80::1%eth0|21|", S::kMalformed, "bad IPv6 address"},
      {"EPRT |2|1:2:3:4:5:6:7:8:9|21|", S::kMalformed, "bad IPv6 address"},
      {"EPRT |2|gggg::1|21|", S::kMalformed, "bad IPv6 address"},
      {"EPRT |1|1.2.3.4|65536|", S::kMalformed, "port > 65535"},
      {"EPRT |1|1.2.3.4|999999999999999999999|", S::kMalformed, "port > 65535"},
      {"EPRT |1|1.2.3.4|0|", S::kMalformed, "port 0"},
      {"EPRT |1|1.2.3.4||", S::kMalformed, "missing port"},
      {"EPRT |1|1.2.3.4|+21|", S::kMalformed, "port not a number"},
      {"EPRT |1|1.2.3.4|-21|", S::kMalformed, "port not a number"},
      {"EPRT |1|1.2.3.4|21", S::kMalformed, "missing field"},
      {"EPRT |1|1.2.3.4", S::kMalformed, "missing field"},
      {"EPRT |1|1.2.3.4|21|x", S::kMalformed, "extra text"},
      {"EPRT |1|1.2.3.4|21||", S::kMalformed, "extra text"},
      {"EPRT |1!1.2.3.4!21!", S::kMalformed, "missing field"},  // mismatched delimiters
      {"EPRT 1111.2.3.4121", S::kMalformed, "bad delimiter"},
      {"EPRT  |1|1.2.3.4|21|", S::kMalformed, "more than one space"},
      {"EPRT \x7f"
       "1\x7f"
       "1.2.3.4\x7f"
       "21\x7f",
       S::kMalformed, "bad delimiter"},
      {"EPRT \xa6"
       "1\xa6"
       "1.2.3.4\xa6"
       "21\xa6",
       S::kMalformed, "bad delimiter"},
      {"EPRT .1.1.2.3.4.21.", S::kMalformed, ""},  // delimiter inside the address
      {"EPRT", S::kMalformed, "missing argument"},
  };
  for (const BadCase& c : cases) {
    ParseResult r = parse_client_line(c.line);
    EXPECT_EQ(r.status, c.status) << "[" << c.line << "] why=" << r.why;
    if (c.status == S::kMalformed && !c.why.empty()) {
      EXPECT_EQ(r.why, c.why) << c.line;
    }
    if (c.status == S::kMalformed) {
      EXPECT_FALSE(r.why.empty()) << c.line;
    }
  }
}

TEST(FtpParser, ServerMalformedAndIrrelevant) {
  using S = ParseStatus;
  const std::vector<BadCase> cases = {
      {"227 Entering Passive Mode (256,1,1,1,1,1)", S::kMalformed, "octet > 255"},
      {"227 Entering Passive Mode (1,1,1,1,256,1)", S::kMalformed, "port byte > 255"},
      {"227 Entering Passive Mode (1,1,1,1,0,0)", S::kMalformed, "port 0"},
      {"227 Entering Passive Mode (1,1,1,1,1,0000001)", S::kMalformed, "number too long"},
      // The first six-number group decides; a bad one is not skipped for a later one.
      {"227 (300,1,1,1,1,1) (10,0,0,1,4,1)", S::kMalformed, "octet > 255"},
      {"227 Entering Passive Mode (1,2,3,4,5,6,7)", S::kMalformed, "extra field"},
      {"227 Entering Passive Mode (1,2,3,4,5,6,)", S::kMalformed, "extra field"},
      {"227 Entering Passive Mode (-1,2,3,4,5,6)", S::kMalformed, "sign"},
      {"227 Entering Passive Mode (+1,2,3,4,5,6)", S::kMalformed, "sign"},
      {"227 Entering Passive Mode (1,2,3,4,5)", S::kMalformed, "no address"},
      {"227 Entering Passive Mode (1, 2, 3, 4, 5, 6)", S::kMalformed, "no address"},
      {"227 Entering Passive Mode", S::kMalformed, "no address"},
      {"227 ", S::kMalformed, "no address"},
      {"227", S::kMalformed, "missing argument"},
      {std::string("227 Entering\0 (1,2,3,4,5,6)", 27), S::kMalformed, "NUL byte"},
      {"227\t(1,2,3,4,5,6)", S::kMalformed, "bad separator after keyword"},
      {"227-Entering Passive Mode (1,2,3,4,5,6)", S::kIrrelevant, ""},
      {"2270 (1,2,3,4,5,6)", S::kIrrelevant, ""},
      {" 227 Entering Passive Mode (1,2,3,4,5,6)", S::kIrrelevant, ""},
      {"200 PORT command successful (1,2,3,4,5,6)", S::kIrrelevant, ""},
      {"150 227 (1,2,3,4,5,6)", S::kIrrelevant, ""},
      {"PORT 1,2,3,4,5,6", S::kIrrelevant, ""},  // a command, not a reply
      {"", S::kIrrelevant, ""},
      // 229
      {"229 Entering Extended Passive Mode (|!|6446|)", S::kMalformed, "bad delimiter"},
      {"229 Entering Extended Passive Mode (||!6446|)", S::kMalformed, "bad delimiter"},
      {"229 Entering Extended Passive Mode (|||6446!)", S::kMalformed, "bad delimiter"},
      {"229 Entering Extended Passive Mode (|||6446)", S::kMalformed, "bad delimiter"},
      {"229 Entering Extended Passive Mode (|||6446|", S::kMalformed, "missing ')'"},
      {"229 Entering Extended Passive Mode (|||6446|x)", S::kMalformed, "missing ')'"},
      {"229 Entering Extended Passive Mode (||||)", S::kMalformed, "missing port"},
      {"229 Entering Extended Passive Mode (|||0|)", S::kMalformed, "port 0"},
      {"229 Entering Extended Passive Mode (|||65536|)", S::kMalformed, "port > 65535"},
      {"229 Entering Extended Passive Mode (|||0000000000000000000000080|)", S::kMalformed,
       "port > 65535"},
      {"229 Entering Extended Passive Mode (|||+80|)", S::kMalformed, "missing port"},
      {"229 Entering Extended Passive Mode (|1|1.2.3.4|80|)", S::kMalformed, "bad delimiter"},
      {"229 Entering Extended Passive Mode (111801)", S::kMalformed, "bad delimiter"},
      {"229 Entering Extended Passive Mode ( |||80|)", S::kMalformed, "bad delimiter"},
      {"229 Entering Extended Passive Mode (\xa6\xa6\xa6"
       "80\xa6)",
       S::kMalformed, "bad delimiter"},
      {"229 Entering Extended Passive Mode |||80|", S::kMalformed, "missing '('"},
      {"229 Entering Extended Passive Mode (", S::kMalformed, "missing delimiter"},
      {"229 (|", S::kMalformed, "bad delimiter"},
      {"229", S::kMalformed, "missing argument"},
      {std::string("229 (|||80|)\0", 13), S::kMalformed, "NUL byte"},
      {"229-Entering Extended Passive Mode (|||6446|)", S::kIrrelevant, ""},
      {"EPRT |1|1.2.3.4|21|", S::kIrrelevant, ""},
  };
  for (const BadCase& c : cases) {
    ParseResult r = parse_server_line(c.line);
    EXPECT_EQ(r.status, c.status) << "[" << c.line << "] why=" << r.why;
    if (c.status == S::kMalformed && !c.why.empty()) {
      EXPECT_EQ(r.why, c.why) << c.line;
    }
    if (c.status == S::kMalformed) {
      EXPECT_FALSE(r.why.empty()) << c.line;
    }
  }
}

TEST(FtpParser, HugeLinesAreLinear) {
  // A long line of digit runs and commas must not blow up (each digit run is
  // tried once as a start) and must not be taken as an address.
  std::string line = "227 ";
  for (int i = 0; i < 20000; ++i) line += "1,2,3,4,5,";
  line.pop_back();
  line += ",6,7";
  ParseResult r = parse_server_line(line);
  EXPECT_EQ(r.status, ParseStatus::kMalformed);
  EXPECT_EQ(r.why, "extra field");

  // Many digit runs that each almost form an address.
  std::string almost = "227 ";
  for (int i = 0; i < 20000; ++i) almost += "1,2,3,4,5 ";
  EXPECT_EQ(parse_server_line(almost).why, "no address");

  std::string digits = "PORT " + std::string(100000, '9');
  EXPECT_EQ(parse_client_line(digits).status, ParseStatus::kMalformed);
  std::string v229 = "229 (|||" + std::string(100000, '8') + "|)";
  EXPECT_EQ(parse_server_line(v229).why, "port > 65535");
}

struct RewriteCase {
  std::string line;
  bool client;
  const char* addr;
  uint16_t port;
  std::string expect;
};

TEST(FtpParser, RewriteExactBytes) {
  const std::vector<RewriteCase> cases = {
      {"PORT 198,18,1,2,156,64", true, "203.0.113.1", 2049, "PORT 203,0,113,1,8,1"},
      {"port 10,0,0,1,0,21  ", true, "203.0.113.100", 65535, "port 203,0,113,100,255,255  "},
      {"PORT 1,2,3,4,5,6", true, "0.0.0.0", 1, "PORT 0,0,0,0,0,1"},
      {"227 Entering Passive Mode (198,18,2,2,195,80).", false, "203.0.113.1", 50000,
       "227 Entering Passive Mode (203,0,113,1,195,80)."},
      {"227 Entering Passive Mode 1,2,3,4,5,6 ok", false, "203.0.113.1", 1025,
       "227 Entering Passive Mode 203,0,113,1,4,1 ok"},
      {"227 x 1,2 (10,0,0,1,4,1)", false, "192.0.2.200", 258, "227 x 1,2 (192,0,2,200,1,2)"},
      {"EPRT |1|132.235.1.2|6275|", true, "203.0.113.1", 2049, "EPRT |1|203.0.113.1|2049|"},
      {"EPRT !1!10.0.0.1!1024! ", true, "203.0.113.1", 80, "EPRT !1!203.0.113.1!80! "},
      {"EPRT |1|10.0.0.1|1024|", true, "2001:db8::1", 4000, "EPRT |2|2001:db8::1|4000|"},
      {"EPRT |2|fe80::1|5282|", true, "198.51.100.7", 1, "EPRT |1|198.51.100.7|1|"},
      {"EPRT ~2~fe80::1~5282~", true, "2001:db8::ffff:1", 5282, "EPRT ~2~2001:db8::ffff:1~5282~"},
      // The delimiter would occur in the new address: fall back to '|'.
      {"EPRT :1:10.0.0.1:21:", true, "2001:db8::1", 21, "EPRT |2|2001:db8::1|21|"},
      {"EPRT .2.::1.21.", true, "10.0.0.1", 21, "EPRT |1|10.0.0.1|21|"},
      {"EPRT d2d::1d21d", true, "2001:db8::1", 21, "EPRT |2|2001:db8::1|21|"},
      {"229 Entering Extended Passive Mode (|||6446|)", false, "203.0.113.1", 2049,
       "229 Entering Extended Passive Mode (|||2049|)"},
      {"229 ok (###65535#) bye", false, "203.0.113.1", 7, "229 ok (###7#) bye"},
  };
  for (const RewriteCase& c : cases) {
    ParseResult r = c.client ? parse_client_line(c.line) : parse_server_line(c.line);
    ASSERT_EQ(r.status, ParseStatus::kOk) << c.line << " " << r.why;
    std::string out = rewrite_line(c.line, r.a, ip(c.addr), c.port);
    EXPECT_EQ(out, c.expect);
    EXPECT_EQ(static_cast<int64_t>(out.size()) - static_cast<int64_t>(c.line.size()),
              static_cast<int64_t>(c.expect.size()) - static_cast<int64_t>(c.line.size()));
    // The rewritten line parses back to the new endpoint.
    ParseResult back = c.client ? parse_client_line(out) : parse_server_line(out);
    ASSERT_EQ(back.status, ParseStatus::kOk) << out;
    EXPECT_EQ(back.a.kind, r.a.kind);
    EXPECT_EQ(back.a.port, c.port);
    if (r.a.kind != Kind::kEpsv229) {
      EXPECT_EQ(back.a.addr, ip(c.addr));
    }
  }
}

TEST(FtpParser, RewriteLengthDelta) {
  const std::string port = "PORT 198,18,1,2,156,64";
  ParseResult r = parse_client_line(port);
  ASSERT_EQ(r.status, ParseStatus::kOk);
  EXPECT_EQ(rewrite_line(port, r.a, ip("203.0.113.1"), 2049).size(), port.size() - 2);
  EXPECT_EQ(rewrite_line(port, r.a, ip("203.100.113.10"), 2049).size(), port.size() + 1);
  EXPECT_EQ(rewrite_line(port, r.a, ip("203.100.113.100"), 65535).size(), port.size() + 6);
  EXPECT_EQ(rewrite_line(port, r.a, ip("198.18.1.2"), 40000), port);  // identity

  const std::string pasv = "227 Entering Passive Mode (198,18,2,2,195,80).";
  r = parse_server_line(pasv);
  EXPECT_EQ(rewrite_line(pasv, r.a, ip("1.1.1.1"), 257).size(), pasv.size() - 6);

  const std::string eprt = "EPRT |1|10.0.0.1|1024|";
  r = parse_client_line(eprt);
  EXPECT_EQ(rewrite_line(eprt, r.a, ip("203.0.113.1"), 2049).size(), eprt.size() + 3);

  const std::string epsv = "229 Entering Extended Passive Mode (|||6446|)";
  r = parse_server_line(epsv);
  EXPECT_EQ(rewrite_line(epsv, r.a, IpAddr{}, 21).size(), epsv.size() - 2);
}

TEST(FtpParser, RewriteRefusesWhatItCannotExpress) {
  // The comma form holds only IPv4; a bad range is never used. The line is
  // returned unchanged rather than half-written.
  const std::string port = "PORT 1,2,3,4,5,6";
  ParseResult r = parse_client_line(port);
  EXPECT_EQ(rewrite_line(port, r.a, ip("2001:db8::1"), 21), port);
  EXPECT_EQ(rewrite_line(port, r.a, IpAddr{}, 21), port);
  Announcement bad = r.a;
  bad.arg_end = 100;
  EXPECT_EQ(rewrite_line(port, bad, ip("1.1.1.1"), 21), port);
  bad = r.a;
  bad.arg_begin = 10;
  bad.arg_end = 5;
  EXPECT_EQ(rewrite_line(port, bad, ip("1.1.1.1"), 21), port);
}

}  // namespace
}  // namespace fw::aspf::ftp
